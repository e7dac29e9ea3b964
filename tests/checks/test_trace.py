from __future__ import annotations

import json
from datetime import date, timedelta

from checks.findings import Finding, Severity
from checks.skus import check_skus
from checks.sync_state import check_sync_state
from checks.trace import InvoiceTrace, TraceStep, trace_invoice
from config.integrations import SyncSettings
from providers.base import Capability
from providers.records import InvoiceStatus
from tests.checks.contexts import preloaded_ctx
from tests.checks.records import NOW, invoice, item, line

SETTINGS = SyncSettings(since=date(2026, 5, 1))


def run_with(source: list, dest: list, items: list | None = None, **kw: object):  # type: ignore[no-untyped-def]
    destination: dict[str, object] = {"invoices": dest}
    if items is not None:
        destination["items"] = items
    return preloaded_ctx({"invoices": source}, destination, settings=kw.pop("settings", SETTINGS), **kw)  # type: ignore[arg-type]


def test_synced_invoice() -> None:
    run = run_with([invoice("INV-1")], [invoice("INV-1", id="x1")])
    trace = trace_invoice(run, "INV-1", [])
    assert trace.found and trace.in_scope and trace.synced
    assert trace.verdict == "INV-1 is in Xero as x1 (open, AUD 100.00)."
    assert [s.label for s in trace.steps] == [
        "Found in HubSpot",
        "Sync enabled",
        "Status filter",
        "Date range",
        "In Xero",
    ]
    assert all(s.ok for s in trace.steps)
    assert trace.steps[-1] == TraceStep("In Xero", True, "id x1, open, AUD 100.00")


def test_not_in_source_suggests_closest_numbers() -> None:
    run = run_with([invoice("INV-1042"), invoice("INV-1043"), invoice("INV-2000")], [])
    trace = trace_invoice(run, "INV-1O42", [])
    assert not trace.found
    assert trace.in_scope is None
    assert trace.suggestions[0] == "INV-1042"
    assert trace.steps[0].ok is False
    assert trace.steps[0].detail.startswith("no invoice INV-1O42; did you mean INV-1042")
    assert trace.verdict.startswith("INV-1O42 is not in HubSpot; did you mean INV-1042")


def test_excluded_by_status_filter() -> None:
    run = run_with([invoice("INV-5", status=InvoiceStatus.DRAFT, raw_status="DRAFT")], [])
    trace = trace_invoice(run, "INV-5", [])
    assert trace.in_scope is False
    status = next(s for s in trace.steps if s.label == "Status filter")
    assert status == TraceStep("Status filter", False, "draft is not synced (only open, paid)")
    assert (
        trace.verdict
        == "INV-5 is not synced because its status draft is excluded by the status filter (only open, paid). It is not in Xero."
    )


def test_excluded_by_date_and_skip_source() -> None:
    settings = SyncSettings(since=date(2026, 5, 1), skip_sources=("aroflo",))
    run = run_with([invoice("INV-6", day=date(2026, 4, 2)), invoice("INV-7", source="aroflo")], [], settings=settings)
    old = trace_invoice(run, "INV-6", [])
    assert (
        old.verdict
        == "INV-6 is not synced because its date 2026-04-02 is before the sync's start date 2026-05-01. It is not in Xero."
    )
    skipped = trace_invoice(run, "inv-7", [])  # found ignoring case
    assert skipped.found
    assert "found by number ignoring case" in skipped.steps[0].detail
    assert skipped.verdict.endswith("it was created by aroflo, which is on the skip-source list. It is not in Xero.")


def test_blocked_by_two_findings_lists_both_and_explains_first() -> None:
    source = [invoice("INV-1", line("PROD-0O1"), line("GONE-9"))]
    run = run_with(source, [], items=[item("PROD-001")])
    findings = check_skus(run) + check_sync_state(run)
    trace = trace_invoice(run, "INV-1", findings)
    codes = [s.code for s in trace.steps if s.code]
    assert codes.count("sku.missing") == 2
    assert "sync.unsynced" in codes
    assert {b["code"] for b in trace.blocking} >= {"sku.missing", "sync.unsynced"}
    assert trace.steps[-1] == TraceStep("In Xero", False, "not found by number or reference")
    assert trace.verdict.startswith("INV-1 is not in Xero because no item ")
    assert "(and 1 more problem)" in trace.verdict
    missing = next(s for s in trace.steps if s.code == "sku.missing" and "PROD-0O1" in s.detail)
    assert missing.detail == "no item PROD-0O1; did you mean PROD-001?"
    assert missing.ok is False


def test_system_wide_failure_without_impact_is_shown() -> None:
    token = Finding("token.expired", Severity.FAIL, "Xero", {"expired_at": "2026-05-19T00:00:00+00:00"})
    run = run_with([invoice("INV-1")], [])
    trace = trace_invoice(run, "INV-1", [token])
    step = next(s for s in trace.steps if s.code == "token.expired")
    assert step.ok is False
    assert trace.verdict == "INV-1 is not in Xero because Access token expired (Xero)."


def test_duplicate_copies_and_warning_findings() -> None:
    run = run_with([invoice("INV-3")], [invoice("INV-3", id="x1"), invoice("INV-3", id="x2")])
    trace = trace_invoice(run, "INV-3", [])
    assert len(trace.copies) == 2
    assert trace.steps[-1].ok is False and trace.steps[-1].code == "sync.duplicate"
    assert trace.verdict == "INV-3 is in Xero 2 times (x1, x2): a duplicate to void."

    drift = preloaded_ctx(
        {"invoices": [invoice("INV-4", total="120.00")]}, {"invoices": [invoice("INV-4", id="x4")]}, settings=SETTINGS
    )
    trace = trace_invoice(drift, "INV-4", check_sync_state(drift))
    step = next(s for s in trace.steps if s.code == "sync.drift")
    assert step.ok is None  # a warning: reported, not blocking
    assert trace.synced
    assert trace.verdict.startswith(
        "INV-4 is in Xero as x4 (open, AUD 100.00), but Invoice differs between source and destination"
    )


def test_destination_unreadable_and_recent_change() -> None:
    no_invoices = preloaded_ctx(
        {"invoices": [invoice("INV-1")]},
        {"items": []},
        settings=SETTINGS,
        dest_capabilities=frozenset({Capability.ITEMS}),
    )
    trace = trace_invoice(no_invoices, "INV-1", [])
    assert trace.steps[-1] == TraceStep("In Xero", None, "Xero does not expose invoices")
    assert "is unknown because Xero could not be read" in trace.verdict

    fresh = run_with([invoice("INV-2", updated_at=NOW - timedelta(minutes=5))], [])
    assert (
        trace_invoice(fresh, "INV-2", []).verdict
        == "INV-2 is not in Xero yet: it changed 5 minutes ago and may not have been picked up."
    )
    stale = run_with([invoice("INV-2")], [])
    assert (
        trace_invoice(stale, "INV-2", []).verdict
        == "INV-2 is not in Xero and no check explains why: re-sync it to see Xero's own error."
    )


def test_to_json_round_trips_through_json() -> None:
    run = run_with([invoice("INV-1")], [invoice("INV-1", id="x1")])
    trace = trace_invoice(run, " INV-1 ", [])
    data = json.loads(json.dumps(trace.to_json()))
    assert data["number"] == "INV-1"
    assert data["synced"] is True
    assert data["copies"][0]["id"] == "x1"
    assert data["invoice"]["total"] == "100.00"
    assert data["steps"][0] == {
        "label": "Found in HubSpot",
        "ok": True,
        "detail": "INV-1: open, AUD 100.00",
        "code": None,
    }
    assert isinstance(trace, InvoiceTrace)
