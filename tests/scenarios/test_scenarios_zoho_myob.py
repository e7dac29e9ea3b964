"""Zoho Books and MYOB destinations through every check family: the demo world's ``tasman``
(Stripe -> Zoho Books) and ``harbour`` (HubSpot -> MYOB), altered the way those systems really
break, run by the real checks against the emulators over loopback HTTP and stored in the test
database (SQLite, or PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from app import build
from checks.findings import Finding, Severity
from checks.runner import RunResult
from demo import DEMO_WORLD, DemoEnvironment
from sandbox.server import load_world
from tests.scenarios.test_scenarios_platform import codes, only, set_connection

ZOHO = {"system": "zoho_books", "side": "destination", "display_name": "Zoho Books"}
MYOB = {"system": "myob", "side": "destination", "display_name": "MYOB"}
ZOHO_ORG = "7001234567"
HARBOUR_FILE = "4a7b0e5c-1d2e-4f3a-9b8c-7d6e5f4a3b21"


@pytest.fixture(scope="module")
def loaded() -> dict[str, Any]:
    return load_world(DEMO_WORLD)


@pytest.fixture
def world(loaded: dict[str, Any]) -> Iterator[dict[str, Any]]:
    world = copy.deepcopy(loaded)
    world["myob"]["faults"] = {}  # throttling has its own scenario; the others run without it
    yield world


def environment(world: dict[str, Any], env: dict[str, str]) -> DemoEnvironment:
    return DemoEnvironment({}, build, world=world, database_url=env["DATABASE_URL"])


def zoho_org(world: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = world["zoho_books"]["organizations"][0]
    return found


def harbour_file(world: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = world["myob"]["company_files"][0]
    return found


def credentials(world: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = world["demo"]["credentials"][name]["destination"]
    return found


def on(result: RunResult, system: str) -> dict[str, Finding]:
    return {f.code: f for f in result.findings if f.system == system}


def day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


# -- connection ------------------------------------------------------------------------------


def test_connection_disconnected_wrong_tenant_and_unreachable(world: dict[str, Any], env: dict[str, str]) -> None:
    world["demo"]["integrations"]["tasman"]["destination"]["tenant"] = "7009999999"  # not the token's org
    other_file = "0e55e471-0000-4000-8000-00000000e551"
    credentials(world, "harbour")["tenant"] = other_file  # the consent picked another company file...
    world["myob"]["grants"][0]["principal"] = [other_file]  # ...and the token reaches only that one
    with environment(world, env) as demo:
        wrong_org = demo.services.checks.run("tasman")
        wrong_file = demo.services.checks.run("harbour")
        set_connection(demo, "harbour", "destination", state="disconnected", last_error="removed by an admin")
        disconnected = demo.services.checks.run("harbour")
    unreachable_world = copy.deepcopy(world)
    unreachable_world["demo"]["integrations"]["tasman"]["destination"]["tenant"] = ZOHO_ORG
    unreachable_world["zoho_books"]["faults"] = {"garbage": 1000}
    with environment(unreachable_world, env) as demo:
        unreachable = demo.services.checks.run("tasman")

    tenant = only(wrong_org, "connection.wrong_tenant", "zoho_books")
    assert tenant.severity is Severity.FAIL
    assert "does not reach the configured organisation 7009999999" in tenant.evidence["message"]
    assert "Tasman Catering (7001234567)" in tenant.evidence["message"]
    assert len([f for f in wrong_org.findings if f.system == "zoho_books"]) == 1  # one error, not one per read
    file = only(wrong_file, "connection.wrong_tenant", "myob")
    assert file.evidence["provider_code"] == "AccessDenied" and file.evidence["status"] == 403
    assert "granted company file 0e55e471" in file.evidence["message"]
    gone = only(disconnected, "connection.disconnected", "myob")
    assert gone.evidence == {
        **MYOB,
        "state": "disconnected",
        "reason": "disconnected",
        "last_error": "removed by an admin",
    }
    assert gone.action is not None and gone.action.params == {"system": "myob", "side": "destination"}
    down = only(unreachable, "connection.unreachable", "zoho_books")
    assert down.severity is Severity.ERROR and "not JSON" in down.evidence["message"]


# -- tokens ----------------------------------------------------------------------------------


def test_tokens_expired_refresh_refused_and_zohos_refresh_limit(world: dict[str, Any], env: dict[str, str]) -> None:
    tasman = credentials(world, "tasman")
    tasman["expires_in"] = -30
    harbour = credentials(world, "harbour")
    harbour.update(expires_in=-30, refresh_token="rt-harbour-gone")
    refused_world = copy.deepcopy(world)
    world["zoho_books"]["refresh_window_limit"] = 0  # something else already minted ten tokens this window
    with environment(world, env) as demo:
        limited = demo.services.checks.run("tasman")
        dead = demo.services.checks.run("harbour")
    refused_world["demo"]["credentials"]["tasman"]["destination"]["refresh_token"] = "1000.revoked"
    del refused_world["demo"]["credentials"]["harbour"]["destination"]["refresh_token"]
    with environment(refused_world, env) as demo:
        zoho_dead = demo.services.checks.run("tasman")
        expired = demo.services.checks.run("harbour")

    throttled = only(limited, "token.refresh_limited", "zoho_books")
    assert throttled.severity is Severity.ERROR  # the run could not read Zoho Books
    assert throttled.evidence["provider_code"] == "Access Denied" and throttled.evidence["retry_after"] == 600.0
    assert "too many requests continuously" in throttled.evidence["message"]
    assert throttled.action is None  # a new consent would not lift the block
    myob_dead = only(dead, "token.refresh_failed", "myob")
    assert myob_dead.evidence["provider_code"] == "invalid_grant" and myob_dead.action is not None
    zoho_refused = only(zoho_dead, "token.refresh_failed", "zoho_books")
    assert zoho_refused.evidence["provider_code"] == "invalid_code" and zoho_refused.evidence["status"] == 200
    gone = only(expired, "token.expired", "myob")
    assert gone.evidence["token"] == "access" and gone.evidence["refreshable"] is False


def test_myob_company_file_sign_in_wrong_or_missing(world: dict[str, Any], env: dict[str, str]) -> None:
    credentials(world, "harbour")["extra"] = {"tenant_user": "Administrator", "tenant_password": "old-password"}
    missing = copy.deepcopy(world)
    del missing["demo"]["credentials"]["harbour"]["destination"]["extra"]
    with environment(world, env) as demo:
        wrong = demo.services.checks.run("harbour")
        stored = demo.services.connect
        stored.save_tenant_login("harbour", "destination", "Administrator", "harbour-cf-demo", actor="test")
        fixed = demo.services.checks.run("harbour")
    with environment(missing, env) as demo:
        none = demo.services.checks.run("harbour")

    refused = only(wrong, "token.tenant_login", "myob")
    assert refused.severity is Severity.FAIL and refused.action is None
    assert refused.evidence["provider_code"] == "AccessDenied" and refused.evidence["status"] == 401
    assert "user and password were refused" in refused.evidence["message"]
    assert not [f for f in fixed.findings if f.code.startswith(("token.", "connection."))]
    assert "needs its own user sign-in" in only(none, "token.tenant_login", "myob").evidence["message"]


# -- plan and limits -------------------------------------------------------------------------


def test_zoho_daily_quota_nearly_spent_or_spent_by_another_app(world: dict[str, Any], env: dict[str, str]) -> None:
    with environment(world, env) as demo:
        nearly = demo.services.checks.run("tasman")
    zoho_org(world)["used_today"] = 5000
    with environment(world, env) as demo:
        spent = demo.services.checks.run("tasman")

    quota = only(nearly, "rate.limited", "zoho_books")
    assert quota.severity is Severity.WARN and quota.evidence["reasons"] == ["day_quota"]
    assert quota.evidence["day_limit"] == 5000 and 0 < quota.evidence["day_remaining"] < 500
    assert ("mapping.currency", "EUR") in codes(nearly)  # the run went on: the lines were read within quota
    out = only(spent, "rate.limited", "zoho_books")
    assert out.severity is Severity.ERROR and out.evidence["limit"] == "day"
    assert "the day's API quota is spent" in out.evidence["message"]
    assert out.evidence["retry_after"] > 60  # seconds to the daily reset: reported, not slept through


def test_myob_throttling_answered_403_is_waited_out(world: dict[str, Any], env: dict[str, str]) -> None:
    world["myob"]["faults"] = {"rate_limit_every": 4}
    with environment(world, env) as demo:
        result = demo.services.checks.run("harbour")
    throttled = only(result, "rate.limited", "myob")
    assert throttled.severity is Severity.WARN and throttled.evidence["throttled"] > 0
    assert throttled.evidence["last_problem"] == "second"
    assert ("sku.case_mismatch", "led-dl10") in codes(result)  # every read still completed


def test_an_edition_without_multicurrency(world: dict[str, Any], env: dict[str, str]) -> None:
    harbour_file(world).update(product_level={"Code": 10, "Name": "Basics"}, ui_access_flags=2)
    portal = world["hubspot"]["portals"]["6633"]
    portal["invoices"].append(
        {
            "id": "303",
            "number": "HE-3004",
            "status": "open",
            "currency": "USD",
            "date": day(-2),
            "modified": f"{day(-2)}T09:00:00Z",
            "contact": "2",
            "lines": [{"product": "12", "quantity": 1, "price": "70.00", "name": "Call-out"}],
        }
    )
    with environment(world, env) as demo:
        result = demo.services.checks.run("harbour")
    missing = only(result, "plan.feature_missing", "multicurrency")
    assert missing.evidence["system"] == "myob" and missing.evidence["plan"] == "Basics"
    assert missing.evidence["currencies"] == ["USD"] and missing.evidence["base_currency"] == "AUD"
    assert missing.impact.invoices == ("HE-3004",)


# -- contacts, SKUs, mappings, settings, sync state -------------------------------------------


def test_contacts_skus_and_mappings_against_zoho_rules(world: dict[str, Any], env: dict[str, str]) -> None:
    stripe = world["stripe"]["accounts"]["acct_tasman"]
    long_name = "The Tasmanian Festival of Food Wine and Music Incorporated " * 4
    stripe["customers"].append(
        {"id": "cus_long", "name": long_name.strip(), "email": "ap@festival.example", "created": day(-30)}
    )
    stripe["products"].append(
        {"id": "prod_cake", "name": "Celebration cake", "metadata": {"sku": "CAKE-XL"}, "created": day(-300)}
    )
    stripe["prices"].append(
        {"id": "price_cake", "product": "prod_cake", "unit_amount": 9500, "currency": "aud", "created": day(-300)}
    )
    stripe["invoices"].append(
        {
            "id": "in_tc0210",
            "number": "TC-0210",
            "customer": "cus_long",
            "status": "open",
            "currency": "aud",
            "created": day(-3),
            "lines": [{"price": "price_cake", "quantity": 1}, {"price": "price_staff", "quantity": 1}],
        }
    )
    zoho = zoho_org(world)
    staff = next(i for i in zoho["items"] if i["sku"] == "STAFF-HR")
    staff["status"] = "inactive"
    world["demo"]["integrations"]["tasman"]["mappings"] = {"default_account": "4999"}
    with environment(world, env) as demo:
        result = demo.services.checks.run("tasman")

    name = only(result, "contact.invalid_name")
    assert name.system == "zoho_books" and name.evidence["max_length"] == 200
    assert only(result, "sku.missing", "CAKE-XL").action is not None  # Zoho Books can create items
    assert only(result, "sku.archived", "STAFF-HR").evidence["item"]["active"] is False
    account = only(result, "mapping.account_code", "4999")
    assert account.system == "zoho_books"
    assert "TC-0210" in account.impact.invoices


def test_myob_rules_case_lock_and_tracking(world: dict[str, Any], env: dict[str, str]) -> None:
    portal = world["hubspot"]["portals"]["6633"]
    long_company = "Harbourside Electrical Contracting and Maintenance Services"
    portal["contacts"].append(
        {
            "id": "3",
            "firstname": long_company,
            "lastname": "",
            "company": long_company,
            "email": "ap@harbourside.example",
            "updated": f"{day(-30)}T09:00:00Z",
        }
    )
    portal["invoices"].append(
        {
            "id": "304",
            "number": "HE-3005",
            "status": "open",
            "currency": "AUD",
            "date": day(-2),
            "modified": f"{day(-2)}T09:00:00Z",
            "contact": "3",
            "lines": [{"product": "12", "quantity": 1, "price": "95.00", "name": "Call-out"}],
        }
    )
    with environment(world, env) as demo:
        result = demo.services.checks.run("harbour")
    cased = only(result, "sku.case_mismatch", "led-dl10")
    assert cased.system == "myob" and cased.evidence["destination_code"] == "LED-DL10"
    assert cased.impact.invoices == ("HE-3002",) and cased.impact.amounts == {"AUD": Decimal("516.00")}
    locked = only(result, "settings.period_locked", "lock_date")
    assert locked.system == "myob" and [i["number"] for i in locked.evidence["invoices"]] == ["HE-3003"]
    assert locked.evidence["lock_date"] == day(-15)  # MYOB locks dates *prior to* LockPeriodPriorTo
    too_long = only(result, "contact.invalid_name")
    assert too_long.evidence["max_length"] == 50


def test_sync_state_and_the_invoice_trace(world: dict[str, Any], env: dict[str, str]) -> None:
    with environment(world, env) as demo:
        zoho_result, zoho_trace = demo.services.checks.trace("tasman", "TC-0202")
        myob_result, myob_trace = demo.services.checks.trace("harbour", "HE-3002")
        synced_result, synced_trace = demo.services.checks.trace("harbour", "HE-3001")
        run = demo.services.checks.run("harbour")

    unsynced = only(run, "sync.unsynced", "MYOB")
    assert set(unsynced.impact.invoices) == {"HE-3002", "HE-3003"}
    zoho_json = zoho_trace.to_json()
    assert zoho_json["found"] and zoho_json["copies"] == [] and not zoho_json["synced"]
    assert "mapping.currency" in {b["code"] for b in zoho_json["blocking"]}
    assert "mapping.currency" in {f.code for f in zoho_result.findings}
    myob_json = myob_trace.to_json()
    assert myob_json["found"] and myob_json["copies"] == []
    assert "sku.case_mismatch" in {b["code"] for b in myob_json["blocking"]}
    assert myob_result.findings
    landed = synced_trace.to_json()
    assert landed["synced"] and [c["number"] for c in landed["copies"]] == ["HE-3001"]
    assert synced_result.integration == "harbour"
