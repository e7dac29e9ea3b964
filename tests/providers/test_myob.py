"""MYOB provider against its emulator over real HTTP on loopback: headers on every call, the
company file, OData paging, 403 RateLimitError as a rate limit, company-file sign-in, writes."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from providers import get_provider
from providers.base import Endpoints
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import (
    CredentialsMissing,
    RateLimited,
    Rejected,
    TenantError,
    TenantLoginRejected,
    TokenExpired,
    TokenRevoked,
    Unavailable,
)
from providers.http import CallStats, RetryPolicy
from providers.myob import Myob
from providers.records import Contact, Feature, Invoice, InvoiceLine, InvoiceStatus, Item, TrackingRef
from sandbox.myob import MyobEmulator, parse_filter
from sandbox.server import LoopbackServer

FILE = "5d4b1ce0-bb9f-4f4c-9578-2b168b7295db"
ESSENTIALS = "0e55e471-0000-4000-8000-00000000e551"
KEY = "myob-api-key"


def world(**over: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "clients": {KEY: "myob-secret"},
        "grants": [
            {"access_token": "at-my", "refresh_token": "rt-my", "expires_in": 1200, "principal": [FILE],
             "scopes": list(Myob.scopes_needed)},
            {"access_token": "at-ess", "refresh_token": "rt-ess", "expires_in": 1200, "principal": [ESSENTIALS]},
        ],
        "company_files": [
            {
                "id": FILE, "name": "Bluegum Plumbing", "country": "AU",
                "product_level": {"Code": 30, "Name": "Plus"},
                "subscription": {"IsTrial": False, "Product": {"Name": "AccountRight Plus", "DisplayName": "Plus"}},
                "requires_cftoken": True, "users": {"Administrator": "s3cret"},
                "preferences": {"CategoryTracking": "OnAndNotRequired", "LockPeriodPriorTo": "2024-04-01"},
                "currencies": ["AUD", "USD"],
                "accounts": [{"DisplayID": "4-1000", "Name": "Sales", "Type": "Income"},
                             {"DisplayID": "4-2000", "Name": "Old", "Type": "Income", "IsActive": False}],
                "jobs": [{"Number": "J100", "Name": "Harbour fit-out"}],
                "categories": [{"DisplayID": "C1", "Name": "North"}],
                "customers": [
                    {"CompanyName": "Oakridge Builders", "DisplayID": "CUS001",
                     "Addresses": [{"Email": "accounts@oakridge.example", "Street": "3 Ridge Rd", "City": "Brisbane",
                                    "PostCode": "4000", "Country": "AU"}]},
                    {"IsIndividual": True, "FirstName": "Jane", "LastName": "Smith", "IsActive": False},
                ],
                "items": [
                    {"Number": "PIPE-15", "Name": "Copper pipe 15mm", "BaseSellingPrice": 12.5,
                     "income_account": "4-1000", "tax_code": "GST"},
                    {"Number": "hws-250", "Name": "Hot water system", "BaseSellingPrice": 1899,
                     "income_account": "4-1000", "tax_code": "GST"},
                ],
                "invoices": [
                    {"Number": "00000101", "Date": "2024-05-01", "Customer": {"Name": "Oakridge Builders"},
                     "CustomerPurchaseOrderNumber": "stripe:in_1", "Category": {"Name": "North"},
                     "LastModified": "2024-05-01T10:00:00",
                     "Lines": [{"Item": {"Number": "PIPE-15"}, "ShipQuantity": 4, "UnitPrice": 12.5, "Total": 50,
                                "TaxCode": {"Code": "GST"}, "Job": {"Number": "J100"}}]},
                    {"layout": "Service", "Number": "00000102", "Date": "2024-05-20",
                     "Customer": {"Name": "Oakridge Builders"}, "LastModified": "2024-05-20T10:00:00",
                     "Lines": [{"Description": "Call-out", "Total": 99, "TaxCode": {"Code": "FRE"},
                                "Account": {"DisplayID": "4-1000"}}]},
                ],
                "payments": [{"Number": "00000101", "AmountReceived": 55, "Date": "2024-05-10"}],
            },
            {"id": ESSENTIALS, "name": "Umbrella Events", "country": "NZ", "ui_access_flags": 2,
             "product_level": {"Code": 10, "Name": "Basic"}},
        ],
    }  # fmt: skip
    section.update(over)
    return section


class Running:
    def __init__(self, section: dict[str, Any]) -> None:
        self.emulator = MyobEmulator(section)
        self.server = LoopbackServer(self.emulator.app).start()
        self.url = self.server.url

    def store(
        self, token: str = "at-my", refresh: str | None = "rt-my", *, tenant: str = FILE, **extra: Any
    ) -> MemoryCredentialStore:
        signed = extra.pop("sign_in", {"tenant_user": "Administrator", "tenant_password": "s3cret"})
        creds = Credentials(
            kind="oauth2",
            access_token=token,
            refresh_token=refresh,
            expires_at=datetime.now(UTC) + timedelta(seconds=float(extra.pop("expires_in", 1200))),
            scopes=tuple(extra.pop("scopes", Myob.scopes_needed)),
            tenant_id=tenant,
            extra=signed,
        )
        return MemoryCredentialStore("myob", creds)

    def provider(self, store: MemoryCredentialStore | None = None, *, tenant: str | None = FILE, **kw: Any) -> Myob:
        provider = get_provider(
            "myob",
            tenant=tenant,
            credentials=store or self.store(),
            stats=kw.pop("stats", CallStats()),
            overrides={"base_url": self.url, "token_url": self.url + "/oauth2/v1/authorize"},
            client_id=kw.pop("client_id", KEY),
            client_secret="myob-secret",
            retry=RetryPolicy(attempts=3, backoff=0.01, max_retry_after=2),
            **kw,
        )
        assert isinstance(provider, Myob)
        return provider


@pytest.fixture
def myob() -> Iterator[Running]:
    running = Running(world())
    yield running
    running.server.stop()


def test_every_call_carries_the_key_the_version_and_the_company_file_sign_in(myob: Running) -> None:
    myob.provider().probe()
    method, path, headers = myob.emulator.log[-1]
    assert (method, path) == ("GET", f"/accountright/{FILE}/")
    assert headers["x-myobapi-key"] == KEY and headers["x-myobapi-version"] == "v2"
    assert headers["authorization"] == "Bearer at-my"
    assert base64.b64decode(headers["x-myobapi-cftoken"]) == b"Administrator:s3cret"


def test_reads_every_resource_in_myobs_shape(myob: Running) -> None:
    p = myob.provider()
    assert p.probe().tenant_name == "Bluegum Plumbing"
    org = p.org_info()
    assert (org.base_currency, org.plan, org.country, org.is_trial) == ("AUD", "Plus", "AU", False)
    assert org.features == {Feature.MULTICURRENCY} and org.features_known
    assert org.lock_date == date(2024, 3, 31)  # locked *prior to* 1 April
    contacts = {c.name: c for c in p.contacts()}
    assert contacts["Oakridge Builders"].email == "accounts@oakridge.example"
    assert contacts["Jane Smith"].archived and contacts["Oakridge Builders"].number == "CUS001"
    items = {i.code: i for i in p.items()}
    assert items["PIPE-15"].account_code == "4-1000" and items["PIPE-15"].tax_code == "GST"
    assert {a.code: a.status for a in p.accounts()} == {"4-1000": "active", "4-2000": "archived"}
    assert {t.code: t.rate for t in p.tax_rates()}["GST"] == Decimal(10)
    tracking = {c.name: c for c in p.tracking_categories()}
    assert [o.name for o in tracking["Job"].options] == ["J100"] and tracking["Category"].status == "active"
    invoices = {i.number: i for i in p.invoices()}
    first = invoices["00000101"]
    assert first.total == Decimal("55") and first.amount_due == Decimal(0) and first.status is InvoiceStatus.PAID
    assert first.reference == "stripe:in_1"
    [line] = first.lines
    assert (line.sku, line.quantity, line.amount, line.tax_code) == ("PIPE-15", 4, Decimal(50), "GST")
    assert line.tracking == (TrackingRef("Job", "J100"), TrackingRef("Category", "North"))
    service = invoices["00000102"]
    assert service.status is InvoiceStatus.OPEN and service.lines[0].account_code == "4-1000"
    [payment] = p.payments()
    assert (payment.invoice_number, payment.amount, payment.currency) == ("00000101", Decimal(55), "AUD")
    assert [i.number for i in p.invoices(since=date(2024, 5, 15))] == ["00000102"]


def test_an_essentials_file_listing_no_foreign_currency_has_no_multicurrency(myob: Running) -> None:
    p = myob.provider(myob.store("at-ess", "rt-ess", tenant=ESSENTIALS, sign_in={}), tenant=ESSENTIALS)
    org = p.org_info()
    assert org.base_currency == "NZD" and org.features == frozenset() and org.features_known
    assert org.plan == "Basic" and org.lock_date is None


def test_paging_takes_the_fewest_pages_and_stops_on_the_last(myob: Running) -> None:
    cf = myob.emulator.file(FILE)
    base = cf.lists["Contact/Customer"][0]
    cf.lists["Contact/Customer"].extend({**base, "UID": f"c-{n}", "CompanyName": f"Co {n}"} for n in range(5))
    myob.emulator.requests.clear()
    assert len(myob.provider(page_size=3).contacts()) == 7
    assert myob.emulator.requests[f"GET /accountright/{FILE}/Contact/Customer"] == 3


def test_throttling_is_403_ratelimiterror_and_is_waited_out(myob: Running) -> None:
    stats = CallStats()
    p = myob.provider(stats=stats)
    myob.emulator.faults.rate_limit = 2
    assert p.accounts()  # two 403 RateLimitError answers, waited out a second each
    assert stats.rate_status("myob").throttled == 2
    myob.emulator.daily_limit = 0
    with pytest.raises(RateLimited) as caught:
        p.tax_rates()
    assert caught.value.status == 403 and caught.value.limit == "day" and caught.value.code == "RateLimitError"


def test_the_client_keeps_to_eight_calls_a_second_per_api_key(myob: Running) -> None:
    # Two providers (two company files) share the API key's limit: the ninth call of the same
    # second waits for the window instead of drawing a 403 from MYOB.
    first, second = myob.provider(), myob.provider()
    started = time.monotonic()
    for n in range(9):
        (first if n % 2 else second).tax_rates()  # outside a run nothing is memoised: one call each
    assert time.monotonic() - started >= 0.9


def test_company_file_sign_in_refused_or_missing_is_a_tenant_login_error(myob: Running) -> None:
    wrong = myob.store(sign_in={"tenant_user": "Administrator", "tenant_password": "nope"})
    with pytest.raises(TenantLoginRejected, match="user and password were refused"):
        myob.provider(wrong).probe()
    with pytest.raises(TenantLoginRejected, match="needs its own user sign-in"):
        myob.provider(myob.store(sign_in={})).probe()
    myob.emulator.cftoken_status = 403
    myob.emulator.cftoken_style = "bare"  # [{"Message": "Access denied"}]
    with pytest.raises(TenantLoginRejected):
        myob.provider(wrong).probe()


def test_a_file_the_token_was_not_granted_is_a_tenant_error(myob: Running) -> None:
    store = myob.store(tenant=FILE)
    with pytest.raises(TenantError, match=f"granted company file {FILE}, not the configured {ESSENTIALS}"):
        myob.provider(store, tenant=ESSENTIALS).probe()


def test_key_token_and_gateway_errors(myob: Running) -> None:
    with pytest.raises(TokenRevoked, match="API key was refused"):
        myob.provider(client_id="unknown-key").probe()
    with pytest.raises(CredentialsMissing, match="MYOB_CLIENT_ID"):
        myob.provider(client_id=None).probe()
    with pytest.raises(TokenExpired):
        myob.provider(myob.store("at-unknown", None)).probe()
    expired = myob.store(expires_in=-5)
    assert myob.provider(expired).probe()  # refreshed with the rotating refresh token
    creds = expired.load()
    assert creds is not None and creds.refresh_token != "rt-my" and creds.extra["tenant_user"] == "Administrator"
    myob.emulator.faults.server_error_status = 504
    myob.emulator.faults.server_errors = 10
    with pytest.raises(Unavailable, match="Connection to the API has timed out"):
        myob.provider().accounts()


def test_consent_must_pick_the_configured_file() -> None:
    endpoints = Myob.default_endpoints
    assert Myob.read_consent({"businessId": FILE, "businessName": "Bluegum"}, endpoints, FILE).tenant == FILE
    with pytest.raises(TenantError, match=r"Umbrella \(0e55e471-.*\), not the configured one"):
        Myob.read_consent({"businessId": ESSENTIALS, "businessName": "Umbrella"}, endpoints, FILE)
    assert Myob.read_consent({}, Endpoints(base_url="x"), FILE).tenant is None


def test_push_looks_the_number_up_first_and_posts_to_the_item_layout(myob: Running) -> None:
    p = myob.provider()
    oak = next(c for c in p.contacts() if c.name == "Oakridge Builders")
    again = Invoice(id="x", number="00000102", status=InvoiceStatus.OPEN, currency="AUD", total=Decimal(0))
    assert p.push_invoice(again, idempotency_key="k").created is False  # found in the Service layout
    new = Invoice(
        id="src", number="SD1001", status=InvoiceStatus.OPEN, currency="AUD", total=Decimal("27.5"),
        contact_id=oak.id, issue_date=date(2024, 6, 1), reference="stripe:in_9",
        lines=(InvoiceLine(description="Pipe", sku="PIPE-15", quantity=Decimal(2), unit_amount=Decimal("12.5"),
                           amount=Decimal(25), tracking=(TrackingRef("Job", "J100"), TrackingRef("Category", "North"))),),
    )  # fmt: skip
    made = p.push_invoice(new, idempotency_key="k2")
    assert made.created and made.number == "SD1001"
    stored = next(i for i in myob.emulator.file(FILE).lists["Sale/Invoice/Item"] if i["Number"] == "SD1001")
    assert stored["TotalAmount"] == 27.5 and stored["Lines"][0]["TaxCode"]["Code"] == "GST"  # the item's tax code
    assert stored["Category"]["Name"] == "North" and stored["Lines"][0]["Job"]["Number"] == "J100"
    assert p.push_invoice(new, idempotency_key="k3").created is False
    with pytest.raises(Rejected, match="no draft invoices"):
        p.push_invoice(Invoice(id="d", number="D1", status=InvoiceStatus.DRAFT, currency="AUD", total=Decimal(0)),
                       idempotency_key="k4")  # fmt: skip
    with pytest.raises(Rejected, match="longer than MYOB's 13"):
        p.push_invoice(Invoice(id="l", number="SD-0000000001X", status=InvoiceStatus.OPEN, currency="AUD",
                               total=Decimal(0)), idempotency_key="k5")  # fmt: skip
    locked = Invoice(id="o", number="SD1002", status=InvoiceStatus.OPEN, currency="AUD", total=Decimal(1),
                     contact_id=oak.id, issue_date=date(2024, 3, 1),
                     lines=(InvoiceLine(sku="PIPE-15", unit_amount=Decimal(1), amount=Decimal(1)),))  # fmt: skip
    with pytest.raises(Rejected) as caught:
        p.push_invoice(locked, idempotency_key="k6")
    assert caught.value.code == "DateInLockedPeriod" and caught.value.status == 400


def test_create_item_and_customer(myob: Running) -> None:
    p = myob.provider()
    assert p.create_item(Item(id="", code="PIPE-15", name="Pipe"), idempotency_key="i").created is False
    made = p.create_item(
        Item(id="", code="TAP-01", name="Mixer tap with a name longer than thirty", unit_price=Decimal(80),
             account_code="4-1000", tax_code="GST"), idempotency_key="i2")  # fmt: skip
    assert made.created and any(i.code == "TAP-01" and len(i.name) == 30 for i in p.items())
    with pytest.raises(Rejected) as caught:  # Numbers clash ignoring case in this world
        p.create_item(Item(id="", code="HWS-250", name="Hot water", account_code="4-1000"), idempotency_key="i3")
    assert caught.value.code == "DuplicateItemNumber"
    with pytest.raises(Rejected, match="needs an income account"):
        p.create_item(Item(id="", code="X-1", name="X"), idempotency_key="i4")
    assert p.create_contact(Contact(id="", name="Oakridge Builders"), idempotency_key="c").created is False
    new = p.create_contact(Contact(id="", name="Harbour Imports", email="ap@harbour.example"), idempotency_key="c2")
    assert new.created and any(c.name == "Harbour Imports" for c in p.contacts())


def test_the_emulators_filter_reads_odata() -> None:
    match = parse_filter("Number eq 'O''Neil' or (Date ge datetime'2024-05-01T00:00:00' and IsActive eq true)")
    assert match({"Number": "O'Neil"}) and match({"Date": "2024-06-01T00:00:00", "IsActive": True})
    assert not match({"Date": "2024-06-01T00:00:00", "IsActive": False})
