"""Settings checks: switches, filters counted from real invoices, lock date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from checks.findings import Severity
from checks.settings import check_settings
from providers.records import InvoiceStatus, OrgInfo
from tests.checks.contexts import config, ctx, side
from tests.checks.records import invoice, oauth

DEST_ORG = OrgInfo(tenant_id="t-1", name="Acme Ltd", base_currency="AUD")


def run(cfg, source_invoices, dest_invoices=(), dest_org=DEST_ORG):
    src = side("source", cfg, credentials=oauth(), invoices=list(source_invoices))
    dst = side("destination", cfg, credentials=oauth(), org=dest_org, invoices=list(dest_invoices))
    return list(check_settings(ctx(cfg, src, dst)))


def test_healthy_settings_give_nothing():
    cfg = config()
    invs = [invoice("INV-1"), invoice("INV-2", status=InvoiceStatus.PAID), invoice("V-1", status=InvoiceStatus.VOID)]
    assert run(cfg, invs, [invoice("INV-1")]) == []


def test_sync_disabled_lists_the_waiting_invoices():
    cfg = config(enabled=False)
    [f] = run(cfg, [invoice("INV-1", total="40.00"), invoice("INV-2")], [invoice("INV-2")])
    assert f.code == "settings.sync_disabled"
    assert f.severity is Severity.FAIL
    assert f.subject == "enabled"
    assert f.evidence == {"setting": "enabled", "value": False, "count": 1, "invoices": ["INV-1"]}
    assert f.impact.amounts == {"AUD": Decimal("40.00")}


def test_auto_sync_of_sales_off():
    [f] = run(config(auto_sync_sales=False), [invoice("INV-1")])
    assert (f.code, f.subject, f.evidence["setting"]) == (
        "settings.sync_disabled",
        "auto_sync.sales",
        "auto_sync.sales",
    )


def test_direction_not_pushing():
    [f] = run(config(direction="destination_to_source"), [invoice("INV-1")])
    assert f.code == "settings.direction"
    assert f.evidence == {
        "direction": "destination_to_source",
        "needed": "source_to_destination",
        "count": 1,
        "invoices": ["INV-1"],
    }
    assert run(config(direction="both"), [invoice("INV-1")], [invoice("INV-1")]) == []


def test_status_filter_counts_each_excluded_status():
    invs = [invoice(f"D-{i}", status=InvoiceStatus.DRAFT) for i in range(12)] + [invoice("OK-1")]
    [f] = run(config(), invs, [invoice("OK-1")])
    assert f.code == "settings.status_filter"
    assert f.severity is Severity.WARN
    assert f.subject == "statuses"
    assert f.evidence["selected"] == ["open", "paid"]
    assert f.evidence["excluded"] == {"draft": 12}
    assert f.evidence["count"] == 12
    assert f.evidence["invoices"] == [f"D-{i}" for i in range(12)]


def test_date_filter_before_and_after():
    cfg = config(since=date(2026, 5, 1), until=date(2026, 5, 31))
    invs = [invoice("OLD-1", day=date(2026, 4, 20)), invoice("NEW-1", day=date(2026, 6, 2)), invoice("IN-1")]
    [f] = run(cfg, invs, [invoice("IN-1")])
    assert f.code == "settings.date_filter"
    assert f.evidence == {
        "since": "2026-05-01",
        "until": "2026-05-31",
        "before_since": 1,
        "after_until": 1,
        "count": 2,
        "invoices": ["OLD-1", "NEW-1"],
    }


def test_skipped_source():
    cfg = config(skip_sources=("aroflo",))
    invs = [invoice("A-1", source="aroflo"), invoice("A-2", source="aroflo"), invoice("H-1", source="hubspot")]
    [f] = run(cfg, invs, [invoice("H-1")])
    assert f.code == "settings.skipped_source"
    assert f.evidence == {"skip_sources": ["aroflo"], "excluded": {"aroflo": 2}, "count": 2, "invoices": ["A-1", "A-2"]}


def test_period_locked_only_for_invoices_not_yet_synced():
    lock = OrgInfo(tenant_id="t-1", name="Acme Ltd", lock_date=date(2026, 4, 30))
    invs = [
        invoice("INV-9", day=date(2026, 4, 30)),
        invoice("INV-8", day=date(2026, 4, 2)),
        invoice("INV-7", day=date(2026, 3, 1)),
        invoice("INV-10", day=date(2026, 5, 1)),
    ]
    landed = [invoice("X-1", reference="INV-7")]  # synced before the lock: matched by reference
    [f] = run(config(), invs, landed, dest_org=lock)
    assert f.code == "settings.period_locked"
    assert f.severity is Severity.FAIL
    assert f.system == "xero"
    assert f.evidence == {
        "system": "xero",
        "organisation": "Acme Ltd",
        "lock_date": "2026-04-30",
        "count": 2,
        "invoices": [{"number": "INV-8", "issue_date": "2026-04-02"}, {"number": "INV-9", "issue_date": "2026-04-30"}],
        "earliest": "2026-04-02",
    }
    assert f.impact.invoices == ("INV-8", "INV-9")
