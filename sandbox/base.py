"""What every emulator shares: a clock, a token book, faults, a request log.

An emulator is a Starlette (ASGI) app serving one system's real paths in its real wire format
from an in-memory world. Subclasses define ``routes()`` and ``error(status, code, message)``
(their error envelope); this base applies faults and latency to every API route and answers
the OAuth token endpoint with expiry, refresh-token rotation and revocation.

World section of a system (each emulator documents its own data keys on top of these)::

    grants: [...]                   # OAuth token sets, see tokens.py
    access_token_ttl: 1800          # lifetime of tokens minted by refresh
    rotate_refresh_tokens: true
    refresh_grace_seconds: 0        # how long a rotated-out refresh token still works
    clients: {client-id: secret}    # when given, the token endpoint authenticates the client
    codes: {code: {scopes, principal}}   # authorization codes the token endpoint exchanges
    faults: {latency_ms: 0, ...}    # see faults.py
    concurrent_limit: 5             # requests in flight per tenant (systems that have the limit)

Tests can also park one request at a chosen point with :meth:`Emulator.hold` (``faults.Hold``).
"""

from __future__ import annotations

import abc
import asyncio
import base64
import logging
import secrets
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.clock import SandboxClock
from sandbox.consent import ConsentScreen
from sandbox.faults import Faults, Hold, Holds
from sandbox.tokens import Grant, TokenBook

logger = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


class Emulator(abc.ABC):
    """Base of every emulator. Subclasses: ``system``, ``routes()``, ``error()``."""

    system: ClassVar[str]
    token_path: ClassVar[str | None] = None  # path of the OAuth token endpoint, if any
    authorize_path: ClassVar[str] = "/authorize"  # path of the consent screen, where it serves one
    # What the system's own refusal looks like when seeding a world section hits data the real
    # API would refuse (an invoice line without a price): a world the emulator cannot load.
    load_errors: ClassVar[tuple[type[Exception], ...]] = ()
    default_concurrent_limit: ClassVar[int] = 0  # requests in flight per tenant; 0: no limit

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        self.section = section
        self.clock = clock or SandboxClock()
        self.faults = Faults.from_mapping(section.get("faults"))
        self.tokens = TokenBook(section, self.clock)
        self.lock = threading.RLock()  # guards the in-memory world during writes
        self.holds = Holds()
        self.concurrent_limit = int(section.get("concurrent_limit", self.default_concurrent_limit))
        self.in_flight: Counter[str] = Counter()  # per concurrency key
        self.concurrency_refused = 0  # requests answered 429 for going over concurrent_limit
        self.requests: Counter[str] = Counter()  # "GET /path" -> count
        self.log: list[tuple[str, str, dict[str, str]]] = []  # (method, path, headers) for contract tests
        self._app: Starlette | None = None

    # -- to override ----------------------------------------------------------------------

    @abc.abstractmethod
    def routes(self) -> list[BaseRoute]:
        """The system's real API paths served by this emulator."""

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        """A response in the system's own error envelope."""
        return JSONResponse({"error": code, "message": message}, status_code=status)

    def rate_limit_response(self) -> Response:
        """The answer to a request the ``rate_limit`` fault refuses."""
        return self.with_retry_after(self.error(429, "rate_limited", "Rate limit exceeded"))

    def is_token_path(self, path: str) -> bool:
        """Paths faults and latency leave alone (the token endpoint; a system with several
        accounts servers has one per data centre)."""
        return path == self.token_path

    def concurrency_key(self, path: str, headers: Mapping[str, str]) -> str | None:
        """Who shares the ``concurrent_limit`` a request counts against (None: not limited)."""
        return None

    def concurrency_response(self) -> Response:
        """The answer to a request over ``concurrent_limit``."""
        return self.rate_limit_response()

    def hold(self, method: str, path: str, *, phase: str = "before") -> Hold:
        """Park the next ``method path`` request (see ``faults.Hold``); release it with
        ``hold.release()``."""
        return self.holds.add(method, path, phase)

    def token_error(self, status: int, error: str, description: str) -> Response:
        return JSONResponse({"error": error, "error_description": description}, status_code=status)

    def token_response(self, grant: Grant) -> dict[str, Any]:
        return {
            "access_token": grant.access_token,
            "refresh_token": grant.refresh_token,
            "expires_in": int(grant.expires_at - self.clock.now()),
            "token_type": "Bearer",
            "scope": " ".join(grant.scopes),
        }

    # -- shared machinery -----------------------------------------------------------------

    @property
    def app(self) -> Starlette:
        if self._app is None:
            routes = list(self.routes())
            if self.token_path:
                routes.append(Route(self.token_path, self.token_endpoint, methods=["POST"]))
            self._app = Starlette(routes=routes)
            self._app.add_middleware(_FaultMiddleware, emulator=self)
        return self._app

    def with_retry_after(self, response: Response) -> Response:
        """``response`` with the ``Retry-After`` the faults set (a 429 the world asked for)."""
        response.headers["Retry-After"] = seconds_text(self.faults.retry_after)
        return response

    def bearer(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return None

    async def token_endpoint(self, request: Request) -> Response:
        """The OAuth token endpoint: refresh (with rotation) and authorization-code exchange."""
        form = await read_form(request)
        if not self.client_authenticated(request, form):
            return self.token_error(401, "invalid_client", "client authentication failed")
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            grant = self.tokens.refresh(form.get("refresh_token", ""))
            if grant is None:
                return self.token_error(400, "invalid_grant", "refresh token is invalid, expired or revoked")
            return JSONResponse(self.token_response(grant))
        if grant_type == "authorization_code":
            return self.exchange_code(form)
        return self.token_error(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

    def exchange_code(self, form: Mapping[str, str]) -> Response:
        """Authorization-code exchange: a code the emulator's consent screen issued (once, with
        its redirect URI and PKCE verifier), or world ``codes: {code: grant-like mapping}``."""
        screen: ConsentScreen | None = getattr(self, "consent", None)
        issued = screen.redeem(form) if screen is not None else None
        if isinstance(issued, str):
            return self.token_error(400, "invalid_grant", issued)
        codes = self.section.get("codes", {})
        raw = (
            {"scopes": issued.scopes, "principal": issued.principal}
            if issued is not None
            else codes.get(form.get("code", ""))
        )
        if raw is None:
            return self.token_error(400, "invalid_grant", "authorization code is invalid or expired")
        grant = Grant(
            access_token="at-" + secrets.token_urlsafe(16),
            refresh_token="rt-" + secrets.token_urlsafe(16),
            expires_at=self.clock.now() + self.tokens.ttl,
            scopes=tuple(raw.get("scopes", ())),
            principal=raw.get("principal"),
        )
        self.tokens.add(grant)
        return JSONResponse(self.token_response(grant))

    def client_authenticated(self, request: Request, form: Mapping[str, str]) -> bool:
        """Basic auth or form fields against the world's ``clients`` (none given: anyone)."""
        clients: Mapping[str, str] = self.section.get("clients", {})
        if not clients:
            return True
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return False
        else:
            cid, secret = form.get("client_id", ""), form.get("client_secret", "")
        return clients.get(cid) == secret


def seconds_text(value: float) -> str:
    """A number of seconds as a header carries it: ``2``, not ``2.0``; ``2.5`` stays."""
    return str(int(value)) if float(value).is_integer() else str(value)


async def read_form(request: Request) -> dict[str, str]:
    """A form-encoded body, first value of each field."""
    return {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}


class _FaultMiddleware:
    """Applies latency and switched-on faults to every API request; the token endpoint gets only
    its own faults (``token_rate_limit``, ``token_server_errors``)."""

    def __init__(self, app: Any, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        em = self.emulator
        path = scope.get("path", "")
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        em.requests[f"{scope['method']} {path}"] += 1
        em.log.append((scope["method"], path, headers))
        if em.is_token_path(path):
            if em.faults.token_latency_ms:
                await asyncio.sleep(em.faults.token_latency_ms / 1000)
            token_fault = em.faults.next_token_fault()
            if token_fault == "rate_limit":
                limited = em.with_retry_after(em.token_error(429, "rate_limited", "too many token requests"))
                await limited(scope, receive, send)
            elif token_fault == "server_error":
                status = em.faults.server_error_status
                await em.token_error(status, "server_error", "the token service is unavailable")(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        hold = em.holds.take(scope["method"], path)
        if hold is not None:
            receive, send = await _held(hold, receive, send)
        key = em.concurrency_key(path, headers) if em.concurrent_limit else None
        if key is not None:
            with em.lock:
                over = em.in_flight[key] >= em.concurrent_limit
                if over:
                    em.concurrency_refused += 1
                else:
                    em.in_flight[key] += 1
            if over:
                await em.concurrency_response()(scope, receive, send)
                return
        try:
            await self._serve(scope, receive, send)
        finally:
            if key is not None:
                with em.lock:
                    em.in_flight[key] -= 1
            if hold is not None:
                hold.done.set()

    async def _serve(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        em = self.emulator
        if em.faults.latency_ms:
            await asyncio.sleep(em.faults.latency_ms / 1000)
        fault = em.faults.next_fault()
        response: Response | None = None
        if fault == "rate_limit":
            response = em.rate_limit_response()
        elif fault == "server_error":
            response = em.error(em.faults.server_error_status, "server_error", "The service is temporarily unavailable")
        elif fault == "garbage":
            response = PlainTextResponse(
                "<html><body>Bad Gateway</body></html>", status_code=200, media_type="text/html"
            )
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _until(event: threading.Event) -> None:
    while not event.is_set():
        await asyncio.sleep(0.005)


async def _held(hold: Hold, receive: Any, send: Any) -> tuple[Any, Any]:
    """Park a request as ``hold`` says; the receive and send to serve it with afterwards."""
    body: list[dict[str, Any]] = []
    while True:  # the whole request first: it is served even if its client goes away meanwhile
        message = await receive()
        if message["type"] != "http.request":
            break
        body.append(message)
        if not message.get("more_body"):
            break
    replay = iter(body)

    async def replayed() -> dict[str, Any]:
        return next(replay, {"type": "http.disconnect"})

    if hold.phase == "before":
        hold.arrived.set()
        await _until(hold.released)
        return replayed, send

    async def send_later(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and not hold.arrived.is_set():
            hold.done.set()  # handled: its effect is in the world
            hold.arrived.set()
            await _until(hold.released)
        await send(message)

    return replayed, send_later
