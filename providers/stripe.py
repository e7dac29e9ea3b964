"""Stripe: customers, products + prices, invoices and tax rates over the v1 REST API.

Facts this client relies on (``specs/PROVIDERS.md`` section 3, ``specs/stripe/spec3.yaml``):

- Auth is an API key sent as ``Authorization: Bearer``; its prefix says what it is and which
  mode it reaches: secret ``sk_test_``/``sk_live_``, restricted ``rk_test_``/``rk_live_``.
  There is no OAuth and nothing to refresh, so a 401 is final (``TokenRevoked``).
- ``Stripe-Version`` is pinned to the spec's version (2023-08-16) so answers match the
  contract. Invoice lines are still read in both shapes: an account can pin a newer default
  (2025-03-31 "basil": ``pricing.price_details`` / ``parent`` / ``taxes`` instead of
  ``price`` / ``tax_rates`` / ``tax_amounts``) and proxies in front of Stripe may not forward
  our header, so the parser takes whichever shape arrives.
- Lists: ``limit`` 1-100, cursor ``starting_after``; envelope ``{object: list, data, has_more}``.
  An invoice in a list carries the first page of its lines; ``lines.has_more`` means the rest
  is at ``/v1/invoices/{id}/lines``.
- Money is in minor units: divided by 100, except zero-decimal currencies (JPY...) which are
  whole units and three-decimal ones (KWD...) divided by 1000 (https://docs.stripe.com/currencies).
- Invoice status ``uncollectible`` (written off) maps to ``InvoiceStatus.VOID``, as
  ``providers/records.py`` defines VOID ("voided, deleted, uncollectible"): nobody expects the
  money any more. ``raw_status`` keeps Stripe's own word for checks that need the nuance.
- Products have no SKU field; the SKU lives in ``product.metadata[<sku_key>]`` (``"sku"`` by
  default, configurable because each sync product picks its own key).
- Writes carry ``Idempotency-Key`` (up to 255 characters, kept at least 24 h); a repeat with
  the same key replays the first answer with ``Idempotent-Replayed: true``.
- Limits: live 100 requests/s, test 25 requests/s, plus an unpublished concurrency limiter.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

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
from providers.http import ApiClient, Limits, parse_retry_after
from providers.records import (
    Address,
    ConnectionInfo,
    Contact,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Item,
    OrgInfo,
    TaxRate,
    WriteResult,
)

logger = logging.getLogger(__name__)

STRIPE_VERSION = "2023-08-16"  # info.version of specs/stripe/spec3.yaml
MAX_PAGE = 100

# https://docs.stripe.com/currencies#zero-decimal and #three-decimal
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

# Stripe's global limits per mode (https://docs.stripe.com/rate-limits): 100/s live, 25/s test.
LIVE_PER_MINUTE = 100 * 60
TEST_PER_MINUTE = 25 * 60
# Stripe also runs a concurrency limiter whose figure is not published; a handful in flight
# per account keeps one sweep from tripping it.
CONCURRENT = 10

STATUS = {
    "draft": InvoiceStatus.DRAFT,
    "open": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
    "uncollectible": InvoiceStatus.VOID,
    "void": InvoiceStatus.VOID,
}

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
_KEY_PREFIX = re.compile(r"^(sk|rk|pk)_(test|live)_")

# Where push_invoice records the source invoice's number: Stripe assigns ``number`` itself at
# finalisation (POST /v1/invoices takes no number in 2023-08-16), so look-ups match this too.
REFERENCE_KEY = "reference"


def minor_to_major(amount: int | str | None, currency: str) -> Decimal:
    """Stripe's integer minor units -> Decimal major units, honouring zero/three-decimal currencies."""
    if amount is None or amount == "":
        return Decimal(0)
    return Decimal(str(amount)).scaleb(-_exponent(currency))


def major_to_minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(_exponent(currency)).to_integral_value())


def _exponent(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def key_kind(api_key: str) -> tuple[str, str] | None:
    """("secret" | "restricted" | "publishable", "test" | "live") from a key's prefix."""
    match = _KEY_PREFIX.match(api_key)
    if not match:
        return None
    kind = {"sk": "secret", "rk": "restricted", "pk": "publishable"}[match.group(1)]
    return kind, match.group(2)


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
        self._account_cache: dict[str, Any] | None = None
        self._products_cache: list[dict[str, Any]] | None = None
        # Checks read in parallel: the first caller fetches, the others wait for its answer.
        self._account_lock = threading.Lock()
        self._products_lock = threading.Lock()
        super().__init__(*args, **kw)

    # -- plumbing -------------------------------------------------------------------------

    def _make_client(self, base_url: str) -> ApiClient:
        # Stripe limits each mode of an account separately, and test mode at a quarter of live:
        # the limiter key carries the mode, and an untouched default drops to the test figure.
        mode = self._key_mode() or "unknown"
        limits = self.options.limits
        per_minute = limits.per_minute
        if mode == "test" and per_minute == LIVE_PER_MINUTE:
            per_minute = TEST_PER_MINUTE
        tenant_key = self.options.tenant or "default"
        return ApiClient(
            self.system,
            base_url,
            auth_headers=self.auth_headers,
            error_for=self.error_for,
            stats=self.stats,
            limiter_keys=(
                ((self.system, "tenant", tenant_key, mode), limits.concurrent, per_minute),
                ((self.system, "app"), None, limits.app_per_minute),
            ),
            rate_reader=self.rate_status,
            on_unauthorized=None,  # an API key cannot be refreshed: a 401 is the answer
            retry=self.options.retry,
            transport=self.options.transport,
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
            snippet = response.text[:120].replace("\n", " ")
            return UnexpectedResponse(
                f"answered {status} with a body that is not JSON: {snippet!r}", system=self.system, status=status
            )
        err = body.get("error") if isinstance(body, dict) else None
        if not isinstance(err, dict):
            return UnexpectedResponse(
                f"answered {status} without Stripe's error envelope", system=self.system, status=status
            )
        kind = str(err.get("type") or "")
        code = str(err.get("code") or kind or status)
        message = str(err.get("message") or f"HTTP {status}")
        kw: dict[str, Any] = {"system": self.system, "code": code, "status": status}
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

    def _page_size(self) -> int:
        return max(1, min(self.options.page_size or MAX_PAGE, MAX_PAGE))

    def _list(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every object of a list endpoint, following ``starting_after`` while ``has_more``."""
        query: dict[str, Any] = {**(params or {}), "limit": self._page_size()}
        while True:
            page = self.api.get_json(path, params=query)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise UnexpectedResponse(f"GET {path} answered without a list envelope", system=self.system)
            yield from data
            if not page.get("has_more") or not data:
                return
            query["starting_after"] = data[-1]["id"]

    def _post(self, path: str, form: Mapping[str, Any], idempotency_key: str) -> tuple[dict[str, Any], bool]:
        """POST a form with an Idempotency-Key; (object, replayed)."""
        response = self.api.request(
            "POST", path, data=form, headers={"Idempotency-Key": idempotency_key[:255]}, retry_unsafe=True
        )
        body = self.api.json(response)
        if not isinstance(body, dict) or "id" not in body:
            raise UnexpectedResponse(f"POST {path} answered without an object id", system=self.system)
        return body, response.headers.get("Idempotent-Replayed", "").lower() == "true"

    def _account(self) -> dict[str, Any]:
        with self._account_lock:
            if self._account_cache is None:
                account = self.api.get_json("/v1/account")
                if not isinstance(account, dict) or not account.get("id"):
                    raise UnexpectedResponse("GET /v1/account answered without an account id", system=self.system)
                self._account_cache = account
            return self._account_cache

    def _products(self) -> list[dict[str, Any]]:
        # Memoised per instance: items() and invoices() (line SKUs) share one listing per run.
        with self._products_lock:
            if self._products_cache is None:
                self._products_cache = list(self._list("/v1/products"))
            return self._products_cache

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
        name = _account_name(account)
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

        with ThreadPoolExecutor(max_workers=len(READ_PERMISSIONS), thread_name_prefix="stripe-perms") as pool:
            held = dict(zip(READ_PERMISSIONS.values(), pool.map(holds, READ_PERMISSIONS), strict=True))
        return frozenset(permission for permission, ok in held.items() if ok)

    def org_info(self) -> OrgInfo:
        """The account. Stripe has no plan tier (PROVIDERS.md) and charges in any supported
        currency, so ``currencies`` stays empty (no per-account list to enforce)."""
        account = self._account()
        kind = key_kind(self.tokens.api_key())
        currency = account.get("default_currency")
        return OrgInfo(
            tenant_id=str(account["id"]),
            name=_account_name(account) or str(account["id"]),
            base_currency=str(currency).upper() if currency else None,
            features_known=False,
            environment=kind[1] if kind else None,
            country=account.get("country"),
            status="charges_enabled" if account.get("charges_enabled") else "charges_disabled",
        )

    def contacts(self) -> list[Contact]:
        """GET /v1/customers, all pages. Deleted customers keep only ``{id, deleted}``: skipped."""
        found: list[Contact] = []
        for raw in self._list("/v1/customers"):
            if raw.get("deleted"):
                continue
            currency = raw.get("currency")
            found.append(
                Contact(
                    id=str(raw["id"]),
                    name=str(raw.get("name") or ""),
                    email=raw.get("email"),
                    address=_address(raw.get("address")),
                    currency=str(currency).upper() if currency else None,
                )
            )
        return found

    def items(self) -> list[Item]:
        """Products (active and inactive) with the unit price of their default (or only active) price."""
        prices_by_product: dict[str, list[dict[str, Any]]] = {}
        by_id: dict[str, dict[str, Any]] = {}
        # Prices and products are independent listings: read both at once.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stripe-products") as pool:
            products = pool.submit(self._products)
            prices = list(self._list("/v1/prices"))
        for price in prices:
            by_id[price["id"]] = price
            product = price.get("product")
            product_id = product.get("id") if isinstance(product, dict) else product
            prices_by_product.setdefault(str(product_id), []).append(price)
        found: list[Item] = []
        for product in products.result():
            default = product.get("default_price")
            default_id = default.get("id") if isinstance(default, dict) else default
            chosen = by_id.get(str(default_id)) if default_id else None
            if chosen is None:
                active = [p for p in prices_by_product.get(product["id"], []) if p.get("active")]
                chosen = active[0] if len(active) == 1 else None  # several prices: no single unit price
            unit = None
            if chosen is not None and chosen.get("unit_amount") is not None:
                unit = minor_to_major(chosen["unit_amount"], str(chosen.get("currency", "")))
            tax_code = product.get("tax_code")
            found.append(
                Item(
                    id=str(product["id"]),
                    code=(product.get("metadata") or {}).get(self.sku_key) or None,
                    name=str(product.get("name") or ""),
                    active=bool(product.get("active", True)),
                    unit_price=unit,
                    tax_code=tax_code.get("id") if isinstance(tax_code, dict) else tax_code,
                )
            )
        return found

    def invoices(self, since: date | None = None) -> list[Invoice]:
        """GET /v1/invoices (``created[gte]`` when ``since``), lines beyond the first page fetched."""
        params: dict[str, Any] = {}
        if since is not None:
            params["created[gte]"] = _timestamp(since)
        # The product listing (for line SKUs) and the invoice listing don't depend on each other.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stripe-products") as pool:
            products = pool.submit(self._products)
            raw_invoices = list(self._list("/v1/invoices", params))
        skus = {p["id"]: (p.get("metadata") or {}).get(self.sku_key) or None for p in products.result()}
        return [self._invoice(raw, skus) for raw in raw_invoices]

    def tax_rates(self) -> list[TaxRate]:
        found: list[TaxRate] = []
        for raw in self._list("/v1/tax_rates"):
            name = str(raw.get("display_name") or raw["id"])
            if raw.get("jurisdiction"):
                name = f"{name} ({raw['jurisdiction']})"
            pct = raw.get("percentage")
            found.append(
                TaxRate(
                    code=str(raw["id"]),
                    name=name,
                    rate=Decimal(str(pct)) if pct is not None else None,
                    status="active" if raw.get("active", True) else "archived",
                )
            )
        return found

    def find_invoice(self, number: str) -> Invoice | None:
        """Match Stripe's own number or the reference push_invoice stored in metadata."""
        for invoice in self.invoices():
            if invoice.number == number or invoice.reference == number:
                return invoice
        return None

    def _invoice(self, raw: Mapping[str, Any], skus: Mapping[str, str | None]) -> Invoice:
        currency = str(raw.get("currency") or "").upper()
        lines_obj = raw.get("lines") or {}
        raw_lines = list(lines_obj.get("data") or [])
        if lines_obj.get("has_more") and raw_lines:
            # The list carries only the first page of lines; the rest live behind their own cursor.
            rest = self._list(f"/v1/invoices/{raw['id']}/lines", {"starting_after": raw_lines[-1]["id"]})
            raw_lines.extend(rest)
        customer = raw.get("customer")
        customer_id = customer.get("id") if isinstance(customer, dict) else customer
        metadata = raw.get("metadata") or {}
        status = str(raw.get("status") or "draft")
        return Invoice(
            id=str(raw["id"]),
            number=raw.get("number"),
            status=STATUS.get(status, InvoiceStatus.OPEN),
            raw_status=status,
            currency=currency,
            total=minor_to_major(raw.get("total"), currency),
            subtotal=minor_to_major(raw.get("subtotal"), currency) if raw.get("subtotal") is not None else None,
            tax=_invoice_tax(raw, currency),
            amount_due=minor_to_major(raw.get("amount_due"), currency) if raw.get("amount_due") is not None else None,
            amount_paid=minor_to_major(raw.get("amount_paid"), currency)
            if raw.get("amount_paid") is not None
            else None,
            contact_id=str(customer_id) if customer_id else None,
            contact_name=raw.get("customer_name"),
            contact_email=raw.get("customer_email"),
            issue_date=_date(raw.get("effective_at") or raw.get("created")),
            due_date=_date(raw.get("due_date")),
            lines=tuple(_line(line, currency, skus) for line in raw_lines),
            reference=metadata.get(REFERENCE_KEY) if isinstance(metadata, dict) else None,
            source=_application_id(raw.get("application")),
        )

    # -- writes ---------------------------------------------------------------------------

    def create_contact(self, contact: Contact, *, idempotency_key: str) -> WriteResult:
        """POST /v1/customers."""
        form: dict[str, Any] = {"name": contact.name}
        if contact.email:
            form["email"] = contact.email
        if contact.address is not None:
            for field, value in (
                ("line1", contact.address.line1),
                ("city", contact.address.city),
                ("state", contact.address.region),
                ("postal_code", contact.address.postcode),
                ("country", contact.address.country),
            ):
                if value:
                    form[f"address[{field}]"] = value
        if contact.number:
            form[f"metadata[{REFERENCE_KEY}]"] = contact.number
        body, replayed = self._post("/v1/customers", form, idempotency_key)
        return WriteResult(id=str(body["id"]), created=not replayed)

    def create_item(self, item: Item, *, idempotency_key: str) -> WriteResult:
        """POST /v1/products with the SKU in metadata and, when priced, a default price in the
        account's default currency (a product carries no currency of its own)."""
        form: dict[str, Any] = {"name": item.name, "active": "true" if item.active else "false"}
        if item.code:
            form[f"metadata[{self.sku_key}]"] = item.code
        if item.tax_code:
            form["tax_code"] = item.tax_code
        if item.unit_price is not None:
            currency = str(self._account().get("default_currency") or "usd")
            form["default_price_data[currency]"] = currency.lower()
            form["default_price_data[unit_amount]"] = str(major_to_minor(item.unit_price, currency))
        body, replayed = self._post("/v1/products", form, idempotency_key)
        self._products_cache = None
        return WriteResult(id=str(body["id"]), created=not replayed)

    def push_invoice(self, invoice: Invoice, *, idempotency_key: str) -> WriteResult:
        """A draft invoice for ``invoice.contact_id`` plus one invoice item per line.

        Each request's key derives from ``idempotency_key``, so a push resumed after a crash
        replays what already happened and creates only what is missing. The invoice stays a
        draft: finalising sends it to the customer, a decision left to the account's owner.
        """
        if not invoice.contact_id:
            raise Rejected("an invoice pushed to Stripe needs a customer id", system=self.system)
        currency = invoice.currency.lower()
        form: dict[str, Any] = {
            "customer": invoice.contact_id,
            "currency": currency,
            "collection_method": "send_invoice",
            "auto_advance": "false",
            "pending_invoice_items_behavior": "exclude",
        }
        if invoice.due_date is not None:
            form["due_date"] = str(_timestamp(invoice.due_date))
        else:
            form["days_until_due"] = "30"
        if invoice.number:
            form[f"metadata[{REFERENCE_KEY}]"] = invoice.number
        created, replayed = self._post("/v1/invoices", form, f"{idempotency_key}:invoice")
        for index, line in enumerate(invoice.lines):
            item: dict[str, Any] = {"customer": invoice.contact_id, "invoice": created["id"], "currency": currency}
            if line.description:
                item["description"] = line.description
            if line.quantity == line.quantity.to_integral_value():
                item["quantity"] = str(int(line.quantity))
                item["unit_amount"] = str(major_to_minor(line.unit_amount, currency))
            else:  # Stripe quantities are integers: a fractional one goes as the line amount
                item["amount"] = str(major_to_minor(line.amount, currency))
            if line.tax_code:
                item["tax_rates[0]"] = line.tax_code
            self._post("/v1/invoiceitems", item, f"{idempotency_key}:line:{index}")
        return WriteResult(id=str(created["id"]), created=not replayed, number=created.get("number"))


def _application_id(application: Any) -> str | None:
    """The Connect application that created an invoice (``application``: "ID of the Connect
    Application that created the invoice", an id or, expanded, an object), for skip-source lists."""
    if isinstance(application, dict):
        application = application.get("id")
    return str(application) if application else None


def _account_name(account: Mapping[str, Any]) -> str | None:
    profile = account.get("business_profile") or {}
    dashboard = (account.get("settings") or {}).get("dashboard") or {}
    name = profile.get("name") or dashboard.get("display_name")
    return str(name) if name else None


def _address(raw: Any) -> Address | None:
    if not isinstance(raw, dict) or not any(raw.values()):
        return None
    return Address(
        line1=raw.get("line1"),
        city=raw.get("city"),
        region=raw.get("state"),
        postcode=raw.get("postal_code"),
        country=raw.get("country"),
    )


def _timestamp(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _date(timestamp: Any) -> date | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(int(timestamp), tz=UTC).date()


def _invoice_tax(raw: Mapping[str, Any], currency: str) -> Decimal | None:
    # 2023-08-16 has ``tax`` (and ``total_tax_amounts``); basil replaced both with ``total_taxes``.
    if raw.get("tax") is not None:
        return minor_to_major(raw["tax"], currency)
    for key in ("total_taxes", "total_tax_amounts"):
        entries = raw.get(key)
        if isinstance(entries, list):
            return sum((minor_to_major(e.get("amount"), currency) for e in entries), Decimal(0))
    return None


def _line(raw: Mapping[str, Any], currency: str, skus: Mapping[str, str | None]) -> InvoiceLine:
    """One invoice line in either shape: 2023-08-16 (``price`` object, ``tax_rates``) or basil
    (``pricing.price_details``, ``taxes[].tax_rate_details``)."""
    product_id: str | None = None
    unit_decimal: Any = None
    price = raw.get("price")
    pricing = raw.get("pricing")
    if isinstance(price, dict):
        product = price.get("product")
        product_id = product.get("id") if isinstance(product, dict) else product
        unit_decimal = (
            raw.get("unit_amount_excluding_tax") or price.get("unit_amount_decimal") or price.get("unit_amount")
        )
    elif isinstance(pricing, dict):
        details = pricing.get("price_details") or {}
        product = details.get("product")
        product_id = product.get("id") if isinstance(product, dict) else product
        unit_decimal = pricing.get("unit_amount_decimal")
    quantity = Decimal(str(raw.get("quantity") or 1))
    amount = minor_to_major(raw.get("amount"), currency)
    if unit_decimal is not None:
        unit = minor_to_major(unit_decimal, currency)
    else:
        unit = (amount / quantity) if quantity else amount
    return InvoiceLine(
        description=raw.get("description"),
        sku=skus.get(str(product_id)) if product_id else None,
        item_id=str(product_id) if product_id else None,
        quantity=quantity,
        unit_amount=unit,
        amount=amount,
        tax_code=_line_tax_code(raw),
    )


def _line_tax_code(raw: Mapping[str, Any]) -> str | None:
    for rate in raw.get("tax_rates") or ():
        return str(rate.get("id")) if isinstance(rate, dict) else str(rate)
    for tax in raw.get("taxes") or ():
        details = tax.get("tax_rate_details") or {}
        rate = details.get("tax_rate")
        if rate:
            return str(rate.get("id")) if isinstance(rate, dict) else str(rate)
    for amount in raw.get("tax_amounts") or ():
        rate = amount.get("tax_rate")
        if rate:
            return str(rate.get("id")) if isinstance(rate, dict) else str(rate)
    return None
