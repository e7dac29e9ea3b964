"""The check service (service/runs.py): whole runs over real HTTP against the emulators (the
demo world, altered per test), stored in the test database (SQLite, or PostgreSQL with
TEST_DATABASE_URL), compared with the previous run, traced, summarised, announced."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from app import build
from demo import DEMO_WORLD, DemoEnvironment
from providers.records import Item
from sandbox.server import load_world

ACME_REALM = "9130350000000001"  # the demo's QuickBooks company for acme


@pytest.fixture(scope="module")
def demo_world() -> dict[str, Any]:
    return load_world(DEMO_WORLD)


def environment(world: dict[str, Any], env: dict[str, str]) -> DemoEnvironment:
    return DemoEnvironment({}, build, world=world, database_url=env["DATABASE_URL"])


@pytest.fixture
def world(demo_world: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield copy.deepcopy(demo_world)


def test_one_side_failing_does_not_hide_the_other_sides_findings(world: dict[str, Any], env: dict[str, str]) -> None:
    for key in world["hubspot"]["api_keys"]:
        if key["portal"] == "5522":
            key["revoked"] = True
    world["xero"]["faults"] = {"wrong_tenant": True}
    with environment(world, env) as demo:
        result = demo.services.checks.run("initech")
    codes = {(f.code, f.subject) for f in result.findings}
    assert ("connection.wrong_tenant", "xero") in codes
    assert any(code in ("apikey.invalid", "token.revoked") and subject == "hubspot" for code, subject in codes)
    hubspot = [f for f in result.findings if f.subject == "hubspot"]
    assert len(hubspot) == 1  # every check that hit the revoked key, reported once


def test_each_resource_is_fetched_once_per_run(world: dict[str, Any], env: dict[str, str]) -> None:
    with environment(world, env) as demo:
        demo.services.checks.run("initech")
        assert demo.sandbox is not None
        # HubSpot lists live and archived records with two different queries on one path.
        two_queries = {"GET /crm/v3/objects/contacts", "GET /crm/v3/objects/products"}
        for system in ("hubspot", "xero"):
            requests = demo.sandbox.emulators[system].requests
            repeated = {path: n for path, n in requests.items() if n > (2 if path in two_queries else 1)}
            assert repeated == {}, (system, repeated)
            assert requests, system


def test_runs_are_compared_new_ongoing_resolved(world: dict[str, Any], env: dict[str, str]) -> None:
    with environment(world, env) as demo:
        checks = demo.services.checks
        first = checks.run("acme")
        missing = {f.subject for f in first.findings if f.code == "sku.missing"}
        assert "SERV-010" in missing and all(f.status == "new" for f in first.findings)
        second = checks.run("acme")
        assert all(f.status == "ongoing" for f in second.findings) and second.resolved == ()
        # Fix one cause in QuickBooks itself, through the real API, then check again.
        factory = checks.provider_factory(checks.get("acme"))
        from providers.http import CallStats

        provider = factory("destination", checks.get("acme").destination, CallStats())
        created = provider.create_item(
            Item(id="", code="SERV-010", name="Installation", account_code="4000"), idempotency_key="fix-serv-010"
        )
        assert created.created
        third = checks.run("acme")
        assert ("sku.missing", "SERV-010") in third.resolved
        assert all(f.status == "ongoing" for f in third.findings)
        overview = {h.name: h for h in checks.overview()}
        assert overview["acme"].status == "failing" and overview["initech"].status == "unchecked"


def test_trace_explains_a_blocked_and_a_synced_invoice(world: dict[str, Any], env: dict[str, str]) -> None:
    with environment(world, env) as demo:
        _, blocked = demo.services.checks.trace("acme", "INV-1004")
        _, synced = demo.services.checks.trace("acme", "INV-1001")
        _, draft = demo.services.checks.trace("acme", "INV-1006")
    assert not blocked.synced and "prod-003" in blocked.verdict
    blocking_codes = {f["code"] for f in blocked.blocking}
    assert {"sku.case_mismatch", "sku.missing"} <= blocking_codes
    assert synced.synced and "INV-1001 is in QuickBooks Online" in synced.verdict
    assert "draft is excluded by the status filter" in draft.verdict
    assert draft.to_json()["number"] == "INV-1006"
    from cli.render import trace_report  # what `check acme --invoice INV-1004` prints

    printed = trace_report(blocked)
    assert printed.startswith("Invoice INV-1004 in acme:") and printed.endswith(f"=> {blocked.verdict}")
    assert "NO  In QuickBooks Online: not found by number or reference" in printed


def test_runs_started_outside_slack_alert_once_per_newly_failing_code(
    world: dict[str, Any], env: dict[str, str]
) -> None:
    from sandbox.slack import FakeSlack

    world["demo"]["slack"] = {"alert_channel": "C0ALERTS"}
    with FakeSlack() as slack:
        environ = {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_API_URL": slack.api_url}
        with DemoEnvironment(environ, build, world=world, database_url=env["DATABASE_URL"]) as demo:
            first = demo.services.checks.run("umbrella", trigger="cli")
            failing = {f.code for f in first.findings if f.severity.label == "fail"}
            assert demo.services.notifier.flush(30)
            alerts = slack.channel_messages("C0ALERTS", top_level=True)
            assert len(alerts) == len(failing) == 2
            second = demo.services.checks.run("umbrella", trigger="cli")
            # The dead refresh token is now stored as requires_reauth; it is still the same problem.
            assert {f.code for f in second.findings if f.severity.label == "fail"} == failing
            assert all(f.status == "ongoing" for f in second.findings) and second.resolved == ()
            assert demo.services.notifier.flush(30)
            assert len(slack.channel_messages("C0ALERTS", top_level=True)) == len(failing)  # unchanged: silent


def test_api_calls_report_what_the_systems_served(world: dict[str, Any], env: dict[str, str]) -> None:
    # No identity_url: QuickBooks' entitlements host follows base_url (the emulator), instead of
    # production always; and a request that never connected is not counted as a call.
    del world["demo"]["integrations"]["acme"]["destination"]["identity_url"]
    with environment(world, env) as demo:
        assert demo.sandbox is not None
        served = demo.sandbox.emulators["quickbooks"].requests
        served_hubspot = demo.sandbox.emulators["hubspot"].requests
        result = demo.services.checks.run("acme")
    assert served[f"GET /manage/entitlements/v3/{ACME_REALM}"] == 1
    assert result.api_calls["quickbooks"] == sum(served.values())
    assert result.api_calls["hubspot"] == sum(served_hubspot.values())


def test_a_system_slower_than_its_timeout_ends_the_run_with_one_finding_naming_it(
    world: dict[str, Any], env: dict[str, str]
) -> None:
    world["xero"]["faults"] = {"latency_ms": 30_000}  # Xero answers in 30 s: for this run, never
    world["demo"]["integrations"]["initech"]["destination"]["timeout_seconds"] = 1
    with environment(world, env) as demo:
        demo.services.checks.time_limit = 20  # far above the side's timeout
        result = demo.services.checks.run("initech")
        assert demo.sandbox is not None
        xero_requests = sum(demo.sandbox.emulators["xero"].requests.values())
    slow = [f for f in result.findings if f.code == "connection.slow"]
    # One finding, naming Xero, from the side's own timeout (not the run's time limit).
    assert [(f.subject, f.evidence["provider_code"], f.evidence["timeout_s"]) for f in slow] == [
        ("xero", "timeout", 1.0)
    ]
    assert not [f for f in result.findings if f.code.startswith("internal.")]
    assert not [f for f in result.findings if f.system == "xero" and f.code != "connection.slow"]
    # Only requests already in flight when the first timed out went out (Xero allows 5 at once).
    assert result.api_calls["xero"] <= 5 and xero_requests <= 5
    assert result.api_calls["hubspot"] > 0  # the other side was still checked


def test_a_system_that_never_answers_within_the_run_is_named_once(world: dict[str, Any], env: dict[str, str]) -> None:
    world["xero"]["faults"] = {"latency_ms": 60_000}  # still waiting when the run gives up
    with environment(world, env) as demo:
        demo.services.checks.time_limit = 3  # under the default 30 s request timeout
        result = demo.services.checks.run("initech")
    slow = [f for f in result.findings if f.code == "connection.slow"]
    assert [(f.subject, f.evidence["provider_code"]) for f in slow] == [("xero", "run_time_limit")]
    assert not [f for f in result.findings if f.code == "internal.check_timeout"]
