"""Stripe: customers, products + prices, invoices and tax rates over the v1 REST API (the client).

Facts this client relies on (``specs/PROVIDERS.md`` section 3, ``specs/stripe/spec3.yaml``):

- Auth is an API key sent as ``Authorization: Bearer``; its prefix says what it is and which
  mode it reaches: secret ``sk_test_``/``sk_live_``, restricted ``rk_test_``/``rk_live_``.
  There is no OAuth and nothing to refresh, so a 401 is final (``TokenRevoked``).
- ``Stripe-Version`` is pinned to the spec's version (2023-08-16) so answers match the
  contract (:mod:`providers.stripe_wire` still reads newer line shapes).
- Lists: ``limit`` 1-100, cursor ``starting_after``; envelope ``{object: list, data, has_more}``.
  An invoice in a list carries the first page of its lines; ``lines.has_more`` means the rest
  is at ``/v1/invoices/{id}/lines``.
- Products have no SKU field; the SKU lives in ``product.metadata[<sku_key>]`` (``"sku"`` by
  default, configurable because each sync product picks its own key).
- Writes carry ``Idempotency-Key`` (up to 255 characters, kept at least 24 h); a repeat with
  the same key replays the first answer with ``Idempotent-Replayed: true``.
- ``Stripe-Should-Retry`` on an answer is Stripe's own word on whether repeating the request
  can help: ``true`` retries even a refusal such as a 409 ``lock_timeout``, ``false`` stops
  even a 5xx, as Stripe's own libraries do (stripe/stripe-python#621, stripe/stripe-node#692).
- Invoices are found by number with the Search API (``/v1/invoices/search``), one call. Search
  is eventually consistent ("data is searchable in less than a minute" under normal operation,
  docs.stripe.com/search): a just-created invoice may not be found yet, which is why every push
  also carries an Idempotency-Key (a repeat within 24 h replays rather than duplicates).
- A ``due_date`` in the past is refused: see :func:`providers.stripe_wire.invoice_form`.
- Limits: live 100 requests/s, test 25 requests/s, plus an unpublished concurrency limiter.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import httpx

from providers import stripe_wire as wire
from providers.base import Capability, Endpoints, Provider
from providers.errors import (
    CredentialsMissing,
    NotFound,
    ProviderError,
    RateLimited,
    Rejected,
    ScopeMissing,
    TenantError,
    TokenRevoked,
    Unavailable,
    UnexpectedResponse,
    WrongEnvironment,
)
from providers.http import LimitKey, Limits, not_json, parse_retry_after
from providers.records import ConnectionInfo, Contact, Invoice, Item, OrgInfo, TaxRate, WriteResult
from providers.stripe_wire import Object, key_kind

logger = logging.getLogger(__name__)

STRIPE_VERSION = "2023-08-16"  # info.version of specs/stripe/spec3.yaml
MAX_PAGE = 100

# Stripe's global limits per mode (https://docs.stripe.com/rate-limits): 100/s live, 25/s test.
LIVE_PER_MINUTE = 100 * 60
TEST_PER_MINUTE = 25 * 60
# Stripe also runs a concurrency limiter whose figure is not published; a handful in flight
# per account keeps one sweep from tripping it.
CONCURRENT = 10

# The restricted-key permission each read needs. Stripe names a missing one in its 403
# message (e.g. 'rak_subscription_read', PROVIDERS.md [SP]); names beyond that example follow
# the same rak_<resource>_<read|write> pattern and are what the sandbox uses by default.
READ_PERMISSIONS: dict[str, str] = {
    "/v1/customers": "rak_customer_read",
    "/v1/products": "rak_product_read",
    "/v1/prices": "rak_price_read",
    "/v1/invoices": "rak_invoice_read",
    "/v1/tax_rates": "rak_tax_rate_read",
}
_PERMISSION_IN_MESSAGE = re.compile(r"'(rak_[a-z0-9_]+)'")


class Stripe(Provider):
    system = "stripe"
    display_name = "Stripe"
    auth_kind = "api_key"
    default_endpoints = Endpoints(base_url="https://api.stripe.com")
    default_limits = Limits(concurrent=CONCURRENT, per_minute=LIVE_PER_MINUTE)
    scopes_needed = tuple(READ_PERMISSIONS.values())
    capabilities = frozenset(
        {
            Capability.ORG,
            Capability.CONTACTS,
            Capability.ITEMS,
            Capability.INVOICES,
            Capability.TAX_RATES,
            Capability.SCOPES,
            Capability.PUSH_INVOICE,
            Capability.CREATE_ITEM,
            Capability.CREATE_CONTACT,
        }
    )
    sku_key: str = "sku"  # product.metadata key holding the SKU (a sync product's choice)

    def __init__(self, *args: Any, sku_key: str | None = None, **kw: Any) -> None:
        options = args[0] if args else kw.get("options")
        configured = options.extra.get("sku_metadata_key") if options is not None else None
        if sku_key or configured:
            self.sku_key = sku_key or configured or self.sku_key
        super().__init__(*args, **kw)

    # -- plumbing -------------------------------------------------------------------------

    def _limiter_keys(self) -> tuple[LimitKey, ...]:
        # Stripe limits each mode of an account separately, and test mode at a quarter of live:
        # the tenant key carries the mode, and an untouched default drops to the test figure.
        mode = self._key_mode() or "unknown"
        limits = self.options.limits
        per_minute = limits.per_minute
        if mode == "test" and per_minute == LIVE_PER_MINUTE:
            per_minute = TEST_PER_MINUTE
        # Stripe counts per second: a rolling minute of 6,000 alone would let a burst of 6,000
        # through in one second. The per-second window is the limit; the minute one stays for
        # a configured per_minute below it.
        per_second = max(per_minute // 60, 1) if per_minute else None
        return (
            LimitKey((self.system, "tenant", self._tenant_key(), mode), limits.concurrent, per_minute),
            LimitKey(
                (self.system, "tenant-second", self._tenant_key(), mode, f"{per_second}/1s"),
                per_window=per_second,
                window=1.0,
            ),
            LimitKey((self.system, "app"), per_window=limits.app_per_minute),
        )

    def _key_mode(self) -> str | None:
        try:
            kind = key_kind(self.tokens.api_key())
        except CredentialsMissing:
            return None
        return kind[1] if kind else None

    def auth_headers(self) -> Mapping[str, str]:
        return {
            "Authorization": f"Bearer {self.tokens.api_key()}",
            "Accept": "application/json",
            "Stripe-Version": STRIPE_VERSION,
        }

    def error_for(self, response: httpx.Response) -> ProviderError:
        """Stripe's ``{"error": {type, code, message, param}}`` -> the error tree."""
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            return not_json(response, self.system)
        err = body.get("error") if isinstance(body, dict) else None
        if not isinstance(err, dict):
            return UnexpectedResponse(
                f"answered {status} without Stripe's error envelope", system=self.system, status=status
            )
        kind = str(err.get("type") or "")
        code = str(err.get("code") or kind or status)
        message = str(err.get("message") or f"HTTP {status}")
        should_retry = response.headers.get("Stripe-Should-Retry", "").strip().lower()
        retry = True if should_retry == "true" else False if should_retry == "false" else None
        kw: dict[str, Any] = {"system": self.system, "code": code, "status": status, "retry": retry}
        if status == 401:
            return TokenRevoked(message, **kw)
        if status == 403:
            return ScopeMissing(message, needed=tuple(_PERMISSION_IN_MESSAGE.findall(message)), **kw)
        if status == 429:
            return RateLimited(message, retry_after=parse_retry_after(response.headers.get("Retry-After")), **kw)
        if status == 404:
            return NotFound(message, **kw)
        if status >= 500:
            return Unavailable(message, **kw)
        if kind in ("idempotency_error", "invalid_request_error", "card_error") or status in (400, 402, 409):
            details = (f"{err['param']}: {message}",) if err.get("param") else ()
            return Rejected(message, details=details, **kw)
        return ProviderError(message, **kw)

    def _list(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Object]:
        """Every object of a list endpoint, following ``starting_after`` while ``has_more``."""
        query: dict[str, Any] = {**(params or {}), "limit": max(1, min(self.options.page_size or MAX_PAGE, MAX_PAGE))}
        while True:
            page = self.api.get_json(path, params=query)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise UnexpectedResponse(f"GET {path} answered without a list envelope", system=self.system)
            yield from data
            if not page.get("has_more") or not data:
                return
            query["starting_after"] = data[-1]["id"]

    def _post(self, path: str, form: Mapping[str, Any], idempotency_key: str) -> tuple[Object, bool]:
        """POST a form with an Idempotency-Key; (object, replayed)."""
        response = self.api.request(
            "POST", path, data=form, headers={"Idempotency-Key": idempotency_key[:255]}, retry_unsafe=True
        )
        body = self.api.json(response)
        if not isinstance(body, dict) or "id" not in body:
            raise UnexpectedResponse(f"POST {path} answered without an object id", system=self.system)
        return body, response.headers.get("Idempotent-Replayed", "").lower() == "true"

    def _account(self) -> Object:
        # The probe, org_info and create_item read it: once per run when a run lends its memo.
        def load() -> Object:
            account = self.api.get_json("/v1/account")
            if not isinstance(account, dict) or not account.get("id"):
                raise UnexpectedResponse("GET /v1/account answered without an account id", system=self.system)
            return account

        return self.memo.once("stripe.account", load)

    def _products(self) -> list[Object]:
        # items() and invoices() (line SKUs) share one listing per run when a run lends its memo.
        return self.memo.once("stripe.products", lambda: list(self._list("/v1/products")))

    # -- reads ----------------------------------------------------------------------------

    def probe(self) -> ConnectionInfo:
        """GET /v1/account; the key's mode against the integration's, the account against the tenant."""
        api_key = self.tokens.api_key()
        kind = key_kind(api_key)
        account = self._account()
        environment = kind[1] if kind else None
        expected = self.options.environment
        if kind and expected and environment != expected:
            prefix = api_key[:8]
            raise WrongEnvironment(
                f"a {environment}-mode {kind[0]} key ({prefix}…) is configured, but this integration is meant "
                f"to use Stripe's {expected} mode; {environment}-mode keys only see {environment}-mode data",
                actual=environment or "unknown",
                expected=expected,
                system=self.system,
                code="wrong_environment",
            )
        name = wire.account_name(account)
        if self.options.tenant and account["id"] != self.options.tenant:
            raise TenantError(
                f"the API key belongs to account {account['id']} ({name or 'unnamed'}), "
                f"not the configured {self.options.tenant}",
                system=self.system,
                code="wrong_account",
            )
        permissions = self._granted_permissions() if kind and kind[0] == "restricted" else None
        return ConnectionInfo(
            tenant_id=str(account["id"]),
            tenant_name=name,
            environment=environment,
            permissions=permissions,
            tenants_available=((str(account["id"]), name or ""),),
        )

    def _granted_permissions(self) -> frozenset[str]:
        """Which read permissions a restricted key holds. Stripe has no endpoint listing a
        restricted key's permissions, so one ``limit=1`` read per resource finds out; writes
        are not probed (that would need a write) and surface as ScopeMissing when attempted."""

        def holds(path: str) -> bool:
            try:
                self.api.get_json(path, params={"limit": 1})
            except ScopeMissing:
                return False
            return True

        held = self.fan_out.map(holds, READ_PERMISSIONS)
        return frozenset(p for p, ok in zip(READ_PERMISSIONS.values(), held, strict=True) if ok)

    def org_info(self) -> OrgInfo:
        """The account (no plan tier, no per-account currency list)."""
        kind = key_kind(self.tokens.api_key())
        return wire.org_info(self._account(), kind[1] if kind else None)

    def contacts(self) -> list[Contact]:
        """GET /v1/customers, all pages. Deleted customers keep only ``{id, deleted}``: skipped."""
        return [wire.contact(raw) for raw in self._list("/v1/customers") if not raw.get("deleted")]

    def items(self) -> list[Item]:
        """Products (active and inactive) with the unit price of their default (or only active) price."""
        products = self.fan_out.start(self._products)  # prices and products: independent listings
        prices = list(self._list("/v1/prices"))
        return wire.items(products.result(), prices, self.sku_key)

    def invoices(self, since: date | None = None) -> list[Invoice]:
        """GET /v1/invoices (``created[gte]`` when ``since``), lines beyond the first page fetched."""
        params: dict[str, Any] = {}
        if since is not None:
            params["created[gte]"] = wire.timestamp(since)
        # The product listing (for line SKUs) and the invoice listing don't depend on each other.
        products = self.fan_out.start(self._products)
        raw_invoices = list(self._list("/v1/invoices", params))
        skus = {p["id"]: wire.sku(p, self.sku_key) for p in products.result()}
        return [wire.invoice(raw, self._lines(raw), skus) for raw in raw_invoices]

    def _lines(self, raw: Mapping[str, Any]) -> list[Object]:
        lines_obj = raw.get("lines") or {}
        lines = list(lines_obj.get("data") or [])
        if lines_obj.get("has_more") and lines:
            # The list carries only the first page of lines; the rest live behind their own cursor.
            lines.extend(self._list(f"/v1/invoices/{raw['id']}/lines", {"starting_after": lines[-1]["id"]}))
        return lines

    def tax_rates(self) -> list[TaxRate]:
        return [wire.tax_rate(raw) for raw in self._list("/v1/tax_rates")]

    def find_invoice(self, number: str) -> Invoice | None:
        """The invoice whose Stripe number, or the reference ``push_invoice`` stored in its
        metadata, is exactly ``number``: one Search API call (see the module docstring for its
        lag), compared exactly here (search matches without regard to case)."""
        literal = wire.search_literal(number)
        query = f"number:{literal} OR metadata[{wire.search_literal(wire.REFERENCE_KEY)}]:{literal}"
        page = self.api.get_json("/v1/invoices/search", params={"query": query, "limit": MAX_PAGE})
        data = page.get("data") if isinstance(page, dict) else None
        if not isinstance(data, list):
            raise UnexpectedResponse("GET /v1/invoices/search answered without a search result", system=self.system)
        matches = [raw for raw in data if isinstance(raw, dict) and number in (raw.get("number"), _reference(raw))]
        if not matches:
            return None
        skus = {p["id"]: wire.sku(p, self.sku_key) for p in self._products()}
        return wire.invoice(matches[0], self._lines(matches[0]), skus)

    # -- writes ---------------------------------------------------------------------------

    def create_contact(self, contact: Contact, *, idempotency_key: str) -> WriteResult:
        """POST /v1/customers."""
        body, replayed = self._post("/v1/customers", wire.customer_form(contact), idempotency_key)
        return WriteResult(id=str(body["id"]), created=not replayed)

    def create_item(self, item: Item, *, idempotency_key: str) -> WriteResult:
        """POST /v1/products with the SKU in metadata and, when priced, a default price in the
        account's default currency."""
        currency = str(self._account().get("default_currency") or "usd") if item.unit_price is not None else None
        body, replayed = self._post("/v1/products", wire.product_form(item, self.sku_key, currency), idempotency_key)
        self.memo.forget("stripe.products")
        return WriteResult(id=str(body["id"]), created=not replayed)

    def push_invoice(self, invoice: Invoice, *, idempotency_key: str) -> WriteResult:
        """A draft invoice for ``invoice.contact_id`` plus one invoice item per line.

        Each request's key derives from ``idempotency_key``, so a push resumed after a crash
        replays what already happened and creates only what is missing. The invoice stays a
        draft: finalising sends it to the customer, a decision left to the account's owner.
        """
        customer = invoice.contact_id
        if not customer:
            raise Rejected("an invoice pushed to Stripe needs a customer id", system=self.system)
        today = datetime.now(UTC).date()
        created, replayed = self._post("/v1/invoices", wire.invoice_form(invoice, today), f"{idempotency_key}:invoice")
        for index, line in enumerate(invoice.lines):
            form = wire.invoice_item_form(line, customer, str(created["id"]), invoice.currency)
            self._post("/v1/invoiceitems", form, f"{idempotency_key}:line:{index}")
        return WriteResult(id=str(created["id"]), created=not replayed, number=created.get("number"))


def _reference(raw: Mapping[str, Any]) -> Any:
    metadata = raw.get("metadata")
    return metadata.get(wire.REFERENCE_KEY) if isinstance(metadata, dict) else None
