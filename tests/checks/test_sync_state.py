from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from checks.context import History
from checks.findings import Severity, blocked_invoices
from checks.sync_state import SYNC_STATE, check_sync_state
from config.integrations import SyncSettings
from providers.base import Capability
from providers.records import InvoiceStatus, OrgInfo
from tests.checks.contexts import by_code, preloaded_ctx
from tests.checks.records import NOW, invoice, line

SETTINGS = SyncSettings(window_days=30, stale_after_hours=48)


def dst(number: str, *lines_: object, **kw: object):  # type: ignore[no-untyped-def]
    """A destination copy: its own id, the same number."""
    kw.setdefault("id", f"x-{number}-{kw.get('status', 'o')}")
    return invoice(number, *lines_, **kw)  # type: ignore[arg-type]


def test_in_sync_gives_nothing() -> None:
    recent = NOW - timedelta(hours=3)
    source = [invoice("INV-1", updated_at=recent), invoice("INV-2", status=InvoiceStatus.PAID, updated_at=recent)]
    dest = [dst("INV-1", updated_at=recent), dst("INV-2", status=InvoiceStatus.PAID, updated_at=recent)]
    assert SYNC_STATE(preloaded_ctx({"invoices": source}, {"invoices": dest}, settings=SETTINGS)) == []


def test_unsynced_lists_invoices_with_age_oldest_first_and_proposes_resync() -> None:
    source = [
        invoice("INV-1", day=date(2026, 5, 10), contact_name="Jane"),
        invoice("INV-2", day=date(2026, 5, 1), total="50.00"),
        invoice("INV-3", day=date(2026, 5, 15)),
        invoice("INV-OLD", day=date(2026, 3, 1)),  # before the 30-day window
        invoice("INV-NEW", day=NOW.date(), updated_at=NOW - timedelta(minutes=10)),  # still on its way
    ]
    run = preloaded_ctx({"invoices": source}, {"invoices": [dst("INV-3")]}, settings=SETTINGS)
    [finding] = by_code(check_sync_state(run))["sync.unsynced"]
    assert finding.severity is Severity.FAIL
    assert finding.subject == "Xero"
    assert finding.evidence == {
        "count": 2,
        "oldest_age_days": 19,
        "invoices": [
            {
                "number": "INV-2",
                "date": "2026-05-01",
                "age_days": 19,
                "total": "50.00",
                "currency": "AUD",
                "contact": None,
            },
            {
                "number": "INV-1",
                "date": "2026-05-10",
                "age_days": 10,
                "total": "100.00",
                "currency": "AUD",
                "contact": "Jane",
            },
        ],
        "listed": 2,
        "window_start": "2026-04-20",
    }
    assert finding.impact.invoices == ("INV-2", "INV-1")
    assert finding.action is not None
    assert finding.action.kind == "resync"
    assert dict(finding.action.params) == {"numbers": "INV-2,INV-1"}
    assert finding.action.label == "Re-sync 2 invoices to Xero"


def test_matched_by_reference_when_destination_numbers_itself() -> None:
    source = [invoice("HS-100"), invoice("HS-101")]
    dest = [invoice("1042", reference="HS-100", id="q1"), invoice("1043", reference="id-HS-101", id="q2")]
    run = preloaded_ctx({"invoices": source}, {"invoices": dest}, systems=("hubspot", "quickbooks"), settings=SETTINGS)
    assert check_sync_state(run) == []


def test_duplicate_copies() -> None:
    source = [invoice("INV-7")]
    dest = [
        invoice("INV-7", id="x1"),
        invoice("1077", reference="INV-7", id="x2"),
        invoice("INV-7", id="x3", status=InvoiceStatus.VOID),  # a voided extra copy is fine
    ]
    [finding] = check_sync_state(preloaded_ctx({"invoices": source}, {"invoices": dest}, settings=SETTINGS))
    assert finding.code == "sync.duplicate"
    assert finding.subject == "INV-7"
    assert finding.evidence == {
        "number": "INV-7",
        "copies": [
            {"id": "x1", "number": "INV-7", "status": "open", "total": "100.00", "date": "2026-05-10"},
            {"id": "x2", "number": "1077", "status": "open", "total": "100.00", "date": "2026-05-10"},
        ],
        "voided_copies": 1,
    }


def test_drift_names_each_difference() -> None:
    source = [invoice("INV-1", line(amount="60.00"), line(amount="50.00"), contact_email="a@x.com", contact_name="A")]
    dest = [dst("INV-1", line(amount="100.00"), contact_email="b@x.com", contact_name="A", status=InvoiceStatus.DRAFT)]
    [finding] = check_sync_state(preloaded_ctx({"invoices": source}, {"invoices": dest}, settings=SETTINGS))
    assert finding.code == "sync.drift"
    assert finding.severity is Severity.WARN
    assert finding.evidence == {
        "number": "INV-1",
        "destination_id": dest[0].id,
        "differences": {
            "total": {"source": "110.00", "destination": "100.00"},
            "lines": {"source": 2, "destination": 1},
            "contact": {"source": "a@x.com", "destination": "b@x.com"},
            "status": {"source": "open", "destination": "draft"},
        },
        "fields": ["contact", "lines", "status", "total"],
    }


def test_line_amount_drift_and_voided_in_source() -> None:
    source = [
        invoice("INV-1", line(amount="60.00"), line(amount="40.00")),
        invoice("INV-2", status=InvoiceStatus.VOID),
    ]
    dest = [dst("INV-1", line(amount="70.00"), line(amount="30.00")), dst("INV-2")]
    found = {
        f.subject: f
        for f in check_sync_state(preloaded_ctx({"invoices": source}, {"invoices": dest}, settings=SETTINGS))
    }
    assert found["INV-1"].evidence["differences"] == {
        "line_amounts": {"source": ["40.00", "60.00"], "destination": ["30.00", "70.00"]}
    }
    assert found["INV-2"].code == "sync.drift"
    assert found["INV-2"].evidence["differences"] == {"status": {"source": "void", "destination": "open"}}


def test_payment_drift_both_ways() -> None:
    source = [
        invoice("INV-1", status=InvoiceStatus.PAID, amount_paid=Decimal(100)),
        invoice("INV-2"),
    ]
    dest = [dst("INV-1", amount_paid=Decimal(0)), dst("INV-2", status=InvoiceStatus.PAID)]
    found = {
        f.subject: f
        for f in check_sync_state(preloaded_ctx({"invoices": source}, {"invoices": dest}, settings=SETTINGS))
    }
    assert found["INV-1"].code == "sync.payment_drift"
    assert found["INV-1"].evidence == {
        "number": "INV-1",
        "destination_id": dest[0].id,
        "paid_in": "source",
        "source_status": "paid",
        "destination_status": "open",
        "source_amount_paid": "100.00",
        "destination_amount_paid": "0.00",
    }
    assert found["INV-2"].evidence["paid_in"] == "destination"


def test_not_editable_when_destination_paid_or_locked_and_source_changed_later() -> None:
    before, after = NOW - timedelta(days=3), NOW - timedelta(days=1)
    source = [
        invoice("INV-1", total="120.00", updated_at=after),
        invoice("INV-2", total="80.00", updated_at=after, day=date(2026, 4, 25)),
        invoice("INV-3", total="90.00", updated_at=before),  # changed before the copy: plain drift
    ]
    dest = [
        dst("INV-1", status=InvoiceStatus.PAID, updated_at=before),
        dst("INV-2", updated_at=before, day=date(2026, 4, 25)),
        dst("INV-3", updated_at=after),
    ]
    org = OrgInfo("o1", "Acme", lock_date=date(2026, 4, 30))
    run = preloaded_ctx({"invoices": [*source]}, {"invoices": dest, "org": org}, settings=SETTINGS)
    found = by_code(check_sync_state(run))
    ne = {f.subject: f for f in found["sync.not_editable"]}
    assert ne["INV-1"].evidence == {
        "number": "INV-1",
        "destination_id": dest[0].id,
        "differences": {"total": {"source": "120.00", "destination": "100.00"}},
        "destination_status": "paid",
        "reason": "paid",
        "lock_date": None,
        "source_updated_at": after.isoformat(),
        "destination_updated_at": before.isoformat(),
    }
    assert ne["INV-2"].evidence["reason"] == "locked"
    assert ne["INV-2"].evidence["lock_date"] == "2026-04-30"
    assert [f.subject for f in found["sync.drift"]] == ["INV-3"]
    assert "sync.payment_drift" in found  # INV-1 is paid in the destination only


def test_stale_dead_mans_switch() -> None:
    last = NOW - timedelta(hours=72)
    source = [
        invoice("INV-1", updated_at=last - timedelta(hours=1)),
        invoice("INV-2", day=date(2026, 5, 18), updated_at=NOW - timedelta(hours=50)),
        invoice("INV-3", day=date(2026, 5, 19), updated_at=NOW - timedelta(hours=30)),
    ]
    dest = [dst("INV-1", updated_at=last)]
    run = preloaded_ctx({"invoices": source}, {"invoices": dest}, settings=SETTINGS)
    [stale] = by_code(check_sync_state(run))["sync.stale"]
    assert stale.subject == "Xero"
    assert stale.evidence["last_synced_at"] == last.isoformat()
    assert stale.evidence["hours_since"] == 72
    assert stale.evidence["stale_after_hours"] == 48
    assert stale.evidence["waiting"] == 2
    assert stale.evidence["oldest_waiting"]["number"] == "INV-2"
    assert stale.evidence["newest_waiting"]["number"] == "INV-3"
    assert stale.impact.invoices == ("INV-2", "INV-3")
    # a newer landing recorded by an earlier run (history) keeps the switch quiet
    fresh = preloaded_ctx(
        {"invoices": source},
        {"invoices": dest},
        settings=SETTINGS,
        history=History(last_synced_at=NOW - timedelta(hours=2)),
    )
    assert "sync.stale" not in by_code(check_sync_state(fresh))


def test_stale_never_synced_waits_for_overdue_invoice() -> None:
    young = [invoice("INV-1", day=NOW.date() - timedelta(days=1), updated_at=NOW - timedelta(hours=20))]
    assert "sync.stale" not in by_code(
        check_sync_state(preloaded_ctx({"invoices": young}, {"invoices": []}, settings=SETTINGS))
    )
    old = [invoice("INV-1", day=NOW.date() - timedelta(days=3), updated_at=NOW - timedelta(hours=70))]
    [stale] = by_code(check_sync_state(preloaded_ctx({"invoices": old}, {"invoices": []}, settings=SETTINGS)))[
        "sync.stale"
    ]
    assert stale.evidence["last_synced_at"] is None
    assert stale.evidence["hours_since"] is None


def test_failed_from_history_skips_those_that_landed_since() -> None:
    history = History(
        failed_actions=[
            {
                "number": "INV-1",
                "error": "Item code 'X' is not valid",
                "attempts": 2,
                "at": "2026-05-18T10:00:00+00:00",
            },
            {
                "number": "INV-1",
                "error": "Account code '999' is not valid",
                "attempts": 3,
                "at": "2026-05-19T10:00:00+00:00",
            },
            {"number": "INV-2", "error": "boom", "attempts": 3, "at": datetime(2026, 5, 19, 9, 0)},
        ]
    )
    source = [invoice("INV-1", total="40.00"), invoice("INV-2")]
    run = preloaded_ctx({"invoices": source}, {"invoices": [dst("INV-2")]}, settings=SETTINGS, history=history)
    [failed] = by_code(check_sync_state(run))["sync.failed"]
    assert failed.subject == "INV-1"
    assert failed.evidence == {
        "number": "INV-1",
        "error": "Account code '999' is not valid",
        "attempts": 3,
        "at": "2026-05-19T10:00:00+00:00",
        "in_source": True,
    }
    assert failed.impact.invoices == ("INV-1",)
    assert failed.action is not None and dict(failed.action.params) == {"numbers": "INV-1"}
    assert failed.action.label == "Re-sync INV-1 to Xero"


def test_no_resync_proposal_when_destination_cannot_take_pushes() -> None:
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1")]},
        {"invoices": []},
        settings=SETTINGS,
        dest_capabilities=frozenset({Capability.INVOICES}),
    )
    [finding] = by_code(check_sync_state(run))["sync.unsynced"]
    assert finding.action is None


def test_unsynced_and_failed_invoice_counts_once() -> None:
    history = History(failed_actions=[{"number": "INV-1", "error": "x", "attempts": 3, "at": "2026-05-19"}])
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", total="10.00")]}, {"invoices": []}, settings=SETTINGS, history=history
    )
    findings = check_sync_state(run)
    # never synced and 10 days old: the dead man's switch fires too
    assert {f.code for f in findings} == {"sync.unsynced", "sync.failed", "sync.stale"}
    assert all(f.impact.invoices == ("INV-1",) for f in findings)
    assert blocked_invoices(findings).invoices == ("INV-1",)
    assert blocked_invoices(findings).amounts == {"AUD": Decimal("10.00")}
