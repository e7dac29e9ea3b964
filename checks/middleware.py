"""Middleware checks: the Make scenario or Zap between the source and the destination.

When invoices travel AroFlo -> Make -> Xero, the cause of a broken sync often sits in the
middle. From what the middleware's API says (``ctx.middleware``, :mod:`providers.middleware`):

* nothing connected for it                 -> ``middleware.not_connected`` (warn: the sync may
  work; Sync Doctor just cannot see the middle. For Zapier the report says why a token is hard
  to get: Zapier issues them only to integrations published in its App Directory)
* the configured scenario / Zap is gone    -> ``middleware.missing``
* switched off                             -> ``middleware.disabled``, with why when the system
  says (Make: stopped after repeated errors, or paused for a subscription problem), the last
  errors, and the invoices waiting in the source
* runs failing                             -> ``middleware.errors``, with Make's own message and
  failing module; Zapier's run history has no message, and the evidence says so (fail while the
  latest run failed, warn once a later run succeeded)
* Zap runs held                            -> ``middleware.held``
* incomplete executions waiting            -> ``middleware.incomplete`` (Make keeps them for
  someone to resolve; with sequential processing nothing else runs meanwhile)
* a connection expired, failing its re-check, or expiring within a week
                                           -> ``middleware.connection_expired``
* operations used up (the scenario stops), or nine tenths used
                                           -> ``middleware.operations_exhausted``
* on, not failing, yet no successful run for longer than the dead man's threshold
                                           -> ``middleware.stale``

Findings about switched-off or stopped flows carry as impact the in-scope source invoices
not yet in the destination: what the middle is holding up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from checks.base import Check
from checks.catalog import entry
from checks.context import MiddlewareSide, RunContext
from checks.errors import finding_for_error
from checks.findings import Finding, Impact, Severity
from checks.polling import stale_limit
from checks.scope import in_scope
from checks.settings import not_in_destination
from providers.base import Capability
from providers.errors import CredentialsMissing, ProviderError
from providers.flows import Flow, FlowConnection, FlowRun, RunStatus, Usage
from providers.records import Invoice

logger = logging.getLogger(__name__)

LISTED = 5  # failed runs / incomplete executions listed in evidence
EXPIRING_SOON = timedelta(days=7)
NEAR_FRACTION = 0.9
KIND = {"make": "scenario", "zapier": "Zap"}


def kind_of(side: MiddlewareSide) -> str:
    return KIND.get(side.system, "flow")


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _base(side: MiddlewareSide, flow: Flow | None) -> dict[str, Any]:
    evidence: dict[str, Any] = {"system": side.system, "display_name": side.display_name, "kind": kind_of(side)}
    if flow is not None:
        evidence.update(flow_id=flow.id, flow=flow.name)
        if flow.url:
            evidence["url"] = flow.url  # Zapier's editor link; Make's API gives none
    else:
        configured = side.config.options.get("scenario_id") or side.config.options.get("zap_id")
        evidence.update(flow_id=configured, flow=None)
    return evidence


def _finding(
    code: str,
    side: MiddlewareSide,
    subject: str,
    evidence: dict[str, Any],
    blocked: Sequence[Invoice] = (),
    severity: Severity | None = None,
) -> Finding:
    return Finding(
        code=code,
        severity=severity if severity is not None else entry(code).severity,
        subject=subject,
        evidence=evidence,
        impact=Impact.of(blocked),
        system=side.system,
    )


def waiting_invoices(ctx: RunContext) -> list[Invoice]:
    """In-scope source invoices not in the destination yet: what a stopped middle holds up.
    Empty when either side cannot be read (that side's own finding says why)."""
    if not (ctx.source.supports(Capability.INVOICES) and ctx.destination.supports(Capability.INVOICES)):
        return []
    try:
        return not_in_destination(ctx, in_scope(ctx))
    except ProviderError as e:
        logger.debug("impact of the middleware findings unknown: %s", e)
        return []


def error_rows(runs: Sequence[FlowRun]) -> list[dict[str, Any]]:
    return [
        {
            "at": _stamp(r.started_at),
            "message": r.error,
            "kind": r.error_kind,
            "module": r.failing_step,
            "app": r.failing_app,
            "status": r.raw_status,
        }
        for r in runs[:LISTED]
    ]


def _leading_errors(runs: Sequence[FlowRun]) -> int:
    """How many of the newest finished runs failed in a row."""
    count = 0
    for run in runs:
        if run.status in (RunStatus.RUNNING, RunStatus.WAITING):
            continue
        if run.status is not RunStatus.ERROR:
            break
        count += 1
    return count


def setup_finding(ctx: RunContext, side: MiddlewareSide, error: ProviderError) -> Finding:
    if not isinstance(error, CredentialsMissing):
        return finding_for_error(error, side)
    evidence = {
        **_base(side, None),
        "message": error.message,
        "integration": ctx.integration.name,
        "public_integration_needed": side.system == "zapier",
    }
    return _finding("middleware.not_connected", side, side.system, evidence)


def state_findings(
    ctx: RunContext, side: MiddlewareSide, flow: Flow, runs: Sequence[FlowRun], waiting: Sequence[Invoice]
) -> Iterator[Finding]:
    errors = [r for r in runs if r.status is RunStatus.ERROR]
    paused = bool(flow.paused_for_billing)
    if flow.enabled and not paused:
        return
    if paused:
        reason = "billing"
    elif flow.stopped_by_errors:
        reason = "errors"
    elif flow.stopped_by_errors is None:
        reason = "unknown"  # Zapier says only on or off
    else:
        reason = "off"
    evidence = {
        **_base(side, flow),
        "reason": reason,
        "consecutive_errors": _leading_errors(runs),
        "last_errors": error_rows(errors),
        "error_messages_available": any(r.error for r in errors),
        "last_success_at": _stamp(flow.last_success_at or _last_success(runs)),
        "schedule": flow.schedule.detail if flow.schedule else None,
        "waiting": len(waiting),
    }
    yield _finding("middleware.disabled", side, flow.name, evidence, waiting)


def _last_success(runs: Sequence[FlowRun]) -> datetime | None:
    return max((r.started_at for r in runs if r.status is RunStatus.SUCCESS and r.started_at), default=None)


def run_findings(
    side: MiddlewareSide, flow: Flow, runs: Sequence[FlowRun], waiting: Sequence[Invoice]
) -> Iterator[Finding]:
    if not flow.enabled or flow.paused_for_billing:
        return  # middleware.disabled carries the errors that stopped it
    finished = [r for r in runs if r.status not in (RunStatus.RUNNING, RunStatus.WAITING)]
    errors = [r for r in finished if r.status is RunStatus.ERROR]
    if errors:
        failing_now = bool(finished) and finished[0].status is RunStatus.ERROR
        evidence = {
            **_base(side, flow),
            "errors": len(errors),
            "runs": len(finished),
            "consecutive_errors": _leading_errors(runs),
            "failing_now": failing_now,
            "last_errors": error_rows(errors),
            "error_messages_available": any(r.error for r in errors),
            "last_success_at": _stamp(flow.last_success_at or _last_success(runs)),
            "since": _stamp(side.runs_since),
        }
        severity = None if failing_now else Severity.WARN
        yield _finding("middleware.errors", side, flow.name, evidence, waiting if failing_now else (), severity)
    held = [r for r in runs if r.status is RunStatus.HELD]
    if held:
        evidence = {
            **_base(side, flow),
            "held": len(held),
            "latest_at": _stamp(held[0].started_at),
            "oldest_at": _stamp(held[-1].started_at),
        }
        yield _finding("middleware.held", side, flow.name, evidence, waiting)


def stale_finding(
    ctx: RunContext, side: MiddlewareSide, flow: Flow, runs: Sequence[FlowRun], waiting: Sequence[Invoice]
) -> Finding | None:
    """On and not failing, yet nothing succeeded for longer than the dead man's threshold."""
    if not flow.enabled or flow.paused_for_billing or any(r.status in (RunStatus.ERROR, RunStatus.HELD) for r in runs):
        return None
    limit = stale_limit(ctx)
    last = flow.last_success_at or _last_success(runs)
    if last is not None:
        if ctx.now - last <= limit:
            return None
    elif side.supports(Capability.FLOW_RUNS):
        # Never seen succeeding in the runs read: stale only if those runs reach back far enough.
        if runs or ctx.now - side.runs_since < limit:
            return None
    elif flow.updated_at is None or ctx.now - flow.updated_at <= limit:
        return None  # never succeeded, but set up too recently to say
    evidence = {
        **_base(side, flow),
        "last_success_at": _stamp(last),
        "hours_since": int((ctx.now - last).total_seconds() // 3600) if last else None,
        "threshold_hours": int(limit.total_seconds() // 3600),
        "runs_seen": len(runs),
        "schedule": flow.schedule.detail if flow.schedule else None,
        "waiting": len(waiting),
    }
    return _finding("middleware.stale", side, flow.name, evidence, waiting)


def incomplete_finding(side: MiddlewareSide, flow: Flow) -> Finding | None:
    if not side.supports(Capability.INCOMPLETE_RUNS):
        return None
    items = [i for i in side.incomplete_runs() if not i.resolved]
    if not items:
        return None
    items.sort(key=lambda i: i.created_at.timestamp() if i.created_at else float("inf"))
    reasons: dict[str, int] = {}
    for item in items:
        reasons[item.reason or "(no reason given)"] = reasons.get(item.reason or "(no reason given)", 0) + 1
    evidence = {
        **_base(side, flow),
        "count": len(items),
        "oldest_at": _stamp(items[0].created_at),
        "reasons": reasons,
        "items": [
            {"id": i.id, "at": _stamp(i.created_at), "reason": i.reason, "attempts": i.attempts} for i in items[:LISTED]
        ],
    }
    return _finding("middleware.incomplete", side, flow.name, evidence)


def connection_findings(
    ctx: RunContext, side: MiddlewareSide, flow: Flow, waiting: Sequence[Invoice]
) -> Iterator[Finding]:
    if not side.supports(Capability.FLOW_CONNECTIONS):
        return
    for conn in side.flow_connections():
        reason, severity = _connection_state(conn, ctx.now)
        if reason is None:
            continue
        evidence = {
            **_base(side, flow),
            "connection": conn.name,
            "connection_id": conn.id,
            "app": conn.app,
            "reason": reason,
            "expires_at": _stamp(conn.expires_at),
            "days_left": (conn.expires_at - ctx.now).days if conn.expires_at and reason == "expiring" else None,
        }
        blocked = waiting if severity >= Severity.FAIL else ()
        yield _finding("middleware.connection_expired", side, conn.name, evidence, blocked, severity)


def _connection_state(conn: FlowConnection, now: datetime) -> tuple[str | None, Severity]:
    if conn.expired or (conn.expires_at is not None and conn.expires_at <= now):
        return "expired", Severity.FAIL
    if conn.verified is False:
        return "failed_verification", Severity.FAIL
    if conn.expires_at is not None and conn.expires_at - now <= EXPIRING_SOON:
        return "expiring", Severity.WARN
    return None, Severity.OK


def usage_finding(side: MiddlewareSide, flow: Flow, waiting: Sequence[Invoice]) -> Finding | None:
    if not side.supports(Capability.USAGE):
        return None
    usage: Usage = side.usage()
    allowance = usage.allowance
    exhausted = usage.paused or (allowance is not None and usage.used >= allowance)
    near = allowance is not None and allowance > 0 and usage.used >= allowance * NEAR_FRACTION
    if not exhausted and not near:
        return None
    evidence = {
        **_base(side, flow),
        "unit": usage.unit,
        "used": usage.used,
        "limit": usage.limit,
        "extra": usage.extra,
        "percent": round(100 * usage.used / allowance) if allowance else None,
        "paused": usage.paused,
        "exhausted": exhausted,
        "auto_purchase": usage.auto_purchase,
        "resets_at": _stamp(usage.resets_at),
        "plan": usage.plan,
    }
    # Out of operations, Make stops the scenarios (unless extra operations are bought automatically).
    stops = exhausted and not usage.auto_purchase
    return _finding(
        "middleware.operations_exhausted",
        side,
        usage.unit,
        evidence,
        waiting if stops else (),
        None if stops else Severity.WARN,
    )


def check_middleware(ctx: RunContext) -> Iterator[Finding]:
    """State, runs, incomplete executions, connections and plan usage of the middleware."""
    side = ctx.middleware
    if side is None:
        return
    if side.setup_error is not None:
        yield setup_finding(ctx, side, side.setup_error)
        return
    if not side.supports(Capability.FLOW):
        return
    flow = side.flow()
    if flow is None:
        evidence = {**_base(side, None), "organization": side.config.tenant}
        yield _finding(
            "middleware.missing", side, str(evidence["flow_id"] or side.system), evidence, waiting_invoices(ctx)
        )
        return
    waiting = waiting_invoices(ctx)
    runs = side.flow_runs() if side.supports(Capability.FLOW_RUNS) else []
    yield from state_findings(ctx, side, flow, runs, waiting)
    yield from run_findings(side, flow, runs, waiting)
    stale = stale_finding(ctx, side, flow, runs, waiting)
    if stale is not None:
        yield stale
    for found in (incomplete_finding(side, flow), usage_finding(side, flow, waiting)):
        if found is not None:
            yield found
    yield from connection_findings(ctx, side, flow, waiting)


def middleware_blind_spots(ctx: RunContext) -> list[str]:
    """What the report cannot tell about the middle of the pipe, in its words."""
    side = ctx.middleware
    if side is None:
        return []
    name = f"{side.display_name} (middleware)"
    if isinstance(side.setup_error, CredentialsMissing):
        if side.system == "zapier":
            return [
                f"{name}: anything about the Zap: no Zapier token is connected, and Zapier issues API tokens only to "
                "integrations published in its App Directory (connect one with "
                f"`sync-doctor connect {ctx.integration.name} middleware --access-token ...`)"
            ]
        return [f"{name}: anything about the {kind_of(side)}: no API token is connected"]
    if side.provider is None:
        return []
    notes = [f"{name} does not say {spot}" for spot in side.provider.blind_spots()]
    unread = [label for label, cap in _LABELS.items() if not side.supports(cap)]
    if unread:
        notes.append(f"{name} does not expose {', '.join(unread)}")
    return notes


# Runs are left out: a middleware that cannot list them says how to fix that (its blind_spots).
_LABELS = {
    "incomplete runs": Capability.INCOMPLETE_RUNS,
    "its connections": Capability.FLOW_CONNECTIONS,
    "usage against its plan": Capability.USAGE,
}

MIDDLEWARE = Check("middleware", "middleware", check_middleware)

__all__ = ["MIDDLEWARE", "check_middleware", "middleware_blind_spots", "waiting_invoices"]
