"""HubSpot as a *source* system: the portal, its contacts, products and invoices (with line items).

Facts come from PROVIDERS.md section 4 (HubSpot); HubSpot's OpenAPI files are not licensed for
copying, so nothing here is generated from them.

Auth is either an OAuth grant (token endpoint v3, client credentials in the body: v1 is
deprecated on 2027-02-16) or a private-app token (``pat-<region>-...``) stored as an API key;
both travel as ``Authorization: Bearer``. The portal id is the tenant and is bound to the token.

Limits: the 10-second windows (100 per 10 s on Free/Starter, the lowest tier; the Hub tier is
not exposed, so we cannot pick a higher one) are expressed as ``per_minute`` (x6) plus a
concurrency cap, and additionally enforced as a rolling 10-second window of ``per_minute / 6``
call starts per portal, because a whole minute's budget in one burst would trip HubSpot's
10-second policy. CRM search has its own 4 requests/s per token [HSR], paced the same way.
Retries inside :class:`providers.http.ApiClient` (after a 429 or a 5xx) are not re-paced: they
already wait for Retry-After or a backoff.

UNCONFIRMED facts, configurable as class constants (a subclass overrides them; the sandbox
world has the matching keys, see ``sandbox/hubspot/``):

- ``INVOICE_PROPERTIES``: the invoice property names. ``status`` (``hs_invoice_status``) and
  ``number`` (``hs_number``) are UNCONFIRMED per PROVIDERS.md; ``total`` (``hs_amount_billed``),
  ``date`` (``hs_invoice_date``) and ``due_date`` (``hs_due_date``) are not in PROVIDERS.md at
  all. When ``total`` is absent the total is the sum of the line amounts (pre-tax).
- ``SEARCH_PAGE_MAX`` (200) and ``SEARCH_MAX_RESULTS`` (10,000): UNCONFIRMED search limits.
  Past the ceiling the search is re-windowed on ``hs_lastmodifieddate`` (sorted ascending).
- ``SEARCH_PER_SECOND`` (4; later docs may say 5).
- ``BATCH_LIMIT`` (100 inputs per batch read, objects and associations v4): not stated in
  PROVIDERS.md; 100 is the conservative figure.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

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
    TokenRevoked,
    Unavailable,
    UnexpectedResponse,
)
from providers.http import Limits, parse_retry_after
from providers.parsing import to_decimal
from providers.records import (
    Address,
    ConnectionInfo,
    Contact,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Item,
    OrgInfo,
    RateStatus,
    WriteResult,
)

logger = logging.getLogger(__name__)


T = TypeVar("T")

# account-info accountType values of portals that are not a live business (PROVIDERS.md: Auth).
TEST_ACCOUNT_TYPES = frozenset({"SANDBOX", "DEVELOPER_TEST", "APP_DEVELOPER"})
STATUS_MAP = {
    "draft": InvoiceStatus.DRAFT,
    "open": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
    "voided": InvoiceStatus.VOID,
}
CONTACT_PROPERTIES = (
    "firstname",
    "lastname",
    "email",
    "company",
    "address",
    "city",
    "zip",
    "country",
)
PRODUCT_PROPERTIES = ("name", "price", "hs_sku")
LINE_PROPERTIES = ("name", "hs_sku", "hs_product_id", "quantity", "price", "amount")
MODIFIED = "hs_lastmodifieddate"


class RollingWindow:
    """At most ``limit`` call starts in any rolling ``seconds``; shared by every thread."""

    def __init__(
        self,
        limit: int,
        seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def acquire(self) -> None:
        """Block until one more call may start inside the window, then record its start."""
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self.seconds:
                    self._starts.popleft()
                if len(self._starts) < self.limit:
                    self._starts.append(now)
                    return
                wait = self.seconds - (now - self._starts[0])
            self._sleep(max(wait, 0.001))


_windows: dict[tuple[object, ...], RollingWindow] = {}
_windows_lock = threading.Lock()


def shared_window(key: tuple[object, ...], limit: int, seconds: float) -> RollingWindow:
    """The process-wide window for one portal and policy (keyed with its figures)."""
    full_key = (*key, limit, seconds)
    with _windows_lock:
        window = _windows.get(full_key)
        if window is None:
            window = _windows[full_key] = RollingWindow(limit, seconds)
        return window


def reset_windows() -> None:
    """Forget every pacing window (tests start from a clean slate, like ``reset_limiters``)."""
    with _windows_lock:
        _windows.clear()


class HubSpot(Provider):
    system = "hubspot"
    display_name = "HubSpot"
    capabilities = frozenset(
        {
            Capability.ORG,
            Capability.CONTACTS,
            Capability.ITEMS,
            Capability.INVOICES,
            Capability.SCOPES,
            Capability.CREATE_CONTACT,
        }
    )
    default_endpoints = Endpoints(
        base_url="https://api.hubapi.com",
        token_url="https://api.hubapi.com/oauth/v3/token",
        authorize_url="https://app.hubspot.com/oauth/authorize",
    )
    # 100 per 10 s (Free/Starter; PROVIDERS.md "Rate limits & paging") -> 600 per minute.
    default_limits = Limits(concurrent=5, per_minute=600)
    auth_kind = "either"
    client_auth = "post"  # v3 token endpoint: parameters in the body
    supports_pkce = True  # v3 accepts code_verifier
    # Reads of a full check, plus `oauth` for account-info. create_contact additionally needs
    # crm.objects.contacts.write; a missing one surfaces as ScopeMissing from HubSpot's 403.
    scopes_needed = (
        "crm.objects.contacts.read",
        "crm.objects.products.read",
        "crm.objects.line_items.read",
        "crm.objects.invoices.read",
        "oauth",
    )

    LIST_PAGE_MAX: ClassVar[int] = 100
    SEARCH_PAGE_MAX: ClassVar[int] = 200
    SEARCH_MAX_RESULTS: ClassVar[int] = 10_000
    SEARCH_PER_SECOND: ClassVar[int] = 4
    BATCH_LIMIT: ClassVar[int] = 100
    INVOICE_PROPERTIES: ClassVar[Mapping[str, str]] = {
        "status": "hs_invoice_status",
        "number": "hs_number",
        "currency": "hs_currency",
        "total": "hs_amount_billed",
        "date": "hs_invoice_date",
        "due_date": "hs_due_date",
    }

    # -- hooks ----------------------------------------------------------------------------

    def __init__(self, *args: Any, **kw: Any) -> None:
        self._account: JSON | None = None
        self._account_lock = threading.Lock()
        super().__init__(*args, **kw)

    def error_for(self, response: httpx.Response) -> ProviderError:
        """HubSpot's envelope ``{status, message, correlationId, category, errors[...]}``."""
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            snippet = response.text[:120].replace("\n", " ")
            return UnexpectedResponse(
                f"answered {status} with a body that is not JSON: {snippet!r}",
                system=self.system,
                status=status,
            )
        if not isinstance(body, dict):
            return UnexpectedResponse(f"answered {status} with a non-object body", system=self.system, status=status)
        message = str(body.get("message") or f"HTTP {status}")
        category = body.get("category")
        error_type = body.get("errorType")
        code = str(category or error_type or body.get("status") or status)
        kw: dict[str, Any] = {"system": self.system, "code": code, "status": status}
        if category == "MISSING_SCOPES":
            return ScopeMissing(message, needed=_required_scopes(body), **kw)
        if category == "EXPIRED_AUTHENTICATION":
            return TokenExpired(message, **kw)
        if category == "INVALID_AUTHENTICATION" or status == 401:
            return TokenRevoked(message, **kw)
        if status == 429 or category == "RATE_LIMITS" or error_type == "RATE_LIMIT":
            policy = body.get("policyName")
            return RateLimited(
                message,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                limit=str(policy) if policy else None,
                **kw,
            )
        if status == 404:
            return NotFound(message, **kw)
        if status >= 500:
            return Unavailable(message, **kw)
        if status == 403:
            return AuthError(message, **kw)
        if status in (400, 409, 422):
            details = tuple(str(e.get("message")) for e in body.get("errors") or () if isinstance(e, dict))
            return Rejected(message, details=details, **kw)
        return ProviderError(message, **kw)

    def rate_status(self, response: httpx.Response) -> RateStatus | None:
        """Daily figures and the shortest window's remaining count (``minute_remaining`` holds
        HubSpot's secondly or 10-second remaining: its windows are shorter than a minute)."""
        headers = response.headers
        day_limit = _int(headers.get("X-HubSpot-RateLimit-Daily"))
        day_remaining = _int(headers.get("X-HubSpot-RateLimit-Daily-Remaining"))
        short = _int(headers.get("X-HubSpot-RateLimit-Secondly-Remaining"))
        if short is None:
            short = _int(headers.get("X-HubSpot-RateLimit-Remaining"))
        problem = None
        if response.status_code == 429:
            try:
                body = response.json()
            except ValueError:
                body = {}
            policy = str(body.get("policyName") or "") if isinstance(body, dict) else ""
            problem = "day" if policy == "DAILY" else (policy.lower() or "rate_limit")
        if day_limit is None and day_remaining is None and short is None and problem is None:
            return None
        return RateStatus(
            day_remaining=day_remaining,
            day_limit=day_limit,
            minute_remaining=short,
            last_problem=problem,
        )

    # -- plumbing -------------------------------------------------------------------------

    def _pace(self, search: bool) -> None:
        tenant = self.options.tenant or "default"
        per_minute = self.options.limits.per_minute
        if per_minute:
            shared_window((self.system, "ten_secondly", tenant), max(per_minute // 6, 1), 10.0).acquire()
        if search and self.SEARCH_PER_SECOND:
            shared_window((self.system, "search", tenant), self.SEARCH_PER_SECOND, 1.0).acquire()

    def _call(self, method: str, path: str, *, search: bool = False, **kw: Any) -> Any:
        """One paced request. Every POST sent here is a read (search, batch read,
        introspection) or an upsert, so repeating it after a 5xx is safe."""
        self._pace(search)
        response = self.api.request(method, path, retry_unsafe=True, **kw)
        return self.api.json(response)

    def _in_parallel(self, calls: Sequence[Callable[[], T]]) -> list[T]:
        workers = min(len(calls), self.options.limits.concurrent or 4)
        if workers <= 1:
            return [call() for call in calls]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hubspot") as pool:
            return list(pool.map(lambda call: call(), calls))

    def _list_size(self) -> int:
        return self.options.page_size or self.LIST_PAGE_MAX

    def _list(self, object_type: str, properties: Sequence[str], *, archived: bool) -> list[JSON]:
        """Every object of a type, following ``paging.next.after`` (PROVIDERS.md: Lists)."""
        params: dict[str, Any] = {
            "limit": self._list_size(),
            "properties": ",".join(properties),
            "archived": "true" if archived else "false",
        }
        found: list[JSON] = []
        after: str | None = None
        while True:
            if after is not None:
                params["after"] = after
            page = self._call("GET", f"/crm/v3/objects/{object_type}", params=params)
            found.extend(_results(page, self.system))
            next_after = _next_after(page)
            if next_after is None:
                return found
            if next_after == after:
                raise UnexpectedResponse(f"{object_type} paging did not advance past {after!r}", system=self.system)
            after = next_after

    def _both_lists(self, object_type: str, properties: Sequence[str]) -> list[list[JSON]]:
        """Live and archived objects: two independent cursors, read side by side."""
        return self._in_parallel(
            [
                lambda: self._list(object_type, properties, archived=False),
                lambda: self._list(object_type, properties, archived=True),
            ]
        )

    def _account_details(self) -> JSON:
        # probe() and org_info() both need these, often at the same moment from two checks:
        # one call per provider instance (one run), not one per caller.
        with self._account_lock:
            if self._account is None:
                details = self._call("GET", "/account-info/v3/details")
                if not isinstance(details, dict) or "portalId" not in details:
                    raise UnexpectedResponse("account-info details carry no portalId", system=self.system)
                self._account = details
            return self._account

    def _portal_checked(self, details: JSON) -> str:
        portal = str(details["portalId"])
        if self.options.tenant and portal != str(self.options.tenant):
            raise TenantError(
                f"the credentials reach HubSpot portal {portal}, not the configured portal {self.options.tenant}",
                system=self.system,
                code="wrong_portal",
            )
        return portal

    def _introspect(self) -> JSON | None:
        """Token introspection (v3) for OAuth grants; None for private-app tokens, which
        HubSpot does not introspect (their scopes stay unknown)."""
        creds = self.tokens.credentials()
        if creds.kind != "oauth2":
            return None
        app = self.options.oauth_app
        form = {
            "token": self.tokens.access_token(),
            "client_id": app.client_id if app else "",
            "client_secret": app.client_secret if app else "",
        }
        info = self._call("POST", "/oauth/v3/token/introspect", data=form)
        if not isinstance(info, dict):
            raise UnexpectedResponse("token introspection answered a non-object", system=self.system)
        if info.get("active") is False:
            raise TokenRevoked("HubSpot reports the access token as inactive", system=self.system, code="inactive")
        return info

    @staticmethod
    def _environment(details: Mapping[str, Any]) -> str:
        return "test" if str(details.get("accountType", "")).upper() in TEST_ACCOUNT_TYPES else "live"

    # -- reads ----------------------------------------------------------------------------

    def probe(self) -> ConnectionInfo:
        """account-info details (the portal), plus introspection scopes for OAuth grants."""
        details = self._account_details()
        portal = self._portal_checked(details)
        info = self._introspect()
        scopes = frozenset(str(s) for s in info.get("scopes") or ()) if info is not None else None
        name = str(info["hub_domain"]) if info and info.get("hub_domain") else None
        return ConnectionInfo(
            tenant_id=portal,
            tenant_name=name,
            scopes=scopes,
            environment=self._environment(details),
        )

    def org_info(self) -> OrgInfo:
        """The portal: currencies from account-info; the Hub tier is not exposed (PROVIDERS.md)."""
        details = self._account_details()
        portal = self._portal_checked(details)
        info = self._introspect()
        base = details.get("companyCurrency")
        currencies = {str(c) for c in details.get("additionalCurrencies") or ()}
        if base:
            currencies.add(str(base))
        return OrgInfo(
            tenant_id=portal,
            name=str(info["hub_domain"]) if info and info.get("hub_domain") else portal,
            base_currency=str(base) if base else None,
            currencies=frozenset(currencies),
            features_known=False,
            environment=self._environment(details),
        )

    def contacts(self) -> list[Contact]:
        """Every contact, archived ones (``archived=true``) flagged."""
        live, gone = self._both_lists("contacts", CONTACT_PROPERTIES)
        return [_contact(obj, archived=False) for obj in live] + [_contact(obj, archived=True) for obj in gone]

    def items(self) -> list[Item]:
        """Every product (SKU in ``hs_sku``); archived ones are ``active=False``."""
        live, gone = self._both_lists("products", PRODUCT_PROPERTIES)
        return [_item(obj, active=True) for obj in live] + [_item(obj, active=False) for obj in gone]

    def invoices(self, since: date | None = None) -> list[Invoice]:
        """Invoices modified on/after ``since`` via CRM search, then their line items and
        contacts through batched association and object reads (never one call per invoice)."""
        lower = _millis(datetime(since.year, since.month, since.day, tzinfo=UTC)) if since else None
        return self._hydrate(self._search_all(lower))

    def find_invoice(self, number: str) -> Invoice | None:
        """One search on the number property instead of reading every invoice."""
        prop = self.INVOICE_PROPERTIES["number"]
        body = self._search_body([{"propertyName": prop, "operator": "EQ", "value": number}], after=None)
        page = self._call("POST", "/crm/v3/objects/invoices/search", search=True, json=body)
        found = [inv for inv in self._hydrate(_results(page, self.system)) if inv.number == number]
        return found[0] if found else None

    def _search_body(self, filters: list[JSON], after: str | None) -> JSON:
        body: JSON = {
            "filterGroups": [{"filters": filters}] if filters else [],
            "sorts": [{"propertyName": MODIFIED, "direction": "ASCENDING"}],
            "properties": sorted({*self.INVOICE_PROPERTIES.values(), MODIFIED}),
            "limit": min(self.options.page_size or self.SEARCH_PAGE_MAX, self.SEARCH_PAGE_MAX),
        }
        if after is not None:
            body["after"] = after
        return body

    def _search_all(self, lower: int | None) -> list[JSON]:
        """Page the search; at the result ceiling, restart from the last modified time seen
        (ids seen twice across windows are kept once)."""
        seen: dict[str, JSON] = {}
        while True:
            filters = [{"propertyName": MODIFIED, "operator": "GTE", "value": str(lower)}] if lower is not None else []
            after: str | None = None
            in_window = 0
            last_modified: int | None = None
            while True:
                page = self._call(
                    "POST",
                    "/crm/v3/objects/invoices/search",
                    search=True,
                    json=self._search_body(filters, after),
                )
                results = _results(page, self.system)
                for obj in results:
                    seen[str(obj["id"])] = obj
                    last_modified = _millis(_datetime(_props(obj).get(MODIFIED)) or _datetime(obj.get("updatedAt")))
                in_window += len(results)
                after = _next_after(page)
                if after is None:
                    return list(seen.values())
                if in_window >= self.SEARCH_MAX_RESULTS:
                    break
            if last_modified is None or (lower is not None and last_modified <= lower):
                raise UnexpectedResponse(
                    f"more than {self.SEARCH_MAX_RESULTS} invoices share one modified time; the search cannot page past them",
                    system=self.system,
                )
            logger.info(
                "hubspot invoice search hit its %d-result ceiling; re-windowing",
                self.SEARCH_MAX_RESULTS,
            )
            lower = last_modified

    def _associations(self, from_type: str, to_type: str, ids: Sequence[str]) -> dict[str, list[str]]:
        def read(chunk: Sequence[str]) -> Any:
            body = {"inputs": [{"id": i} for i in chunk]}
            return self._call("POST", f"/crm/v4/associations/{from_type}/{to_type}/batch/read", json=body)

        links: dict[str, list[str]] = {}
        for page in self._in_parallel([_bind(read, chunk) for chunk in _chunks(ids, self.BATCH_LIMIT)]):
            for row in _results(page, self.system):
                source = str(row.get("from", {}).get("id"))
                links.setdefault(source, []).extend(str(t["toObjectId"]) for t in row.get("to") or ())
        return links

    def _batch_read(self, object_type: str, properties: Sequence[str], ids: Iterable[str]) -> dict[str, JSON]:
        unique = list(dict.fromkeys(ids))

        def read(chunk: Sequence[str]) -> Any:
            body = {"properties": list(properties), "inputs": [{"id": i} for i in chunk]}
            return self._call("POST", f"/crm/v3/objects/{object_type}/batch/read", json=body)

        found: dict[str, JSON] = {}
        for page in self._in_parallel([_bind(read, chunk) for chunk in _chunks(unique, self.BATCH_LIMIT)]):
            for obj in _results(page, self.system):
                found[str(obj["id"])] = obj
        return found

    def _hydrate(self, objects: list[JSON]) -> list[Invoice]:
        if not objects:
            return []
        ids = [str(o["id"]) for o in objects]
        line_links, contact_links = self._in_parallel(
            [
                _bind(lambda chunk: self._associations("invoices", "line_items", chunk), ids),
                _bind(lambda chunk: self._associations("invoices", "contacts", chunk), ids),
            ]
        )
        first_contacts = {inv: links[0] for inv, links in contact_links.items() if links}

        def lines_and_products() -> tuple[dict[str, JSON], dict[str, JSON]]:
            lines = self._batch_read("line_items", LINE_PROPERTIES, (i for links in line_links.values() for i in links))
            skuless = {
                str(_props(obj)["hs_product_id"])
                for obj in lines.values()
                if not _props(obj).get("hs_sku") and _props(obj).get("hs_product_id")
            }
            products = self._batch_read("products", PRODUCT_PROPERTIES, skuless) if skuless else {}
            return lines, products

        def invoice_contacts() -> dict[str, JSON]:
            if not first_contacts:
                return {}
            return self._batch_read("contacts", CONTACT_PROPERTIES, first_contacts.values())

        # Contacts depend only on the associations: read them while lines and products load.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hubspot-contacts") as pool:
            pending_contacts = pool.submit(invoice_contacts)
            lines, products = lines_and_products()
            contacts = pending_contacts.result()
        fallback_currency: list[str | None] = []

        def company_currency() -> str | None:
            if not fallback_currency:
                fallback_currency.append(self._account_details().get("companyCurrency"))
            return fallback_currency[0]

        invoices = []
        for obj in objects:
            inv_id = str(obj["id"])
            inv_lines = tuple(
                _line(lines[line_id], products) for line_id in line_links.get(inv_id, []) if line_id in lines
            )
            contact_obj = contacts.get(first_contacts.get(inv_id, ""))
            invoices.append(self._invoice(obj, inv_lines, contact_obj, company_currency))
        return invoices

    def _invoice(
        self,
        obj: JSON,
        lines: tuple[InvoiceLine, ...],
        contact_obj: JSON | None,
        company_currency: Callable[[], str | None],
    ) -> Invoice:
        names = self.INVOICE_PROPERTIES
        props = _props(obj)
        raw_status = props.get(names["status"])
        if raw_status is None:
            raise UnexpectedResponse(
                f"invoice {obj['id']} has no {names['status']!r} property; if this portal names the status "
                "differently, override HubSpot.INVOICE_PROPERTIES['status']",
                system=self.system,
            )
        status = STATUS_MAP.get(str(raw_status).lower())
        if status is None:
            raise UnexpectedResponse(
                f"invoice {obj['id']} has status {raw_status!r}, not one of {sorted(STATUS_MAP)}",
                system=self.system,
            )
        currency = props.get(names["currency"]) or company_currency()
        if not currency:
            raise UnexpectedResponse(f"invoice {obj['id']} has no currency and the portal none", system=self.system)
        subtotal = sum((line.amount for line in lines), Decimal(0))
        total = to_decimal(props.get(names["total"]))
        contact = _contact(contact_obj, archived=False) if contact_obj else None
        number = props.get(names["number"])
        return Invoice(
            id=str(obj["id"]),
            number=str(number) if number is not None else None,
            status=status,
            currency=str(currency),
            total=total if total is not None else subtotal,
            raw_status=str(raw_status),
            contact_id=contact.id if contact else None,
            contact_name=contact.name if contact else None,
            contact_email=contact.email if contact else None,
            issue_date=_date(props.get(names["date"])),
            due_date=_date(props.get(names["due_date"])),
            lines=lines,
            subtotal=subtotal if lines else None,
            updated_at=_datetime(props.get(MODIFIED)) or _datetime(obj.get("updatedAt")),
        )

    # -- writes ---------------------------------------------------------------------------

    def create_contact(self, contact: Contact, *, idempotency_key: str) -> WriteResult:
        """Batch upsert keyed on email (PROVIDERS.md: no idempotency keys; upsert by unique
        property), so a repeat finds the contact it created instead of a duplicate."""
        if not contact.email:
            raise Rejected("HubSpot upserts contacts by email and this contact has none", system=self.system)
        props: dict[str, str] = {"email": contact.email}
        if contact.first_name or contact.last_name:
            props.update({k: v for k, v in (("firstname", contact.first_name), ("lastname", contact.last_name)) if v})
        elif contact.name:
            props["firstname"] = contact.name
        if contact.company:
            props["company"] = contact.company
        if contact.address:
            address = contact.address
            pairs = (
                ("address", address.line1),
                ("city", address.city),
                ("zip", address.postcode),
                ("country", address.country),
            )
            props.update({k: v for k, v in pairs if v})
        body = {"inputs": [{"idProperty": "email", "id": contact.email, "properties": props}]}
        logger.info("upserting hubspot contact (idempotency key %s)", idempotency_key)
        answer = self._call("POST", "/crm/v3/objects/contacts/batch/upsert", json=body)
        results = _results(answer, self.system)
        if not results:
            raise UnexpectedResponse("contact upsert answered no result", system=self.system)
        # `new` tells a creation from an update; when absent we cannot tell, and say created.
        return WriteResult(id=str(results[0]["id"]), created=results[0].get("new") is not False)


# -- wire -> records -----------------------------------------------------------------------


def _results(page: Any, system: str) -> list[JSON]:
    if not isinstance(page, dict) or not isinstance(page.get("results", []), list):
        raise UnexpectedResponse("answered without a results list", system=system)
    return [r for r in page.get("results", []) if isinstance(r, dict)]


def _next_after(page: Mapping[str, Any]) -> str | None:
    after = ((page.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None


def _props(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    props = obj.get("properties")
    return props if isinstance(props, dict) else {}


def _required_scopes(body: Mapping[str, Any]) -> tuple[str, ...]:
    contexts = [body.get("context") or {}] + [
        e.get("context") or {} for e in body.get("errors") or () if isinstance(e, dict)
    ]
    needed: list[str] = []
    for ctx in contexts:
        for scope in ctx.get("requiredGranularScopes") or ctx.get("requiredScopes") or ():
            if str(scope) not in needed:
                needed.append(str(scope))
    return tuple(needed)


def _contact(obj: Mapping[str, Any], *, archived: bool) -> Contact:
    p = _props(obj)
    first, last, company = (
        _text(p.get("firstname")),
        _text(p.get("lastname")),
        _text(p.get("company")),
    )
    full = " ".join(part for part in (first, last) if part)
    address = Address(
        line1=_text(p.get("address")),
        city=_text(p.get("city")),
        postcode=_text(p.get("zip")),
        country=_text(p.get("country")),
    )
    return Contact(
        id=str(obj["id"]),
        name=full or company or "",
        email=_text(p.get("email")),
        first_name=first,
        last_name=last,
        company=company,
        archived=archived or bool(obj.get("archived")),
        address=address if address != Address() else None,
    )


def _item(obj: Mapping[str, Any], *, active: bool) -> Item:
    p = _props(obj)
    return Item(
        id=str(obj["id"]),
        code=_text(p.get("hs_sku")),
        name=_text(p.get("name")) or "",
        active=active and not obj.get("archived"),
        unit_price=to_decimal(p.get("price")),
    )


def _line(obj: Mapping[str, Any], products: Mapping[str, JSON]) -> InvoiceLine:
    p = _props(obj)
    product_id = _text(p.get("hs_product_id"))
    sku = _text(p.get("hs_sku"))
    if sku is None and product_id and product_id in products:
        sku = _text(_props(products[product_id]).get("hs_sku"))
    quantity = to_decimal(p.get("quantity"))
    quantity = Decimal(1) if quantity is None else quantity
    price = to_decimal(p.get("price"))
    price = Decimal(0) if price is None else price
    amount = to_decimal(p.get("amount"))
    return InvoiceLine(
        description=_text(p.get("name")),
        sku=sku,
        item_id=product_id,
        quantity=quantity,
        unit_amount=price,
        amount=amount if amount is not None else quantity * price,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text != "" else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _datetime(value: Any) -> datetime | None:
    """HubSpot datetimes are ISO 8601 strings, or epoch milliseconds in some properties."""
    if value is None or value == "":
        return None
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(text)  # 3.11 reads a trailing Z
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date(value: Any) -> date | None:
    parsed = _datetime(value)
    return parsed.date() if parsed else None


def _millis(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


def _chunks(values: Sequence[str], size: int) -> list[Sequence[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _bind(fn: Callable[[Sequence[str]], T], chunk: Sequence[str]) -> Callable[[], T]:
    return lambda: fn(chunk)
