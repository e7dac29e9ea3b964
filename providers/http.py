"""The one door for outbound HTTP to external systems.

Every provider talks through an :class:`ApiClient`: explicit timeouts, a User-Agent, retries
with jittered backoff for requests that are safe to repeat, 429s honoured with Retry-After,
each system's limits enforced client-side (per tenant and per app, so a sweep of many
integrations never turns into a 429 storm), and every call counted per system for the run
report. httpx exceptions are translated into :mod:`providers.errors` here and nowhere else.

What is counted is what went over the wire: a request that could not even connect is not a call
(it is kept apart, ``CallStats.unsent``). A request that got no answer within the timeout is a
call and is not repeated (it would wait as long again). In a check run (``CallStats(run=True)``,
what the runner creates) it also marks the system slow for the rest of the run: later requests
to it fail at once with the same ``TimedOut``, so a system that answers in 35 s, or never, costs
a run one timeout rather than one per request. Elsewhere (an action retrying a push, ``connect``)
the next request tries again.

A limit is a :class:`LimitKey`: a key naming who shares it (``("xero", "tenant", id)``,
``("hubspot", "search", portal)``), a concurrency cap and/or a number of call starts per
rolling window of any length (Xero's minute, HubSpot's ten seconds, HubSpot search's second).
A client holds the keys every request pays; a request may name more (HubSpot's search limit).
Retries pay them again: the API counts a retry like any other call.
"""

from __future__ import annotations

import itertools
import logging
import random
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from functools import cache
from typing import Any
from urllib.request import getproxies

import httpx

from providers.errors import (
    ConnectFailed,
    ProviderError,
    RateLimited,
    ScopeMissing,
    TenantError,
    TimedOut,
    Unavailable,
    UnexpectedResponse,
)
from providers.records import RateStatus

logger = logging.getLogger(__name__)

USER_AGENT = "SyncDoctor/0.1 (+https://github.com/sync-doctor)"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Limits:
    """A system's documented limits; ``None`` means no client-side limit of that kind."""

    concurrent: int | None = None  # requests in flight per tenant
    per_minute: int | None = None  # requests per rolling minute per tenant
    app_per_minute: int | None = None  # requests per rolling minute across all tenants of the app

    def merged(self, overrides: Mapping[str, int | None]) -> Limits:
        known = {k: v for k, v in overrides.items() if k in ("concurrent", "per_minute", "app_per_minute")}
        return replace(self, **known)


@dataclass(frozen=True, slots=True)
class LimitKey:
    """One client-side limit, shared process-wide by every request naming the same ``key``."""

    key: tuple[str, ...]
    concurrent: int | None = None  # requests in flight
    per_window: int | None = None  # call starts per rolling window
    window: float = 60.0  # the window's length in seconds


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3  # retries after the first try
    backoff: float = 0.5  # seconds, doubled each retry, with jitter
    max_retry_after: float = 60.0  # a longer Retry-After is surfaced, not slept through


def timeout_for(seconds: float | None) -> httpx.Timeout:
    """The HTTP timeout of a configured number of seconds (``None``: the default, 30 s)."""
    if seconds is None:
        return DEFAULT_TIMEOUT
    return httpx.Timeout(seconds, connect=min(seconds, 10.0))


# Whoever wants to hear of every call that went over the wire (the service layer's metrics):
# ``listener(system, status, throttled)``, status None when no answer came. Called on the
# requesting thread; a listener must be quick and must not raise.
CallListener = Callable[[str, int | None, bool], None]
_call_listeners: list[CallListener] = []
_call_listeners_lock = threading.Lock()


def add_call_listener(listener: CallListener) -> Callable[[], None]:
    """Hear of every call; returns a function that stops that."""
    with _call_listeners_lock:
        _call_listeners.append(listener)

    def remove() -> None:
        with _call_listeners_lock:
            if listener in _call_listeners:
                _call_listeners.remove(listener)

    return remove


def _announce_call(system: str, status: int | None, throttled: bool) -> None:
    with _call_listeners_lock:
        listeners = tuple(_call_listeners)
    for listener in listeners:
        try:
            listener(system, status, throttled)
        except Exception:  # metrics must never fail a request
            logger.exception("a call listener failed")


class CallStats:
    """What one run sent: calls (requests that went over the wire) and 429s per system, the
    latest rate headroom, requests in flight now, and which systems timed out."""

    def __init__(self, *, run: bool = False) -> None:
        self._lock = threading.Lock()
        self._run = run  # a check run: a system that timed out is not asked again
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.unsent: Counter[str] = Counter()  # attempts that never connected: not calls
        self._in_flight: Counter[str] = Counter()
        self._slow: dict[str, TimedOut] = {}
        self._rate: dict[str, RateStatus] = {}

    def record_unsent(self, system: str) -> None:
        with self._lock:
            self.unsent[system] += 1

    @contextmanager
    def in_flight(self, system: str) -> Iterator[None]:
        """Marks a request to ``system`` as on the wire while the block runs."""
        with self._lock:
            self._in_flight[system] += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[system] -= 1

    def waiting_on(self) -> list[str]:
        """Systems with a request on the wire right now."""
        with self._lock:
            return sorted(system for system, n in self._in_flight.items() if n > 0)

    def mark_slow(self, error: TimedOut) -> None:
        """``error.system`` did not answer in time: the rest of a run does not wait on it again."""
        if not self._run:
            return
        with self._lock:
            self._slow.setdefault(error.system, error)

    def slow(self, system: str) -> TimedOut | None:
        with self._lock:
            return self._slow.get(system)

    def record(
        self, system: str, response: httpx.Response | None, rate: RateStatus | None, *, throttled: bool = False
    ) -> None:
        """``throttled``: the answer was a rate limit whatever its status (MYOB says so with 403)."""
        throttled = throttled or (response is not None and response.status_code == 429)
        _announce_call(system, response.status_code if response is not None else None, throttled)
        with self._lock:
            self.calls[system] += 1
            if throttled:
                self.throttled[system] += 1
            if rate is not None:
                previous = self._rate.get(system, RateStatus())
                self._rate[system] = RateStatus(
                    day_remaining=rate.day_remaining if rate.day_remaining is not None else previous.day_remaining,
                    day_limit=rate.day_limit if rate.day_limit is not None else previous.day_limit,
                    minute_remaining=(
                        rate.minute_remaining if rate.minute_remaining is not None else previous.minute_remaining
                    ),
                    throttled=self.throttled[system],
                    last_problem=rate.last_problem or previous.last_problem,
                )

    def rate_status(self, system: str) -> RateStatus:
        with self._lock:
            status = self._rate.get(system, RateStatus())
            return replace(status, throttled=self.throttled[system])

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)


class RateLimiter:
    """Concurrency cap plus a rolling window of calls, shared by every caller of one key.

    A call takes its place in the window when it starts, and keeps it until a full window after
    its answer came back: the system counted it somewhere in between (on arrival, after its own
    queueing), so a window measured from the start alone can free a place a moment before the
    system's does, and the next call gets a 429 (seen with Xero's 60 a minute under load).
    """

    def __init__(
        self,
        concurrent: int | None,
        per_window: int | None,
        *,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._semaphore = threading.BoundedSemaphore(concurrent) if concurrent else None
        self._per_window = per_window
        self._window = window
        # per call in the window, oldest first: [the time it holds its place from]
        self._sent: deque[list[float]] = deque()
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    @contextmanager
    def slot(self) -> Iterator[None]:
        if self._semaphore is not None:
            self._semaphore.acquire()
        try:
            place = self._wait_for_window()
            try:
                yield
            finally:
                if place is not None:
                    with self._lock:
                        place[0] = self._clock()  # answered now: counted by now at the latest
        finally:
            if self._semaphore is not None:
                self._semaphore.release()

    def _wait_for_window(self) -> list[float] | None:
        if not self._per_window:
            return None
        while True:
            with self._lock:
                now = self._clock()
                # Calls leave in about the order they came; the full scan is only for a full window
                # (a per-app window holds thousands of calls: scanning it per call cost a sweep 5%).
                while self._sent and now - self._sent[0][0] >= self._window:
                    self._sent.popleft()
                if len(self._sent) >= self._per_window:
                    self._sent = deque(place for place in self._sent if now - place[0] < self._window)
                if len(self._sent) < self._per_window:
                    place = [now]
                    self._sent.append(place)
                    return place
                wait = self._window - (now - min(place[0] for place in self._sent))
            # A pause of a second-long window is routine pacing; a long one is worth a line.
            logger.log(logging.INFO if wait >= 1.0 else logging.DEBUG, "client-side rate limit; waiting %.2fs", wait)
            self._sleep(max(wait, 0.001))


_limiters: dict[tuple[str, ...], RateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(limit: LimitKey) -> RateLimiter:
    """The process-wide limiter of ``limit.key``; the first caller's figures set it up."""
    with _limiters_lock:
        limiter = _limiters.get(limit.key)
        if limiter is None:
            limiter = RateLimiter(limit.concurrent, limit.per_window, window=limit.window)
            _limiters[limit.key] = limiter
        return limiter


def reset_limiters() -> None:
    """Forget every shared limiter (tests and the sandbox start from a clean slate)."""
    with _limiters_lock:
        _limiters.clear()


@cache
def shared_ssl_context() -> ssl.SSLContext:
    """The one TLS context every client verifies with: httpx's own default (certifi's bundle, or
    SSL_CERT_FILE / SSL_CERT_DIR as set when it is first needed), built once per process.

    Building it loads the whole CA bundle, ~30 ms of CPU, and the sweep makes a client per
    provider per run: that was a quarter of a cheap run's CPU. One context shared by clients is
    what httpx recommends; each client already shares its own across all its connections."""
    return httpx.create_ssl_context()


# The process's connections are kept in a few pools, each thread always using the same one.
# One pool for every thread was a queue: httpcore serialises a pool's bookkeeping (picking a
# connection looks at each one) behind one lock, and in a profile of a 16-worker sweep the
# requests' threads spent twice as long waiting for that lock as for the network.
POOL_SHARDS = 8
_thread_pool = threading.local()
_next_shard = itertools.count()


@cache
def _connection_pool(shard: int) -> httpx.HTTPTransport:
    # No cap on connections: the limiters above decide how many requests are in flight, and a
    # capped pool would turn a busy sweep's requests into PoolTimeouts. Idle ones close after 5 s.
    return httpx.HTTPTransport(
        verify=shared_ssl_context(),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=32, keepalive_expiry=5.0),
    )


def _pool_of_this_thread() -> httpx.HTTPTransport:
    shard = getattr(_thread_pool, "shard", None)
    if shard is None:
        shard = _thread_pool.shard = next(_next_shard) % POOL_SHARDS
    return _connection_pool(shard)


class _SharedPool(httpx.BaseTransport):
    """The process's connection pools lent to one client; closing the client leaves them open."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return _pool_of_this_thread().handle_request(request)

    def close(self) -> None:
        pass  # the pool outlives every client that borrows it


@cache
def _proxies_in_environment() -> bool:
    return any(scheme in getproxies() for scheme in ("http", "https", "all"))


def make_httpx_client(
    base_url: str = "",
    *,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Client:
    """Every httpx client in the project comes from here: timeout, User-Agent, base URL.

    A provider's client lives for one run, but its connections need not: clients share the
    process's connection pool, so a sweep reuses kept-alive connections to each system instead
    of opening (and handshaking) two per run, and a client no longer reads the environment for
    proxies each time it is made (together about a tenth of a sweep's CPU, measured). Each client keeps its
    own cookies and headers. With a proxy set in the environment, each client makes its own
    pool as httpx does by default, so the proxy is honoured."""
    all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    if transport is None and not _proxies_in_environment():
        transport = _SharedPool()
    return httpx.Client(
        base_url=base_url, timeout=timeout, transport=transport, headers=all_headers, verify=shared_ssl_context()
    )


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None  # an HTTP-date: rare from these APIs; fall back to our own backoff


class ApiClient:
    """A system's HTTP session: auth headers, limits, retries, error translation, counting."""

    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        auth_headers: Callable[[], Mapping[str, str]],
        error_for: Callable[[httpx.Response], ProviderError],
        stats: CallStats,
        limiter_keys: Sequence[LimitKey] = (),
        rate_reader: Callable[[httpx.Response], RateStatus | None] | None = None,
        on_unauthorized: Callable[[], None] | None = None,
        retry: RetryPolicy = RetryPolicy(),
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.system = system
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._client = make_httpx_client(base_url, timeout=self._timeout, transport=transport)
        self._auth_headers = auth_headers
        self._error_for = error_for
        self._stats = stats
        self._limiters = [shared_limiter(limit) for limit in limiter_keys]
        self._rate_reader = rate_reader
        self._on_unauthorized = on_unauthorized
        self._retry = retry
        self._sleep = sleep

    def close(self) -> None:
        self._client.close()

    def _target(self, url: str) -> str:
        """The host a request went to (an absolute URL names its own; a path, the base URL's)."""
        return origin(self._client.base_url.join(url))

    def get_json(self, url: str, **kw: Any) -> Any:
        return self.json(self.request("GET", url, **kw))

    def json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as e:
            raise not_json(response, self.system) from e

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        retry_unsafe: bool = False,
        limits: Sequence[LimitKey] = (),
    ) -> httpx.Response:
        """Send one logical request; ``retry_unsafe`` marks a write carrying an idempotency key
        (or a POST that only reads); ``limits`` are paid on top of the client's own."""
        safe = method.upper() in SAFE_METHODS or retry_unsafe
        limiters = [*self._limiters, *(shared_limiter(limit) for limit in limits)]
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            error = self._send_once(limiters, method, url, params, json, data, content, headers)
            if isinstance(error, httpx.Response):
                return error
            if error.status == 401 and self._on_unauthorized is not None and not refreshed and _refreshable(error):
                # An access token can die before its stated expiry (revoked, rotated elsewhere):
                # refresh once and try again; a second 401 is the real answer. A 401 that names
                # a missing scope or an organisation the grant lost is not cured by a new token.
                refreshed = True
                self._on_unauthorized()
                continue
            if attempt > self._retry.attempts or error.retry is False or isinstance(error, TimedOut):
                raise error
            if isinstance(error, RateLimited):
                wait = error.retry_after if error.retry_after is not None else self._backoff(attempt)
                if wait > self._retry.max_retry_after:
                    raise error
                self._sleep(wait + random.uniform(0, 0.1))
                continue
            if error.retry is True or isinstance(error, ConnectFailed) or (isinstance(error, Unavailable) and safe):
                self._sleep(self._backoff(attempt))
                continue
            raise error

    def _backoff(self, attempt: int) -> float:
        base = self._retry.backoff * (2.0 ** (attempt - 1))
        return base * random.uniform(0.5, 1.0)

    def _send_once(
        self,
        limiters: Sequence[RateLimiter],
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Mapping[str, Any] | None,
        content: bytes | str | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response | ProviderError:
        # The access token first, outside the limits: every thread needing a refresh queues on
        # the same refresh at once, instead of reaching it one concurrency slot at a time after
        # the previous attempt chain has already failed.
        all_headers = {**self._auth_headers(), **(headers or {})}
        with ExitStack() as stack:
            for limiter in limiters:
                stack.enter_context(limiter.slot())
            earlier = self._stats.slow(self.system)
            if earlier is not None:
                return earlier  # it already kept this run waiting once
            try:
                with self._stats.in_flight(self.system):
                    response = self._client.request(
                        method, url, params=params, json=json, data=data, content=content, headers=all_headers
                    )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as e:
                self._stats.record_unsent(self.system)
                return ConnectFailed(f"could not reach {self._target(url)}: {type(e).__name__}", system=self.system)
            except httpx.TimeoutException:
                self._stats.record(self.system, None, None)
                seconds = self._timeout.read
                timed_out = TimedOut(
                    f"no answer to {method} {_path(url)} within {_seconds(seconds)}",
                    system=self.system,
                    code="timeout",
                    timeout_s=seconds,
                )
                self._stats.mark_slow(timed_out)
                return timed_out
            except httpx.TransportError as e:
                self._stats.record(self.system, None, None)
                return Unavailable(
                    f"the connection to {self._target(url)} failed: {type(e).__name__}",
                    system=self.system,
                )
        rate = self._rate_reader(response) if self._rate_reader else None
        if response.status_code < 400:
            self._stats.record(self.system, response, rate)
            return response
        error = self._error_for(response)
        self._stats.record(self.system, response, rate, throttled=isinstance(error, RateLimited))
        if response.status_code == 429 and not isinstance(error, RateLimited):
            error = RateLimited(
                error.message,
                system=self.system,
                code=error.code,
                status=429,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if response.status_code >= 500 and not isinstance(error, Unavailable):
            error = Unavailable(error.message, system=self.system, code=error.code, status=response.status_code)
        return error


def _path(url: str) -> str:
    return url.split("?", 1)[0]


def origin(url: httpx.URL | str) -> str:
    """Scheme, host and port of ``url``: the host named when it cannot be reached (the request
    may have gone to another host than the API's, such as Xero's identity service)."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def _seconds(value: float | None) -> str:
    return f"{value:g} s" if value is not None else "the timeout"


def _refreshable(error: ProviderError) -> bool:
    """A 401 a new access token may cure (not a missing scope, not a lost organisation)."""
    return not isinstance(error, (ScopeMissing, TenantError))


def not_json(response: httpx.Response, system: str) -> UnexpectedResponse:
    """The error for an answer whose body should be JSON and is not (a proxy's HTML page, a
    truncated body), with its first characters to recognise it by."""
    snippet = response.text[:120].replace("\n", " ")
    return UnexpectedResponse(
        f"answered {response.status_code} with a body that is not JSON: {snippet!r}",
        system=system,
        status=response.status_code,
    )
