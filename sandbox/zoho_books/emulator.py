"""The Zoho Books emulator: accounts servers (consent, token, revoke) and the Books API of every
data centre it serves, who may call (``Zoho-oauthtoken``, the token's data centre, the
organisations it reaches) and Zoho's limits (per organisation per minute and per day, reported
in ``X-Rate-Limit-*``; ten access tokens per refresh token per ten minutes).

A data centre ``dc`` lives under ``/{dc}`` (the world's ``default_dc`` also at the root): its
accounts server is ``{url}/{dc}`` and its API domain the same, so the consent redirect's
``accounts-server`` and the token response's ``api_domain`` point back here.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.base import Emulator, read_form
from sandbox.clock import SandboxClock
from sandbox.limits import RollingWindow
from sandbox.tokens import Grant
from sandbox.zoho_books import reads
from sandbox.zoho_books.wire import ZohoError, answer, error_body, error_table
from sandbox.zoho_books.world import Org, load_org
from sandbox.zoho_books.writes import Writes, body

logger = logging.getLogger(__name__)

DATA_CENTRES = ("us", "eu", "in", "au", "jp", "ca", "sa", "cn")
THROTTLED = {"error": "Access Denied", "error_description": "You have made too many requests continuously. Please try again after some time."}  # fmt: skip


class ZohoBooksEmulator(Emulator):
    """Zoho Books over loopback. World: see the package docstring."""

    system: ClassVar[str] = "zoho_books"
    token_path: ClassVar[str | None] = "/oauth/v2/token"
    authorize_path: ClassVar[str] = "/oauth/v2/auth"

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        # Zoho does not rotate refresh tokens and its access tokens live an hour [Z-REFRESH].
        defaults = {"rotate_refresh_tokens": False, "access_token_ttl": 3600}
        super().__init__({**defaults, **section}, clock)
        self.default_dc = str(section.get("default_dc", "us"))
        self.data_centres = tuple(section.get("data_centres") or DATA_CENTRES)
        self.errors = error_table(section.get("errors"))
        self.paging = reads.Paging(
            int(section.get("max_per_page", 200)), str(section.get("per_page_over_max", "clamp"))
        )
        self.minute_limit = int(section.get("minute_limit", 100))
        self.rate_headers = bool(section.get("rate_limit_headers", True))
        self.errors_on_200 = bool(section.get("errors_on_http_200", False))
        self.refresh_limit = int(section.get("refresh_window_limit", 10))
        self.refresh_window = float(section.get("refresh_window_seconds", 600))
        throttle = dict(section.get("refresh_throttle") or {})
        self.throttle_status = int(throttle.pop("status", 400))
        self.throttle_body = throttle or dict(THROTTLED)
        self.dead_status = int(section.get("dead_refresh_status", 200))
        self.tags_path = str(section.get("reporting_tags_path", "/reportingtags"))
        self.lock_path = str(section.get("transaction_lock_path", "/transactionlocks"))
        self.accept_form = bool(section.get("accept_jsonstring_form", True))
        self.consent = dict(section.get("consent") or {})
        self.writes = Writes(
            contact_names_unique=bool(section.get("contact_name_unique", False)),
            sku_case_sensitive=bool(section.get("sku_case_sensitive", False)),
        )
        now = self.clock.moment()
        self.orgs: dict[str, Org] = {}
        for index, raw in enumerate(section.get("organizations") or []):
            org = load_org(raw, index, now)
            self.orgs[org.org_id] = org
        self._codes: dict[str, dict[str, Any]] = {str(k): dict(v) for k, v in (section.get("codes") or {}).items()}
        self._refreshes: dict[str, RollingWindow] = {}

    def org(self, org_id: str) -> Org:
        return self.orgs[org_id]

    # -- hooks of the base ------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route(self.authorize_path, self._consent, methods=["GET"]),
            Route("/oauth/v2/token/revoke", self._revoke, methods=["POST"]),
            Route("/{dc}/oauth/v2/token/revoke", self._revoke, methods=["POST"]),
            Route("/{dc}/oauth/v2/token", self.token_endpoint, methods=["POST"]),
            Route("/books/v3/{path:path}", self._api, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/{dc}/books/v3/{path:path}", self._api, methods=["GET", "POST", "PUT", "DELETE"]),
        ]

    def is_token_path(self, path: str) -> bool:
        return path == self.authorize_path or path.endswith(("/oauth/v2/token", "/oauth/v2/token/revoke"))

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        row = self.errors["server_error"] if status >= 500 else self.errors["rate_limited"]
        return JSONResponse({"code": row.code, "message": message}, status_code=status)

    def rate_limit_response(self) -> Response:
        row = self.errors["rate_limited"]
        return self.with_retry_after(JSONResponse(error_body(row, {}), status_code=row.status))

    # -- data centres -----------------------------------------------------------------------

    def _dc(self, request: Request) -> str | None:
        dc = str(request.path_params.get("dc", self.default_dc))
        return dc if dc in self.data_centres else None

    def dc_url(self, request: Request, dc: str) -> str:
        """The accounts server and API domain of ``dc``, as seen by the caller."""
        root = str(request.base_url).rstrip("/")
        return root if dc == self.default_dc else f"{root}/{dc}"

    # -- accounts server --------------------------------------------------------------------

    async def _consent(self, request: Request) -> Response:
        """The consent screen, approved at once as the world's ``consent`` user: it redirects
        with ``code``, ``location`` and ``accounts-server`` [Z-MDC]."""
        q = request.query_params
        clients: Mapping[str, str] = self.section.get("clients", {})
        if clients and q.get("client_id") not in clients:
            return PlainTextResponse("Invalid Client", status_code=400)
        redirect = q.get("redirect_uri")
        if not redirect:
            return PlainTextResponse("redirect_uri is required", status_code=400)
        state = {"state": q["state"]} if q.get("state") else {}
        if self.consent.get("deny"):
            return RedirectResponse(f"{redirect}?{urlencode({'error': 'access_denied', **state})}", status_code=302)
        dc = str(self.consent.get("location", self.default_dc))
        code = "zc-" + secrets.token_urlsafe(12)
        self._codes[code] = {
            "dc": dc,
            "principal": list(self.consent.get("principal") or list(self.orgs)),
            "scopes": [s for s in (q.get("scope") or "").split(",") if s],
            "offline": q.get("access_type") == "offline",
        }
        params = {"code": code, "location": dc, "accounts-server": self.dc_url(request, dc), **state}
        return RedirectResponse(f"{redirect}?{urlencode(params)}", status_code=302)

    def token_response(self, grant: Grant, request: Request | None = None, with_refresh: bool = True) -> dict[str, Any]:
        dc = str(grant.extra.get("dc", self.default_dc))
        found: dict[str, Any] = {"access_token": grant.access_token}
        if with_refresh and grant.refresh_token:
            found["refresh_token"] = grant.refresh_token
        if request is not None:
            found["api_domain"] = self.dc_url(request, dc)
        found.update(token_type="Bearer", expires_in=int(grant.expires_at - self.clock.now()))
        return found

    def _dead(self) -> Response:
        return JSONResponse({"error": "invalid_code"}, status_code=self.dead_status)

    async def token_endpoint(self, request: Request) -> Response:
        """Zoho takes its parameters in the query string or a form body [Z-REFRESH, TAP]."""
        params = {**dict(request.query_params), **await read_form(request)}
        if not self.client_authenticated(request, params):
            return JSONResponse({"error": "invalid_client"}, status_code=self.dead_status)
        dc = self._dc(request)
        if dc is None:
            return PlainTextResponse("Not Found", status_code=404)
        grant_type = params.get("grant_type")
        if grant_type == "refresh_token":
            return self._refresh(request, dc, params.get("refresh_token", ""))
        if grant_type == "authorization_code":
            return self._exchange(request, dc, params.get("code", ""))
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

    def _refresh(self, request: Request, dc: str, refresh_token: str) -> Response:
        grant = self.tokens.find_refresh(refresh_token)
        if grant is None or grant.revoked or grant.extra.get("dc", self.default_dc) != dc:
            self.tokens.refresh_calls += 1
            return self._dead()
        now = self.clock.now()
        with self.lock:
            window = self._refreshes.setdefault(refresh_token, RollingWindow(self.refresh_window))
            if window.used(now) >= self.refresh_limit:
                # "blocked for the rest of the ten minutes" [Z-REFRESH]
                return JSONResponse(self.throttle_body, status_code=self.throttle_status)
            window.add(now)
        renewed = self.tokens.refresh(refresh_token)
        if renewed is None:
            return self._dead()
        return JSONResponse(self.token_response(renewed, request, with_refresh=False))

    def _exchange(self, request: Request, dc: str, code: str) -> Response:
        issued = self._codes.pop(code, None)
        if issued is None or str(issued.get("dc", self.default_dc)) != dc:
            return self._dead()  # a code is only good at its own data centre's accounts server
        offline = bool(issued.get("offline", True))
        grant = Grant(
            access_token="1000." + secrets.token_hex(16),
            refresh_token="1000." + secrets.token_hex(16) if offline else None,
            expires_at=self.clock.now() + self.tokens.ttl,
            scopes=tuple(issued.get("scopes") or ()),
            principal=list(issued.get("principal") or list(self.orgs)),
            extra={"dc": dc},
        )
        self.tokens.add(grant)
        return JSONResponse(self.token_response(grant, request))

    async def _revoke(self, request: Request) -> Response:
        token = request.query_params.get("token") or (await read_form(request)).get("token", "")
        self.tokens.revoke(token)
        return JSONResponse({"status": "success"})

    # -- the API ----------------------------------------------------------------------------

    def _fail(self, error: str, org: Org | None = None, /, **values: Any) -> Response:
        row = self.errors[error]
        status = row.status
        if self.errors_on_200 and status < 500 and status != 429:
            status = 200  # an error carried on HTTP 200 (UNCONFIRMED; clients guard against it)
        response = JSONResponse(error_body(row, values), status_code=status)
        if org is not None:
            self._rate_headers(response, org)
        return response

    def _rate_headers(self, response: Response, org: Org) -> None:
        if not self.rate_headers:
            return
        started = org.day_started if org.day_started is not None else self.clock.now()
        response.headers["X-Rate-Limit-Limit"] = str(org.daily_limit)
        response.headers["X-Rate-Limit-Remaining"] = str(max(org.daily_limit - org.used, 0))
        response.headers["X-Rate-Limit-Reset"] = str(max(int(86400 - (self.clock.now() - started)), 0))

    def reach(self, grant: Grant) -> list[str]:
        """Organisations a grant reaches now (the ``wrong_tenant`` fault swaps them)."""
        granted = [str(p) for p in grant.principal] if isinstance(grant.principal, list) else [str(grant.principal)]
        if not self.faults.wrong_tenant:
            return granted
        return [o for o in self.orgs if o not in granted][:1]

    def _count(self, org: Org) -> str | None:
        """Count one call against the organisation's limits; the limit it breaks, if any."""
        now = self.clock.now()
        with self.lock:
            if org.day_started is None:
                org.day_started = now  # the world's used_today counts towards this first day
            elif now - org.day_started >= 86400:
                org.day_started, org.used = now, 0
            if org.used >= org.daily_limit:
                return "daily_limit"
            if org.minute.used(now) >= self.minute_limit:
                return "rate_limited"
            org.minute.add(now)
            org.used += 1
        return None

    async def _api(self, request: Request) -> Response:
        dc = self._dc(request)
        if dc is None:
            return PlainTextResponse("Not Found", status_code=404)
        header = request.headers.get("authorization", "")
        token = header[len("Zoho-oauthtoken ") :].strip() if header.startswith("Zoho-oauthtoken ") else None
        grant, problem = self.tokens.check_access(token)
        if problem is not None or grant is None or grant.extra.get("dc", self.default_dc) != dc:
            return self._fail("unauthorized")
        reached = self.reach(grant)
        path = "/" + str(request.path_params["path"]).strip("/")
        if path == "/organizations" and request.method == "GET":
            # Not counted: it names no organisation whose quota it could spend (UNCONFIRMED).
            return answer({"organizations": [self.orgs[o].organization for o in reached if o in self.orgs]})
        org_id = request.query_params.get("organization_id") or (reached[0] if len(reached) == 1 else "")
        if not org_id:
            return self._fail("multiple_orgs" if reached else "no_org")
        org = self.orgs.get(org_id)
        if org is None or org_id not in reached or org.dc != dc:
            return self._fail("wrong_org")  # an organisation lives in one data centre
        broken = self._count(org)
        if broken is not None:
            return self._fail(broken, org)
        try:
            response = await self._dispatch(request, org, path)
        except ZohoError as e:
            return self._fail(e.name, org, **e.values)
        self._rate_headers(response, org)
        return response

    async def _dispatch(self, request: Request, org: Org, path: str) -> Response:
        parts = path.strip("/").split("/")
        now = self.clock.moment()
        if request.method == "GET":
            with self.lock:
                return answer(self._read(request, org, path, parts))
        marking = len(parts) == 4 and parts[0] == "invoices" and parts[2:] == ["status", "sent"]
        data = {} if marking else await body(request, self.accept_form)
        with self.lock:
            if path == "/invoices":
                ignore = request.query_params.get("ignore_auto_number_generation") == "true"
                created = self.writes.invoice(org, data, ignore, now)
                return answer({"message": "The invoice has been created.", "invoice": created}, 201)
            if path == "/items":
                return answer({"message": "The item has been added.", "item": self.writes.item(org, data, now)}, 201)
            if path == "/contacts":
                contact = self.writes.contact(org, data, now)
                return answer({"message": "The contact has been added.", "contact": contact}, 201)
            if marking:
                self.writes.mark_sent(org, reads.one(org.invoices, "invoice_id", parts[1], "Invoice"), now)
                return answer({"message": "Invoice status has been changed to Sent."})
        raise ZohoError("not_found", what="Resource")

    def _read(self, request: Request, org: Org, path: str, parts: list[str]) -> dict[str, Any]:
        if path == f"/organizations/{org.org_id}":
            return {"organization": org.organization}
        if path == "/settings/currencies":
            return {"currencies": org.currencies}
        if path == "/settings/taxes":
            return {"taxes": org.taxes}
        if path == self.tags_path:
            return {"tags": org.tags}
        if path == self.lock_path:
            return {"transaction_locks": org.locks}
        if len(parts) == 1 and parts[0] in reads.LISTS:
            return reads.LISTS[parts[0]](request, org, self.paging)
        if len(parts) == 2:
            table = {"invoices": ("invoice", org.invoices, "invoice_id", "Invoice"),
                     "contacts": ("contact", org.contacts, "contact_id", "Contact"),
                     "items": ("item", org.items, "item_id", "Item")}  # fmt: skip
            if parts[0] in table:
                key, records, id_key, what = table[parts[0]]
                return {key: reads.one(records, id_key, parts[1], what)}
        raise ZohoError("not_found", what="Resource")
