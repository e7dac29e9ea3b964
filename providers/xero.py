"""Xero: the Accounting API 2.0 and the ``/connections`` identity call.

Facts this module relies on are in specs/PROVIDERS.md section 1 and specs/xero/*.yaml:
every Accounting call names its organisation in the ``xero-tenant-id`` header (one token may
reach several); lists page with ``page`` / ``pageSize`` (max 1000) and answer a
``pagination`` object; deltas use ``If-Modified-Since``; JSON dates look like
``/Date(1539993600000+0000)/``; writes carry an ``Idempotency-Key`` (128 chars, 6 minutes).
Xero does not report granted scopes on API calls: the probe returns those the token endpoint
reported when the token was issued (kept in the stored credentials).

Plan cap decision: Xero's API does not expose an invoice cap. The legacy Starter ("Early" in
the US) plan could approve 20 sales invoices a month (PROVIDERS.md, 2ry), so ``org_info``
reports ``monthly_invoice_limit=20`` for ``Class == "STARTER"`` and ``None`` (unknown, not
"unlimited") for every other Class, including IGNITE whose cap is UNCONFIRMED.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from common.types import JSON
from providers.base import Capability, Endpoints, Provider
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
    RateStatus,
    TaxRate,
    TrackingCategory,
    TrackingOption,
    TrackingRef,
    WriteResult,
)

logger = logging.getLogger(__name__)


API = "/api.xro/2.0"
MAX_PAGE_SIZE = 1000  # Xero's maximum pageSize (PROVIDERS.md, 2ry)
MAX_IDEMPOTENCY_KEY = 128  # specs/xero/xero_accounting.yaml, parameter idempotencyKey

STATUSES: dict[str, InvoiceStatus] = {
    "DRAFT": InvoiceStatus.DRAFT,
    "SUBMITTED": InvoiceStatus.OPEN,  # awaiting approval: already owed in the customer's eyes
    "AUTHORISED": InvoiceStatus.OPEN,
    "PAID": InvoiceStatus.PAID,
    "VOIDED": InvoiceStatus.VOID,
    "DELETED": InvoiceStatus.VOID,
}
# What a pushed invoice becomes. Xero creates only DRAFT / SUBMITTED / AUTHORISED; a paid
# source invoice lands AUTHORISED and its payment is a separate record.
PUSH_STATUSES: dict[InvoiceStatus, str] = {
    InvoiceStatus.DRAFT: "DRAFT",
    InvoiceStatus.OPEN: "AUTHORISED",
    InvoiceStatus.PAID: "AUTHORISED",
}
TRIAL_CLASSES = frozenset({"DEMO", "TRIAL"})
INVOICE_CAPS: dict[str, int] = {"STARTER": 20}  # see the module docstring
ACTION_FEATURES: dict[str, Feature] = {
    "UseMulticurrency": Feature.MULTICURRENCY,
    "CreateApprovedInvoice": Feature.APPROVE_INVOICES,
}
REPLAY_HEADER = "Idempotent-Replayed"  # sent by the sandbox on a replay; Xero documents none

_MSDATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


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
    scopes_needed: ClassVar[tuple[str, ...]] = (
        "accounting.transactions.read",
        "accounting.contacts.read",
        "accounting.settings.read",
        "accounting.transactions",
        "accounting.contacts",
        "accounting.settings",
        "offline_access",
    )
    # Organisation/Actions says ALLOWED / NOT-ALLOWED for these (PROVIDERS.md: Plan tier).
    plan_features = frozenset({Feature.MULTICURRENCY, Feature.APPROVE_INVOICES, Feature.TRACKING})
    refresh_token_lifetime: ClassVar[timedelta | None] = timedelta(days=60)  # expires if unused [XO]

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
        identity = (self.options.endpoints.identity_url or self.options.endpoints.base_url).rstrip("/")
        data = self.api.get_json(f"{identity}/connections")
        if not isinstance(data, list) or not all(isinstance(c, dict) for c in data):
            raise UnexpectedResponse("GET /connections did not answer a list of connections", system=self.system)
        return data

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

    def _put(self, resource: str, element: JSON, idempotency_key: str) -> tuple[JSON, bool]:
        """PUT one element; (the created element, whether Xero replayed an earlier answer)."""
        key = idempotency_key
        if len(key) > MAX_IDEMPOTENCY_KEY:
            key = hashlib.sha256(key.encode()).hexdigest()  # stable, so retries stay idempotent
        headers = {**self._headers(), "Idempotency-Key": key}
        response = self.api.request(
            "PUT",
            f"{API}/{resource}",
            json={resource: [element]},
            headers=headers,
            retry_unsafe=True,
        )
        data = self.api.json(response)
        if not isinstance(data, dict):
            raise UnexpectedResponse(f"PUT {resource} did not answer a JSON object", system=self.system)
        rows = self._rows(data, resource)
        if not rows:
            raise UnexpectedResponse(f"PUT {resource} answered no {resource}", system=self.system)
        return rows[0], response.headers.get(REPLAY_HEADER, "").lower() == "true"

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
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="xero-org") as pool:
            pending_actions = pool.submit(lambda: self._rows(self._get("Organisation/Actions"), "Actions"))
            pending_currencies = pool.submit(lambda: self._rows(self._get("Currencies"), "Currencies"))
            orgs = self._rows(self._get("Organisation"), "Organisations")
            actions = pending_actions.result()
            currencies = pending_currencies.result()
        if not orgs:
            raise UnexpectedResponse("GET Organisation answered no organisation", system=self.system)
        org = orgs[0]
        allowed = {str(a.get("Name")) for a in actions if a.get("Status") == "ALLOWED"}
        # Tracking categories exist on every Xero plan; the others are runtime-checked actions.
        features = {Feature.TRACKING} | {feature for name, feature in ACTION_FEATURES.items() if name in allowed}
        plan = str(org["Class"]) if org.get("Class") else None
        locks = [d for d in (_date(org.get("PeriodLockDate")), _date(org.get("EndOfYearLockDate"))) if d]
        base = str(org["BaseCurrency"]) if org.get("BaseCurrency") else None
        codes = {str(c["Code"]) for c in currencies if c.get("Code")} | ({base} if base else set())
        return OrgInfo(
            tenant_id=str(org.get("OrganisationID") or self.tenant_id()),
            name=str(org.get("Name") or ""),
            base_currency=base,
            currencies=frozenset(codes),
            plan=plan,
            features=frozenset(features),
            features_known=True,
            is_trial=plan in TRIAL_CLASSES,
            is_demo=bool(org.get("IsDemoCompany")),
            lock_date=max(locks) if locks else None,
            monthly_invoice_limit=INVOICE_CAPS.get(plan or ""),
            country=str(org["CountryCode"]) if org.get("CountryCode") else None,
            status=str(org["OrganisationStatus"]) if org.get("OrganisationStatus") else None,
        )

    def contacts(self) -> list[Contact]:
        """Every contact, archived included (Xero hides them unless includeArchived=true)."""
        return [_contact(row) for row in self._paged("Contacts", {"includeArchived": "true"})]

    def items(self) -> list[Item]:
        """Every item; ``Code`` is the SKU. Items are not paged in the Accounting API."""
        return [_item(row) for row in self._rows(self._get("Items"), "Items")]

    def invoices(self, since: date | None = None) -> list[Invoice]:
        """Sales invoices (ACCREC), every page; with ``since``, only those modified since then."""
        rows = self._paged("Invoices", {"where": 'Type=="ACCREC"'}, since)
        return [_invoice(row) for row in rows if row.get("Type", "ACCREC") == "ACCREC"]

    def find_invoice(self, number: str) -> Invoice | None:
        """The sales invoice numbered ``number``, via the InvoiceNumbers filter (one call)."""
        if "," in number:  # InvoiceNumbers is comma-separated: fall back to an exact where
            params = {"where": f'Type=="ACCREC" AND InvoiceNumber=="{_quote(number)}"'}
        else:
            params = {"InvoiceNumbers": number}
        rows = self._rows(self._get("Invoices", params), "Invoices")
        for row in rows:
            if row.get("Type", "ACCREC") == "ACCREC" and row.get("InvoiceNumber") == number:
                return _invoice(row)
        return None

    def accounts(self) -> list[Account]:
        return [
            Account(
                id=str(row.get("AccountID")),
                code=str(row["Code"]) if row.get("Code") else None,
                name=str(row.get("Name") or ""),
                type=str(row["Type"]) if row.get("Type") else None,
                status=str(row.get("Status") or "ACTIVE").lower(),
            )
            for row in self._rows(self._get("Accounts"), "Accounts")
        ]

    def tax_rates(self) -> list[TaxRate]:
        return [
            TaxRate(
                code=str(row.get("TaxType")),
                name=str(row.get("Name") or row.get("TaxType")),
                rate=to_decimal(row.get("EffectiveRate")),
                status=str(row.get("Status") or "ACTIVE").lower(),
            )
            for row in self._rows(self._get("TaxRates"), "TaxRates")
        ]

    def tracking_categories(self) -> list[TrackingCategory]:
        rows = self._rows(self._get("TrackingCategories", {"includeArchived": "true"}), "TrackingCategories")
        return [
            TrackingCategory(
                id=str(row.get("TrackingCategoryID")),
                name=str(row.get("Name") or ""),
                status=str(row.get("Status") or "ACTIVE").lower(),
                options=tuple(
                    TrackingOption(
                        name=str(o.get("Name") or ""),
                        status=str(o.get("Status") or "ACTIVE").lower(),
                    )
                    for o in row.get("Options") or []
                    if isinstance(o, dict)
                ),
            )
            for row in rows
        ]

    def payments(self, since: date | None = None) -> list[Payment]:
        """Payments on sales invoices (deleted ones left out), every page."""
        found = []
        for row in self._paged("Payments", {}, since):
            invoice = _object(row.get("Invoice"))
            kind = row.get("PaymentType") or ("ACCRECPAYMENT" if invoice.get("Type") == "ACCREC" else None)
            if row.get("Status") == "DELETED" or kind != "ACCRECPAYMENT":
                continue
            found.append(
                Payment(
                    id=str(row.get("PaymentID")),
                    invoice_id=str(invoice["InvoiceID"]) if invoice.get("InvoiceID") else None,
                    amount=to_money(row.get("Amount")),
                    date=_date(row.get("Date")),
                    currency=str(invoice["CurrencyCode"]) if invoice.get("CurrencyCode") else None,
                    invoice_number=str(invoice["InvoiceNumber"]) if invoice.get("InvoiceNumber") else None,
                )
            )
        return found

    # -- writes -----------------------------------------------------------------------------

    def push_invoice(self, invoice: Invoice, *, idempotency_key: str) -> WriteResult:
        """PUT Invoices with an Idempotency-Key; an invoice already there is not pushed again."""
        status = PUSH_STATUSES.get(invoice.status)
        if status is None:
            raise Rejected(
                f"invoice {invoice.number or invoice.id} is {invoice.status.value}; Xero cannot create it in that state",
                system=self.system,
                code="not_pushable",
            )
        if invoice.number:
            existing = self.find_invoice(invoice.number)
            if existing is not None:
                return WriteResult(
                    existing.id,
                    created=False,
                    number=existing.number,
                    extra={"status": existing.raw_status or ""},
                )
        row, replayed = self._put("Invoices", _invoice_body(invoice, status), idempotency_key)
        return WriteResult(
            str(row.get("InvoiceID")),
            created=not replayed,
            number=str(row["InvoiceNumber"]) if row.get("InvoiceNumber") else None,
            extra={"status": str(row.get("Status") or "")},
        )

    def create_item(self, item: Item, *, idempotency_key: str) -> WriteResult:
        """PUT Items; an item whose Code already exists is reported, not duplicated."""
        if not item.code:
            raise Rejected("a Xero item needs a Code (the SKU)", system=self.system, code="item_code_required")
        found = self._rows(self._get("Items", {"where": f'Code=="{_quote(item.code)}"'}), "Items")
        if found:
            return WriteResult(str(found[0].get("ItemID")), created=False, number=str(found[0].get("Code")))
        body: JSON = {"Code": item.code, "Name": item.name[:50], "IsSold": True}
        if len(item.name) > 50:
            body["Description"] = item.name  # Name is capped at 50 characters; keep the whole name here
        sales = {
            k: v
            for k, v in (
                ("UnitPrice", float(item.unit_price) if item.unit_price is not None else None),
                ("AccountCode", item.account_code),
                ("TaxType", item.tax_code),
            )
            if v is not None
        }
        if sales:
            body["SalesDetails"] = sales
        row, replayed = self._put("Items", body, idempotency_key)
        return WriteResult(str(row.get("ItemID")), created=not replayed, number=str(row.get("Code") or item.code))

    def create_contact(self, contact: Contact, *, idempotency_key: str) -> WriteResult:
        """PUT Contacts; an active contact with the same Name is reported, not duplicated."""
        found = self._rows(self._get("Contacts", {"where": f'Name=="{_quote(contact.name)}"'}), "Contacts")
        if found:
            return WriteResult(str(found[0].get("ContactID")), created=False, number=found[0].get("ContactNumber"))
        body: JSON = {"Name": contact.name}
        for key, value in (
            ("FirstName", contact.first_name),
            ("LastName", contact.last_name),
            ("EmailAddress", contact.email),
            ("ContactNumber", contact.number),
            ("DefaultCurrency", contact.currency),
        ):
            if value:
                body[key] = value
        if contact.address is not None:
            a = contact.address
            address = {
                k: v
                for k, v in (
                    ("AddressLine1", a.line1),
                    ("City", a.city),
                    ("Region", a.region),
                    ("PostalCode", a.postcode),
                    ("Country", a.country),
                )
                if v
            }
            # POBOX is the postal / billing address Xero prints on invoices.
            body["Addresses"] = [{"AddressType": "POBOX", **address}]
        row, replayed = self._put("Contacts", body, idempotency_key)
        return WriteResult(str(row.get("ContactID")), created=not replayed, number=row.get("ContactNumber"))


# -- translation ----------------------------------------------------------------------------


def _when(value: Any) -> datetime | None:
    """``/Date(1539993600000+0000)/`` (milliseconds, UTC) or ISO 8601; None when absent or unreadable."""
    if not value:
        return None
    text = str(value).strip()
    match = _MSDATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        logger.warning("unreadable Xero date %r", text)
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date(value: Any) -> date | None:
    moment = _when(value)
    return moment.date() if moment else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _request_tenant(response: httpx.Response) -> str:
    try:
        return response.request.headers.get("xero-tenant-id", "?")
    except RuntimeError:  # a response built without a request
        return "?"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _object(value: Any) -> dict[str, Any]:
    """A nested JSON object, or an empty one where Xero sent none (or something else)."""
    return value if isinstance(value, dict) else {}


def _text(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    return str(value) if value not in (None, "") else None


def _contact(row: Mapping[str, Any]) -> Contact:
    addresses = [a for a in row.get("Addresses") or [] if isinstance(a, dict)]
    # Prefer the postal (POBOX) address, the one printed on invoices, then the street address.
    chosen = next((a for a in addresses if a.get("AddressType") == "POBOX" and _has_address(a)), None) or next(
        (a for a in addresses if _has_address(a)), None
    )
    address = (
        Address(
            line1=_text(chosen, "AddressLine1"),
            city=_text(chosen, "City"),
            region=_text(chosen, "Region"),
            postcode=_text(chosen, "PostalCode"),
            country=_text(chosen, "Country"),
        )
        if chosen
        else None
    )
    return Contact(
        id=str(row.get("ContactID")),
        name=str(row.get("Name") or ""),
        email=_text(row, "EmailAddress"),
        first_name=_text(row, "FirstName"),
        last_name=_text(row, "LastName"),
        archived=row.get("ContactStatus") in ("ARCHIVED", "GDPRREQUEST"),
        address=address,
        currency=_text(row, "DefaultCurrency"),
        number=_text(row, "ContactNumber"),
    )


def _has_address(a: Mapping[str, Any]) -> bool:
    return any(a.get(k) for k in ("AddressLine1", "City", "PostalCode", "Country"))


def _item(row: Mapping[str, Any]) -> Item:
    sales = _object(row.get("SalesDetails"))
    return Item(
        id=str(row.get("ItemID")),
        code=_text(row, "Code"),
        name=str(row.get("Name") or ""),
        unit_price=to_decimal(sales.get("UnitPrice")),
        account_code=_text(sales, "AccountCode"),
        tax_code=_text(sales, "TaxType"),
    )


def _invoice(row: Mapping[str, Any]) -> Invoice:
    contact = _object(row.get("Contact"))
    raw_status = str(row.get("Status") or "")
    lines = []
    for line in row.get("LineItems") or []:
        if not isinstance(line, dict):
            continue
        item = _object(line.get("Item"))
        lines.append(
            InvoiceLine(
                description=_text(line, "Description"),
                sku=_text(line, "ItemCode"),
                item_id=_text(item, "ItemID"),
                quantity=to_decimal(line.get("Quantity")) or Decimal(1),
                unit_amount=to_money(line.get("UnitAmount")),
                amount=to_money(line.get("LineAmount")),
                account_code=_text(line, "AccountCode"),
                tax_code=_text(line, "TaxType"),
                tracking=tuple(
                    TrackingRef(category=str(t.get("Name") or ""), option=str(t.get("Option") or ""))
                    for t in line.get("Tracking") or []
                    if isinstance(t, dict)
                ),
            )
        )
    return Invoice(
        id=str(row.get("InvoiceID")),
        number=_text(row, "InvoiceNumber"),
        status=STATUSES.get(raw_status, InvoiceStatus.OPEN),
        raw_status=raw_status or None,
        currency=str(row.get("CurrencyCode") or ""),
        total=to_money(row.get("Total")),
        contact_id=_text(contact, "ContactID"),
        contact_name=_text(contact, "Name"),
        contact_email=_text(contact, "EmailAddress"),
        issue_date=_date(row.get("Date")),
        due_date=_date(row.get("DueDate")),
        lines=tuple(lines),
        subtotal=to_decimal(row.get("SubTotal")),
        tax=to_decimal(row.get("TotalTax")),
        amount_due=to_decimal(row.get("AmountDue")),
        amount_paid=to_decimal(row.get("AmountPaid")),
        updated_at=_when(row.get("UpdatedDateUTC")),
        reference=_text(row, "Reference"),
    )


def _invoice_body(invoice: Invoice, status: str) -> JSON:
    """The PUT body of one invoice; contact and item references are the destination's."""
    contact: JSON = {"ContactID": invoice.contact_id} if invoice.contact_id else {"Name": invoice.contact_name or ""}
    body: JSON = {
        "Type": "ACCREC",
        "Contact": contact,
        "Status": status,
        "LineAmountTypes": "Exclusive",  # InvoiceLine.amount is before tax
        "CurrencyCode": invoice.currency,
        "LineItems": [_line_body(line) for line in invoice.lines],
    }
    if invoice.number:
        body["InvoiceNumber"] = invoice.number
    if invoice.reference:
        body["Reference"] = invoice.reference
    if invoice.issue_date:
        body["Date"] = invoice.issue_date.isoformat()
    if invoice.due_date:
        body["DueDate"] = invoice.due_date.isoformat()
    return body


def _line_body(line: InvoiceLine) -> JSON:
    body: JSON = {
        "Description": line.description or line.sku or "Item",  # Xero needs a description on every line
        "Quantity": float(line.quantity),
        "UnitAmount": float(line.unit_amount),
    }
    for key, value in (
        ("ItemCode", line.sku),
        ("AccountCode", line.account_code),
        ("TaxType", line.tax_code),
    ):
        if value:
            body[key] = value
    if line.tracking:
        body["Tracking"] = [{"Name": t.category, "Option": t.option} for t in line.tracking]
    return body
