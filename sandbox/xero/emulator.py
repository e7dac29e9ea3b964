"""The Xero emulator: its routes, who may call them (tokens, tenants, connections) and Xero's
rate limits (per tenant per minute and per day, per app per minute), with the headers that
report them on every Accounting API answer."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.base import Emulator, Handler
from sandbox.clock import SandboxClock
from sandbox.consent import ConsentScreen
from sandbox.idempotency import IdempotencyCache
from sandbox.limits import RollingWindow
from sandbox.tokens import Grant
from sandbox.xero.messages import MESSAGES
from sandbox.xero.org import Org
from sandbox.xero.reads import READS, Reader
from sandbox.xero.wire import API, BadRequest, envelope, error_response, stable_id, validation
from sandbox.xero.world import load_org
from sandbox.xero.writes import Writes

logger = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY = 128
DEMO_COMPANY = "Demo Company (Global)"  # what a token reaches when the wrong_tenant fault is on
WRITABLE = ("Invoices", "Contacts", "Items")
# The scopes that open each resource: the broad ones of apps made before 2026-03-02 and the
# granular ones after (accounting.transactions -> accounting.invoices / accounting.payments;
# items through accounting.invoices or accounting.settings). A ``.read`` form opens GET only.
# Every resource not listed is a setting.
RESOURCE_SCOPES: dict[str, tuple[str, ...]] = {
    "Invoices": ("accounting.transactions", "accounting.invoices"),
    "Payments": ("accounting.transactions", "accounting.payments"),
    "Items": ("accounting.settings", "accounting.invoices"),
    "Contacts": ("accounting.contacts",),
}
SETTINGS_SCOPES = ("accounting.settings",)


def scope_allows(resource: str, method: str, granted: tuple[str, ...]) -> bool:
    """Whether a grant's scopes open ``method`` on ``resource`` (a grant listing no scopes, as
    older worlds write them, opens everything)."""
    if not granted:
        return True
    for scope in RESOURCE_SCOPES.get(resource, SETTINGS_SCOPES):
        if scope in granted or (method == "GET" and f"{scope}.read" in granted):
            return True
    return False


class XeroEmulator(Emulator):
    """Xero over loopback. World: see the package docstring."""

    system: ClassVar[str] = "xero"
    token_path: ClassVar[str | None] = "/connect/token"
    load_errors: ClassVar[tuple[type[Exception], ...]] = (BadRequest,)
    default_concurrent_limit: ClassVar[int] = 5  # per tenant (PROVIDERS.md: 5 concurrent)

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        super().__init__(section, clock)
        self.messages = {**MESSAGES, **dict(section.get("messages") or {})}
        self.idempotency = IdempotencyCache(self.clock, ttl=float(section.get("idempotency_ttl_seconds", 360)))
        self.minute_limit = int(section.get("minute_limit", 60))
        self.app_minute_limit = int(section.get("app_minute_limit", 10000))
        self._app_minute = RollingWindow(60)
        self.writes = Writes(self.messages, self.clock)
        now = self.clock.moment()
        self.orgs: dict[str, Org] = {}
        for index, raw in enumerate(section.get("tenants") or []):
            org = load_org(
                raw,
                index,
                now,
                contact_case_sensitive=bool(section.get("contact_name_case_sensitive", False)),
                item_case_sensitive=bool(section.get("item_code_case_sensitive", True)),
            )
            self.orgs[org.tenant_id] = org
        # Xero's consent screen: the person picks one of their organisations; the grant
        # reaches that one (GET /connections lists it).
        self.consent = ConsentScreen(
            "Xero",
            dict(section.get("clients") or {}),
            lambda: [(o.tenant_id, o.name) for o in self.orgs.values()],
            lambda chosen: [chosen],
        )

    def org(self, tenant_id: str) -> Org:
        """The organisation a tenant id names (tests and the demo look inside)."""
        return self.orgs[tenant_id]

    # -- hooks of the base ------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route("/authorize", self.consent.page, methods=["GET"]),
            Route("/authorize", self.consent.decide, methods=["POST"]),
            Route("/connections", self._connections, methods=["GET"]),
            Route("/Connections", self._connections, methods=["GET"]),
        ]
        for name, reader in READS.items():
            routes.append(Route(f"{API}/{name}", self._reads(reader), methods=["GET"]))
        for name in WRITABLE:
            routes.append(Route(f"{API}/{name}", self._writes(name), methods=["PUT", "POST"]))
        return routes

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        return error_response(status, message, extra.get("elements"))

    def rate_limit_response(self) -> Response:
        response = self.with_retry_after(self.error(429, "rate_limited", "Rate limit exceeded"))
        response.headers["X-Rate-Limit-Problem"] = self.faults.rate_limit_problem
        return response

    def concurrency_key(self, path: str, headers: Mapping[str, str]) -> str | None:
        return headers.get("xero-tenant-id") if path.startswith(API) else None

    def concurrency_response(self) -> Response:
        # The X-Rate-Limit-Problem value for this limit is UNCONFIRMED (PROVIDERS.md: only
        # "minute" and "day" are observed); "concurrent" names it plainly.
        response = self.error(429, "rate_limited", "Rate limit exceeded: concurrent")
        response.headers["Retry-After"] = "1"
        response.headers["X-Rate-Limit-Problem"] = "concurrent"
        return response

    # -- who may call -----------------------------------------------------------------------

    def _grant(self, request: Request) -> Grant | Response:
        """The caller's grant, or Xero's 401 (``TokenExpired`` names when it expired)."""
        grant, problem = self.tokens.check_access(self.bearer(request))
        if problem is None and grant is not None:
            return grant
        if problem == "expired" and grant is not None:
            expired = datetime.fromtimestamp(grant.expires_at, tz=UTC).strftime("%m/%d/%Y %H:%M:%S")
            return self.error(401, "TokenExpired", f"TokenExpired: token expired at {expired}")
        return self.error(401, "AuthenticationUnsuccessful", "AuthenticationUnsuccessful")

    def reach(self, grant: Grant) -> list[str]:
        """Tenant ids a grant reaches now (the ``wrong_tenant`` fault swaps them)."""
        granted = (
            [str(t) for t in (grant.principal or [])] if isinstance(grant.principal, list) else [str(grant.principal)]
        )
        if not self.faults.wrong_tenant:
            return granted
        others = [t for t in self.orgs if t not in granted]
        return others[:1] or [stable_id("tenant", DEMO_COMPANY)]

    async def _connections(self, request: Request) -> Response:
        grant = self._grant(request)
        if isinstance(grant, Response):
            return grant
        event = request.query_params.get("authEventId")
        found = []
        for tenant_id in self.reach(grant):
            org = self.orgs.get(tenant_id)
            conn = (
                org.connection
                if org
                else {
                    "id": stable_id("connection", tenant_id),
                    "authEventId": stable_id("auth-event", tenant_id),
                    "createdDateUtc": "2019-12-07T18:46:19.5165400",
                    "updatedDateUtc": "2019-12-07T18:46:19.5187840",
                }
            )
            if event and conn["authEventId"] != event:
                continue
            found.append(
                {
                    **conn,
                    "tenantId": tenant_id,
                    "tenantType": org.tenant_type if org else "ORGANISATION",
                    "tenantName": org.name if org else DEMO_COMPANY,
                }
            )
        return JSONResponse(found)

    def _admit(self, request: Request) -> Org | Response:
        """Authenticate, check the tenant header, count the call against the limits: the
        organisation called, or the answer refusing the call."""
        grant = self._grant(request)
        if isinstance(grant, Response):
            return grant
        tenant_id = request.headers.get("xero-tenant-id", "")
        org = self.orgs.get(tenant_id)
        if org is None or tenant_id not in self.reach(grant):
            # A tenant disconnected or never granted: 403 AuthenticationUnsuccessful (observed).
            return self.error(403, "AuthenticationUnsuccessful", "AuthenticationUnsuccessful")
        resource = request.url.path.removeprefix(f"{API}/").split("/", 1)[0]
        if not scope_allows(resource, request.method, grant.scopes):
            # A good token whose scopes do not cover the call (observed: Xero-NetStandard#298).
            return self.error(401, "AuthorizationUnsuccessful", "AuthorizationUnsuccessful")
        now = self.clock.now()
        with self.lock:
            minute_used = org.minute.used(now)
            app_used = self._app_minute.used(now)
            if org.day_started is None or now - org.day_started >= 86400:
                org.day_started, org.day_used = now, 0
            problem, wait = None, 0.0
            if org.day_used >= org.day_limit:
                problem, wait = "day", 86400 - (now - org.day_started)
            elif minute_used >= self.minute_limit:
                problem, wait = "minute", org.minute.wait(now)
            elif app_used >= self.app_minute_limit:
                problem, wait = "appminute", self._app_minute.wait(now)
            if problem is None:
                org.minute.add(now)
                self._app_minute.add(now)
                org.day_used += 1
        if problem is not None:
            response = self.error(429, "rate_limited", f"Rate limit exceeded: {problem}")
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            response.headers["X-Rate-Limit-Problem"] = problem
            self._rate_headers(response, org)
            return response
        return org

    def _rate_headers(self, response: Response, org: Org) -> None:
        response.headers["X-DayLimit-Remaining"] = str(max(org.day_limit - org.day_used, 0))
        response.headers["X-MinLimit-Remaining"] = str(max(self.minute_limit - len(org.minute), 0))
        response.headers["X-AppMinLimit-Remaining"] = str(max(self.app_minute_limit - len(self._app_minute), 0))

    # -- endpoints --------------------------------------------------------------------------

    def _reads(self, reader: Reader) -> Handler:
        async def endpoint(request: Request) -> Response:
            org = self._admit(request)
            if isinstance(org, Response):
                return org
            try:
                with self.lock:
                    found = reader(request, org)
                    response: Response = JSONResponse(
                        envelope(found.key, found.records, self.clock.moment(), found.pagination)
                    )
            except BadRequest as e:
                response = validation(e.message)
            self._rate_headers(response, org)
            return response

        return endpoint

    def _writes(self, key: str) -> Handler:
        async def endpoint(request: Request) -> Response:
            org = self._admit(request)
            if isinstance(org, Response):
                return org
            raw = await request.body()
            idem = request.headers.get("idempotency-key")
            fingerprint = f"{request.method} {request.url.path}?{request.url.query} {raw.decode(errors='replace')}"
            with self.lock:
                response = self._replay(org, idem, fingerprint)
                if response is None:
                    response = self.writes.batch(request, org, key, raw)
                    if idem and len(idem) <= MAX_IDEMPOTENCY_KEY:
                        self.idempotency.put(
                            (org.tenant_id, idem), fingerprint, response.status_code, bytes(response.body)
                        )
            self._rate_headers(response, org)
            return response

        return endpoint

    def _replay(self, org: Org, key: str | None, fingerprint: str) -> Response | None:
        """The saved answer to a repeated Idempotency-Key, Xero's refusal of a reused one, or
        None: do the write."""
        if not key:
            return None
        if len(key) > MAX_IDEMPOTENCY_KEY:
            return validation(self.messages["idempotency_too_long"])
        saved = self.idempotency.get((org.tenant_id, key))
        if saved is None:
            return None
        if saved.fingerprint != fingerprint:
            return validation(self.messages["idempotency_mismatch"].format(key=key))
        return saved.response()  # the first answer again; Xero marks a replay with no header
