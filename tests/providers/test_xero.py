"""The Xero provider against the Xero emulator over real HTTP on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from providers import get_provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import (
    NotFound,
    RateLimited,
    RefreshFailed,
    Rejected,
    TenantError,
    TokenExpired,
    TokenRevoked,
    Unavailable,
    UnexpectedResponse,
)
from providers.http import CallStats, RetryPolicy, reset_limiters
from providers.records import (
    Address,
    Contact,
    Feature,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Item,
    TrackingRef,
)
from providers.xero import Xero
from providers.xero_wire import when
from sandbox.server import Sandbox
from sandbox.xero import XeroEmulator

ACME = "6a1c0e4e-0000-4000-8000-000000000001"
GLOBEX = "6a1c0e4e-0000-4000-8000-000000000002"
API = "/api.xro/2.0"


def xero_emulator(sandbox: Sandbox) -> XeroEmulator:
    emulator = sandbox.emulators["xero"]
    assert isinstance(emulator, XeroEmulator)
    return emulator


def tenant(tenant_id: str = ACME, name: str = "Acme Ltd", **extra: Any) -> dict[str, Any]:
    contacts: list[dict[str, Any]] = [{"Name": f"Customer {i}", "EmailAddress": f"c{i}@example.com"} for i in range(6)]
    contacts.append({"Name": "Gone Ltd", "ContactStatus": "ARCHIVED"})
    contacts.append(
        {
            "Name": "Bob Smith",
            "EmailAddress": "bob@example.com",
            "Addresses": [
                {"AddressType": "STREET", "AddressLine1": "9 Side St", "City": "Auckland"},
                {
                    "AddressType": "POBOX",
                    "AddressLine1": "1 Main St",
                    "City": "Auckland",
                    "PostalCode": "1010",
                    "Country": "NZ",
                },
            ],
        }
    )
    invoices = [
        {
            "InvoiceNumber": f"INV-{i:03d}",
            "Contact": {"Name": f"Customer {i % 6}"},
            "Date": f"2024-05-{i + 1:02d}",
            "DueDate": f"2024-06-{i + 1:02d}",
            "UpdatedDateUTC": f"2024-05-{i + 1:02d}T10:00:00",
            "Status": ["DRAFT", "SUBMITTED", "AUTHORISED", "VOIDED"][i % 4],
            "LineItems": [
                {
                    "ItemCode": "PROD-001",
                    "Quantity": 2,
                    "Tracking": [{"Name": "Region", "Option": "North"}],
                },
                {
                    "Description": "Labour",
                    "Quantity": 1,
                    "UnitAmount": 50,
                    "AccountCode": "260",
                    "TaxType": "NONE",
                },
            ],
        }
        for i in range(8)
    ]
    invoices.append(
        {
            "InvoiceNumber": "BILL-1",
            "Type": "ACCPAY",
            "Contact": {"Name": "Customer 1"},
            "Date": "2024-05-02",
        }
    )
    section: dict[str, Any] = {
        "id": tenant_id,
        "name": name,
        "organisation": {
            "BaseCurrency": "NZD",
            "CountryCode": "NZ",
            "Class": "STANDARD",
            "PeriodLockDate": "2024-01-31",
            "EndOfYearLockDate": "2023-03-31",
        },
        "currencies": ["AUD"],
        "contacts": contacts,
        "items": [
            {
                "Code": "PROD-001",
                "Name": "Widget",
                "SalesDetails": {"UnitPrice": 10, "AccountCode": "200", "TaxType": "OUTPUT"},
            },
            {"Code": "PROD-002", "Name": "Gadget"},
        ],
        "accounts": [
            {"Code": "090", "Name": "Bank", "Type": "BANK", "EnablePaymentsToAccount": True},
            {"Code": "200", "Name": "Sales", "Type": "REVENUE", "TaxType": "OUTPUT"},
            {"Code": "260", "Name": "Other Revenue", "Type": "REVENUE"},
            {"Code": "299", "Name": "Old Sales", "Type": "REVENUE", "Status": "ARCHIVED"},
        ],
        "tax_rates": [
            {"TaxType": "OUTPUT", "Name": "GST on Income", "EffectiveRate": 15},
            {"TaxType": "NONE", "Name": "No GST", "EffectiveRate": 0},
            {"TaxType": "TAX001", "Name": "Old rate", "EffectiveRate": 12.5, "Status": "ARCHIVED"},
        ],
        "tracking_categories": [
            {
                "Name": "Region",
                "Options": [{"Name": "North"}, {"Name": "South", "Status": "ARCHIVED"}],
            },
            {"Name": "Old", "Status": "ARCHIVED", "Options": [{"Name": "X"}]},
        ],
        "invoices": invoices,
        "payments": [
            {
                "Invoice": {"InvoiceNumber": "INV-002"},
                "Amount": 10,
                "Date": "2024-05-10",
                "Account": {"Code": "090"},
            },
            {"Invoice": {"InvoiceNumber": "INV-006"}, "Amount": 73, "Date": "2024-05-11"},
            {
                "Invoice": {"InvoiceNumber": "INV-002"},
                "Amount": 5,
                "Date": "2024-05-12",
                "Status": "DELETED",
            },
            {"Invoice": {"InvoiceNumber": "BILL-1"}, "Amount": 1, "Date": "2024-05-12"},
        ],
    }
    section.update(extra)
    return section


def world(
    *, tenants: list[dict[str, Any]] | None = None, principal: list[str] | None = None, **xero: Any
) -> dict[str, Any]:
    grant = {
        "access_token": "at-acme",
        "refresh_token": "rt-acme",
        "scopes": [
            "accounting.transactions",
            "accounting.contacts",
            "accounting.settings",
            "offline_access",
        ],
        "principal": principal or [ACME],
        **xero.pop("grant", {}),
    }
    return {
        "xero": {
            "grants": [grant],
            "tenants": tenants or [tenant()],
            "faults": {"retry_after": 0},
            **xero,
        }
    }


def credentials(expires_in: float = 1800, **changes: Any) -> Credentials:
    return Credentials(
        kind="oauth2",
        access_token="at-acme",
        refresh_token="rt-acme",
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
        scopes=(
            "accounting.transactions",
            "accounting.contacts",
            "accounting.settings",
            "offline_access",
        ),
        **changes,
    )


@pytest.fixture(autouse=True)
def _fresh_limiters() -> Iterator[None]:
    reset_limiters()
    yield
    reset_limiters()


@pytest.fixture
def sandbox_factory() -> Iterator[Any]:
    started: list[Sandbox] = []

    def start(w: dict[str, Any] | None = None) -> Sandbox:
        sb = Sandbox(w or world()).start()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.stop()


@pytest.fixture
def sandbox(sandbox_factory: Any) -> Sandbox:
    sb: Sandbox = sandbox_factory()
    return sb


def provider(
    sb: Sandbox,
    *,
    store: MemoryCredentialStore | None = None,
    tenant_id: str | None = ACME,
    page_size: int | None = 3,
    attempts: int = 3,
) -> Xero:
    p = get_provider(
        "xero",
        tenant=tenant_id,
        credentials=store or MemoryCredentialStore("acme/xero", credentials()),
        stats=CallStats(),
        overrides=sb.overrides("xero"),
        retry=RetryPolicy(attempts=attempts, backoff=0.01),
        page_size=page_size,
    )
    assert isinstance(p, Xero)
    return p


def calls(sb: Sandbox, method: str, resource: str) -> int:
    return sb.emulators["xero"].requests[f"{method} {API}/{resource}"]


# -- reads ------------------------------------------------------------------------------------


def test_contacts_page_through_every_page_archived_included(sandbox: Sandbox) -> None:
    contacts = provider(sandbox).contacts()
    assert len(contacts) == 8 and len({c.id for c in contacts}) == 8
    assert calls(sandbox, "GET", "Contacts") == 3  # 8 contacts, pageSize 3
    by_name = {c.name: c for c in contacts}
    assert by_name["Gone Ltd"].archived and not by_name["Customer 0"].archived
    assert by_name["Bob Smith"].address == Address(line1="1 Main St", city="Auckland", postcode="1010", country="NZ")
    assert by_name["Customer 2"].email == "c2@example.com"


def test_every_accounting_call_names_the_tenant(sandbox: Sandbox) -> None:
    p = provider(sandbox)
    (
        p.contacts(),
        p.items(),
        p.invoices(),
        p.accounts(),
        p.tax_rates(),
        p.tracking_categories(),
        p.payments(),
        p.org_info(),
    )
    log = sandbox.emulators["xero"].log
    accounting = [headers for _method, path, headers in log if path.startswith(API)]
    assert len(accounting) >= 12
    assert all(headers.get("xero-tenant-id") == ACME for headers in accounting)


def test_invoices_are_sales_only_paged_and_translated(sandbox: Sandbox) -> None:
    invoices = provider(sandbox).invoices()
    assert sorted(i.number or "" for i in invoices) == [f"INV-{i:03d}" for i in range(8)]  # no ACCPAY bill
    assert calls(sandbox, "GET", "Invoices") == 3
    by_number = {i.number: i for i in invoices}
    inv = by_number["INV-002"]
    assert (inv.status, inv.raw_status) == (InvoiceStatus.OPEN, "AUTHORISED")
    assert by_number["INV-000"].status is InvoiceStatus.DRAFT
    assert by_number["INV-001"].status is InvoiceStatus.OPEN  # SUBMITTED
    assert by_number["INV-003"].status is InvoiceStatus.VOID
    assert by_number["INV-006"].status is InvoiceStatus.PAID  # paid in full by a payment
    assert inv.issue_date == date(2024, 5, 3) and inv.due_date == date(2024, 6, 3)
    assert inv.currency == "NZD" and inv.contact_name == "Customer 2" and inv.contact_email == "c2@example.com"
    widget, labour = inv.lines
    assert widget.sku == "PROD-001" and widget.account_code == "200" and widget.tax_code == "OUTPUT"
    assert widget.tracking == (TrackingRef("Region", "North"),)
    assert widget.amount == Decimal(20) and labour.amount == Decimal(50)
    assert inv.subtotal == Decimal(70) and inv.tax == Decimal(3) and inv.total == Decimal(73)
    assert inv.amount_paid == Decimal(10) and inv.amount_due == Decimal(63)


def test_invoices_since_sends_if_modified_since(sandbox: Sandbox) -> None:
    invoices = provider(sandbox).invoices(since=date(2024, 5, 6))
    assert sorted(i.number or "" for i in invoices) == ["INV-005", "INV-006", "INV-007"]
    sent = [h for m, path, h in sandbox.emulators["xero"].log if path == f"{API}/Invoices"]
    assert sent[-1]["if-modified-since"].startswith("2024-05-06T00:00:00")


def test_find_invoice_uses_the_invoice_numbers_filter(sandbox: Sandbox) -> None:
    p = provider(sandbox)
    found = p.find_invoice("INV-004")
    assert found is not None and found.number == "INV-004"
    assert p.find_invoice("INV-404") is None
    assert p.find_invoice("BILL-1") is None  # a purchase bill is not a sales invoice
    assert calls(sandbox, "GET", "Invoices") == 3  # one call each


def test_payments_items_accounts_tax_tracking(sandbox: Sandbox) -> None:
    p = provider(sandbox, page_size=2)
    payments = p.payments()
    assert sorted((pay.invoice_number, pay.amount) for pay in payments) == [
        ("INV-002", Decimal(10)),
        ("INV-006", Decimal(73)),
    ]
    assert calls(sandbox, "GET", "Payments") == 2  # 4 payments on 2 pages; the deleted one and the bill's dropped
    assert payments[0].date == date(2024, 5, 10) and payments[0].currency == "NZD"
    items = {i.code: i for i in p.items()}
    assert items["PROD-001"].unit_price == Decimal(10) and items["PROD-001"].account_code == "200"
    assert items["PROD-002"].name == "Gadget"
    accounts = {a.code: a for a in p.accounts()}
    assert accounts["299"].status == "archived" and accounts["200"].type == "REVENUE"
    rates = {t.code: t for t in p.tax_rates()}
    assert rates["OUTPUT"].rate == Decimal(15) and rates["TAX001"].status == "archived"
    tracking = {t.name: t for t in p.tracking_categories()}
    assert tracking["Old"].status == "archived"
    assert [(o.name, o.status) for o in tracking["Region"].options] == [
        ("North", "active"),
        ("South", "archived"),
    ]


def test_org_info_plan_features_currencies_lock_date(sandbox_factory: Any) -> None:
    starter = tenant(
        organisation={
            "BaseCurrency": "AUD",
            "CountryCode": "AU",
            "Class": "STARTER",
            "IsDemoCompany": True,
            "PeriodLockDate": "2024-02-29",
            "EndOfYearLockDate": "2024-06-30",
        },
        actions={"UseMulticurrency": "NOT-ALLOWED"},
        currencies=[],
    )
    info = provider(sandbox_factory(world(tenants=[starter]))).org_info()
    assert (info.name, info.tenant_id, info.base_currency, info.country) == (
        "Acme Ltd",
        ACME,
        "AUD",
        "AU",
    )
    assert info.plan == "STARTER" and info.is_demo and not info.is_trial
    assert info.features_known and info.features == {Feature.TRACKING, Feature.APPROVE_INVOICES}
    assert info.currencies == {"AUD"}
    assert info.lock_date == date(2024, 6, 30)  # the later of the two lock dates
    assert info.monthly_invoice_limit == 20

    standard = provider(sandbox_factory(world())).org_info()
    assert standard.plan == "STANDARD" and standard.monthly_invoice_limit is None
    assert Feature.MULTICURRENCY in standard.features and standard.currencies == {"NZD", "AUD"}
    assert standard.lock_date == date(2024, 1, 31)


def test_trial_class_is_reported(sandbox_factory: Any) -> None:
    trial = tenant(organisation={"Class": "TRIAL", "BaseCurrency": "NZD"})
    assert provider(sandbox_factory(world(tenants=[trial]))).org_info().is_trial


def test_rate_headers_are_recorded(sandbox: Sandbox) -> None:
    p = provider(sandbox)
    p.items()
    status = p.stats.rate_status("xero")
    assert status.day_remaining == 4999 and status.minute_remaining == 59


def test_dates_parse_from_xero_json_and_iso() -> None:
    assert when("/Date(1539993600000+0000)/") == datetime(2018, 10, 20, tzinfo=UTC)
    assert when("/Date(1573755038314)/") == datetime(2019, 11, 14, 18, 10, 38, 314000, tzinfo=UTC)
    assert when("2018-10-20T00:00:00") == datetime(2018, 10, 20, tzinfo=UTC)
    assert when("2018-10-20") == datetime(2018, 10, 20, tzinfo=UTC)
    assert when("not a date") is None and when(None) is None


# -- tenancy ----------------------------------------------------------------------------------


def test_probe_reports_tenant_and_stored_scopes(sandbox: Sandbox) -> None:
    info = provider(sandbox).probe()
    assert info.tenant_id == ACME and info.tenant_name == "Acme Ltd"
    assert info.scopes is not None and "accounting.transactions" in info.scopes
    assert info.tenants_available == ((ACME, "Acme Ltd"),)


def test_probe_names_the_tenants_the_token_reaches_when_configured_one_is_missing(
    sandbox_factory: Any,
) -> None:
    sb = sandbox_factory(world(tenants=[tenant(), tenant(GLOBEX, "Globex Corp")], principal=[GLOBEX]))
    with pytest.raises(TenantError) as caught:
        provider(sb).probe()
    assert "Globex Corp" in caught.value.message and ACME in caught.value.message


def test_wrong_tenant_fault(sandbox_factory: Any) -> None:
    sb = sandbox_factory(world(tenants=[tenant(), tenant(GLOBEX, "Globex Corp")]))
    sb.emulators["xero"].faults.wrong_tenant = True
    p = provider(sb)
    with pytest.raises(TenantError) as caught:
        p.probe()
    assert "Globex Corp" in caught.value.message
    with pytest.raises(TenantError) as refused:
        p.items()
    assert refused.value.status == 403 and "AuthenticationUnsuccessful" in refused.value.message


def test_tenant_discovered_when_only_one_and_refused_when_ambiguous(sandbox_factory: Any) -> None:
    one = sandbox_factory(world())
    p = provider(one, tenant_id=None)
    assert len(p.items()) == 2 and p.tenant_id() == ACME
    two = sandbox_factory(world(tenants=[tenant(), tenant(GLOBEX, "Globex Corp")], principal=[ACME, GLOBEX]))
    with pytest.raises(TenantError) as caught:
        provider(two, tenant_id=None).items()
    assert "Acme Ltd" in caught.value.message and "Globex Corp" in caught.value.message


# -- tokens -----------------------------------------------------------------------------------


def test_twenty_concurrent_calls_on_an_expiring_token_refresh_once(sandbox: Sandbox) -> None:
    store = MemoryCredentialStore("acme/xero", credentials(expires_in=30))  # inside the refresh margin
    p = provider(sandbox, store=store)
    errors: list[Exception] = []
    barrier = threading.Barrier(20)

    def call() -> None:
        try:
            barrier.wait()
            assert len(p.items()) == 2
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    emulator = sandbox.emulators["xero"]
    assert errors == []
    assert emulator.tokens.refresh_calls == 1
    assert emulator.requests["POST /connect/token"] == 1
    saved = store.load()
    assert store.saves == 1 and saved is not None
    assert saved.refresh_token not in (None, "rt-acme") and saved.access_token != "at-acme"
    # The rotated refresh token is the live one: it refreshes again; the old one is dead.
    p.tokens.force_refresh()
    assert emulator.tokens.refresh_calls == 2
    assert emulator.tokens.refresh("rt-acme") is None


def test_invalid_grant_marks_the_connection_for_reauthorisation(sandbox_factory: Any) -> None:
    sb = sandbox_factory(world(grant={"revoked": True}))
    store = MemoryCredentialStore("acme/xero", credentials(expires_in=-60))
    with pytest.raises(RefreshFailed) as caught:
        provider(sb, store=store).items()
    assert caught.value.code == "invalid_grant"
    assert store.reauth_reason is not None and "invalid_grant" in store.reauth_reason


def test_revoked_access_token_with_dead_refresh_token(sandbox_factory: Any) -> None:
    sb = sandbox_factory(world(grant={"revoked": True}))
    store = MemoryCredentialStore("acme/xero", credentials())  # we believe the access token is fine
    with pytest.raises(RefreshFailed):
        provider(sb, store=store).items()  # 401 -> one refresh attempt -> invalid_grant
    assert store.reauth_reason is not None
    # The 401 the API answered first is Xero's revoked-token envelope:
    response = httpx.get(
        sb.url("xero") + f"{API}/Items",
        headers={"Authorization": "Bearer at-acme", "xero-tenant-id": ACME},
    )
    error = provider(sb).error_for(response)
    assert isinstance(error, TokenRevoked) and error.message == "AuthenticationUnsuccessful"


def test_expired_access_token_is_typed_with_xeros_detail(sandbox_factory: Any) -> None:
    # The token endpoint hands out tokens the API already considers expired (a clock skew):
    # refreshing once cannot help, so the second 401 surfaces.
    sb = sandbox_factory(world(grant={"expires_in": -10}, access_token_ttl=-60))
    with pytest.raises(TokenExpired) as caught:
        provider(sb).items()
    assert caught.value.message.startswith("TokenExpired: token expired at ")
    assert caught.value.status == 401


# -- faults -----------------------------------------------------------------------------------


def test_429_storm_and_5xx_neither_lose_nor_duplicate_a_page(sandbox: Sandbox) -> None:
    emulator = sandbox.emulators["xero"]
    emulator.faults.rate_limit_every = 2  # every second request answers 429
    emulator.faults.rate_limit_problem = "minute"
    p = provider(sandbox, page_size=2)
    invoices = p.invoices()
    assert sorted(i.number or "" for i in invoices) == [f"INV-{i:03d}" for i in range(8)]
    assert p.stats.throttled["xero"] == 3  # pages 2, 3 and 4 each met one 429
    assert p.stats.rate_status("xero").last_problem == "minute"

    emulator.faults.rate_limit_every = 0
    emulator.faults.server_errors = 2
    contacts = p.contacts()
    assert len(contacts) == 8 and len({c.id for c in contacts}) == 8


def test_rate_limited_when_the_storm_outlasts_the_retries(sandbox: Sandbox) -> None:
    emulator = sandbox.emulators["xero"]
    emulator.faults.rate_limit = 10
    emulator.faults.rate_limit_problem = "day"
    with pytest.raises(RateLimited) as caught:
        provider(sandbox, attempts=2).items()
    assert caught.value.limit == "day" and caught.value.retry_after == 0


def test_persistent_5xx_is_unavailable(sandbox: Sandbox) -> None:
    sandbox.emulators["xero"].faults.server_errors = 10
    with pytest.raises(Unavailable):
        provider(sandbox, attempts=1).items()


def test_garbage_body_is_unexpected_response(sandbox: Sandbox) -> None:
    sandbox.emulators["xero"].faults.garbage = 1
    with pytest.raises(UnexpectedResponse):
        provider(sandbox).items()


def test_emulator_minute_limit_answers_429_with_problem(sandbox_factory: Any) -> None:
    sb = sandbox_factory(world(minute_limit=2))
    response = None
    for _ in range(3):
        response = httpx.get(
            sb.url("xero") + f"{API}/Items",
            headers={"Authorization": "Bearer at-acme", "xero-tenant-id": ACME},
        )
    assert response is not None and response.status_code == 429
    assert response.headers["X-Rate-Limit-Problem"] == "minute" and int(response.headers["Retry-After"]) >= 1
    error = provider(sb).error_for(response)
    assert isinstance(error, RateLimited) and error.limit == "minute"


# -- writes -----------------------------------------------------------------------------------


def _invoice(number: str | None = "INV-900", **changes: Any) -> Invoice:
    fields: dict[str, Any] = {
        "id": "src-1",
        "number": number,
        "status": InvoiceStatus.OPEN,
        "currency": "NZD",
        "total": Decimal(23),
        "contact_name": "Customer 1",
        "issue_date": date(2024, 5, 20),
        "due_date": date(2024, 6, 20),
        "reference": "HS-1042",
        "lines": (
            InvoiceLine(
                description="Widget",
                sku="PROD-001",
                quantity=Decimal(2),
                unit_amount=Decimal(10),
                account_code="200",
                tax_code="OUTPUT",
                tracking=(TrackingRef("Region", "North"),),
            ),
        ),
    }
    fields.update(changes)
    return Invoice(**fields)


def test_push_invoice_creates_it_once_per_key(sandbox: Sandbox) -> None:
    p = provider(sandbox)
    emulator = xero_emulator(sandbox)
    before = len(emulator.org(ACME).invoices)
    first = p.push_invoice(_invoice(number=None), idempotency_key="push-1")
    again = p.push_invoice(_invoice(number=None), idempotency_key="push-1")
    # The repeat is Xero replaying the first answer: the same invoice, made once. Xero marks a
    # replay with no header, so both say the push made it.
    assert first.created and again.created
    assert first.id == again.id and first.number == again.number
    assert len(emulator.org(ACME).invoices) == before + 1
    pushed = p.find_invoice(first.number or "")
    assert pushed is not None and pushed.total == Decimal(23) and pushed.reference == "HS-1042"
    assert pushed.lines[0].tracking == (TrackingRef("Region", "North"),)
    sent = [h for m, path, h in emulator.log if m == "PUT"]
    assert all(h["idempotency-key"] == "push-1" and h["xero-tenant-id"] == ACME for h in sent)


def test_push_invoice_already_there_is_not_pushed_again(sandbox: Sandbox) -> None:
    p = provider(sandbox)
    created = p.push_invoice(_invoice(), idempotency_key="a")
    repeat = p.push_invoice(_invoice(), idempotency_key="b")  # e.g. resumed after the key expired
    assert created.created and not repeat.created and repeat.id == created.id
    assert calls(sandbox, "PUT", "Invoices") == 1


def test_push_invoice_survives_a_5xx(sandbox: Sandbox) -> None:
    sandbox.emulators["xero"].faults.server_errors = 1
    p = provider(sandbox)
    sandbox.emulators["xero"].faults.server_errors = 0
    p.find_invoice("warm-up")  # the look-up is not what we test here
    sandbox.emulators["xero"].faults.server_errors = 1
    result = p.push_invoice(_invoice(number=None), idempotency_key="k-5xx")
    assert result.created
    numbers = [i["InvoiceNumber"] for i in xero_emulator(sandbox).org(ACME).invoices]
    assert numbers.count(result.number) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "lines": (
                    InvoiceLine(
                        sku="NOPE-1",
                        quantity=Decimal(1),
                        unit_amount=Decimal(1),
                        account_code="200",
                    ),
                )
            },
            "Item code 'NOPE-1' is not valid.",
        ),
        (
            {"lines": (InvoiceLine(description="x", account_code="299"),)},
            "Account code '299' has been archived",
        ),
        (
            {"lines": (InvoiceLine(description="x", account_code="999"),)},
            "Account code '999' is not a valid code",
        ),
        ({"currency": "EUR"}, "Organisation is not subscribed to currency EUR"),
        (
            {"issue_date": date(2024, 1, 15)},
            "The document date cannot be before the period lock date",
        ),
        (
            {"lines": (InvoiceLine(description="x", account_code="200", tax_code="TAX001"),)},
            "The TaxType code 'TAX001'",
        ),
        (
            {
                "lines": (
                    InvoiceLine(
                        description="x",
                        account_code="200",
                        tracking=(TrackingRef("Region", "South"),),
                    ),
                )
            },
            "The tracking category 'Region' with option 'South' is not valid.",
        ),
    ],
)
def test_push_invoice_validation_errors_carry_xeros_message(
    sandbox: Sandbox, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(Rejected) as caught:
        provider(sandbox).push_invoice(_invoice(**changes), idempotency_key="v")
    assert caught.value.status == 400 and caught.value.code == "ValidationException"
    assert any(d.startswith(message) for d in caught.value.details)
    assert message in caught.value.message


def test_duplicate_invoice_number_is_refused_with_xeros_message(sandbox: Sandbox) -> None:
    p = provider(sandbox)
    body = {"Invoices": [{"Type": "ACCREC", "InvoiceNumber": "INV-001", "Contact": {"Name": "Customer 1"}}]}
    response = httpx.put(
        sandbox.url("xero") + f"{API}/Invoices",
        json=body,
        headers={"Authorization": "Bearer at-acme", "xero-tenant-id": ACME},
    )
    error = p.error_for(response)
    assert isinstance(error, Rejected) and error.details == ("Invoice # must be unique.",)


def test_invoice_cap_is_refused(sandbox_factory: Any) -> None:
    capped = tenant(invoice_cap=1)  # INV-002 and INV-006 are approved in May 2024 already
    p = provider(sandbox_factory(world(tenants=[capped])))
    with pytest.raises(Rejected) as caught:
        p.push_invoice(_invoice(), idempotency_key="cap")
    assert "You have reached the limit of invoices you can approve" in caught.value.details
    draft = p.push_invoice(_invoice(status=InvoiceStatus.DRAFT), idempotency_key="cap-draft")
    assert draft.created and draft.extra["status"] == "DRAFT"


def test_void_invoice_is_not_pushed(sandbox: Sandbox) -> None:
    with pytest.raises(Rejected):
        provider(sandbox).push_invoice(_invoice(status=InvoiceStatus.VOID), idempotency_key="void")
    assert calls(sandbox, "PUT", "Invoices") == 0


def test_create_contact_and_its_duplicate_name(sandbox: Sandbox) -> None:
    p = provider(sandbox)
    contact = Contact(
        id="src-c",
        name="New Customer",
        email="new@example.com",
        first_name="Nia",
        number="HS-77",
        address=Address(line1="2 Queen St", city="Auckland", postcode="1010", country="NZ"),
    )
    created = p.create_contact(contact, idempotency_key="c-1")
    assert created.created and created.number == "HS-77"
    again = p.create_contact(contact, idempotency_key="c-2")
    assert not again.created and again.id == created.id
    stored = next(c for c in p.contacts() if c.id == created.id)
    assert stored.email == "new@example.com" and stored.address is not None and stored.address.city == "Auckland"
    # Xero dedupes names across active contacts; a differently-cased name still collides.
    with pytest.raises(Rejected) as caught:
        p.create_contact(Contact(id="x", name="bob smith"), idempotency_key="c-3")
    assert caught.value.details == (
        (
            "The contact name bob smith is already assigned to another contact. "
            "The contact name must be unique across all active contacts."
        ),
    )


def test_create_item_once(sandbox: Sandbox) -> None:
    p = provider(sandbox)
    item = Item(
        id="src-i",
        code="PROD-003",
        name="Sprocket",
        unit_price=Decimal("4.5"),
        account_code="200",
        tax_code="OUTPUT",
    )
    created = p.create_item(item, idempotency_key="i-1")
    replay = p.create_item(item, idempotency_key="i-1")
    assert created.created and not replay.created and replay.id == created.id
    assert calls(sandbox, "PUT", "Items") == 1
    stored = {i.code: i for i in p.items()}["PROD-003"]
    assert stored.unit_price == Decimal("4.5") and stored.tax_code == "OUTPUT"
    with pytest.raises(Rejected) as caught:
        p.create_item(Item(id="x", code="PROD-004", name="Bad", account_code="299"), idempotency_key="i-2")
    assert "Account code '299' has been archived" in caught.value.message


def test_idempotency_key_replays_the_first_answer_even_after_a_change(sandbox: Sandbox) -> None:
    url = sandbox.url("xero") + f"{API}/Items"
    headers = {"Authorization": "Bearer at-acme", "xero-tenant-id": ACME, "Idempotency-Key": "same"}
    first = httpx.put(url, json={"Items": [{"Code": "K-1", "Name": "K"}]}, headers=headers)
    second = httpx.put(url, json={"Items": [{"Code": "K-1", "Name": "K"}]}, headers=headers)
    other = httpx.put(url, json={"Items": [{"Code": "K-2", "Name": "K"}]}, headers=headers)
    assert first.status_code == second.status_code == 200 and first.json() == second.json()
    assert "Idempotent-Replayed" not in second.headers  # Xero documents no replay header
    assert other.status_code == 400 and other.json()["Type"] == "ValidationException"
    codes = [i["Code"] for i in xero_emulator(sandbox).org(ACME).items]
    assert codes.count("K-1") == 1 and "K-2" not in codes


# -- error envelopes (pure mapping) -----------------------------------------------------------


def _response(
    status: int, body: Any = None, text: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    request = httpx.Request("GET", "https://api.xero.com/api.xro/2.0/Invoices", headers={"xero-tenant-id": ACME})
    if text is not None:
        return httpx.Response(status, text=text, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.fixture
def bare(sandbox: Sandbox) -> Xero:
    return provider(sandbox)


def test_error_envelopes_map_to_typed_errors(bare: Xero) -> None:
    expired = bare.error_for(
        _response(
            401,
            {
                "Title": "Unauthorized",
                "Status": 401,
                "Detail": "TokenExpired: token expired at 01/01/2001 00:00:00",
            },
        )
    )
    assert isinstance(expired, TokenExpired) and expired.code == "TokenExpired"
    forbidden = bare.error_for(
        _response(403, {"Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"})
    )
    assert isinstance(forbidden, TenantError) and ACME in forbidden.message
    invalid = bare.error_for(
        _response(
            400,
            {
                "ErrorNumber": 10,
                "Type": "ValidationException",
                "Message": "A validation exception occurred",
                "Elements": [
                    {
                        "ValidationErrors": [
                            {"Message": "Invoice # must be unique."},
                            {"Message": "Organisation is not subscribed to currency EUR"},
                        ]
                    }
                ],
            },
        )
    )
    assert isinstance(invalid, Rejected)
    assert invalid.details == (
        "Invoice # must be unique.",
        "Organisation is not subscribed to currency EUR",
    )
    assert isinstance(
        bare.error_for(_response(404, text="The resource you're looking for cannot be found")),
        NotFound,
    )
    limited = bare.error_for(_response(429, text="", headers={"Retry-After": "12", "X-Rate-Limit-Problem": "day"}))
    assert isinstance(limited, RateLimited) and limited.retry_after == 12 and limited.limit == "day"
    assert isinstance(bare.error_for(_response(503, text="<html>down</html>")), Unavailable)
    assert isinstance(bare.error_for(_response(400, text="<html>bad</html>")), UnexpectedResponse)
