"""Every template of the mapping / contact / SKU / sync families renders from evidence shaped
exactly as the checks produce it (the example keys are compared with real check output)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from checks.catalog import CATALOG
from checks.contacts import check_contacts
from checks.context import History
from checks.findings import BlockedInvoice, Finding, Impact, ProposedAction
from checks.mappings import check_mappings
from checks.remediation import render
from checks.skus import check_skus
from checks.sync_state import check_sync_state
from config.integrations import Mappings, SyncSettings
from providers.records import (
    Account,
    Address,
    Contact,
    InvoiceStatus,
    OrgInfo,
    TaxRate,
    TrackingCategory,
    TrackingOption,
    TrackingRef,
)
from tests.checks.helpers_b import NOW, ctx, invoice, item, line
from tests.checks.remediation_examples_b import EXAMPLES, VARIANTS

FAMILIES = ("mapping", "contact", "sku", "sync")
MINE = sorted(code for code in CATALOG if code.split(".")[0] in FAMILIES)

ACTIONS = {
    "sku.missing": ProposedAction("create_item", "Create item PROD-0O1 in QuickBooks Online", {"sku": "PROD-0O1"}),
    "contact.name_collision": ProposedAction(
        "create_contact", "Create contact Acme Ltd (billing@acme.com) in Xero", {}
    ),
    "contact.invalid_name": ProposedAction("create_contact", "Create contact Acme - Sydney in QuickBooks Online", {}),
    "sync.unsynced": ProposedAction("resync", "Re-sync 2 invoices to Xero", {"numbers": "INV-2,INV-1"}),
    "sync.failed": ProposedAction("resync", "Re-sync INV-1 to Xero", {"numbers": "INV-1"}),
}


def finding(code: str, example: dict[str, Any], *, with_action: bool) -> Finding:
    impact = Impact((BlockedInvoice("INV-1", "AUD", Decimal("110.00")), BlockedInvoice("INV-<2>", "USD", Decimal(5))))
    return Finding(
        code=code,
        severity=CATALOG[code].severity,
        subject=example["subject"],
        evidence=example["evidence"],
        impact=impact,
        system=example["system"],
        action=ACTIONS.get(code) if with_action else None,
    )


def test_every_code_of_these_families_has_an_example_and_a_template() -> None:
    assert sorted(EXAMPLES) == MINE


@pytest.mark.parametrize("code", MINE)
@pytest.mark.parametrize("with_action", [True, False])
def test_examples_render_numbered_steps(code: str, with_action: bool) -> None:
    example = EXAMPLES[code]
    text = render(
        finding(code, example, with_action=with_action),
        integration="acme",
        source="hubspot",
        destination=example["system"] if example["system"] in ("xero", "quickbooks") else "xero",
    )
    assert "1. " in text and "2. " in text and "3. " in text
    assert "None" not in text
    assert "INV-&lt;2&gt;" in text or code.startswith("sync.") or "Affects" not in text
    if with_action and code in ACTIONS:
        assert ACTIONS[code].label in text


@pytest.mark.parametrize(("code", "example"), VARIANTS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(VARIANTS)])
def test_variants_render(code: str, example: dict[str, Any]) -> None:
    text = render(
        finding(code, example, with_action=False), integration="acme", source="stripe", destination="quickbooks"
    )
    assert "1. " in text and "3. " in text
    assert "None" not in text
    assert "<" not in text.replace("<2>", "")  # provider values are escaped


def test_screens_and_suggestions_are_named() -> None:
    sku = render(
        finding("sku.missing", EXAMPLES["sku.missing"], with_action=True),
        integration="acme",
        source="hubspot",
        destination="quickbooks",
    )
    assert "did you mean `PROD-001`?" in sku
    assert "Sales → Products and services" in sku
    assert "Commerce → Products" in sku
    xero_sku = render(
        finding("sku.case_mismatch", EXAMPLES["sku.case_mismatch"], with_action=False),
        integration="acme",
        source="hubspot",
        destination="xero",
    )
    assert "Business → Products and services" in xero_sku
    account = render(
        finding("mapping.account_code", EXAMPLES["mapping.account_code"], with_action=False),
        integration="acme",
        source="aroflo",
        destination="xero",
    )
    assert "Accounting → Chart of accounts" in account and "`200`" in account
    drift = render(
        finding("sync.drift", EXAMPLES["sync.drift"], with_action=False),
        integration="acme",
        source="hubspot",
        destination="xero",
    )
    assert "line amounts: HubSpot `50.00, 60.00`, Xero `40.00, 60.00`" in drift
    escaped = render(
        finding(*VARIANTS[1], with_action=False), integration="acme", source="aroflo", destination="quickbooks"
    )
    assert "Old &lt;sales&gt; &amp; co" in escaped


def _produced() -> dict[str, list[Finding]]:
    """Real findings of every code, from small worlds like the unit tests'."""
    out: list[Finding] = []
    settings = SyncSettings(window_days=30, stale_after_hours=48)
    org = OrgInfo(
        "o1",
        "Acme",
        base_currency="AUD",
        currencies=frozenset({"AUD", "USD"}),
        country="US",
        lock_date=date(2026, 4, 30),
    )
    tracking = [
        TrackingCategory("t1", "Region", options=(TrackingOption("North"),)),
        TrackingCategory("t2", "Dept", status="archived"),
    ]
    out += check_mappings(
        ctx(
            {
                "invoices": [
                    invoice(
                        "I1",
                        line("A", account_code="4000", tax_code="GST", tracking=(TrackingRef("Area", "East"),)),
                        currency="EUR",
                    ),
                    invoice(
                        "I2", line(None, account_code="4100", tax_code="X", tracking=(TrackingRef("Dept", "Ops"),))
                    ),
                    invoice("I3", line(None), line("A", account_code="4200", tracking=(TrackingRef("Job", "J1"),))),
                ]
            },
            {
                "accounts": [Account("a1", "200", "Sales"), Account("a3", "210", "Old", status="archived")],
                "tax_rates": [TaxRate("TAX001", "Old rate", status="deleted")],
                "tracking": tracking,
                "org": org,
            },
            systems=("aroflo", "xero"),
            mappings=Mappings(
                accounts={"4000": "201", "4200": "210"}, tax={"GST": "TAX001"}, tracking={"Area": "Region"}
            ),
        )
    )
    people = [
        Contact("c1", "Jane Doe", None),
        Contact("c2", "Mail Case", " Mail@x.com"),
        Contact("c3", "ACME Pty. Ltd", "a@acme.com"),
        Contact("c4", "Acme Ltd", "billing@acme.com"),
        Contact("c5", "Twin Co", "twin@co.com"),
        Contact("c6", "Acme: Sydney", "syd@acme.com"),
        Contact("c7", "Old Co", "old@co.com"),
        Contact("c8", "Addr", "addr@x.com"),
        Contact("c9", "Globex", None),
    ]
    dest_people = [
        Contact("x1", "Jane Doe", "jane@x.com"),
        Contact("x2", "Mail Case", "mail@x.com"),
        Contact("x3", "Acme Pty Ltd", "a@acme.com"),
        Contact("x4", "ACME  Ltd", "accounts@acme.com"),
        Contact("x5", "Twin Co", "twin@co.com"),
        Contact("x6", "Twin", "TWIN@co.com"),
        Contact("x7", "Old Co", "old@co.com", archived=True),
        Contact("x8", "Addr", "addr@x.com", address=Address("1 St", "Town", None, None, "US")),
    ]
    out += check_contacts(
        ctx(
            {"invoices": [invoice(f"C{i}", contact=c) for i, c in enumerate(people)], "contacts": people},
            {"contacts": dest_people, "org": org},
            systems=("hubspot", "quickbooks"),
        )
    )
    out += check_skus(
        ctx(
            {
                "invoices": [
                    invoice(
                        "S1",
                        line("PROD-0O1"),
                        line("prod-001"),
                        line("DUP-1"),
                        line("OLD-1"),
                        line("mix-1"),
                        line("X" * 31),
                    )
                ],
                "items": [item("PROD-0O1", "Blue widget", id="p-7")],
            },
            {
                "items": [
                    item("PROD-001"),
                    item("DUP-1", id="d1"),
                    item("DUP-1", id="d2"),
                    item("OLD-1", active=False),
                    item("MIX-1", id="m1"),
                    item("Mix-1", id="m2"),
                ]
            },
        )
    )
    before, after = NOW - timedelta(days=3), NOW - timedelta(days=1)
    source = [
        invoice("N1", day=date(2026, 5, 18)),
        invoice("D1"),
        invoice("R1", total="120.00"),
        invoice("P1", status=InvoiceStatus.PAID),
        invoice("E1", total="90.00", updated_at=after),
        invoice("F1"),
    ]
    dest = [
        invoice("D1", id="d1"),
        invoice("D1", id="d2"),
        invoice("R1", id="r1", status=InvoiceStatus.DRAFT),
        invoice("P1", id="p1"),
        invoice("E1", id="e1", status=InvoiceStatus.PAID, updated_at=before),
    ]
    out += check_sync_state(
        ctx(
            {"invoices": source},
            {"invoices": dest, "org": org},
            settings=settings,
            history=History(
                last_synced_at=NOW - timedelta(days=5),
                failed_actions=[{"number": "F1", "error": "x", "attempts": 3, "at": "2026-05-19"}],
            ),
        )
    )
    grouped: dict[str, list[Finding]] = {}
    for f in out:
        grouped.setdefault(f.code, []).append(f)
    return grouped


def test_example_evidence_has_the_keys_the_checks_produce() -> None:
    produced = _produced()
    assert sorted(produced) == MINE
    for code, example in EXAMPLES.items():
        shapes = [set(f.evidence) for f in produced[code]]
        assert set(example["evidence"]) in shapes, (code, shapes)
    for code, example in VARIANTS:
        if code in produced and code not in ("contact.missing_email",):
            shapes = [set(f.evidence) for f in produced[code]]
            assert any(
                set(example["evidence"])
                <= s | {"suggestions", "categories", "options_used", "status", "account_name", "code_limit"}
                for s in shapes
            ), code


def test_produced_findings_render() -> None:
    for code, findings in _produced().items():
        for f in findings:
            text = render(f, integration="acme", source="hubspot", destination=f.system or "xero")
            assert "1. " in text and "None" not in text, code
