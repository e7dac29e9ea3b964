"""The MYOB emulator: MYOB's OAuth (consent screen and token endpoint at secure.myob.com's
paths) and the AccountRight / MYOB Business API v2 under ``/accountright``: who may call (the
API key, ``x-myobapi-version``, the Bearer token, the company file the consent granted, the
file's own sign-in) and the per-API-key limits (8 a second, a daily cap) answered as
**403 RateLimitError**."""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.base import Emulator
from sandbox.clock import SandboxClock
from sandbox.limits import RollingWindow
from sandbox.myob import reads
from sandbox.myob.wire import MyobError, error_response, error_table
from sandbox.myob.world import COLLECTIONS, CompanyFile, load_file
from sandbox.myob.writes import Writes, parse_body
from sandbox.tokens import Grant

logger = logging.getLogger(__name__)

WRITABLE = {"Sale/Invoice/Item": "invoice", "Inventory/Item": "item", "Contact/Customer": "customer"}


class MyobEmulator(Emulator):
    """MYOB over loopback. World: see the package docstring."""

    system: ClassVar[str] = "myob"
    token_path: ClassVar[str | None] = "/oauth2/v1/authorize"
    authorize_path: ClassVar[str] = "/oauth2/account/authorize"

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        super().__init__({"access_token_ttl": 1200, **section}, clock)  # 20 minutes (UNCONFIRMED)
        self.errors = error_table(section.get("errors"))
        self.paging = reads.Paging(
            int(section.get("default_top", 400)),
            int(section.get("max_top", 1000)),
            bool(section.get("next_page_link", True)),
            bool(section.get("count", True)),
        )
        self.per_second_limit = int(section.get("per_second_limit", 8))
        self.daily_limit = int(section.get("daily_limit", 1_000_000))
        self.throttle_status = int(section.get("throttle_status", 403))
        self.cftoken_status = int(section.get("bad_cftoken_status", 401))
        self.cftoken_style = str(section.get("bad_cftoken_body", "json"))
        self.new_keys = bool(section.get("key_created_after_2025_03_12", True))
        self.location_header = bool(section.get("location_header", True))
        self.consent = dict(section.get("consent") or {})
        self.writes = Writes(section)
        self.files: dict[str, CompanyFile] = {}
        for index, raw in enumerate(section.get("company_files") or []):
            cf = load_file(raw, index)
            self.files[cf.uid.lower()] = cf
        self._codes: dict[str, dict[str, Any]] = {str(k): dict(v) for k, v in (section.get("codes") or {}).items()}
        self._seconds: dict[str, RollingWindow] = {}
        self._days: dict[str, int] = {str(k): int(v) for k, v in dict(section.get("used_today") or {}).items()}

    def file(self, uid: str) -> CompanyFile:
        return self.files[uid.lower()]

    # -- hooks of the base ------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route(self.authorize_path, self._consent, methods=["GET"]),
            Route("/accountright/", self._list_files, methods=["GET"]),
            Route("/accountright/{cf}", self._api, methods=["GET"]),
            Route("/accountright/{cf}/", self._api, methods=["GET"]),
            Route("/accountright/{cf}/{path:path}", self._api, methods=["GET", "POST", "PUT", "DELETE"]),
        ]

    def is_token_path(self, path: str) -> bool:
        return path in (self.token_path, self.authorize_path)

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        if status == 504:
            return error_response(self.errors["gateway_timeout"], {})
        return JSONResponse(
            {"Errors": [{"Name": "InternalError", "Message": message, "ErrorCode": None, "Severity": "Error"}]},
            status_code=status,
        )

    def rate_limit_response(self) -> Response:
        row = self.errors["per_second"]
        return error_response(row, {}) if self.throttle_status == row.status else self._throttle(row)

    def _throttle(self, row: Any) -> Response:
        response = error_response(row, {})
        response.status_code = self.throttle_status  # the opt-in 429 variant (no MYOB source)
        return response

    # -- OAuth ------------------------------------------------------------------------------

    async def _consent(self, request: Request) -> Response:
        """The consent screen, approved at once by the world's ``consent`` admin for the file
        they pick; ``businessId`` / ``businessName`` come back only with ``prompt=consent``
        for keys made after 12 March 2025 [M-GUID]."""
        q = request.query_params
        clients: Mapping[str, str] = self.section.get("clients", {})
        if clients and q.get("client_id") not in clients:
            return PlainTextResponse("invalid client_id", status_code=400)
        redirect = q.get("redirect_uri")
        if not redirect:
            return PlainTextResponse("redirect_uri is required", status_code=400)
        state = {"state": q["state"]} if q.get("state") else {}
        if self.consent.get("deny"):
            return RedirectResponse(f"{redirect}?{urlencode({'error': 'access_denied', **state})}", status_code=302)
        chosen = str(self.consent.get("business_id") or next(iter(self.files.values())).uid)
        code = "mc-" + secrets.token_urlsafe(12)
        scopes = [s for s in (q.get("scope") or "").split() if s]
        self._codes[code] = {"scopes": scopes, "principal": [chosen]}
        params = {"code": code, "scope": " ".join(scopes), **state}
        if self.new_keys and q.get("prompt") == "consent":
            cf = self.files.get(chosen.lower())
            params.update(businessId=chosen, businessName=cf.record["Name"] if cf else chosen)
        return RedirectResponse(f"{redirect}?{urlencode(params)}", status_code=302)

    def exchange_code(self, form: Mapping[str, str]) -> Response:
        """A code from the consent screen (or the world's ``codes``), good once."""
        issued = self._codes.pop(form.get("code", ""), None)
        if issued is None:
            return self.token_error(400, "invalid_grant", "authorization code is invalid or expired")
        grant = Grant(
            access_token="at-" + secrets.token_urlsafe(16),
            refresh_token="rt-" + secrets.token_urlsafe(16),
            expires_at=self.clock.now() + self.tokens.ttl,
            scopes=tuple(issued.get("scopes") or ()),
            principal=list(issued.get("principal") or []),
        )
        self.tokens.add(grant)
        return JSONResponse(self.token_response(grant))

    # -- who may call -----------------------------------------------------------------------

    def _fail(self, error: str, /, **values: Any) -> Response:
        return error_response(self.errors[error], values)

    def _key(self, request: Request) -> str | Response:
        key = request.headers.get("x-myobapi-key", "")
        clients: Mapping[str, str] = self.section.get("clients", {})
        if not key or (clients and key not in clients):
            return self._fail("developer_inactive")
        now = self.clock.now()
        with self.lock:
            window = self._seconds.setdefault(key, RollingWindow(1.0))
            if self._days.get(key, 0) >= self.daily_limit:
                return self._throttle(self.errors["daily_limit"])
            if window.used(now) >= self.per_second_limit:
                return self._throttle(self.errors["per_second"])
            window.add(now)
            self._days[key] = self._days.get(key, 0) + 1
        if request.headers.get("x-myobapi-version", "").lower() != "v2":
            return self._fail("version")
        return key

    def _grant_files(self, request: Request) -> list[str] | Response:
        grant, problem = self.tokens.check_access(self.bearer(request))
        if problem is not None or grant is None:
            return self._fail("token_invalid")
        principal = grant.principal if isinstance(grant.principal, list) else [grant.principal]
        reached = [str(p).lower() for p in principal if p]
        if self.faults.wrong_tenant:
            reached = [f for f in self.files if f not in reached][:1]
        return reached

    def _signed_in(self, request: Request, cf: CompanyFile) -> bool:
        """The file's own user sign-in (``x-myobapi-cftoken``) when it needs one [M-AD]."""
        if not cf.requires_cftoken:
            return True
        try:
            user, _, password = base64.b64decode(request.headers.get("x-myobapi-cftoken", "")).decode().partition(":")
        except ValueError:
            return False
        return bool(user) and cf.users.get(user) == password

    async def _list_files(self, request: Request) -> Response:
        key = self._key(request)
        if isinstance(key, Response):
            return key
        reached = self._grant_files(request)
        if isinstance(reached, Response):
            return reached
        if self.new_keys:
            return JSONResponse([])  # "no longer returns a list of company files" [M-GUID]
        return JSONResponse([self.files[f].record | {"Subscription": None} for f in reached if f in self.files])

    async def _api(self, request: Request) -> Response:
        key = self._key(request)
        if isinstance(key, Response):
            return key
        reached = self._grant_files(request)
        if isinstance(reached, Response):
            return reached
        uid = str(request.path_params["cf"]).lower()
        cf = self.files.get(uid)
        if cf is None:
            return self._fail("no_such_file")
        if uid not in reached:
            return self._fail("file_not_granted")
        if not self._signed_in(request, cf):
            row = self.errors["access_denied"]
            response = error_response(row, {}, style=self.cftoken_style)
            response.status_code = self.cftoken_status
            return response
        path = str(request.path_params.get("path") or "").strip("/")
        try:
            if request.method == "GET":
                with self.lock:
                    return JSONResponse(self._read(request, cf, path))
            if request.method == "POST" and path in WRITABLE:
                return await self._write(request, cf, path)
            raise MyobError("method", method=request.method)
        except MyobError as e:
            return self._fail(e.name, **e.values)

    def _read(self, request: Request, cf: CompanyFile, path: str) -> Any:
        if path == "":
            return reads.company_file(request, cf)
        if path == "Company":
            return cf.company
        if path == "Company/Preferences":
            return cf.preferences
        if path == "Sale/Invoice":
            return reads.collection(request, reads.generic_invoices(cf), self.paging)
        if path in COLLECTIONS:
            return reads.collection(request, cf.lists[path], self.paging)
        head, _, uid = path.rpartition("/")
        if head in COLLECTIONS:
            found = cf.find(head, uid)
            if found is not None:
                return found
        raise MyobError("resource_not_found")

    async def _write(self, request: Request, cf: CompanyFile, path: str) -> Response:
        data = parse_body(await request.body())
        warnings = request.query_params.get("warningsAsErrors", "").lower() == "true"
        now = self.clock.moment()
        with self.lock:
            writer = getattr(self.writes, WRITABLE[path])
            record = writer(cf, data, warnings, now)
        # 201 with the new URI in Location; the body only with returnBody=true [SDK]
        body = record if request.query_params.get("returnBody", "").lower() == "true" else None
        response = JSONResponse(body, status_code=201) if body is not None else Response(status_code=201)
        if self.location_header:
            response.headers["Location"] = f"{str(request.url).split('?', 1)[0]}/{record['UID']}"
        return response
