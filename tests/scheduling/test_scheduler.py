"""The scheduler over the emulators and the database under test: the sweep runs the cheap
checks on every integration, stores a run only when something changed, catches up once after
a downtime, takes over a dead replica's claim; retention deletes old runs but never the latest."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from freezegun import freeze_time
from sqlalchemy import delete, func, select

from app import build
from checks.runner import RunResult
from config.env import load_settings
from config.integrations import parse_config
from demo import DEMO_WORLD, DemoEnvironment
from providers import PROVIDERS
from sandbox.server import Sandbox, load_world
from scheduling.jobs import JOBS
from scheduling.runner import Scheduler
from service.container import Services
from store import claims
from store.models import DigestRow, FindingRow, IntegrationDay, JobClaim, Run, SweepItem
from tests.scheduling import fleet

T0 = datetime(2026, 12, 7, 10, 0, 3, tzinfo=UTC)
SWEEP = [j for j in JOBS if j.name == "sweep"]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def runs(services: Services, trigger: str | None = None) -> list[Run]:
    with services.sessions() as session:
        query = select(Run).order_by(Run.id)
        if trigger:
            query = query.where(Run.trigger == trigger)
        return list(session.scalars(query))


def claim_rows(services: Services, job: str = "sweep") -> list[JobClaim]:
    with services.sessions() as session:
        return list(session.scalars(select(JobClaim).where(JobClaim.job == job).order_by(JobClaim.id)))


@pytest.fixture
def small(env: dict[str, str]) -> Iterator[tuple[Services, Sandbox]]:
    n = 4
    sandbox = Sandbox(fleet.world(n)).start()
    overrides = {s: sandbox.overrides(s) for s in ("hubspot", "xero")}
    config = parse_config(fleet.config(n, overrides, schedules={"sweep": {"every": "10m"}}), systems=PROVIDERS)
    services = build(load_settings(env), config)
    fleet.connect(services, n)
    yield services, sandbox
    services.close()
    sandbox.stop()


def test_the_sweep_runs_the_cheap_checks_on_every_demo_integration(env: dict[str, str]) -> None:
    world = copy.deepcopy(load_world(DEMO_WORLD))
    world["demo"]["schedules"] = {"sweep": {"every": "10s"}}
    with DemoEnvironment({}, build, world=world, database_url=env["DATABASE_URL"]) as demo:
        heard: list[RunResult] = []
        demo.services.notifier.subscribe(heard.append)
        Scheduler(demo.services, SWEEP).run_due(timeout=120)
        assert demo.services.notifier.flush(30)
        names = set(demo.services.config.integrations)
        stored = runs(demo.services, "schedule")
        assert {r.integration for r in stored} == names and len(stored) == len(names)
        assert {r.integration for r in heard} == names
        cheap = {c.name for c in demo.services.checks.checks if c.cheap}
        for result in heard:
            assert set(result.timings) <= cheap, result.timings  # no other check ran
        assert demo.sandbox is not None
        # No list was read: QuickBooks answers its lists through /query, Xero through /Invoices etc.
        qbo = demo.sandbox.emulators["quickbooks"].requests
        assert qbo and not [path for path in qbo if "/query" in path]
        xero = demo.sandbox.emulators["xero"].requests
        assert xero and not [p for p in xero if p.rsplit("/", 1)[-1] in ("Invoices", "Items", "Contacts")]
        with demo.services.sessions() as session:
            assert session.scalar(select(func.count()).select_from(SweepItem).where(SweepItem.done_at.is_(None))) == 0
        assert [(c.finished_at is not None, c.error) for c in claim_rows(demo.services)] == [(True, None)]


def test_an_unchanged_sweep_is_announced_but_not_stored(small: tuple[Services, Sandbox]) -> None:
    services, sandbox = small
    clock = Clock(T0)
    heard: list[RunResult] = []
    services.notifier.subscribe(heard.append)
    scheduler = Scheduler(services, SWEEP, clock=clock)
    scheduler.run_due(60)
    assert len(runs(services)) == 4  # the first run of each integration is stored
    clock.now = T0 + timedelta(minutes=10)
    scheduler.run_due(60)
    assert services.notifier.flush(30)
    assert len(runs(services)) == 4 and len(heard) == 8  # nothing changed: heard, not stored
    # Something changes: f0001's HubSpot key is revoked.
    cast(Any, sandbox.emulators["hubspot"]).api_keys["pat-na1-f0001"]["revoked"] = True
    clock.now = T0 + timedelta(minutes=20)
    scheduler.run_due(60)
    stored = runs(services)
    assert len(stored) == 5 and stored[-1].integration == "f0001" and stored[-1].trigger == "schedule"
    with services.sessions() as session:
        codes = set(session.scalars(select(FindingRow.code).where(FindingRow.run_id == stored[-1].id)))
    assert codes & {"apikey.invalid", "token.revoked"}
    assert len(claim_rows(services)) == 3
    with services.sessions() as session:  # each sweep's claim cleared the one before's items
        periods = set(session.scalars(select(SweepItem.period_key)))
    assert periods == {f"*/600s:{int(clock.now.timestamp()) // 600}"}


def test_a_downtime_is_caught_up_once_with_the_latest_period(small: tuple[Services, Sandbox]) -> None:
    services, _ = small
    clock = Clock(T0)
    Scheduler(services, clock=clock).run_due(60)
    # Down for three hours and a half: 21 sweeps and 3 retention days could have run.
    clock.now = T0 + timedelta(days=3, hours=3, minutes=30)
    restarted = Scheduler(services, clock=clock)
    restarted.run_due(60)
    restarted.run_due(60)  # the same periods again: nothing more
    sweeps = claim_rows(services, "sweep")
    assert len(sweeps) == 2 and sweeps[-1].period_key == f"600s:{int(clock.now.timestamp()) // 600}"
    assert [c.period_key for c in claim_rows(services, "retention")] == ["2026-12-07", "2026-12-10"]
    assert all(c.finished_at is not None and c.error is None for c in claim_rows(services, "sweep"))


def test_a_dead_replicas_claim_is_taken_over_after_its_lease(small: tuple[Services, Sandbox]) -> None:
    services, _ = small
    clock = Clock(T0)
    period = f"600s:{int(T0.timestamp()) // 600}"
    with services.sessions.begin() as session:  # a replica claimed this sweep, then died
        assert claims.claim_job(session, "sweep", "*", period, owner="dead:1:x", now=T0, lease=300)
        claims.enqueue_sweep(session, f"*/{period}", [fleet.name(i) for i in range(4)])
        for i in range(3):  # f0000 and f0001 done, f0002 in hand when it died
            take = claims.take_sweep_item(session, f"*/{period}", owner="dead:1:x", now=T0, lease=180)
            assert take is not None
            if i < 2:
                claims.finish_sweep_item(session, take.item_id, owner="dead:1:x", now=T0)
    clock.now = T0 + timedelta(seconds=10)
    Scheduler(services, SWEEP, clock=clock).run_due(60)
    # A live replica helps with what is free (f0003), not with what the dead one holds.
    assert [r.integration for r in runs(services)] == ["f0003"]
    assert claim_rows(services)[0].finished_at is None
    clock.now = T0 + timedelta(minutes=6)  # both leases ran out
    Scheduler(services, SWEEP, clock=clock).run_due(60)
    [row] = claim_rows(services)
    assert row.claimed_by != "dead:1:x" and row.finished_at is not None and row.error is None
    assert sorted(r.integration for r in runs(services)) == ["f0002", "f0003"]  # each left one, once


def test_retention_deletes_old_runs_in_batches_but_keeps_each_latest(small: tuple[Services, Sandbox]) -> None:
    services, _ = small
    from store import repositories as repo

    def add(name: str, days_ago: int) -> None:
        with services.sessions.begin() as session:
            repo.add_run(
                session,
                integration=name,
                trigger="schedule",
                started_at=T0 - timedelta(days=days_ago),
                duration_s=0.1,
                counts={"fail": 1, "warn": 0, "error": 0},
                blocked_invoices=0,
                blocked_amounts={},
                api_calls={},
                timings={},
                resolved=[],
                last_synced_at=None,
                findings=[_finding()],
            )

    for days in (400, 200, 120, 91, 89, 1):
        add("f0000", days)
    add("f0001", 300)  # old, but f0001's only run: kept
    from scheduling import retention

    retention_job = [j for j in JOBS if j.name == "retention"]
    fleet.ran_before(services, "retention")  # else a first start: 03:30 today is not caught up
    original = retention.BATCH
    retention.BATCH = 2  # three batches for four old runs
    try:
        Scheduler(services, retention_job, clock=Clock(T0)).run_due(60)
    finally:
        retention.BATCH = original
    left = [(r.integration, (T0 - r.started_at.replace(tzinfo=UTC)).days) for r in runs(services)]
    assert sorted(left) == [("f0000", 1), ("f0000", 89), ("f0001", 300)]
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(FindingRow)) == 3


def test_retention_keeps_two_years_of_daily_counters(small: tuple[Services, Sandbox]) -> None:
    services, _ = small
    with services.sessions.begin() as session:
        for days in (800, 731, 729, 1):
            session.add(IntegrationDay(integration="f0000", day=(T0 - timedelta(days=days)).date(), runs=1))
    fleet.ran_before(services, "retention")
    Scheduler(services, [j for j in JOBS if j.name == "retention"], clock=Clock(T0)).run_due(60)
    with services.sessions() as session:
        kept = sorted((T0.date() - d).days for d in session.scalars(select(IntegrationDay.day)))
    assert kept == [1, 729]


def test_the_digest_runs_on_the_first_day_of_a_quarter_for_the_quarter_before(
    small: tuple[Services, Sandbox],
) -> None:
    services, _ = small
    digest_job = [j for j in JOBS if j.name == "digest"]
    new_year = datetime(2027, 1, 1, 9, 0, 30, tzinfo=UTC)  # the fleet's time zone is UTC
    # 31 December: Q4's digest (of Q3) was due on 1 October; a first start this late sends none
    with freeze_time(new_year - timedelta(days=1)):
        Scheduler(services, digest_job, clock=Clock(new_year - timedelta(days=1))).run_due(60)
    with services.sessions() as session:
        assert session.scalars(select(DigestRow)).all() == []
    with freeze_time(new_year):
        Scheduler(services, digest_job, clock=Clock(new_year)).run_due(60)
    with services.sessions() as session:
        (row,) = session.scalars(select(DigestRow)).all()
    # kept, and pending: the fleet has no digest channel, which the row says
    assert row.quarter == "2026Q4" and row.posted_at is None and "digest_channel" in (row.error or "")
    # both periods settled: the late one with nothing sent, the new year's with the digest kept
    assert [(c.period_key, c.finished_at is not None) for c in claim_rows(services, "digest")] == [
        ("2026-Q4", True),
        ("2027-Q1", True),
    ]


def _finding() -> dict[str, Any]:
    return {
        "code": "sku.missing",
        "severity": 2,
        "subject": "X",
        "system": "xero",
        "status": "new",
        "evidence": {},
        "impact": {},
        "action": None,
    }


def test_a_first_start_leaves_an_overdue_set_time_job_to_its_next_time(small: tuple[Services, Sandbox]) -> None:
    services, _ = small
    retention_job = [j for j in JOBS if j.name == "retention"]
    Scheduler(services, retention_job, clock=Clock(T0 - timedelta(days=400))).run_due(60)  # nothing to delete yet
    with services.sessions.begin() as session:
        session.execute(delete(JobClaim))  # a database where retention never ran
    old = T0 - timedelta(days=200)
    with services.sessions.begin() as session:
        session.add(Run(integration="f0000", trigger="cli", started_at=old, duration_s=0.1))
        session.add(Run(integration="f0000", trigger="cli", started_at=T0, duration_s=0.1))
    Scheduler(services, retention_job, clock=Clock(T0)).run_due(60)  # 03:30 passed before the start
    assert len(runs(services)) == 2
    (claim,) = claim_rows(services, "retention")
    assert claim.finished_at is not None and claim.error is None  # settled: not run, not retried
    later = T0 + timedelta(days=1)
    Scheduler(services, retention_job, clock=Clock(later)).run_due(60)  # a restart the next day: missed, caught up
    assert [r.started_at.replace(tzinfo=UTC) for r in runs(services)] == [T0]
