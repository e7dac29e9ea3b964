"""When an invoice is merely waiting for the middleware's next run, not lost.

A Make scenario scheduled every 15 minutes, or a Zap polling at its plan's interval (15 minutes
on Zapier's Free plan), picks an invoice up only at its next run: an invoice changed after the
last run is "not there yet", which is normal. The sync-state checks and the invoice trace ask
here how long that wait may be, so a short schedule raises no false "unsynced" alarm and a
daily one no false "stale".

A middleware that cannot be read leaves the schedule unknown: the defaults apply, and the
middleware check reports why it could not be read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from checks.context import MiddlewareSide, RunContext
from providers.base import Capability
from providers.errors import ProviderError
from providers.flows import Flow, FlowRun, RunStatus, ScheduleKind
from providers.records import Invoice

logger = logging.getLogger(__name__)

UNSYNCED_GRACE = timedelta(hours=1)  # without middleware: an invoice changed this recently may be on its way
# A run takes time, and polling is approximate ("polling times are approximate": Zapier); half an
# interval more, plus ten minutes, before a waiting invoice counts as missed.
SLACK_FACTOR = 1.5
SLACK_MINUTES = timedelta(minutes=10)
FINISHED = frozenset({RunStatus.SUCCESS, RunStatus.WARNING, RunStatus.ERROR, RunStatus.HALTED, RunStatus.FILTERED})


def readable_flow(side: MiddlewareSide | None) -> Flow | None:
    """The middleware's flow, or None when there is none or it cannot be read (the middleware
    check reports the reason; here the schedule is simply unknown)."""
    if side is None or not side.supports(Capability.FLOW):
        return None
    try:
        return side.flow()
    except ProviderError as e:
        logger.debug("middleware flow unreadable for the schedule: %s", e)
        return None


def readable_runs(side: MiddlewareSide | None) -> list[FlowRun]:
    if side is None or not side.supports(Capability.FLOW_RUNS):
        return []
    try:
        return side.flow_runs()
    except ProviderError as e:
        logger.debug("middleware runs unreadable for the schedule: %s", e)
        return []


def pickup_delay(ctx: RunContext) -> timedelta | None:
    """The longest an invoice may wait for the middleware's next run (None: no middleware, or
    a schedule the system does not tell)."""
    flow = readable_flow(ctx.middleware)
    if flow is None or flow.schedule is None:
        return None
    return flow.schedule.interval


def pickup_grace(ctx: RunContext) -> timedelta:
    """How recent a change must be for a missing invoice to be "on its way" rather than missed."""
    delay = pickup_delay(ctx)
    if delay is None:
        return UNSYNCED_GRACE
    return max(UNSYNCED_GRACE, delay * SLACK_FACTOR + SLACK_MINUTES)


def stale_limit(ctx: RunContext) -> timedelta:
    """The dead man's switch: ``stale_after_hours``, stretched to two runs of a slow schedule."""
    base = timedelta(hours=ctx.integration.settings.stale_after_hours)
    delay = pickup_delay(ctx)
    return max(base, delay * 2) if delay else base


def last_run_at(runs: list[FlowRun]) -> datetime | None:
    return max((r.started_at for r in runs if r.started_at and r.status in FINISHED), default=None)


@dataclass(frozen=True, slots=True)
class PollWait:
    """An invoice changed after the middleware's last run, within its schedule: it waits."""

    middleware: str  # display name ("Make")
    flow: str  # the scenario's / Zap's name
    every: timedelta
    detail: str | None  # the system's words for the schedule
    last_run_at: datetime | None
    next_run_at: datetime | None
    changed_at: datetime

    def sentence(self, now: datetime) -> str:
        minutes = max(int((now - self.changed_at).total_seconds() // 60), 0)
        when = (
            f"its next run is due at {self.next_run_at:%H:%M} UTC"
            if self.next_run_at
            else "it runs " + (self.detail or f"every {int(self.every.total_seconds() // 60)} minutes")
        )
        last = f" (last run {self.last_run_at:%H:%M} UTC)" if self.last_run_at else ""
        return (
            f"it changed {minutes} minutes ago, after {self.middleware}'s last run{last}; {when}: "
            "it is waiting for the next poll, not lost"
        )


def waiting_for_poll(ctx: RunContext, invoice: Invoice) -> PollWait | None:
    """The wait, when ``invoice`` changed after the middleware last ran and within its schedule."""
    side = ctx.middleware
    flow = readable_flow(side)
    if side is None or flow is None or not flow.enabled or flow.schedule is None:
        return None
    if flow.schedule.kind not in (ScheduleKind.INTERVAL, ScheduleKind.CALENDAR):
        return None
    every = flow.schedule.interval
    changed = invoice.updated_at
    if every is None or changed is None:
        return None
    changed = changed if changed.tzinfo else changed.replace(tzinfo=ctx.now.tzinfo)
    last = last_run_at(readable_runs(side))
    if last is not None and changed <= last:
        return None  # a run since then should have taken it
    if ctx.now - changed >= max(UNSYNCED_GRACE, every * SLACK_FACTOR + SLACK_MINUTES):
        return None
    return PollWait(side.display_name, flow.name, every, flow.schedule.detail, last, flow.next_run_at, changed)


def flow_step(ctx: RunContext) -> tuple[str, bool | None, str] | None:
    """(label, ok, detail) of the middleware for an invoice trace: on or off, schedule, last run."""
    side = ctx.middleware
    if side is None:
        return None
    kind = "scenario" if side.system == "make" else "Zap" if side.system == "zapier" else "flow"
    label = f"{side.display_name} {kind}"
    if side.setup_error is not None:
        return label, None, f"not read: {side.setup_error.message}"
    if not side.supports(Capability.FLOW):
        return label, None, f"{side.display_name} does not expose its {kind}s"
    try:
        flow = side.flow()
    except ProviderError as e:
        return label, None, f"could not be read: {e.message}"
    if flow is None:
        return (
            label,
            False,
            f"{kind} {side.config.options.get('scenario_id') or side.config.options.get('zap_id')} does not exist",
        )
    label = f"{label} '{flow.name}'"
    if flow.paused_for_billing:
        return label, False, f"paused by {side.display_name} (a subscription problem)"
    if not flow.enabled:
        why = " after repeated errors" if flow.stopped_by_errors else ""
        return label, False, f"switched off{why}: nothing moves until it is on again"
    runs = readable_runs(side)
    finished = [r for r in runs if r.status in FINISHED]
    parts = ["on"]
    if flow.schedule is not None and flow.schedule.detail:
        parts.append(flow.schedule.detail)
    if finished:
        last = finished[0]
        when = f"{last.started_at:%Y-%m-%d %H:%M} UTC" if last.started_at else "recently"
        parts.append(f"last run {when}: {last.status.value}" + (f" ({last.error})" if last.error else ""))
        return label, last.status is not RunStatus.ERROR, ", ".join(parts)
    return label, True, ", ".join(parts)
