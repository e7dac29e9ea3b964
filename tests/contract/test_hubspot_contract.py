"""HubSpot contract: the client's requests and the emulator's responses against PROVIDERS.md.

HubSpot's OpenAPI files are proprietary ("not licensed for external use", see
``specs/hubspot/README.md``), so the contract is the facts PROVIDERS.md section 4 states, encoded
below as a table. Each row cites its line in PROVIDERS.md and a phrase on that line;
``test_citations_match_providers_md`` checks the phrase is still there (``tests/contract/specs/
PROVIDERS.md``, the project's copy).

Every exchange of a scripted session (OAuth and private-app reads, a write, faults) is recorded at
the transport, over real HTTP to the emulator on loopback, and must match a row: path and method,
query and body fields, page-size ceilings, response fields, error envelopes, rate-limit headers.

What is UNCONFIRMED (and configurable) rather than stated:
- invoice property names ``hs_invoice_status`` / ``hs_number`` (PROVIDERS.md line 371): the
  client's ``HubSpot.INVOICE_PROPERTIES``, the world's ``invoice_properties``; ``hs_amount_billed``,
  ``hs_invoice_date``, ``hs_due_date`` are not in PROVIDERS.md at all;
- search page <= 200 and <= 10,000 results (line 352-353): ``SEARCH_PAGE_MAX`` /
  ``SEARCH_MAX_RESULTS`` and ``search_page_max`` / ``search_max_results``;
- which rate-limit header family each auth kind gets (line 356): world ``rate_limit_headers``;
- refresh-token rotation (line 324): world ``rotate_refresh_tokens`` (default off);
- rows marked ``stated=False`` use paths or fields PROVIDERS.md does not state (the search,
  batch-read and associations-v4 request shapes, the ``properties`` query parameter and the
  introspection form): they are HubSpot's public conventions, checked for consistency between
  client and emulator only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from providers import get_provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import ProviderError, RefreshFailed, ScopeMissing
from providers.http import CallStats, RetryPolicy, reset_limiters
from providers.hubspot import HubSpot
from providers.hubspot_wire import TEST_ACCOUNT_TYPES
from providers.records import Contact
from sandbox.server import Sandbox
from tests.contract.specs import SPECS as SPECS_ROOT
from tests.providers.test_hubspot import (
    CLIENT_ID,
    CLIENT_SECRET,
    PORTAL,
    PRIVATE_TOKEN,
    READ_SCOPES,
    make_world,
    oauth_credentials,
    private_credentials,
)

Cite = tuple[int, str]  # (line in PROVIDERS.md, phrase found on that line)


@dataclass(frozen=True)
class Op:
    name: str
    method: str
    path: str  # regular expression, anchored
    cite: Cite | None
    stated: bool = True  # False: the request shape is a HubSpot convention, not in PROVIDERS.md
    query: frozenset[str] = frozenset()
    body: frozenset[str] = frozenset()  # JSON or form fields the request may carry
    required_body: frozenset[str] = frozenset()
    response: tuple[str, ...] = ()  # dotted paths a 2xx answer carries ("results[]." = each item)
    max_limit: int | None = None


OPS = (
    Op(
        "token v3",
        "POST",
        r"/oauth/v3/token",
        (319, "v3 `POST https://api.hubapi.com/oauth/v3/token` (params in body; grant_type"),
        body=frozenset(
            {
                "grant_type",
                "refresh_token",
                "code",
                "redirect_uri",
                "code_verifier",
                "client_id",
                "client_secret",
            }
        ),
        required_body=frozenset({"grant_type", "client_id", "client_secret"}),
        response=("access_token", "expires_in"),
    ),
    Op(
        "token v1 (deprecated)",
        "POST",
        r"/oauth/v1/token",
        (318, "token v1 `POST https://api.hubapi.com/oauth/v1/token`"),
        body=frozenset({"grant_type", "refresh_token", "client_id", "client_secret"}),
        required_body=frozenset({"grant_type"}),
        response=("access_token", "expires_in"),
    ),
    Op(
        "introspect",
        "POST",
        r"/oauth/v3/token/introspect",
        (320, "`POST /oauth/v3/token/introspect`"),
        body=frozenset({"token", "client_id", "client_secret"}),
        required_body=frozenset({"token"}),
        response=("active", "hub_id", "hub_domain", "scopes", "expires_in"),
    ),
    Op(
        "account details",
        "GET",
        r"/account-info/v3/details",
        (340, "`GET /account-info/v3/details` → `portalId`, `accountType`"),
        response=(
            "portalId",
            "accountType",
            "companyCurrency",
            "additionalCurrencies",
            "timeZone",
            "uiDomain",
            "dataHostingLocation",
            "utcOffset",
        ),
    ),
    Op(
        "list",
        "GET",
        r"/crm/v3/objects/(contacts|products)",
        (359, "Lists: `limit` (default 10; max 100), cursor `after`"),
        query=frozenset({"limit", "after", "archived", "properties"}),
        response=("results", "results[].id", "results[].properties", "results[].archived"),
        max_limit=100,
    ),
    Op(
        "search",
        "POST",
        r"/crm/v3/objects/invoices/search",
        (352, "CRM search: 4 requests/s per token"),
        stated=False,
        body=frozenset({"filterGroups", "sorts", "properties", "limit", "after"}),
        required_body=frozenset({"limit"}),
        response=("results", "results[].id", "results[].properties"),
        max_limit=200,
    ),
    Op(
        "batch read",
        "POST",
        r"/crm/v3/objects/(line_items|products|contacts)/batch/read",
        None,
        stated=False,
        body=frozenset({"properties", "inputs"}),
        required_body=frozenset({"inputs"}),
        response=("results", "results[].id", "results[].properties"),
    ),
    Op(
        "associations v4 batch read",
        "POST",
        r"/crm/v4/associations/invoices/(line_items|contacts)/batch/read",
        None,
        stated=False,
        body=frozenset({"inputs"}),
        required_body=frozenset({"inputs"}),
        response=("results", "results[].from.id", "results[].to[].toObjectId"),
    ),
    Op(
        "contact upsert",
        "POST",
        r"/crm/v3/objects/contacts/batch/upsert",
        (374, "use `batch/upsert` with `idProperty`"),
        body=frozenset({"inputs"}),
        required_body=frozenset({"inputs"}),
        response=("results", "results[].id"),
    ),
)

# Property names by object, as PROVIDERS.md states them (the client must request these).
PROPERTIES: dict[str, tuple[Cite, frozenset[str]]] = {
    "contacts": (
        (364, "default properties `firstname`, `lastname`, `email`"),
        frozenset({"firstname", "lastname", "email"}),
    ),
    "products": (
        (366, "Product: `name`, `price`, `hs_sku`"),
        frozenset({"name", "price", "hs_sku"}),
    ),
    "line_items": (
        (368, "Line item: `hs_product_id`"),
        frozenset({"hs_product_id", "quantity", "price", "name"}),
    ),
    "invoices": ((370, "create draft with only `hs_currency`"), frozenset({"hs_currency"})),
}
UNCONFIRMED_INVOICE_PROPERTIES: Cite = (
    371,
    "Property names `hs_invoice_status` (draft|open|paid|voided) and",
)
ERROR_ENVELOPE: tuple[Cite, tuple[str, ...]] = (
    (360, "Error schema [HS]: `{category, correlationId, message"),
    ("category", "correlationId", "message"),
)
MISSING_SCOPES: Cite = (336, '"category":"MISSING_SCOPES"')
RATE_LIMIT_BODY: Cite = (357, '`"errorType":"RATE_LIMIT"`, `policyName`')
DEAD_REFRESH_V1: Cite = (
    325,
    '`{"status":"BAD_REFRESH_TOKEN","message":"missing or invalid refresh token"}`',
)
BEARER: Cite = (326, "`Authorization: Bearer <token>`")
TEST_PORTALS: Cite = (327, "`accountType` SANDBOX / DEVELOPER_TEST / APP_DEVELOPER")
SEARCH_RATE: Cite = (352, "CRM search: 4 requests/s per token")
HEADERS_DAILY: tuple[Cite, tuple[str, ...]] = (
    (354, "`X-HubSpot-RateLimit-Daily`, `X-HubSpot-RateLimit-Daily-Remaining`"),
    (
        "X-HubSpot-RateLimit-Daily",
        "X-HubSpot-RateLimit-Daily-Remaining",
        "X-HubSpot-RateLimit-Secondly",
        "X-HubSpot-RateLimit-Secondly-Remaining",
    ),
)
HEADERS_INTERVAL: tuple[Cite, tuple[str, ...]] = (
    (356, "`X-HubSpot-RateLimit-Max`, `-Remaining`, `-Interval-Milliseconds`"),
    (
        "X-HubSpot-RateLimit-Max",
        "X-HubSpot-RateLimit-Remaining",
        "X-HubSpot-RateLimit-Interval-Milliseconds",
    ),
)
SCOPES: tuple[Cite, ...] = (
    (329, "`crm.objects.contacts.read|write`; `crm.objects.products.read|write`"),
    (330, "`crm.objects.line_items.read|write`"),
    (330, "`crm.objects.invoices.read|write`"),
    (331, "`oauth` (account-info)"),
)
STATED_SCOPES = frozenset(
    {f"crm.objects.{o}.{rw}" for o in ("contacts", "products", "line_items", "invoices") for rw in ("read", "write")}
    | {"e-commerce", "tax_rates.read", "settings.currencies.read", "oauth"}
)
ALL_CITES: list[Cite] = [
    *(op.cite for op in OPS if op.cite),
    *(c for c, _ in PROPERTIES.values()),
    UNCONFIRMED_INVOICE_PROPERTIES,
    ERROR_ENVELOPE[0],
    MISSING_SCOPES,
    RATE_LIMIT_BODY,
    DEAD_REFRESH_V1,
    BEARER,
    TEST_PORTALS,
    SEARCH_RATE,
    HEADERS_DAILY[0],
    HEADERS_INTERVAL[0],
    *SCOPES,
]


@dataclass
class Exchange:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: httpx.Headers
    body: dict[str, Any]
    status: int
    response_headers: httpx.Headers
    response: Any


class RecordingTransport(httpx.BaseTransport):
    """Real HTTP to the emulator; keeps each request and response for the contract checks."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raw = request.read()
        response = self._inner.handle_request(request)
        content = response.read()
        kind = request.headers.get("content-type", "")
        if "json" in kind:
            body = json.loads(raw or b"{}")
        else:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        try:
            answer = json.loads(content) if content else None
        except ValueError:
            answer = content.decode(errors="replace")
        self.exchanges.append(
            Exchange(
                request.method,
                request.url.path,
                parse_qs(request.url.query.decode()),
                request.headers,
                body,
                response.status_code,
                response.headers,
                answer,
            )
        )
        return httpx.Response(response.status_code, headers=response.headers, content=content, request=request)

    def close(self) -> None:
        self._inner.close()


def _op_for(exchange: Exchange) -> Op:
    matching = [op for op in OPS if op.method == exchange.method and re.fullmatch(op.path, exchange.path)]
    assert matching, f"{exchange.method} {exchange.path} is not in the contract table"
    return matching[0]


def _values(data: Any, dotted: str) -> list[Any]:
    """Values at a dotted path; ``name[]`` fans out over a list."""
    current = [data]
    for part in dotted.split("."):
        fan = part.endswith("[]")
        key = part[:-2] if fan else part
        following: list[Any] = []
        for value in current:
            assert isinstance(value, dict) and key in value, f"missing {key!r} (in {dotted!r}) of {str(value)[:120]}"
            following.extend(value[key] if fan else [value[key]])
        current = following
    return current


@pytest.fixture(scope="module")
def session() -> Iterator[list[Exchange]]:
    """One scripted session against the emulator, every exchange recorded."""
    reset_limiters()
    world = make_world(invoices=5, scopes=[*READ_SCOPES, "crm.objects.contacts.write"])
    world["hubspot"]["grants"].append(
        {
            "access_token": "at-narrow",
            "refresh_token": "rt-narrow",
            "expires_in": 3600,
            "principal": PORTAL,
            "scopes": [s for s in READ_SCOPES if s != "crm.objects.invoices.read"],
        }
    )
    box = Sandbox(world).start()
    transport = RecordingTransport()

    def provider(credentials: Credentials, token_path: str = "/oauth/v3/token") -> HubSpot:
        overrides = {**box.overrides("hubspot"), "token_url": box.url("hubspot") + token_path}
        built = get_provider(
            "hubspot",
            tenant=PORTAL,
            credentials=MemoryCredentialStore("acme/hubspot", credentials),
            stats=CallStats(),
            overrides=overrides,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            transport=transport,
            retry=RetryPolicy(backoff=0.01),
            page_size=2,
        )
        assert isinstance(built, HubSpot)
        return built

    try:
        oauth = provider(oauth_credentials(expires_in=30))  # refreshes first: a v3 token exchange
        oauth.probe()
        oauth.org_info()
        oauth.contacts()
        oauth.items()
        oauth.invoices()
        oauth.find_invoice("INV-1001")
        oauth.create_contact(Contact(id="n", name="New Person", email="new@example.com"), idempotency_key="k")
        private = provider(private_credentials())
        private.probe()
        private.items()
        narrow = provider(Credentials(kind="oauth2", access_token="at-narrow", refresh_token="rt-narrow"))
        with pytest.raises(ScopeMissing):
            narrow.invoices()
        for path in ("/oauth/v3/token", "/oauth/v1/token"):
            with pytest.raises(RefreshFailed):
                provider(oauth_credentials(expires_in=-60, refresh_token="rt-dead"), path).contacts()
        box.emulators["hubspot"].faults.rate_limit = 1
        private.contacts()  # one 429, then the page
        with pytest.raises(ProviderError):
            provider(private_credentials("pat-na1-unknown")).items()
        yield transport.exchanges
    finally:
        transport.close()
        box.stop()
        reset_limiters()


def test_every_request_is_in_the_table_with_allowed_fields(session: list[Exchange]) -> None:
    assert session
    for ex in session:
        op = _op_for(ex)
        assert set(ex.query) <= op.query, f"{op.name}: unexpected query {sorted(set(ex.query) - op.query)}"
        assert set(ex.body) <= op.body, f"{op.name}: unexpected body fields {sorted(set(ex.body) - op.body)}"
        assert op.required_body <= set(ex.body), f"{op.name}: missing {sorted(op.required_body - set(ex.body))}"
        limit = ex.query.get("limit", [None])[0] if op.method == "GET" else ex.body.get("limit")
        if op.max_limit is not None and limit is not None:
            assert 1 <= int(limit) <= op.max_limit, f"{op.name}: limit {limit} over {op.max_limit}"


def test_api_calls_use_bearer_tokens(session: list[Exchange]) -> None:
    api = [ex for ex in session if not ex.path.startswith("/oauth/")]
    assert api and all(ex.headers.get("authorization", "").startswith("Bearer ") for ex in api)
    assert any(ex.headers["authorization"] == f"Bearer {PRIVATE_TOKEN}" for ex in api)


def test_every_table_row_was_exercised(session: list[Exchange]) -> None:
    used = {_op_for(ex).name for ex in session}
    assert used == {op.name for op in OPS}


def test_successful_answers_carry_the_stated_fields(session: list[Exchange]) -> None:
    for ex in session:
        if not 200 <= ex.status < 300:
            continue
        op = _op_for(ex)
        for dotted in op.response:
            _values(ex.response, dotted)
        if op.name == "list" and ex.query.get("after"):
            assert ex.response["results"], "a cursor page is never empty here"


def test_paging_cursor_is_paging_next_after(session: list[Exchange]) -> None:
    lists = [ex for ex in session if _op_for(ex).name == "list" and ex.status == 200]
    cursors = [ex.response["paging"]["next"]["after"] for ex in lists if "paging" in ex.response]
    followed = [ex.query["after"][0] for ex in lists if "after" in ex.query]
    assert cursors and sorted(followed) == sorted(cursors)
    assert any(ex.query.get("archived") == ["true"] for ex in lists)


def test_client_requests_the_stated_properties(session: list[Exchange]) -> None:
    requested: dict[str, set[str]] = {}
    for ex in session:
        match = re.search(r"/objects/(\w+)", ex.path)
        if not match:
            continue
        props = ex.query.get("properties", [""])[0].split(",") if ex.method == "GET" else ex.body.get("properties", [])
        requested.setdefault(match.group(1), set()).update(p for p in props if p)
    for kind, (_, stated) in PROPERTIES.items():
        assert stated <= requested.get(kind, set()), (
            f"{kind}: {sorted(stated - requested.get(kind, set()))} not requested"
        )
    # UNCONFIRMED names, requested as configured
    assert {
        HubSpot.INVOICE_PROPERTIES["status"],
        HubSpot.INVOICE_PROPERTIES["number"],
    } <= requested["invoices"]


def test_error_answers_use_hubspots_envelope(session: list[Exchange]) -> None:
    errors = [ex for ex in session if ex.status >= 400 and not ex.path.startswith("/oauth/")]
    assert {ex.status for ex in errors} >= {401, 403, 429}
    for ex in errors:
        # a 429 carries errorType/policyName instead of a category (line 357; RATE_LIMITS only
        # seen on daily exhaustion, line 358)
        fields = ("message", "correlationId", "errorType", "policyName") if ex.status == 429 else ERROR_ENVELOPE[1]
        for field in fields:
            assert field in ex.response, f"{ex.status} answer lacks {field}"
        assert ex.response["status"] == "error"
    unauthenticated = next(ex for ex in errors if ex.status == 401)
    assert unauthenticated.response["category"] == "INVALID_AUTHENTICATION"
    assert "Authentication credentials not found" in unauthenticated.response["message"]
    scopes = next(ex for ex in errors if ex.status == 403)
    assert scopes.response["category"] == "MISSING_SCOPES"
    assert _values(scopes.response, "errors[].context.requiredGranularScopes") == [["crm.objects.invoices.read"]]
    throttled = next(ex for ex in errors if ex.status == 429)
    assert throttled.response["errorType"] == "RATE_LIMIT" and throttled.response["policyName"]


def test_dead_refresh_tokens(session: list[Exchange]) -> None:
    v1 = [ex for ex in session if ex.path == "/oauth/v1/token" and ex.status == 400]
    assert v1 and v1[0].response == {
        "status": "BAD_REFRESH_TOKEN",
        "message": "missing or invalid refresh token",
    }
    v3 = [ex for ex in session if ex.path == "/oauth/v3/token" and ex.status == 400]
    # v3 answers in HubSpot's standard envelope (developers.hubspot.com create-oauth-token).
    assert v3 and {"category", "message", "correlationId"} <= set(v3[0].response)
    assert v3[0].response["category"] == "VALIDATION_ERROR" and v3[0].response["subCategory"] == "INVALID_TOKEN"


def test_rate_limit_headers_by_auth_kind(session: list[Exchange]) -> None:
    api = [ex for ex in session if ex.status == 200 and not ex.path.startswith("/oauth/")]
    private = [ex for ex in api if ex.headers["authorization"] == f"Bearer {PRIVATE_TOKEN}"]
    oauth = [ex for ex in api if ex not in private]
    assert private and oauth
    for ex in private:
        assert all(name in ex.response_headers for name in HEADERS_DAILY[1])
    for ex in oauth:
        assert all(name in ex.response_headers for name in HEADERS_INTERVAL[1])


def test_declared_constants_follow_providers_md() -> None:
    assert set(HubSpot.scopes_needed) <= STATED_SCOPES
    assert TEST_ACCOUNT_TYPES == {"SANDBOX", "DEVELOPER_TEST", "APP_DEVELOPER"}
    assert HubSpot.SEARCH_PER_SECOND <= 4 and HubSpot.SEARCH_PAGE_MAX <= 200 and HubSpot.LIST_PAGE_MAX <= 100
    assert HubSpot.default_endpoints.token_url == "https://api.hubapi.com/oauth/v3/token"
    assert HubSpot.default_endpoints.authorize_url == "https://app.hubspot.com/oauth/authorize"
    assert HubSpot.client_auth == "post"  # v3: params in body


def test_citations_match_providers_md() -> None:
    lines = (SPECS_ROOT / "PROVIDERS.md").read_text(encoding="utf-8").splitlines()
    for number, phrase in ALL_CITES:
        assert phrase in lines[number - 1], f"PROVIDERS.md line {number} no longer says {phrase!r}"
