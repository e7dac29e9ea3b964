"""QuickBooks Online (Intuit Accounting API v3): the client. Facts from specs/PROVIDERS.md
section 2; JSON -> records is :mod:`providers.quickbooks_wire`, records -> JSON
:mod:`providers.quickbooks_bodies`.

Everything is read through the query endpoint, one entity per statement, paged with
``STARTPOSITION`` (1-based) and ``MAXRESULTS`` (at most 1000) [QR data-queries], ordered by
``Id`` (``ORDERBY Id``): without an order the pages of a statement need not agree with each
other, and a row could be read twice or never. The tenant is the ``realmId`` in the path. Every
call carries ``minorversion=75``: versions 1-74 are discontinued and ``Item.Sku`` needs at least
minor version 4 [QR minor-versions, QR item].

Hosts follow the side's environment: ``environment: test`` means Intuit's sandbox companies,
served by ``sandbox-quickbooks.api.intuit.com``; the entitlements service lives on the same host
as the API, so it follows ``base_url`` unless ``identity_url`` is given.

Error mapping (the ``Fault`` envelope, JSON or XML; HTTP 200 can still carry one [QE]). The
code is read before the status: Intuit answers 401 for both a dead token and code 120.

    code 120 / 3100               ScopeMissing when the stored grant lacks the accounting scope,
    (401 or 403), AuthorizationFault  else TenantError: there is a single accounting scope covering
                                  every entity, so with it granted the refusal means the token does
                                  not reach this realm (or the connecting user lost access to it,
                                  "AuthorizationFailure ... You do not have access" [QE]). A new
                                  token cannot cure it, so no refresh is spent on it.
    401 / code 3200               TokenExpired: Intuit's "ApplicationAuthenticationFailed" says the
                                  access token was refused, never why. The ApiClient has already
                                  refreshed once before this escapes; a dead grant shows up at the
                                  token endpoint as invalid_grant -> RefreshFailed, not here.
    403 (no code)                 as code 120
    6240, 6140, 610, 6190, ...    Rejected(code=...) with Intuit's Message and Detail
    404 NotFound, 429 RateLimited (Intuit says wait 60 s [QL]), 5xx Unavailable,
    a body we cannot read         UnexpectedResponse
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import httpx

from common.types import JSON
from providers import quickbooks_bodies as bodies
from providers import quickbooks_wire as wire
from providers.base import STOPPING_ERRORS, Capability, Endpoints, Provider, PushOutcome, Rules, may_have_acted
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
PRODUCTION_API = "https://quickbooks.api.intuit.com"
SANDBOX_API = "https://sandbox-quickbooks.api.intuit.com"  # Intuit's sandbox companies [QO]
BATCH_SIZE = 30  # payloads per batch request [QL]
NUMBERS_PER_QUERY = 50  # DocNumbers per IN (...) look-up
DUPLICATE_NUMBER = "6140"  # Duplicate Document Number Error; its Detail names the TxnId (observed)
_TXN_ID = re.compile(r"TxnId=(\d+)")
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
    # identity_url (the entitlements host, /manage/entitlements/v3/{realmId}) follows base_url:
    # see endpoints_for. The OAuth endpoints are the same for sandbox and production [QD].
    default_endpoints = Endpoints(
        base_url=PRODUCTION_API,
        token_url="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        authorize_url="https://appcenter.intuit.com/connect/oauth2",
    )
    # 500 requests/min per realm; more than 10 concurrent requests per realm+app -> 429 [QL, QC].
    default_limits = Limits(concurrent=10, per_minute=500)
    scopes_needed = (ACCOUNTING_SCOPE,)
    # Preferences and entitlements say whether these are on (PROVIDERS.md: Plan tier). Inventory
    # counts as on the plan when its quantities are switched on in Preferences (QuantityOnHand)
    # or an "Inventory" entitlement is On (that entitlement's name is UNCONFIRMED).
    plan_features = frozenset({Feature.MULTICURRENCY, Feature.TRACKING, Feature.INVENTORY})
    refresh_token_lifetime = timedelta(days=100)  # rolling: extended on each use [QB1]
    client_auth = "basic"  # client_secret_basic and client_secret_post both listed [QD]
    # Intuit's discovery document lists no code_challenge_methods_supported and its OAuth pages
    # describe no code_challenge: PKCE is not sent (UNCONFIRMED; the README says so).
    supports_pkce = False
    batch_size = BATCH_SIZE
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

    @classmethod
    def endpoints_for(cls, overrides: Mapping[str, str | None], environment: str | None = None) -> Endpoints:
        """Production hosts, or the sandbox's for ``environment: test``; the entitlements host
        is the API's unless ``identity_url`` is given."""
        defaults = cls.default_endpoints
        if environment == "test":
            defaults = replace(defaults, base_url=SANDBOX_API)
        endpoints = defaults.with_overrides(overrides)
        return endpoints if endpoints.identity_url else replace(endpoints, identity_url=endpoints.base_url)

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
        """Every row of ``entity``: pages of the API's maximum size, in Id order, until a short page."""
        size = min(self.options.page_size or MAX_PAGE, MAX_PAGE)
        rows: list[JSON] = []
        start = 1
        while True:
            clause = f" {where}" if where else ""
            page = self._query(f"SELECT * FROM {entity}{clause} ORDERBY Id STARTPOSITION {start} MAXRESULTS {size}")
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
        # The code first: a 401 with code 120 is an authorization failure, not a dead token.
        if code in ("120", "3100") or kind.startswith("authoriz") or (status == 403 and code != "3200"):
            creds = self.tokens.store.load()
            if creds is not None and creds.scopes and ACCOUNTING_SCOPE not in creds.scopes:
                return ScopeMissing(text, needed=(ACCOUNTING_SCOPE,), **kw)
            return TenantError(text, **kw)
        if code == "3200" or status == 401 or kind.startswith("authentication"):
            return TokenExpired(text, **kw)
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
        """The invoice whose DocNumber is ``number``: one query."""
        return self.find_invoices([number]).get(number)

    def find_invoices(self, numbers: Iterable[str]) -> dict[str, Invoice]:
        """Invoices by DocNumber: ``WHERE DocNumber IN (...)``, 50 numbers a query. QuickBooks
        compares values without regard to case [QR data-queries]; the numbers kept are the
        exact ones asked for."""
        wanted = list(dict.fromkeys(n for n in numbers if n))
        rows: list[JSON] = []
        for i in range(0, len(wanted), NUMBERS_PER_QUERY):
            chunk = ",".join(bodies.quote(n) for n in wanted[i : i + NUMBERS_PER_QUERY])
            rows.extend(self._query_all("Invoice", f"WHERE DocNumber IN ({chunk})"))
        found = [row for row in rows if row.get("DocNumber") in wanted]
        if not found:
            return {}
        lookups = self._lookups()
        result: dict[str, Invoice] = {}
        for row in found:
            result.setdefault(str(row["DocNumber"]), wire.invoice(row, lookups))
        return result

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
        one a previous push made (``created=False``); otherwise POST with ``requestid``. A
        number QuickBooks calls taken (6140) since the look-up is read back and adopted when it
        is this customer's."""
        if invoice.number:
            existing = self.find_invoice(invoice.number)
            if existing is not None and existing.contact_id == invoice.contact_id:
                return WriteResult(id=existing.id, created=False, number=existing.number)
        body = self._invoice_body(invoice)
        try:
            created = self._created("Invoice", self._post("Invoice", body, idempotency_key))
        except Rejected as e:
            adopted = self._adopt_duplicate(invoice, e)
            if adopted is None:
                raise
            return adopted
        return WriteResult(id=str(created["Id"]), created=True, number=created.get("DocNumber"))

    def push_invoices(
        self, invoices: Sequence[Invoice], idempotency_key_for: Callable[[Invoice], str]
    ) -> list[PushOutcome]:
        """Up to 30 invoices per ``POST /v3/company/{realm}/batch`` [QL]; the answer carries one
        ``BatchItemResponse`` per ``bId``: the created invoice or its own ``Fault``. Invoices
        already there (one ``DocNumber IN`` query per 50) are adopted, and so is a duplicate
        number (6140) that turns out to be this customer's. Each batch's ``requestid`` (at most
        36 characters for a batch [QR field-definitions]) derives from its invoices' keys, so
        repeating the call replays the answer instead of creating again."""
        outcomes: dict[int, PushOutcome] = {}
        try:
            existing = self.find_invoices(inv.number for inv in invoices if inv.number)
        except STOPPING_ERRORS as e:
            return [PushOutcome(inv, error=e, sent=False) for inv in invoices]
        waiting: list[int] = []
        lists = _Lists(self)
        for index, invoice in enumerate(invoices):
            found = existing.get(invoice.number or "")
            if found is not None and found.contact_id == invoice.contact_id:
                outcomes[index] = PushOutcome(invoice, result=WriteResult(found.id, created=False, number=found.number))
            else:
                waiting.append(index)
        for start in range(0, len(waiting), self.batch_size):
            chunk = waiting[start : start + self.batch_size]
            items: list[JSON] = []
            sendable: list[int] = []
            for i in chunk:
                try:
                    body = self._invoice_body(invoices[i], lists)
                    items.append({"bId": str(i), "operation": "create", "Invoice": body})
                    sendable.append(i)
                except Rejected as e:  # a line whose item or class QuickBooks does not have
                    outcomes[i] = PushOutcome(invoices[i], error=e, sent=False)
            if not items:
                continue
            keys = [idempotency_key_for(invoices[i]) for i in sendable]
            try:
                answers = self._batch(items, bodies.batch_request_id(keys))
            except STOPPING_ERRORS as e:
                acted = may_have_acted(e)
                for i in sendable:
                    outcomes[i] = PushOutcome(invoices[i], error=e, sent=acted)
                return [outcomes.get(i) or PushOutcome(inv, error=e, sent=False) for i, inv in enumerate(invoices)]
            except ProviderError as e:
                for i in sendable:
                    outcomes[i] = PushOutcome(invoices[i], error=e)
                continue
            for i in sendable:
                outcomes[i] = self._batch_outcome(invoices[i], answers.get(str(i)))
        return [outcomes[i] for i in range(len(invoices))]

    def _batch(self, items: list[JSON], requestid: str) -> dict[str, JSON]:
        """POST one batch; bId -> its BatchItemResponse."""
        response = self.api.request(
            "POST",
            self._path("batch"),
            params={"minorversion": MINOR_VERSION, "requestid": requestid},
            json={"BatchItemRequest": items},
            headers={"Content-Type": "application/json"},
            retry_unsafe=True,  # the requestid makes a repeat replay the first answer
        )
        data = self._body(response)
        answers = data.get("BatchItemResponse")
        if not isinstance(answers, list):
            raise UnexpectedResponse("a batch answered without BatchItemResponse", system=self.system)
        return {str(a.get("bId")): a for a in answers if isinstance(a, dict)}

    def _batch_outcome(self, invoice: Invoice, answer: JSON | None) -> PushOutcome:
        if answer is None:
            error = UnexpectedResponse("the batch answered nothing for this invoice", system=self.system)
            return PushOutcome(invoice, error=error)
        created = answer.get("Invoice")
        if isinstance(created, dict) and created.get("Id"):
            return PushOutcome(invoice, result=WriteResult(str(created["Id"]), True, created.get("DocNumber")))
        errors = wire.fault_errors_of(answer.get("Fault"))
        code, message, detail = errors[0] if errors else ("", "QuickBooks refused this invoice", "")
        rejected = Rejected(
            f"{message}: {detail}" if detail and detail != message else message,
            system=self.system,
            code=code or None,
            status=400,
            details=tuple(d or m for _, m, d in errors),
        )
        adopted = self._adopt_duplicate(invoice, rejected)
        return PushOutcome(invoice, result=adopted) if adopted is not None else PushOutcome(invoice, error=rejected)

    def _adopt_duplicate(self, invoice: Invoice, error: Rejected) -> WriteResult | None:
        """The invoice a 6140 names, when it is this customer's: a push whose answer was lost."""
        if error.code != DUPLICATE_NUMBER or not invoice.number:
            return None
        existing = self.find_invoice(invoice.number)
        if existing is None or existing.contact_id != invoice.contact_id:
            return None
        named = _TXN_ID.search(" ".join(error.details) or error.message)
        logger.info("QuickBooks already has %s (TxnId %s): adopted", invoice.number, named.group(1) if named else "?")
        return WriteResult(id=existing.id, created=False, number=existing.number)

    def _invoice_body(self, invoice: Invoice, lists: _Lists | None = None) -> JSON:
        """The create body. Lines name items and classes by Id: those lists are read only if a
        line needs a look-up, once per push (``lists``) even outside a run's memo."""
        lists = lists or _Lists(self)
        lines = invoice.lines
        items = lists.items() if any(li.item_id is None and li.sku for li in lines) else []
        classes = lists.classes() if any(r.category.lower() == "class" for li in lines for r in li.tracking) else []
        return bodies.invoice_body(invoice, items, classes)

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


class _Lists:
    """Items and classes read at most once for one push (the run's memo, when lent, first)."""

    def __init__(self, provider: QuickBooks) -> None:
        self._provider = provider
        self._items: list[Item] | None = None
        self._classes: list[JSON] | None = None

    def items(self) -> list[Item]:
        if self._items is None:
            self._items = self._provider.memo.once("items", self._provider.items)
        return self._items

    def classes(self) -> list[JSON]:
        if self._classes is None:
            self._classes = self._provider._classes()
        return self._classes
