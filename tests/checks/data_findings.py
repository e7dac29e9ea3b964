"""Scenarios in which the real checks find each mapping, contact, SKU and sync code (see
``tests/checks/produced_findings.py``).

Each function is one way the data of two systems really disagrees, named for it; several cover
the other branches of the same remediation template (another destination, another reason).
Provider values with ``<``, ``>`` or ``&`` in them show that templates escape what they print.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from checks.base import Check
from checks.contacts import CONTACTS
from checks.context import History
from checks.mappings import MAPPINGS
from checks.skus import SKUS
from checks.sync_state import SYNC_STATE
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
from tests.checks.contexts import preloaded_ctx
from tests.checks.produced_findings import Produced, Registry
from tests.checks.records import NOW, invoice, item, line

DATA = Registry()

ORG = OrgInfo(
    "o1",
    "Acme",
    base_currency="AUD",
    currencies=frozenset({"AUD", "USD"}),
    country="US",
    lock_date=date(2026, 4, 30),
)


def _run(check: Check, source: dict[str, Any], destination: dict[str, Any], **kw: Any) -> Produced:
    """``check`` on one world whose sides are just their records (``preloaded_ctx``)."""
    context = preloaded_ctx(source, destination, **kw)
    return Produced(context.integration, tuple(check(context)))


# -- mappings ----------------------------------------------------------------------------

CHART = [
    Account("a1", "200", "Sales"),
    Account("a3", "210", "Old <sales> & co", status="archived"),
]
TRACKING = [
    TrackingCategory("t1", "Region", options=(TrackingOption("North"), TrackingOption("South"))),
    TrackingCategory("t2", "Dept", status="archived"),
]


@DATA.add
def aroflo_codes_mapped_to_what_xero_lacks() -> Produced:
    invoices = [
        invoice(
            "I1",
            line("A", account_code="4000", tax_code="GST", tracking=(TrackingRef("Area", "East"),)),
            currency="EUR",
        ),
        invoice("INV-<2>", line(None, account_code="4100", tax_code="X", tracking=(TrackingRef("Dept", "Ops"),))),
        invoice("I3", line(None), line("A", account_code="4200", tracking=(TrackingRef("Job", "J1"),))),
    ]
    destination = {
        "accounts": CHART,
        "tax_rates": [TaxRate("TAX001", "Old rate", status="deleted"), TaxRate("OUTPUT", "GST on Income")],
        "tracking": TRACKING,
        "org": ORG,
    }
    mappings = Mappings(accounts={"4000": "201", "4200": "210"}, tax={"GST": "TAX001"}, tracking={"Area": "Region"})
    return _run(MAPPINGS, {"invoices": invoices}, destination, systems=("aroflo", "xero"), mappings=mappings)


@DATA.add
def stripe_lines_to_a_quickbooks_chart_without_them() -> Produced:
    invoices = [
        invoice("INV-1", line(None, account_code="210", tracking=(TrackingRef("Job", "J1"),)), currency="eur"),
        invoice("INV-2", line(None, account_code="Sales", tracking=(TrackingRef("Job", "J2"),))),
    ]
    destination = {
        "accounts": CHART,
        "tax_rates": [],
        "tracking": [TrackingCategory("c1", "Class", options=(TrackingOption("Retail"),))],
        "org": OrgInfo("9130350000000001", "Acme", base_currency="AUD", currencies=frozenset({"AUD"})),
    }
    return _run(MAPPINGS, {"invoices": invoices}, destination, systems=("stripe", "quickbooks"))


# -- contacts ----------------------------------------------------------------------------


@DATA.add
def hubspot_contacts_against_quickbooks() -> Produced:
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
    in_quickbooks = [
        Contact("x1", "Jane Doe", "jane@x.com"),
        Contact("x2", "Mail Case", "mail@x.com"),
        Contact("x3", "Acme Pty Ltd", "a@acme.com"),
        Contact("x4", "ACME  Ltd", "accounts@acme.com"),
        Contact("x5", "Twin Co", "twin@co.com"),
        Contact("x6", "Twin", "TWIN@co.com"),
        Contact("x7", "Old <Co>", "old@co.com", archived=True),
        Contact("x8", "Addr", "addr@x.com", address=Address("1 St", "Town", None, None, "US")),
    ]
    source = {"invoices": [invoice(f"C{i}", contact=c) for i, c in enumerate(people)], "contacts": people}
    return _run(CONTACTS, source, {"contacts": in_quickbooks, "org": ORG}, systems=("hubspot", "quickbooks"))


@DATA.add
def stripe_customers_new_to_xero() -> Produced:
    people = [
        Contact("cus_1", "Globex", None),
        Contact("cus_2", "John Smith", "john@a.com"),
        Contact("cus_3", "john smith", "js@b.com"),
        Contact("cus_4", "New Co", "new@co.com", address=Address("2 High St", None, None, None, "US")),
    ]
    in_xero = [Contact("x1", "Globex Pty Ltd", "accounts@globex.com")]
    source = {"invoices": [invoice(f"S{i}", contact=c) for i, c in enumerate(people)], "contacts": people}
    org = OrgInfo("o2", "Acme", base_currency="USD", country="US")
    return _run(CONTACTS, source, {"contacts": in_xero, "org": org}, systems=("stripe", "xero"))


# -- SKUs --------------------------------------------------------------------------------


@DATA.add
def hubspot_skus_against_quickbooks_items() -> Produced:
    lines = [line("PROD-0O1"), line("prod-001"), line("DUP-1"), line("OLD-1"), line("mix-1")]
    source = {"invoices": [invoice("S1", *lines)], "items": [item("PROD-0O1", "Blue widget", id="p-7")]}
    destination = {
        "items": [
            item("PROD-001"),
            item("DUP-1", id="d1"),
            item("DUP-1", id="d2"),
            item("OLD-1", "Old <thing>", active=False),
            item("MIX-1", id="m1"),
            item("Mix-1", id="m2", active=False),
        ]
    }
    return _run(SKUS, source, destination, systems=("hubspot", "quickbooks"))


@DATA.add
def stripe_skus_against_xero_items() -> Produced:
    source = {"invoices": [invoice("S1", line("X" * 31), line("old-2"), line("OLD-2 "))]}
    destination = {"items": [item("OLD-2", active=False), item("Old-2", id="o2b")]}
    return _run(SKUS, source, destination, systems=("stripe", "xero"))


@DATA.add
def xero_items_archived_or_cased_differently() -> Produced:
    source = {"invoices": [invoice("S1", line("OLD-1"), line("prod-001"))]}
    destination = {"items": [item("OLD-1", active=False), item("PROD-001", "Widget")]}
    return _run(SKUS, source, destination, systems=("hubspot", "xero"))


# -- sync state --------------------------------------------------------------------------


@DATA.add
def hubspot_and_xero_out_of_step() -> Produced:
    before, after = NOW - timedelta(days=3), NOW - timedelta(days=1)
    source = [
        invoice("N1", day=date(2026, 5, 18)),
        invoice("D1"),
        invoice("R1", total="120.00"),
        invoice("P1", status=InvoiceStatus.PAID),
        invoice("E1", total="90.00", updated_at=after),
        invoice("F1"),
        invoice("L1", line(amount="50.00"), line(amount="60.00")),
    ]
    landed = [
        invoice("D1", id="d1"),
        invoice("D1", id="d2"),
        invoice("R1", id="r1", status=InvoiceStatus.DRAFT),
        invoice("P1", id="p1"),
        invoice("E1", id="e1", status=InvoiceStatus.PAID, updated_at=before),
        invoice("L1", line(amount="40.00"), line(amount="60.00"), id="l1"),
    ]
    failed = {"number": "F1", "error": "Account code '999' is not a valid code", "attempts": 3, "at": after}
    return _run(
        SYNC_STATE,
        {"invoices": source},
        {"invoices": landed, "org": ORG},
        settings=SyncSettings(window_days=30, stale_after_hours=48),
        history=History(last_synced_at=NOW - timedelta(days=5), failed_actions=[failed]),
    )


@DATA.add
def quickbooks_never_received_anything() -> Produced:
    waiting = [invoice("INV-1", day=date(2026, 5, 1)), invoice("INV-2", day=date(2026, 5, 2))]
    return _run(
        SYNC_STATE,
        {"invoices": waiting},
        {"invoices": [], "org": OrgInfo("9130350000000001", "Acme")},
        systems=("hubspot", "quickbooks"),
    )


@DATA.add
def quickbooks_copies_closed_or_paid() -> Produced:
    source = [
        invoice("INV-2", total="80.00", updated_at=NOW - timedelta(days=1)),
        invoice("INV-3", status=InvoiceStatus.PAID),
        invoice("INV-4", status=InvoiceStatus.VOID),
    ]
    landed = [
        invoice("INV-2", id="88", day=date(2026, 4, 20)),
        invoice("INV-3", id="89", total="100.00"),
        invoice("INV-4", id="90", status=InvoiceStatus.PAID),
    ]
    failed = {"number": "INV-9", "error": "Duplicate Name Exists Error <6240>", "attempts": 3, "at": None}
    return _run(
        SYNC_STATE,
        {"invoices": source},
        {"invoices": landed, "org": OrgInfo("9130350000000001", "Acme", lock_date=date(2026, 4, 30))},
        systems=("hubspot", "quickbooks"),
        history=History(last_synced_at=NOW - timedelta(hours=2), failed_actions=[failed]),
    )


@DATA.add
def xero_copy_voided_then_edited() -> Produced:
    source = [invoice("INV-3", total="50.00", updated_at=datetime(2026, 5, 19, 12, 0, tzinfo=UTC))]
    landed = [invoice("INV-3", id="x3", status=InvoiceStatus.VOID)]
    return _run(SYNC_STATE, {"invoices": source}, {"invoices": landed, "org": OrgInfo("o1", "Acme")})
