"""HubSpot as a *source* system: the portal, its contacts, products and invoices (the client).

Facts come from PROVIDERS.md section 4 (HubSpot); HubSpot's OpenAPI files are not licensed for
copying, so nothing here is generated from them.

Auth is either an OAuth grant (token endpoint v3, client credentials in the body: v1 is
deprecated on 2027-02-16) or a private-app token (``pat-<region>-...``) stored as an API key;
both travel as ``Authorization: Bearer``. The portal id is the tenant and is bound to the token.
The v3 token endpoint answers errors in HubSpot's own envelope ``{category, message,
correlationId, ...}`` (developers.hubspot.com create-oauth-token: ``category
VALIDATION_ERROR``), a dead refresh token with ``subCategory INVALID_TOKEN`` / "Invalid refresh
token"; v1 and the RFC 6749 fields HubSpot added later say ``BAD_REFRESH_TOKEN`` /
``invalid_grant``. Each of them is a refresh that can never work again (:meth:`token_error`).

Limits: the 10-second windows (100 per 10 s on Free/Starter, the lowest tier; the Hub tier is
not exposed, so we cannot pick a higher one) are expressed as ``per_minute`` (x6) plus a
concurrency cap, and additionally as a limiter key of ``per_minute / 6`` call starts per rolling
10 seconds per portal, because a whole minute's budget in one burst would trip HubSpot's
10-second policy. CRM search has its own 4 requests/s per token [HSR]: a one-second limiter key
that search requests pay on top. Both live in :mod:`providers.http` like every other limit.
A 429 usually comes without ``Retry-After``: the client then waits out the window its policy
names (10 s for TEN_SECONDLY_ROLLING or an unnamed one, 1 s for a per-second one) and never
retries a DAILY one (the day's quota is gone; the finding says so).
JSON <-> records is :mod:`providers.hubspot_wire`.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar, TypeVar

import httpx

from common.types import JSON
from providers import hubspot_wire as wire
from providers.base import Capability, Endpoints, Provider
from providers.errors import (
    AuthError,
    NotFound,
    ProviderError,
    RateLimited,
    RefreshFailed,
    Rejected,
    ScopeMissing,
    TenantError,
    TokenExpired,
    TokenRevoked,
    Unavailable,
    UnexpectedResponse,
)
from providers.http import LimitKey, Limits, not_json, parse_retry_after
from providers.records import ConnectionInfo, Contact, Invoice, Item, OrgInfo, RateStatus, WriteResult

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


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
    # Reads of a full check, `oauth` for account-info, and crm.objects.contacts.write for the
    # contacts the actions create (PROVIDERS.md §4 Scopes): the token check names it when missing.
    scopes_needed = (
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
        "crm.objects.products.read",
        "crm.objects.line_items.read",
        "crm.objects.invoices.read",
        "oauth",
    )
    # Seconds to wait after a 429 that carries no Retry-After, by HubSpot's policyName.
    POLICY_WAITS: ClassVar[Mapping[str, float]] = {"TEN_SECONDLY_ROLLING": 10.0, "SECONDLY": 1.0}
    DEFAULT_POLICY_WAIT: ClassVar[float] = 10.0

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

    def _limiter_keys(self) -> tuple[LimitKey, ...]:
        """The tenant and app limits, plus HubSpot's 10-second window per portal."""
        per_minute = self.options.limits.per_minute
        if not per_minute:
            return super()._limiter_keys()
        per_ten = max(per_minute // 6, 1)
        # The figures are part of the key: a subclass or a configured limit may differ.
        key = ("hubspot", "ten_secondly", self._tenant_key(), f"{per_ten}/10s")
        return (*super()._limiter_keys(), LimitKey(key, per_window=per_ten, window=10.0))

    def _search_limits(self) -> tuple[LimitKey, ...]:
        n = self.SEARCH_PER_SECOND
        return (LimitKey(("hubspot", "search", self._tenant_key(), f"{n}/1s"), per_window=n, window=1.0),) if n else ()

    def error_for(self, response: httpx.Response) -> ProviderError:
        """HubSpot's envelope ``{status, message, correlationId, category, errors[...]}``."""
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            return not_json(response, self.system)
        if not isinstance(body, dict):
            return UnexpectedResponse(f"answered {status} with a non-object body", system=self.system, status=status)
        message = str(body.get("message") or f"HTTP {status}")
        category = body.get("category")
        error_type = body.get("errorType")
        code = str(category or error_type or body.get("status") or status)
        kw: dict[str, Any] = {"system": self.system, "code": code, "status": status}
        if category == "MISSING_SCOPES":
            return ScopeMissing(message, needed=wire.required_scopes(body), **kw)
        if category == "EXPIRED_AUTHENTICATION":
            return TokenExpired(message, **kw)
        if category == "INVALID_AUTHENTICATION" or status == 401:
            return TokenRevoked(message, **kw)
        if status == 429 or category == "RATE_LIMITS" or error_type == "RATE_LIMIT":
            policy = str(body.get("policyName") or "")
            daily = policy == "DAILY" or category == "RATE_LIMITS"
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is None and not daily:
                wait = self.POLICY_WAITS.get(policy, self.DEFAULT_POLICY_WAIT)  # wait out the window
            return RateLimited(
                message,
                retry_after=wait,
                limit=policy or None,
                retry=False if daily else None,  # the day's quota: no retry helps before tomorrow
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
        return wire.rate_status(response)

    @classmethod
    def token_error(cls, status: int, payload: Mapping[str, Any]) -> ProviderError | None:
        """A dead refresh token in any of HubSpot's token-endpoint envelopes (see the module
        docstring) -> RefreshFailed; anything else is left to the OAuth defaults."""
        if status != 400:
            return None
        words = " ".join(
            str(payload.get(k) or "") for k in ("error", "status", "category", "subCategory", "message")
        ).lower()
        dead = (
            "bad_refresh_token" in words
            or "invalid_grant" in words
            or ("invalid_token" in words)
            or ("refresh token" in words and ("invalid" in words or "expired" in words or "missing" in words))
        )
        if not dead:
            return None
        code = payload.get("subCategory") or payload.get("status") or payload.get("error") or payload.get("category")
        message = str(payload.get("message") or payload.get("error_description") or "the refresh token was refused")
        return RefreshFailed(message, system=cls.system, code=str(code) if code else None, status=status)

    # -- plumbing -------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, search: bool = False, **kw: Any) -> Any:
        """One request. Every POST sent here is a read (search, batch read, introspection) or an
        upsert, so repeating it after a 5xx is safe; a search also pays the search limit."""
        limits = self._search_limits() if search else ()
        response = self.api.request(method, path, retry_unsafe=True, limits=limits, **kw)
        return self.api.json(response)

    def _each(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``fn`` over independent inputs, as many in flight as the portal's concurrency allows."""
        return self.fan_out.map(fn, items, lanes=self.options.limits.concurrent or 4)

    def _list(self, object_type: str, properties: Sequence[str], *, archived: bool) -> list[JSON]:
        """Every object of a type, following ``paging.next.after`` (PROVIDERS.md: Lists)."""
        params: dict[str, Any] = {
            "limit": self.options.page_size or self.LIST_PAGE_MAX,
            "properties": ",".join(properties),
            "archived": "true" if archived else "false",
        }
        found: list[JSON] = []
        after: str | None = None
        while True:
            if after is not None:
                params["after"] = after
            page = self._call("GET", f"/crm/v3/objects/{object_type}", params=params)
            found.extend(wire.results(page))
            next_after = wire.next_after(page)
            if next_after is None:
                return found
            if next_after == after:
                raise UnexpectedResponse(f"{object_type} paging did not advance past {after!r}", system=self.system)
            after = next_after

    def _both_lists(self, object_type: str, properties: Sequence[str]) -> list[list[JSON]]:
        """Live and archived objects: two independent cursors, read side by side."""
        return self._each(lambda archived: self._list(object_type, properties, archived=archived), (False, True))

    def _account_details(self) -> JSON:
        # probe() and org_info() both need these, often at the same moment from two checks:
        # one call per run when the run lends its memo.
        def load() -> JSON:
            details = self._call("GET", "/account-info/v3/details")
            if not isinstance(details, dict) or "portalId" not in details:
                raise UnexpectedResponse("account-info details carry no portalId", system=self.system)
            return details

        return self.memo.once("hubspot.account", load)

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

    # -- reads ----------------------------------------------------------------------------

    def probe(self) -> ConnectionInfo:
        """account-info details (the portal), plus introspection scopes for OAuth grants."""
        details = self._account_details()
        return wire.connection_info(self._portal_checked(details), details, self._introspect())

    def org_info(self) -> OrgInfo:
        """The portal: currencies from account-info; the Hub tier is not exposed (PROVIDERS.md)."""
        details = self._account_details()
        return wire.org_info(self._portal_checked(details), details, self._introspect())

    def contacts(self) -> list[Contact]:
        """Every contact, archived ones (``archived=true``) flagged."""
        live, gone = self._both_lists("contacts", wire.CONTACT_PROPERTIES)
        return [wire.contact(obj, archived=False) for obj in live] + [wire.contact(obj, archived=True) for obj in gone]

    def items(self) -> list[Item]:
        """Every product (SKU in ``hs_sku``); archived ones are ``active=False``."""
        live, gone = self._both_lists("products", wire.PRODUCT_PROPERTIES)
        return [wire.item(obj, active=True) for obj in live] + [wire.item(obj, active=False) for obj in gone]

    def invoices(self, since: date | None = None) -> list[Invoice]:
        """Invoices modified on/after ``since`` via CRM search, then their line items and
        contacts through batched association and object reads (never one call per invoice)."""
        lower = wire.millis(datetime(since.year, since.month, since.day, tzinfo=UTC)) if since else None
        return self._hydrate(self._search_all(lower))

    def find_invoice(self, number: str) -> Invoice | None:
        """One search on the number property instead of reading every invoice."""
        prop = self.INVOICE_PROPERTIES["number"]
        body = self._search_body([{"propertyName": prop, "operator": "EQ", "value": number}], after=None)
        page = self._call("POST", "/crm/v3/objects/invoices/search", search=True, json=body)
        found = [inv for inv in self._hydrate(wire.results(page)) if inv.number == number]
        return found[0] if found else None

    def _search_body(self, filters: list[JSON], after: str | None) -> JSON:
        limit = min(self.options.page_size or self.SEARCH_PAGE_MAX, self.SEARCH_PAGE_MAX)
        return wire.search_body(filters, after, list(self.INVOICE_PROPERTIES.values()), limit)

    def _search_all(self, lower: int | None) -> list[JSON]:
        """Page the search; at the result ceiling, restart from the last modified time seen
        (ids seen twice across windows are kept once)."""
        seen: dict[str, JSON] = {}
        while True:
            filters = (
                [{"propertyName": wire.MODIFIED, "operator": "GTE", "value": str(lower)}] if lower is not None else []
            )
            after: str | None = None
            in_window = 0
            last_modified: int | None = None
            while True:
                body = self._search_body(filters, after)
                page = self._call("POST", "/crm/v3/objects/invoices/search", search=True, json=body)
                results = wire.results(page)
                for obj in results:
                    seen[str(obj["id"])] = obj
                    last_modified = wire.millis(wire.modified(obj))
                in_window += len(results)
                after = wire.next_after(page)
                if after is None:
                    return list(seen.values())
                if in_window >= self.SEARCH_MAX_RESULTS:
                    break
            if last_modified is None or (lower is not None and last_modified <= lower):
                raise UnexpectedResponse(
                    f"more than {self.SEARCH_MAX_RESULTS} invoices share one modified time; the search cannot page past them",
                    system=self.system,
                )
            logger.info("hubspot invoice search hit its %d-result ceiling; re-windowing", self.SEARCH_MAX_RESULTS)
            lower = last_modified

    def _associations(self, from_type: str, to_type: str, ids: Sequence[str]) -> dict[str, list[str]]:
        def read(chunk: Sequence[str]) -> Any:
            body = {"inputs": [{"id": i} for i in chunk]}
            return self._call("POST", f"/crm/v4/associations/{from_type}/{to_type}/batch/read", json=body)

        links: dict[str, list[str]] = {}
        for page in self._each(read, wire.chunks(ids, self.BATCH_LIMIT)):
            for row in wire.results(page):
                source = str(row.get("from", {}).get("id"))
                links.setdefault(source, []).extend(str(t["toObjectId"]) for t in row.get("to") or ())
        return links

    def _batch_read(self, object_type: str, properties: Sequence[str], ids: Iterable[str]) -> dict[str, JSON]:
        def read(chunk: Sequence[str]) -> Any:
            body = {"properties": list(properties), "inputs": [{"id": i} for i in chunk]}
            return self._call("POST", f"/crm/v3/objects/{object_type}/batch/read", json=body)

        found: dict[str, JSON] = {}
        for page in self._each(read, wire.chunks(list(dict.fromkeys(ids)), self.BATCH_LIMIT)):
            for obj in wire.results(page):
                found[str(obj["id"])] = obj
        return found

    def _hydrate(self, objects: list[JSON]) -> list[Invoice]:
        if not objects:
            return []
        ids = [str(o["id"]) for o in objects]
        line_links, contact_links = self._each(
            lambda to_type: self._associations("invoices", to_type, ids), ("line_items", "contacts")
        )
        first_contacts = {inv: links[0] for inv, links in contact_links.items() if links}

        def invoice_contacts() -> dict[str, JSON]:
            if not first_contacts:
                return {}
            return self._batch_read("contacts", wire.CONTACT_PROPERTIES, first_contacts.values())

        # Contacts depend only on the associations: read them while lines and products load.
        pending_contacts = self.fan_out.start(invoice_contacts)
        lines = self._batch_read("line_items", wire.LINE_PROPERTIES, (i for ls in line_links.values() for i in ls))
        skuless = wire.products_to_read(lines.values())
        products = self._batch_read("products", wire.PRODUCT_PROPERTIES, skuless) if skuless else {}
        contacts = pending_contacts.result()
        currency: list[str | None] = []  # the portal's, read only if an invoice names none

        def company_currency() -> str | None:
            if not currency:
                found = self._account_details().get("companyCurrency")
                currency.append(str(found) if found else None)
            return currency[0]

        invoices = []
        for obj in objects:
            inv_id = str(obj["id"])
            inv_lines = tuple(
                wire.line(lines[line_id], products) for line_id in line_links.get(inv_id, []) if line_id in lines
            )
            contact_obj = contacts.get(first_contacts.get(inv_id, ""))
            invoices.append(wire.invoice(obj, inv_lines, contact_obj, company_currency, self.INVOICE_PROPERTIES))
        return invoices

    # -- writes ---------------------------------------------------------------------------

    def create_contact(self, contact: Contact, *, idempotency_key: str) -> WriteResult:
        """Batch upsert keyed on email (PROVIDERS.md: no idempotency keys; upsert by unique
        property), so a repeat finds the contact it created instead of a duplicate."""
        if not contact.email:
            raise Rejected("HubSpot upserts contacts by email and this contact has none", system=self.system)
        props = wire.contact_properties(contact, contact.email)
        body = {"inputs": [{"idProperty": "email", "id": contact.email, "properties": props}]}
        logger.info("upserting hubspot contact (idempotency key %s)", idempotency_key)
        answer = self._call("POST", "/crm/v3/objects/contacts/batch/upsert", json=body)
        results = wire.results(answer)
        if not results:
            raise UnexpectedResponse("contact upsert answered no result", system=self.system)
        # `new` tells a creation from an update; when absent we cannot tell, and say created.
        return WriteResult(id=str(results[0]["id"]), created=results[0].get("new") is not False)
