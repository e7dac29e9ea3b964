"""HubSpot provider against its emulator over real HTTP on loopback."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import httpx
import pytest

from providers import get_provider, provider_class
from providers.base import Capability
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import (
    NotFound,
    RateLimited,
    RefreshFailed,
    Rejected,
    ScopeMissing,
    TenantError,
    TokenExpired,
    TokenRevoked,
    Unavailable,
    UnexpectedResponse,
    Unsupported,
)
from providers.http import CallStats, RateLimiter, RetryPolicy, reset_limiters
from providers.hubspot import HubSpot
from providers.records import Invoice, InvoiceStatus
from sandbox.hubspot import HubSpotEmulator
from sandbox.server import Sandbox

PORTAL = "4711"
CLIENT_ID, CLIENT_SECRET = "hs-client", "hs-secret"
READ_SCOPES = [
    "crm.objects.contacts.read",
    "crm.objects.products.read",
    "crm.objects.line_items.read",
    "crm.objects.invoices.read",
    "oauth",
]
PRIVATE_TOKEN = "pat-na1-00000000-test"


def _contacts(n: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {
            "id": str(i),
            "firstname": f"First{i}",
            "lastname": f"Last{i}",
            "email": f"c{i}@example.com",
            "company": f"Co {i}",
            "address": f"{i} Main St",
            "city": "Springfield",
            "zip": "12345",
            "country": "US",
        }
        for i in range(1, n + 1)
    ]
    found.append(
        {
            "id": "99",
            "firstname": "Gone",
            "lastname": "Away",
            "email": "gone@example.com",
            "archived": True,
        }
    )
    return found


def _invoices(n: int, *, start: datetime = datetime(2026, 3, 1, 9, tzinfo=UTC)) -> list[dict[str, Any]]:
    statuses = ["draft", "open", "paid", "voided"]
    return [
        {
            "id": str(100 + i),
            "number": f"INV-{1000 + i}",
            "status": statuses[i % 4],
            "currency": "USD",
            "modified": (start + timedelta(days=i)).isoformat(),
            "date": (start + timedelta(days=i)).date().isoformat(),
            "contact": str(1 + i % 3),
            "lines": [
                {"product": "10", "quantity": 2, "price": "25.00", "name": "Widget"},
                {"hs_sku": "AD-HOC", "quantity": 1, "price": "5.00", "name": "Delivery"},
            ],
        }
        for i in range(n)
    ]


def make_world(
    *,
    invoices: int = 5,
    scopes: list[str] | None = None,
    account_type: str = "STANDARD",
    **extra: Any,
) -> dict[str, Any]:
    section: dict[str, Any] = {
        "clients": {CLIENT_ID: CLIENT_SECRET},
        "grants": [
            {
                "access_token": "at-acme",
                "refresh_token": "rt-acme",
                "expires_in": 3600,
                "scopes": scopes if scopes is not None else READ_SCOPES,
                "principal": PORTAL,
            }
        ],
        "api_keys": [
            {
                "token": PRIVATE_TOKEN,
                "portal": PORTAL,
                "scopes": scopes if scopes is not None else READ_SCOPES,
            }
        ],
        "faults": {"retry_after": 0},
        "portals": {
            PORTAL: {
                "account": {
                    "accountType": account_type,
                    "companyCurrency": "USD",
                    "additionalCurrencies": ["EUR", "GBP"],
                    "timeZone": "US/Eastern",
                    "uiDomain": "app.hubspot.com",
                    "dataHostingLocation": "na1",
                    "utcOffset": "-05:00",
                },
                "hub_domain": "acme.example",
                "contacts": _contacts(5),
                "products": [
                    {"id": "10", "name": "Widget", "price": "25.00", "hs_sku": "PROD-001"},
                    {"id": "11", "name": "Gadget", "price": "40", "hs_sku": "prod-002"},
                    {"id": "12", "name": "No SKU", "price": "1"},
                    {
                        "id": "13",
                        "name": "Retired",
                        "price": "9",
                        "hs_sku": "OLD-1",
                        "archived": True,
                    },
                ],
                "invoices": _invoices(invoices),
            },
            "5150": {"account": {"accountType": "STANDARD", "companyCurrency": "EUR"}},
        },
    }
    section.update(extra)
    return {"hubspot": section}


def oauth_credentials(*, expires_in: float = 3600, refresh_token: str = "rt-acme") -> Credentials:
    return Credentials(
        kind="oauth2",
        access_token="at-acme",
        refresh_token=refresh_token,
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
        scopes=tuple(READ_SCOPES),
        tenant_id=PORTAL,
    )


def private_credentials(token: str = PRIVATE_TOKEN) -> Credentials:
    return Credentials(kind="api_key", api_key=token, tenant_id=PORTAL)


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    reset_limiters()
    yield
    reset_limiters()


@pytest.fixture
def sandbox() -> Iterator[Callable[..., Sandbox]]:
    started: list[Sandbox] = []

    def start(world: dict[str, Any] | None = None) -> Sandbox:
        box = Sandbox(world or make_world()).start()
        started.append(box)
        return box

    yield start
    for box in started:
        box.stop()


def connect(
    box: Sandbox,
    credentials: Credentials | None = None,
    *,
    cls: type[HubSpot] = HubSpot,
    tenant: str | None = PORTAL,
    page_size: int | None = None,
    token_path: str | None = None,
) -> tuple[HubSpot, MemoryCredentialStore, CallStats]:
    store = MemoryCredentialStore("acme/hubspot", credentials or oauth_credentials())
    stats = CallStats()
    overrides = box.overrides("hubspot")
    if token_path:
        overrides["token_url"] = box.url("hubspot") + token_path
    provider = get_provider(
        "hubspot",
        tenant=tenant,
        credentials=store,
        stats=stats,
        overrides=overrides,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        retry=RetryPolicy(backoff=0.01),
        page_size=page_size,
    )
    assert isinstance(provider, HubSpot)
    if cls is not HubSpot:  # a subclass overriding UNCONFIRMED constants, same wiring
        provider.close()
        provider = cls(provider.options, provider.tokens, stats)
    return provider, store, stats


def emulator(box: Sandbox) -> HubSpotEmulator:
    em = box.emulators["hubspot"]
    assert isinstance(em, HubSpotEmulator)
    return em


# -- registry and declared capabilities ----------------------------------------------------


def test_registry_and_capabilities_declared_not_faked(sandbox: Callable[..., Sandbox]) -> None:
    assert provider_class("hubspot") is HubSpot
    for lacking in (
        Capability.ACCOUNTS,
        Capability.TRACKING,
        Capability.PAYMENTS,
        Capability.PUSH_INVOICE,
    ):
        assert lacking not in HubSpot.capabilities
    provider, _, stats = connect(sandbox())
    with pytest.raises(Unsupported):
        provider.accounts()
    with pytest.raises(Unsupported):
        provider.payments()
    assert stats.calls["hubspot"] == 0


# -- reads --------------------------------------------------------------------------------


def test_contacts_follow_the_cursor_across_pages_and_flag_archived(
    sandbox: Callable[..., Sandbox],
) -> None:
    box = sandbox()
    provider, _, _ = connect(box, page_size=2)
    contacts = provider.contacts()
    assert [c.id for c in contacts] == ["1", "2", "3", "4", "5", "99"]
    assert [c.archived for c in contacts] == [False] * 5 + [True]
    first = contacts[0]
    assert (first.name, first.email, first.company) == ("First1 Last1", "c1@example.com", "Co 1")
    assert first.address is not None and first.address.is_complete()
    # 5 live contacts at 2 a page = 3 pages, then 1 page of archived ones
    assert emulator(box).requests["GET /crm/v3/objects/contacts"] == 4


def test_items_carry_sku_and_archived_products_are_inactive(
    sandbox: Callable[..., Sandbox],
) -> None:
    provider, _, _ = connect(sandbox())
    items = {i.id: i for i in provider.items()}
    assert items["10"].code == "PROD-001" and items["10"].unit_price == Decimal("25.00")
    assert items["11"].code == "prod-002"
    assert items["12"].code is None
    assert items["13"].active is False and all(items[i].active for i in ("10", "11", "12"))


def test_invoices_search_pages_and_batches_associations(sandbox: Callable[..., Sandbox]) -> None:
    box = sandbox(make_world(invoices=7))
    provider, _, stats = connect(box, page_size=2)
    invoices = provider.invoices()
    assert [i.number for i in invoices] == [f"INV-{1000 + n}" for n in range(7)]
    assert [i.status for i in invoices[:4]] == [
        InvoiceStatus.DRAFT,
        InvoiceStatus.OPEN,
        InvoiceStatus.PAID,
        InvoiceStatus.VOID,
    ]
    assert invoices[3].raw_status == "voided"
    first = invoices[0]
    assert first.currency == "USD" and first.issue_date == date(2026, 3, 1)
    assert (first.contact_id, first.contact_name, first.contact_email) == (
        "1",
        "First1 Last1",
        "c1@example.com",
    )
    assert [line.sku for line in first.lines] == [
        "PROD-001",
        "AD-HOC",
    ]  # the first via hs_product_id
    assert first.lines[0].item_id == "10" and first.lines[0].amount == Decimal(50)
    assert first.total == Decimal(55) == first.subtotal
    requests = emulator(box).requests
    assert requests["POST /crm/v3/objects/invoices/search"] == math.ceil(7 / 2)
    # one batch per 100 invoices, never one call per invoice
    assert requests["POST /crm/v4/associations/invoices/line_items/batch/read"] == 1
    assert requests["POST /crm/v4/associations/invoices/contacts/batch/read"] == 1
    assert requests["POST /crm/v3/objects/line_items/batch/read"] == 1
    assert requests["POST /crm/v3/objects/products/batch/read"] == 1
    assert requests["POST /crm/v3/objects/contacts/batch/read"] == 1
    assert stats.calls["hubspot"] == 4 + 5


def test_batches_split_at_the_batch_limit(sandbox: Callable[..., Sandbox]) -> None:
    class SmallBatches(HubSpot):
        BATCH_LIMIT = 3

    box = sandbox(make_world(invoices=7))
    provider, _, _ = connect(box, cls=SmallBatches)
    assert len(provider.invoices()) == 7
    requests = emulator(box).requests
    assert requests["POST /crm/v4/associations/invoices/line_items/batch/read"] == math.ceil(7 / 3)
    assert requests["POST /crm/v4/associations/invoices/contacts/batch/read"] == math.ceil(7 / 3)
    assert requests["POST /crm/v3/objects/line_items/batch/read"] == math.ceil(14 / 3)
    assert requests["POST /crm/v3/objects/contacts/batch/read"] == 1  # 3 distinct contacts


def test_since_selects_on_last_modified(sandbox: Callable[..., Sandbox]) -> None:
    provider, _, _ = connect(sandbox(make_world(invoices=6)))
    assert [i.number for i in provider.invoices(since=date(2026, 3, 4))] == [
        "INV-1003",
        "INV-1004",
        "INV-1005",
    ]


def test_search_rewindows_past_the_result_ceiling(sandbox: Callable[..., Sandbox]) -> None:
    class SmallCeiling(HubSpot):
        SEARCH_MAX_RESULTS = 4
        SEARCH_PER_SECOND = 100  # pacing has its own test; keep this one fast

    world = make_world(invoices=9, search_max_results=4)
    rows = world["hubspot"]["portals"][PORTAL]["invoices"]
    rows[4]["modified"] = rows[3]["modified"]  # a tie across the first window's edge
    box = sandbox(world)
    provider, _, _ = connect(box, cls=SmallCeiling, page_size=2)
    numbers = [str(i.number) for i in provider.invoices()]
    assert sorted(numbers) == sorted(f"INV-{1000 + n}" for n in range(9))
    assert len(numbers) == len(set(numbers)) == 9
    # a plain client would have run into the emulator's 400 at after=4
    reset_limiters()
    plain, _, _ = connect(box, page_size=2)
    with pytest.raises(Rejected, match="limited to 4"):
        plain.invoices()


def test_find_invoice_searches_by_number(sandbox: Callable[..., Sandbox]) -> None:
    box = sandbox()
    provider, _, _ = connect(box)
    found = provider.find_invoice("INV-1002")
    assert isinstance(found, Invoice) and found.id == "102" and found.status is InvoiceStatus.PAID
    assert provider.find_invoice("INV-9999") is None
    assert emulator(box).requests["POST /crm/v3/objects/invoices/search"] == 2


def test_invoice_property_names_are_configurable(sandbox: Callable[..., Sandbox]) -> None:
    class Renamed(HubSpot):
        INVOICE_PROPERTIES: ClassVar[Mapping[str, str]] = {
            **HubSpot.INVOICE_PROPERTIES,
            "status": "hs_status",
            "number": "hs_invoice_number",
        }

    box = sandbox(make_world(invoice_properties={"status": "hs_status", "number": "hs_invoice_number"}))
    plain, _, _ = connect(box)
    with pytest.raises(UnexpectedResponse, match="hs_invoice_status"):
        plain.invoices()
    renamed, _, _ = connect(box, cls=Renamed)
    assert [i.number for i in renamed.invoices()][:2] == ["INV-1000", "INV-1001"]


# -- faults -------------------------------------------------------------------------------


def test_429_and_5xx_are_survived_without_losing_a_page(sandbox: Callable[..., Sandbox]) -> None:
    box = sandbox(make_world(faults={"retry_after": 0, "rate_limit_every": 2, "server_errors": 1}))
    provider, _, stats = connect(box, page_size=2)
    contacts = provider.contacts()
    assert [c.id for c in contacts] == ["1", "2", "3", "4", "5", "99"]
    assert stats.throttled["hubspot"] >= 2
    assert stats.rate_status("hubspot").last_problem == "ten_secondly_rolling"


def test_twenty_concurrent_calls_on_an_expiring_token_refresh_once(
    sandbox: Callable[..., Sandbox],
) -> None:
    box = sandbox()
    provider, store, _ = connect(box, oauth_credentials(expires_in=30))  # inside the refresh margin
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: provider.items(), range(20)))
    assert all(len(r) == 4 for r in results)
    assert emulator(box).tokens.refresh_calls == 1
    assert store.saves == 1
    saved = store.load()
    assert saved is not None and saved.access_token != "at-acme"
    assert saved.refresh_token == "rt-acme"  # HubSpot keeps the refresh token (rotation off by default)


def test_access_token_rejected_early_refreshes_once_and_continues(
    sandbox: Callable[..., Sandbox],
) -> None:
    world = make_world()
    world["hubspot"]["grants"][0]["expires_in"] = -5  # dead on HubSpot's side, fresh in our store
    box = sandbox(world)
    provider, store, _ = connect(box)
    assert len(provider.contacts()) == 6
    assert emulator(box).tokens.refresh_calls == 1 and store.saves == 1


@pytest.mark.parametrize(
    ("token_path", "code"),
    # v3 answers in HubSpot's {category, message} envelope (VALIDATION_ERROR / INVALID_TOKEN),
    # v1 with its BAD_REFRESH_TOKEN status: both are a refresh token that will never work again.
    [("/oauth/v3/token", "INVALID_TOKEN"), ("/oauth/v1/token", "BAD_REFRESH_TOKEN")],
)
def test_dead_refresh_token_fails_and_marks_reauth(sandbox: Callable[..., Sandbox], token_path: str, code: str) -> None:
    box = sandbox()
    provider, store, _ = connect(box, oauth_credentials(expires_in=-60, refresh_token="rt-dead"), token_path=token_path)
    with pytest.raises(RefreshFailed) as caught:
        provider.contacts()
    assert caught.value.code == code
    assert store.reauth_reason is not None and code in store.reauth_reason


def test_missing_scope_names_the_scope(sandbox: Callable[..., Sandbox]) -> None:
    scopes = [s for s in READ_SCOPES if s != "crm.objects.invoices.read"]
    provider, _, _ = connect(sandbox(make_world(scopes=scopes)))
    with pytest.raises(ScopeMissing) as caught:
        provider.invoices()
    assert caught.value.needed == ("crm.objects.invoices.read",)
    assert "required scopes" in caught.value.message and caught.value.code == "MISSING_SCOPES"


def test_wrong_portal_is_a_tenant_error_naming_both(sandbox: Callable[..., Sandbox]) -> None:
    box = sandbox()
    provider, _, _ = connect(box, tenant="9999")
    with pytest.raises(TenantError) as caught:
        provider.probe()
    assert "4711" in str(caught.value) and "9999" in str(caught.value)
    emulator(box).faults.wrong_tenant = True
    right, _, _ = connect(box)
    with pytest.raises(TenantError, match="5150"):
        right.org_info()


def test_oauth_probe_and_org_info(sandbox: Callable[..., Sandbox]) -> None:
    box = sandbox()
    provider, _, _ = connect(box)
    info = provider.probe()
    assert (info.tenant_id, info.tenant_name, info.environment) == (PORTAL, "acme.example", "live")
    assert info.scopes == frozenset(READ_SCOPES)
    org = provider.org_info()
    assert (org.tenant_id, org.name, org.base_currency) == (PORTAL, "acme.example", "USD")
    assert org.currencies == frozenset({"USD", "EUR", "GBP"}) and org.features_known is False
    assert emulator(box).requests["POST /oauth/v3/token/introspect"] == 2


def test_private_app_token_works_and_scopes_stay_unknown(sandbox: Callable[..., Sandbox]) -> None:
    box = sandbox()
    provider, _, stats = connect(box, private_credentials())
    info = provider.probe()
    assert info.tenant_id == PORTAL and info.scopes is None and info.tenant_name is None
    assert provider.org_info().name == PORTAL  # no hub_domain without introspection
    assert len(provider.contacts()) == 6
    assert emulator(box).requests["POST /oauth/v3/token/introspect"] == 0
    rate = stats.rate_status("hubspot")
    assert rate.day_limit == 250_000 and rate.day_remaining is not None and rate.day_remaining < 250_000


def test_unknown_private_token_is_revoked(sandbox: Callable[..., Sandbox]) -> None:
    provider, _, _ = connect(sandbox(), private_credentials("pat-na1-unknown"))
    with pytest.raises(TokenRevoked) as caught:
        provider.probe()
    assert caught.value.code == "INVALID_AUTHENTICATION"


def test_sandbox_portal_is_a_test_environment(sandbox: Callable[..., Sandbox]) -> None:
    provider, _, _ = connect(sandbox(make_world(account_type="DEVELOPER_TEST")))
    assert provider.probe().environment == "test"
    assert provider.org_info().environment == "test"


def test_garbage_body_is_an_unexpected_response(sandbox: Callable[..., Sandbox]) -> None:
    provider, _, _ = connect(sandbox(make_world(faults={"retry_after": 0, "garbage": 1})))
    with pytest.raises(UnexpectedResponse, match="not JSON"):
        provider.items()


def test_daily_exhaustion_is_rate_limited_with_its_policy(sandbox: Callable[..., Sandbox]) -> None:
    box = sandbox(make_world(enforce_limits=True, limits={"daily": 1}))
    provider, _, stats = connect(box, private_credentials())
    with pytest.raises(RateLimited) as caught:
        provider.contacts()  # first page allowed, archived page over the daily limit
    assert caught.value.limit == "DAILY" and caught.value.code == "RATE_LIMITS"
    assert stats.rate_status("hubspot").last_problem == "day"


def test_create_contact_upserts_by_email(sandbox: Callable[..., Sandbox]) -> None:
    from providers.records import Contact

    box = sandbox(make_world(scopes=[*READ_SCOPES, "crm.objects.contacts.write"]))
    provider, _, _ = connect(box)
    new = Contact(
        id="x",
        name="Grace Hopper",
        email="grace@example.com",
        first_name="Grace",
        last_name="Hopper",
    )
    first = provider.create_contact(new, idempotency_key="k1")
    again = provider.create_contact(
        Contact(id="x", name="Grace Hopper", email="GRACE@example.com"), idempotency_key="k1"
    )
    assert first.created is True and again.created is False and again.id == first.id
    assert sum(c.email == "grace@example.com" for c in provider.contacts()) == 1
    existing = provider.create_contact(Contact(id="y", name="C1", email="c1@example.com"), idempotency_key="k2")
    assert existing.id == "1" and existing.created is False


# -- pure logic ---------------------------------------------------------------------------


def test_rolling_window_never_starts_more_than_its_limit_per_window() -> None:
    now = [0.0]
    starts: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    window = RateLimiter(None, 4, window=1.0, clock=lambda: now[0], sleep=sleep)  # HubSpot search: 4/s
    for _ in range(13):
        with window.slot():
            starts.append(now[0])
        now[0] += 0.05
    for i, start in enumerate(starts):
        assert sum(1 for s in starts[i:] if s - start < 1.0) <= 4
    assert starts[4] >= 1.0  # the fifth call waited for the window


def _bare_provider() -> HubSpot:
    store = MemoryCredentialStore("x/hubspot", private_credentials())
    provider = get_provider("hubspot", tenant=PORTAL, credentials=store, stats=CallStats())
    assert isinstance(provider, HubSpot)
    return provider


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "code"),
    [
        (
            401,
            {"status": "error", "message": "expired", "category": "EXPIRED_AUTHENTICATION"},
            {},
            TokenExpired,
            "EXPIRED_AUTHENTICATION",
        ),
        (
            429,
            {
                "status": "error",
                "message": "slow",
                "errorType": "RATE_LIMIT",
                "policyName": "TEN_SECONDLY_ROLLING",
            },
            {"Retry-After": "2"},
            RateLimited,
            "RATE_LIMIT",
        ),
        (
            404,
            {"status": "error", "message": "no such object", "category": "OBJECT_NOT_FOUND"},
            {},
            NotFound,
            "OBJECT_NOT_FOUND",
        ),
        (
            502,
            {"status": "error", "message": "bad gateway", "category": "INTERNAL_ERROR"},
            {},
            Unavailable,
            "INTERNAL_ERROR",
        ),
    ],
)
def test_error_envelope_mapping(
    status: int, body: dict[str, Any], headers: dict[str, str], kind: type, code: str
) -> None:
    provider = _bare_provider()
    error = provider.error_for(httpx.Response(status, json=body, headers=headers))
    assert isinstance(error, kind) and error.code == code and error.message == body["message"]
    if isinstance(error, RateLimited):
        assert error.retry_after == 2.0 and error.limit == "TEN_SECONDLY_ROLLING"


def test_rate_status_reads_interval_headers() -> None:
    provider = _bare_provider()
    rate = provider.rate_status(
        httpx.Response(
            200,
            json={},
            headers={
                "X-HubSpot-RateLimit-Max": "110",
                "X-HubSpot-RateLimit-Remaining": "7",
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            },
        )
    )
    assert rate is not None and rate.minute_remaining == 7 and rate.day_limit is None
    assert provider.rate_status(httpx.Response(200, json={})) is None
