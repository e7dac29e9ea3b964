"""What every emulator shares: a clock, a token book, faults, a request log.

An emulator is a Starlette (ASGI) app serving one system's real paths in its real wire format
from an in-memory world. Subclasses define ``routes()`` and ``error(status, code, message)``
(their error envelope); this base applies faults and latency to every API route and answers
the OAuth token endpoint with expiry, refresh-token rotation and revocation.

World section of a system (each emulator documents its own data keys on top of these)::

    grants:                         # OAuth token sets the emulator knows
      - access_token: at-acme
        refresh_token: rt-acme
        expires_in: 1800            # seconds from start; negative = already expired
        scopes: [accounting.transactions, ...]
        principal: <tenant id>      # what the grant reaches (emulator-specific meaning)
        revoked: false              # access + refresh token revoked
    access_token_ttl: 1800          # lifetime of tokens minted by refresh
    rotate_refresh_tokens: true
    refresh_grace_seconds: 0        # how long a rotated-out refresh token still works
    faults: {latency_ms: 0, ...}    # see faults.py
"""

from __future__ import annotations

import abc
import asyncio
import base64
import secrets
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.faults import Faults


class SandboxClock:
    """Wall time plus an offset a test can advance (emulators run in other threads, where
    freezegun's patching is not a reliable way to move their time)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Grant:
    access_token: str
    refresh_token: str | None
    expires_at: float
    scopes: tuple[str, ...]
    principal: Any
    revoked: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class TokenBook:
    """Access and refresh tokens of one emulator; thread-safe."""

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock) -> None:
        self.clock = clock
        self.ttl = int(section.get("access_token_ttl", 1800))
        self.rotate = bool(section.get("rotate_refresh_tokens", True))
        self.grace = float(section.get("refresh_grace_seconds", 0))
        self._lock = threading.Lock()
        self._by_access: dict[str, Grant] = {}
        self._by_refresh: dict[str, Grant] = {}
        self._retired: dict[str, tuple[Grant, float]] = {}  # old refresh token -> (grant, retired at)
        self.refresh_calls = 0
        for raw in section.get("grants", []):
            grant = Grant(
                access_token=str(raw["access_token"]),
                refresh_token=str(raw["refresh_token"]) if raw.get("refresh_token") else None,
                expires_at=clock.now() + float(raw.get("expires_in", self.ttl)),
                scopes=tuple(raw.get("scopes", ())),
                principal=raw.get("principal"),
                revoked=bool(raw.get("revoked", False)),
                extra={
                    k: v
                    for k, v in raw.items()
                    if k not in {"access_token", "refresh_token", "expires_in", "scopes", "principal", "revoked"}
                },
            )
            self.add(grant)

    def add(self, grant: Grant) -> None:
        with self._lock:
            self._by_access[grant.access_token] = grant
            if grant.refresh_token:
                self._by_refresh[grant.refresh_token] = grant

    def check_access(self, token: str | None) -> tuple[Grant | None, str | None]:
        """(grant, None) when valid, else (grant or None, "expired" | "revoked" | "unknown")."""
        if not token:
            return None, "missing"
        with self._lock:
            grant = self._by_access.get(token)
        if grant is None:
            return None, "unknown"
        if grant.revoked:
            return grant, "revoked"
        if self.clock.now() >= grant.expires_at:
            return grant, "expired"
        return grant, None

    def refresh(self, refresh_token: str) -> Grant | None:
        """Mint a new access token (and, when rotating, a new refresh token); None if dead."""
        with self._lock:
            self.refresh_calls += 1
            grant = self._by_refresh.get(refresh_token)
            if grant is None and refresh_token in self._retired:
                old, retired_at = self._retired[refresh_token]
                if self.clock.now() - retired_at <= self.grace:
                    grant = old
            if grant is None or grant.revoked:
                return None
            new_refresh = ("rt-" + secrets.token_urlsafe(16)) if self.rotate else refresh_token
            renewed = Grant(
                access_token="at-" + secrets.token_urlsafe(16),
                refresh_token=new_refresh,
                expires_at=self.clock.now() + self.ttl,
                scopes=grant.scopes,
                principal=grant.principal,
                extra=dict(grant.extra),
            )
            if self.rotate and grant.refresh_token:
                self._by_refresh.pop(grant.refresh_token, None)
                self._retired[grant.refresh_token] = (renewed, self.clock.now())
            self._by_access[renewed.access_token] = renewed
            self._by_refresh[new_refresh] = renewed
            # the previous access token keeps working until it expires, as on the real systems
            return renewed

    def revoke_all(self) -> None:
        with self._lock:
            for grant in self._by_access.values():
                grant.revoked = True


Handler = Callable[[Request], Awaitable[Response]]


class Emulator(abc.ABC):
    """Base of every emulator. Subclasses: ``system``, ``routes()``, ``error()``."""

    system: ClassVar[str]
    token_path: ClassVar[str | None] = None  # path of the OAuth token endpoint, if any

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        self.section = section
        self.clock = clock or SandboxClock()
        self.faults = Faults.from_mapping(section.get("faults"))
        self.tokens = TokenBook(section, self.clock)
        self.lock = threading.RLock()  # guards the in-memory world during writes
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
        response = self.error(429, "rate_limited", "Rate limit exceeded")
        response.headers["Retry-After"] = _fmt_seconds(self.faults.retry_after)
        return response

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
                routes.append(Route(self.token_path, self._token_endpoint, methods=["POST"]))
            self._app = Starlette(routes=routes)
            self._app.add_middleware(_FaultMiddleware, emulator=self)
        return self._app

    def bearer(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return None

    async def _token_endpoint(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if not self._client_authenticated(request, form):
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
        """Authorization-code exchange: world ``codes: {code: grant-like mapping}``."""
        codes = self.section.get("codes", {})
        raw = codes.get(form.get("code", ""))
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

    def _client_authenticated(self, request: Request, form: Mapping[str, str]) -> bool:
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


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class _FaultMiddleware:
    """Applies latency and switched-on faults to every request except the token endpoint."""

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
        if path == em.token_path:
            await self.app(scope, receive, send)
            return
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
