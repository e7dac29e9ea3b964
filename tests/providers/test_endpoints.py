"""Where a configured side's endpoints point: a ``base_url`` that stands in for the whole API
(the sandbox) brings the token, identity and authorize URLs along; one on the vendor's own
domain moves the API only. And when a host cannot be reached, the error names that host."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from providers import get_provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import Unavailable
from providers.http import CallStats, RetryPolicy
from providers.hubspot import HubSpot
from providers.quickbooks import QuickBooks
from providers.stripe import Stripe
from providers.xero import Xero
from sandbox.server import Sandbox
from tests.providers.test_xero import ACME, world


def test_a_stand_in_base_url_brings_every_endpoint_along() -> None:
    xero = Xero.default_endpoints.with_overrides({"base_url": "http://127.0.0.1:9001"})
    assert xero.identity_url == "http://127.0.0.1:9001"
    assert xero.token_url == "http://127.0.0.1:9001/connect/token"
    assert xero.authorize_url == "http://127.0.0.1:9001/identity/connect/authorize"
    qbo = QuickBooks.endpoints_for({"base_url": "http://localhost:8002"})
    assert qbo.identity_url == "http://localhost:8002"  # the entitlements host
    assert qbo.token_url == "http://localhost:8002/oauth2/v1/tokens/bearer"
    hubspot = HubSpot.default_endpoints.with_overrides({"base_url": "http://127.0.0.1:8003"})
    assert (hubspot.token_url, hubspot.identity_url) == ("http://127.0.0.1:8003/oauth/v3/token", None)
    assert Stripe.default_endpoints.with_overrides({"base_url": "http://127.0.0.1:8004"}).token_url is None


def test_given_urls_win_and_a_vendor_host_moves_the_api_only() -> None:
    given = Xero.default_endpoints.with_overrides(
        {"base_url": "http://127.0.0.1:9001", "token_url": "http://127.0.0.1:9002/token"}
    )
    assert given.token_url == "http://127.0.0.1:9002/token" and given.identity_url == "http://127.0.0.1:9001"
    intuit_sandbox = QuickBooks.default_endpoints.with_overrides(
        {"base_url": "https://sandbox-quickbooks.api.intuit.com"}
    )
    assert intuit_sandbox.token_url == QuickBooks.default_endpoints.token_url  # Intuit's one token service
    assert intuit_sandbox.authorize_url == QuickBooks.default_endpoints.authorize_url
    assert Xero.default_endpoints.with_overrides({}) == Xero.default_endpoints


@pytest.fixture
def xero_sandbox() -> Iterator[Sandbox]:
    sandbox = Sandbox(world()).start()
    yield sandbox
    sandbox.stop()


def _xero(overrides: dict[str, str], credentials: Credentials) -> Any:
    return get_provider(
        "xero",
        tenant=ACME,
        credentials=MemoryCredentialStore("acme/xero", credentials),
        stats=CallStats(),
        overrides=overrides,
        client_id="cid",
        client_secret="secret",
        retry=RetryPolicy(attempts=1, backoff=0.01),
    )


def _credentials(expires_in: float) -> Credentials:
    return Credentials(
        kind="oauth2",
        access_token="at-acme",
        refresh_token="rt-acme",
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
        scopes=("accounting.transactions", "accounting.contacts", "accounting.settings", "offline_access"),
    )


def test_only_base_url_reaches_the_emulators_identity_and_token_endpoints(xero_sandbox: Sandbox) -> None:
    provider = _xero({"base_url": xero_sandbox.url("xero")}, _credentials(expires_in=-60))  # expired: refresh
    assert provider.probe().tenant_id == ACME  # the token refreshed and /connections read, on loopback
    requests = xero_sandbox.emulators["xero"].requests
    assert requests["POST /connect/token"] == 1 and requests["GET /connections"] >= 1


def test_an_unreachable_identity_host_is_named_not_the_base_url(xero_sandbox: Sandbox) -> None:
    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    provider = _xero({"base_url": xero_sandbox.url("xero"), "identity_url": dead}, _credentials(expires_in=1800))
    with pytest.raises(Unavailable, match=r"could not reach http://127\.0\.0\.1:9\b"):
        provider.probe()
    expired = _xero({"base_url": xero_sandbox.url("xero"), "token_url": f"{dead}/connect/token"}, _credentials(-60))
    with pytest.raises(Unavailable, match=r"could not reach the token endpoint http://127\.0\.0\.1:9\b"):
        expired.probe()
