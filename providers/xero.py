"""Xero: the Accounting API 2.0 and the ``/connections`` identity call (the client).

Facts this module relies on are in specs/PROVIDERS.md section 1 and specs/xero/*.yaml:
every Accounting call names its organisation in the ``xero-tenant-id`` header (one token may
reach several; ``/connections`` also lists practice tenants, which are not organisations and
are left out); lists page with ``page`` / ``pageSize`` (max 1000) and answer a ``pagination``
object; deltas use ``If-Modified-Since``; invoices are read and written with ``unitdp=4`` (unit
amounts to four decimals, as the source may carry them); writes carry an ``Idempotency-Key``
(128 chars, 6 minutes). Xero documents no header telling a replayed answer from a first one, so
a write's ``created`` says "the push made or replayed it", never relies on such a header. Xero
does not report granted scopes on API calls: the probe returns those the token endpoint
reported when the token was issued (kept in the stored credentials).

Scopes. Apps created on or after 2 March 2026 get Xero's granular scopes only; the broad
``accounting.transactions`` stops working for older apps in September 2027 (confirmed
2026: apideck.com/blog/xero-scopes "Xero Scopes: What Changed" (2026-03-18) and
docs.codat.io/integrations/accounting/xero/partner-certification/scopes, both citing Xero's
"Upcoming changes to Xero accounting API scopes"; PROVIDERS.md §1 Auth (2ry)).
``accounting.transactions`` splits into ``accounting.invoices`` (invoices, credit notes,
quotes, purchase orders, repeating invoices and items), ``accounting.payments``,
``accounting.banktransactions``, ``accounting.manualjournals`` (each with a ``.read`` form);
``accounting.contacts`` and ``accounting.settings`` stay; items are reachable through
``accounting.invoices`` or ``accounting.settings``. The defaults below are the granular set a
full check plus re-push needs; an app registered earlier configures its broad scopes per side
(``scopes:`` in the integrations file). A call the grant's scopes do not cover answers 401
``{"Detail": "AuthorizationUnsuccessful"}`` (observed: XeroAPI/Xero-NetStandard#298,
XeroAPI/xero-ruby-oauth2-app#82), unlike a dead token's ``AuthenticationUnsuccessful``: it is
:class:`ScopeMissing` and never costs a token refresh.

The ``where`` filter has no escape character: a value holding ``"`` or ``\\`` cannot be written
inside one, so such look-ups use ``searchTerm`` (contacts, invoices) or read the list (items)
and compare locally. JSON <-> records is :mod:`providers.xero_wire`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import httpx

from common.types import JSON
from providers import xero_wire as wire
from providers.base import STOPPING_ERRORS, Capability, Endpoints, Provider, PushOutcome, Rules, may_have_acted
from providers.errors import (
    NotFound,
    ProviderError,
    RateLimited,
    Rejected,
    ScopeMissing,
    TenantError,
    TokenExpired,
    TokenRevoked,
    Unavailable,
    UnexpectedResponse,
)
from providers.http import Limits, parse_retry_after
from providers.records import (
    Account,
    ConnectionInfo,
    Contact,
    Feature,
    Invoice,
    Item,
    OrgInfo,
    Payment,
    RateStatus,
    TaxRate,
    TrackingCategory,
    WriteResult,
)

logger = logging.getLogger(__name__)


API = "/api.xro/2.0"
MAX_PAGE_SIZE = 1000  # Xero's maximum pageSize (PROVIDERS.md, 2ry)
MAX_IDEMPOTENCY_KEY = 128  # specs/xero/xero_accounting.yaml, parameter idempotencyKey
BATCH_SIZE = 50  # invoices per PUT: "~50 elements advised" (PROVIDERS.md §1 Batch writes, 2ry)
NUMBERS_PER_LOOKUP = 50  # invoice numbers per InvoiceNumbers filter (keeps the URL short)
UNITDP = {"unitdp": "4"}  # unit amounts to four decimal places, reads and writes [XS unitdp]
DUPLICATE_NUMBER = "Invoice # must be unique."  # [XS Invoices example]
# The default scope covering each resource, named when a grant lacks it (ScopeMissing.needed);
# every other Accounting resource Sync Doctor reads is a setting.
RESOURCE_SCOPES: dict[str, str] = {
    "Invoices": "accounting.invoices",
    "Items": "accounting.invoices",
    "Payments": "accounting.payments.read",
    "Contacts": "accounting.contacts",
}


class Xero(Provider):
    system: ClassVar[str] = "xero"
    display_name: ClassVar[str] = "Xero"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.ORG,
            Capability.CONTACTS,
            Capability.ITEMS,
            Capability.INVOICES,
            Capability.ACCOUNTS,
            Capability.TAX_RATES,
            Capability.TRACKING,
            Capability.PAYMENTS,
            Capability.PLAN,
            Capability.LOCK_DATE,
            Capability.PUSH_INVOICE,
            Capability.CREATE_ITEM,
            Capability.CREATE_CONTACT,
        }
    )
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        base_url="https://api.xero.com",
        token_url="https://identity.xero.com/connect/token",
        authorize_url="https://login.xero.com/identity/connect/authorize",
        identity_url="https://api.xero.com",
    )
    # Per tenant: 5 concurrent, 60/min; per app: 10,000/min (developer.xero.com/faq/limits).
    default_limits: ClassVar[Limits] = Limits(concurrent=5, per_minute=60, app_per_minute=10000)
    # "Bot minimum" in PROVIDERS.md: read + re-push with the broad scopes, offline_access for a
    # refresh token. The .read forms are satisfied by the read-write scopes.
    # Granular scopes (see the module docstring): invoices and items read and re-pushed,
    # payments read, contacts read and created, settings read; offline_access for a refresh token.
    scopes_needed: ClassVar[tuple[str, ...]] = (
        "accounting.invoices",
        "accounting.payments.read",
        "accounting.contacts",
        "accounting.settings.read",
        "offline_access",
    )
    # Organisation/Actions says ALLOWED / NOT-ALLOWED for these (PROVIDERS.md: Plan tier).
    plan_features = frozenset({Feature.MULTICURRENCY, Feature.APPROVE_INVOICES, Feature.TRACKING})
    refresh_token_lifetime: ClassVar[timedelta | None] = timedelta(days=60)  # expires if unused [XO]
    batch_size: ClassVar[int] = BATCH_SIZE
    # "The contact name ... must be unique across all active contacts" (PROVIDERS.md).
    rules: ClassVar[Rules] = Rules(
        contact_name_max=wire.CONTACT_NAME_MAX,
        unique_contact_names=True,
        item_code_max=wire.ITEM_CODE_MAX,
        item_name_max=wire.ITEM_NAME_MAX,
    )

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._tenant: str | None = None

    # -- plumbing ---------------------------------------------------------------------------

    def tenant_id(self) -> str:
        """The organisation every Accounting call names: configured, stored, or the only one."""
        if self._tenant is None:
            # A configured organisation is used as is (the probe checks it is reachable);
            # only without one does a call to /connections pick the single reachable one.
            self._tenant = self._wanted_tenant() or self._resolve_tenant(self._connections())[0]
        return self._tenant

    def _wanted_tenant(self) -> str | None:
        if self.options.tenant:
            return self.options.tenant
        return self.tokens.credentials().tenant_id

    def _resolve_tenant(self, connections: list[JSON]) -> tuple[str, str | None]:
        reached = [(str(c.get("tenantId")), c.get("tenantName")) for c in connections]
        wanted = self._wanted_tenant()
        if wanted:
            for tenant_id, name in reached:
                if tenant_id == wanted:
                    return tenant_id, name
        elif len(reached) == 1:
            return reached[0]
        names = ", ".join(f"{name} ({tenant_id})" for tenant_id, name in reached) or "no organisation"
        if wanted:
            message = f"this connection does not reach the configured organisation {wanted}; it reaches: {names}"
        else:
            message = f"no organisation is configured and this connection reaches {names}; set the tenant id"
        raise TenantError(message, system=self.system, code="tenant_not_connected")

    def _connections(self) -> list[JSON]:
        """The organisations the token reaches (practice-manager tenants are not organisations:
        the Accounting API refuses them, so they are never picked or offered)."""
        identity = (self.options.endpoints.identity_url or self.options.endpoints.base_url).rstrip("/")
        data = self.api.get_json(f"{identity}/connections")
        if not isinstance(data, list) or not all(isinstance(c, dict) for c in data):
            raise UnexpectedResponse("GET /connections did not answer a list of connections", system=self.system)
        return [c for c in data if str(c.get("tenantType") or "ORGANISATION").upper() == "ORGANISATION"]

    def _headers(self, since: date | None = None) -> dict[str, str]:
        headers = {"xero-tenant-id": self.tenant_id()}
        if since is not None:
            # ISO 8601 with an offset, as the spec's ifModifiedSince parameter shows.
            headers["If-Modified-Since"] = datetime(since.year, since.month, since.day, tzinfo=UTC).isoformat()
        return headers

    def _get(self, resource: str, params: Mapping[str, Any] | None = None, since: date | None = None) -> JSON:
        data = self.api.get_json(f"{API}/{resource}", params=params, headers=self._headers(since))
        if not isinstance(data, dict):
            raise UnexpectedResponse(f"GET {resource} did not answer a JSON object", system=self.system)
        return data

    def _rows(self, data: Mapping[str, Any], key: str) -> list[JSON]:
        rows = data.get(key)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise UnexpectedResponse(f"the answer has no {key} list", system=self.system)
        return rows

    def _paged(self, resource: str, params: Mapping[str, Any], since: date | None = None) -> list[JSON]:
        size = min(self.options.page_size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
        found: list[JSON] = []
        page = 1
        while True:
            data = self._get(resource, {**params, "page": page, "pageSize": size}, since)
            rows = self._rows(data, resource)
            found.extend(rows)
            pagination = data.get("pagination")
            page_count = pagination.get("pageCount") if isinstance(pagination, dict) else None
            last = page >= page_count if isinstance(page_count, int) else len(rows) < size
            if last or not rows:
                return found
            page += 1

    def _put(self, resource: str, element: JSON, idempotency_key: str) -> JSON:
        """PUT one element; the element Xero created (or replayed for a repeated key)."""
        rows = self._put_many(resource, [element], idempotency_key, params=UNITDP if resource == "Invoices" else None)
        if not rows:
            raise UnexpectedResponse(f"PUT {resource} answered no {resource}", system=self.system)
        return rows[0]

    def _put_many(
        self,
        resource: str,
        elements: Sequence[JSON],
        idempotency_key: str,
        *,
        params: Mapping[str, str] | None = None,
    ) -> list[JSON]:
        """PUT a collection; Xero answers its elements in the order sent."""
        key = idempotency_key
        if len(key) > MAX_IDEMPOTENCY_KEY:
            key = hashlib.sha256(key.encode()).hexdigest()  # stable, so retries stay idempotent
        headers = {**self._headers(), "Idempotency-Key": key}
        response = self.api.request(
            "PUT",
            f"{API}/{resource}",
            params=params,
            json={resource: list(elements)},
            headers=headers,
            retry_unsafe=True,
        )
        data = self.api.json(response)
        if not isinstance(data, dict):
            raise UnexpectedResponse(f"PUT {resource} did not answer a JSON object", system=self.system)
        rows = self._rows(data, resource)
        if len(rows) != len(elements):
            raise UnexpectedResponse(
                f"PUT {resource} sent {len(elements)} and answered {len(rows)} elements", system=self.system
            )
        return rows

    def error_for(self, response: httpx.Response) -> ProviderError:
        """Xero's envelopes -> typed errors carrying Xero's own words."""
        status = response.status_code
        if status == 429:
            problem = response.headers.get("X-Rate-Limit-Problem")
            return RateLimited(
                f"Xero rate limit reached ({problem or 'unspecified'} limit)",
                system=self.system,
                code="rate_limited",
                status=429,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                limit=problem,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            snippet = response.text[:120].replace("\n", " ")
            if status == 404:
                return NotFound(f"not found: {snippet}", system=self.system, status=404)
            if status >= 500:
                return Unavailable(f"Xero answered {status}: {snippet}", system=self.system, status=status)
            return UnexpectedResponse(
                f"Xero answered {status} with a body that is not a JSON object: {snippet!r}",
                system=self.system,
                status=status,
            )
        detail = str(body.get("Detail") or body.get("Message") or body.get("Title") or f"HTTP {status}")
        code = detail.split(":", 1)[0].strip() if ":" in detail else detail
        if status == 401:
            if detail.startswith("TokenExpired"):
                return TokenExpired(detail, system=self.system, code="TokenExpired", status=401)
            if detail.startswith("AuthorizationUnsuccessful"):
                # The token is good; its scopes do not cover this call (see the module docstring).
                needed = _needed_scope(response)
                return ScopeMissing(
                    f"Xero refused {_request_path(response)}: the connection's scopes do not cover it ({detail})",
                    system=self.system,
                    code="AuthorizationUnsuccessful",
                    status=401,
                    needed=(needed,) if needed else (),
                )
            return TokenRevoked(detail, system=self.system, code=code, status=401)
        if status == 403:
            if "AuthenticationUnsuccessful" in detail:
                # The organisation was disconnected from the app, or this token was never granted it.
                tenant = _request_tenant(response)
                return TenantError(
                    f"Xero refused access to organisation {tenant}: {detail}",
                    system=self.system,
                    code=code,
                    status=403,
                )
            # An authenticated call refused for another reason: the app's scopes do not cover it.
            return ScopeMissing(detail, system=self.system, code=code, status=403)
        if status == 400:
            details = tuple(
                str(err.get("Message"))
                for element in body.get("Elements") or []
                if isinstance(element, dict)
                for err in element.get("ValidationErrors") or []
                if isinstance(err, dict) and err.get("Message")
            )
            kind = str(body.get("Type") or "BadRequest")
            message = "; ".join(dict.fromkeys(details)) or str(body.get("Message") or detail)
            return Rejected(message, system=self.system, code=kind, status=400, details=details or (message,))
        if status == 404:
            return NotFound(detail, system=self.system, code=code, status=404)
        if status >= 500:
            return Unavailable(detail, system=self.system, code=code, status=status)
        return ProviderError(detail, system=self.system, code=code, status=status)

    def rate_status(self, response: httpx.Response) -> RateStatus | None:
        """``X-DayLimit-Remaining`` / ``X-MinLimit-Remaining`` (+ ``X-Rate-Limit-Problem`` on 429)."""
        day = _int(response.headers.get("X-DayLimit-Remaining"))
        minute = _int(response.headers.get("X-MinLimit-Remaining"))
        problem = response.headers.get("X-Rate-Limit-Problem")
        if day is None and minute is None and problem is None:
            return None
        return RateStatus(day_remaining=day, minute_remaining=minute, last_problem=problem)

    # -- reads ------------------------------------------------------------------------------

    def probe(self) -> ConnectionInfo:
        """GET /connections: which organisations the token reaches; the configured one must be there."""
        connections = self._connections()
        tenant_id, name = self._resolve_tenant(connections)
        self._tenant = tenant_id
        scopes = self.tokens.credentials().scopes
        return ConnectionInfo(
            tenant_id=tenant_id,
            tenant_name=name,
            scopes=frozenset(scopes) if scopes else None,
            tenants_available=tuple((str(c.get("tenantId")), str(c.get("tenantName") or "")) for c in connections),
        )

    def org_info(self) -> OrgInfo:
        """Organisation + Organisation/Actions (plan-gated features) + Currencies."""
        # Three independent reads, sent together (the tenant's 5-concurrent limit still applies).
        actions = self.fan_out.start(lambda: self._rows(self._get("Organisation/Actions"), "Actions"))
        currencies = self.fan_out.start(lambda: self._rows(self._get("Currencies"), "Currencies"))
        orgs = self._rows(self._get("Organisation"), "Organisations")
        if not orgs:
            raise UnexpectedResponse("GET Organisation answered no organisation", system=self.system)
        return wire.org_info(orgs, actions.result(), currencies.result(), self.tenant_id())

    def contacts(self) -> list[Contact]:
        """Every contact, archived included (Xero hides them unless includeArchived=true)."""
        return [wire.contact(row) for row in self._paged("Contacts", {"includeArchived": "true"})]

    def items(self) -> list[Item]:
        """Every item; ``Code`` is the SKU. Items are not paged in the Accounting API."""
        return [wire.item(row) for row in self._rows(self._get("Items"), "Items")]

    def invoices(self, since: date | None = None) -> list[Invoice]:
        """Sales invoices (ACCREC), every page; with ``since``, only those modified since then."""
        rows = self._paged("Invoices", {"where": 'Type=="ACCREC"', **UNITDP}, since)
        return [wire.invoice(row) for row in rows if wire.is_sale(row)]

    def find_invoice(self, number: str) -> Invoice | None:
        """The sales invoice numbered exactly ``number``: one filtered call."""
        return self.find_invoices([number]).get(number)

    def find_invoices(self, numbers: Iterable[str]) -> dict[str, Invoice]:
        """Sales invoices by number: the ``InvoiceNumbers`` filter, up to 50 numbers a call. A
        number with a comma cannot go in that list: an exact ``where`` finds it, or, when it
        also holds a quote or a backslash, ``searchTerm`` (a contains-search) and a local
        comparison."""
        wanted = list(dict.fromkeys(n for n in numbers if n))
        listed = [n for n in wanted if "," not in n]
        queries: list[Mapping[str, str]] = [
            {"InvoiceNumbers": ",".join(listed[i : i + NUMBERS_PER_LOOKUP])}
            for i in range(0, len(listed), NUMBERS_PER_LOOKUP)
        ]
        for number in wanted:
            if "," in number:
                queries.append(
                    {"where": f'Type=="ACCREC" AND InvoiceNumber=="{number}"'}
                    if wire.where_safe(number)
                    else {"searchTerm": number}
                )
        found: dict[str, Invoice] = {}
        targets = set(wanted)
        for params in queries:
            for row in self._rows(self._get("Invoices", {**params, **UNITDP}), "Invoices"):
                row_number = row.get("InvoiceNumber")
                if wire.is_sale(row) and row_number in targets and row_number not in found:
                    found[str(row_number)] = wire.invoice(row)
        return found

    def accounts(self) -> list[Account]:
        return [wire.account(row) for row in self._rows(self._get("Accounts"), "Accounts")]

    def tax_rates(self) -> list[TaxRate]:
        return [wire.tax_rate(row) for row in self._rows(self._get("TaxRates"), "TaxRates")]

    def tracking_categories(self) -> list[TrackingCategory]:
        rows = self._rows(self._get("TrackingCategories", {"includeArchived": "true"}), "TrackingCategories")
        return [wire.tracking_category(row) for row in rows]

    def payments(self, since: date | None = None) -> list[Payment]:
        """Payments on sales invoices (deleted ones left out), every page."""
        found = (wire.payment(row) for row in self._paged("Payments", {}, since))
        return [p for p in found if p is not None]

    # -- writes -----------------------------------------------------------------------------

    def _pushable(self, invoice: Invoice) -> str:
        status = wire.PUSH_STATUSES.get(invoice.status)
        if status is None:
            raise Rejected(
                f"invoice {invoice.number or invoice.id} is {invoice.status.value}; Xero cannot create it in that state",
                system=self.system,
                code="not_pushable",
            )
        return status

    def push_invoice(self, invoice: Invoice, *, idempotency_key: str) -> WriteResult:
        """PUT Invoices with an Idempotency-Key; an invoice already there is adopted, not
        pushed again. ``created`` is True for an invoice this key's push made (a replay of the
        same key answers the same invoice)."""
        status = self._pushable(invoice)
        if invoice.number:
            existing = self.find_invoice(invoice.number)
            if existing is not None:
                return _adopted(existing)
        row = self._put("Invoices", wire.invoice_body(invoice, status), idempotency_key)
        return _written(row)

    def push_invoices(
        self, invoices: Sequence[Invoice], idempotency_key_for: Callable[[Invoice], str]
    ) -> list[PushOutcome]:
        """Many invoices per ``PUT Invoices?summarizeErrors=false`` (``batch_size`` a request):
        Xero answers every element with ``StatusAttributeString`` OK or ERROR and its
        ``ValidationErrors``, so one invalid invoice does not sink the rest [XS]. Invoices already
        in Xero (one ``InvoiceNumbers`` look-up per 50) are adopted; a number Xero calls taken
        ("Invoice # must be unique.") is looked up and adopted too. Each request's
        Idempotency-Key derives from its invoices' keys, so repeating the call replays it."""
        outcomes: dict[int, PushOutcome] = {}
        statuses: dict[int, str] = {}
        for index, invoice in enumerate(invoices):
            try:
                statuses[index] = self._pushable(invoice)
            except Rejected as e:
                outcomes[index] = PushOutcome(invoice, error=e, sent=False)
        try:
            existing = self.find_invoices(inv.number for i, inv in enumerate(invoices) if i in statuses and inv.number)
        except STOPPING_ERRORS as e:
            return _finish(invoices, outcomes, e)
        waiting: list[int] = []
        for index in statuses:
            number = invoices[index].number
            if number and number in existing:
                outcomes[index] = PushOutcome(invoices[index], result=_adopted(existing[number]))
            else:
                waiting.append(index)
        for start in range(0, len(waiting), self.batch_size):
            chunk = waiting[start : start + self.batch_size]
            keys = [idempotency_key_for(invoices[i]) for i in chunk]
            bodies = [wire.invoice_body(invoices[i], statuses[i]) for i in chunk]
            try:
                rows = self._put_many(
                    "Invoices", bodies, _batch_key(keys), params={**UNITDP, "summarizeErrors": "false"}
                )
            except STOPPING_ERRORS as e:
                acted = may_have_acted(e)
                for i in chunk:
                    outcomes[i] = PushOutcome(invoices[i], error=e, sent=acted)
                return _finish(invoices, outcomes, e)
            except ProviderError as e:  # the request as a whole was refused
                for i in chunk:
                    outcomes[i] = PushOutcome(invoices[i], error=e)
                continue
            for i, row in zip(chunk, rows, strict=True):
                outcomes[i] = self._element_outcome(invoices[i], row)
        return [outcomes[i] for i in range(len(invoices))]

    def _element_outcome(self, invoice: Invoice, row: JSON) -> PushOutcome:
        """One element of a ``summarizeErrors=false`` answer."""
        messages = wire.validation_messages(row)
        if str(row.get("StatusAttributeString") or "OK").upper() != "ERROR" and not messages:
            return PushOutcome(invoice, result=_written(row))
        if invoice.number and DUPLICATE_NUMBER in messages:
            # Taken since our look-up (an earlier push whose answer was lost): adopt it.
            existing = self.find_invoice(invoice.number)
            if existing is not None:
                return PushOutcome(invoice, result=_adopted(existing))
        error = Rejected(
            "; ".join(messages) or "Xero refused this invoice",
            system=self.system,
            code="ValidationException",
            status=400,
            details=tuple(messages),
        )
        return PushOutcome(invoice, error=error)

    def create_item(self, item: Item, *, idempotency_key: str) -> WriteResult:
        """PUT Items; an item whose Code already exists is reported, not duplicated."""
        if not item.code:
            raise Rejected("a Xero item needs a Code (the SKU)", system=self.system, code="item_code_required")
        code = item.code
        if wire.where_safe(code):
            found = self._rows(self._get("Items", {"where": f'Code=="{code}"'}), "Items")
        else:  # Items take no searchTerm and are not paged: read them and compare here
            found = [row for row in self._rows(self._get("Items"), "Items") if row.get("Code") == code]
        if found:
            return WriteResult(str(found[0].get("ItemID")), created=False, number=str(found[0].get("Code")))
        row = self._put("Items", wire.item_body(item), idempotency_key)
        return WriteResult(str(row.get("ItemID")), created=True, number=str(row.get("Code") or code))

    def create_contact(self, contact: Contact, *, idempotency_key: str) -> WriteResult:
        """PUT Contacts; an active contact with the same Name is reported, not duplicated."""
        name = contact.name
        if wire.where_safe(name):
            found = self._rows(self._get("Contacts", {"where": f'Name=="{name}"'}), "Contacts")
        else:  # searchTerm matches names containing it, whatever their case: compare exactly here
            rows = self._paged("Contacts", {"searchTerm": name})
            found = [row for row in rows if str(row.get("Name") or "").casefold() == name.casefold()]
        if found:
            return WriteResult(str(found[0].get("ContactID")), created=False, number=found[0].get("ContactNumber"))
        row = self._put("Contacts", wire.contact_body(contact), idempotency_key)
        return WriteResult(str(row.get("ContactID")), created=True, number=row.get("ContactNumber"))


def _adopted(existing: Invoice) -> WriteResult:
    return WriteResult(existing.id, created=False, number=existing.number, extra={"status": existing.raw_status or ""})


def _written(row: JSON) -> WriteResult:
    return WriteResult(
        str(row.get("InvoiceID")),
        created=True,
        number=str(row["InvoiceNumber"]) if row.get("InvoiceNumber") else None,
        extra={"status": str(row.get("Status") or "")},
    )


def _batch_key(keys: Sequence[str]) -> str:
    """One Idempotency-Key for a batch, from its invoices' keys (the same batch, the same key)."""
    return "batch-" + hashlib.sha256("\n".join(keys).encode()).hexdigest()


def _finish(invoices: Sequence[Invoice], outcomes: dict[int, PushOutcome], error: ProviderError) -> list[PushOutcome]:
    """Outcomes for every invoice: those not reached stopped at ``error``, unsent."""
    return [outcomes.get(i) or PushOutcome(inv, error=error, sent=False) for i, inv in enumerate(invoices)]


def _request_path(response: httpx.Response) -> str:
    try:
        return response.request.url.path
    except RuntimeError:  # a response built without a request
        return "the call"


def _needed_scope(response: httpx.Response) -> str | None:
    """The scope (of the defaults) that covers the refused call's resource; None when unknown."""
    path = _request_path(response)
    if f"{API}/" not in path:
        return None
    resource = path.split(f"{API}/", 1)[1].split("/", 1)[0]
    return RESOURCE_SCOPES.get(resource, "accounting.settings.read")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _request_tenant(response: httpx.Response) -> str:
    try:
        return str(response.request.headers.get("xero-tenant-id", "?"))
    except RuntimeError:  # a response built without a request
        return "?"
