"""QuickBooks Online (Intuit Accounting API v3): the client. Facts from specs/PROVIDERS.md
section 2; JSON -> records is :mod:`providers.quickbooks_wire`, records -> JSON
:mod:`providers.quickbooks_bodies`.

Everything is read through the query endpoint, one entity per statement, paged with
``STARTPOSITION`` (1-based) and ``MAXRESULTS`` (at most 1000) [QR data-queries]. The tenant is the
``realmId`` in the path. Every call carries ``minorversion=75``: versions 1-74 are discontinued
and ``Item.Sku`` needs at least minor version 4 [QR minor-versions, QR item].

Error mapping (the ``Fault`` envelope, JSON or XML; HTTP 200 can still carry one [QE]):

    401 / code 3200               TokenExpired: Intuit's "ApplicationAuthenticationFailed" says the
                                  access token was refused, never why. The ApiClient has already
                                  refreshed once before this escapes; a dead grant shows up at the
                                  token endpoint as invalid_grant -> RefreshFailed, not here.
    403 / code 120 / 3100         ScopeMissing when the stored grant lacks the accounting scope,
                                  else TenantError: there is a single accounting scope covering
                                  every entity, so with it granted the refusal means the token does
                                  not reach this realm (or the connecting user lost access to it).
    6240, 6140, 610, 6190, ...    Rejected(code=...) with Intuit's Message and Detail
    404 NotFound, 429 RateLimited (Intuit says wait 60 s [QL]), 5xx Unavailable,
    a body we cannot read         UnexpectedResponse
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import httpx

from common.types import JSON
from providers import quickbooks_bodies as bodies
from providers import quickbooks_wire as wire
from providers.base import Capability, Endpoints, Provider, Rules
from providers.errors import (
    AuthError,
    NotFound,
    ProviderError,
    RateLimited,
    Rejected,
    ScopeMissing,
    TenantError,
    TokenExpired,
    Unavailable,
    UnexpectedResponse,
)
from providers.http import Limits, parse_retry_after
from providers.parsing import to_decimal
from providers.records import (
    Account,
    ConnectionInfo,
    Contact,
    Feature,
    Invoice,
    Item,
    OrgInfo,
    Payment,
    TaxRate,
    TrackingCategory,
    WriteResult,
)

logger = logging.getLogger(__name__)


MINOR_VERSION = "75"
MAX_PAGE = 1000
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
# Intuit: "wait 60 seconds before retrying" after a 429; no Retry-After header is documented [QL].
THROTTLE_WAIT = 60.0
_BARE_STATUS = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 429: "Too many requests"}
# Entities QuickBooks calls name lists: a query returns only active ones unless told otherwise.
ALL_ACTIVE_STATES = "WHERE Active IN (true,false)"


class QuickBooks(Provider):
    system = "quickbooks"
    display_name = "QuickBooks Online"
    capabilities = frozenset(Capability) - {Capability.SCOPES}
    default_endpoints = Endpoints(
        base_url="https://quickbooks.api.intuit.com",
        token_url="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        authorize_url="https://appcenter.intuit.com/connect/oauth2",
        identity_url="https://quickbooks.api.intuit.com",  # /manage/entitlements/v3/{realmId}
    )
    # 500 requests/min per realm; more than 10 concurrent requests per realm+app -> 429 [QL, QC].
    default_limits = Limits(concurrent=10, per_minute=500)
    scopes_needed = (ACCOUNTING_SCOPE,)
    # Preferences and entitlements say whether these are on (PROVIDERS.md: Plan tier).
    plan_features = frozenset({Feature.MULTICURRENCY, Feature.TRACKING})
    refresh_token_lifetime = timedelta(days=100)  # rolling: extended on each use [QB1]
    client_auth = "basic"  # client_secret_basic and client_secret_post both listed [QD]
    # The discovery document lists no code_challenge_methods_supported: PKCE is UNCONFIRMED.
    supports_pkce = False
    # DisplayName is unique across customers, vendors and employees (error 6240). US companies
    # compute sales tax from the customer's address (automated sales tax; PROVIDERS.md marks the
    # exact behaviour UNCONFIRMED, so checks only warn).
    rules = Rules(
        contact_name_max=wire.CONTACT_NAME_MAX,
        contact_name_forbidden=wire.CONTACT_NAME_FORBIDDEN,
        unique_contact_names=True,
        address_required_in=frozenset({"US", "USA"}),
        item_code_max=wire.ITEM_CODE_MAX,
        item_name_max=wire.ITEM_NAME_MAX,
    )

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        identity = self.options.endpoints.identity_url or self.options.endpoints.base_url
        self.identity = self.api if identity == self.options.endpoints.base_url else self._make_client(identity)

    def close(self) -> None:
        if self.identity is not self.api:
            self.identity.close()
        super().close()

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def realm(self) -> str:
        realm = self.options.tenant or self.tokens.credentials().tenant_id
        if not realm:
            raise TenantError(
                "no QuickBooks realmId (company id) is configured for this connection",
                system=self.system,
            )
        return realm

    def _path(self, tail: str) -> str:
        return f"/v3/company/{self.realm}/{tail}"

    def _get(self, tail: str, params: Mapping[str, Any] | None = None) -> JSON:
        response = self.api.request("GET", self._path(tail), params={**(params or {}), "minorversion": MINOR_VERSION})
        return self._body(response)

    def _post(self, entity: str, body: JSON, requestid: str) -> JSON:
        # requestid makes the create idempotent on Intuit's side: a repeat returns the original
        # response instead of a second record [QR field-definitions], so retrying is safe.
        response = self.api.request(
            "POST",
            self._path(entity.lower()),
            params={"minorversion": MINOR_VERSION, "requestid": bodies.request_id(requestid)},
            json=body,
            headers={"Content-Type": "application/json"},
            retry_unsafe=True,
        )
        return self._body(response)

    def _body(self, response: httpx.Response) -> JSON:
        data = self.api.json(response)
        if not isinstance(data, dict):
            raise UnexpectedResponse(
                "answered JSON that is not an object",
                system=self.system,
                status=response.status_code,
            )
        if wire.fault(data) is not None:  # HTTP 200 can still carry a Fault [QE]
            raise self.error_for(response)
        return data

    def _query(self, statement: str) -> JSON:
        data = self._get("query", {"query": statement})
        result = data.get("QueryResponse")
        if not isinstance(result, dict):
            raise UnexpectedResponse("a query answered without a QueryResponse", system=self.system)
        return result

    def _query_all(self, entity: str, where: str = "") -> list[JSON]:
        """Every row of ``entity``: pages of the API's maximum size until a short page."""
        size = min(self.options.page_size or MAX_PAGE, MAX_PAGE)
        rows: list[JSON] = []
        start = 1
        while True:
            clause = f" {where}" if where else ""
            page = self._query(f"SELECT * FROM {entity}{clause} STARTPOSITION {start} MAXRESULTS {size}")
            found = page.get(entity) or []
            rows.extend(r for r in found if isinstance(r, dict))
            if len(found) < size:
                return rows
            start += size

    def _first(self, entity: str, field: str, value: str) -> JSON | None:
        rows = self._query(f"SELECT * FROM {entity} WHERE {field} = {bodies.quote(value)}").get(entity) or []
        return rows[0] if rows and isinstance(rows[0], dict) else None

    # -- errors -----------------------------------------------------------------------------

    def error_for(self, response: httpx.Response) -> ProviderError:
        """Map Intuit's Fault envelope (JSON or XML) to a typed error with its code and message."""
        status = response.status_code
        errors, fault_type = wire.fault_errors(response.content)
        if not errors and status in _BARE_STATUS:
            # A refusal without a Fault body (proxies, throttling) still means what its status says.
            errors = [("", _BARE_STATUS[status], "")]
        if not errors:
            snippet = response.text[:120].replace("\n", " ")
            if status >= 500:
                return Unavailable(f"HTTP {status}: {snippet!r}", system=self.system, status=status)
            return UnexpectedResponse(
                f"answered {status} without a readable Fault: {snippet!r}",
                system=self.system,
                status=status,
            )
        code, message, detail = errors[0]
        text = f"{message}: {detail}" if detail and detail != message else message
        kw: dict[str, Any] = {"system": self.system, "code": code or None, "status": status}
        kind = (fault_type or "").lower()
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            return RateLimited(text, retry_after=THROTTLE_WAIT if wait is None else wait, limit="minute", **kw)
        if status >= 500 or kind == "systemfault":
            return Unavailable(text, **kw)
        if code == "3200" or status == 401 or kind.startswith("authentication"):
            return TokenExpired(text, **kw)
        if code in ("120", "3100") or status == 403 or kind.startswith("authoriz"):
            creds = self.tokens.store.load()
            if creds is not None and creds.scopes and ACCOUNTING_SCOPE not in creds.scopes:
                return ScopeMissing(text, needed=(ACCOUNTING_SCOPE,), **kw)
            return TenantError(text, **kw)
        if status == 404:
            return NotFound(text, **kw)
        return Rejected(text, details=tuple(d or m for _, m, d in errors), **kw)

    # -- reads ------------------------------------------------------------------------------

    def probe(self) -> ConnectionInfo:
        """``companyinfo/{realmId}``: which company the token reaches (a realm it does not reach
        answers 403 -> TenantError). Intuit reports no scopes, so the stored grant's are used."""
        info = self._company_info()
        creds = self.tokens.store.load()
        return ConnectionInfo(
            tenant_id=self.realm,
            tenant_name=info.get("CompanyName"),
            scopes=frozenset(creds.scopes) if creds and creds.scopes else None,
            environment=self._environment(),
        )

    def org_info(self) -> OrgInfo:
        """CompanyInfo + Preferences + entitlements (+ CompanyCurrency when multicurrency)."""
        # Three independent reads: in parallel, so the run waits for one round trip, not three.
        prefs = self.fan_out.start(self._preferences)
        granted = self.fan_out.start(self._entitlements)
        info = self._company_info()
        preferences = prefs.result()
        currency_rows = self._query_all("CompanyCurrency", ALL_ACTIVE_STATES) if wire.multicurrency(preferences) else []
        return wire.org_info(self.realm, info, preferences, granted.result(), currency_rows, self._environment())

    def contacts(self) -> list[Contact]:
        return [wire.contact(row) for row in self._query_all("Customer", ALL_ACTIVE_STATES)]

    def items(self) -> list[Item]:
        accounts = {a.id: a for a in self.memo.once("accounts", self.accounts)}
        return [wire.item(row, accounts) for row in self._query_all("Item", ALL_ACTIVE_STATES)]

    def accounts(self) -> list[Account]:
        return [wire.account(row) for row in self._query_all("Account", ALL_ACTIVE_STATES)]

    def invoices(self, since: date | None = None) -> list[Invoice]:
        if since is None:
            rows = self._query_all("Invoice")
        else:
            # The query language has no OR [QR data-queries]: "dated or modified on/after since"
            # takes two statements, merged by Id.
            wheres = (
                f"WHERE TxnDate >= '{since.isoformat()}'",
                f"WHERE MetaData.LastUpdatedTime >= '{since.isoformat()}'",
            )
            pages = self.fan_out.map(lambda where: self._query_all("Invoice", where), wheres)
            rows = list({str(r.get("Id")): r for rows_ in pages for r in rows_}.values())
        if not rows:
            return []
        lookups = self._lookups()
        return [wire.invoice(row, lookups) for row in rows]

    def find_invoice(self, number: str) -> Invoice | None:
        row = self._first("Invoice", "DocNumber", number)
        return wire.invoice(row, self._lookups()) if row is not None else None

    def tax_rates(self) -> list[TaxRate]:
        codes = self._query_all("TaxCode", ALL_ACTIVE_STATES)
        rates = {
            str(r.get("Id")): to_decimal(r.get("RateValue")) for r in self._query_all("TaxRate", ALL_ACTIVE_STATES)
        }
        return [wire.tax_rate(row, rates) for row in codes]

    def tracking_categories(self) -> list[TrackingCategory]:
        return [wire.tracking(self._classes())]

    def payments(self, since: date | None = None) -> list[Payment]:
        where = f"WHERE TxnDate >= '{since.isoformat()}'" if since else ""
        return [p for row in self._query_all("Payment", where) for p in wire.payments(row)]

    # -- writes -----------------------------------------------------------------------------

    def push_invoice(self, invoice: Invoice, *, idempotency_key: str) -> WriteResult:
        """Create ``invoice``. An invoice with the same DocNumber for the same customer is the
        one a previous push made (``created=False``); otherwise POST with ``requestid``."""
        if invoice.number:
            existing = self.find_invoice(invoice.number)
            if existing is not None and existing.contact_id == invoice.contact_id:
                return WriteResult(id=existing.id, created=False, number=existing.number)
        # Lines name items and classes by Id: read those lists only if a line needs a look-up.
        lines = invoice.lines
        items = self.memo.once("items", self.items) if any(li.item_id is None and li.sku for li in lines) else []
        classes = self._classes() if any(r.category.lower() == "class" for li in lines for r in li.tracking) else []
        body = bodies.invoice_body(invoice, items, classes)
        created = self._created("Invoice", self._post("Invoice", body, idempotency_key))
        return WriteResult(id=str(created["Id"]), created=True, number=created.get("DocNumber"))

    def create_item(self, item: Item, *, idempotency_key: str) -> WriteResult:
        """Create a Service item with ``Sku`` = ``item.code``; an item of that Name is reused."""
        existing = self._first("Item", "Name", item.name)
        if existing is not None:
            return WriteResult(id=str(existing.get("Id")), created=False)
        account = self._account_id(item.account_code)
        if account is None:
            raise Rejected(
                f"item {item.name!r} needs an income account; {item.account_code!r} is not one in QuickBooks",
                system=self.system,
            )
        created = self._created("Item", self._post("Item", bodies.item_body(item, account), idempotency_key))
        self.memo.forget("items")
        return WriteResult(id=str(created["Id"]), created=True)

    def create_contact(self, contact: Contact, *, idempotency_key: str) -> WriteResult:
        """Create a Customer; DisplayName is unique across customers, vendors and employees."""
        existing = self._first("Customer", "DisplayName", contact.name)
        if existing is not None:
            return WriteResult(id=str(existing.get("Id")), created=False)
        created = self._created("Customer", self._post("Customer", bodies.contact_body(contact), idempotency_key))
        return WriteResult(id=str(created["Id"]), created=True)

    # -- helpers ----------------------------------------------------------------------------

    def _created(self, entity: str, data: JSON) -> JSON:
        created = data.get(entity)
        if not isinstance(created, dict) or not created.get("Id"):
            raise UnexpectedResponse(f"creating a {entity} answered without its Id", system=self.system)
        return created

    def _environment(self) -> str | None:
        host = httpx.URL(self.options.endpoints.base_url).host
        if host == "sandbox-quickbooks.api.intuit.com":
            return "test"
        return "live" if host == "quickbooks.api.intuit.com" else None

    def _company_info(self) -> JSON:
        # The probe and org_info both read it: once per run when a run lends its memo.
        def load() -> JSON:
            info = self._get(f"companyinfo/{self.realm}").get("CompanyInfo")
            if not isinstance(info, dict):
                raise UnexpectedResponse("companyinfo answered without CompanyInfo", system=self.system)
            return info

        return self.memo.once("quickbooks.companyinfo", load)

    def _preferences(self) -> JSON:
        # Invoices without a CurrencyRef are in the home currency, which only Preferences tells.
        def load() -> JSON:
            prefs = self._get("preferences").get("Preferences")
            return prefs if isinstance(prefs, dict) else {}

        return self.memo.once("quickbooks.preferences", load)

    def _classes(self) -> list[JSON]:
        return self.memo.once("quickbooks.classes", lambda: self._query_all("Class", ALL_ACTIVE_STATES))

    def _lookups(self) -> wire.Lookups:
        """What resolves invoice references: items and accounts read once per run (shared
        with the checks through the memo); classes and Preferences only if an invoice needs them."""
        items = self.memo.once("items", self.items)
        accounts = self.memo.once("accounts", self.accounts)

        def class_name(class_id: str) -> str | None:
            return next((wire.class_name(r) for r in self._classes() if str(r.get("Id")) == class_id), None)

        return wire.Lookups(
            items={i.id: i for i in items},
            accounts={a.id: a for a in accounts},
            class_name=class_name,
            home_currency=lambda: wire.home_currency(self._preferences()),
        )

    def _account_id(self, code: str | None) -> str | None:
        if not code:
            return None
        accounts = self.memo.once("accounts", self.accounts)
        return next((a.id for a in accounts if code in (a.code, a.name, a.id)), None)

    def _entitlements(self) -> wire.Entitlements | None:
        """Plan name, trial days and on/off entitlements; None when the endpoint cannot be read
        (it is a separate, XML-only service: the rest of OrgInfo stays useful without it)."""
        try:
            response = self.identity.request(
                "GET", f"/manage/entitlements/v3/{self.realm}", headers={"Accept": "application/xml"}
            )
            return wire.entitlements(response.content)
        except (AuthError, RateLimited):
            raise
        except ProviderError as e:
            logger.warning("QuickBooks entitlements unavailable for realm %s: %s", self.realm, e)
        except ET.ParseError:
            logger.warning("QuickBooks entitlements for realm %s answered something that is not XML", self.realm)
        return None
