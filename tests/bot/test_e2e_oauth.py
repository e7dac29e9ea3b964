"""The OAuth consent round trip through the server: /oauth/<provider>/start redirects to the
provider's consent screen, /oauth/<provider>/callback exchanges the code (with the Xero
emulator's token endpoint) and stores the connection; pages never echo a token."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

import httpx

from store import repositories as repo
from tests.bot.conftest import Harness


def test_consent_round_trip_stores_the_connection(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    start = httpx.get(f"{h.url}/oauth/xero/start", params={"integration": "acme", "side": "destination"})
    assert start.status_code == 302
    consent = urlparse(start.headers["location"])
    assert consent.geturl().startswith(h.sandbox.url("xero") + "/authorize")
    query = parse_qs(consent.query)
    assert query["client_id"] == ["xero-client"] and query["redirect_uri"][0].endswith("/oauth/xero/callback")
    state = query["state"][0]

    # the user approves; Xero redirects back with a code
    done = httpx.get(f"{h.url}/oauth/xero/callback", params={"code": "code-acme", "state": state})
    assert done.status_code == 200, done.text
    assert "Xero" in done.text and "is now connected as the destination of acme" in done.text
    assert "at-" not in done.text and "rt-" not in done.text and state not in done.text
    with h.services.sessions() as session:
        row = repo.connections_for(session, "acme")["destination"]
        assert row.system == "xero" and row.kind == "oauth2"
    # the new tokens work: the integration checks clean
    assert not h.services.checks.run("acme").failing


def test_callback_errors_are_plain_pages(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    denied = httpx.get(f"{h.url}/oauth/xero/callback", params={"error": "access_denied", "state": "x"})
    assert denied.status_code == 400 and "refused consent" in denied.text
    forged = httpx.get(f"{h.url}/oauth/xero/callback", params={"code": "code-acme", "state": "forged"})
    assert forged.status_code == 400 and "not one Sync Doctor issued" in forged.text
    unknown = httpx.get(f"{h.url}/oauth/xero/start", params={"integration": "nope", "side": "destination"})
    assert unknown.status_code == 404
    wrong = httpx.get(f"{h.url}/oauth/quickbooks/start", params={"integration": "acme", "side": "destination"})
    assert wrong.status_code == 400 and "is Xero, not QuickBooks Online" in wrong.text
    side = httpx.get(f"{h.url}/oauth/xero/start", params={"integration": "acme", "side": "middle"})
    assert side.status_code == 400


def test_a_refused_code_says_so_without_the_code(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    start = httpx.get(f"{h.url}/oauth/xero/start", params={"integration": "acme", "side": "destination"})
    state = parse_qs(urlparse(start.headers["location"]).query)["state"][0]
    bad = httpx.get(f"{h.url}/oauth/xero/callback", params={"code": "code-unknown-123", "state": state})
    assert bad.status_code == 400 and "refused the code" in bad.text
    assert "code-unknown-123" not in bad.text
