"""Scenarios in which the real checks find each connection, token, API-key, plan, settings,
rate and internal code (see ``tests/checks/produced_findings.py``).

Each function is one way an account really breaks, named for it; several cover the other
branches of the same remediation template (another system, a warning instead of a failure,
the finding made from a provider error instead of by a check).
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import httpx

from checks.base import Check
from checks.connection import DESTINATION_CONNECTION, SOURCE_CONNECTION
from checks.context import RunContext
from checks.findings import Finding
from checks.plan import PLAN
from checks.platform import RATE
from checks.runner import run_integration
from checks.settings import SETTINGS
from checks.tokens import TOKENS
from config.integrations import IntegrationConfig, Mappings, SideConfig
from providers import get_provider, provider_class
from providers.base import Provider
from providers.credentials import MemoryCredentialStore
from providers.errors import (
    ClientRejected,
    CredentialsMissing,
    RateLimited,
    RefreshFailed,
    ScopeMissing,
    TenantError,
    TimedOut,
    TokenExpired,
    TokenRevoked,
    Unavailable,
    WrongEnvironment,
)
from providers.http import CallStats
from providers.records import ConnectionInfo, Feature, InvoiceStatus, Item, OrgInfo, RateStatus, TrackingRef
from tests.checks.contexts import config, side
from tests.checks.produced_findings import Produced, Registry, from_errors, run_checks
from tests.checks.records import NOW, api_key, invoice, line, oauth

ACCESS = Registry()

# The checks that judge a connection, run together as the runner runs them.
CONNECTION = (SOURCE_CONNECTION, DESTINATION_CONNECTION, TOKENS)

REALM = "9130350000000001"
PORTAL = "4410021"
XERO_TENANT = "a3f1c2d4-0000-4e5f-9a8b-1c2d3e4f5a6b"
OTHER_TENANT = "77d0e8b2-1111-4c3d-8e9f-0a1b2c3d4e5f"
QBO_SCOPE = "com.intuit.quickbooks.accounting"


def _needed(system: str) -> frozenset[str]:
    return frozenset(provider_class(system).scopes_needed)


def hubspot_to_quickbooks(**settings: Any) -> IntegrationConfig:
    return config(
        "hubspot",
        "quickbooks",
        source_side={"tenant": PORTAL, "environment": "live"},
        destination_side={"tenant": REALM, "name": "Acme Pty Ltd"},
        **settings,
    )


def stripe_to_xero(**settings: Any) -> IntegrationConfig:
    return config(
        "stripe",
        "xero",
        source_side={"tenant": "acct_1", "environment": "live"},
        destination_side={"tenant": XERO_TENANT, "name": "Acme <Plumbing> & Co"},
        **settings,
    )


def hubspot(cfg: IntegrationConfig, *, probe: ConnectionInfo | None = None, **kw: Any) -> Any:
    """A healthy HubSpot source: every scope granted, a live portal."""
    info = probe or ConnectionInfo(
        tenant_id=PORTAL, tenant_name="acme.hubspot.com", scopes=_needed("hubspot"), environment="live"
    )
    kw.setdefault("credentials", oauth(scopes=tuple(sorted(_needed("hubspot")))))
    return side("source", cfg, probe=info, **kw)


def quickbooks(cfg: IntegrationConfig, *, probe: ConnectionInfo | None = None, **kw: Any) -> Any:
    """A healthy QuickBooks Online destination: the configured company, the accounting scope."""
    info = probe or ConnectionInfo(tenant_id=REALM, tenant_name="Acme Pty Ltd", scopes=frozenset({QBO_SCOPE}))
    kw.setdefault("credentials", oauth(scopes=(QBO_SCOPE,), refresh_expires_at=NOW + timedelta(days=99)))
    return side("destination", cfg, probe=info, **kw)


def xero(cfg: IntegrationConfig, *, probe: ConnectionInfo | None = None, **kw: Any) -> Any:
    """A healthy Xero destination: the configured organisation, every scope granted."""
    info = probe or ConnectionInfo(
        tenant_id=XERO_TENANT,
        tenant_name=cfg.destination.name,
        scopes=_needed("xero"),
        tenants_available=((XERO_TENANT, cfg.destination.name or ""),),
    )
    kw.setdefault("credentials", oauth(scopes=tuple(sorted(_needed("xero")))))
    return side("destination", cfg, probe=info, **kw)


def stripe(
    cfg: IntegrationConfig, *, key: str = "rk_live_abc123", probe: ConnectionInfo | None = None, **kw: Any
) -> Any:
    info = probe or ConnectionInfo(
        tenant_id="acct_1", tenant_name="Acme", environment="live", permissions=_needed("stripe")
    )
    kw.setdefault("credentials", api_key(key))
    return side("source", cfg, probe=info, **kw)


# -- connection --------------------------------------------------------------------------


@ACCESS.add
def quickbooks_never_connected() -> Produced:
    cfg = hubspot_to_quickbooks()
    return run_checks(cfg, hubspot(cfg), side("destination", cfg, credentials=None), *CONNECTION)


@ACCESS.add
def stripe_disconnected_by_an_admin() -> Produced:
    cfg = stripe_to_xero()
    return run_checks(cfg, stripe(cfg, state="disconnected"), xero(cfg), *CONNECTION)


@ACCESS.add
def quickbooks_awaits_reauthorisation() -> Produced:
    cfg = hubspot_to_quickbooks()
    dst = quickbooks(cfg, state="requires_reauth", last_error="AuthorizationFailure: the user was removed")
    return run_checks(cfg, hubspot(cfg), dst, *CONNECTION)


@ACCESS.add
def quickbooks_refresh_token_was_rejected_last_run() -> Produced:
    cfg = hubspot_to_quickbooks()
    dst = quickbooks(cfg, state="requires_reauth", last_error="invalid_grant: Token invalid")
    return run_checks(cfg, hubspot(cfg), dst, *CONNECTION)


@ACCESS.add
def hubspot_in_grace_period() -> Produced:
    cfg = hubspot_to_quickbooks()
    return run_checks(cfg, hubspot(cfg, state="grace_period"), quickbooks(cfg), *CONNECTION)


@ACCESS.add
def xero_waiting_for_credits() -> Produced:
    cfg = stripe_to_xero()
    return run_checks(cfg, stripe(cfg), xero(cfg, state="pending_credits"), *CONNECTION)


@ACCESS.add
def quickbooks_token_reaches_another_company() -> Produced:
    cfg = hubspot_to_quickbooks()
    probe = ConnectionInfo(
        tenant_id="9130350000000999",
        tenant_name="Acme Test Co",
        scopes=frozenset({QBO_SCOPE}),
        tenants_available=(("9130350000000999", "Acme Test Co"),),
    )
    return run_checks(cfg, hubspot(cfg), quickbooks(cfg, probe=probe), *CONNECTION)


@ACCESS.add
def xero_token_reaches_the_configured_organisation_too() -> Produced:
    cfg = config("hubspot", "xero", source_side={"tenant": PORTAL}, destination_side={"tenant": XERO_TENANT})
    probe = ConnectionInfo(
        tenant_id=OTHER_TENANT,
        tenant_name="Demo Company (AU)",
        scopes=_needed("xero"),
        tenants_available=((OTHER_TENANT, "Demo Company (AU)"), (XERO_TENANT, "Acme Ltd")),
    )
    return run_checks(cfg, hubspot(cfg), xero(cfg, probe=probe), *CONNECTION)


@ACCESS.add
def quickbooks_company_renamed() -> Produced:
    cfg = hubspot_to_quickbooks()
    probe = ConnectionInfo(tenant_id=REALM, tenant_name="Acme Holdings", scopes=frozenset({QBO_SCOPE}))
    return run_checks(cfg, hubspot(cfg), quickbooks(cfg, probe=probe), *CONNECTION)


# -- tokens and API keys -----------------------------------------------------------------


@ACCESS.add
def xero_refresh_token_unused_too_long() -> Produced:
    cfg = stripe_to_xero()
    creds = oauth(scopes=tuple(sorted(_needed("xero"))), refresh_issued_at=NOW - timedelta(days=71))
    return run_checks(cfg, stripe(cfg), side("destination", cfg, credentials=creds), *CONNECTION)


@ACCESS.add
def hubspot_access_token_expired_without_refresh_token() -> Produced:
    cfg = hubspot_to_quickbooks()
    creds = oauth(refresh_token=None, expires_at=NOW - timedelta(hours=4), refresh_issued_at=None)
    return run_checks(cfg, hubspot(cfg, credentials=creds), quickbooks(cfg), *CONNECTION)


@ACCESS.add
def quickbooks_refresh_token_ends_in_ten_days() -> Produced:
    cfg = hubspot_to_quickbooks()
    creds = oauth(
        scopes=(QBO_SCOPE,),
        refresh_issued_at=NOW - timedelta(days=3),
        refresh_expires_at=NOW + timedelta(days=10, hours=2),
    )
    return run_checks(cfg, hubspot(cfg), quickbooks(cfg, credentials=creds), *CONNECTION)


@ACCESS.add
def xero_refresh_token_mostly_used() -> Produced:
    cfg = stripe_to_xero()
    creds = oauth(scopes=tuple(sorted(_needed("xero"))), refresh_issued_at=NOW - timedelta(days=50))
    return run_checks(cfg, stripe(cfg), xero(cfg, credentials=creds), *CONNECTION)


@ACCESS.add
def hubspot_granted_too_few_scopes() -> Produced:
    cfg = hubspot_to_quickbooks()
    probe = ConnectionInfo(
        tenant_id=PORTAL, tenant_name="acme.hubspot.com", scopes=frozenset({"crm.objects.contacts.read", "oauth"})
    )
    return run_checks(cfg, hubspot(cfg, probe=probe), quickbooks(cfg), *CONNECTION)


@ACCESS.add
def quickbooks_scopes_known_from_the_token_response() -> Produced:
    cfg = hubspot_to_quickbooks()
    probe = ConnectionInfo(tenant_id=REALM, tenant_name="Acme Pty Ltd", scopes=None)
    creds = oauth(scopes=("openid",), refresh_expires_at=NOW + timedelta(days=90))
    return run_checks(cfg, hubspot(cfg), quickbooks(cfg, probe=probe, credentials=creds), *CONNECTION)


@ACCESS.add
def stripe_test_key_on_a_live_integration() -> Produced:
    cfg = stripe_to_xero()
    probe = ConnectionInfo(tenant_id="acct_1", tenant_name="Acme", environment="test")
    return run_checks(cfg, stripe(cfg, key="sk_test_51Habc", probe=probe), xero(cfg), *CONNECTION)


@ACCESS.add
def hubspot_test_portal_on_a_live_integration() -> Produced:
    cfg = hubspot_to_quickbooks()
    probe = ConnectionInfo(
        tenant_id=PORTAL, tenant_name="acme.hubspot.com", scopes=_needed("hubspot"), environment="test"
    )
    return run_checks(cfg, hubspot(cfg, probe=probe), quickbooks(cfg), *CONNECTION)


@ACCESS.add
def stripe_restricted_key_lacks_a_permission() -> Produced:
    cfg = stripe_to_xero()
    needed = provider_class("stripe").scopes_needed
    probe = ConnectionInfo(tenant_id="acct_1", environment="live", permissions=frozenset(needed[1:]))
    return run_checks(cfg, stripe(cfg, probe=probe), xero(cfg), *CONNECTION)


# -- the same families from provider errors (what the runner makes of them) --------------


@ACCESS.add
def quickbooks_refuses_the_access_token() -> Produced:
    cfg = hubspot_to_quickbooks()
    error = TokenExpired(
        "message=ApplicationAuthenticationFailed; errorCode=003200; statusCode=401",
        system="quickbooks",
        code="3200",
        status=401,
    )
    return from_errors(cfg, [(error, quickbooks(cfg))])


@ACCESS.add
def xero_refuses_sync_doctors_app_secret() -> Produced:
    cfg = stripe_to_xero()
    error = ClientRejected("client authentication failed", system="xero", code="invalid_client", status=401)
    return from_errors(cfg, [(error, xero(cfg))])


@ACCESS.add
def xero_never_answers_within_the_timeout() -> Produced:
    cfg = stripe_to_xero()
    error = TimedOut("no answer to GET /api.xro/2.0/Invoices within 5 s", system="xero", code="timeout", timeout_s=5.0)
    return from_errors(cfg, [(error, xero(cfg))])


@ACCESS.add
def quickbooks_still_holding_requests_at_the_time_limit() -> Produced:
    release = threading.Event()

    def hangs(request: httpx.Request) -> httpx.Response:
        release.wait(10)  # a system that never answers within the run's time limit
        raise httpx.ReadTimeout("no answer", request=request)

    def providers(side_name: str, cfg: SideConfig, stats: CallStats) -> Provider:
        creds = (
            api_key("pat-na1-0000")
            if cfg.system == "hubspot"
            else oauth(scopes=(QBO_SCOPE,), refresh_expires_at=NOW + timedelta(days=90))
        )
        return get_provider(
            cfg.system,
            tenant=cfg.tenant,
            credentials=MemoryCredentialStore(side_name, creds),
            stats=stats,
            transport=httpx.MockTransport(hangs if cfg.system == "quickbooks" else _unreachable),
        )

    def reads_the_destination(context: RunContext) -> list[Finding]:
        context.destination.contacts()
        return []

    cfg = hubspot_to_quickbooks()
    try:
        result = run_integration(cfg, [Check("contacts", "contact", reads_the_destination)], providers, time_limit=0.3)
    finally:
        release.set()
    return Produced(cfg, tuple(f for f in result.findings if f.code == "connection.slow"))


@ACCESS.add
def xero_access_revoked() -> Produced:
    cfg = stripe_to_xero()
    error = TokenRevoked("AuthenticationUnsuccessful: token revoked", system="xero", code="invalid_token", status=401)
    return from_errors(cfg, [(error, xero(cfg))])


@ACCESS.add
def hubspot_private_app_token_revoked() -> Produced:
    cfg = config("hubspot", "xero", source_side={"tenant": PORTAL})
    error = TokenRevoked(
        "Authentication credentials not found", system="hubspot", code="INVALID_AUTHENTICATION", status=401
    )
    return from_errors(cfg, [(error, side("source", cfg, credentials=api_key("pat-na1-0000")))])


@ACCESS.add
def stripe_key_rolled() -> Produced:
    cfg = stripe_to_xero()
    error = TokenRevoked(
        "Invalid API Key provided: rk_live_****abc", system="stripe", code="api_key_invalid", status=401
    )
    return from_errors(cfg, [(error, stripe(cfg))])


@ACCESS.add
def stripe_test_mode_key_deleted() -> Produced:
    cfg = config("stripe", "xero", source_side={"tenant": "acct_1", "environment": "test"})
    error = TokenRevoked(
        "Invalid API Key provided: rk_test_****xyz", system="stripe", code="api_key_invalid", status=401
    )
    return from_errors(cfg, [(error, side("source", cfg, credentials=api_key("rk_test_xyz")))])


@ACCESS.add
def quickbooks_refresh_refused() -> Produced:
    cfg = hubspot_to_quickbooks()
    error = RefreshFailed("Token invalid", system="quickbooks", code="invalid_grant", status=400)
    return from_errors(cfg, [(error, quickbooks(cfg))])


@ACCESS.add
def quickbooks_refuses_for_a_missing_scope() -> Produced:
    cfg = hubspot_to_quickbooks()
    error = ScopeMissing("AuthorizationFailure", system="quickbooks", needed=(QBO_SCOPE,), code="120", status=403)
    return from_errors(cfg, [(error, quickbooks(cfg))])


@ACCESS.add
def stripe_refuses_a_restricted_key() -> Produced:
    cfg = stripe_to_xero()
    error = ScopeMissing(
        "The provided key 'rk_live_…' does not have the required permissions",
        system="stripe",
        needed=("rak_invoice_read",),
        status=403,
    )
    return from_errors(cfg, [(error, stripe(cfg))])


@ACCESS.add
def quickbooks_sandbox_company_on_a_live_integration() -> Produced:
    cfg = hubspot_to_quickbooks()
    error = WrongEnvironment(
        "sandbox company on a live integration", actual="test", expected="live", system="quickbooks"
    )
    return from_errors(cfg, [(error, quickbooks(cfg))])


@ACCESS.add
def quickbooks_credentials_gone() -> Produced:
    cfg = hubspot_to_quickbooks()
    error = CredentialsMissing("no credentials are stored", system="quickbooks")
    return from_errors(cfg, [(error, side("destination", cfg, credentials=None))])


@ACCESS.add
def xero_organisation_disconnected_from_its_side() -> Produced:
    # Xero answers 403 {"Detail": "AuthenticationUnsuccessful"} for a tenant it disconnected.
    cfg = stripe_to_xero()
    error = TenantError("AuthenticationUnsuccessful", system="xero", code="AuthenticationUnsuccessful", status=403)
    return from_errors(cfg, [(error, xero(cfg))])


@ACCESS.add
def stripe_key_of_another_account() -> Produced:
    cfg = stripe_to_xero()
    error = TenantError(
        "the API key belongs to account acct_2 (Other), not the configured acct_1",
        system="stripe",
        code="wrong_account",
    )
    return from_errors(cfg, [(error, stripe(cfg))])


@ACCESS.add
def quickbooks_throttles() -> Produced:
    cfg = hubspot_to_quickbooks()
    error = RateLimited(
        "ThrottleExceeded", system="quickbooks", code="429", status=429, retry_after=60.0, limit="minute"
    )
    return from_errors(cfg, [(error, quickbooks(cfg))])


@ACCESS.add
def quickbooks_down_for_maintenance() -> Produced:
    cfg = hubspot_to_quickbooks()
    error = Unavailable("Service Unavailable: the server is down for maintenance", system="quickbooks", status=503)
    return from_errors(cfg, [(error, quickbooks(cfg))])


# -- plan --------------------------------------------------------------------------------


def _org(**kw: Any) -> OrgInfo:
    base: dict[str, Any] = {
        "tenant_id": REALM,
        "name": "Acme Pty Ltd",
        "base_currency": "AUD",
        "currencies": frozenset({"AUD"}),
        "plan": "QuickBooks Online Essentials",
        "features_known": True,
        "features": frozenset({Feature.APPROVE_INVOICES, Feature.SYNC_ADDON}),
    }
    base.update(kw)
    return OrgInfo(**base)


def _plan(cfg: IntegrationConfig, source_invoices: list[Any], org: OrgInfo, dest_invoices: list[Any]) -> Produced:
    src = side("source", cfg, credentials=oauth(), invoices=source_invoices)
    dst = side("destination", cfg, credentials=oauth(), org=org, invoices=dest_invoices)
    return run_checks(cfg, src, dst, PLAN)


@ACCESS.add
def quickbooks_plan_without_multicurrency() -> Produced:
    invoices = [invoice("INV-1"), invoice("INV-2", currency="EUR"), invoice("INV-<3>", currency="CAD", total="80.00")]
    return _plan(hubspot_to_quickbooks(), invoices, _org(), [])


@ACCESS.add
def xero_plan_without_tracking() -> Produced:
    cfg = config("hubspot", "xero", mappings=Mappings(tracking={"Region": "Region"}))
    tagged = invoice("INV-7", line(tracking=(TrackingRef("Region", "North"),)))
    org = _org(name="Acme Ltd", plan="STANDARD", features=frozenset({Feature.APPROVE_INVOICES}))
    return _plan(cfg, [tagged, invoice("INV-8")], org, [])


@ACCESS.add
def quickbooks_company_without_class_tracking_mapped_to_classes() -> Produced:
    # The plan (Plus) includes classes, but the company never switched class tracking on.
    cfg = config(
        "hubspot", "quickbooks", destination_side={"tenant": REALM}, mappings=Mappings(tracking={"Region": "Class"})
    )
    tagged = invoice("INV-9", line(tracking=(TrackingRef("Region", "North"),)))
    org = _org(plan="QuickBooks Online Plus", features=frozenset({Feature.TRACKING}), features_enabled=frozenset())
    return _plan(cfg, [tagged, invoice("INV-10")], org, [])


@ACCESS.add
def quickbooks_currency_mapped_onto_one_the_plan_lacks() -> Produced:
    cfg = config(
        "hubspot", "quickbooks", destination_side={"tenant": REALM}, mappings=Mappings(currencies={"EUR": "USD"})
    )
    return _plan(cfg, [invoice("INV-11")], _org(), [])


@ACCESS.add
def quickbooks_inventory_items_on_a_plan_without_inventory() -> Produced:
    cfg = hubspot_to_quickbooks()
    src = side("source", cfg, credentials=oauth(), invoices=[invoice("INV-12", line(sku="STOCK-1"))])
    stocked = Item(id="40", code="STOCK-1", name="Boxed widget", inventory=True)
    dst = side(
        "destination", cfg, credentials=oauth(), org=_org(features_enabled=frozenset()), invoices=[], items=[stocked]
    )
    return run_checks(cfg, src, dst, PLAN)


@ACCESS.add
def xero_user_cannot_approve_invoices() -> Produced:
    cfg = config("hubspot", "xero", requires=("approve_invoices",))
    org = _org(name="Acme Ltd", plan="STANDARD", features=frozenset())
    return _plan(cfg, [invoice("INV-1"), invoice("INV-2", status=InvoiceStatus.PAID)], org, [])


@ACCESS.add
def xero_early_plan_cap_ahead() -> Produced:
    # 20 May: 14 approved invoices this month -> 0.7 a day -> the cap of 20 is hit on day 29.
    landed = [invoice(f"X-{i}", day=date(2026, 5, 1 + i)) for i in range(14)]
    org = _org(name="Acme Ltd", plan="EARLY", monthly_invoice_limit=20)
    return _plan(config("hubspot", "xero"), [], org, landed)


@ACCESS.add
def xero_early_plan_cap_reached() -> Produced:
    landed = [invoice(f"X-{i}", day=date(2026, 5, 2)) for i in range(20)]
    org = _org(name="Acme Ltd", plan="EARLY", monthly_invoice_limit=20)
    return _plan(config("hubspot", "xero"), [invoice("INV-100", total="75.00")], org, landed)


@ACCESS.add
def quickbooks_trial_running() -> Produced:
    org = _org(is_trial=True, trial_days_remaining=12, status="TRIAL")
    return _plan(hubspot_to_quickbooks(), [], org, [])


@ACCESS.add
def quickbooks_trial_ended() -> Produced:
    org = _org(is_trial=True, trial_days_remaining=0, status="TRIAL_EXPIRED")
    return _plan(hubspot_to_quickbooks(), [], org, [])


@ACCESS.add
def xero_demo_company_connected() -> Produced:
    org = _org(tenant_id=OTHER_TENANT, name="Demo Company (AU)", plan="DEMO", is_demo=True, features_known=False)
    return _plan(config("hubspot", "xero"), [], org, [])


# -- settings ----------------------------------------------------------------------------


def _settings(cfg: IntegrationConfig, source_invoices: list[Any], dest_invoices: list[Any], org: OrgInfo) -> Produced:
    src = side("source", cfg, credentials=oauth(), invoices=source_invoices)
    dst = side("destination", cfg, credentials=oauth(), org=org, invoices=dest_invoices)
    return run_checks(cfg, src, dst, SETTINGS)


XERO_ORG = OrgInfo(tenant_id=XERO_TENANT, name="Acme Ltd", base_currency="AUD")


@ACCESS.add
def sync_switched_off() -> Produced:
    cfg = config(enabled=False)
    return _settings(cfg, [invoice("INV-1", total="40.00"), invoice("INV-2")], [invoice("INV-2")], XERO_ORG)


@ACCESS.add
def stripe_auto_sync_of_sales_off() -> Produced:
    return _settings(stripe_to_xero(auto_sync_sales=False), [invoice("INV-1")], [], XERO_ORG)


@ACCESS.add
def sync_pulls_only() -> Produced:
    return _settings(config(direction="destination_to_source"), [invoice("INV-1")], [], XERO_ORG)


@ACCESS.add
def drafts_left_out_by_the_status_filter() -> Produced:
    drafts = [invoice(f"D-{i}", status=InvoiceStatus.DRAFT) for i in range(12)]
    return _settings(config(), [*drafts, invoice("OK-1")], [invoice("OK-1")], XERO_ORG)


@ACCESS.add
def invoices_dated_outside_the_range() -> Produced:
    cfg = config(since=date(2026, 5, 1), until=date(2026, 5, 31))
    invoices = [invoice("OLD-1", day=date(2026, 4, 20)), invoice("NEW-1", day=date(2026, 6, 2)), invoice("IN-1")]
    return _settings(cfg, invoices, [invoice("IN-1")], XERO_ORG)


@ACCESS.add
def aroflo_invoices_skipped() -> Produced:
    invoices = [invoice("A-1", source="aroflo"), invoice("A-2", source="aroflo"), invoice("H-1", source="hubspot")]
    return _settings(config(skip_sources=("aroflo",)), invoices, [invoice("H-1")], XERO_ORG)


@ACCESS.add
def xero_period_locked() -> Produced:
    org = OrgInfo(tenant_id=XERO_TENANT, name="Acme <Plumbing> & Co", lock_date=date(2026, 4, 30))
    invoices = [invoice("INV-9", day=date(2026, 4, 30)), invoice("INV-8", day=date(2026, 4, 2)), invoice("INV-10")]
    return _settings(config(), invoices, [], org)


@ACCESS.add
def quickbooks_books_closed_on_many_invoices() -> Produced:
    org = _org(lock_date=date(2026, 4, 30))
    invoices = [invoice(f"INV-{i}", day=date(2026, 4, 1 + i)) for i in range(25)]
    return _settings(hubspot_to_quickbooks(since=date(2026, 4, 1)), invoices, [], org)


# -- rate limits -------------------------------------------------------------------------


@ACCESS.add
def xero_throttled_with_little_quota_left() -> Produced:
    cfg = stripe_to_xero()
    rate = RateStatus(day_remaining=312, day_limit=5000, minute_remaining=0, throttled=4, last_problem="minute")
    return run_checks(cfg, stripe(cfg, rate=RateStatus()), xero(cfg, rate=rate), RATE)


@ACCESS.add
def hubspot_daily_quota_spent() -> Produced:
    cfg = hubspot_to_quickbooks()
    return run_checks(cfg, hubspot(cfg, rate=RateStatus(day_remaining=0)), quickbooks(cfg, rate=RateStatus()), RATE)


# -- Sync Doctor itself: the runner contains a check that crashes or runs out of time ------


def _unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("these scenarios reach no system", request=request)


def _providers_without_credentials(side_name: str, cfg: SideConfig, stats: CallStats) -> Provider:
    return get_provider(
        cfg.system,
        tenant=cfg.tenant,
        credentials=MemoryCredentialStore(side_name, None),
        stats=stats,
        transport=httpx.MockTransport(_unreachable),
    )


@ACCESS.add
def a_check_crashes() -> Produced:
    def crashes(context: RunContext) -> list[Finding]:
        raise KeyError("internal detail")

    cfg = hubspot_to_quickbooks()
    result = run_integration(cfg, [Check("skus", "sku", crashes)], _providers_without_credentials)
    return Produced(cfg, result.findings)


@ACCESS.add
def a_check_runs_out_of_time() -> Produced:
    release = threading.Event()

    def stuck(context: RunContext) -> list[Finding]:
        release.wait(30)
        return []

    cfg = hubspot_to_quickbooks()
    try:
        result = run_integration(
            cfg, [Check("contacts", "contact", stuck)], _providers_without_credentials, time_limit=0.2
        )
    finally:
        release.set()  # the stuck check's thread ends with the scenario
    return Produced(cfg, result.findings)
