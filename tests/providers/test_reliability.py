"""Reliability at the network edge (issue 9): the token endpoint's transient failures and rate
limits, what ``api_calls`` counts, timeouts, and each system's own retry signals. Over real
HTTP against the emulators, or ``httpx.MockTransport`` where a failure cannot be served (a
connection that never opens)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from checks.context import SideData
from checks.errors import finding_for_error
from config.integrations import SideConfig
from providers import get_provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import ConnectFailed, RateLimited, Rejected, TimedOut, Unavailable
from providers.http import CallStats, RetryPolicy
from providers.hubspot import HubSpot
from providers.records import Contact
from providers.stripe import Stripe
from providers.xero import Xero
from sandbox.server import Sandbox
from sandbox.xero import XeroEmulator
from tests.providers.test_xero import ACME, credentials, world

TOKEN = "POST /connect/token"


@pytest.fixture
def xero_box() -> Iterator[Sandbox]:
    box = Sandbox(world()).start()
    yield box
    box.stop()


def xero_emulator(box: Sandbox) -> XeroEmulator:
    emulator = box.emulators["xero"]
    assert isinstance(emulator, XeroEmulator)
    return emulator


def xero(box: Sandbox, store: MemoryCredentialStore, stats: CallStats, *, attempts: int = 2, **kw: Any) -> Xero:
    provider = get_provider(
        "xero",
        tenant=ACME,
        credentials=store,
        stats=stats,
        overrides=box.overrides("xero"),
        retry=RetryPolicy(attempts=attempts, backoff=0.01),
        **kw,
    )
    assert isinstance(provider, Xero)
    return provider


def expired() -> MemoryCredentialStore:
    return MemoryCredentialStore("acme/xero", credentials(expires_in=-60))


def together(n: int, call: Any) -> list[Any]:
    """``call()`` from ``n`` threads released at once; each one's result or exception."""
    barrier = threading.Barrier(n)
    outcomes: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = call()
        except Exception as e:  # noqa: BLE001 - collected for the assertions
            outcomes[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


# -- the token endpoint -------------------------------------------------------------------


def test_a_failing_token_endpoint_gets_one_attempt_chain_for_every_waiting_thread(xero_box: Sandbox) -> None:
    emulator = xero_emulator(xero_box)
    emulator.faults.token_server_errors = 100  # down for the whole test
    stats = CallStats()
    provider = xero(xero_box, expired(), stats, attempts=2)
    outcomes = together(10, provider.items)
    assert all(isinstance(o, Unavailable) for o in outcomes), outcomes
    # One chain (the first try and two retries), shared by the ten threads that waited on it;
    # today's code made every waiting thread call again.
    assert emulator.requests[TOKEN] == 3
    assert stats.snapshot() == {"xero": 3}  # token calls are calls
    assert emulator.requests[f"GET {'/api.xro/2.0/Items'}"] == 0


def test_a_later_call_after_a_failed_chain_tries_again(xero_box: Sandbox) -> None:
    emulator = xero_emulator(xero_box)
    emulator.faults.token_server_errors = 3
    provider = xero(xero_box, expired(), CallStats(), attempts=2)
    with pytest.raises(Unavailable):
        provider.items()
    assert len(provider.items()) == 2  # the endpoint is back: a new call refreshes
    assert emulator.requests[TOKEN] == 4


def test_a_429_from_the_token_endpoint_waits_out_its_retry_after(xero_box: Sandbox) -> None:
    emulator = xero_emulator(xero_box)
    emulator.faults.token_rate_limit = 1
    emulator.faults.retry_after = 0.3
    stats = CallStats()
    provider = xero(xero_box, expired(), stats)
    started = time.monotonic()
    outcomes = together(5, provider.items)
    waited = time.monotonic() - started
    assert all(isinstance(o, list) and len(o) == 2 for o in outcomes), outcomes
    assert emulator.requests[TOKEN] == 2  # the 429, then the refresh after Retry-After
    assert waited >= 0.3
    assert stats.snapshot()["xero"] == 2 + 5  # two token calls and five reads
    assert stats.rate_status("xero").throttled == 1


def test_a_token_endpoint_that_keeps_rate_limiting_is_a_rate_limit_not_unreachable(xero_box: Sandbox) -> None:
    emulator = xero_emulator(xero_box)
    emulator.faults.token_rate_limit = 100
    emulator.faults.retry_after = 0
    store = expired()
    provider = xero(xero_box, store, CallStats(), attempts=1)
    with pytest.raises(RateLimited) as caught:
        provider.items()
    assert caught.value.limit == "token" and caught.value.retry_after == 0
    assert emulator.requests[TOKEN] == 2
    assert store.reauth_reason is None  # throttled, not refused: the connection stays good
    side = SideData("destination", SideConfig("xero", tenant=ACME), None)
    assert finding_for_error(caught.value, side).code == "rate.limited"


# -- what api_calls counts ------------------------------------------------------------------


def test_api_calls_count_what_went_over_the_wire_and_never_a_connection_that_did_not_open() -> None:
    sent: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        if request.url.host == "unreachable.invalid":
            raise httpx.ConnectError("connection refused", request=request)
        sent.append(request)
        return httpx.Response(503, json={"Title": "ServiceUnavailable", "Status": 503, "Detail": "busy"})

    stats = CallStats()
    provider = get_provider(
        "xero",
        tenant=ACME,
        credentials=MemoryCredentialStore("acme/xero", credentials()),
        stats=stats,
        overrides={"base_url": "https://unreachable.invalid"},
        retry=RetryPolicy(attempts=3, backoff=0.001),
        transport=httpx.MockTransport(refuse),
    )
    with pytest.raises(ConnectFailed) as caught:
        provider.items()
    assert "unreachable.invalid" in caught.value.message
    assert stats.snapshot() == {} and stats.unsent["xero"] == 4  # tried four times, sent nothing
    provider = get_provider(
        "xero",
        tenant=ACME,
        credentials=MemoryCredentialStore("acme/xero", credentials()),
        stats=stats,
        retry=RetryPolicy(attempts=3, backoff=0.001),
        transport=httpx.MockTransport(refuse),
    )
    with pytest.raises(Unavailable):
        provider.items()
    assert stats.snapshot() == {"xero": 4} == {"xero": len(sent)}  # four 503s were served


# -- timeouts -------------------------------------------------------------------------------


def test_a_slow_system_costs_one_timeout_then_fails_fast_for_the_rest_of_the_run(xero_box: Sandbox) -> None:
    emulator = xero_emulator(xero_box)
    emulator.faults.latency_ms = 5000  # answers in 5 s; the side waits 0.3 s
    stats = CallStats(run=True)
    provider = xero(xero_box, MemoryCredentialStore("acme/xero", credentials()), stats, attempts=3, timeout=0.3)
    with pytest.raises(TimedOut) as first:
        provider.items()
    assert first.value.timeout_s == 0.3 and "/api.xro/2.0/Items" in first.value.message
    with pytest.raises(TimedOut) as later:
        provider.accounts()
    assert later.value is first.value
    # The read was sent once (not repeated after its timeout); the second never left.
    assert emulator.requests["GET /api.xro/2.0/Items"] == 1
    assert emulator.requests["GET /api.xro/2.0/Accounts"] == 0
    assert stats.snapshot() == {"xero": 1}


# -- each system's own retry signals --------------------------------------------------------

STRIPE_WORLD: dict[str, Any] = {
    "stripe": {
        "api_keys": [{"key": "sk_test_acme0001", "account": "acct_acme"}],
        "accounts": {
            "acct_acme": {
                "business_name": "Acme",
                "default_currency": "usd",
                "customers": [{"id": "cus_1", "name": "Ada"}],
            }
        },
        "faults": {"retry_after": 0},
    }
}


@pytest.fixture
def stripe_box() -> Iterator[Sandbox]:
    box = Sandbox(STRIPE_WORLD).start()
    yield box
    box.stop()


def stripe(box: Sandbox, stats: CallStats | None = None) -> Stripe:
    provider = get_provider(
        "stripe",
        tenant="acct_acme",
        credentials=MemoryCredentialStore("acme/stripe", Credentials(kind="api_key", api_key="sk_test_acme0001")),
        stats=stats or CallStats(),
        overrides=box.overrides("stripe"),
        retry=RetryPolicy(attempts=3, backoff=0.01),
    )
    assert isinstance(provider, Stripe)
    return provider


def test_stripe_should_retry_true_retries_a_409_lock_timeout(stripe_box: Sandbox) -> None:
    emulator = stripe_box.emulators["stripe"]
    emulator.lock_timeouts = 1  # type: ignore[attr-defined]
    created = stripe(stripe_box).create_contact(
        Contact(id="", name="Bo", email="bo@example.com"), idempotency_key="c-1"
    )
    assert created.id.startswith("cus_")
    assert emulator.requests["POST /v1/customers"] == 2  # refused once (retryable, said Stripe), then created


def test_stripe_should_retry_false_stops_even_a_5xx_on_a_read(stripe_box: Sandbox) -> None:
    emulator = stripe_box.emulators["stripe"]
    emulator.should_retry_server_errors = False  # type: ignore[attr-defined]
    emulator.faults.server_errors = 1
    with pytest.raises(Unavailable) as caught:
        stripe(stripe_box).contacts()
    assert caught.value.retry is False
    assert emulator.requests["GET /v1/customers"] == 1  # a GET is safe to repeat, but Stripe said no
    emulator.should_retry_server_errors = None  # type: ignore[attr-defined]
    emulator.faults.server_errors = 1
    assert [c.id for c in stripe(stripe_box).contacts()] == ["cus_1"]  # without the header: retried


def test_a_stripe_409_without_the_header_is_not_repeated(stripe_box: Sandbox) -> None:
    emulator = stripe_box.emulators["stripe"]
    emulator.lock_timeouts = 1  # type: ignore[attr-defined]
    # The emulator always marks lock_timeouts retryable; strip the header at the edge to see
    # the default decision: a refusal is not repeated on the client's own judgement.
    inner = httpx.HTTPTransport()

    class WithoutHint(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = inner.handle_request(request)
            response.read()
            headers = [(k, v) for k, v in response.headers.items() if k.lower() != "stripe-should-retry"]
            return httpx.Response(response.status_code, headers=headers, content=response.content, request=request)

    provider = get_provider(
        "stripe",
        tenant="acct_acme",
        credentials=MemoryCredentialStore("acme/stripe", Credentials(kind="api_key", api_key="sk_test_acme0001")),
        stats=CallStats(),
        overrides=stripe_box.overrides("stripe"),
        retry=RetryPolicy(attempts=3, backoff=0.01),
        transport=WithoutHint(),
    )
    with pytest.raises(Rejected) as caught:
        provider.create_contact(Contact(id="", name="Bo", email="bo@example.com"), idempotency_key="c-2")
    assert caught.value.code == "lock_timeout" and caught.value.retry is None


def test_hubspot_429_without_retry_after_waits_out_the_ten_second_window() -> None:
    box = Sandbox(
        {
            "hubspot": {
                "api_keys": [{"token": "pat-na1-acme", "portal": "4711", "scopes": ["oauth"]}],
                "portals": {"4711": {"account": {"companyCurrency": "USD"}}},
                "faults": {"rate_limit": 1, "send_retry_after": False},
            }
        }
    ).start()
    try:
        response = httpx.get(
            box.url("hubspot") + "/account-info/v3/details", headers={"Authorization": "Bearer pat-na1-acme"}
        )
        provider = get_provider(
            "hubspot",
            tenant="4711",
            credentials=MemoryCredentialStore("acme/hubspot", Credentials(kind="api_key", api_key="pat-na1-acme")),
            stats=CallStats(),
            overrides=box.overrides("hubspot"),
        )
    finally:
        box.stop()
    assert response.status_code == 429 and "retry-after" not in response.headers
    error = provider.error_for(response)
    assert isinstance(error, RateLimited) and error.limit == "TEN_SECONDLY_ROLLING"
    assert error.retry_after == HubSpot.POLICY_WAITS["TEN_SECONDLY_ROLLING"] == 10.0
    daily = httpx.Response(
        429,
        json={"status": "error", "message": "daily limit", "errorType": "RATE_LIMIT", "policyName": "DAILY"},
        request=response.request,
    )
    spent = provider.error_for(daily)
    assert isinstance(spent, RateLimited) and spent.retry is False and spent.retry_after is None


def test_outside_a_run_a_timeout_does_not_stop_the_next_request(xero_box: Sandbox) -> None:
    # An action retrying a push after a timeout must be able to ask again.
    emulator = xero_emulator(xero_box)
    emulator.faults.latency_ms = 5000
    provider = xero(xero_box, MemoryCredentialStore("acme/xero", credentials()), CallStats(), timeout=0.3)
    with pytest.raises(TimedOut):
        provider.items()
    emulator.faults.latency_ms = 0
    assert len(provider.items()) == 2
    assert emulator.requests["GET /api.xro/2.0/Items"] == 2  # each timed-out request was sent once
