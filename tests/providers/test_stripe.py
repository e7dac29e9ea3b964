"""The Stripe client against the Stripe emulator, over real HTTP on loopback."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from providers import get_provider
from providers.base import ProviderOptions
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import (
    Rejected,
    ScopeMissing,
    TenantError,
    TokenRevoked,
    UnexpectedResponse,
    WrongEnvironment,
)
from providers.http import CallStats, RetryPolicy, reset_limiters
from providers.oauth import TokenManager
from providers.records import Address, Contact, Invoice, InvoiceLine, InvoiceStatus, Item
from providers.stripe import STRIPE_VERSION, Stripe
from providers.stripe_wire import major_to_minor, minor_to_major
from sandbox.server import LoopbackServer
from sandbox.stripe import StripeEmulator, parse_form

DAY = 86400
T0 = 1_700_000_000  # 2023-11-14

WORLD: dict[str, Any] = {
    "api_keys": [
        {"key": "sk_test_acme0001", "account": "acct_acme"},
        {"key": "sk_live_acme0002", "account": "acct_acme"},
        {"key": "sk_test_gone0003", "account": "acct_acme", "revoked": True},
        {
            "key": "rk_test_ltd00004",
            "account": "acct_acme",
            "permissions": ["rak_customer_read", "rak_product_read", "rak_price_read", "rak_tax_rate_read"],
        },
        {"key": "sk_test_glob0005", "account": "acct_globex"},
        {"key": "rk_live_old00006", "account": "acct_acme", "expired": True},
    ],
    "invoice_lines_inline": 2,
    "faults": {"retry_after": 0},
    "accounts": {
        "acct_acme": {
            "business_name": "Acme Pty Ltd",
            "display_name": "Acme",
            "country": "AU",
            "default_currency": "aud",
            "customers": [
                {
                    "id": f"cus_{i}",
                    "name": f"Customer {i}",
                    "email": f"c{i}@acme.test",
                    "created": T0 + i,
                    "address": {"line1": f"{i} Main St", "city": "Sydney", "postal_code": "2000", "country": "AU"},
                }
                for i in range(1, 6)
            ]
            + [
                {"id": "cus_jp", "name": "Tanaka KK", "email": "ap@tanaka.test", "currency": "jpy", "created": T0 + 10},
                {"id": "cus_gone", "name": "Deleted Ltd", "deleted": True, "created": T0 + 11},
            ],
            "tax_rates": [
                {
                    "id": "txr_gst",
                    "display_name": "GST",
                    "percentage": 10,
                    "inclusive": False,
                    "jurisdiction": "AU",
                    "country": "AU",
                    "tax_type": "gst",
                }
            ],
            "products": [
                {
                    "id": "prod_a",
                    "name": "Widget",
                    "metadata": {"sku": "PROD-001", "code": "W1"},
                    "default_price": "price_a",
                    "created": T0,
                },
                {"id": "prod_b", "name": "Gadget", "metadata": {"sku": "prod-002"}, "active": False, "created": T0 + 1},
                {"id": "prod_c", "name": "Service", "created": T0 + 2},
            ],
            "prices": [
                {"id": "price_a", "product": "prod_a", "unit_amount": 1250, "currency": "aud", "created": T0},
                {"id": "price_b", "product": "prod_b", "unit_amount": 999, "currency": "aud", "created": T0 + 1},
                {"id": "price_jpy", "product": "prod_c", "unit_amount": 5000, "currency": "jpy", "created": T0 + 2},
            ],
            "invoices": [
                {
                    "id": "in_1",
                    "number": "ACME-0001",
                    "customer": "cus_1",
                    "status": "paid",
                    "created": T0 + 100,
                    "lines": [
                        {"price": "price_a", "quantity": 2, "tax_rates": ["txr_gst"]},
                        {"price": "price_b", "quantity": 1},
                        {"product": "prod_c", "unit_amount": 1234, "quantity": 1, "description": "Setup"},
                        {"price": "price_a", "quantity": 1},
                        {"amount": 500, "description": "Freight"},
                    ],
                },
                {"id": "in_2", "number": "ACME-0002", "customer": "cus_2", "status": "open", "created": T0 + 5 * DAY},
                {
                    "id": "in_3",
                    "number": "ACME-0003",
                    "customer": "cus_jp",
                    "status": "uncollectible",
                    "currency": "jpy",
                    "created": T0 + 6 * DAY,
                    "lines": [{"price": "price_jpy", "quantity": 3}],
                },
                {
                    "id": "in_4",
                    "customer": "cus_3",
                    "status": "draft",
                    "created": T0 + 7 * DAY,
                    "lines": [{"price": "price_a", "quantity": 1}],
                },
                {
                    "id": "in_5",
                    "number": "ACME-0005",
                    "customer": "cus_4",
                    "status": "void",
                    "created": T0 + 8 * DAY,
                    "lines": [{"price": "price_a", "quantity": 1}],
                },
            ],
        },
        "acct_globex": {"business_name": "Globex", "default_currency": "usd"},
    },
}


@pytest.fixture(autouse=True)
def _limiters() -> Iterator[None]:
    reset_limiters()
    yield
    reset_limiters()


def serve(**changes: Any) -> tuple[StripeEmulator, LoopbackServer]:
    section = copy.deepcopy(WORLD)
    section.update(changes)
    emulator = StripeEmulator(section)
    return emulator, LoopbackServer(emulator.app).start()


@pytest.fixture
def stripe() -> Iterator[tuple[StripeEmulator, str]]:
    emulator, server = serve()
    yield emulator, server.url
    server.stop()


def client(
    url: str,
    key: str = "sk_test_acme0001",
    *,
    tenant: str | None = "acct_acme",
    environment: str | None = "test",
    page_size: int | None = 2,
) -> Stripe:
    provider = get_provider(
        "stripe",
        tenant=tenant,
        credentials=MemoryCredentialStore("acme/stripe", Credentials(kind="api_key", api_key=key)),
        stats=CallStats(),
        overrides={"base_url": url},
        environment=environment,
        retry=RetryPolicy(backoff=0.01),
        page_size=page_size,
    )
    assert isinstance(provider, Stripe)
    return provider


# -- reads ----------------------------------------------------------------------------------


def test_probe_names_the_account_and_mode(stripe: tuple[StripeEmulator, str]) -> None:
    emulator, url = stripe
    info = client(url).probe()
    assert (info.tenant_id, info.tenant_name, info.environment) == ("acct_acme", "Acme Pty Ltd", "test")
    assert info.permissions is None  # a secret key: every permission
    sent = emulator.received[-1]
    assert sent.headers["stripe-version"] == STRIPE_VERSION == "2023-08-16"
    assert sent.headers["authorization"] == "Bearer sk_test_acme0001"


def test_org_info_has_no_plan_and_upper_case_currency(stripe: tuple[StripeEmulator, str]) -> None:
    _, url = stripe
    org = client(url, "sk_live_acme0002", environment="live").org_info()
    assert org.base_currency == "AUD"
    assert org.features_known is False and org.plan is None
    assert org.environment == "live" and org.country == "AU"


def test_contacts_follow_cursors_and_skip_deleted(stripe: tuple[StripeEmulator, str]) -> None:
    emulator, url = stripe
    contacts = client(url).contacts()
    assert [c.id for c in contacts] == ["cus_jp", "cus_5", "cus_4", "cus_3", "cus_2", "cus_1"]  # newest first
    assert emulator.requests["GET /v1/customers"] == 3  # 6 customers at limit=2
    first = contacts[-1]
    assert first.email == "c1@acme.test" and first.address == Address("1 Main St", "Sydney", None, "2000", "AU")
    assert contacts[0].currency == "JPY"
    cursors = [dict(r.query).get("starting_after") for r in emulator.received if r.path == "/v1/customers"]
    assert cursors == [None, "cus_5", "cus_3"]


def test_items_read_sku_from_metadata_and_price_in_major_units(stripe: tuple[StripeEmulator, str]) -> None:
    _, url = stripe
    items = {i.id: i for i in client(url).items()}
    assert items["prod_a"] == Item(
        id="prod_a", code="PROD-001", name="Widget", active=True, unit_price=Decimal("12.50")
    )
    assert items["prod_b"].active is False and items["prod_b"].code == "prod-002"
    assert items["prod_b"].unit_price == Decimal("9.99")  # only active price: used
    assert items["prod_c"].code is None and items["prod_c"].unit_price == Decimal(5000)  # JPY: not divided


def test_sku_metadata_key_is_configurable(stripe: tuple[StripeEmulator, str]) -> None:
    _, url = stripe
    base = client(url)
    options = ProviderOptions(
        tenant="acct_acme",
        endpoints=base.options.endpoints,
        limits=base.options.limits,
        retry=RetryPolicy(backoff=0.01),
    )
    provider = Stripe(
        options,
        TokenManager(MemoryCredentialStore("k", Credentials(kind="api_key", api_key="sk_test_acme0001")), None),
        CallStats(),
        sku_key="code",
    )
    assert {i.id: i.code for i in provider.items()} == {"prod_a": "W1", "prod_b": None, "prod_c": None}


@pytest.mark.parametrize("shape", ["2023-08-16", "basil"])
def test_invoices_in_both_line_shapes(shape: str) -> None:
    emulator, server = serve(invoice_line_shape=shape)
    try:
        invoices = {i.id: i for i in client(server.url).invoices()}
    finally:
        server.stop()
    assert list(invoices) == ["in_5", "in_4", "in_3", "in_2", "in_1"]
    paid = invoices["in_1"]
    assert (paid.number, paid.status, paid.raw_status, paid.currency) == (
        "ACME-0001",
        InvoiceStatus.PAID,
        "paid",
        "AUD",
    )
    assert (paid.contact_id, paid.contact_name, paid.contact_email) == ("cus_1", "Customer 1", "c1@acme.test")
    # 2 x 12.50 (+10% GST) + 9.99 + 12.34 + 12.50 + 5.00 = 64.83 before tax, 2.50 tax
    assert paid.subtotal == Decimal("64.83") and paid.tax == Decimal("2.50") and paid.total == Decimal("67.33")
    assert paid.amount_paid == Decimal("67.33")
    assert [
        (line.sku, line.item_id, line.quantity, line.unit_amount, line.amount, line.tax_code) for line in paid.lines
    ] == [
        ("PROD-001", "prod_a", 2, Decimal("12.50"), Decimal("25.00"), "txr_gst"),
        ("prod-002", "prod_b", 1, Decimal("9.99"), Decimal("9.99"), None),
        (None, "prod_c", 1, Decimal("12.34"), Decimal("12.34"), None),
        ("PROD-001", "prod_a", 1, Decimal("12.50"), Decimal("12.50"), None),
        (None, None, 1, Decimal("5.00"), Decimal("5.00"), None),
    ]
    assert paid.lines[2].description == "Setup" and paid.lines[0].description == "Widget"
    # 5 lines, 2 inline: the rest came from /lines with limit=2 -> 2 more pages
    assert emulator.requests["GET /v1/invoices/in_1/lines"] == 2
    jpy = invoices["in_3"]
    assert jpy.currency == "JPY" and jpy.total == Decimal(15000) and jpy.lines[0].unit_amount == Decimal(5000)
    assert jpy.status is InvoiceStatus.VOID and jpy.raw_status == "uncollectible"
    assert invoices["in_4"].status is InvoiceStatus.DRAFT and invoices["in_4"].number is None
    assert invoices["in_2"].lines == () and invoices["in_2"].total == Decimal(0)


def test_invoices_since_sends_created_gte(stripe: tuple[StripeEmulator, str]) -> None:
    from datetime import UTC, datetime

    emulator, url = stripe
    since = datetime.fromtimestamp(T0 + 6 * DAY, tz=UTC).date()
    found = client(url).invoices(since=since)
    assert [i.id for i in found] == ["in_5", "in_4", "in_3"]
    query = dict(next(r.query for r in emulator.received if r.path == "/v1/invoices"))
    assert int(query["created[gte]"]) <= T0 + 6 * DAY and query["limit"] == "2"


def test_tax_rates(stripe: tuple[StripeEmulator, str]) -> None:
    _, url = stripe
    [gst] = client(url).tax_rates()
    assert (gst.code, gst.name, gst.rate, gst.status) == ("txr_gst", "GST (AU)", Decimal("10.0"), "active")


def test_minor_units() -> None:
    assert minor_to_major(1234, "aud") == Decimal("12.34")
    assert minor_to_major(1234, "JPY") == Decimal(1234)
    assert minor_to_major(1500, "kwd") == Decimal("1.500")
    assert minor_to_major("1234.5", "usd") == Decimal("12.345")
    assert major_to_minor(Decimal("12.34"), "AUD") == 1234 and major_to_minor(Decimal(300), "jpy") == 300


def test_bracket_form_parsing() -> None:
    parsed = parse_form(
        [
            ("metadata[sku]", "A"),
            ("tax_rates[0]", "t1"),
            ("tax_rates[1]", "t2"),
            ("expand[]", "x"),
            ("price_data[unit_amount]", "5"),
            ("name", "N"),
        ]
    )
    assert parsed == {
        "metadata": {"sku": "A"},
        "tax_rates": ["t1", "t2"],
        "expand": ["x"],
        "price_data": {"unit_amount": "5"},
        "name": "N",
    }


# -- writes ---------------------------------------------------------------------------------


def test_create_contact_is_idempotent(stripe: tuple[StripeEmulator, str]) -> None:
    emulator, url = stripe
    provider = client(url)
    contact = Contact(id="", name="New Co", email="ap@new.test", address=Address("1 Road", "Perth", "WA", "6000", "AU"))
    first = provider.create_contact(contact, idempotency_key="act-1")
    again = provider.create_contact(contact, idempotency_key="act-1")
    assert first.id == again.id and first.created is True and again.created is False
    assert len(emulator.accounts["acct_acme"].store["customers"]) == 8
    created = next(c for c in provider.contacts() if c.id == first.id)
    assert created.address == Address("1 Road", "Perth", "WA", "6000", "AU")
    with pytest.raises(Rejected) as e:
        provider.create_contact(Contact(id="", name="Other Co"), idempotency_key="act-1")
    assert e.value.code == "idempotency_error" and "same parameters" in e.value.message
    assert len(emulator.accounts["acct_acme"].store["customers"]) == 8
    posts = [r for r in emulator.received if r.method == "POST"]
    assert {r.headers["idempotency-key"] for r in posts} == {"act-1"}


def test_create_item_puts_the_sku_in_metadata(stripe: tuple[StripeEmulator, str]) -> None:
    _, url = stripe
    provider = client(url)
    result = provider.create_item(
        Item(id="", code="PROD-009", name="Bolt", unit_price=Decimal("3.30")), idempotency_key="i-1"
    )
    item = next(i for i in provider.items() if i.id == result.id)
    assert (item.code, item.name, item.unit_price, item.active) == ("PROD-009", "Bolt", Decimal("3.30"), True)


def test_push_invoice_resumes_without_duplicates(stripe: tuple[StripeEmulator, str]) -> None:
    emulator, url = stripe
    provider = client(url)
    invoice = Invoice(
        id="src-1",
        number="HS-1042",
        status=InvoiceStatus.OPEN,
        currency="AUD",
        total=Decimal("27.50"),
        contact_id="cus_2",
        lines=(
            InvoiceLine(
                description="Widget",
                quantity=Decimal(2),
                unit_amount=Decimal("12.50"),
                amount=Decimal("25.00"),
                tax_code="txr_gst",
            ),
        ),
    )
    first = provider.push_invoice(invoice, idempotency_key="push-1")
    again = provider.push_invoice(invoice, idempotency_key="push-1")
    assert first.id == again.id and again.created is False
    store = emulator.accounts["acct_acme"].store
    assert len(store["invoices"]) == 6 and len(store["invoiceitems"]) == 1
    found = provider.find_invoice("HS-1042")
    assert found is not None and found.id == first.id and found.status is InvoiceStatus.DRAFT
    assert found.total == Decimal("27.50") and found.lines[0].tax_code == "txr_gst"


def test_item_on_a_finalised_invoice_is_rejected(stripe: tuple[StripeEmulator, str]) -> None:
    _, url = stripe
    with pytest.raises(Rejected) as e:
        client(url)._post(
            "/v1/invoiceitems", {"customer": "cus_1", "invoice": "in_1", "currency": "aud", "unit_amount": "100"}, "k-1"
        )
    assert e.value.code == "invoice_not_editable" and e.value.details and e.value.details[0].startswith("invoice:")


# -- faults and failures --------------------------------------------------------------------


def test_429s_are_waited_out_without_losing_a_page(stripe: tuple[StripeEmulator, str]) -> None:
    emulator, url = stripe
    emulator.faults.rate_limit_every = 2  # every second request: the retries land on odd ones
    provider = client(url)
    assert len(provider.contacts()) == 6
    assert provider.stats.throttled["stripe"] >= 2


class FailSecondPageOnce:
    """Network-edge wrapper: the first request for a later page gets the emulator's 503."""

    def __init__(self, emulator: StripeEmulator) -> None:
        self.emulator, self.armed = emulator, True

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.armed and b"starting_after" in scope.get("query_string", b""):
            self.armed = False
            self.emulator.faults.server_errors = 1
        await self.emulator.app(scope, receive, send)


def test_5xx_on_a_later_page_is_retried() -> None:
    emulator = StripeEmulator(copy.deepcopy(WORLD))
    server = LoopbackServer(FailSecondPageOnce(emulator)).start()
    try:
        assert [c.id for c in client(server.url).contacts()][-1] == "cus_1"
    finally:
        server.stop()
    cursors = [dict(r.query).get("starting_after") for r in emulator.received if r.path == "/v1/customers"]
    assert cursors == [None, "cus_5", "cus_3"]  # the failed request never reached the handler
    assert emulator.requests["GET /v1/customers"] == 4


def test_garbage_body_is_an_unexpected_response(stripe: tuple[StripeEmulator, str]) -> None:
    emulator, url = stripe
    emulator.faults.garbage = 1
    with pytest.raises(UnexpectedResponse):
        client(url).probe()


@pytest.mark.parametrize(
    ("key", "message", "code"),
    [
        ("sk_test_gone0003", "Invalid API Key provided: sk_test_", "invalid_request_error"),
        ("rk_live_old00006", "Expired API Key provided: rk_live_", "api_key_expired"),
        ("sk_test_unknown7", "Invalid API Key provided: sk_test_", "invalid_request_error"),
    ],
)
def test_dead_key_is_token_revoked_with_stripes_message(
    stripe: tuple[StripeEmulator, str], key: str, message: str, code: str
) -> None:
    _, url = stripe
    with pytest.raises(TokenRevoked) as e:
        client(url, key, environment=None).contacts()
    assert e.value.message.startswith(message)
    assert key not in str(e.value)  # Stripe echoes the key redacted
    assert e.value.status == 401 and e.value.code == code


def test_restricted_key_without_a_permission_is_scope_missing(stripe: tuple[StripeEmulator, str]) -> None:
    _, url = stripe
    provider = client(url, "rk_test_ltd00004")
    with pytest.raises(ScopeMissing) as e:
        provider.invoices()
    assert e.value.needed == ("rak_invoice_read",) and e.value.status == 403
    assert "acct_acme" in e.value.message
    info = provider.probe()
    assert info.permissions == frozenset(
        {"rak_customer_read", "rak_product_read", "rak_price_read", "rak_tax_rate_read"}
    )
    assert set(Stripe.scopes_needed) - info.permissions == {"rak_invoice_read"}
    assert len(provider.contacts()) == 6  # what it may read still works


def test_test_key_on_a_live_integration_is_wrong_environment(stripe: tuple[StripeEmulator, str]) -> None:
    _, url = stripe
    with pytest.raises(WrongEnvironment) as e:
        client(url, "sk_test_acme0001", environment="live").probe()
    assert (e.value.actual, e.value.expected) == ("test", "live")
    assert "test-mode secret key" in e.value.message and "live mode" in e.value.message
    assert "acme0001" not in e.value.message


def test_key_of_another_account_is_a_tenant_error(stripe: tuple[StripeEmulator, str]) -> None:
    _, url = stripe
    with pytest.raises(TenantError) as e:
        client(url, "sk_test_glob0005").probe()
    assert "acct_globex" in e.value.message and "acct_acme" in e.value.message


def test_livemode_follows_the_key(stripe: tuple[StripeEmulator, str]) -> None:
    _, url = stripe
    for key, live in (("sk_test_acme0001", False), ("sk_live_acme0002", True)):
        provider = client(url, key, environment=None)
        page = provider.api.get_json("/v1/customers", params={"limit": 1})
        assert page["data"][0]["livemode"] is live and page["url"] == "/v1/customers"
