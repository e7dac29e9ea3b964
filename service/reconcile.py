"""Nightly reconciliation: the body of a scheduled job (the scheduler registers it and claims
its period; this module claims nothing itself).

1. Both sides compared in full over the last ``window_days`` (7): every check, not only the
   cheap ones (unsynced, duplicates, drift, payments: ``checks/sync_state.py``), through
   :class:`service.runs.CheckService` with trigger ``reconcile`` and the window override, so
   the findings are a normal stored run and the alert rules follow it as after any run.
2. The invoices those findings propose to re-sync (``sync.unsynced``, ``sync.failed``: a
   ``resync`` proposed action) are planned from fresh data (``ActionService.plan``); those the
   plan can push become ONE re-sync request for the integration (``ActionService.request``,
   requested by ``scheduler`` via ``schedule``), awaiting an admin as any request does.
   Invoices the plan finds already there or blocked are left out (the blocked ones stay
   findings, with their own fixes). Nothing to push -> no request.
3. A re-sync request of the integration still awaiting a decision (from an earlier night, or
   asked in Slack) -> no second one: it is LEFT as it is, not updated. An approver may be
   reading it; the engine re-reads each invoice before pushing it, and tonight's findings
   are stored, so what it would miss shows up again tomorrow once it is decided.
4. ``announce`` (wired by the composition root: ``bot/action_messages.py`` ``post_request``
   with no requester) posts the new request to the approvals channel, as a finding's button
   does. The service never imports Slack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from actions.errors import ActionRefused
from actions.plans import PUSH
from checks.findings import Finding, Severity
from checks.runner import RunResult
from service.action_views import ActionView
from service.container import Services

logger = logging.getLogger(__name__)

TRIGGER = "reconcile"
REQUESTED_BY = "scheduler"  # the audit's actor for what the schedule asks
VIA = "schedule"
RESYNC = "resync"

Announce = Callable[[ActionView], object]


@dataclass
class ReconcileReport:
    integration: str
    run_ref: str
    findings: int  # fail + warn + error findings of the stored run
    proposed: list[str] = field(default_factory=list)  # invoice numbers the findings propose to re-sync
    requested: ActionView | None = None  # the one request made tonight
    pending: ActionView | None = None  # an undecided re-sync request already there: left as it is
    left_out: dict[str, str] = field(default_factory=dict)  # number -> why not requested (plan status)
    refused: str | None = None  # why planning refused the whole re-sync (user-ready message)


def reconcile(
    services: Services,
    integration: str,
    *,
    now: datetime,
    window_days: int = 7,
    announce: Announce | None = None,
) -> ReconcileReport:
    """Compare both sides over ``window_days``, store the run, and ask once for the re-syncs."""
    result = services.checks.run(integration, trigger=TRIGGER, window_days=window_days)
    name = result.integration
    report = ReconcileReport(
        name, result.ref, sum(1 for f in result.findings if f.severity >= Severity.WARN), proposed=_proposed(result)
    )
    if not report.proposed:
        return report
    pending = [
        view
        for view in services.actions.list(name, states=("requested",))
        if view.kind == RESYNC and view.awaiting_decision and not _expired(view, now)
    ]
    if pending:
        report.pending = min(pending, key=lambda v: v.id)
        logger.info("reconcile %s: re-sync request %s still awaits a decision; none added", name, report.pending.id)
        _announce(announce, report.pending)  # posted once: a post that failed last night goes now
        return report
    try:
        plan = services.actions.plan(name, RESYNC, {"numbers": ",".join(report.proposed)})
    except ActionRefused as e:
        report.refused = e.message
        return report
    pushable = [invoice.number for invoice in plan.invoices if invoice.status == PUSH]
    report.left_out = {i.number: i.status for i in plan.invoices if i.status != PUSH}
    if not pushable:
        return report
    try:
        report.requested = services.actions.request(
            name,
            RESYNC,
            {"numbers": ",".join(pushable)},
            requested_by=REQUESTED_BY,
            via=VIA,
            finding=_finding(result.findings),
            # one per integration and night, even when the job is run again that night
            request_key=f"reconcile:{name}:{now.date().isoformat()}",
        )
    except ActionRefused as e:  # the data changed between the plan and the request
        report.refused = e.message
        return report
    logger.info(
        "reconcile %s: re-sync of %d invoice(s) requested (action %s)", name, len(pushable), report.requested.id
    )
    _announce(announce, report.requested)
    return report


def _announce(announce: Announce | None, view: ActionView) -> None:
    """Post the request where approvers see it; an announcer posts each request once."""
    if announce is None:
        return
    try:
        announce(view)
    except Exception:  # stored and listed either way; the next night posts it again
        logger.exception("reconcile %s: the request %s was not posted", view.integration, view.id)


def _proposed(result: RunResult) -> list[str]:
    """Invoice numbers the run's findings propose to re-sync, once each, in finding order."""
    numbers: list[str] = []
    for finding in result.findings:
        action = finding.action
        if action is None or action.kind != RESYNC:
            continue
        for number in str(action.params.get("numbers", "")).split(","):
            if number.strip() and number.strip() not in numbers:
                numbers.append(number.strip())
    return numbers


def _finding(findings: Sequence[Finding]) -> tuple[str, str] | None:
    for finding in findings:
        if finding.action is not None and finding.action.kind == RESYNC:
            return (finding.code, finding.subject)
    return None


def _expired(view: ActionView, now: datetime) -> bool:
    return view.expires_at is not None and view.expires_at <= now
