"""HubSpot emulator: account-info, CRM objects (lists, search, batch read, batch upsert),
associations v4 batch read, OAuth v3 token + introspection (and the deprecated v1 token path),
HubSpot's error envelope and rate-limit headers. Facts: PROVIDERS.md section 4.

World section (on top of the base keys in ``sandbox/base.py``; a grant's ``principal``
is its portal id)::

    clients: {client-id: client-secret}     # v3 token/introspection check them when given
    api_keys:                               # private-app tokens (pat-<region>-...)
      - {token: pat-na1-..., portal: "4711", scopes: [crm.objects.contacts.read, oauth], revoked: false}
    rotate_refresh_tokens: false            # UNCONFIRMED for HubSpot (v1 returns the same token): default off
    portals:
      "4711":
        account:                            # GET /account-info/v3/details (portalId added)
          accountType: STANDARD             # SANDBOX / DEVELOPER_TEST / APP_DEVELOPER = a test portal
          companyCurrency: USD
          additionalCurrencies: [EUR]
          timeZone: US/Eastern
          uiDomain: app.hubspot.com
          dataHostingLocation: na1
          utcOffset: "-05:00"
        hub_domain: acme.example            # answered by token introspection
        contacts:                           # every key but id/archived/updated is a property
          - {id: "1", firstname: Ada, lastname: Lovelace, email: ada@example.com, company: Acme,
             address: 1 Main St, city: Springfield, zip: "12345", country: US, archived: false,
             updated: "2026-03-01T10:00:00Z"}
        products:
          - {id: "10", name: Widget, price: "25.00", hs_sku: PROD-001, archived: false}
        invoices:
          - id: "100"
            number: INV-1001                # written under invoice_properties.number
            status: open                    # draft | open | paid | voided
            currency: USD
            modified: "2026-03-02T09:00:00Z"
            date: "2026-03-01"              # optional; due_date and total too
            contact: "1"                    # associated contact id
            lines:                          # line items associated with the invoice
              - {product: "10", quantity: 2, price: "25.00", name: Widget}   # SKU only via product
              - {hs_sku: AD-HOC, quantity: 1, price: "5.00", name: Delivery}
    invoice_properties:                     # UNCONFIRMED property names, matched by the client's
      status: hs_invoice_status             #   HubSpot.INVOICE_PROPERTIES
      number: hs_number
      currency: hs_currency
      total: hs_amount_billed
      date: hs_invoice_date
      due_date: hs_due_date
    list_page_max: 100                      # lists: limit default 10, max 100 (a larger limit: 400)
    search_page_max: 200                    # UNCONFIRMED
    search_max_results: 10000               # UNCONFIRMED: `after` at or past it answers 400
    batch_max: 100                          # inputs per batch read / upsert
    limits: {daily: 250000, ten_secondly: 100, search_per_second: 4}
    enforce_limits: false                   # true: answer 429 when the limits above are exceeded
    rate_limit_headers:                     # UNCONFIRMED which families each auth kind gets
      private_app: [daily, secondly]        # daily: -Daily/-Daily-Remaining; secondly: -Secondly/-Secondly-Remaining
      oauth: [interval]                     # interval: -Max/-Remaining/-Interval-Milliseconds

The search's 429 policy name (``SEARCH_PER_SECOND`` here) and the association type details are
not documented in PROVIDERS.md; association rows carry ``{"category": "HUBSPOT_DEFINED"}`` only.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from common.types import JSON
from sandbox.base import Emulator, SandboxClock

logger = logging.getLogger(__name__)


DEFAULT_INVOICE_PROPERTIES = {
    "status": "hs_invoice_status",
    "number": "hs_number",
    "currency": "hs_currency",
    "total": "hs_amount_billed",
    "date": "hs_invoice_date",
    "due_date": "hs_due_date",
}
OBJECT_TYPES = ("contacts", "products", "line_items", "invoices")
# Read scope per object type; products also accept the legacy `e-commerce` scope (PROVIDERS.md).
READ_SCOPES: dict[str, tuple[str, ...]] = {
    "contacts": ("crm.objects.contacts.read",),
    "products": ("crm.objects.products.read", "e-commerce"),
    "line_items": ("crm.objects.line_items.read",),
    "invoices": ("crm.objects.invoices.read",),
}
WRITE_SCOPES: dict[str, tuple[str, ...]] = {
    "contacts": ("crm.objects.contacts.write",),
    "products": ("crm.objects.products.write", "e-commerce"),
    "line_items": ("crm.objects.line_items.write",),
    "invoices": ("crm.objects.invoices.write",),
}
DEFAULT_LIST_PROPERTIES = {
    "contacts": ("firstname", "lastname", "email"),
    "products": ("name", "price", "hs_sku"),
}
DATE_PROPERTIES = frozenset({"hs_lastmodifieddate", "lastmodifieddate", "createdate"})
HEADER_FAMILIES = {"private_app": ("daily", "secondly"), "oauth": ("interval",)}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_moment(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    text = str(value)
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    parsed = datetime.fromisoformat(text)  # 3.11 reads a trailing Z
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _sort_key(prop: str, value: Any) -> tuple[int, Any]:
    """(kind, value): dates as epoch ms, numbers as Decimal, else text; None sorts last."""
    if value is None:
        return (3, "")
    if prop in DATE_PROPERTIES:
        try:
            moment = _parse_moment(value)
        except ValueError:
            return (2, str(value))
        return (0, moment.timestamp()) if moment else (3, "")
    try:
        return (1, Decimal(str(value)))
    except InvalidOperation:
        return (2, str(value))


@dataclass
class Caller:
    portal: str
    scopes: tuple[str, ...]
    kind: str  # "oauth" | "private_app"


@dataclass
class Portal:
    portal_id: str
    account: JSON
    hub_domain: str | None
    objects: dict[str, dict[str, JSON]] = field(default_factory=lambda: {t: {} for t in OBJECT_TYPES})
    # (from type, to type) -> from id -> [to ids]
    associations: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)
    daily_used: int = 0
    recent: deque[float] = field(default_factory=deque)  # request times, last 10 s
    recent_search: deque[float] = field(default_factory=deque)  # search request times, last 1 s
    next_id: int = 900_000

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        self.associations.setdefault((from_type, to_type), {}).setdefault(from_id, []).append(to_id)
        self.associations.setdefault((to_type, from_type), {}).setdefault(to_id, []).append(from_id)


class HubSpotEmulator(Emulator):
    system = "hubspot"
    token_path = "/oauth/v3/token"

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        # Refresh-token rotation is UNCONFIRMED for HubSpot; the world may switch it on.
        super().__init__({"rotate_refresh_tokens": False, **section}, clock)
        self.invoice_properties = {
            **DEFAULT_INVOICE_PROPERTIES,
            **section.get("invoice_properties", {}),
        }
        self.list_page_max = int(section.get("list_page_max", 100))
        self.search_page_max = int(section.get("search_page_max", 200))
        self.search_max_results = int(section.get("search_max_results", 10_000))
        self.batch_max = int(section.get("batch_max", 100))
        limits = {
            "daily": 250_000,
            "ten_secondly": 100,
            "search_per_second": 4,
            **section.get("limits", {}),
        }
        self.limits = {k: int(v) for k, v in limits.items()}
        self.enforce_limits = bool(section.get("enforce_limits", False))
        self.header_families = {**HEADER_FAMILIES, **section.get("rate_limit_headers", {})}
        self.api_keys: dict[str, Mapping[str, Any]] = {str(k["token"]): k for k in section.get("api_keys", [])}
        self._world_lock = threading.Lock()
        self.portals = {
            str(pid): self._load_portal(str(pid), raw or {}) for pid, raw in section.get("portals", {}).items()
        }
        principals = [str(g.get("principal")) for g in section.get("grants", [])]
        principals += [str(k.get("portal")) for k in section.get("api_keys", [])]
        unknown = sorted({p for p in principals if p not in self.portals})
        if unknown:
            raise ValueError(f"hubspot world: grants/api_keys reach portals {unknown} that `portals` does not define")

    # -- world ----------------------------------------------------------------------------

    def _load_portal(self, portal_id: str, raw: Mapping[str, Any]) -> Portal:
        portal = Portal(
            portal_id=portal_id,
            account=dict(raw.get("account", {})),
            hub_domain=raw.get("hub_domain"),
        )
        for kind in ("contacts", "products"):
            for entry in raw.get(kind, []):
                props = {k: _prop(v) for k, v in entry.items() if k not in ("id", "archived", "updated")}
                self._store(
                    portal,
                    kind,
                    str(entry["id"]),
                    props,
                    bool(entry.get("archived")),
                    entry.get("updated"),
                )
        names = self.invoice_properties
        for entry in raw.get("invoices", []):
            inv_id = str(entry["id"])
            props = {
                names[k]: _prop(entry[k])
                for k in ("status", "number", "currency", "total", "date", "due_date")
                if k in entry
            }
            props.update({k: _prop(v) for k, v in entry.get("properties", {}).items()})
            self._store(portal, "invoices", inv_id, props, False, entry.get("modified"))
            if entry.get("contact") is not None:
                portal.associate("invoices", inv_id, "contacts", str(entry["contact"]))
            for n, line in enumerate(entry.get("lines", [])):
                line_id = str(line.get("id", f"{inv_id}{n + 1:03d}"))
                line_props = {k: _prop(v) for k, v in line.items() if k not in ("id", "product")}
                if line.get("product") is not None:
                    line_props["hs_product_id"] = str(line["product"])
                if "amount" not in line_props:
                    line_props["amount"] = str(
                        Decimal(str(line.get("quantity", 1))) * Decimal(str(line.get("price", 0)))
                    )
                self._store(portal, "line_items", line_id, line_props, False, entry.get("modified"))
                portal.associate("invoices", inv_id, "line_items", line_id)
        return portal

    def _store(self, portal: Portal, kind: str, obj_id: str, props: JSON, archived: bool, updated: Any) -> JSON:
        moment = _parse_moment(updated) or datetime.fromtimestamp(self.clock.now(), UTC)
        modified_key = "lastmodifieddate" if kind == "contacts" else "hs_lastmodifieddate"
        obj = {
            "id": obj_id,
            "properties": {
                **props,
                "hs_object_id": obj_id,
                "createdate": _iso(moment),
                modified_key: _iso(moment),
            },
            "createdAt": _iso(moment),
            "updatedAt": _iso(moment),
            "archived": archived,
        }
        if archived:
            obj["archivedAt"] = _iso(moment)
        portal.objects[kind][obj_id] = obj
        return obj

    # -- envelopes ------------------------------------------------------------------------

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        body = {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": code,
            **extra,
        }
        return JSONResponse(body, status_code=status)

    def _rate_limited(self, policy: str, message: str, **extra: Any) -> Response:
        body = {
            "status": "error",
            "message": message,
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": policy,
            **extra,
        }
        response = JSONResponse(body, status_code=429)
        response.headers["Retry-After"] = (
            str(int(self.faults.retry_after))
            if float(self.faults.retry_after).is_integer()
            else str(self.faults.retry_after)
        )
        return response

    def rate_limit_response(self) -> Response:
        return self._rate_limited("TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.")

    # -- routes ---------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/oauth/v1/token", self._token_v1, methods=["POST"]),
            Route("/oauth/v3/token/introspect", self._introspect, methods=["POST"]),
            Route(
                "/account-info/v3/details",
                self._api(self._details, lambda r: [("oauth",)]),
                methods=["GET"],
            ),
            Route(
                "/crm/v4/associations/{from_type}/{to_type}/batch/read",
                self._api(
                    self._association_read,
                    lambda r: [
                        READ_SCOPES.get(r.path_params["from_type"], ()),
                        READ_SCOPES.get(r.path_params["to_type"], ()),
                    ],
                ),
                methods=["POST"],
            ),
            Route(
                "/crm/v3/objects/{object_type}/search",
                self._api(self._search, _read_scopes, search=True),
                methods=["POST"],
            ),
            Route(
                "/crm/v3/objects/{object_type}/batch/read",
                self._api(self._batch_read, _read_scopes),
                methods=["POST"],
            ),
            Route(
                "/crm/v3/objects/{object_type}/batch/upsert",
                self._api(self._batch_upsert, _write_scopes),
                methods=["POST"],
            ),
            Route(
                "/crm/v3/objects/{object_type}",
                self._api(self._list, _read_scopes),
                methods=["GET"],
            ),
        ]

    def _api(
        self,
        handler: Callable[[Request, Caller, Portal], Awaitable[Response]],
        scopes: Callable[[Request], Sequence[tuple[str, ...]]],
        *,
        search: bool = False,
    ) -> Callable[[Request], Awaitable[Response]]:
        """Authenticate, check scopes, count and (optionally) enforce limits, add headers."""

        async def endpoint(request: Request) -> Response:
            caller = self._authenticate(request)
            if isinstance(caller, Response):
                return caller
            object_type = request.path_params.get("object_type")
            if object_type is not None and object_type not in OBJECT_TYPES:
                return self.error(404, "OBJECT_NOT_FOUND", f"Unable to infer object type from: {object_type}")
            missing = [alts for alts in scopes(request) if alts and not set(alts) & set(caller.scopes)]
            if missing:
                return self.error(
                    403,
                    "MISSING_SCOPES",
                    "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
                    errors=[
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": [alts[0] for alts in missing]},
                        }
                    ],
                )
            portal = self.portals.get(caller.portal)
            if portal is None:
                return self.error(
                    401,
                    "INVALID_AUTHENTICATION",
                    f"The portal {caller.portal} does not exist or is inactive.",
                )
            throttled = self._count(portal, search)
            if throttled is not None:
                return throttled
            response = await handler(request, caller, portal)
            for name, value in self._rate_headers(portal, caller).items():
                response.headers[name] = value
            return response

        return endpoint

    def _authenticate(self, request: Request) -> Caller | Response:
        token = self.bearer(request)
        key = self.api_keys.get(token or "")
        if key is not None:
            if key.get("revoked"):
                return self.error(
                    401,
                    "INVALID_AUTHENTICATION",
                    "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
                )
            return Caller(portal=str(key["portal"]), scopes=tuple(key.get("scopes", ())), kind="private_app")
        grant, problem = self.tokens.check_access(token)
        if problem == "expired":
            return self.error(
                401,
                "EXPIRED_AUTHENTICATION",
                "The OAuth token used to make this call expired. Please refresh the token.",
            )
        if grant is None or problem is not None:
            return self.error(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
            )
        return Caller(portal=str(grant.principal), scopes=grant.scopes, kind="oauth")

    def _count(self, portal: Portal, search: bool) -> Response | None:
        now = self.clock.now()
        with self._world_lock:
            while portal.recent and now - portal.recent[0] >= 10:
                portal.recent.popleft()
            while portal.recent_search and now - portal.recent_search[0] >= 1:
                portal.recent_search.popleft()
            if self.enforce_limits:
                if portal.daily_used >= self.limits["daily"]:
                    return self._rate_limited("DAILY", "You have reached your daily limit.", category="RATE_LIMITS")
                if len(portal.recent) >= self.limits["ten_secondly"]:
                    return self._rate_limited(
                        "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit."
                    )
                if search and len(portal.recent_search) >= self.limits["search_per_second"]:
                    return self._rate_limited("SEARCH_PER_SECOND", "You have reached your secondly limit.")
            portal.daily_used += 1
            portal.recent.append(now)
            if search:
                portal.recent_search.append(now)
        return None

    def _rate_headers(self, portal: Portal, caller: Caller) -> dict[str, str]:
        daily, ten = self.limits["daily"], self.limits["ten_secondly"]
        now = self.clock.now()
        with self._world_lock:
            used_ten = len(portal.recent)
            used_second = sum(1 for t in portal.recent if now - t < 1)
            used_day = portal.daily_used
        per_second = max(ten // 10, 1)
        headers: dict[str, str] = {}
        families = self.header_families.get(caller.kind, ())
        if "daily" in families:
            headers["X-HubSpot-RateLimit-Daily"] = str(daily)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(daily - used_day, 0))
        if "secondly" in families:
            headers["X-HubSpot-RateLimit-Secondly"] = str(per_second)
            headers["X-HubSpot-RateLimit-Secondly-Remaining"] = str(max(per_second - used_second, 0))
        if "interval" in families:
            headers["X-HubSpot-RateLimit-Max"] = str(ten)
            headers["X-HubSpot-RateLimit-Remaining"] = str(max(ten - used_ten, 0))
            headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = "10000"
        return headers

    # -- OAuth ----------------------------------------------------------------------------

    async def _token_v1(self, request: Request) -> Response:
        """The deprecated v1 token path: a dead refresh token answers BAD_REFRESH_TOKEN [HN]."""
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") == "refresh_token" and self.client_authenticated(request, form):
            grant = self.tokens.refresh(form.get("refresh_token", ""))
            if grant is None:
                return JSONResponse(
                    {"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token"},
                    status_code=400,
                )
            return JSONResponse(self.token_response(grant))
        return await self.token_endpoint(request)  # Starlette caches the body: it reads again

    async def _introspect(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if not self.client_authenticated(request, form):
            return self.token_error(401, "invalid_client", "client authentication failed")
        grant, problem = self.tokens.check_access(form.get("token"))
        if grant is None or problem is not None:
            return JSONResponse({"active": False})
        portal = self.portals.get(str(grant.principal))
        hub_id: Any = int(grant.principal) if str(grant.principal).isdigit() else grant.principal
        return JSONResponse(
            {
                "active": True,
                "hub_id": hub_id,
                "hub_domain": portal.hub_domain if portal else None,
                "scopes": list(grant.scopes),
                "expires_in": int(grant.expires_at - self.clock.now()),
            }
        )

    # -- API ------------------------------------------------------------------------------

    async def _details(self, request: Request, caller: Caller, portal: Portal) -> Response:
        shown = portal
        if self.faults.wrong_tenant:
            others = [p for pid, p in self.portals.items() if pid != portal.portal_id]
            shown = (
                others[0]
                if others
                else Portal(portal_id=f"{portal.portal_id}0", account=portal.account, hub_domain=None)
            )
        pid: Any = int(shown.portal_id) if shown.portal_id.isdigit() else shown.portal_id
        return JSONResponse({"portalId": pid, **shown.account})

    def _render(self, obj: JSON, properties: Sequence[str] | None, object_type: str) -> JSON:
        stored = obj["properties"]
        defaults: Sequence[str] = DEFAULT_LIST_PROPERTIES.get(object_type) or list(stored)
        wanted = list(properties) if properties else list(defaults)
        modified_key = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
        shown = {p: stored.get(p) for p in wanted}
        for always in ("hs_object_id", "createdate", modified_key):
            shown[always] = stored.get(always)
        return {**{k: v for k, v in obj.items() if k != "properties"}, "properties": shown}

    async def _list(self, request: Request, caller: Caller, portal: Portal) -> Response:
        object_type = request.path_params["object_type"]
        query = request.query_params
        try:
            limit = int(query.get("limit", 10))
            offset = int(query.get("after", 0))
        except ValueError:
            return self.error(400, "VALIDATION_ERROR", "limit and after must be integers")
        if limit > self.list_page_max or limit < 1:
            return self.error(400, "VALIDATION_ERROR", f"limit must be between 1 and {self.list_page_max}")
        archived = query.get("archived", "false").lower() == "true"
        properties = [p for value in query.getlist("properties") for p in value.split(",") if p]
        with self._world_lock:
            matching = sorted(
                (o for o in portal.objects[object_type].values() if o["archived"] == archived),
                key=lambda o: _id_key(o["id"]),
            )
            page = [self._render(o, properties, object_type) for o in matching[offset : offset + limit]]
        body: JSON = {"results": page}
        if offset + limit < len(matching):
            body["paging"] = {
                "next": {
                    "after": str(offset + limit),
                    "link": f"{request.url.path}?after={offset + limit}",
                }
            }
        return JSONResponse(body)

    async def _search(self, request: Request, caller: Caller, portal: Portal) -> Response:
        object_type = request.path_params["object_type"]
        body = await _json_body(request)
        if body is None:
            return self.error(400, "VALIDATION_ERROR", "Invalid input JSON")
        limit = int(body.get("limit", 10))
        offset = int(body.get("after") or 0)
        if limit > self.search_page_max or limit < 1:
            return self.error(400, "VALIDATION_ERROR", f"limit must be between 1 and {self.search_page_max}")
        if offset >= self.search_max_results:
            return self.error(
                400,
                "VALIDATION_ERROR",
                f"Search results are limited to {self.search_max_results}; narrow the filters",
            )
        groups = body.get("filterGroups") or []
        with self._world_lock:
            matching = [
                o
                for o in portal.objects[object_type].values()
                if not o["archived"]
                and (not groups or any(all(_matches(o, f) for f in g.get("filters", [])) for g in groups))
            ]
        matching.sort(key=lambda o: _id_key(o["id"]))
        for sort in reversed(body.get("sorts") or []):
            prop = sort if isinstance(sort, str) else sort.get("propertyName")
            descending = isinstance(sort, dict) and sort.get("direction") == "DESCENDING"
            matching.sort(key=_sorter(str(prop)), reverse=descending)
        end = min(offset + limit, self.search_max_results)
        answer: JSON = {
            "total": len(matching),
            "results": [self._render(o, body.get("properties"), object_type) for o in matching[offset:end]],
        }
        if end < len(matching):
            answer["paging"] = {"next": {"after": str(end)}}
        return JSONResponse(answer)

    async def _batch_read(self, request: Request, caller: Caller, portal: Portal) -> Response:
        object_type = request.path_params["object_type"]
        body = await _json_body(request)
        inputs = (body or {}).get("inputs")
        if not isinstance(inputs, list):
            return self.error(400, "VALIDATION_ERROR", "inputs is required")
        if len(inputs) > self.batch_max:
            return self.error(400, "VALIDATION_ERROR", f"Batch input limit is {self.batch_max}")
        started = _iso(datetime.fromtimestamp(self.clock.now(), UTC))
        found, missing = [], []
        with self._world_lock:
            for entry in inputs:
                obj = portal.objects[object_type].get(str(entry.get("id")))
                if obj is None or obj["archived"]:
                    missing.append(str(entry.get("id")))
                else:
                    found.append(self._render(obj, (body or {}).get("properties"), object_type))
        return self._batch_answer(
            found,
            started,
            missing,
            "OBJECT_NOT_FOUND",
            "Could not get some objects, they may be deleted or not exist.",
        )

    async def _association_read(self, request: Request, caller: Caller, portal: Portal) -> Response:
        from_type, to_type = request.path_params["from_type"], request.path_params["to_type"]
        body = await _json_body(request)
        inputs = (body or {}).get("inputs")
        if not isinstance(inputs, list):
            return self.error(400, "VALIDATION_ERROR", "inputs is required")
        if len(inputs) > self.batch_max:
            return self.error(400, "VALIDATION_ERROR", f"Batch input limit is {self.batch_max}")
        started = _iso(datetime.fromtimestamp(self.clock.now(), UTC))
        links = portal.associations.get((from_type, to_type), {})
        rows, none = [], []
        for entry in inputs:
            source = str(entry.get("id"))
            targets = links.get(source, [])
            if not targets:
                none.append(source)
                continue
            rows.append(
                {
                    "from": {"id": source},
                    "to": [
                        {
                            "toObjectId": int(t) if t.isdigit() else t,
                            "associationTypes": [{"category": "HUBSPOT_DEFINED", "label": None}],
                        }
                        for t in targets
                    ],
                }
            )
        return self._batch_answer(
            rows,
            started,
            none,
            "NO_ASSOCIATIONS_FOUND",
            f"No {to_type} is associated with some {from_type}.",
        )

    async def _batch_upsert(self, request: Request, caller: Caller, portal: Portal) -> Response:
        object_type = request.path_params["object_type"]
        body = await _json_body(request)
        inputs = (body or {}).get("inputs")
        if not isinstance(inputs, list) or not inputs:
            return self.error(400, "VALIDATION_ERROR", "inputs is required")
        if len(inputs) > self.batch_max:
            return self.error(400, "VALIDATION_ERROR", f"Batch input limit is {self.batch_max}")
        started = _iso(datetime.fromtimestamp(self.clock.now(), UTC))
        results = []
        with self._world_lock:
            for entry in inputs:
                id_property, key = entry.get("idProperty"), str(entry.get("id", ""))
                if not id_property or not key:
                    return self.error(400, "VALIDATION_ERROR", "idProperty and id are required for an upsert")
                existing = next(
                    (
                        o
                        for o in portal.objects[object_type].values()
                        if not o["archived"] and _same_key(id_property, o["properties"].get(id_property), key)
                    ),
                    None,
                )
                props = {k: _prop(v) for k, v in (entry.get("properties") or {}).items()}
                if object_type == "contacts" and props.get("email"):
                    props["email"] = str(props["email"]).lower()  # HubSpot stores emails lower-cased
                if existing is not None:
                    existing["properties"].update(props)
                    existing["updatedAt"] = _iso(datetime.fromtimestamp(self.clock.now(), UTC))
                    results.append({**self._render(existing, list(props), object_type), "new": False})
                else:
                    portal.next_id += 1
                    obj = self._store(
                        portal,
                        object_type,
                        str(portal.next_id),
                        {id_property: key, **props},
                        False,
                        None,
                    )
                    results.append({**self._render(obj, list(props), object_type), "new": True})
        return self._batch_answer(results, started, [], "", "")

    def _batch_answer(
        self, results: list[JSON], started: str, missing: list[str], category: str, message: str
    ) -> Response:
        body: JSON = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": _iso(datetime.fromtimestamp(self.clock.now(), UTC)),
        }
        if missing:
            body["numErrors"] = 1
            body["errors"] = [
                {
                    "status": "error",
                    "category": category,
                    "message": message,
                    "context": {"ids": missing},
                }
            ]
            return JSONResponse(body, status_code=207)
        return JSONResponse(body)


def _prop(value: Any) -> Any:
    """HubSpot answers every property value as a string (or null)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _same_key(id_property: str, stored: Any, key: str) -> bool:
    """Emails are case-insensitive in HubSpot; other unique values compare exactly."""
    if id_property == "email":
        return str(stored or "").lower() == key.lower()
    return str(stored or "") == key


def _id_key(value: str) -> tuple[int, Any]:
    return (0, int(value)) if value.isdigit() else (1, value)


def _value(obj: JSON, prop: str) -> Any:
    if prop in ("hs_object_id", "id"):
        return obj["id"]
    return obj["properties"].get(prop)


def _sorter(prop: str) -> Callable[[JSON], tuple[int, Any]]:
    return lambda obj: _sort_key(prop, _value(obj, prop))


def _matches(obj: JSON, flt: Mapping[str, Any]) -> bool:
    prop = str(flt.get("propertyName"))
    operator = str(flt.get("operator", "EQ"))
    value = _value(obj, prop)
    if operator == "HAS_PROPERTY":
        return value not in (None, "")
    if operator == "NOT_HAS_PROPERTY":
        return value in (None, "")
    if value is None:
        return operator == "NEQ"
    left, right = _sort_key(prop, value), _sort_key(prop, flt.get("value"))
    if left[0] != right[0]:  # compare as text when the kinds differ
        left, right = (2, str(value)), (2, str(flt.get("value")))
    if operator == "EQ":
        return bool(left == right)
    if operator == "NEQ":
        return bool(left != right)
    if operator == "GT":
        return bool(left > right)
    if operator == "GTE":
        return bool(left >= right)
    if operator == "LT":
        return bool(left < right)
    if operator == "LTE":
        return bool(left <= right)
    return False


def _read_scopes(request: Request) -> list[tuple[str, ...]]:
    return [READ_SCOPES.get(request.path_params["object_type"], ())]


def _write_scopes(request: Request) -> list[tuple[str, ...]]:
    return [WRITE_SCOPES.get(request.path_params["object_type"], ())]


async def _json_body(request: Request) -> JSON | None:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
