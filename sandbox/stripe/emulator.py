"""The Stripe emulator: its routes, API-key authentication (modes, revoked and expired keys,
restricted keys' permissions), idempotent POSTs and Stripe's error envelope."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.base import Emulator, Handler
from sandbox.clock import SandboxClock
from sandbox.idempotency import IdempotencyCache
from sandbox.stripe.params import DEFAULT_PERMISSIONS, parse_form
from sandbox.stripe.reads import Reads
from sandbox.stripe.render import Renderer
from sandbox.stripe.store import AccountData, Ctx, Obj, Received
from sandbox.stripe.wire import (
    StripeFailure,
    error_response,
    failure_body,
    json_response,
    redact,
    request_id,
)
from sandbox.stripe.world import load_account, load_keys
from sandbox.stripe.writes import Writes

logger = logging.getLogger(__name__)

# (request, caller, parsed query or form) -> payload
Action = Callable[[Request, Ctx, Mapping[str, Any]], Obj]
MAX_IDEMPOTENCY_KEY = 255


class StripeEmulator(Emulator):
    """Stripe over loopback. World: see the package docstring."""

    system = "stripe"
    token_path = None
    load_errors = (StripeFailure,)

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        super().__init__(section, clock)
        self.renderer = Renderer(
            str(section.get("invoice_line_shape", "2023-08-16")), int(section.get("invoice_lines_inline", 10))
        )
        self.permissions = {**DEFAULT_PERMISSIONS, **dict(section.get("endpoint_permissions") or {})}
        self.keys = load_keys(section)
        now = int(self.clock.now())
        self.accounts: dict[str, AccountData] = {
            str(account_id): load_account(str(account_id), body or {}, now)
            for account_id, body in (section.get("accounts") or {}).items()
        }
        self.idempotency = IdempotencyCache(self.clock)
        self._idem_lock = threading.Lock()  # one idempotent request at a time: check, do, save
        self.received: list[Received] = []
        self.reads = Reads(self.renderer)
        self.writes = Writes(self.renderer, self.clock)
        self.search_lag = float(section.get("search_lag_seconds", 0))  # search is eventually consistent
        self.lock_timeouts = int(section.get("lock_timeouts", 0))  # the next N POSTs answer 409 lock_timeout
        should = section.get("should_retry_server_errors")  # Stripe-Should-Retry on 5xx answers
        self.should_retry_server_errors: bool | None = None if should is None else bool(should)

    # -- hooks of the base ------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        reads, writes = self.reads, self.writes
        return [
            Route("/v1/account", self._wrap(GET=reads.account), methods=["GET"]),
            Route("/v1/customers", self._wrap(GET=reads.customers, POST=writes.customer), methods=["GET", "POST"]),
            Route("/v1/products", self._wrap(GET=reads.products, POST=writes.product), methods=["GET", "POST"]),
            Route("/v1/prices", self._wrap(GET=reads.prices, POST=writes.price), methods=["GET", "POST"]),
            Route("/v1/invoices", self._wrap(GET=reads.invoices, POST=writes.invoice), methods=["GET", "POST"]),
            Route("/v1/invoices/search", self._wrap(GET=self._search_invoices), methods=["GET"]),
            Route("/v1/invoices/{invoice}", self._wrap(GET=reads.invoice), methods=["GET"]),
            Route("/v1/invoices/{invoice}/lines", self._wrap(GET=reads.invoice_lines), methods=["GET"]),
            Route(
                "/v1/invoiceitems", self._wrap(GET=reads.invoiceitems, POST=writes.invoiceitem), methods=["GET", "POST"]
            ),
            Route("/v1/tax_rates", self._wrap(GET=reads.tax_rates), methods=["GET"]),
            Route("/{rest:path}", self._unrecognized, methods=["GET", "POST", "DELETE", "PUT", "PATCH"]),
        ]

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        response = error_response(status, code, message, type_=extra.get("type"), param=extra.get("param"))
        if status >= 500 and self.should_retry_server_errors is not None:
            response.headers["Stripe-Should-Retry"] = "true" if self.should_retry_server_errors else "false"
        return response

    def _search_invoices(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        return self.reads.search_invoices(request, ctx, params, now=self.clock.now(), lag=self.search_lag)

    def _lock_timeout(self) -> Response | None:
        """A 409 ``lock_timeout`` that Stripe marks retryable, while ``lock_timeouts`` lasts."""
        with self._idem_lock:
            if self.lock_timeouts <= 0:
                return None
            self.lock_timeouts -= 1
        response = self.error(
            409,
            "lock_timeout",
            "This object cannot be accessed right now because another API request or Stripe process is currently "
            "accessing it. If you see this error intermittently, retry the request.",
        )
        response.headers["Stripe-Should-Retry"] = "true"
        return response

    def rate_limit_response(self) -> Response:
        return self.with_retry_after(
            self.error(
                429,
                "rate_limit",
                "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
            )
        )

    # -- request plumbing -------------------------------------------------------------------

    async def _unrecognized(self, request: Request) -> Response:
        return self.error(
            404,
            "",
            f"Unrecognized request URL ({request.method}: {request.url.path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
        )

    def _wrap(self, **actions: Action) -> Handler:
        """One endpoint: record the request, authenticate, then the action for its method (a
        POST through the idempotency cache); a ``StripeFailure`` becomes the error envelope."""

        async def endpoint(request: Request) -> Response:
            body = (await request.body()).decode() if request.method == "POST" else ""
            form = parse_qsl(body, keep_blank_values=True)
            query = parse_qsl(request.url.query, keep_blank_values=True)
            self.received.append(Received(request.method, request.url.path, query, form, dict(request.headers)))
            action = actions["POST"] if request.method == "POST" else actions["GET"]  # HEAD reads too
            try:
                ctx = self._authenticate(request)
                if request.method == "POST":
                    locked = self._lock_timeout()
                    if locked is not None:
                        return locked
                    return self._idempotent(request, ctx, action, form)
                return json_response(action(request, ctx, parse_form(query)))
            except StripeFailure as f:
                return self.error(f.status, f.code or "", f.message, type=f.type, param=f.param)

        return endpoint

    def _authenticate(self, request: Request) -> Ctx:
        token = self.bearer(request)
        if token is None:
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("basic "):  # Stripe also takes the key as the Basic username
                token = base64.b64decode(auth[6:]).decode(errors="replace").split(":", 1)[0]
        if not token:
            raise StripeFailure(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        key = self.keys.get(token)
        if key is None or key.revoked:
            raise StripeFailure(401, f"Invalid API Key provided: {redact(token)}")
        if key.expired:
            raise StripeFailure(401, f"Expired API Key provided: {redact(token)}", code="api_key_expired")
        account = self.accounts.get(key.account)
        if account is None:
            raise StripeFailure(401, f"Invalid API Key provided: {redact(token)}")
        route = request.url.path
        if route.startswith("/v1/invoices/"):
            route = "/v1/invoices"
        needed = self.permissions.get(f"{request.method} {route}")
        if key.permissions is not None and needed and needed not in key.permissions:
            raise StripeFailure(
                403,
                f"The provided key '{redact(token)}' does not have the required permissions for this endpoint on "
                f"account '{account.id}'. Having the '{needed}' permission would allow this request to continue.",
            )
        return Ctx(key=key, account=account)

    def _idempotent(self, request: Request, ctx: Ctx, action: Action, form: list[tuple[str, str]]) -> Response:
        """Stripe saves the first answer under the key and replays it for the same request;
        the same key with other parameters is an idempotency_error (PROVIDERS.md [SI])."""
        idem = request.headers.get("idempotency-key")
        if idem is not None and len(idem) > MAX_IDEMPOTENCY_KEY:
            raise StripeFailure(400, "Idempotency-Key must be at most 255 characters long.", param="Idempotency-Key")
        fingerprint = json.dumps([request.url.path, sorted(form)])
        slot = (ctx.account.id, ctx.livemode, idem) if idem else None
        with self._idem_lock:
            saved = self.idempotency.get(slot) if slot is not None else None
            if saved is not None:
                if saved.fingerprint != fingerprint:
                    raise StripeFailure(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were first used "
                        f"with. Try using a key other than '{idem}' if you meant to execute a different request.",
                        type_="idempotency_error",
                    )
                response = saved.response()
                response.headers["Idempotent-Replayed"] = "true"
                response.headers["Idempotency-Key"] = str(idem)
                return response
            with self.lock:
                try:
                    status, payload = 200, action(request, ctx, parse_form(form))
                except StripeFailure as f:
                    # Stripe saves the result once execution began, errors included (not 5xx faults
                    # injected before reaching the handler, which never began executing).
                    status, payload = f.status, failure_body(f)
            body = json.dumps(payload).encode()
            if slot is not None:
                self.idempotency.put(slot, fingerprint, status, body)
        response = Response(body, status_code=status, media_type="application/json")
        response.headers["Request-Id"] = request_id()
        if idem:
            response.headers["Idempotency-Key"] = idem
        return response
