"""Zoho Books (API v3): the client. JSON <-> records is :mod:`providers.zoho_books_wire`; the
consent, the token endpoint's refusals, the error envelope and the quota headers are read by
:mod:`providers.zoho_books_access`; what writes name by id is resolved by
:mod:`providers.zoho_books_writes`.

Facts (sources as in /work/notes/zoho_myob.md and specs/PROVIDERS.md section 5):

- Auth: OAuth 2 per data centre. The consent redirect carries ``location`` and
  ``accounts-server``, and the code must be exchanged at that server; the token response's
  ``api_domain`` is where the API lives [Z-MDC, Z-REFRESH] (CONFIRMED). Calls send
  ``Authorization: Zoho-oauthtoken <token>`` [Z-INTRO] (CONFIRMED). Access tokens live an hour;
  a refresh token mints at most ten access tokens in ten minutes, then "access token creation
  will be blocked for the rest of the ten minutes" [Z-REFRESH] (CONFIRMED). The refusal's body,
  ``{"error": "Access Denied", "error_description": "You have made too many requests
  continuously..."}`` on HTTP 400, is 2ry (many public clients quote it; confirmed again by
  search for this module) and becomes :class:`RefreshThrottled`. A dead refresh token answers
  ``{"error": "invalid_code"}`` (2ry, often on HTTP 200) -> RefreshFailed. Scopes are
  comma-separated, ``access_type=offline`` gets a refresh token, ``prompt=consent`` a new one.
- Tenancy: ``organization_id`` on every call [Z-INTRO] (CONFIRMED); one token reaches every
  organisation of its user, listed by ``GET /organizations``. A configured organisation the
  token does not reach is reported before any other read (one TenantError, not one per read).
- Paging: ``page`` / ``per_page`` (200 by default; 200 as the maximum is 2ry), answered with
  ``page_context.has_more_page`` [Z-PAGE] (CONFIRMED).
- Errors: ``{"code", "message"}``; ``code: 0`` is success [Z-ERR] (CONFIRMED). A non-zero code on
  HTTP 200 is guarded against (UNCONFIRMED that Zoho sends one). 57 "You are not authorized to
  perform this operation" on 401 (2ry); 1002 "... does not exist." (CONFIRMED, status not given).
- Limits: 100 requests a minute per organisation and a daily quota by plan (Free 1,000 ...
  10,000; 2ry, figures disputed), 429 over either (CONFIRMED status). Responses carry
  ``X-Rate-Limit-Limit`` / ``-Remaining`` / ``-Reset`` (2ry: two clients and a real capture):
  the daily quota the platform check reads, and what a 429 waits for when the day is spent.
- Reads: invoice list rows carry no ``line_items`` [Z-INV] (CONFIRMED): each invoice's lines
  cost one ``GET /invoices/{id}``. :meth:`ZohoBooks.invoices` reads them only for the invoices
  asked for, and refuses (RateLimited, "quota_reserve") when they would leave less than 2% of
  the day's quota to the sync itself. Line items carry no SKU (UNCONFIRMED either way): the
  item's ``sku`` is used. Reporting tags live at ``/reportingtags`` (2ry; ``/settings/tags`` in
  one client): ``options.reporting_tags_path`` changes it. The transaction-lock list's path is
  UNCONFIRMED (``options.transaction_lock_path``, default ``/transactionlocks``); where it
  cannot be read the lock date stays unknown.
- Writes: no idempotency key exists, so every push looks the number up first
  (``GET /invoices?invoice_number=`` is an exact filter [Z-INV], CONFIRMED); custom numbers need
  ``ignore_auto_number_generation=true`` (CONFIRMED). New invoices are drafts; an open one is
  then marked sent (``POST /invoices/{id}/status/sent``, 2ry: widely used).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import httpx

from common.types import JSON
from providers import zoho_books_access as access
from providers import zoho_books_wire as wire
from providers.base import Capability, Consent, Endpoints, Provider, Rules
from providers.errors import (
    NotFound,
    ProviderError,
    RateLimited,
    Rejected,
    ScopeMissing,
    TenantError,
    UnexpectedResponse,
)
from providers.http import Limits
from providers.records import (
    Account,
    ConnectionInfo,
    Contact,
    Invoice,
    InvoiceStatus,
    Item,
    OrgInfo,
    Payment,
    RateStatus,
    TaxRate,
    TrackingCategory,
    WriteResult,
)
from providers.zoho_books_writes import Resolver

logger = logging.getLogger(__name__)

MAX_PAGE = 200
# Of the day's quota, what line reads leave to the sync itself (the platform check already warns
# below a tenth): a check must never be what stops the sync.
QUOTA_RESERVE = 0.02
QUOTA_FLOOR = 20  # calls kept when the day's limit is not stated


class ZohoBooks(Provider):
    system: ClassVar[str] = "zoho_books"
    display_name: ClassVar[str] = "Zoho Books"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability) - {Capability.SCOPES, Capability.PLAN}
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        base_url="https://www.zohoapis.com",
        token_url="https://accounts.zoho.com/oauth/v2/token",
        authorize_url="https://accounts.zoho.com/oauth/v2/auth",
    )
    # 100/min per organisation (2ry); 5 concurrent, the free plan's figure (paid: 10, 2ry).
    default_limits: ClassVar[Limits] = Limits(concurrent=5, per_minute=100)
    scopes_needed: ClassVar[tuple[str, ...]] = (
        "ZohoBooks.invoices.ALL",
        "ZohoBooks.contacts.ALL",
        "ZohoBooks.settings.ALL",
        "ZohoBooks.accountants.READ",
        "ZohoBooks.customerpayments.READ",
    )
    scope_separator: ClassVar[str] = ","
    consent_params: ClassVar[Mapping[str, str]] = {"access_type": "offline", "prompt": "consent"}
    client_auth = "post"  # client_id / client_secret as parameters [Z-REFRESH]
    supports_pkce: ClassVar[bool] = False  # not documented for Books
    # contact_name <= 200, item name <= 100 (2ry: the official OAS via a derived copy); SKU length
    # and case rules are not documented (the emulator's sku_case_sensitive), so they stay unknown.
    rules: ClassVar[Rules] = Rules(
        contact_name_max=wire.CONTACT_NAME_MAX, item_name_max=wire.ITEM_NAME_MAX, item_code_case_sensitive=None
    )

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._org: str | None = None
        self._orgs: list[JSON] | None = None
        self._root: str | None = None

    # -- consent and token endpoint ---------------------------------------------------------

    @classmethod
    def read_consent(cls, params: Mapping[str, str], endpoints: Endpoints, configured_tenant: str | None) -> Consent:
        return access.consent(params, endpoints)

    @classmethod
    def token_error(cls, status: int, payload: Mapping[str, Any]) -> ProviderError | None:
        return access.token_error(status, payload)

    @classmethod
    def token_extra(cls, payload: Mapping[str, Any]) -> Mapping[str, str]:
        domain = payload.get("api_domain")
        return {"api_domain": domain} if isinstance(domain, str) and domain else {}

    # -- plumbing ---------------------------------------------------------------------------

    def auth_headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Zoho-oauthtoken {self.tokens.access_token()}", "Accept": "application/json"}

    def _api(self) -> str:
        """``{api_domain}/books/v3``: the domain the token response named, or the configured one."""
        if self._root is None:
            configured = self.options.endpoints.base_url
            stored = self.tokens.credentials().extra.get("api_domain")
            domain = configured.rstrip("/")
            if stored:
                trusted = wire.trusted_url(stored, wire.api_domains(), configured)
                if trusted is None:
                    raise UnexpectedResponse(f"the stored API domain {stored!r} is not Zoho's", system=self.system)
                domain = trusted
            self._root = domain + wire.API_ROOT
        return self._root

    def _call(self, method: str, path: str, params: Mapping[str, Any] | None = None, **kw: Any) -> JSON:
        query = dict(params or {})
        if path != "/organizations":
            query["organization_id"] = self.org_id()
        response = self.api.request(method, self._api() + path, params=query, **kw)
        data = self.api.json(response)
        if not isinstance(data, dict):
            raise UnexpectedResponse(f"{method} {path} did not answer a JSON object", system=self.system)
        if data.get("code") not in (0, None):  # an error carried on a 2xx [Z-ERR]
            raise self._error(response.status_code, data, response)
        return data

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> JSON:
        return self._call("GET", path, params)

    def _rows(self, data: Mapping[str, Any], key: str) -> list[JSON]:
        found = wire.rows(data, key)
        if found is None:
            raise UnexpectedResponse(f"the answer has no {key} list", system=self.system)
        return found

    def _paged(self, path: str, key: str, params: Mapping[str, Any] | None = None) -> list[JSON]:
        size = min(self.options.page_size or MAX_PAGE, MAX_PAGE)
        found: list[JSON] = []
        page = 1
        while True:
            data = self._get(path, {**(params or {}), "page": page, "per_page": size})
            found.extend(self._rows(data, key))
            if not wire.has_more(data):
                return found
            page += 1

    def _organizations(self) -> list[JSON]:
        """Every organisation the token reaches: read once per run (and per provider)."""
        if self._orgs is None:
            self._orgs = self.memo.once(
                "zoho_books.organizations", lambda: self._rows(self._get("/organizations"), "organizations")
            )
        return self._orgs

    def org_id(self) -> str:
        """The organisation every call names: configured, stored, or the only one reachable."""
        if self._org is None:
            wanted = self.options.tenant or self.tokens.credentials().tenant_id
            reached = [(str(o.get("organization_id")), str(o.get("name") or "")) for o in self._organizations()]
            ids = [org for org, _ in reached]
            if wanted and wanted in ids:
                self._org = wanted
            elif not wanted and len(ids) == 1:
                self._org = ids[0]
            else:
                names = ", ".join(f"{name} ({org})" for org, name in reached) or "no organisation"
                message = (
                    f"this connection does not reach the configured organisation {wanted}; it reaches: {names}"
                    if wanted
                    else f"no organisation is configured and this connection reaches {names}; set the tenant id"
                )
                raise TenantError(message, system=self.system, code="organization_not_reached")
        return self._org

    # -- errors and limits ------------------------------------------------------------------

    def error_for(self, response: httpx.Response) -> ProviderError:
        try:
            body = response.json()
        except ValueError:
            body = None
        return self._error(response.status_code, body if isinstance(body, dict) else {}, response)

    def _error(self, status: int, body: Mapping[str, Any], response: httpx.Response) -> ProviderError:
        return access.error(status, body, response, self.scopes_needed, self.tokens.credentials().scopes)

    def rate_status(self, response: httpx.Response) -> RateStatus | None:
        return access.rate_status(response)

    def _spend(self, calls: int, what: str) -> None:
        """Refuse ``calls`` more calls when they would leave the sync less than its reserve of
        the day's quota (as the latest response stated it)."""
        status = self.stats.rate_status(self.system)
        if status.day_remaining is None or calls == 0:
            return
        reserve = int(status.day_limit * QUOTA_RESERVE) if status.day_limit else QUOTA_FLOOR
        if status.day_remaining - calls < reserve:
            of = f" of today's {status.day_limit}" if status.day_limit else ""
            raise RateLimited(
                f"{what} takes {calls} calls (one per invoice); only {status.day_remaining}{of} are left "
                f"and Sync Doctor leaves {reserve} to the sync itself",
                system=self.system,
                code="quota_reserve",
                limit="day",
            )

    # -- reads ------------------------------------------------------------------------------

    def probe(self) -> ConnectionInfo:
        """``GET /organizations``: every organisation the token reaches; the configured one must be there."""
        org = self.org_id()
        reached = tuple((str(o.get("organization_id")), str(o.get("name") or "")) for o in self._organizations())
        scopes = self.tokens.credentials().scopes
        return ConnectionInfo(
            tenant_id=org,
            tenant_name=next((name for oid, name in reached if oid == org), None),
            scopes=frozenset(scopes) if scopes else None,
            tenants_available=reached,
        )

    def org_info(self) -> OrgInfo:
        """The organisation, its currencies and its transaction lock."""
        currencies = self.fan_out.start(self.currency_rows)
        lock = self.fan_out.start(self._lock_date)
        org = self._get(f"/organizations/{self.org_id()}").get("organization")
        if not isinstance(org, dict):
            raise UnexpectedResponse("GET /organizations/{id} answered no organization", system=self.system)
        return wire.org_info(org, currencies.result(), lock.result(), self.org_id())

    def currency_rows(self) -> list[JSON]:
        return self.memo.once(
            "zoho_books.currencies", lambda: self._rows(self._get("/settings/currencies"), "currencies")
        )

    def _lock_date(self) -> date | None:
        path = self.options.extra.get("transaction_lock_path", "/transactionlocks")
        try:
            data = self._get(path)
        except (NotFound, Rejected, ScopeMissing) as e:
            logger.warning("Zoho Books transaction locks unreadable (%s): lock date unknown", e)
            return None
        return wire.lock_date(wire.rows(data, "transaction_locks") or [])

    def contacts(self) -> list[Contact]:
        rows = self._paged("/contacts", "contacts", {"filter_by": "Status.All"})
        return [wire.contact(row) for row in rows if wire.is_customer(row)]

    def items(self) -> list[Item]:
        return [wire.item(row) for row in self._paged("/items", "items", {"filter_by": "Status.All"})]

    def accounts(self) -> list[Account]:
        rows = self._paged("/chartofaccounts", "chartofaccounts", {"filter_by": "AccountType.All"})
        return [wire.account(row) for row in rows]

    def tax_rates(self) -> list[TaxRate]:
        return [wire.tax_rate(row) for row in self.tax_rows()]

    def tax_rows(self) -> list[JSON]:
        return self.memo.once("zoho_books.taxes", lambda: self._rows(self._get("/settings/taxes"), "taxes"))

    def tracking_categories(self) -> list[TrackingCategory]:
        return [wire.tracking_category(row) for row in self.tag_rows()]

    def tag_rows(self) -> list[JSON]:
        path = self.options.extra.get("reporting_tags_path", "/reportingtags")
        return self.memo.once("zoho_books.tags", lambda: self._rows(self._get(path), "tags"))

    def invoices(self, since: date | None = None) -> list[Invoice]:
        """Every invoice (modified since ``since``), lines included: one list page per 200 and
        one detail read per invoice (list rows carry no lines), within the day's quota."""
        rows = self.invoice_list(since)
        self._spend(len(rows), f"reading the lines of {len(rows)} invoices")
        details = self.fan_out.map(self._invoice_detail, rows, lanes=self.options.limits.concurrent)
        return self._records(details)

    def invoice_list(self, since: date | None = None) -> list[JSON]:
        """The invoice list rows (no lines), modified since ``since``: read once per run."""
        params: dict[str, Any] = {"filter_by": "Status.All"}
        if since is not None:
            params["last_modified_time"] = wire.zoho_time(datetime(since.year, since.month, since.day, tzinfo=UTC))
        key = f"zoho_books.invoice_list:{since}"
        return self.memo.once(key, lambda: self._paged("/invoices", "invoices", params))

    def _invoice_detail(self, row: JSON) -> JSON:
        found = self._get(f"/invoices/{row.get('invoice_id')}").get("invoice")
        if not isinstance(found, dict):
            raise UnexpectedResponse("GET /invoices/{id} answered no invoice", system=self.system)
        return found

    def _records(self, details: list[JSON]) -> list[Invoice]:
        if not details:
            return []
        items = self.memo.once("items", self.items)
        skus = {i.id: i.code for i in items}
        # Lines name their account (UNCONFIRMED that Zoho sends it): the chart is read only for a
        # line giving an id without a name.
        needs_accounts = any(
            li.get("account_id") and not li.get("account_name") for d in details for li in d.get("line_items") or []
        )
        accounts = {a.id: a for a in self.memo.once("accounts", self.accounts)} if needs_accounts else {}
        return [wire.invoice(d, skus, accounts) for d in details]

    def find_invoice(self, number: str) -> Invoice | None:
        """The invoice numbered exactly ``number``: the exact ``invoice_number`` filter, then
        its detail read (two calls at most)."""
        rows = self._rows(self._get("/invoices", {"invoice_number": number}), "invoices")
        exact = [r for r in rows if r.get("invoice_number") == number]
        if not exact:
            return None
        return self._records([self._invoice_detail(exact[0])])[0]

    def payments(self, since: date | None = None) -> list[Payment]:
        """Payments applied to invoices, dated on or after ``since`` (filtered here: the list's
        date filters are documented for invoices only)."""
        found = [p for row in self._paged("/customerpayments", "customerpayments") for p in wire.payments(row)]
        return [p for p in found if since is None or p.date is None or p.date >= since]

    # -- writes -----------------------------------------------------------------------------

    def push_invoice(self, invoice: Invoice, *, idempotency_key: str) -> WriteResult:
        """Create ``invoice`` unless one with its number is already there (Zoho has no
        idempotency key, so the number is looked up before every push)."""
        if invoice.status is InvoiceStatus.VOID:
            raise Rejected(
                f"invoice {invoice.number or invoice.id} is void; Zoho Books cannot create it void",
                system=self.system,
                code="not_pushable",
            )
        if invoice.number:
            existing = self.find_invoice(invoice.number)
            if existing is not None:
                status = existing.raw_status or ""
                return WriteResult(existing.id, created=False, number=existing.number, extra={"status": status})
        resolver = Resolver(self)
        body = wire.invoice_body(invoice, resolver.lines(invoice), resolver.currency_id(invoice.currency))
        params = {"ignore_auto_number_generation": "true"} if invoice.number else {}
        created = self._created(self._call("POST", "/invoices", params, json=body), "invoice")
        status = str(created.get("status") or "draft")
        if invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.PAID) and status == "draft":
            self._call("POST", f"/invoices/{created['invoice_id']}/status/sent")
            status = "sent"
        number = created.get("invoice_number")
        return WriteResult(str(created["invoice_id"]), created=True, number=number, extra={"status": status})

    def create_item(self, item: Item, *, idempotency_key: str) -> WriteResult:
        """Create an item whose ``sku`` is ``item.code``; one with that exact SKU is reused."""
        if item.code:
            found = self._rows(self._get("/items", {"search_text": item.code}), "items")
            same = next((r for r in found if r.get("sku") == item.code), None)
            if same is not None:
                return WriteResult(str(same.get("item_id")), created=False, number=item.code)
        resolver = Resolver(self)
        body = wire.item_body(item, resolver.tax_id(item.tax_code), resolver.account_id(item.account_code))
        created = self._created(self._call("POST", "/items", json=body), "item")
        self.memo.forget("items")
        return WriteResult(str(created["item_id"]), created=True, number=created.get("sku"))

    def create_contact(self, contact: Contact, *, idempotency_key: str) -> WriteResult:
        """Create a customer; an existing contact with exactly this name is reused."""
        found = self._rows(self._get("/contacts", {"contact_name": contact.name}), "contacts")
        same = next((r for r in found if r.get("contact_name") == contact.name), None)
        if same is not None:
            return WriteResult(str(same.get("contact_id")), created=False)
        created = self._created(self._call("POST", "/contacts", json=wire.contact_body(contact)), "contact")
        return WriteResult(str(created["contact_id"]), created=True)

    def _created(self, data: JSON, key: str) -> JSON:
        found = data.get(key)
        if not isinstance(found, dict) or not found.get(f"{key}_id"):
            raise UnexpectedResponse(f"creating a {key} answered without its {key}_id", system=self.system)
        return found
