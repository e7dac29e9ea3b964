"""Zoho Books contract: the client's requests and the emulator's answers against the shapes
Zoho documents. Zoho's OpenAPI document could not be copied (specs/zoho-books/README.md), so
the facts of /work/notes/zoho_myob.md section 1 are the contract, each with its source:

[Z-INTRO] zoho.com/books/api/v3/introduction   [Z-OAUTH] .../oauth   [Z-REFRESH] Zoho accounts
"access token expiry"   [Z-PAGE] .../pagination   [Z-ERR] .../errors   [Z-INV] .../invoices
[Z-CP] .../customer-payments   [Z-ORG] .../organizations   [Z-TAX] the Books "Taxes" page
[TAP] hotgluexyz/tap-zohobooks stream schemas (CONFIRMED-CODE)   2ry: two public clients agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest

from providers.records import Contact, Invoice, InvoiceLine, InvoiceStatus, Item, TrackingRef
from tests.contract.shapes import NUMBER, ListOf, Recorder, Shape, problems
from tests.providers.test_zoho_books import ORG, Running, world

# -- the documented shapes --------------------------------------------------------------------

ENVELOPE = {"code": int, "message": str}  # code 0 = success [Z-ERR]
PAGE_CONTEXT = Shape(
    {"page": int, "per_page": int, "has_more_page": bool},  # [Z-PAGE]
    {
        "report_name": str,
        "applied_filter": str,
        "sort_column": str,
        "sort_order": str,
        "response_option": int,
        "total": int,
        "total_pages": int,
    },  # [Z-INV], [WEBLE]
)
ORGANIZATION = Shape(
    {"organization_id": str, "name": str},  # [Z-INTRO]
    {
        # [Z-ORG] attribute list
        "is_logo_uploaded": bool,
        "is_default_org": bool,
        "user_role": str,
        "account_created_date": str,
        "time_zone": str,
        "language_code": str,
        "date_format": str,
        "field_separator": str,
        "fiscal_year_start_month": str,
        "tax_group_enabled": bool,
        "user_status": str,
        "contact_name": str,
        "industry_type": str,
        "address": Shape(open=True),
        "email": str,
        # list responses (2ry: Zoho's Deluge samples); plan fields UNCONFIRMED, read only when present
        "currency_id": str,
        "currency_code": str,
        "currency_symbol": str,
        "country": str,
        "country_code": str,
        "is_org_active": bool,
        "version": str,
        "is_sku_enabled": bool,
        "plan_name": str,
        "plan_type": str,
    },
)
CONTACT = Shape(
    {"contact_id": str, "contact_name": str},
    {
        # [TAP] ContactsStream
        "company_name": str,
        "contact_type": str,
        "customer_sub_type": str,
        "status": str,
        "currency_id": str,
        "currency_code": str,
        "email": str,
        "phone": str,
        "first_name": str,
        "last_name": str,
        "payment_terms": int,
        "outstanding_receivable_amount": NUMBER,
        "created_time": str,
        "last_modified_time": str,
        "custom_fields": list,
        # the single contact [Z-INV address shape]
        "billing_address": Shape(open=True),
        "shipping_address": Shape(open=True),
    },
)
ITEM = Shape(
    {"item_id": str, "name": str},
    {
        # [TAP] ItemsStream, [PD] create-item
        "sku": str,
        "status": str,
        "rate": NUMBER,
        "description": str,
        "unit": str,
        "account_id": str,
        "account_name": str,
        "tax_id": str,
        "tax_name": str,
        "tax_percentage": NUMBER,
        "is_taxable": bool,
        "item_type": str,
        "product_type": str,
        "purchase_account_id": str,
        "purchase_rate": NUMBER,
        "inventory_account_id": str,
        "stock_on_hand": NUMBER,
        "created_time": str,
        "last_modified_time": str,
    },
)
ACCOUNT = Shape(
    {"account_id": str, "account_name": str},
    {
        "account_code": str,
        "account_type": str,
        "is_active": bool,
        "is_user_created": bool,  # [TAP]
        "is_system_account": bool,
        "current_balance": NUMBER,
        "parent_account_id": str,
        "depth": int,
        "last_modified_time": str,
    },
)
TAX = Shape(
    {"tax_id": str, "tax_name": str, "tax_percentage": NUMBER},  # [Z-TAX]
    {
        "tax_type": str,
        "tax_specific_type": str,
        "tax_authority_id": str,
        "tax_authority_name": str,
        "is_value_added": bool,
        "country": str,
        "country_code": str,
    },
)
CURRENCY = Shape(
    {"currency_id": str, "currency_code": str},  # [TAP] CurrencyStream, [WEBLE]
    {
        "currency_name": str,
        "currency_symbol": str,
        "price_precision": int,
        "currency_format": str,
        "is_base_currency": bool,
        "exchange_rate": NUMBER,
        "effective_date": str,
    },
)
INVOICE_ROW = Shape(
    {
        "invoice_id": str,
        "invoice_number": str,
        "status": str,
        "customer_id": str,
        "customer_name": str,
        "date": str,
        "total": NUMBER,
        "balance": NUMBER,
    },  # [Z-INV] list example: no line_items
    {
        "reference_number": str,
        "due_date": str,
        "due_days": str,
        "currency_id": str,
        "currency_code": str,
        "created_time": str,
        "last_modified_time": str,
        "is_emailed": bool,
        "exchange_rate": NUMBER,
        "salesperson_name": str,
        "shipping_charge": NUMBER,
        "adjustment": NUMBER,
        "write_off_amount": NUMBER,
        "custom_fields": list,
    },
)
TAG = Shape(
    {"tag_id": str, "tag_option_id": str},  # [Z-INV] line-item tags on reads
    {"is_tag_mandatory": bool, "tag_name": str, "tag_option_name": str},
)
LINE = Shape(
    {"line_item_id": str, "rate": NUMBER, "quantity": NUMBER, "item_total": NUMBER},  # [Z-INV]
    {
        "item_id": str,
        "name": str,
        "description": str,
        "item_order": int,
        "bcy_rate": NUMBER,
        "unit": str,
        "discount_amount": NUMBER,
        "discount": NUMBER,
        "tags": ListOf(TAG),
        "tax_id": str,
        "tax_name": str,
        "tax_type": str,
        "tax_percentage": NUMBER,
        "product_type": str,
        "item_type": str,
        "project_id": str,
        "header_name": str,
        "account_id": str,
        "account_name": str,  # on lines: UNCONFIRMED (not in the official example)
    },
)
INVOICE = Shape(
    {**INVOICE_ROW.required, "line_items": ListOf(LINE)},  # [Z-INV] create-response example
    {
        **INVOICE_ROW.optional,
        "discount": NUMBER,
        "discount_type": str,
        "is_inclusive_tax": bool,
        "sub_total": NUMBER,
        "tax_total": NUMBER,
        "taxes": list,
        "payment_made": NUMBER,
        "credits_applied": NUMBER,
        "billing_address": Shape(open=True),
        "shipping_address": Shape(open=True),
    },
)
PAYMENT = Shape(
    {
        "payment_id": str,
        "amount": NUMBER,
        "date": str,
        "customer_id": str,  # [Z-CP]
        "invoices": ListOf(
            Shape(
                {"invoice_id": str, "amount_applied": NUMBER},
                {
                    "invoice_payment_id": str,
                    "invoice_number": str,
                    "date": str,
                    "invoice_amount": NUMBER,
                    "balance_amount": NUMBER,
                },
            )
        ),
    },
    {
        "payment_number": str,
        "payment_mode": str,
        "amount_refunded": NUMBER,
        "bank_charges": NUMBER,
        "status": str,
        "reference_number": str,
        "description": str,
        "customer_name": str,
        "email": str,
        "tags": list,
        "currency_code": str,
    },  # currency_code: Zoho Invoice's sample (2ry for Books)
)
LISTS = {
    "/organizations": ("organizations", ORGANIZATION),
    "/contacts": ("contacts", CONTACT),
    "/items": ("items", ITEM),
    "/chartofaccounts": ("chartofaccounts", ACCOUNT),
    "/settings/taxes": ("taxes", TAX),
    "/settings/currencies": ("currencies", CURRENCY),
    "/invoices": ("invoices", INVOICE_ROW),
    "/customerpayments": ("customerpayments", PAYMENT),
}
# The create bodies the client may send [Z-INV] (invoice), [PD] (item), derived OAS copy (contact)
INVOICE_BODY = Shape(
    {
        "customer_id": str,
        "line_items": ListOf(
            Shape(
                {"rate": NUMBER, "quantity": NUMBER},
                {
                    "item_id": str,
                    "name": str,
                    "description": str,
                    "tax_id": str,
                    "account_id": str,
                    "tags": ListOf(Shape({"tag_id": str, "tag_option_id": str})),
                },
            )
        ),
    },
    {
        "invoice_number": str,
        "date": str,
        "due_date": str,
        "reference_number": str,
        "currency_id": str,
        "is_inclusive_tax": bool,
    },
)
ITEM_BODY = Shape(
    {"name": str, "rate": NUMBER},
    {"sku": str, "description": str, "tax_id": str, "account_id": str, "product_type": str},
)
CONTACT_BODY = Shape(
    {"contact_name": str},
    {
        "company_name": str,
        "contact_type": str,
        "currency_code": str,
        "billing_address": Shape(open=True),
        "contact_persons": ListOf(
            Shape({}, {"first_name": str, "last_name": str, "email": str, "is_primary_contact": bool})
        ),
    },
)


@pytest.fixture
def zoho() -> Iterator[tuple[Running, Recorder]]:
    running = Running(world())
    recorder = Recorder()
    yield running, recorder
    recorder.close()
    running.server.stop()


def api(recorder: Recorder) -> list[httpx.Request]:
    return [r for r in recorder.requests if "/books/v3/" in r.url.path]


def body_of(request: httpx.Request) -> object:
    return json.loads(request.content)


def test_every_request_names_the_token_the_organisation_and_pages_within_200(
    zoho: tuple[Running, Recorder],
) -> None:
    running, recorder = zoho
    p = running.provider(transport=recorder, page_size=500)
    p.org_info()
    p.contacts()
    p.invoices()
    for request in api(recorder):
        assert request.headers["Authorization"].startswith("Zoho-oauthtoken ")  # header only [Z-INTRO]
        assert "access_token" not in str(request.url) and "authtoken" not in str(request.url)
        params = request.url.params
        if request.url.path.endswith("/organizations"):
            assert "organization_id" not in params
        else:
            assert params["organization_id"] == ORG  # on every request [Z-INTRO]
        if "page" in params:
            assert int(params["per_page"]) <= 200  # [Z-PAGE] 200 by default; max 200 2ry


def test_answers_have_the_documented_envelope_and_fields(zoho: tuple[Running, Recorder]) -> None:
    running, _ = zoho
    token = {"Authorization": "Zoho-oauthtoken at-zb"}
    with httpx.Client(base_url=running.url + "/books/v3", headers=token) as client:
        for path, (key, shape) in LISTS.items():
            params = {} if path == "/organizations" else {"organization_id": ORG, "filter_by": "Status.All"}
            data = client.get(path, params=params).json()
            assert data["code"] == 0 and isinstance(data["message"], str)
            assert problems(data[key], ListOf(shape), path) == []
            assert data[key], path
            if path != "/organizations" and path.startswith(("/contacts", "/items", "/invoices", "/customer")):
                assert problems(data["page_context"], PAGE_CONTEXT, f"{path}.page_context") == []
        rows = client.get("/invoices", params={"organization_id": ORG}).json()["invoices"]
        assert all("line_items" not in row for row in rows)  # lines cost a detail read [Z-INV]
        detail = client.get(f"/invoices/{rows[0]['invoice_id']}", params={"organization_id": ORG}).json()
        assert problems(detail["invoice"], INVOICE, "invoice") == []
        missing = client.get("/invoices/1", params={"organization_id": ORG})
        assert missing.status_code == 404 and problems(missing.json(), Shape(ENVELOPE), "404") == []
        assert missing.json() == {"code": 1002, "message": "Invoice does not exist."}  # [Z-ERR] example
        unauthorised = client.get("/items", params={"organization_id": ORG}, headers={"Authorization": "Bearer x"})
        assert unauthorised.status_code == 401 and unauthorised.json()["code"] == 57  # 2ry
        quota = client.get("/items", params={"organization_id": ORG})
        assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(quota.headers)  # 2ry


def test_writes_send_the_documented_bodies(zoho: tuple[Running, Recorder]) -> None:
    running, recorder = zoho
    p = running.provider(transport=recorder)
    acme = next(c for c in p.contacts() if c.name == "Acme Corp")
    p.push_invoice(
        Invoice(
            id="s",
            number="SD-9",
            status=InvoiceStatus.OPEN,
            currency="USD",
            total=Decimal(50),
            contact_id=acme.id,
            issue_date=date(2024, 6, 1),
            due_date=date(2024, 6, 15),
            reference="stripe:in_9",
            lines=(
                InvoiceLine(
                    description="Widget",
                    sku="PROD-001",
                    unit_amount=Decimal(50),
                    amount=Decimal(50),
                    tax_code="Sales Tax",
                    tracking=(TrackingRef("Region", "North"),),
                ),
            ),
        ),
        idempotency_key="k",
    )
    p.create_item(Item(id="", code="NEW-1", name="New", unit_price=Decimal(3)), idempotency_key="i")
    p.create_contact(Contact(id="", name="New Co", email="a@new.example", first_name="A"), idempotency_key="c")
    posts = [r for r in api(recorder) if r.method == "POST"]
    by_path = {r.url.path.removeprefix("/books/v3"): r for r in posts}
    invoice = by_path["/invoices"]
    assert invoice.url.params["ignore_auto_number_generation"] == "true"  # a number of our own [Z-INV]
    assert invoice.headers["Content-Type"] == "application/json"
    assert problems(body_of(invoice), INVOICE_BODY, "invoice body") == []
    assert problems(body_of(by_path["/items"]), ITEM_BODY, "item body") == []
    assert problems(body_of(by_path["/contacts"]), CONTACT_BODY, "contact body") == []
    sent = [path for path in by_path if path.endswith("/status/sent")]
    assert len(sent) == 1 and by_path[sent[0]].content == b""
    # the look-up that makes the push idempotent comes first, with the exact filter [Z-INV]
    lookups = [r for r in api(recorder) if r.method == "GET" and r.url.params.get("invoice_number") == "SD-9"]
    assert lookups and recorder.requests.index(lookups[0]) < recorder.requests.index(invoice)


def test_token_requests_and_answers(zoho: tuple[Running, Recorder]) -> None:
    running, recorder = zoho
    store = running.store(expires_in=-5)
    running.provider(store, transport=recorder).probe()
    [token] = [r for r in recorder.requests if r.url.path.endswith("/oauth/v2/token")]
    form = {k: v[0] for k, v in parse_qs(token.content.decode()).items()}
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-zb",
        "client_id": "zb-client",
        "client_secret": "zb-secret",
    }  # [Z-REFRESH]
    answer = httpx.post(token.url, data=form).json()
    refreshed = Shape({"access_token": str, "api_domain": str, "token_type": str, "expires_in": int})
    assert problems(answer, refreshed, "refresh") == []  # no refresh_token on a refresh [Z-TOKLIM sample]
    assert answer["expires_in"] <= 3600
