"""QuickBooks Online (Intuit Accounting API v3), facts from specs/PROVIDERS.md section 2.

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
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from common.types import JSON
from providers.base import Capability, Endpoints, Provider
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
from providers.parsing import to_decimal, to_money
from providers.records import (
    Account,
    Address,
    ConnectionInfo,
    Contact,
    Feature,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Item,
    OrgInfo,
    Payment,
    TaxRate,
    TrackingCategory,
    TrackingOption,
    TrackingRef,
    WriteResult,
)

logger = logging.getLogger(__name__)


T = TypeVar("T")

MINOR_VERSION = "75"
MAX_PAGE = 1000
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
# Intuit: "wait 60 seconds before retrying" after a 429; no Retry-After header is documented [QL].
THROTTLE_WAIT = 60.0
# Entitlement names that gate features Sync Doctor checks. Only "Class Tracking" is documented
# [QR entitlements]; the others are listed so they count if Intuit reports them (UNCONFIRMED).
ENTITLEMENT_FEATURES: dict[str, Feature] = {
    "class tracking": Feature.TRACKING,
    "location tracking": Feature.TRACKING,
    "multi-currency": Feature.MULTICURRENCY,
    "inventory": Feature.INVENTORY,
}
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

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        identity = self.options.endpoints.identity_url or self.options.endpoints.base_url
        self.identity = self.api if identity == self.options.endpoints.base_url else self._make_client(identity)
        self._memo_lock = threading.Lock()
        self._memo: dict[str, Any] = {}
        self._loading: dict[str, threading.Lock] = {}  # one per resource: loads run in parallel

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
            params={"minorversion": MINOR_VERSION, "requestid": _request_id(requestid)},
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
        if _fault(data) is not None:  # HTTP 200 can still carry a Fault [QE]
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

    def _memoised(self, key: str, load: Callable[[], T]) -> T:
        # Invoices resolve SKUs, accounts and classes through these lists: fetch each once per
        # provider instance (one run), not once per invoice.
        with self._memo_lock:
            lock = self._loading.setdefault(key, threading.Lock())
        with lock:  # one load per key; items() nests accounts(), a different key
            with self._memo_lock:
                if key in self._memo:
                    value: T = self._memo[key]
                    return value
            loaded = load()
            with self._memo_lock:
                self._memo[key] = loaded
            return loaded

    # -- errors -----------------------------------------------------------------------------

    def error_for(self, response: httpx.Response) -> ProviderError:
        """Map Intuit's Fault envelope (JSON or XML) to a typed error with its code and message."""
        status = response.status_code
        errors, fault_type = _fault_errors(response)
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
        info = self._company_info(fresh=True)
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
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="quickbooks-org") as pool:
            pending_prefs = pool.submit(self._preferences)
            pending_entitlements = pool.submit(self._entitlements)
            info = self._company_info()
            prefs = pending_prefs.result()
            entitlements = pending_entitlements.result()
        name_values = {
            str(nv.get("Name")): str(nv.get("Value")) for nv in info.get("NameValue") or [] if isinstance(nv, dict)
        }
        currency_prefs = prefs.get("CurrencyPrefs") or {}
        accounting = prefs.get("AccountingInfoPrefs") or {}
        home = _ref(currency_prefs.get("HomeCurrency"))
        multicurrency = bool(currency_prefs.get("MultiCurrencyEnabled"))
        currencies = {home} if home else set()
        if multicurrency:
            # There is no Currency entity in Finance.xsd; the enabled list is CompanyCurrency.
            rows = self._query_all("CompanyCurrency", ALL_ACTIVE_STATES)
            currencies |= {str(r["Code"]) for r in rows if r.get("Code") and r.get("Active", True)}
        features: set[Feature] = {Feature.MULTICURRENCY} if multicurrency else set()
        if (
            accounting.get("ClassTrackingPerTxn")
            or accounting.get("ClassTrackingPerTxnLine")
            or accounting.get("TrackDepartments")
        ):
            features.add(Feature.TRACKING)  # switched on, so the plan must include it
        if entitlements is not None:
            for name, on in entitlements["entitlements"].items():
                feature = ENTITLEMENT_FEATURES.get(name.lower())
                if feature is not None and on:
                    features.add(feature)
        trial_days = entitlements["trial_days"] if entitlements else None
        status = name_values.get("SubscriptionStatus")
        return OrgInfo(
            tenant_id=self.realm,
            name=str(info.get("CompanyName") or ""),
            base_currency=home,
            currencies=frozenset(currencies),
            plan=name_values.get("OfferingSku") or (entitlements["plan"] if entitlements else None),
            features=frozenset(features),
            features_known=entitlements is not None,
            is_trial=bool(trial_days and trial_days > 0) or (status or "").upper() == "TRIAL",
            is_demo=bool(info.get("SampleFile")),
            trial_days_remaining=trial_days,
            environment=self._environment(),
            lock_date=_date(accounting.get("BookCloseDate")),
            country=info.get("Country"),
            status=status,
        )

    def contacts(self) -> list[Contact]:
        return [_contact(row) for row in self._query_all("Customer", ALL_ACTIVE_STATES)]

    def items(self) -> list[Item]:
        return list(self._memoised("items", self._load_items))

    def accounts(self) -> list[Account]:
        return list(self._memoised("accounts", self._load_accounts))

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
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="quickbooks-invoices") as pool:
                pages = list(pool.map(lambda where: self._query_all("Invoice", where), wheres))
            merged: dict[str, JSON] = {str(r.get("Id")): r for rows_ in pages for r in rows_}
            rows = list(merged.values())
        return [self._invoice(row) for row in rows]

    def find_invoice(self, number: str) -> Invoice | None:
        rows = self._query(f"SELECT * FROM Invoice WHERE DocNumber = {_quote(number)}").get("Invoice") or []
        return self._invoice(rows[0]) if rows else None

    def tax_rates(self) -> list[TaxRate]:
        codes = self._query_all("TaxCode", ALL_ACTIVE_STATES)
        rates = {
            str(r.get("Id")): to_decimal(r.get("RateValue")) for r in self._query_all("TaxRate", ALL_ACTIVE_STATES)
        }
        found = []
        for row in codes:
            details = ((row.get("SalesTaxRateList") or {}).get("TaxRateDetail")) or []
            percents = [rates.get(_ref(d.get("TaxRateRef")) or "") for d in details if isinstance(d, dict)]
            known = [p for p in percents if p is not None]
            found.append(
                TaxRate(
                    code=str(row.get("Id")),  # lines carry TaxCodeRef.value, the code's Id
                    name=str(row.get("Name") or ""),
                    rate=sum(known, Decimal(0)) if known else None,
                    status="active" if row.get("Active", True) else "archived",
                )
            )
        return found

    def tracking_categories(self) -> list[TrackingCategory]:
        options = tuple(
            TrackingOption(name=_class_name(row), status="active" if row.get("Active", True) else "archived")
            for row in self._classes()
        )
        return [TrackingCategory(id="Class", name="Class", options=options)]

    def payments(self, since: date | None = None) -> list[Payment]:
        where = f"WHERE TxnDate >= '{since.isoformat()}'" if since else ""
        found: list[Payment] = []
        for row in self._query_all("Payment", where):
            when, currency = _date(row.get("TxnDate")), _ref(row.get("CurrencyRef"))
            linked = [
                (line, txn)
                for line in row.get("Line") or []
                for txn in line.get("LinkedTxn") or []
                if txn.get("TxnType") == "Invoice"
            ]
            for line, txn in linked:
                found.append(
                    Payment(
                        str(row.get("Id")),
                        str(txn.get("TxnId")),
                        to_money(line.get("Amount")),
                        when,
                        currency,
                    )
                )
            if not linked:  # unapplied: money received against no invoice yet
                found.append(Payment(str(row.get("Id")), None, to_money(row.get("TotalAmt")), when, currency))
        return found

    # -- writes -----------------------------------------------------------------------------

    def push_invoice(self, invoice: Invoice, *, idempotency_key: str) -> WriteResult:
        """Create ``invoice``. An invoice with the same DocNumber for the same customer is the
        one a previous push made (``created=False``); otherwise POST with ``requestid``."""
        if invoice.number:
            existing = self.find_invoice(invoice.number)
            if existing is not None and existing.contact_id == invoice.contact_id:
                return WriteResult(id=existing.id, created=False, number=existing.number)
        lines = [self._line_body(i, line) for i, line in enumerate(invoice.lines, 1)]
        body: JSON = {
            "CustomerRef": {"value": invoice.contact_id},
            "Line": lines,
            "CurrencyRef": {"value": invoice.currency},
        }
        if invoice.number:
            body["DocNumber"] = invoice.number
        if invoice.issue_date:
            body["TxnDate"] = invoice.issue_date.isoformat()
        if invoice.due_date:
            body["DueDate"] = invoice.due_date.isoformat()
        if invoice.reference:
            body["PrivateNote"] = invoice.reference
        created = self._created("Invoice", self._post("Invoice", body, idempotency_key))
        return WriteResult(id=str(created["Id"]), created=True, number=created.get("DocNumber"))

    def create_item(self, item: Item, *, idempotency_key: str) -> WriteResult:
        """Create a Service item with ``Sku`` = ``item.code``; an item of that Name is reused."""
        rows = self._query(f"SELECT * FROM Item WHERE Name = {_quote(item.name)}").get("Item") or []
        if rows:
            return WriteResult(id=str(rows[0].get("Id")), created=False)
        account = self._account_id(item.account_code)
        if account is None:
            raise Rejected(
                f"item {item.name!r} needs an income account; {item.account_code!r} is not one in QuickBooks",
                system=self.system,
            )
        body: JSON = {
            "Name": item.name,
            "Type": "Service",
            "IncomeAccountRef": {"value": account},
            "Active": item.active,
        }
        if item.code:
            body["Sku"] = item.code
        if item.unit_price is not None:
            body["UnitPrice"] = float(item.unit_price)
        if item.tax_code:
            body["SalesTaxCodeRef"] = {"value": item.tax_code}
        created = self._created("Item", self._post("Item", body, idempotency_key))
        with self._memo_lock:
            self._memo.pop("items", None)
            self._memo.pop("items_by_id", None)
        return WriteResult(id=str(created["Id"]), created=True)

    def create_contact(self, contact: Contact, *, idempotency_key: str) -> WriteResult:
        """Create a Customer; DisplayName is unique across customers, vendors and employees."""
        rows = self._query(f"SELECT * FROM Customer WHERE DisplayName = {_quote(contact.name)}").get("Customer") or []
        if rows:
            return WriteResult(id=str(rows[0].get("Id")), created=False)
        body: JSON = {"DisplayName": contact.name}
        for key, value in (
            ("GivenName", contact.first_name),
            ("FamilyName", contact.last_name),
            ("CompanyName", contact.company),
        ):
            if value:
                body[key] = value
        if contact.email:
            body["PrimaryEmailAddr"] = {"Address": contact.email}
        if contact.currency:
            body["CurrencyRef"] = {"value": contact.currency}
        if contact.address:
            a = contact.address
            fields = {
                "Line1": a.line1,
                "City": a.city,
                "CountrySubDivisionCode": a.region,
                "PostalCode": a.postcode,
                "Country": a.country,
            }
            body["BillAddr"] = {k: v for k, v in fields.items() if v}
        created = self._created("Customer", self._post("Customer", body, idempotency_key))
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

    def _company_info(self, *, fresh: bool = False) -> JSON:
        # A probe always asks (it is the connection check); org_info reuses what it got.
        if fresh:
            with self._memo_lock:
                self._memo.pop("companyinfo", None)

        def load() -> JSON:
            info = self._get(f"companyinfo/{self.realm}").get("CompanyInfo")
            if not isinstance(info, dict):
                raise UnexpectedResponse("companyinfo answered without CompanyInfo", system=self.system)
            return info

        return self._memoised("companyinfo", load)

    def _preferences(self) -> JSON:
        return self._memoised("preferences", lambda: self._get("preferences").get("Preferences") or {})

    def _entitlements(self) -> dict[str, Any] | None:
        """Plan name, trial days and on/off entitlements; None when the endpoint cannot be read
        (it is a separate, XML-only service: the rest of OrgInfo stays useful without it)."""
        try:
            response = self.identity.request(
                "GET",
                f"/manage/entitlements/v3/{self.realm}",
                headers={"Accept": "application/xml"},
            )
            # expat >= 2.4 refuses entity-expansion bombs and ElementTree resolves no external
            # entities, so parsing this response with the standard library is safe.
            root = ET.fromstring(response.content)
        except (AuthError, RateLimited):
            raise
        except ProviderError as e:
            logger.warning("QuickBooks entitlements unavailable for realm %s: %s", self.realm, e)
            return None
        except ET.ParseError:
            logger.warning(
                "QuickBooks entitlements for realm %s answered something that is not XML",
                self.realm,
            )
            return None
        days = root.findtext("DaysRemainingTrial")
        return {
            "plan": root.findtext("PlanName"),
            "trial_days": int(days) if days and days.strip().lstrip("-").isdigit() else None,
            "entitlements": {
                (e.findtext("name") or ""): (e.findtext("term") or "").strip() == "On"
                for e in root.findall("Entitlement")
            },
        }

    def _load_items(self) -> list[Item]:
        accounts = {a.id: a for a in self.accounts()}
        found = []
        for row in self._query_all("Item", ALL_ACTIVE_STATES):
            income = row.get("IncomeAccountRef") or {}
            account = accounts.get(str(income.get("value")))
            found.append(
                Item(
                    id=str(row.get("Id")),
                    code=row.get("Sku") or None,
                    name=str(row.get("Name") or ""),
                    active=bool(row.get("Active", True)),
                    unit_price=to_decimal(row.get("UnitPrice")),
                    account_code=_account_code(account, income),
                    tax_code=_ref(row.get("SalesTaxCodeRef")),
                )
            )
        return found

    def _load_accounts(self) -> list[Account]:
        return [
            Account(
                id=str(row.get("Id")),
                code=row.get("AcctNum") or None,
                name=str(row.get("Name") or ""),
                type=row.get("AccountType"),
                status="active" if row.get("Active", True) else "archived",
            )
            for row in self._query_all("Account", ALL_ACTIVE_STATES)
        ]

    def _classes(self) -> list[JSON]:
        return self._memoised("classes", lambda: self._query_all("Class", ALL_ACTIVE_STATES))

    def _account_id(self, code: str | None) -> str | None:
        if not code:
            return None
        for account in self.accounts():
            if code in (account.code, account.name, account.id):
                return account.id
        return None

    def _invoice(self, row: JSON) -> Invoice:
        items: dict[str, Item] = self._memoised("items_by_id", lambda: {i.id: i for i in self.items()})
        invoice_class = _ref_name(row.get("ClassRef"), self._class_names)
        lines = tuple(self._line(line, items, invoice_class) for line in _item_lines(row.get("Line") or []))
        total = to_money(row.get("TotalAmt"))
        balance = to_money(row.get("Balance", row.get("TotalAmt")))
        status, raw = _status(row, total, balance)
        currency = _ref(row.get("CurrencyRef")) or _ref(
            (self._preferences().get("CurrencyPrefs") or {}).get("HomeCurrency")
        )
        tax = to_decimal((row.get("TxnTaxDetail") or {}).get("TotalTax"))
        customer = row.get("CustomerRef") or {}
        return Invoice(
            id=str(row.get("Id")),
            number=row.get("DocNumber"),
            status=status,
            currency=currency or "",
            total=total,
            raw_status=raw,
            contact_id=str(customer.get("value")) if customer.get("value") is not None else None,
            contact_name=customer.get("name"),
            contact_email=(row.get("BillEmail") or {}).get("Address"),
            issue_date=_date(row.get("TxnDate")),
            due_date=_date(row.get("DueDate")),
            lines=lines,
            subtotal=sum((line.amount for line in lines), Decimal(0)),
            tax=tax,
            amount_due=balance,
            amount_paid=total - balance,
            updated_at=_datetime((row.get("MetaData") or {}).get("LastUpdatedTime")),
        )

    def _class_names(self, class_id: str) -> str | None:
        for row in self._classes():
            if str(row.get("Id")) == class_id:
                return _class_name(row)
        return None

    def _line(self, line: JSON, items: Mapping[str, Item], invoice_class: str | None) -> InvoiceLine:
        detail = line.get("SalesItemLineDetail") or {}
        item_id = _ref(detail.get("ItemRef"))
        item = items.get(item_id or "")
        account_ref = detail.get("ItemAccountRef")
        account_code = item.account_code if item else None
        if account_ref:
            account = next((a for a in self.accounts() if a.id == _ref(account_ref)), None)
            account_code = _account_code(account, account_ref)
        class_name = _ref_name(detail.get("ClassRef"), self._class_names) or invoice_class
        amount = to_money(line.get("Amount"))
        quantity = to_decimal(detail.get("Qty")) or Decimal(1)
        return InvoiceLine(
            description=line.get("Description"),
            sku=item.code if item else None,
            item_id=item_id,
            quantity=quantity,
            unit_amount=to_decimal(detail.get("UnitPrice")) or (amount / quantity if quantity else amount),
            amount=amount,
            account_code=account_code,
            tax_code=_ref(detail.get("TaxCodeRef")),
            tracking=(TrackingRef("Class", class_name),) if class_name else (),
        )

    def _line_body(self, number: int, line: InvoiceLine) -> JSON:
        item_id = line.item_id
        if item_id is None and line.sku:
            item_id = next((i.id for i in self.items() if i.code == line.sku), None)
        if item_id is None:
            # Lines reference items by ItemRef.value (the Id), never by Sku [PROVIDERS.md].
            raise Rejected(f"line {number} has no QuickBooks item (SKU {line.sku!r})", system=self.system)
        detail: JSON = {
            "ItemRef": {"value": item_id},
            "Qty": float(line.quantity),
            "UnitPrice": float(line.unit_amount),
        }
        if line.tax_code:
            detail["TaxCodeRef"] = {"value": line.tax_code}
        for ref in line.tracking:
            if ref.category.lower() == "class":
                class_id = next(
                    (str(r.get("Id")) for r in self._classes() if _class_name(r) == ref.option),
                    None,
                )
                if class_id is None:
                    raise Rejected(
                        f"line {number}: there is no class {ref.option!r} in QuickBooks",
                        system=self.system,
                    )
                detail["ClassRef"] = {"value": class_id}
        body: JSON = {
            "DetailType": "SalesItemLineDetail",
            "Amount": float(line.amount),
            "SalesItemLineDetail": detail,
        }
        if line.description:
            body["Description"] = line.description
        return body


# -- pure translation helpers -------------------------------------------------------------


def _fault(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The Fault object, top level or inside a QueryResponse; key case varies on 401s (observed)."""
    for key, value in data.items():
        if key.lower() == "fault" and isinstance(value, dict):
            return value
        nested = value.get("Fault") if key == "QueryResponse" and isinstance(value, dict) else None
        if isinstance(nested, dict):
            return nested
    return None


def _fault_errors(response: httpx.Response) -> tuple[list[tuple[str, str, str]], str | None]:
    """[(code, Message, Detail)] and the fault type, from a JSON or an XML Fault."""
    try:
        data = response.json()
    except ValueError:
        return _xml_fault_errors(response.content)
    fault = _fault(data) if isinstance(data, dict) else None
    if fault is None:
        return [], None
    lowered = {k.lower(): v for k, v in fault.items()}
    found = []
    for error in lowered.get("error") or []:
        if isinstance(error, dict):
            e = {k.lower(): v for k, v in error.items()}
            found.append((str(e.get("code") or ""), str(e.get("message") or ""), str(e.get("detail") or "")))
    return found, lowered.get("type")


def _xml_fault_errors(content: bytes) -> tuple[list[tuple[str, str, str]], str | None]:
    try:
        root = ET.fromstring(content)
    except ET.ParseError:
        return [], None
    for fault in root.iter():
        if fault.tag.rsplit("}", 1)[-1] == "Fault":
            found = []
            for error in fault:
                texts = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in error}
                found.append((error.get("code", ""), texts.get("Message", ""), texts.get("Detail", "")))
            return found, fault.get("type")
    return [], None


def _request_id(key: str) -> str:
    # requestid is at most 50 characters [QR field-definitions]; a longer key is hashed, never
    # cut, so two keys sharing a prefix cannot replay each other's response.
    return key if len(key) <= 50 else str(uuid.uuid5(uuid.NAMESPACE_URL, key))


def _quote(value: str) -> str:
    # The query language quotes with single quotes and escapes an apostrophe with a backslash.
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ref(ref: Any) -> str | None:
    if isinstance(ref, dict) and ref.get("value") not in (None, ""):
        return str(ref["value"])
    return None


def _ref_name(ref: Any, resolve: Callable[[str], str | None]) -> str | None:
    if not isinstance(ref, dict):
        return None
    if ref.get("name"):
        return str(ref["name"])
    value = _ref(ref)
    return resolve(value) if value else None


def _class_name(row: Mapping[str, Any]) -> str:
    return str(row.get("FullyQualifiedName") or row.get("Name") or "")


def _account_code(account: Account | None, ref: Mapping[str, Any]) -> str | None:
    # Companies that switch account numbers off (AccountingInfoPrefs.UseAccountNumbers) identify
    # accounts by name, so the name stands in for a missing AcctNum.
    if account is not None:
        return account.code or account.name
    return str(ref["name"]) if ref.get("name") else None


def _item_lines(lines: Iterable[Any]) -> Iterable[JSON]:
    """Sales item lines, including those inside a bundle (GroupLineDetail); subtotal,
    discount and description-only lines carry no item."""
    for line in lines:
        if not isinstance(line, dict):
            continue
        if line.get("DetailType") == "SalesItemLineDetail":
            yield line
        elif line.get("DetailType") == "GroupLineDetail":
            yield from _item_lines((line.get("GroupLineDetail") or {}).get("Line") or [])


def _status(row: Mapping[str, Any], total: Decimal, balance: Decimal) -> tuple[InvoiceStatus, str]:
    # QuickBooks has no invoice status enum: open vs paid comes from Balance [QR invoice]. A
    # voided invoice keeps its lines but its amounts drop to zero and its memo reads "Voided".
    note = str(row.get("PrivateNote") or "")
    if str(row.get("TxnStatus") or "").lower() == "voided" or (total == 0 and note.lower().startswith("voided")):
        return InvoiceStatus.VOID, "Voided"
    if balance == 0 and total > 0:
        return InvoiceStatus.PAID, "Paid"
    if 0 < balance < total:
        return InvoiceStatus.OPEN, "Partially paid"
    return InvoiceStatus.OPEN, "Open"


def _contact(row: Mapping[str, Any]) -> Contact:
    bill = row.get("BillAddr") or {}
    address = (
        Address(
            bill.get("Line1"),
            bill.get("City"),
            bill.get("CountrySubDivisionCode"),
            bill.get("PostalCode"),
            bill.get("Country"),
        )
        if bill
        else None
    )
    return Contact(
        id=str(row.get("Id")),
        name=str(row.get("DisplayName") or ""),
        email=(row.get("PrimaryEmailAddr") or {}).get("Address"),
        first_name=row.get("GivenName"),
        last_name=row.get("FamilyName"),
        company=row.get("CompanyName"),
        archived=not row.get("Active", True),  # an inactive customer is QuickBooks' "deleted"
        address=address,
        currency=_ref(row.get("CurrencyRef")),
        number=row.get("AcctNum"),
    )


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _datetime(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
