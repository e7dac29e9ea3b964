"""Zapier's JSON:API-style JSON -> middleware records (pure; :mod:`providers.zapier` calls).

Shapes from Zapier's Workflow API reference and its published schema
(``/work/notes/middleware_jobapps.md`` section 2): lists are ``{"data", "meta", "links"}``; a
Zap has ``is_enabled``, ``last_successful_run_date`` (null: never succeeded), ``links.html_editor``
and ``steps[] {action, authentication, inputs, title}`` (``action`` expanded with
``expand=steps.action``: ``{app, is_instant, title, ...}``); a Zap run has ``status`` and per-step
statuses but no error message; errors are ``{"errors": [{status, code, title, detail}]}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from providers.flows import Flow, FlowConnection, FlowRun, RunStatus, Schedule, ScheduleKind

Object = Mapping[str, Any]

# Polling interval per plan (Zapier help centre, "How Zap triggers work").
PLAN_POLLING = {
    "free": timedelta(minutes=15),
    "professional": timedelta(minutes=2),
    "team": timedelta(minutes=1),
    "enterprise": timedelta(minutes=1),
}
RUN_STATUS = {
    "success": RunStatus.SUCCESS,
    "error": RunStatus.ERROR,
    "error_handled": RunStatus.WARNING,  # an error handler step ran
    "halted": RunStatus.HALTED,
    "held": RunStatus.HELD,
    "filtered": RunStatus.FILTERED,
    "skipped": RunStatus.FILTERED,
    "delayed": RunStatus.WAITING,
    "scheduled": RunStatus.WAITING,
    "pending": RunStatus.WAITING,
    "throttled": RunStatus.WAITING,
}


def when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def steps(raw: Object) -> list[Object]:
    found = raw.get("steps")
    return [s for s in found if isinstance(s, Mapping)] if isinstance(found, list) else []


def step_app(step: Object) -> str | None:
    action = step.get("action")
    if isinstance(action, Mapping):
        app = action.get("app")
        if isinstance(app, Mapping):
            return str(app.get("id")) if app.get("id") else None
        return str(app) if app else None
    return None


def step_authentication(step: Object) -> str | None:
    auth = step.get("authentication")
    if isinstance(auth, Mapping):
        return str(auth.get("id")) if auth.get("id") else None
    return str(auth) if auth else None


def schedule(raw: Object, plan: str | None, poll_minutes: int | None) -> Schedule | None:
    """An instant (webhook) trigger runs as data arrives; a polling one at the plan's interval,
    which the API does not expose: it comes from the configuration, or stays unknown."""
    trigger = steps(raw)[:1]
    action = trigger[0].get("action") if trigger else None
    if isinstance(action, Mapping) and action.get("is_instant") is True:
        return Schedule(ScheduleKind.INSTANT, timedelta(0), detail="instant trigger")
    if poll_minutes:
        return Schedule(
            ScheduleKind.INTERVAL, timedelta(minutes=poll_minutes), "config", detail=f"polls every {poll_minutes} min"
        )
    if plan in PLAN_POLLING:
        minutes = int(PLAN_POLLING[plan].total_seconds() // 60)
        return Schedule(
            ScheduleKind.INTERVAL, PLAN_POLLING[plan], "plan", detail=f"polls every {minutes} min ({plan} plan)"
        )
    return None


def flow(raw: Object, plan: str | None = None, poll_minutes: int | None = None) -> Flow:
    found = raw.get("links")
    links: Object = found if isinstance(found, Mapping) else {}
    auth_ids = tuple(dict.fromkeys(a for s in steps(raw) if (a := step_authentication(s))))
    return Flow(
        id=str(raw.get("id")),
        name=str(raw.get("title") or f"Zap {raw.get('id')}"),
        enabled=bool(raw.get("is_enabled")),
        schedule=schedule(raw, plan, poll_minutes),
        last_success_at=when(raw.get("last_successful_run_date")),
        url=str(links.get("html_editor")) if links.get("html_editor") else None,
        connection_ids=auth_ids,
        updated_at=when(raw.get("updated_at")),
    )


def run(raw: Object) -> FlowRun:
    status = str(raw.get("status") or "")
    return FlowRun(
        id=str(raw.get("id")),
        started_at=when(raw.get("start_time")),
        status=RUN_STATUS.get(status, RunStatus.OTHER),
        raw_status=status or None,
    )


def connection(raw: Object) -> FlowConnection:
    app = raw.get("app")
    return FlowConnection(
        id=str(raw.get("id")),
        name=str(raw.get("title") or raw.get("id")),
        app=str(app.get("title") or app.get("id")) if isinstance(app, Mapping) else (str(app) if app else None),
        expired=bool(raw["is_expired"]) if "is_expired" in raw else None,
    )


def error_envelope(body: Any) -> tuple[str, str | None]:
    """(message, code) of ``{"errors": [{status, code, title, detail}]}`` or the legacy
    ``{"errors": ["Malformed request"]}``."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if not isinstance(errors, list) or not errors:
        return "", None
    first = errors[0]
    if isinstance(first, Mapping):
        message = str(first.get("detail") or first.get("title") or "")
        return message, str(first["code"]) if first.get("code") else None
    return str(first), None
