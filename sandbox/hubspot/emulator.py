"""The HubSpot emulator: its routes, who may call them (OAuth tokens and private-app keys, with
their scopes), HubSpot's rate limits and the headers reporting them, the OAuth v3 token and
introspection endpoints (and the deprecated v1 token path), and account details."""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.base import Emulator, Handler, read_form
from sandbox.clock import SandboxClock
from sandbox.hubspot.crm import Crm
from sandbox.hubspot.wire import error_response, rate_limited_response
from sandbox.hubspot.world import OBJECT_TYPES, Caller, Portal, load_portal

logger = logging.getLogger(__name__)

PortalHandler = Callable[[Request, Caller, Portal], Awaitable[Response]]

DEFAULT_INVOICE_PROPERTIES = {
    "status": "hs_invoice_status",
    "number": "hs_number",
    "currency": "hs_currency",
    "total": "hs_amount_billed",
    "date": "hs_invoice_date",
    "due_date": "hs_due_date",
}
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
HEADER_FAMILIES = {"private_app": ("daily", "secondly"), "oauth": ("interval",)}


class HubSpotEmulator(Emulator):
    """HubSpot over loopback. World: see the package docstring."""

    system = "hubspot"
    token_path = "/oauth/v3/token"

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        # Refresh-token rotation is UNCONFIRMED for HubSpot; the world may switch it on.
        super().__init__({"rotate_refresh_tokens": False, **section}, clock)
        self.invoice_properties = {
            **DEFAULT_INVOICE_PROPERTIES,
            **section.get("invoice_properties", {}),
        }
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
        self.crm = Crm(section, self.clock, self._world_lock)
        self.portals = {
            str(pid): load_portal(str(pid), raw or {}, self.invoice_properties, self.clock)
            for pid, raw in section.get("portals", {}).items()
        }
        principals = [str(g.get("principal")) for g in section.get("grants", [])]
        principals += [str(k.get("portal")) for k in section.get("api_keys", [])]
        unknown = sorted({p for p in principals if p not in self.portals})
        if unknown:
            raise ValueError(f"hubspot world: grants/api_keys reach portals {unknown} that `portals` does not define")

    # -- hooks of the base ------------------------------------------------------------------

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        return error_response(status, code, message, **extra)

    def rate_limit_response(self) -> Response:
        return self._rate_limited("TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.")

    def _rate_limited(self, policy: str, message: str, **extra: Any) -> Response:
        response = rate_limited_response(policy, message, **extra)
        # HubSpot's 429s usually carry no Retry-After; worlds that want one set faults.retry_after.
        return self.with_retry_after(response) if self.faults.send_retry_after else response

    def token_error(self, status: int, error: str, description: str) -> Response:
        """The v3 token endpoint's errors in HubSpot's own envelope (category, message,
        correlationId; developers.hubspot.com create-oauth-token), not RFC 6749's: a dead
        refresh token is VALIDATION_ERROR / INVALID_TOKEN."""
        if error == "invalid_grant":
            return error_response(
                400,
                "VALIDATION_ERROR",
                "Invalid refresh token",
                subCategory="INVALID_TOKEN",
                context={"invalidToken": ["The provided token is invalid or expired"]},
            )
        category = (
            "RATE_LIMITS" if status == 429 else ("INVALID_AUTHENTICATION" if status == 401 else "VALIDATION_ERROR")
        )
        if status >= 500:
            category = "INTERNAL_ERROR"
        return error_response(status, category, description)

    # -- routes and who may call them ------------------------------------------------------

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
                    self.crm.association_read,
                    lambda r: [
                        READ_SCOPES.get(r.path_params["from_type"], ()),
                        READ_SCOPES.get(r.path_params["to_type"], ()),
                    ],
                ),
                methods=["POST"],
            ),
            Route(
                "/crm/v3/objects/{object_type}/search",
                self._api(self.crm.search, _read_scopes, search=True),
                methods=["POST"],
            ),
            Route(
                "/crm/v3/objects/{object_type}/batch/read",
                self._api(self.crm.batch_read, _read_scopes),
                methods=["POST"],
            ),
            Route(
                "/crm/v3/objects/{object_type}/batch/upsert",
                self._api(self.crm.batch_upsert, _write_scopes),
                methods=["POST"],
            ),
            Route(
                "/crm/v3/objects/{object_type}",
                self._api(self.crm.objects, _read_scopes),
                methods=["GET"],
            ),
        ]

    def _api(
        self,
        handler: PortalHandler,
        scopes: Callable[[Request], Sequence[tuple[str, ...]]],
        *,
        search: bool = False,
    ) -> Handler:
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
        """Count the call (and the search) against the portal's limits; a 429 when enforced and over."""
        now = self.clock.now()
        with self._world_lock:
            used_ten = portal.recent.used(now)
            used_search = portal.recent_search.used(now)
            if self.enforce_limits:
                if portal.daily_used >= self.limits["daily"]:
                    return self._rate_limited("DAILY", "You have reached your daily limit.", category="RATE_LIMITS")
                if used_ten >= self.limits["ten_secondly"]:
                    return self._rate_limited(
                        "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit."
                    )
                if search and used_search >= self.limits["search_per_second"]:
                    return self._rate_limited("SEARCH_PER_SECOND", "You have reached your secondly limit.")
            portal.daily_used += 1
            portal.recent.add(now)
            if search:
                portal.recent_search.add(now)
        return None

    def _rate_headers(self, portal: Portal, caller: Caller) -> dict[str, str]:
        daily, ten = self.limits["daily"], self.limits["ten_secondly"]
        now = self.clock.now()
        with self._world_lock:
            used_ten = len(portal.recent)
            used_second = portal.recent.within(now, 1)
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

    # -- OAuth ------------------------------------------------------------------------------

    async def _token_v1(self, request: Request) -> Response:
        """The deprecated v1 token path: a dead refresh token answers BAD_REFRESH_TOKEN [HN]."""
        form = await read_form(request)
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
        form = await read_form(request)
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

    # -- account --------------------------------------------------------------------------

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


def _read_scopes(request: Request) -> list[tuple[str, ...]]:
    return [READ_SCOPES.get(request.path_params["object_type"], ())]


def _write_scopes(request: Request) -> list[tuple[str, ...]]:
    return [WRITE_SCOPES.get(request.path_params["object_type"], ())]
