"""Make's JSON -> middleware records (pure functions; :mod:`providers.make` does the calling).

Shapes from Make's official TypeScript SDK types and mocks and the API reference
(``/work/notes/middleware_jobapps.md`` section 1): responses wrap objects under a named key,
counts such as ``operations`` arrive as strings, times are ISO 8601, execution-log
``status`` is 1 success / 2 warning / 3 error (0 pending), and an execution's error lives only
in its detail (``error {name, message, causeModule {name, appName}}``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from providers.flows import (
    Flow,
    FlowConnection,
    FlowRun,
    IncompleteRun,
    RunStatus,
    Schedule,
    ScheduleKind,
    Usage,
)

Object = Mapping[str, Any]

LOG_STATUS = {0: RunStatus.RUNNING, 1: RunStatus.SUCCESS, 2: RunStatus.WARNING, 3: RunStatus.ERROR}
DETAIL_STATUS = {
    "RUNNING": RunStatus.RUNNING,
    "SUCCESS": RunStatus.SUCCESS,
    "WARNING": RunStatus.WARNING,
    "ERROR": RunStatus.ERROR,
}
# The longest a calendar schedule makes an invoice wait for the next run.
CALENDAR_WAIT = {
    "daily": timedelta(days=1),
    "weekly": timedelta(days=7),
    "monthly": timedelta(days=31),
    "yearly": timedelta(days=366),
}
_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)


def is_api_token(token: str) -> bool:
    """Make's API tokens are UUIDv4s (sent as ``Token``); anything else is an OAuth access
    token (sent as ``Bearer``), as the official SDK decides."""
    return bool(_UUID4.match(token))


def when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def count(value: Any) -> int | None:
    """Make sends counts as numbers or numeric strings (``"operations": "5748"``)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def schedule(raw: Any) -> Schedule | None:
    if not isinstance(raw, Mapping) or not raw.get("type"):
        return None
    kind = str(raw["type"])
    if kind == "indefinitely":
        seconds = count(raw.get("interval"))
        interval = timedelta(seconds=seconds) if seconds else None
        return Schedule(ScheduleKind.INTERVAL, interval, detail=f"every {_duration(interval)}" if interval else kind)
    if kind == "immediately":
        return Schedule(ScheduleKind.INSTANT, timedelta(0), detail="immediately (as data arrives)")
    if kind in CALENDAR_WAIT:
        at = raw.get("time")
        return Schedule(ScheduleKind.CALENDAR, CALENDAR_WAIT[kind], detail=f"{kind}{f' at {at}' if at else ''}")
    if kind == "on-demand":
        return Schedule(ScheduleKind.ON_DEMAND, None, detail="on demand only")
    if kind == "once":
        return Schedule(ScheduleKind.ONCE, None, detail="once")
    return Schedule(ScheduleKind.CALENDAR, None, detail=kind)


def _duration(interval: timedelta | None) -> str:
    if interval is None:
        return "?"
    minutes = int(interval.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, rest = divmod(minutes, 60)
    return f"{hours} hour{'s' if hours != 1 else ''}" + (f" {rest} min" if rest else "")


def flow(raw: Object, connection_ids: tuple[str, ...] = ()) -> Flow:
    """``GET /scenarios/{id}`` -> ``{"scenario": {...}}``'s inner object."""
    return Flow(
        id=str(raw.get("id")),
        name=str(raw.get("name") or f"scenario {raw.get('id')}"),
        enabled=bool(raw.get("isActive")),
        stopped_by_errors=bool(raw["isinvalid"]) if "isinvalid" in raw else None,
        paused_for_billing=bool(raw["isPaused"]) if "isPaused" in raw else None,
        schedule=schedule(raw.get("scheduling")),
        next_run_at=when(raw.get("nextExec")),
        incomplete_count=count(raw.get("dlqCount")),
        connection_ids=connection_ids,
        updated_at=when(raw.get("lastEdit")),
    )


def run(raw: Object) -> FlowRun:
    """One row of ``GET /scenarios/{id}/logs`` (no error text: that is in the detail)."""
    status = count(raw.get("status"))
    return FlowRun(
        id=str(raw.get("id") or raw.get("imtId")),
        started_at=when(raw.get("timestamp")),
        status=LOG_STATUS.get(status if status is not None else -1, RunStatus.OTHER),
        raw_status=str(raw.get("status")),
        operations=count(raw.get("operations")),
    )


def with_detail(base: FlowRun, detail: Object) -> FlowRun:
    """A log row completed by ``GET /scenarios/{id}/executions/{executionId}``."""
    error = obj(detail.get("error"))
    cause = obj(error.get("causeModule"))
    status = DETAIL_STATUS.get(str(detail.get("status") or ""), base.status)
    return FlowRun(
        id=base.id,
        started_at=base.started_at,
        status=status,
        raw_status=str(detail.get("status") or base.raw_status),
        error=_text(error.get("message")),
        error_kind=_text(error.get("name")),
        failing_step=_text(cause.get("name")),
        failing_app=_text(cause.get("appName")),
        operations=base.operations,
    )


def incomplete(raw: Object) -> IncompleteRun:
    return IncompleteRun(
        id=str(raw.get("id")),
        created_at=when(raw.get("created")),
        reason=_text(raw.get("reason")),
        attempts=count(raw.get("attempts")),
        resolved=bool(raw.get("resolved")),
    )


def connection(raw: Object, verified: bool | None = None) -> FlowConnection:
    """``{"connection": {...}}``: ``name`` is the user's label, ``accountName`` the app."""
    return FlowConnection(
        id=str(raw.get("id")),
        name=str(raw.get("name") or raw.get("accountLabel") or raw.get("id")),
        app=_text(raw.get("accountName")),
        expires_at=when(raw.get("expire")),
        verified=verified,
    )


def usage(raw: Object) -> Usage:
    """``{"organization": {...}}``: ``operations`` (a string) used against ``license.operations``."""
    license_ = obj(raw.get("license"))
    return Usage(
        unit="operations",
        used=count(raw.get("operations")) or 0,
        limit=count(license_.get("operations")),
        extra=count(raw.get("operationsExt")) or 0,
        resets_at=when(raw.get("nextReset")),
        paused=bool(raw.get("isPaused")),
        plan=_text(raw.get("productName")) or _text(raw.get("serviceName")),
        auto_purchase=bool(raw["autoPurchasingActivated"]) if "autoPurchasingActivated" in raw else None,
        api_per_minute=count(license_.get("apiLimit")),
    )


def blueprint_connections(blueprint: Any) -> tuple[str, ...]:
    """Connection ids a blueprint's modules name (``"__IMTCONN__": 93``), in order, each once.
    Observed in Make's SDK mocks rather than documented; ``connection_ids`` in the
    configuration names them when a blueprint does not."""
    found: dict[str, None] = {}
    for value in _walk(blueprint):
        found.setdefault(str(value), None)
    return tuple(found)


def _walk(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "__IMTCONN__" and inner is not None and not isinstance(inner, Mapping | list):
                yield inner
            else:
                yield from _walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _walk(inner)


def error_envelope(body: Any) -> tuple[str, str | None, tuple[str, ...]]:
    """(message, code, suberrors) of ``{"detail", "message", "code", "suberrors"}``; like the
    SDK, ``detail`` is preferred over ``message`` for what people read."""
    if not isinstance(body, Mapping):
        return "", None, ()
    message = _text(body.get("detail")) or _text(body.get("message")) or ""
    subs = body.get("suberrors")
    details = tuple(str(s.get("message")) for s in subs if isinstance(s, Mapping)) if isinstance(subs, list) else ()
    return message, _text(body.get("code")), details


def obj(value: Any) -> Object:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
