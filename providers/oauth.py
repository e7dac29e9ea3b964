"""OAuth 2.0 for providers: the consent flow (state + PKCE) and the token lifecycle.

authlib builds and parses the protocol messages (``prepare_grant_uri``,
``prepare_token_request``, ``parse_authorization_code_response``, S256 challenges); the token
endpoint is called through ``providers.http`` like every other outbound request, so timeouts,
the User-Agent and tests' loopback emulators apply to it too.

Refresh is single-flight per connection: :meth:`TokenManager.access_token` takes the
credential store's lock, re-reads the freshest credentials (another thread or process may have
refreshed while we waited) and calls the token endpoint only if they are still stale. Rotated
refresh tokens are saved inside that lock, so they are never lost.

One refresh is one attempt chain: the thread holding the lock retries a transient failure (5xx,
a connection that could not be made, a 429 after its ``Retry-After``) with backoff, and the
threads that queued behind it while it tried get the same outcome instead of each starting a
chain of its own. A 429 from the token endpoint is :class:`RateLimited`, never "unreachable".
Every request sent to the token endpoint is counted in the run's :class:`CallStats`.
"""

from __future__ import annotations

import base64
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import (
    parse_authorization_code_response,
    prepare_grant_uri,
    prepare_token_request,
)
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from providers.credentials import Credentials, CredentialStore
from providers.errors import (
    AuthError,
    ClientRejected,
    ConnectFailed,
    CredentialsMissing,
    ProviderError,
    RateLimited,
    RefreshFailed,
    TimedOut,
    TokenExpired,
    Unavailable,
    UnexpectedResponse,
)
from providers.http import DEFAULT_TIMEOUT, CallStats, RetryPolicy, make_httpx_client, origin, parse_retry_after

logger = logging.getLogger(__name__)

# Refresh a little before the stated expiry so a request never leaves with a token that dies
# in flight (Xero's 30-minute tokens, QuickBooks' 60-minute ones).
REFRESH_MARGIN = timedelta(seconds=120)
# Error codes token endpoints use for a refresh token that will never work again.
DEAD_REFRESH_ERRORS = frozenset({"invalid_grant", "invalid_code", "BAD_REFRESH_TOKEN"})
# The token endpoint refusing the app itself (RFC 6749 section 5.2): its id or secret is wrong, or
# the app may not use this grant. Sync Doctor's configuration, not the customer's consent.
CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client"})


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OAuthApp:
    """One OAuth client registration and the endpoints it talks to."""

    system: str
    client_id: str
    client_secret: str = field(repr=False, default="")
    token_url: str = ""
    authorize_url: str = ""
    scopes: tuple[str, ...] = ()
    client_auth: Literal["basic", "post"] = "basic"
    pkce: bool = True
    scope_separator: str = " "  # RFC 6749 says space; Zoho joins its scopes with commas


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    url: str
    state: str
    code_verifier: str | None = field(repr=False)


def new_code_verifier() -> str:
    return str(generate_token(64))  # authlib is untyped


def start_consent(
    app: OAuthApp,
    redirect_uri: str,
    *,
    state: str | None = None,
    code_verifier: str | None = None,
    **extra: str,
) -> ConsentRequest:
    """Build the consent URL; keep ``state`` and ``code_verifier`` until the callback."""
    state = state or generate_token(32)
    verifier = (code_verifier or new_code_verifier()) if app.pkce else None
    params: dict[str, Any] = dict(extra)
    if verifier:
        params.update(code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256")
    url = prepare_grant_uri(
        app.authorize_url,
        client_id=app.client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope=app.scope_separator.join(app.scopes) or None,
        state=state,
        **params,
    )
    return ConsentRequest(url=url, state=state, code_verifier=verifier)


def code_from_redirect(redirect_url: str, expected_state: str) -> dict[str, str]:
    """Parse the redirect the provider sent the user back with (``code``, ``realmId``, ...)."""
    try:
        params = parse_authorization_code_response(redirect_url, state=expected_state)
    except Exception as e:  # authlib raises MismatchingStateException / MissingCodeException
        raise AuthError(f"the consent redirect is not valid: {e}", system="oauth") from e
    return {k: str(v) for k, v in params.items()}


TokenErrorHook = Callable[[int, Mapping[str, Any]], ProviderError | None]


class TokenEndpoint:
    """Calls one system's token endpoint and turns its answers into Credentials or errors.

    A refresh retries transient failures (see the module docstring) up to ``retry.attempts``
    times; an authorization-code exchange is tried once (a code is single-use: a retry after an
    ambiguous failure could only be refused).
    """

    def __init__(
        self,
        app: OAuthApp,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
        error_for: TokenErrorHook | None = None,
        extra_from: Callable[[Mapping[str, Any]], Mapping[str, str]] | None = None,
        stats: CallStats | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.app = app
        self._transport = transport
        self._clock = clock
        self._error_for = error_for
        # What a token response says beyond the tokens that must be kept with them (Zoho's
        # api_domain), as Credentials.extra entries.
        self._extra_from = extra_from
        self._stats = stats
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._sleep = sleep
        self._lock = threading.Lock()
        self.calls = 0  # requests sent to the token endpoint by this object

    def exchange_code(
        self, code: str, redirect_uri: str, code_verifier: str | None, *, token_url: str | None = None
    ) -> Credentials:
        """``token_url``: where this code must be exchanged when the consent redirect said so
        (Zoho's data-centre accounts server); the app's token URL otherwise."""
        extra = {"code_verifier": code_verifier} if code_verifier else {}
        body = prepare_token_request("authorization_code", code=code, redirect_uri=redirect_uri, **extra)
        return self._post(body, previous=None, url=token_url)

    def refresh(self, previous: Credentials) -> Credentials:
        """One attempt chain: transient failures are retried with backoff (Retry-After first)."""
        if not previous.refresh_token:
            raise RefreshFailed("no refresh token is stored for this connection", system=self.app.system)
        body = prepare_token_request("refresh_token", refresh_token=previous.refresh_token)
        attempt = 0
        while True:
            attempt += 1
            try:
                # A consent that named its own token endpoint (Zoho's data centre) refreshes there too.
                return self._post(body, previous=previous, url=previous.extra.get("token_url"))
            except (RateLimited, Unavailable) as e:
                wait = self._wait_before_retry(e, attempt)
                if wait is None:
                    raise
                logger.info("%s token endpoint: %s; trying again in %.1fs", self.app.system, e.message, wait)
                self._sleep(wait)

    def _wait_before_retry(self, error: RateLimited | Unavailable, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None: this failure is the answer."""
        if attempt > self._retry.attempts or isinstance(error, TimedOut):
            return None  # a slow endpoint would only keep every waiting thread waiting again
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return error.retry_after if error.retry_after <= self._retry.max_retry_after else None
        return self._retry.backoff * (2.0 ** (attempt - 1)) * random.uniform(0.5, 1.0)

    def _count(self, response: httpx.Response | None) -> None:
        with self._lock:
            self.calls += 1
        if self._stats is not None:
            self._stats.record(self.app.system, response, None)

    def _post(self, body: str, previous: Credentials | None, url: str | None = None) -> Credentials:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if self.app.client_auth == "basic":
            pair = f"{self.app.client_id}:{self.app.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            body = body + "&" + urlencode({"client_id": self.app.client_id, "client_secret": self.app.client_secret})
        system = self.app.system
        try:
            with (
                self._stats.in_flight(system) if self._stats is not None else nullcontext(),
                make_httpx_client(timeout=self._timeout, transport=self._transport) as client,
            ):
                response = client.post(url or self.app.token_url, content=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as e:
            if self._stats is not None:
                self._stats.record_unsent(system)
            raise ConnectFailed(
                f"could not reach the token endpoint {origin(url or self.app.token_url)}: {type(e).__name__}",
                system=system,
            ) from e
        except httpx.TimeoutException as e:
            self._count(None)
            timed_out = TimedOut(
                f"the token endpoint did not answer within {self._timeout.read:g} s"
                if self._timeout.read is not None
                else "the token endpoint did not answer in time",
                system=system,
                code="timeout",
                timeout_s=self._timeout.read,
            )
            if self._stats is not None:
                self._stats.mark_slow(timed_out)
            raise timed_out from e
        except httpx.TransportError as e:
            self._count(None)
            raise Unavailable(f"the connection to the token endpoint failed: {type(e).__name__}", system=system) from e
        self._count(response)
        if response.status_code == 429:
            raise RateLimited(
                "the token endpoint is rate limiting this app",
                system=system,
                code="rate_limited",
                status=429,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                limit="token",
            )
        try:
            payload = response.json()
        except ValueError as e:
            if response.status_code >= 500:
                raise Unavailable(
                    f"the token endpoint answered {response.status_code}", system=system, status=response.status_code
                ) from e
            raise UnexpectedResponse(
                f"the token endpoint answered {response.status_code} with a body that is not JSON",
                system=self.app.system,
                status=response.status_code,
            ) from e
        if not isinstance(payload, dict):
            raise UnexpectedResponse("the token endpoint answered a non-object", system=self.app.system)
        error = self._classify(response.status_code, payload)
        if error is not None:
            raise error
        return self._credentials(payload, previous)

    def _classify(self, status: int, payload: Mapping[str, Any]) -> ProviderError | None:
        if self._error_for is not None:
            custom = self._error_for(status, payload)
            if custom is not None:
                return custom
        code = payload.get("error") or payload.get("status")
        if status < 400 and not payload.get("error"):
            return None
        message = str(payload.get("error_description") or payload.get("message") or code or f"HTTP {status}")
        if code in DEAD_REFRESH_ERRORS:
            return RefreshFailed(message, system=self.app.system, code=str(code), status=status)
        if code in CLIENT_ERRORS:
            return ClientRejected(message, system=self.app.system, code=str(code), status=status)
        if status >= 500:
            return Unavailable(message, system=self.app.system, code=str(code) if code else None, status=status)
        return AuthError(message, system=self.app.system, code=str(code) if code else None, status=status)

    def _credentials(self, payload: Mapping[str, Any], previous: Credentials | None) -> Credentials:
        now = self._clock()
        access = payload.get("access_token")
        if not isinstance(access, str) or not access:
            raise UnexpectedResponse("the token endpoint answered without an access_token", system=self.app.system)
        refresh = payload.get("refresh_token")
        rotated = isinstance(refresh, str) and bool(refresh) and (previous is None or refresh != previous.refresh_token)
        expires_in = _seconds(payload.get("expires_in"))
        refresh_expires_in = _seconds(
            payload.get("x_refresh_token_expires_in") or payload.get("refresh_token_expires_in")
        )
        scope = payload.get("scope")
        scopes = tuple(str(scope).split()) if scope else (previous.scopes if previous else ())
        extra = {**(previous.extra if previous else {}), **(self._extra_from(payload) if self._extra_from else {})}
        return Credentials(
            kind="oauth2",
            access_token=access,
            refresh_token=refresh
            if isinstance(refresh, str) and refresh
            else (previous.refresh_token if previous else None),
            expires_at=now + timedelta(seconds=expires_in) if expires_in is not None else None,
            refresh_expires_at=(
                now + timedelta(seconds=refresh_expires_in)
                if refresh_expires_in is not None
                else (previous.refresh_expires_at if previous else None)
            ),
            refresh_issued_at=now if rotated or previous is None else previous.refresh_issued_at,
            scopes=scopes,
            tenant_id=previous.tenant_id if previous else None,
            extra=extra,
        )


def _seconds(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class TokenManager:
    """Hands out a valid access token for one connection, refreshing exactly once when stale."""

    def __init__(
        self,
        store: CredentialStore,
        endpoint: TokenEndpoint | None,
        *,
        clock: Callable[[], datetime] = utcnow,
        margin: timedelta = REFRESH_MARGIN,
    ) -> None:
        self.store = store
        self.endpoint = endpoint
        self._clock = clock
        self._margin = margin
        # (refresh token, its failure): threads that queued behind a failed refresh must not
        # spend another token-endpoint call on a refresh token the system already refused.
        self._dead: tuple[str | None, RefreshFailed] | None = None
        # (refresh token, when the chain gave up, its error): a transient failure is shared by
        # every thread that was already waiting when it happened; a later caller tries anew.
        self._failed: tuple[str | None, float, ProviderError] | None = None

    @property
    def system(self) -> str:
        return self.endpoint.app.system if self.endpoint else "unknown"

    def credentials(self) -> Credentials:
        creds = self.store.load()
        if creds is None:
            raise CredentialsMissing(
                f"no credentials are stored for {self.store.key}; run `sync-doctor connect`",
                system=self.system,
            )
        return creds

    def api_key(self) -> str:
        creds = self.credentials()
        if not creds.api_key:
            raise CredentialsMissing(f"no API key is stored for {self.store.key}", system=self.system)
        return creds.api_key

    def access_token(self) -> str:
        creds = self.credentials()
        if creds.kind == "api_key":
            return self.api_key()
        if creds.access_token and not self._stale(creds):
            return creds.access_token
        return self._refresh(stale_token=creds.access_token)

    def force_refresh(self) -> None:
        """Called after a 401 on a token we believed valid."""
        creds = self.credentials()
        if creds.kind == "oauth2":
            self._refresh(stale_token=creds.access_token)

    def _stale(self, creds: Credentials) -> bool:
        return creds.expires_at is not None and self._clock() >= creds.expires_at - self._margin

    def _refresh(self, stale_token: str | None) -> str:
        if self.endpoint is None:
            raise RefreshFailed("this connection has no token endpoint configured", system=self.system)
        failure: RefreshFailed | None = None
        asked = time.monotonic()
        with self.store.locked() as fresh:
            if fresh is None:
                raise CredentialsMissing(f"no credentials are stored for {self.store.key}", system=self.system)
            # Someone else refreshed while we waited for the lock: use theirs.
            if fresh.access_token and fresh.access_token != stale_token and not self._stale(fresh):
                return fresh.access_token
            if self._dead is not None and self._dead[0] == fresh.refresh_token:
                raise self._dead[1]
            if self._failed is not None and self._failed[0] == fresh.refresh_token and self._failed[1] >= asked:
                raise self._failed[2]  # the attempt chain we queued behind has just failed
            if not fresh.refresh_token:
                # Nothing to refresh with: the token has simply expired (one finding, token.expired,
                # not a refresh failure on top of it).
                raise TokenExpired(
                    "the access token has expired and no refresh token is stored: re-authorise",
                    system=self.system,
                )
            try:
                renewed = self.endpoint.refresh(fresh)
            except RefreshFailed as e:
                failure = e
                self._dead = (fresh.refresh_token, e)
            except ProviderError as e:
                self._failed = (fresh.refresh_token, time.monotonic(), e)
                raise
            else:
                self._failed = None
                renewed = renewed.with_tokens(tenant_id=fresh.tenant_id)
                self.store.save(renewed)
                logger.info("refreshed access token for %s", self.store.key)
                assert renewed.access_token is not None
                return renewed.access_token
        # Marked outside the lock: the locked transaction ends before we record the failure,
        # so the state change is committed rather than rolled back with the raising block.
        self.store.mark_requires_reauth(f"{failure.code or 'refresh failed'}: {failure.message}")
        raise failure
