"""Xero contract: the client's requests and the emulator's responses against Xero's OpenAPI.

Specs: ``specs/xero/xero_accounting.yaml`` (Accounting API 16.1.0, ~1 MB, loaded once per
module) and ``specs/xero/xero-identity.yaml`` (``/Connections``), validated with openapi-core.
A scripted session (probe, every read, every write, a validation error) runs through the real
provider against the emulator over loopback; a transport wrapping httpx's own HTTP transport
records each exchange, and every recorded request (path, method, query, headers such as
``xero-tenant-id`` and ``Idempotency-Key``, PUT bodies) and response (status, body schema) is
validated against the operation the spec declares for it.

What the specs cannot validate, and why:
- the OAuth token endpoint (``identity.xero.com/connect/token``): it is not a path in either
  spec (only ``securitySchemes`` names it); tests/providers/test_xero.py covers it;
- ``security``: the specs use OAuth2, which openapi-core does not check (``UnsupportedProvider``);
  the Bearer header is asserted directly below;
- error answers other than 400 (401 TokenExpired / AuthenticationUnsuccessful, 403, 429): the
  spec declares no response for them, so their envelopes follow PROVIDERS.md ("observed") and
  are tested in test_xero.py; the 400 body is validated against the ``Error`` schema;
- response headers (``X-DayLimit-Remaining``, ``X-MinLimit-Remaining``, ``X-Rate-Limit-Problem``,
  ``Retry-After``): the spec declares none; asserted below from PROVIDERS.md;
- case of the connections path: Xero's docs and the client use ``/connections``; the identity
  spec names it ``/Connections`` and openapi-core matches paths case-sensitively, so the
  recorded path is mapped to the spec's spelling before validation (the emulator serves both);
- ``TaxRate.Status``: the spec's enum lists tax-type codes plus ACTIVE, not the statuses
  PROVIDERS.md gives (ACTIVE | DELETED | ARCHIVED | PENDING), so the contract world holds only
  ACTIVE tax rates; archived ones are exercised in test_xero.py;
- ``createdDateUtc`` / ``updatedDateUtc`` of a connection: the identity spec types them
  ``format: date-time`` yet its own example (``"2019-12-07T18:46:19.5165400"``) has no UTC
  offset, so is not RFC 3339. The emulator sends the example's form (what Xero sends); the test
  checks that form, then appends ``Z`` before validating the rest of the body;
- ``pageSize`` maximum (1000) and ``/Date()/`` date strings: the spec types them as a plain
  integer and a plain string (``x-is-msdate``), so only their types are checked here.
"""

from __future__ import annotations

import json
import re
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from providers import get_provider
from providers.credentials import MemoryCredentialStore
from providers.errors import Rejected
from providers.http import CallStats, RetryPolicy, reset_limiters
from providers.records import (
    Address,
    Contact,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Item,
    TrackingRef,
)
from providers.xero import Xero
from sandbox.server import Sandbox
from tests.contract.specs import SPECS as SPECS_ROOT
from tests.providers.test_xero import ACME, credentials, tenant, world

SPECS = SPECS_ROOT / "xero"
HOST = "https://api.xero.com"
API = "/api.xro/2.0"


def _load(name: str) -> OpenAPI:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader reads 1 MB in ~1 s
    with (SPECS / name).open(encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=loader)
    # The spec files are Xero's published copies; re-validating the 1 MB document is slow.
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


@pytest.fixture(scope="module")
def accounting() -> OpenAPI:
    return _load("xero_accounting.yaml")


@pytest.fixture(scope="module")
def identity() -> OpenAPI:
    return _load("xero-identity.yaml")


@dataclass
class Exchange:
    request: httpx.Request
    response: httpx.Response
    body: bytes


class Recording(httpx.BaseTransport):
    """httpx's own HTTP transport, remembering every exchange (the network is real)."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        response = self._inner.handle_request(request)
        body = response.read()
        with self._lock:
            self.exchanges.append(Exchange(request, response, body))
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)

    def close(self) -> None:
        self._inner.close()


def contract_world() -> dict[str, Any]:
    section = tenant(
        tax_rates=[
            {"TaxType": "OUTPUT", "Name": "GST on Income", "EffectiveRate": 15},
            {"TaxType": "NONE", "Name": "No GST", "EffectiveRate": 0},
        ],
        invoice_cap=50,
    )
    return world(tenants=[section])


@pytest.fixture(scope="module")
def session() -> Iterator[tuple[Recording, Sandbox]]:
    """Run every call the client makes once, recording the exchanges."""
    reset_limiters()
    sandbox = Sandbox(contract_world()).start()
    recording = Recording()
    try:
        xero = get_provider(
            "xero",
            tenant=ACME,
            credentials=MemoryCredentialStore("acme/xero", credentials(expires_in=30)),  # forces one refresh
            stats=CallStats(),
            overrides=sandbox.overrides("xero"),
            retry=RetryPolicy(backoff=0.01),
            page_size=4,
            transport=recording,
        )
        assert isinstance(xero, Xero)
        xero.probe()
        xero.org_info()
        xero.contacts()
        xero.items()
        xero.invoices()
        xero.invoices(since=date(2024, 5, 4))
        xero.find_invoice("INV-003")
        xero.accounts()
        xero.tax_rates()
        xero.tracking_categories()
        xero.payments()
        xero.payments(since=date(2024, 5, 11))
        xero.push_invoice(
            Invoice(
                id="src-1",
                number=None,
                status=InvoiceStatus.OPEN,
                currency="NZD",
                total=Decimal(23),
                contact_name="Customer 1",
                issue_date=date(2024, 5, 20),
                due_date=date(2024, 6, 20),
                reference="HS-1",
                lines=(
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
            ),
            idempotency_key="contract-invoice",
        )
        with pytest.raises(Rejected):
            xero.push_invoice(
                Invoice(
                    id="src-2",
                    number="INV-901",
                    status=InvoiceStatus.OPEN,
                    currency="EUR",
                    total=Decimal(1),
                    contact_name="Customer 2",
                ),
                idempotency_key="contract-invalid",
            )
        xero.create_item(
            Item(
                id="i",
                code="PROD-777",
                name="Sprocket",
                unit_price=Decimal("4.5"),
                account_code="200",
                tax_code="OUTPUT",
            ),
            idempotency_key="contract-item",
        )
        # Exactly-once look-ups and the batch push: InvoiceNumbers, an exact where for a number
        # with a comma, searchTerm for one a where cannot hold; PUT with summarizeErrors=false.
        xero.find_invoices(["INV-001", "INV-002", "A,1", 'B,"2"'])
        batch = [
            Invoice(
                id=f"src-b{i}",
                number=f"BATCH-{i}",
                status=InvoiceStatus.OPEN,
                currency="NZD",
                total=Decimal(10),
                contact_name="Customer 3",
                issue_date=date(2024, 5, 21),
                lines=(
                    InvoiceLine(
                        description="Labour",
                        quantity=Decimal(1),
                        unit_amount=Decimal("10.1234"),
                        account_code="200" if i != 1 else "999",  # the second one is refused
                        tax_code="NONE",
                    ),
                ),
            )
            for i in range(3)
        ]
        outcomes = xero.push_invoices(batch, lambda inv: f"contract-batch:{inv.number}")
        assert [o.landed for o in outcomes] == [True, False, True]
        xero.create_contact(Contact(id="q", name='Quote "Q" Ltd'), idempotency_key="contract-quoted")
        xero.create_contact(
            Contact(
                id="c",
                name="New Customer",
                email="new@example.com",
                first_name="Nia",
                last_name="Ngata",
                number="HS-9",
                currency="NZD",
                address=Address(line1="2 Queen St", city="Auckland", postcode="1010", country="NZ"),
            ),
            idempotency_key="contract-contact",
        )
        xero.close()
        yield recording, sandbox
    finally:
        sandbox.stop()
        recording.close()
        reset_limiters()


def _spec_request(exchange: Exchange) -> tuple[str, MockRequest]:
    request = exchange.request
    path = request.url.path
    spec = "identity" if path.lower() == "/connections" else "accounting"
    if spec == "identity":
        path = "/Connections"  # the identity spec's spelling (see the module docstring)
    query = dict(parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True))
    return spec, MockRequest(
        HOST,
        request.method,
        path,
        args=query,
        headers=dict(request.headers),
        data=request.content or None,
        content_type=request.headers.get("content-type", "application/json").split(";")[0],
    )


CONNECTION_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}$")


def _spec_response(exchange: Exchange) -> MockResponse:
    body = exchange.body
    if exchange.request.url.path.lower() == "/connections" and exchange.response.status_code == 200:
        connections = json.loads(body)
        for connection in connections:
            for key in ("createdDateUtc", "updatedDateUtc"):
                assert CONNECTION_DATE.match(connection[key]), connection[key]
                connection[key] += "Z"  # see the module docstring
        body = json.dumps(connections).encode()
    return MockResponse(
        body,
        status_code=exchange.response.status_code,
        headers=dict(exchange.response.headers),
        content_type=exchange.response.headers.get("content-type", "application/json").split(";")[0],
    )


def _api_exchanges(recording: Recording) -> list[Exchange]:
    return [e for e in recording.exchanges if not e.request.url.path.endswith("/connect/token")]


def _validate(spec: OpenAPI, exchange: Exchange, kind: str) -> None:
    _name, request = _spec_request(exchange)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Unsupported scheme type" (OAuth2)
        if kind == "request":
            spec.validate_request(request)
        else:
            spec.validate_response(request, _spec_response(exchange))


def _pick(exchange: Exchange, accounting: OpenAPI, identity: OpenAPI) -> OpenAPI:
    name, _ = _spec_request(exchange)
    return identity if name == "identity" else accounting


def test_the_session_covers_every_path_the_client_uses(session: tuple[Recording, Sandbox]) -> None:
    recording, _ = session
    seen = {(e.request.method, e.request.url.path) for e in _api_exchanges(recording)}
    expected = (
        {("GET", "/connections")}
        | {
            ("GET", f"{API}/{name}")
            for name in (
                "Organisation",
                "Organisation/Actions",
                "Currencies",
                "Contacts",
                "Items",
                "Invoices",
                "Accounts",
                "TaxRates",
                "TrackingCategories",
                "Payments",
            )
        }
        | {("PUT", f"{API}/{name}") for name in ("Invoices", "Items", "Contacts")}
    )
    assert seen == expected
    statuses = {e.response.status_code for e in _api_exchanges(recording)}
    assert statuses == {200, 400}
    assert any(e.request.url.path.endswith("/connect/token") for e in recording.exchanges)


def test_client_requests_match_the_spec(
    session: tuple[Recording, Sandbox], accounting: OpenAPI, identity: OpenAPI
) -> None:
    recording, _ = session
    for exchange in _api_exchanges(recording):
        _validate(_pick(exchange, accounting, identity), exchange, "request")


def test_emulator_responses_match_the_spec(
    session: tuple[Recording, Sandbox], accounting: OpenAPI, identity: OpenAPI
) -> None:
    recording, _ = session
    for exchange in _api_exchanges(recording):
        _validate(_pick(exchange, accounting, identity), exchange, "response")


def test_headers_the_spec_requires_or_cannot_express(session: tuple[Recording, Sandbox]) -> None:
    recording, _ = session
    for exchange in _api_exchanges(recording):
        request, response = exchange.request, exchange.response
        assert request.headers["authorization"].startswith("Bearer ")
        if request.url.path.startswith(API):
            assert request.headers["xero-tenant-id"] == ACME  # the spec's requiredHeader
            for header in (
                "X-DayLimit-Remaining",
                "X-MinLimit-Remaining",
                "X-AppMinLimit-Remaining",
            ):
                assert response.headers[header].isdigit()
        if request.method == "PUT":
            assert 0 < len(request.headers["idempotency-key"]) <= 128
            assert request.headers["content-type"] == "application/json"
        if request.headers.get("if-modified-since"):
            assert request.headers["if-modified-since"].endswith("+00:00")


def test_put_bodies_are_collections_one_or_a_batch(session: tuple[Recording, Sandbox]) -> None:
    recording, _ = session
    puts = [(e.request, json.loads(e.request.content)) for e in _api_exchanges(recording) if e.request.method == "PUT"]
    assert {r.url.path.rsplit("/", 1)[1] for r, _ in puts} == {"Invoices", "Items", "Contacts"}
    for request, body in puts:
        key = request.url.path.rsplit("/", 1)[1]
        batch = request.url.params.get("summarizeErrors") == "false"
        assert list(body) == [key] and (len(body[key]) > 1 if batch else len(body[key]) == 1)
        if key == "Invoices":
            assert request.url.params.get("unitdp") == "4"
    assert any(r.url.params.get("summarizeErrors") == "false" for r, _ in puts)


def test_lookups_never_escape_inside_where(session: tuple[Recording, Sandbox]) -> None:
    """Xero's where has no escape character: a value with a quote goes by searchTerm."""
    recording, _ = session
    gets = [e.request.url.params for e in _api_exchanges(recording) if e.request.method == "GET"]
    wheres = [p["where"] for p in gets if "where" in p]
    assert wheres and not any("\\" in w for w in wheres)
    terms = {p["searchTerm"] for p in gets if "searchTerm" in p}
    assert {'B,"2"', 'Quote "Q" Ltd'} <= terms
    assert any(p.get("InvoiceNumbers") == "INV-001,INV-002" for p in gets)


def test_emulator_post_and_summarize_errors_false_match_the_spec(accounting: OpenAPI) -> None:
    """The emulator's upsert (POST) and mixed-result answers, which the client does not use."""
    reset_limiters()
    with Sandbox(contract_world()) as sandbox:
        url = sandbox.url("xero") + f"{API}/Contacts"
        headers = {
            "Authorization": "Bearer at-acme",
            "xero-tenant-id": ACME,
            "Idempotency-Key": "post-1",
        }
        body = {"Contacts": [{"Name": "Customer 1", "EmailAddress": "one@example.com"}, {"Name": ""}]}
        with httpx.Client() as client:
            response = client.post(url, params={"summarizeErrors": "false"}, json=body, headers=headers)
        assert response.status_code == 200
        elements = response.json()["Contacts"]
        assert [e["StatusAttributeString"] for e in elements] == ["OK", "ERROR"]
        exchange = Exchange(response.request, response, response.content)
        _validate(accounting, exchange, "request")
        _validate(accounting, exchange, "response")


def test_the_validator_is_not_a_rubber_stamp(session: tuple[Recording, Sandbox], accounting: OpenAPI) -> None:
    """A response with a status outside the spec's enum, and a request without the tenant
    header, are refused: the checks above can fail."""
    recording, _ = session
    invoices = next(
        e for e in _api_exchanges(recording) if e.request.url.path == f"{API}/Invoices" and e.request.method == "GET"
    )
    body = json.loads(invoices.body)
    body["Invoices"][0]["Status"] = "SENT"
    bad_response = Exchange(invoices.request, invoices.response, json.dumps(body).encode())
    with pytest.raises(Exception):  # noqa: B017 - openapi-core's validation error types vary by version
        _validate(accounting, bad_response, "response")
    headers = {k: v for k, v in invoices.request.headers.items() if k != "xero-tenant-id"}
    stripped = httpx.Request("GET", invoices.request.url, headers=headers)
    with pytest.raises(Exception):  # noqa: B017
        _validate(accounting, Exchange(stripped, invoices.response, invoices.body), "request")
