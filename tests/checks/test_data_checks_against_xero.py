"""Mapping, contact, SKU and sync-state checks and the invoice trace against the Xero emulator
over real HTTP on loopback (the HubSpot side is given as records)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from checks.contacts import check_contacts
from checks.context import RunContext, SideData
from checks.findings import Severity, blocked_invoices
from checks.mappings import check_mappings
from checks.skus import check_skus
from checks.sync_state import check_sync_state
from checks.trace import trace_invoice
from config.integrations import IntegrationConfig, Mappings, SideConfig, SyncSettings
from providers import get_provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.http import CallStats, RetryPolicy, reset_limiters
from providers.records import Contact, Invoice, InvoiceLine, InvoiceStatus
from sandbox.server import Sandbox

ACME = "6a1c0e4e-0000-4000-8000-0000000000b1"
SCOPES = ["accounting.transactions", "accounting.contacts", "accounting.settings", "offline_access"]
NOW = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)

WORLD: dict[str, Any] = {
    "xero": {
        "grants": [{"access_token": "at-b", "refresh_token": "rt-b", "scopes": SCOPES, "principal": [ACME]}],
        "faults": {"retry_after": 0},
        "tenants": [
            {
                "id": ACME,
                "name": "Acme Ltd",
                "organisation": {"BaseCurrency": "AUD", "CountryCode": "AU", "Class": "STANDARD"},
                "currencies": ["AUD"],
                "accounts": [{"Code": "200", "Name": "Sales", "Type": "REVENUE", "Status": "ACTIVE"}],
                "contacts": [{"Name": "Jane Doe", "EmailAddress": "jane@acme.com"}],
                "items": [
                    {"Code": "PROD-001", "Name": "Widget", "SalesDetails": {"UnitPrice": 50, "AccountCode": "200"}}
                ],
                "invoices": [
                    {
                        "InvoiceNumber": "INV-001",
                        "Type": "ACCREC",
                        "Contact": {"Name": "Jane Doe"},
                        "Date": "2024-05-02",
                        "Status": "AUTHORISED",
                        "CurrencyCode": "AUD",
                        "LineAmountTypes": "NoTax",
                        "LineItems": [
                            {
                                "Description": "Widget",
                                "Quantity": 1,
                                "UnitAmount": 50,
                                "ItemCode": "PROD-001",
                                "AccountCode": "200",
                            }
                        ],
                    },
                ],
            }
        ],
    }
}


@pytest.fixture(autouse=True)
def _fresh_limiters() -> Iterator[None]:
    reset_limiters()
    yield
    reset_limiters()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(WORLD).start()
    yield sb
    sb.stop()


def source_invoice(number: str, sku: str, email: str, amount: str = "50", day: date = date(2024, 5, 2)) -> Invoice:
    value = Decimal(amount)
    return Invoice(
        id=f"hs-{number}",
        number=number,
        status=InvoiceStatus.OPEN,
        currency="AUD",
        total=value,
        contact_id="hs-c1",
        contact_name="Jane Doe",
        contact_email=email,
        issue_date=day,
        lines=(InvoiceLine(description="Widget", sku=sku, quantity=Decimal(1), unit_amount=value, amount=value),),
    )


def run_ctx(sb: Sandbox, invoices: list[Invoice], contacts: list[Contact]) -> RunContext:
    creds = Credentials(
        kind="oauth2",
        access_token="at-b",
        refresh_token="rt-b",
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
        scopes=tuple(SCOPES),
    )
    provider = get_provider(
        "xero",
        tenant=ACME,
        credentials=MemoryCredentialStore("acme/xero", creds),
        stats=CallStats(),
        overrides=sb.overrides("xero"),
        retry=RetryPolicy(attempts=1, backoff=0.01),
    )
    integration = IntegrationConfig(
        name="acme",
        source=SideConfig("hubspot"),
        destination=SideConfig("xero", tenant=ACME),
        settings=SyncSettings(window_days=30),
        mappings=Mappings(default_account="200"),
    )
    return RunContext(
        integration=integration,
        source=SideData.preloaded("source", integration.source, invoices=invoices, contacts=contacts),
        destination=SideData("destination", integration.destination, provider, since=date(2024, 1, 1)),
        now=NOW,
    )


def test_healthy_sync_over_loopback(sandbox: Sandbox) -> None:
    jane = Contact("hs-c1", "Jane Doe", "jane@acme.com")
    ctx = run_ctx(sandbox, [source_invoice("INV-001", "PROD-001", "jane@acme.com")], [jane])
    for check in (check_mappings, check_contacts, check_skus, check_sync_state):
        assert [f for f in check(ctx) if f.severity >= Severity.WARN] == [], check.__name__
    trace = trace_invoice(ctx, "INV-001", [])
    assert trace.synced
    assert trace.verdict.startswith("INV-001 is in Xero as ")


def test_broken_invoice_found_explained_and_counted_once(sandbox: Sandbox) -> None:
    jane = Contact("hs-c1", "Jane Doe", " Jane@Acme.com")
    invoices = [
        source_invoice("INV-001", "PROD-001", " Jane@Acme.com"),
        source_invoice("INV-002", "PROD-0O1", " Jane@Acme.com", amount="75", day=date(2024, 5, 10)),
    ]
    ctx = run_ctx(sandbox, invoices, [jane])
    findings = [*check_mappings(ctx), *check_contacts(ctx), *check_skus(ctx), *check_sync_state(ctx)]
    codes = {f.code: f for f in findings}
    # nothing has landed since INV-001 (2 May) while INV-002 waits: the dead man's switch fires too
    assert set(codes) == {"contact.email_mismatch", "sku.missing", "sync.unsynced", "sync.stale"}
    assert codes["sku.missing"].evidence["suggestions"] == ["PROD-001"]
    assert codes["sku.missing"].action is not None
    assert codes["contact.email_mismatch"].evidence["destination_email"] == "jane@acme.com"
    assert codes["sync.unsynced"].impact.invoices == ("INV-002",)
    summary = blocked_invoices(findings)
    assert sorted(summary.invoices) == ["INV-001", "INV-002"]  # INV-002 under four causes, counted once
    assert summary.amounts == {"AUD": Decimal("125.00")}

    trace = trace_invoice(ctx, "INV-002", findings)
    assert not trace.copies
    assert {b["code"] for b in trace.blocking} == {
        "contact.email_mismatch",
        "sku.missing",
        "sync.unsynced",
        "sync.stale",
    }
    assert trace.verdict.startswith("INV-002 is not in Xero because ")
