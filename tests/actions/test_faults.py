"""Bad input and faults while actions run: a bulk re-sync through 429s, 5xx and garbage (retried,
nothing duplicated), retries running out (failed per invoice, then reported by sync.failed), a
permanent refusal (stops at once, mapped to its finding), two admins approving at the same
instant, a request that expired, an integration removed from the configuration, the database
going away mid-action."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from actions.engine import Progress, RetryPolicy
from actions.errors import AlreadyDecided, Expired, Interrupted, NotRunnable
from app import build
from config.integrations import parse_config
from demo import DemoEnvironment
from tests.actions.conftest import INITECH_TENANT, environment, xero_invoices

BULK = [f"INI-3{n:03d}" for n in range(1, 13)]  # 12: Xero's 60 calls a minute are never the wait
FAST = RetryPolicy(retries=3, backoff=0.01)


@pytest.fixture
def bulk_world(world: dict[str, Any]) -> dict[str, Any]:
    """initech with 12 more HubSpot invoices, none of them in Xero yet."""
    for portal in world["hubspot"]["portals"].values():
        if portal["hub_domain"] == "initech.example":
            template = portal["invoices"][1]
            for n, number in enumerate(BULK):
                portal["invoices"].append({**template, "id": str(300 + n), "number": number, "contact": str(1 + n % 2)})
    world["xero"]["faults"] = {"retry_after": 0.05}
    return world


@pytest.fixture
def bulk(bulk_world: dict[str, Any], env: dict[str, str]) -> Any:
    with environment(bulk_world, env) as demo:
        demo.services.actions.retry = FAST
        yield demo


def xero_faults(demo: DemoEnvironment) -> Any:
    assert demo.sandbox is not None
    return demo.sandbox.emulators["xero"].faults


def request_approved(demo: DemoEnvironment, integration: str, numbers: list[str]) -> int:
    actions = demo.services.actions
    action = actions.request(integration, "resync", {"numbers": numbers}, requested_by="U0SUPPORT")
    actions.approve(action.id, user="U0ADMIN1", is_admin=True)
    return action.id


def test_a_bulk_resync_rides_out_429s_5xx_and_garbage_without_duplicates(bulk: DemoEnvironment) -> None:
    action_id = request_approved(bulk, "initech", BULK)
    faults = xero_faults(bulk)
    # A 503 and garbage for the first requests (the look-up), then a 429 every 5th request.
    faults.server_errors, faults.garbage, faults.rate_limit_every = 1, 1, 5
    seen: list[Progress] = []
    outcome = bulk.services.actions.run(action_id, on_progress=seen.append)
    faults.rate_limit_every = 0
    assert outcome.action.state == "succeeded"
    assert all(len(xero_invoices(bulk, n)) == 1 for n in BULK)
    assert faults.server_errors == faults.garbage == 0  # every fault was met
    retries = [e for e in bulk.services.actions.audit("initech", action_id=action_id) if e.event == "step.retry"]
    assert retries, "the faults were retried"
    assert seen[-1].phase == "finished" and seen[-1].done == seen[-1].total == 12 and seen[-1].succeeded == 12
    assert outcome.action.summary["verification"]["differing"] == []


def test_retries_run_out_then_each_invoice_fails_and_sync_failed_reports_it(bulk: DemoEnvironment) -> None:
    numbers = BULK[:3]
    action_id = request_approved(bulk, "initech", numbers)
    faults = xero_faults(bulk)
    faults.rate_limit = 10_000
    outcome = bulk.services.actions.run(action_id, verify=False)
    faults.rate_limit = 0
    assert outcome.action.state == "failed"
    assert {(s.state, s.finding) for s in outcome.action.steps} == {("failed", "rate.limited")}
    assert all(xero_invoices(bulk, n) == [] for n in numbers)
    failed = {f.subject: f for f in bulk.services.checks.run("initech").findings if f.code == "sync.failed"}
    assert sorted(failed) == numbers
    assert "rate limit" in failed[numbers[0]].evidence["error"]
    # The system answers again: asked again, they land, and sync.failed clears.
    again = request_approved(bulk, "initech", numbers)
    done = bulk.services.actions.run(again)
    assert done.action.state == "succeeded" and done.check is not None
    assert not [f for f in done.check.findings if f.code == "sync.failed"]


def test_a_permanent_refusal_stops_at_once_with_the_finding_that_explains_it(bulk: DemoEnvironment) -> None:
    action_id = request_approved(bulk, "initech", BULK[:1])
    assert bulk.sandbox is not None
    xero: Any = bulk.sandbox.emulators["xero"]
    org = xero.org(INITECH_TENANT)
    org.organisation["PeriodLockDate"] = "2999-01-01"  # the books closed after the plan was approved
    outcome = bulk.services.actions.run(action_id, verify=False)
    step = outcome.action.steps[0]
    assert outcome.action.state == "failed" and step.attempts == 1
    assert step.finding == "settings.period_locked" and "period lock date" in (step.error or "")
    assert xero_invoices(bulk, BULK[0]) == []


def test_two_admins_approving_at_the_same_instant_make_one_run(demo: DemoEnvironment) -> None:
    actions = demo.services.actions
    action = actions.request("acme", "resync", {"numbers": "INV-1003"}, requested_by="U0SUPPORT")
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def click(user: str) -> None:
        barrier.wait()
        try:
            results[user] = actions.approve(action.id, user=user, is_admin=True)
        except AlreadyDecided as e:
            results[user] = e

    threads = [threading.Thread(target=click, args=(u,)) for u in ("U0ADMIN1", "U0ADMIN2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [u for u, r in results.items() if not isinstance(r, AlreadyDecided)]
    assert len(winners) == 1
    loser = next(r for r in results.values() if isinstance(r, AlreadyDecided))
    assert loser.decided_by == winners[0]

    outcomes: list[Any] = []

    def run() -> None:
        barrier.wait()
        try:
            outcomes.append(actions.run(action.id, verify=False))
        except NotRunnable as e:
            outcomes.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(1 for o in outcomes if isinstance(o, NotRunnable)) == 1
    assert actions.get(action.id).state == "succeeded"


def test_a_request_not_decided_in_time_expires(demo: DemoEnvironment) -> None:
    actions = demo.services.actions
    action = actions.request("acme", "resync", {"numbers": "INV-1003"}, requested_by="U0SUPPORT")
    assert action.expires_at is not None and action.expires_at - action.requested_at == timedelta(hours=24)
    later = action.expires_at + timedelta(seconds=1)
    actions.clock = lambda: later
    with pytest.raises(Expired):
        actions.approve(action.id, user="U0ADMIN1", is_admin=True)
    with pytest.raises(Expired):
        actions.deny(action.id, user="U0ADMIN2", is_admin=True, reason="too late anyway")
    assert actions.get(action.id).state == "expired"
    events = [(e.event, e.after) for e in actions.audit("acme", action_id=action.id)]
    assert ("action.expired", "expired") in events


def test_an_action_whose_integration_was_removed_fails_cleanly(
    world: dict[str, Any], env: dict[str, str], demo: DemoEnvironment
) -> None:
    action_id = request_approved(demo, "acme", ["INV-1003"])
    services = demo.services
    without = parse_config({"integrations": {}, "slack": {"admins": ["U0ADMIN1"]}}, source="sync-doctor.yml")
    other = build(services.settings, without)
    try:
        outcomes = other.actions.resume()
    finally:
        other.close()
    assert len(outcomes) == 1
    action = outcomes[0].action
    assert action.state == "failed" and action.last_error == "integration acme is no longer in the configuration"
    assert [s.state for s in action.steps] == ["skipped"]
    assert [a.id for a in services.actions.list("acme")] == [action_id]


def test_the_database_going_away_mid_action_interrupts_it_and_resume_finishes_it(
    demo: DemoEnvironment, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("an SQLite file has no server to go away; PostgreSQL (TEST_DATABASE_URL) runs this")
    actions = demo.services.actions
    action_id = request_approved(demo, "acme", ["INV-1003"])
    url = make_url(database_url)
    name = url.database
    # Only this test's own database is closed and its sessions ended, from the maintenance database.
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:

        def database_down(progress: Progress) -> None:
            if progress.phase == "replied":
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                    {"name": name},
                )

        try:
            with pytest.raises(Interrupted, match="actions resume"):
                actions.run(action_id, on_progress=database_down)
        finally:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    admin.dispose()
    assert actions.get(action_id).state == "running"
    from tests.actions.conftest import qbo_invoices

    assert len(qbo_invoices(demo, "INV-1003")) == 1  # it landed; the database never heard
    outcomes = actions.resume()
    assert [o.action.state for o in outcomes] == ["succeeded"]
    assert len(qbo_invoices(demo, "INV-1003")) == 1
    assert outcomes[0].action.steps[0].state == "succeeded"
