"""The middleware's schedule in the sync-state checks and the invoice trace (waiting for the next
poll is not lost), and the job-app checks (a manual post never made, a re-issued invoice)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from checks.context import MiddlewareSide, RunContext
from checks.jobapps import JOBAPPS
from checks.sync_state import SYNC_STATE
from checks.trace import trace_invoice
from config.middleware import MiddlewareConfig
from providers.flows import Schedule, ScheduleKind
from providers.records import Invoice, InvoiceStatus
from tests.checks.contexts import side
from tests.checks.middle_findings import MAKE, integration, scenario, succeeded
from tests.checks.records import NOW, invoice, line

DAILY = Schedule(ScheduleKind.CALENDAR, timedelta(days=1), detail="daily at 06:00")
EVERY_15 = Schedule(ScheduleKind.INTERVAL, timedelta(minutes=15), detail="every 15 minutes")


def context(
    source: list[Invoice],
    destination: list[Invoice],
    middle: MiddlewareConfig | None = MAKE,
    system: str = "aroflo",
    **resources: Any,
) -> RunContext:
    cfg = integration(middle, system)
    middleware = MiddlewareSide.preloaded("middleware", middle.side_config(), **resources) if middle else None
    return RunContext(
        cfg,
        side("source", cfg, invoices=source),
        side("destination", cfg, invoices=destination),
        now=NOW,
        middleware=middleware,
    )


def changed(number: str, hours: float, **kw: Any) -> Invoice:
    return invoice(number, day=(NOW - timedelta(hours=hours)).date(), updated_at=NOW - timedelta(hours=hours), **kw)


def unsynced(ctx: RunContext) -> list[str]:
    found = [f for f in SYNC_STATE(ctx) if f.code == "sync.unsynced"]
    return [row["number"] for f in found for row in f.evidence["invoices"]]


def test_a_daily_scenario_makes_a_ten_hour_old_invoice_on_its_way_not_unsynced() -> None:
    waiting = [changed("1011", 10), changed("1012", 40)]
    assert unsynced(context(waiting, [], flow=scenario(schedule=DAILY), flow_runs=[])) == ["1012"]
    assert unsynced(context(waiting, [], middle=None)) == ["1012", "1011"]  # no middleware: an hour's grace


def test_a_weekly_scenario_stretches_the_stale_alarm() -> None:
    weekly = Schedule(ScheduleKind.CALENDAR, timedelta(days=7), detail="weekly on Monday")
    copy = changed("1000", 24 * 4)
    waiting = [copy, changed("1011", 24 * 3)]
    stale = [
        f
        for f in SYNC_STATE(context(waiting, [copy], flow=scenario(schedule=weekly), flow_runs=[]))
        if f.code == "sync.stale"
    ]
    assert stale == []
    plain = [f for f in SYNC_STATE(context(waiting, [copy], middle=None)) if f.code == "sync.stale"]
    assert len(plain) == 1 and plain[0].evidence["stale_after_hours"] == 48


def test_the_trace_says_an_invoice_changed_after_the_last_run_waits_for_the_next_poll() -> None:
    fresh = changed("1044", 0.05)  # three minutes ago
    last_run = succeeded(5)  # five minutes ago
    flow = scenario(schedule=EVERY_15, next_run_at=NOW + timedelta(minutes=10))
    ctx = context([fresh], [], flow=flow, flow_runs=[last_run])
    trace = trace_invoice(ctx, "1044", [])
    assert trace.verdict == (
        "1044 is not in Xero yet: it changed 3 minutes ago, after Make's last run (last run 11:55 UTC); "
        "its next run is due at 12:10 UTC: it is waiting for the next poll, not lost."
    )
    step = next(s for s in trace.steps if s.label.startswith("Make scenario"))
    assert step.ok is True and step.detail == "on, every 15 minutes, last run 2026-05-20 11:55 UTC: success"


def test_an_invoice_older_than_the_last_run_is_not_waiting_for_a_poll() -> None:
    ctx = context([changed("1044", 0.5)], [], flow=scenario(schedule=EVERY_15), flow_runs=[succeeded(5)])
    assert "waiting for the next poll" not in trace_invoice(ctx, "1044", []).verdict


def test_the_trace_shows_a_stopped_scenario_as_a_blocking_step() -> None:
    ctx = context([changed("1044", 30)], [], flow=scenario(enabled=False, stopped_by_errors=True), flow_runs=[])
    step = next(s for s in trace_invoice(ctx, "1044", []).steps if s.label.startswith("Make scenario"))
    assert step.ok is False and step.detail == "switched off after repeated errors: nothing moves until it is on again"


def test_invoices_never_posted_by_the_job_app() -> None:
    stamp = NOW - timedelta(days=3)
    source = [
        invoice("1011", posted=False, updated_at=stamp),
        invoice("1012", posted=False, updated_at=NOW - timedelta(minutes=20)),  # just approved: not yet
        invoice("1013", posted=False, status=InvoiceStatus.DRAFT, updated_at=stamp),  # a draft is not approved
        invoice("1014", posted=True, updated_at=stamp),  # posted: lost elsewhere, sync.unsynced says so
        invoice("1015", posted=False, updated_at=stamp),  # already in the books
    ]
    [finding] = JOBAPPS(context(source, [invoice("1015")], middle=None))
    assert finding.code == "jobapp.manual_sync" and finding.impact.invoices == ("1011",)
    assert finding.evidence["count"] == 1 and finding.evidence["app"] == "AroFlo"
    # With a Make scenario carrying the invoices, the middleware checks say why they wait.
    assert JOBAPPS(context(source, [], flow=scenario(), flow_runs=[])) == []
    # HubSpot and Stripe invoices carry no such flag: the check does not apply.
    assert JOBAPPS(context(source, [], middle=None, system="hubspot")) == []


def test_a_reissue_of_a_synced_job_is_a_duplicate_risk_but_part_invoices_are_not() -> None:
    old = invoice("1020", line(amount="480.00"), job="J-88")
    new = invoice("1031", line(amount="480.00"), job="J-88", day=date(2026, 5, 15))
    part = invoice("1032", line(amount="200.00"), job="J-90")
    part_first = invoice("1025", line(amount="300.00"), job="J-90")
    books = [invoice("1020", line(amount="480.00"), id="x-1020"), invoice("1025", line(amount="300.00"), id="x-1025")]
    [finding] = JOBAPPS(context([old, new, part_first, part], books, middle=None))
    assert (finding.code, finding.subject, finding.evidence["previous"], finding.evidence["why"]) == (
        "jobapp.reissued",
        "1031",
        "1020",
        "same_total",
    )
    assert finding.evidence["destination_copy"]["id"] == "x-1020" and finding.impact.invoices == ("1031",)


def test_a_reissue_after_voiding_the_first_invoice_is_named_so() -> None:
    old = invoice("1020", line(amount="480.00"), job="J-88", status=InvoiceStatus.VOID)
    new = invoice("1031", line(amount="520.00"), job="J-88")
    [finding] = JOBAPPS(context([old, new], [invoice("1020", line(amount="480.00"), id="x-1020")], middle=None))
    assert finding.evidence["why"] == "voided" and finding.evidence["previous_status"] == "void"
    # once the old copy is voided in the books too, nothing is at risk
    books = [invoice("1020", line(amount="480.00"), id="x-1020", status=InvoiceStatus.VOID)]
    assert JOBAPPS(context([old, new], books, middle=None)) == []
