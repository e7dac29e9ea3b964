"""Zoho Books provider against its emulator over real HTTP on loopback: data centres, the
organisation, paging, the per-invoice line reads and their quota, errors, limits, writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from providers import get_provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import (
    NotFound,
    RateLimited,
    RefreshFailed,
    RefreshThrottled,
    Rejected,
    TenantError,
    TokenExpired,
    UnexpectedResponse,
)
from providers.http import CallStats, RetryPolicy
from providers.records import Contact, Invoice, InvoiceLine, InvoiceStatus, Item, TrackingRef
from providers.zoho_books import ZohoBooks
from sandbox.server import LoopbackServer
from sandbox.zoho_books import ZohoBooksEmulator

ORG = "10234695"
OTHER = "20234695"
CLIENT = {"zb-client": "zb-secret"}


def world(**over: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "clients": CLIENT,
        "grants": [
            {"access_token": "at-zb", "refresh_token": "rt-zb", "expires_in": 3600, "principal": [ORG, OTHER],
             "scopes": list(ZohoBooks.scopes_needed)},
            {"access_token": "at-eu", "refresh_token": "rt-eu", "expires_in": 3600, "principal": ["30234695"],
             "dc": "eu"},
        ],
        "organizations": [
            {
                "organization_id": ORG,
                "name": "Zillum",
                "daily_limit": 1000,
                "organization": {"currency_code": "USD", "country_code": "US"},
                "currencies": ["USD", "EUR"],
                "taxes": [{"tax_name": "Sales Tax", "tax_percentage": 10}, {"tax_name": "Exempt", "tax_percentage": 0}],
                "accounts": [
                    {"account_name": "Sales", "account_code": "4000", "account_type": "income"},
                    {"account_name": "Old Sales", "account_code": "4100", "account_type": "income", "is_active": False},
                ],
                "tags": [{"tag_name": "Region", "options": ["North", "South"]}],
                "transaction_lock": {"transaction_lock_date": "2024-03-31"},
                "contacts": [
                    {"contact_name": "Acme Corp", "email": "ap@acme.test", "company_name": "Acme Corp"},
                    {"contact_name": "Old Co", "status": "inactive"},
                    {"contact_name": "Supplier Ltd", "contact_type": "vendor"},
                ],
                "items": [
                    {"name": "Widget", "sku": "PROD-001", "rate": 50, "account_name": "Sales", "tax_name": "Sales Tax"},
                    {"name": "Gadget", "sku": "prod-002", "rate": 30},
                    {"name": "Retired", "sku": "OLD-1", "rate": 5, "status": "inactive"},
                ],
                "invoices": [
                    {"invoice_number": "INV-1001", "customer_name": "Acme Corp", "date": "2024-04-02",
                     "reference_number": "hs:1001", "last_modified_time": "2024-04-02T10:00:00+0000",
                     "line_items": [{"sku": "PROD-001", "quantity": 2, "rate": 50, "tax_name": "Sales Tax",
                                     "tags": [{"tag_name": "Region", "tag_option_name": "North"}]}]},
                    {"invoice_number": "INV-1002", "customer_name": "Acme Corp", "date": "2024-05-01", "status": "draft",
                     "last_modified_time": "2024-05-01T10:00:00+0000",
                     "line_items": [{"sku": "prod-002", "quantity": 1, "rate": 30}]},
                    {"invoice_number": "INV-1003", "customer_name": "Acme Corp", "date": "2024-05-02",
                     "status": "void", "last_modified_time": "2024-05-02T10:00:00+0000",
                     "line_items": [{"sku": "PROD-001", "quantity": 1}]},
                ],
                "payments": [{"invoice_number": "INV-1001", "amount": 110, "date": "2024-04-10"}],
            },
            {"organization_id": OTHER, "name": "Globex"},
            {"organization_id": "30234695", "name": "Eurotech", "dc": "eu",
             "organization": {"currency_code": "EUR", "country_code": "DE"}},
        ],
    }  # fmt: skip
    section.update(over)
    return section


class Running:
    def __init__(self, section: dict[str, Any]) -> None:
        self.emulator = ZohoBooksEmulator(section)
        self.server = LoopbackServer(self.emulator.app).start()
        self.url = self.server.url

    def store(self, token: str = "at-zb", refresh: str | None = "rt-zb", **extra: Any) -> MemoryCredentialStore:
        creds = Credentials(
            kind="oauth2",
            access_token=token,
            refresh_token=refresh,
            expires_at=datetime.now(UTC) + timedelta(seconds=float(extra.pop("expires_in", 3600))),
            extra=extra.pop("home", {}),
            **extra,
        )
        return MemoryCredentialStore("zb", creds)

    def provider(self, store: MemoryCredentialStore | None = None, *, tenant: str | None = ORG, **kw: Any) -> ZohoBooks:
        provider = get_provider(
            "zoho_books",
            tenant=tenant,
            credentials=store or self.store(),
            stats=kw.pop("stats", CallStats()),
            overrides={"base_url": self.url, "token_url": f"{self.url}/oauth/v2/token"},
            client_id="zb-client",
            client_secret="zb-secret",
            retry=RetryPolicy(attempts=2, backoff=0.01, max_retry_after=2),
            **kw,
        )
        assert isinstance(provider, ZohoBooks)
        return provider


@pytest.fixture
def zoho() -> Iterator[Running]:
    running = Running(world())
    yield running
    running.server.stop()


def test_reads_every_resource_in_zohos_shape(zoho: Running) -> None:
    p = zoho.provider()
    info = p.probe()
    assert info.tenant_id == ORG and info.tenant_name == "Zillum"
    assert dict(info.tenants_available) == {ORG: "Zillum", OTHER: "Globex"}
    org = p.org_info()
    assert (org.name, org.base_currency, org.currencies, org.country) == ("Zillum", "USD", {"USD", "EUR"}, "US")
    assert org.lock_date == date(2024, 3, 31) and not org.features_known
    contacts = {c.name: c for c in p.contacts()}
    assert set(contacts) == {"Acme Corp", "Old Co"}  # vendors are not customers
    assert contacts["Old Co"].archived and contacts["Acme Corp"].email == "ap@acme.test"
    items = {i.code: i for i in p.items()}
    assert set(items) == {"PROD-001", "prod-002", "OLD-1"} and not items["OLD-1"].active
    assert items["PROD-001"].unit_price == Decimal("50") and items["PROD-001"].tax_code == "Sales Tax"
    assert {a.code: a.status for a in p.accounts()} == {"4000": "active", "4100": "archived"}
    assert {t.code for t in p.tax_rates()} == {"Sales Tax", "Exempt"}
    [region] = p.tracking_categories()
    assert region.name == "Region" and [o.name for o in region.options] == ["North", "South"]
    invoices = {i.number: i for i in p.invoices()}
    first = invoices["INV-1001"]
    assert first.status is InvoiceStatus.PAID and first.total == Decimal("110") and first.amount_due == 0
    [line] = first.lines
    assert (line.sku, line.quantity, line.amount, line.tax_code) == ("PROD-001", 2, Decimal("100"), "Sales Tax")
    assert line.tracking == (TrackingRef("Region", "North"),)
    assert invoices["INV-1002"].status is InvoiceStatus.DRAFT and invoices["INV-1003"].status is InvoiceStatus.VOID
    [payment] = p.payments()
    assert (payment.invoice_number, payment.amount) == ("INV-1001", Decimal("110"))


def test_invoice_lines_cost_one_call_each_and_since_filters_the_list(zoho: Running) -> None:
    p = zoho.provider(page_size=2)
    zoho.emulator.requests.clear()
    p.invoices()
    listed = zoho.emulator.requests["GET /books/v3/invoices"]
    details = sum(n for k, n in zoho.emulator.requests.items() if k.startswith("GET /books/v3/invoices/"))
    assert (listed, details) == (2, 3)  # two pages of two; one detail read per invoice
    assert [i.number for i in zoho.provider().invoices(since=date(2024, 5, 1))] == ["INV-1002", "INV-1003"]


def test_line_reads_that_would_eat_the_syncs_quota_are_refused(zoho: Running) -> None:
    zoho.emulator.org(ORG).used = 978  # another app spent most of today's 1,000
    with pytest.raises(RateLimited) as caught:
        zoho.provider().invoices()  # 22 left, the list page spends one: 21 - 3 lines < 20
    assert caught.value.code == "quota_reserve" and caught.value.limit == "day"
    assert "takes 3 calls" in caught.value.message and "leaves 20" in caught.value.message
    zoho.emulator.org(ORG).used = 970
    assert len(zoho.provider().invoices()) == 3  # 29 after the list: 26 after the lines


def test_quota_headers_feed_the_rate_status_and_a_spent_day_is_not_retried(zoho: Running) -> None:
    stats = CallStats()
    p = zoho.provider(stats=stats)
    p.probe()
    p.items()
    status = stats.rate_status("zoho_books")
    assert (status.day_limit, status.day_remaining) == (1000, 999)
    zoho.emulator.org(ORG).used = 1000
    zoho.emulator.requests.clear()
    with pytest.raises(RateLimited) as caught:
        p.accounts()
    assert caught.value.limit == "day" and caught.value.retry_after and caught.value.retry_after > 60
    assert zoho.emulator.requests["GET /books/v3/chartofaccounts"] == 1  # reported, not retried
    assert stats.rate_status("zoho_books").day_remaining == 0


def test_the_minute_limit_answers_429_and_is_retried(zoho: Running) -> None:
    zoho.emulator.minute_limit = 1
    p = zoho.provider(limits={"per_minute": None})
    p.probe()  # /organizations is not counted
    p.accounts()
    with pytest.raises(RateLimited) as caught:
        p.tax_rates()
    assert caught.value.limit == "minute" and caught.value.status == 429 and caught.value.code == "44"
    zoho.emulator.minute_limit = 100
    zoho.emulator.faults.rate_limit = 1
    zoho.emulator.faults.retry_after = 0.05
    assert p.tax_rates()  # a 429 with a short Retry-After is waited out


def test_a_configured_organisation_the_token_does_not_reach_is_one_tenant_error(zoho: Running) -> None:
    with pytest.raises(TenantError) as caught:
        zoho.provider(tenant="999").contacts()
    assert "does not reach the configured organisation 999" in caught.value.message
    assert "Zillum (10234695)" in caught.value.message
    with pytest.raises(TenantError, match="no organisation is configured"):
        zoho.provider(tenant=None).probe()


def test_the_api_domain_of_the_token_response_is_where_calls_go(zoho: Running) -> None:
    home = {"api_domain": f"{zoho.url}/eu", "token_url": f"{zoho.url}/eu/oauth/v2/token"}
    p = zoho.provider(zoho.store("at-eu", "rt-eu", home=home), tenant="30234695")
    assert p.probe().tenant_name == "Eurotech"
    assert zoho.emulator.requests["GET /eu/books/v3/organizations"] == 1
    # the same tokens at the US data centre are refused, the refresh token too
    wrong = zoho.provider(zoho.store("at-eu", "rt-eu"), tenant="30234695")
    with pytest.raises(RefreshFailed):
        wrong.probe()
    with pytest.raises(TokenExpired):
        zoho.provider(zoho.store("at-eu", None), tenant="30234695").probe()
    # an API domain that is not Zoho's (nor the configured host) is never called
    bad = zoho.provider(zoho.store(home={"api_domain": "https://evil.example"}))
    with pytest.raises(UnexpectedResponse, match="not Zoho's"):
        bad.probe()


def test_refresh_goes_to_the_stored_accounts_server_and_keeps_the_api_domain(zoho: Running) -> None:
    home = {"api_domain": f"{zoho.url}/eu", "token_url": f"{zoho.url}/eu/oauth/v2/token"}
    store = zoho.store("at-eu", "rt-eu", home=home, expires_in=-10)
    p = zoho.provider(store, tenant="30234695")
    assert p.org_info().base_currency == "EUR"
    creds = store.load()
    assert creds is not None and creds.access_token != "at-eu" and creds.refresh_token == "rt-eu"  # no rotation
    assert creds.extra["api_domain"] == f"{zoho.url}/eu" and creds.extra["token_url"].endswith("/eu/oauth/v2/token")


def test_the_refresh_limit_is_a_clear_error_and_a_dead_token_a_refresh_failure(zoho: Running) -> None:
    zoho.emulator.refresh_limit = 2
    for _ in range(2):
        store = zoho.store(expires_in=-10)
        zoho.provider(store).probe()
    with pytest.raises(RefreshThrottled) as caught:
        zoho.provider(zoho.store(expires_in=-10)).probe()
    assert caught.value.limit == "refresh" and caught.value.retry_after == 600
    assert "too many requests continuously" in caught.value.message
    dead = zoho.store(refresh="rt-unknown", expires_in=-10)
    with pytest.raises(RefreshFailed) as failed:
        zoho.provider(dead).probe()
    assert failed.value.code == "invalid_code" and dead.reauth_reason is not None


def test_errors_on_http_200_are_still_errors(zoho: Running) -> None:
    zoho.emulator.errors_on_200 = True
    p = zoho.provider()
    with pytest.raises(NotFound) as caught:
        p._invoice_detail({"invoice_id": "1"})
    assert caught.value.code == "1002" and caught.value.status == 200


def test_find_invoice_is_exact_and_cheap(zoho: Running) -> None:
    p = zoho.provider()
    p.probe()
    zoho.emulator.requests.clear()
    found = p.find_invoice("INV-1001")
    assert found is not None and found.lines and found.number == "INV-1001"
    assert sum(zoho.emulator.requests.values()) <= 3  # look-up, detail (+ the item list for SKUs)
    assert p.find_invoice("inv-1001") is None and p.find_invoice("INV-100") is None


def test_push_looks_the_number_up_first_then_creates_and_marks_it_sent(zoho: Running) -> None:
    p = zoho.provider()
    acme = next(c for c in p.contacts() if c.name == "Acme Corp")
    again = Invoice(id="x", number="INV-1001", status=InvoiceStatus.OPEN, currency="USD", total=Decimal(0))
    assert p.push_invoice(again, idempotency_key="k").created is False
    new = Invoice(
        id="src-1", number="SD-2001", status=InvoiceStatus.OPEN, currency="EUR", total=Decimal("55"),
        contact_id=acme.id, issue_date=date(2024, 6, 1), reference="stripe:in_1",
        lines=(InvoiceLine(description="Widget", sku="PROD-001", quantity=Decimal(1), unit_amount=Decimal(50),
                           amount=Decimal(50), tax_code="Sales Tax", account_code="4000",
                           tracking=(TrackingRef("Region", "South"),)),),
    )  # fmt: skip
    result = p.push_invoice(new, idempotency_key="k2")
    assert result.created and result.number == "SD-2001" and result.extra == {"status": "sent"}
    stored = next(i for i in zoho.emulator.org(ORG).invoices if i["invoice_number"] == "SD-2001")
    assert stored["status"] == "sent" and stored["currency_code"] == "EUR" and stored["total"] == 55.0
    assert stored["line_items"][0]["tags"][0]["tag_option_name"] == "South"
    assert p.push_invoice(new, idempotency_key="k3").created is False  # the look-up finds it
    locked = Invoice(id="s", number="SD-2002", status=InvoiceStatus.OPEN, currency="USD", total=Decimal(1),
                     contact_id=acme.id, issue_date=date(2024, 3, 1),
                     lines=(InvoiceLine(sku="PROD-001", unit_amount=Decimal(1), amount=Decimal(1)),))  # fmt: skip
    with pytest.raises(Rejected, match="on or before 2024-03-31 are locked"):
        p.push_invoice(locked, idempotency_key="k4")
    unknown = Invoice(id="u", number="SD-2003", status=InvoiceStatus.DRAFT, currency="USD", total=Decimal(1),
                      contact_id=acme.id, lines=(InvoiceLine(sku="NOPE"),))  # fmt: skip
    with pytest.raises(Rejected, match="no Zoho Books item has the SKU 'NOPE'"):
        p.push_invoice(unknown, idempotency_key="k5")


def test_create_item_and_contact_reuse_exact_matches(zoho: Running) -> None:
    p = zoho.provider()
    assert p.create_item(Item(id="", code="PROD-001", name="Widget"), idempotency_key="i").created is False
    made = p.create_item(
        Item(id="", code="PROD-009", name="New thing", unit_price=Decimal("9.5"), tax_code="Exempt",
             account_code="Sales"), idempotency_key="i2")  # fmt: skip
    assert made.created and made.number == "PROD-009"
    assert any(i.code == "PROD-009" for i in p.items())
    with pytest.raises(Rejected, match="The SKU prod-009 already exists"):
        p.create_item(Item(id="", code="prod-009", name="Other"), idempotency_key="i3")  # SKUs clash ignoring case
    assert p.create_contact(Contact(id="", name="Acme Corp"), idempotency_key="c").created is False
    contact = p.create_contact(Contact(id="", name="Hopper Labs", email="ap@hopper.test"), idempotency_key="c2")
    assert contact.created and any(c.name == "Hopper Labs" for c in p.contacts())
