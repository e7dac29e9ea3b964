"""MYOB Business API (AccountRight Live v2): the client. JSON <-> records is
:mod:`providers.myob_wire`; the consent, the error envelope and throttles are read by
:mod:`providers.myob_access`; what writes name by UID is resolved by :mod:`providers.myob_writes`.

Facts (sources as in /work/notes/zoho_myob.md and specs/PROVIDERS.md section 6):

- Auth: OAuth 2 with the developer's API key as client id; token endpoint
  ``https://secure.myob.com/oauth2/v1/authorize`` (form body with client id and secret),
  consent at ``/oauth2/account/authorize`` [M-AUTH] (CONFIRMED-CODE [SDK]). Keys made after
  12 March 2025 use the ``sme-*`` scopes [M-E2E, M-SC] (CONFIRMED); consent picks one company
  file, returned only on the redirect as ``businessId`` / ``businessName`` when
  ``prompt=consent`` was sent [M-GUID] (CONFIRMED): :meth:`Myob.read_consent` refuses a file
  other than the configured one. Access tokens live 20 minutes (``expires_in`` 1200,
  UNCONFIRMED: the SDK reads ``expires_in``, as TokenManager does); refresh tokens rotate.
- Every call: ``Authorization: Bearer``, ``x-myobapi-key`` (the API key), ``x-myobapi-version:
  v2`` [M-V2, SDK]; ``x-myobapi-cftoken: base64(user:password)`` when the file needs its own
  sign-in (not under SSO) [M-AD] (CONFIRMED), taken from the stored ``tenant_user`` /
  ``tenant_password`` (``sync-doctor connect ... --company-file-user``).
- Tenancy: ``{cf_uri} = {base}/accountright/{businessId}`` [M-SC] (CONFIRMED).
- Paging: OData ``$top`` (at most 1000) / ``$skip`` / ``$filter`` [M-RD] (CONFIRMED); lists are
  ``{Items, NextPageLink, Count}`` (CONFIRMED-CODE [SDK]); invoice list rows carry their lines.
- Errors: ``{"Errors": [{Name, Message, AdditionalDetails, ErrorCode, Severity, LearnMore}],
  "Information"}`` (CONFIRMED-CODE [SDK]). Throttling is **403 RateLimitError** ("per-second" or
  "daily") [M-ERR] (CONFIRMED): a rate limit, never an auth error. 403 DeveloperInactive: the
  API key is missing or inactive. 401 ``OAuthTokenIsInvalid`` (ErrorCode 31001) for a refused
  token (2ry: several public clients). Company-file sign-in refusals answer "Access denied"
  with 401 or 403 (status and body UNCONFIRMED [M-AD]): when the token's own file is the
  configured one they are :class:`TenantLoginRejected`, otherwise :class:`TenantError`.
- Limits: 8 calls a second and 1,000,000 a day per API key [M-RL] (CONFIRMED): the per-second
  limit is held client-side for every connection sharing the key. No quota header is documented.
- Writes: no idempotency key, so the number is looked up before every push
  (``$filter=Number eq '...'``); invoices are POSTed to ``/Sale/Invoice/Item`` (the plain
  ``/Sale/Invoice`` is GET only [M-NEWINV], CONFIRMED) with ``returnBody=true``, answered 201
  with ``Location`` [SDK]. Invoice numbers are at most 13 characters [M-INVI]. MYOB has no
  draft invoices (Status is Open / Closed / Credit), so drafts are refused, not faked.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

import httpx

from common.types import JSON
from providers import myob_access as access
from providers import myob_wire as wire
from providers.base import Capability, Consent, Endpoints, Provider, Rules
from providers.errors import (
    CredentialsMissing,
    ProviderError,
    Rejected,
    TenantError,
    TenantLoginRejected,
    UnexpectedResponse,
)
from providers.http import LimitKey, Limits
from providers.myob_writes import Resolver
from providers.records import (
    Account,
    ConnectionInfo,
    Contact,
    Feature,
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

logger = logging.getLogger(__name__)

MAX_TOP = 1000  # [M-RD]
PER_SECOND = 8  # per API key [M-RL]
# The client's window is longer than MYOB's second: calls that start a second apart can still
# arrive closer together (a burst's first calls open connections, later ones reuse them), and a
# ninth arrival inside MYOB's second is a 403.
WINDOW_SLACK = 0.5


class Myob(Provider):
    system: ClassVar[str] = "myob"
    display_name: ClassVar[str] = "MYOB"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability) - {Capability.SCOPES}
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        base_url="https://api.myob.com",
        token_url="https://secure.myob.com/oauth2/v1/authorize",
        authorize_url="https://secure.myob.com/oauth2/account/authorize",
    )
    default_limits: ClassVar[Limits] = Limits(concurrent=4)
    scopes_needed: ClassVar[tuple[str, ...]] = (
        "sme-company-file",
        "sme-company-settings",
        "sme-contacts-customer",
        "sme-general-ledger",
        "sme-inventory",
        "sme-sales",
    )
    consent_params: ClassVar[Mapping[str, str]] = {"prompt": "consent"}  # else no businessId [M-GUID]
    # A file listing a currency besides its own takes foreign invoices (myob_wire.org_info).
    plan_features: ClassVar[frozenset[Feature]] = frozenset({Feature.MULTICURRENCY})
    tenant_login: ClassVar[bool] = True  # a company file may require its own user sign-in
    client_auth = "post"
    supports_pkce: ClassVar[bool] = False
    # Number and Name at most 30 [M-ITEM]; a customer's name on an invoice at most 50 [M-INVI].
    # Whether Item.Number matching ignores case is UNCONFIRMED (the emulator's
    # item_number_case_sensitive), so it stays unknown and checks keep the strict reading.
    rules: ClassVar[Rules] = Rules(
        contact_name_max=wire.CONTACT_NAME_MAX,
        item_code_max=wire.ITEM_CODE_MAX,
        item_name_max=wire.ITEM_NAME_MAX,
        item_code_case_sensitive=None,
    )

    def __init__(self, *args: Any, **kw: Any) -> None:
        self._denied = threading.local()  # per request thread: the last 401 was a sign-in refusal
        super().__init__(*args, **kw)

    # -- consent ----------------------------------------------------------------------------

    @classmethod
    def read_consent(cls, params: Mapping[str, str], endpoints: Endpoints, configured_tenant: str | None) -> Consent:
        return access.consent(params, configured_tenant)

    # -- plumbing ---------------------------------------------------------------------------

    def _api_key(self) -> str:
        app = self.options.oauth_app
        if app is None or not app.client_id:
            raise CredentialsMissing("MYOB_CLIENT_ID (the MYOB API key) is not set", system=self.system)
        return app.client_id

    def _limiter_keys(self) -> tuple[LimitKey, ...]:
        """The base limits, plus MYOB's per-second limit shared by every file of the API key."""
        app = self.options.oauth_app
        window = 1.0 + WINDOW_SLACK
        key = ("myob", "api_key", app.client_id if app else "", f"{PER_SECOND}/{window}s")
        return (*super()._limiter_keys(), LimitKey(key, per_window=PER_SECOND, window=window))

    def refresh_after_401(self) -> None:
        """A 401 refusing the company file's own sign-in is not the token's fault: refreshing
        (and rotating) the token would not help, so only other 401s refresh it."""
        if getattr(self._denied, "sign_in", False):
            self._denied.sign_in = False
            return
        self.tokens.force_refresh()

    def auth_headers(self) -> Mapping[str, str]:
        headers = {
            "Authorization": f"Bearer {self.tokens.access_token()}",
            "x-myobapi-key": self._api_key(),
            "x-myobapi-version": "v2",
            "Accept": "application/json",
        }
        extra = self.tokens.credentials().extra
        if extra.get("tenant_user"):
            pair = f"{extra['tenant_user']}:{extra.get('tenant_password', '')}".encode()
            headers["x-myobapi-cftoken"] = base64.b64encode(pair).decode()
        return headers

    def company_file(self) -> str:
        found = self.options.tenant or self.tokens.credentials().tenant_id
        if not found:
            raise TenantError("no MYOB company file (businessId) is configured for this connection", system=self.system)
        return found

    def _cf(self, tail: str = "") -> str:
        return f"/accountright/{self.company_file()}{tail}"

    def _get(self, tail: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.api.get_json(self._cf(tail), params=params)

    def _paged(self, tail: str, where: str | None = None) -> list[JSON]:
        top = min(self.options.page_size or MAX_TOP, MAX_TOP)
        found: list[JSON] = []
        while True:
            params: dict[str, Any] = {"$top": top, "$skip": len(found)}
            if where:
                params["$filter"] = where
            data = self._get(tail, params)
            rows = wire.items_of(data)
            if rows is None:
                raise UnexpectedResponse(f"GET {tail} did not answer a collection", system=self.system)
            found.extend(rows)
            more = data.get("NextPageLink") if "NextPageLink" in data else len(rows) == top
            if not rows or not more:
                return found

    def _once(self, key: str, tail: str) -> list[JSON]:
        return self.memo.once(f"myob.{key}", lambda: self._paged(tail))

    # -- errors -----------------------------------------------------------------------------

    def error_for(self, response: httpx.Response) -> ProviderError:
        creds = self.tokens.credentials()
        error = access.error(response, self.scopes_needed, creds, self.company_file())
        if isinstance(error, TenantLoginRejected):
            self._denied.sign_in = True  # this thread's 401 is not the token's: no refresh
        return error

    def rate_status(self, response: httpx.Response) -> RateStatus | None:
        return access.rate_status(response)

    # -- reads ------------------------------------------------------------------------------

    def _file(self) -> JSON:
        def load() -> JSON:
            data = self._get("/", {"$expand": "Subscription"})
            found = data.get("CompanyFile") if isinstance(data, dict) else None
            if not isinstance(found, dict):
                raise UnexpectedResponse("GET {cf_uri} answered no CompanyFile", system=self.system)
            return found

        return self.memo.once("myob.company_file", load)

    def probe(self) -> ConnectionInfo:
        """``GET {cf_uri}``: the company file the token reaches (the one picked at consent)."""
        found = self._file()
        file_id = str(found.get("Id") or self.company_file())
        name = str(found.get("Name") or "")
        scopes = self.tokens.credentials().scopes
        return ConnectionInfo(
            tenant_id=file_id,
            tenant_name=name or None,
            scopes=frozenset(scopes) if scopes else None,
            tenants_available=((file_id, name),),
        )

    def org_info(self) -> OrgInfo:
        company = self.fan_out.start(lambda: self._object("/Company"))
        prefs = self.fan_out.start(self._preferences)
        currencies = self.fan_out.start(lambda: self._once("currencies", "/GeneralLedger/Currency"))
        found = self._file()
        return wire.org_info(found, company.result(), prefs.result(), currencies.result(), self.company_file())

    def _object(self, tail: str) -> JSON:
        data = self._get(tail)
        if not isinstance(data, dict):
            raise UnexpectedResponse(f"GET {tail} did not answer an object", system=self.system)
        return data

    def _preferences(self) -> JSON:
        return self.memo.once("myob.preferences", lambda: self._object("/Company/Preferences"))

    def _base(self) -> str:
        return wire.base_currency(self._file())

    def contacts(self) -> list[Contact]:
        return [wire.contact(row) for row in self._paged("/Contact/Customer")]

    def items(self) -> list[Item]:
        return [wire.item(row) for row in self.item_rows()]

    def item_rows(self) -> list[JSON]:
        return self._once("items", "/Inventory/Item")

    def accounts(self) -> list[Account]:
        return [wire.account(row) for row in self.account_rows()]

    def account_rows(self) -> list[JSON]:
        return self._once("accounts", "/GeneralLedger/Account")

    def tax_rates(self) -> list[TaxRate]:
        return [wire.tax_rate(row) for row in self.tax_rows()]

    def tax_rows(self) -> list[JSON]:
        return self._once("taxes", "/GeneralLedger/TaxCode")

    def job_rows(self) -> list[JSON]:
        return self._once("jobs", "/GeneralLedger/Job")

    def category_rows(self) -> list[JSON]:
        return self._once("categories", "/GeneralLedger/Category")

    def tracking_categories(self) -> list[TrackingCategory]:
        prefs = self.fan_out.start(self._preferences)
        jobs = self.fan_out.start(self.job_rows)
        categories = self.category_rows()
        system = prefs.result().get("System")
        setting = str(system.get("CategoryTracking") or "Off") if isinstance(system, dict) else "Off"
        return wire.tracking(jobs.result(), categories, setting)

    def _lookups(self, rows: list[JSON]) -> wire.Lookups:
        rates = {r.code: r.rate for r in self.tax_rates() if r.rate is not None}
        needs_names = any(isinstance(r.get("Category"), dict) and not r["Category"].get("Name") for r in rows)
        names = {str(c.get("UID")): str(c.get("Name") or "") for c in self.category_rows()} if needs_names else {}
        return wire.Lookups(base_currency=self._base(), tax_rates=rates, categories=names)

    def invoices(self, since: date | None = None) -> list[Invoice]:
        """Item and Service invoices (the layouts syncs write), lines included in the rows."""
        where = None
        if since is not None:
            stamp = wire.odata_datetime(since)
            where = f"Date ge {stamp} or LastModified ge {stamp}"
        pages = self.fan_out.map(lambda layout: self._paged(f"/Sale/Invoice/{layout}", where), wire.LAYOUTS)
        rows = [row for page in pages for row in page]
        lookups = self._lookups(rows)
        return [wire.invoice(row, lookups) for row in rows]

    def find_invoice(self, number: str) -> Invoice | None:
        """The invoice numbered exactly ``number`` in any layout: ``$filter=Number eq`` on
        ``/Sale/Invoice`` (one call), then its layout's record for the lines."""
        data = self._get("/Sale/Invoice", {"$filter": f"Number eq {wire.quote(number)}"})
        rows = [r for r in wire.items_of(data) or [] if r.get("Number") == number]
        if not rows:
            return None
        row = rows[0]
        layout = str(row.get("InvoiceType") or "")
        if layout in wire.LAYOUTS:
            row = self._object(f"/Sale/Invoice/{layout}/{row.get('UID')}")
        return wire.invoice(row, self._lookups([row]))

    def payments(self, since: date | None = None) -> list[Payment]:
        where = f"Date ge {wire.odata_datetime(since)}" if since else None
        base = self._base()
        return [p for row in self._paged("/Sale/CustomerPayment", where) for p in wire.payments(row, base)]

    # -- writes -----------------------------------------------------------------------------

    def _post(self, tail: str, body: JSON) -> JSON:
        """POST with ``returnBody=true``: MYOB answers 201, the new URI in ``Location`` [SDK]."""
        response = self.api.request("POST", self._cf(tail), params={"returnBody": "true"}, json=body)
        data = self.api.json(response) if response.content else {}
        if not isinstance(data, dict) or not data.get("UID"):
            location = response.headers.get("Location", "")
            uid = location.rstrip("/").rsplit("/", 1)[-1] if location else ""
            if not uid:
                raise UnexpectedResponse(f"POST {tail} answered without the new UID", system=self.system)
            data = {"UID": uid, **(data if isinstance(data, dict) else {})}
        return data

    def push_invoice(self, invoice: Invoice, *, idempotency_key: str) -> WriteResult:
        """Create an Item-layout invoice unless one with its number exists (looked up first:
        MYOB has no idempotency key)."""
        label = invoice.number or invoice.id
        if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            why = "MYOB has no draft invoices" if invoice.status is InvoiceStatus.DRAFT else "it is void"
            raise Rejected(f"invoice {label} cannot be created in MYOB: {why}", system=self.system, code="not_pushable")
        if invoice.number and len(invoice.number) > wire.INVOICE_NUMBER_MAX:
            raise Rejected(
                f"invoice number {invoice.number!r} is longer than MYOB's {wire.INVOICE_NUMBER_MAX} characters",
                system=self.system,
                code="number_too_long",
            )
        if invoice.number:
            existing = self.find_invoice(invoice.number)
            if existing is not None:
                status = existing.raw_status or ""
                return WriteResult(existing.id, created=False, number=existing.number, extra={"status": status})
        resolver = Resolver(self)
        body = wire.invoice_body(invoice, resolver.lines(invoice), resolver.category_uid(invoice))
        created = self._post("/Sale/Invoice/Item", body)
        number = created.get("Number") or invoice.number
        return WriteResult(str(created["UID"]), created=True, number=number, extra={"status": "Open"})

    def create_item(self, item: Item, *, idempotency_key: str) -> WriteResult:
        """Create a sold item numbered ``item.code``; one with exactly that Number is reused."""
        if not item.code:
            raise Rejected("a MYOB item needs a Number (the SKU)", system=self.system, code="item_number_required")
        found = wire.items_of(self._get("/Inventory/Item", {"$filter": f"Number eq {wire.quote(item.code)}"})) or []
        same = next((r for r in found if r.get("Number") == item.code), None)
        if same is not None:
            return WriteResult(str(same.get("UID")), created=False, number=item.code)
        resolver = Resolver(self)
        body = wire.item_body(item, resolver.income_account(item), resolver.tax_uid(item.tax_code))
        created = self._post("/Inventory/Item", body)
        self.memo.forget("myob.items")
        self.memo.forget("items")
        return WriteResult(str(created["UID"]), created=True, number=item.code)

    def create_contact(self, contact: Contact, *, idempotency_key: str) -> WriteResult:
        """Create a customer card; one with exactly this company name is reused."""
        where = f"CompanyName eq {wire.quote(contact.name[: wire.CONTACT_NAME_MAX])}"
        found = wire.items_of(self._get("/Contact/Customer", {"$filter": where})) or []
        same = next((r for r in found if wire.contact_name(r) == contact.name[: wire.CONTACT_NAME_MAX]), None)
        if same is not None:
            return WriteResult(str(same.get("UID")), created=False, number=same.get("DisplayID"))
        created = self._post("/Contact/Customer", wire.contact_body(contact))
        return WriteResult(str(created["UID"]), created=True, number=created.get("DisplayID"))
