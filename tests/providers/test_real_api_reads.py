"""Reads as the real APIs answer them (issue 9, "Reads against the real APIs"): Xero's scopes,
organisations and unit decimals, QuickBooks' hosts and consent, against the emulators over
real HTTP on loopback. (HubSpot's token envelope and 429 window, Stripe's retry header and
QuickBooks' code 120 are in test_hubspot, test_reliability and test_quickbooks.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from checks.context import SideData
from checks.errors import finding_for_error
from config.integrations import SideConfig
from providers import get_provider, oauth_app_for, provider_class
from providers.credentials import MemoryCredentialStore
from providers.errors import ScopeMissing
from providers.http import CallStats, RetryPolicy
from providers.oauth import start_consent
from providers.quickbooks import PRODUCTION_API, SANDBOX_API, QuickBooks
from providers.records import InvoiceLine
from providers.xero import Xero
from sandbox.server import Sandbox
from tests.providers.test_xero import ACME, GLOBEX, _invoice, credentials, tenant, world, xero_emulator

API = "/api.xro/2.0"


@pytest.fixture
def boxes() -> Iterator[list[Sandbox]]:
    started: list[Sandbox] = []
    yield started
    for box in started:
        box.stop()


def xero(box: Sandbox, *, tenant_id: str | None = ACME, scopes: tuple[str, ...] | None = None, **kw: Any) -> Xero:
    creds = credentials() if scopes is None else replace(credentials(), scopes=scopes)
    provider = get_provider(
        "xero",
        tenant=tenant_id,
        credentials=MemoryCredentialStore("acme/xero", creds),
        stats=CallStats(),
        overrides=box.overrides("xero"),
        retry=RetryPolicy(backoff=0.01),
        **kw,
    )
    assert isinstance(provider, Xero)
    return provider


def start(boxes: list[Sandbox], section: dict[str, Any]) -> Sandbox:
    box = Sandbox(section).start()
    boxes.append(box)
    return box


# -- Xero -----------------------------------------------------------------------------------


def test_xero_missing_scope_is_scope_missing_and_burns_no_refresh(boxes: list[Sandbox]) -> None:
    granted = ["offline_access", "accounting.invoices", "accounting.contacts"]  # no settings scope
    box = start(boxes, world(grant={"scopes": granted}))
    provider = xero(box, scopes=tuple(granted))
    with pytest.raises(ScopeMissing) as caught:
        provider.accounts()
    assert caught.value.status == 401 and caught.value.code == "AuthorizationUnsuccessful"
    assert caught.value.needed == ("accounting.settings.read",)
    emulator = box.emulators["xero"]
    assert emulator.requests["POST /connect/token"] == 0  # a new token cannot add a scope
    assert emulator.requests[f"GET {API}/Accounts"] == 1
    side = SideData("destination", SideConfig("xero", tenant=ACME), None)
    assert finding_for_error(caught.value, side).code == "token.scope_missing"
    assert len(provider.items()) == 2  # accounting.invoices opens items


def test_xero_default_scopes_are_the_granular_ones_and_a_side_may_configure_its_own() -> None:
    endpoints = provider_class("xero").default_endpoints
    app = oauth_app_for("xero", endpoints, "client", "secret")
    assert app is not None
    asked = parse_qs(urlsplit(start_consent(app, "https://bot.example/cb").url).query)["scope"][0].split()
    assert "accounting.invoices" in asked and "accounting.transactions" not in asked
    assert "offline_access" in asked
    broad = ("accounting.transactions", "accounting.contacts", "accounting.settings", "offline_access")
    provider = get_provider(
        "xero", tenant=ACME, credentials=MemoryCredentialStore("k", credentials()), stats=CallStats(), scopes=broad
    )
    assert provider.options.oauth_app is not None and provider.options.oauth_app.scopes == broad


def test_xero_connections_offer_only_organisations(boxes: list[Sandbox]) -> None:
    practice = tenant(GLOBEX, "Globex Practice", tenant_type="PRACTICEMANAGER")
    box = start(boxes, world(tenants=[tenant(), practice], principal=[ACME, GLOBEX]))
    provider = xero(box, tenant_id=None)
    info = provider.probe()
    assert info.tenant_id == ACME  # the only organisation: no "ambiguous" refusal
    assert info.tenants_available == ((ACME, "Acme Ltd"),)


class Recorder(httpx.BaseTransport):
    """httpx's own transport, remembering each request (the network stays real)."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return self._inner.handle_request(request)


def test_xero_invoices_carry_four_decimal_unit_amounts_both_ways(boxes: list[Sandbox]) -> None:
    seeded = tenant()
    seeded["invoices"][0]["LineItems"][1]["UnitAmount"] = 12.3456
    box = start(boxes, world(tenants=[seeded]))
    recorder = Recorder()
    provider = xero(box, page_size=None, transport=recorder)
    read = next(i for i in provider.invoices() if i.number == "INV-000")
    assert read.lines[1].unit_amount == Decimal("12.3456")  # Xero answers 12.35 without unitdp=4
    line = InvoiceLine(description="Thirds", quantity=Decimal(3), unit_amount=Decimal("0.3333"), account_code="200")
    pushed = provider.push_invoice(_invoice(number="INV-4DP", lines=(line,)), idempotency_key="4dp")
    stored = next(i for i in xero_emulator(box).org(ACME).invoices if i["InvoiceID"] == pushed.id)
    assert stored["LineItems"][0]["UnitAmount"] == 0.3333
    found = provider.find_invoice("INV-4DP")
    assert found is not None and found.lines[0].unit_amount == Decimal("0.3333")
    invoice_calls = [r for r in recorder.sent if r.url.path == f"{API}/Invoices"]
    assert {r.method for r in invoice_calls} == {"GET", "PUT"}
    assert all(r.url.params.get("unitdp") == "4" for r in invoice_calls)


# -- QuickBooks -----------------------------------------------------------------------------


def test_quickbooks_hosts_follow_the_environment_and_entitlements_follow_the_api_host() -> None:
    live = QuickBooks.endpoints_for({}, "live")
    test = QuickBooks.endpoints_for({}, "test")
    assert (live.base_url, live.identity_url) == (PRODUCTION_API, PRODUCTION_API)
    assert (test.base_url, test.identity_url) == (SANDBOX_API, SANDBOX_API)
    assert test.token_url == live.token_url  # Intuit's OAuth endpoints serve both
    local = QuickBooks.endpoints_for({"base_url": "http://127.0.0.1:9"}, None)
    assert local.identity_url == "http://127.0.0.1:9"
    given = QuickBooks.endpoints_for({"base_url": "http://127.0.0.1:9", "identity_url": "http://127.0.0.1:8"}, None)
    assert given.identity_url == "http://127.0.0.1:8"


def test_quickbooks_consent_sends_no_pkce_while_xero_and_hubspot_do() -> None:
    for system, pkce in (("quickbooks", False), ("xero", True), ("hubspot", True)):
        app = oauth_app_for(system, provider_class(system).default_endpoints, "client", "secret")
        assert app is not None
        query = parse_qs(urlsplit(start_consent(app, "https://bot.example/cb").url).query)
        assert ("code_challenge" in query) is pkce, system
