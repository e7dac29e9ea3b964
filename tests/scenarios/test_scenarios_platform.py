"""Connection, token, plan, settings and run-limit findings from whole runs: the real checks
against the project's emulators over loopback HTTP (the demo world, altered per scenario),
stored in the test database (SQLite, or PostgreSQL with TEST_DATABASE_URL).

Each test starts one DemoEnvironment and, where scenarios don't interfere, runs several
integrations in it (extra integrations are copies of ``initech`` with other settings).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from app import build
from checks.findings import Finding, Severity
from checks.runner import RunResult
from demo import DEMO_WORLD, DemoEnvironment
from providers.credentials import Credentials
from sandbox.server import load_world
from store.connections import decode, get_connection

INITECH_TENANT = "c0ffee00-0000-4000-8000-0000000017ec"
XERO = {"system": "xero", "side": "destination", "display_name": "Xero"}
HUBSPOT = {"system": "hubspot", "side": "source", "display_name": "HubSpot"}
STRIPE = {"system": "stripe", "side": "source", "display_name": "Stripe"}
QUICKBOOKS = {"system": "quickbooks", "side": "destination", "display_name": "QuickBooks Online"}


@pytest.fixture(scope="module")
def loaded() -> tuple[dict[str, Any], date]:
    # The day the world's {date:-n} placeholders were resolved against: added records use it too.
    today = datetime.now(UTC).date()
    return load_world(DEMO_WORLD), today


@pytest.fixture
def world(loaded: tuple[dict[str, Any], date]) -> Iterator[dict[str, Any]]:
    yield copy.deepcopy(loaded[0])


@pytest.fixture
def today(loaded: tuple[dict[str, Any], date]) -> date:
    return loaded[1]


def environment(world: dict[str, Any], env: dict[str, str]) -> DemoEnvironment:
    return DemoEnvironment({}, build, world=world, database_url=env["DATABASE_URL"])


def only(result: RunResult, code: str, subject: str | None = None) -> Finding:
    """The one finding with ``code`` (and ``subject``) in the run."""
    found = [f for f in result.findings if f.code == code and (subject is None or f.subject == subject)]
    assert len(found) == 1, (code, subject, [(f.code, f.subject) for f in result.findings])
    return found[0]


def codes(result: RunResult) -> set[tuple[str, str]]:
    return {(f.code, f.subject) for f in result.findings}


def no_impact(finding: Finding) -> bool:
    return finding.impact.to_json() == {"invoices": [], "count": 0, "amounts": {}}


def set_connection(demo: DemoEnvironment, integration: str, side: str, **values: Any) -> None:
    """Write a stored connection's state the way the app does: on its row in the store."""
    with demo.services.sessions.begin() as session:
        row = get_connection(session, integration, side)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)


def stored_credentials(demo: DemoEnvironment, integration: str, side: str) -> Credentials:
    with demo.services.sessions() as session:
        row = get_connection(session, integration, side)
        assert row is not None
        return decode(row, demo.services.vault)


def hubspot_invoice(
    number: str,
    status: str,
    day: date,
    *,
    contact: str = "1",
    product: str = "10",
    quantity: int = 1,
    price: str = "30.00",
    name: str = "TPS report review",
) -> dict[str, Any]:
    """An invoice for Initech's HubSpot portal (5522) in the emulator's world shape."""
    return {
        "id": number.removeprefix("INI-"),
        "number": number,
        "status": status,
        "currency": "NZD",
        "date": day.isoformat(),
        "modified": f"{day.isoformat()}T09:00:00Z",
        "contact": contact,
        "lines": [{"product": product, "quantity": quantity, "price": price, "name": name}],
    }


def add_initech_copy(world: dict[str, Any], name: str, **config: Any) -> None:
    """Another integration over Initech's HubSpot portal and Xero organisation, same credentials."""
    demo = world["demo"]
    demo["integrations"][name] = {**copy.deepcopy(demo["integrations"]["initech"]), **config}
    demo["credentials"][name] = copy.deepcopy(demo["credentials"]["initech"])


# -- connection ---------------------------------------------------------------------------


def test_connection_disconnected_stored_state_and_no_credentials(world: dict[str, Any], env: dict[str, str]) -> None:
    with environment(world, env) as demo:
        set_connection(
            demo,
            "initech",
            "destination",
            state="disconnected",
            last_error="Xero: the organisation was disconnected from the app",
        )
        stored = demo.services.checks.run("initech")
        # No credentials at all: the side cannot even be set up, so nothing else runs.
        with demo.services.sessions.begin() as session:
            row = get_connection(session, "bluegum", "source")
            assert row is not None
            session.delete(row)
        missing = demo.services.checks.run("bluegum")

    finding = only(stored, "connection.disconnected", "xero")
    assert finding.severity is Severity.FAIL and finding.system == "xero"
    assert finding.evidence == {
        **XERO,
        "state": "disconnected",
        "reason": "disconnected",
        "last_error": "Xero: the organisation was disconnected from the app",
    }
    assert finding.action is not None and finding.action.kind == "reauthorise"
    assert finding.action.params == {"system": "xero", "side": "destination"}
    assert no_impact(finding)
    assert not any(f.code == "connection.state" for f in stored.findings)

    assert [(f.code, f.subject) for f in missing.findings] == [("connection.disconnected", "stripe")]
    [finding] = missing.findings
    assert finding.severity is Severity.FAIL
    assert finding.evidence == {
        **STRIPE,
        "error": "CredentialsMissing",
        "message": "Stripe (source) is not connected: run `sync-doctor connect bluegum source --api-key KEY`",
        "provider_code": None,
        "status": None,
        "from_error": True,
        "reason": "no_credentials",
        "state": "active",
    }
    assert finding.action is None  # a Stripe key is pasted by a person, not re-consented


def test_connection_state_grace_pending_and_reauth(world: dict[str, Any], env: dict[str, str]) -> None:
    with environment(world, env) as demo:
        set_connection(demo, "acme", "source", state="grace_period")
        set_connection(
            demo, "acme", "destination", state="pending_credits", last_error="Subscription payment is overdue"
        )
        acme = demo.services.checks.run("acme")
        set_connection(
            demo, "initech", "destination", state="requires_reauth", last_error="consent withdrawn by the Xero admin"
        )
        initech = demo.services.checks.run("initech")

    grace = only(acme, "connection.state", "hubspot")
    assert grace.severity is Severity.WARN  # a grace period still syncs until it ends
    assert grace.evidence == {**HUBSPOT, "state": "grace_period", "last_error": None}
    assert grace.action is None and no_impact(grace)
    pending = only(acme, "connection.state", "quickbooks")
    assert pending.severity is Severity.FAIL
    assert pending.evidence == {
        **QUICKBOOKS,
        "state": "pending_credits",
        "last_error": "Subscription payment is overdue",
    }
    assert pending.action is None  # re-consenting does not pay the bill

    reauth = only(initech, "connection.state", "xero")
    assert reauth.severity is Severity.FAIL
    assert reauth.evidence == {**XERO, "state": "requires_reauth", "last_error": "consent withdrawn by the Xero admin"}
    assert reauth.action is not None and reauth.action.kind == "reauthorise"
    # A stored state that already explains the failure is not repeated by the token checks.
    assert codes(initech) == {("connection.state", "xero")}


def test_connection_unreachable_when_the_system_answers_garbage(world: dict[str, Any], env: dict[str, str]) -> None:
    # A proxy or gateway page instead of Xero's JSON, on every request.
    world["xero"]["faults"] = {"garbage": 1000}
    with environment(world, env) as demo:
        result = demo.services.checks.run("initech")
    assert codes(result) == {("connection.unreachable", "xero")}  # every check that hit it, once
    finding = only(result, "connection.unreachable", "xero")
    assert finding.severity is Severity.ERROR
    assert finding.evidence == {
        **XERO,
        "error": "UnexpectedResponse",
        "message": "answered 200 with a body that is not JSON: '<html><body>Bad Gateway</body></html>'",
        "provider_code": None,
        "status": 200,
        "from_error": True,
    }
    assert finding.action is None and no_impact(finding)


# -- tokens and keys ----------------------------------------------------------------------


def test_token_expired_access_without_refresh_and_refresh_unused_too_long(
    world: dict[str, Any], env: dict[str, str]
) -> None:
    # Initech: the access token has expired and no refresh token was ever stored.
    initech = world["demo"]["credentials"]["initech"]["destination"]
    del initech["refresh_token"]
    initech["expires_in"] = -60
    for grant in world["xero"]["grants"]:
        if grant["access_token"] == "at-initech-xero":
            grant["expires_in"] = -60
    # Bluegum: Xero's refresh token dies after 60 days unused; this one was issued 61 days ago.
    world["demo"]["credentials"]["bluegum"]["destination"]["refresh_issued_days_ago"] = 61
    with environment(world, env) as demo:
        access_expired_at = stored_credentials(demo, "initech", "destination").expires_at
        refresh_issued_at = stored_credentials(demo, "bluegum", "destination").refresh_issued_at
        no_refresh = demo.services.checks.run("initech")
        unused = demo.services.checks.run("bluegum")

    assert access_expired_at is not None and refresh_issued_at is not None
    finding = only(no_refresh, "token.expired", "xero")
    assert finding.severity is Severity.FAIL
    assert finding.evidence == {
        **XERO,
        "token": "access",
        "expired_at": access_expired_at.isoformat(),
        "refreshable": False,
    }
    assert not [f for f in no_refresh.findings if f.code == "token.refresh_failed"]  # one problem, one finding
    assert finding.action is not None and finding.action.kind == "reauthorise"

    finding = only(unused, "token.expired", "xero")
    assert finding.severity is Severity.FAIL
    dies = (refresh_issued_at + timedelta(days=60)).isoformat()
    assert finding.evidence == {
        **XERO,
        "token": "refresh",
        "basis": "unused",
        "issued_at": refresh_issued_at.isoformat(),
        "expires_at": dies,
        "lifetime_days": 60,
        "age_days": 61,
        "expired_at": dies,
        "refreshable": False,
    }
    assert finding.action is not None and finding.action.kind == "reauthorise"
    assert not any(f.code == "token.expiring" for f in unused.findings)  # dead, not dying


def test_apikey_permissions_from_the_key_probe_and_from_a_refused_call(
    world: dict[str, Any], env: dict[str, str]
) -> None:
    # Bluegum's Stripe restricted key may read everything but tax rates.
    for key in world["stripe"]["api_keys"]:
        if key["account"] == "acct_bluegum":
            key["permissions"] = ["rak_customer_read", "rak_product_read", "rak_price_read", "rak_invoice_read"]
    # Initech's HubSpot private app was created without the products scope.
    for key in world["hubspot"]["api_keys"]:
        if key["portal"] == "5522":
            key["scopes"] = [s for s in key["scopes"] if s != "crm.objects.products.read"]
    with environment(world, env) as demo:
        stripe = demo.services.checks.run("bluegum")
        hubspot = demo.services.checks.run("initech")

    finding = only(stripe, "apikey.permissions", "stripe")
    assert finding.severity is Severity.FAIL
    assert finding.evidence == {
        **STRIPE,
        "missing": ["rak_tax_rate_read"],
        "granted": ["rak_customer_read", "rak_invoice_read", "rak_price_read", "rak_product_read"],
        "needed": ["rak_customer_read", "rak_product_read", "rak_price_read", "rak_invoice_read", "rak_tax_rate_read"],
        "granted_from": "system",
    }
    assert finding.action is None  # a restricted key's permissions are edited in the Dashboard

    # Private-app tokens are not introspectable: HubSpot's 403 MISSING_SCOPES names the gap.
    assert [(f.code, f.subject) for f in hubspot.findings] == [("apikey.permissions", "hubspot")]
    finding = only(hubspot, "apikey.permissions", "hubspot")
    assert finding.severity is Severity.FAIL
    assert finding.evidence == {
        **HUBSPOT,
        "error": "ScopeMissing",
        "message": "This app hasn't been granted all required scopes to make this call. Read more about "
        "required scopes here: https://developers.hubspot.com/scopes.",
        "provider_code": "MISSING_SCOPES",
        "status": 403,
        "from_error": True,
        "missing": ["crm.objects.products.read"],
    }
    assert finding.action is None


# -- plan ---------------------------------------------------------------------------------


def test_plan_addon_missing_blocks_the_invoices_waiting_to_land(
    world: dict[str, Any], env: dict[str, str], today: date
) -> None:
    portal = world["hubspot"]["portals"]["5522"]
    portal["invoices"] += [
        hubspot_invoice("INI-2003", "open", today - timedelta(days=2), quantity=2),
        hubspot_invoice(
            "INI-2004", "draft", today - timedelta(days=1), product="11", price="12.50", name="Red stapler"
        ),
    ]
    next(t for t in world["xero"]["tenants"] if t["id"] == INITECH_TENANT)["actions"] = {
        "CreateApprovedInvoice": "NOT-ALLOWED"
    }
    world["demo"]["integrations"]["initech"].update(
        requires=["approve_invoices"], settings={"statuses": ["draft", "open", "paid"]}
    )
    with environment(world, env) as demo:
        result = demo.services.checks.run("initech")

    finding = only(result, "plan.addon_missing", "approve_invoices")
    assert finding.severity is Severity.FAIL and finding.system == "xero"
    # INI-2001 and INI-2002 are in Xero already; the draft could still land as a draft.
    assert finding.evidence == {
        "system": "xero",
        "feature": "approve_invoices",
        "plan": "PREMIUM",
        "organisation": "Initech Ltd",
        "reasons": ["required"],
        "count": 1,
        "invoices": ["INI-2003"],
    }
    assert finding.impact.to_json() == {"invoices": ["INI-2003"], "count": 1, "amounts": {"NZD": "60.00"}}


def test_plan_trial_demo_company_fails_running_trial_warns(world: dict[str, Any], env: dict[str, str]) -> None:
    next(t for t in world["xero"]["tenants"] if t["id"] == INITECH_TENANT)["organisation"]["IsDemoCompany"] = True
    world["quickbooks"]["realms"]["9130350000000001"]["Entitlements"]["DaysRemainingTrial"] = 12
    with environment(world, env) as demo:
        initech = demo.services.checks.run("initech")
        acme = demo.services.checks.run("acme")

    demo_company = only(initech, "plan.trial", "xero")
    assert demo_company.severity is Severity.FAIL  # a live integration pushing into a demo company
    assert demo_company.evidence == {
        "system": "xero",
        "side": "destination",
        "organisation": "Initech Ltd",
        "tenant": INITECH_TENANT,
        "plan": "PREMIUM",
        "is_trial": False,
        "is_demo": True,
        "trial_days_remaining": None,
        "status": "ACTIVE",
    }
    assert no_impact(demo_company)

    trial = only(acme, "plan.trial", "quickbooks")
    assert trial.severity is Severity.WARN
    assert trial.evidence == {
        "system": "quickbooks",
        "side": "destination",
        "organisation": "Acme Field Services",
        "tenant": "9130350000000001",
        "plan": "QuickBooks Online Plus",
        "is_trial": True,
        "is_demo": False,
        "trial_days_remaining": 12,
        "status": "PAID",
    }


# -- settings -----------------------------------------------------------------------------


@pytest.fixture
def initech_backlog(world: dict[str, Any], today: date) -> dict[str, Any]:
    """Initech with two invoices not yet in Xero (INI-1990 paid, INI-2003 open) and a draft."""
    world["hubspot"]["portals"]["5522"]["invoices"] += [
        hubspot_invoice("INI-1990", "paid", today - timedelta(days=20), contact="2"),
        hubspot_invoice("INI-2003", "open", today - timedelta(days=2), quantity=2),
        hubspot_invoice(
            "INI-2004", "draft", today - timedelta(days=1), product="11", price="12.50", name="Red stapler"
        ),
    ]
    return world


WAITING = {"invoices": ["INI-1990", "INI-2003"], "count": 2, "amounts": {"NZD": "90.00"}}


def test_settings_switches_list_every_waiting_invoice(initech_backlog: dict[str, Any], env: dict[str, str]) -> None:
    world = initech_backlog
    add_initech_copy(world, "initech-off", settings={"enabled": False})
    add_initech_copy(world, "initech-manual", settings={"auto_sync": {"sales": False}})
    add_initech_copy(world, "initech-pull", settings={"direction": "destination_to_source"})
    with environment(world, env) as demo:
        off, manual, pull = (demo.services.checks.run(n) for n in ("initech-off", "initech-manual", "initech-pull"))

    finding = only(off, "settings.sync_disabled", "enabled")
    assert finding.severity is Severity.FAIL and finding.system == "hubspot"
    assert finding.evidence == {"setting": "enabled", "value": False, "count": 2, "invoices": ["INI-1990", "INI-2003"]}
    assert finding.impact.to_json() == WAITING

    finding = only(manual, "settings.sync_disabled", "auto_sync.sales")
    assert finding.severity is Severity.FAIL
    assert finding.evidence == {
        "setting": "auto_sync.sales",
        "value": False,
        "count": 2,
        "invoices": ["INI-1990", "INI-2003"],
    }
    assert finding.impact.to_json() == WAITING

    finding = only(pull, "settings.direction", "direction")
    assert finding.severity is Severity.FAIL
    assert finding.evidence == {
        "direction": "destination_to_source",
        "needed": "source_to_destination",
        "count": 2,
        "invoices": ["INI-1990", "INI-2003"],
    }
    assert finding.impact.to_json() == WAITING
    # Only the switch that is off is reported.
    assert not any(f.code == "settings.direction" for f in (*off.findings, *manual.findings))
    assert not any(f.code == "settings.sync_disabled" for f in pull.findings)


def test_settings_filters_name_the_invoices_they_keep_out(
    initech_backlog: dict[str, Any], env: dict[str, str], today: date
) -> None:
    world = initech_backlog
    since = today - timedelta(days=10)
    add_initech_copy(world, "initech-recent", settings={"since": since.isoformat()})
    # Bluegum's BG-0103 was created by a Connect application the sync is told to skip.
    for invoice in world["stripe"]["accounts"]["acct_bluegum"]["invoices"]:
        if invoice["number"] == "BG-0103":
            invoice["application"] = "ca_ShopSyncApp01"
    world["demo"]["integrations"]["bluegum"]["settings"]["skip_sources"] = ["ca_ShopSyncApp01"]
    with environment(world, env) as demo:
        initech, recent, bluegum = (demo.services.checks.run(n) for n in ("initech", "initech-recent", "bluegum"))

    finding = only(initech, "settings.status_filter", "statuses")
    assert finding.severity is Severity.WARN and finding.system == "hubspot"
    assert finding.evidence == {
        "selected": ["open", "paid"],
        "excluded": {"draft": 1},
        "count": 1,
        "invoices": ["INI-2004"],
    }
    assert finding.impact.to_json() == {"invoices": ["INI-2004"], "count": 1, "amounts": {"NZD": "12.50"}}
    assert not any(f.code in ("settings.date_filter", "settings.skipped_source") for f in initech.findings)

    finding = only(recent, "settings.date_filter", "date_range")
    assert finding.severity is Severity.WARN
    assert finding.evidence == {
        "since": since.isoformat(),
        "until": None,
        "before_since": 1,
        "after_until": 0,
        "count": 1,
        "invoices": ["INI-1990"],
    }
    assert finding.impact.to_json() == {"invoices": ["INI-1990"], "count": 1, "amounts": {"NZD": "30.00"}}

    finding = only(bluegum, "settings.skipped_source", "skip_sources")
    assert finding.severity is Severity.WARN and finding.system == "stripe"
    assert finding.evidence == {
        "skip_sources": ["ca_ShopSyncApp01"],
        "excluded": {"ca_ShopSyncApp01": 1},
        "count": 1,
        "invoices": ["BG-0103"],
    }
    assert finding.impact.to_json() == {"invoices": ["BG-0103"], "count": 1, "amounts": {"AUD": "99.00"}}
    # A skipped invoice is out of scope: no other check blames it on Jane Smith's name collision.
    assert not any(f.code == "contact.name_collision" for f in bluegum.findings)


# -- run limits ---------------------------------------------------------------------------


def test_checks_slower_than_the_time_limit_are_reported_not_waited_for(
    world: dict[str, Any], env: dict[str, str]
) -> None:
    for system in ("hubspot", "xero"):
        world[system]["faults"] = {"latency_ms": 1000}
    with environment(world, env) as demo:
        demo.services.checks.time_limit = 0.5
        result = demo.services.checks.run("initech")

    # Every check that calls either system is still waiting at the time limit: the report names
    # the two systems that kept them waiting, once each, instead of one vague timeout per check.
    # The rate check reads only this run's counters and finishes.
    timed_out = [
        "connection.source",
        "connection.destination",
        "tokens",
        "plan",
        "settings",
        "mappings",
        "contacts",
        "skus",
        "sync_state",
    ]
    assert codes(result) == {("connection.slow", "hubspot"), ("connection.slow", "xero")}
    for system in ("hubspot", "xero"):
        finding = only(result, "connection.slow", system)
        assert finding.severity is Severity.ERROR and finding.system == system
        assert finding.evidence["provider_code"] == "run_time_limit" and finding.evidence["timeout_s"] == 0.5
        assert all(name in finding.evidence["message"] for name in timed_out)
    for name in timed_out:
        assert result.timings[name] == 0.5
    assert "rate" in result.timings and result.timings["rate"] < 0.5
