"""The scheduler's bad days: an integration dropped from the configuration while its sweep is
queued, the database restarted in the middle of a sweep (PostgreSQL), and the clock jumping
forward or backward (freezegun)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine

from app import build
from config.env import load_settings
from config.integrations import parse_config
from providers import PROVIDERS
from sandbox.server import Sandbox
from scheduling.jobs import JOBS
from scheduling.runner import Scheduler
from service.container import Services
from store import claims
from store.models import IntegrationDay, JobClaim, Run, SweepItem
from tests.scheduling import fleet

T0 = datetime(2026, 12, 7, 10, 0, 3, tzinfo=UTC)
SWEEP = [j for j in JOBS if j.name == "sweep"]
SWEEP_AND_RETENTION = [j for j in JOBS if j.name in ("sweep", "retention")]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def period(now: datetime, every: int = 600) -> str:
    return f"{every}s:{int(now.timestamp()) // every}"


def fleet_services(env: dict[str, str], sandbox: Sandbox, n: int, *, connect: bool = True) -> Services:
    overrides = {s: sandbox.overrides(s) for s in ("hubspot", "xero")}
    config = parse_config(fleet.config(n, overrides, schedules={"sweep": {"every": "10m"}}), systems=PROVIDERS)
    services = build(load_settings(env), config)
    if connect:
        fleet.connect(services, n)
    return services


def claim_rows(services: Services, job: str = "sweep") -> list[JobClaim]:
    with services.sessions() as session:
        return list(session.scalars(select(JobClaim).where(JobClaim.job == job).order_by(JobClaim.id)))


def stored(services: Services) -> list[str]:
    with services.sessions() as session:
        return sorted(session.scalars(select(Run.integration)))


def pending_items(services: Services) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(SweepItem).where(SweepItem.done_at.is_(None))) or 0)


# -- an integration removed from the configuration --------------------------------------------


def test_an_integration_dropped_from_the_config_is_skipped_when_another_replica_queued_it(
    env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The configuration is read once per process, so "removed while its sweep runs" is replica
    A, still on the old file, queueing f0003, and replica B, restarted on the new file without
    it, taking that item: B finishes it without checking or storing anything."""
    sandbox = Sandbox(fleet.world(4)).start()
    old = fleet_services(env, sandbox, 4)  # replica A
    new = fleet_services(env, sandbox, 3, connect=False)  # replica B: f0003 is gone
    try:
        key = f"*/{period(T0)}"
        with old.sessions.begin() as session:  # A claims the sweep and queues its four...
            assert claims.claim_job(session, "sweep", "*", period(T0), owner="a:1:x", now=T0, lease=300)
            claims.enqueue_sweep(session, key, [i.name for i in old.config.integrations.values()])
        heard: list[str] = []
        new.notifier.subscribe(lambda result: heard.append(result.integration))
        clock = Clock(T0 + timedelta(seconds=5))
        with caplog.at_level(logging.INFO, logger="scheduling.sweep"):
            Scheduler(new, SWEEP, clock=clock, owner="b:2:y").run_due(60)  # ...and B helps (A is alive)
        assert new.notifier.flush(30)
        assert stored(new) == ["f0000", "f0001", "f0002"] and sorted(heard) == ["f0000", "f0001", "f0002"]
        assert any("f0003 is no longer configured" in r.getMessage() for r in caplog.records)
        with new.sessions() as session:
            assert claims.sweep_takers(session, key) == {f"f000{i}": "b:2:y" for i in range(4)}
            assert (
                session.scalars(select(IntegrationDay.integration).where(IntegrationDay.integration == "f0003")).all()
                == []
            )
        assert pending_items(new) == 0  # nothing stuck

        clock.now = T0 + timedelta(minutes=6)  # A died before finishing its claim: B takes it over
        Scheduler(new, SWEEP, clock=clock, owner="b:2:y").run_due(60)
        [row] = claim_rows(new)
        assert row.claimed_by == "b:2:y" and row.finished_at is not None and row.error is None
        assert stored(new) == ["f0000", "f0001", "f0002"]  # not checked again, f0003 never

        clock.now = T0 + timedelta(minutes=10)  # B's own next sweep queues only what it knows
        Scheduler(new, SWEEP, clock=clock, owner="b:2:y").run_due(60)
        with new.sessions() as session:
            assert set(claims.sweep_takers(session, f"*/{period(clock.now)}")) == {"f0000", "f0001", "f0002"}
    finally:
        new.close()
        old.close()
        sandbox.stop()


# -- the database restarted mid-sweep ------------------------------------------------------------


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll until ``condition`` holds (a deadline against hanging, not a speed assertion)."""
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        done.wait(0.05)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def admin(database_url: str) -> Iterator[Engine]:
    if not database_url.startswith("postgresql"):
        pytest.skip("terminating backends is a PostgreSQL fault (set TEST_DATABASE_URL)")
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def test_a_database_restart_mid_sweep_is_survived(
    env: dict[str, str], admin: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Every other connection to the database is terminated (what a restart does to them) while
    the sweep's workers are inside queries: they are blocked on a table lock held here, so the
    termination hits connections in use, not only idle ones the pool's pre-ping would replace."""
    n = 6
    sandbox = Sandbox(fleet.world(n, latency_ms=400)).start()  # slow systems: the sweep takes a while
    services = fleet_services(env, sandbox, n)
    clock = Clock(datetime.now(UTC))
    scheduler = Scheduler(services, SWEEP, clock=clock, tick_seconds=0.2)
    key = f"*/{period(clock.now)}"

    def taken() -> bool:
        with services.sessions() as session:
            takers = claims.sweep_takers(session, key)
        return len(takers) == n and all(takers.values())

    try:
        with caplog.at_level(logging.WARNING):
            scheduler.start()  # APScheduler's own tick thread, as in `serve` and `worker`
            wait_for(taken, "every item of the sweep to be taken")
            with admin.connect() as lock:
                lock.execute(text("LOCK TABLE sweep_items IN ACCESS EXCLUSIVE MODE"))

                def blocked() -> int:
                    with admin.connect() as look:
                        return int(
                            look.scalar(
                                text(
                                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND wait_event_type = 'Lock'"
                                )
                            )
                            or 0
                        )

                wait_for(lambda: blocked() >= 2, "workers to block on sweep_items")  # the 2 idle ones poll
                with admin.connect() as killer:
                    killed = killer.scalar(
                        text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                            "AND pid <> :lock",
                        ),
                        {"lock": lock.scalar(text("SELECT pg_backend_pid()"))},
                    )
                assert killed and killed >= 2
                lock.rollback()  # the lock goes; the workers find their connections gone

            wait_for(
                lambda: bool(claim_rows(services)) and claim_rows(services)[0].finished_at is not None, "the sweep"
            )
            [row] = claim_rows(services)
            assert row.error is None  # the period completed: nothing failed, nothing to take over
            assert pending_items(services) == 0
            with services.sessions() as session:  # a first sweep stores every run: none was lost
                assert sorted(session.scalars(select(Run.integration))) == [fleet.name(i) for i in range(n)]
            assert any(
                "terminating connection" in r.getMessage() for r in caplog.records if r.name == "scheduling.retry"
            )

            clock.now += timedelta(minutes=10)  # the next period, on the same tick thread
            wait_for(lambda: len(claim_rows(services)) == 2 and claim_rows(services)[1].finished_at is not None, "tick")
            assert claim_rows(services)[1].error is None
        assert scheduler.stop(30)
    finally:
        scheduler.stop(5)
        services.close()
        sandbox.stop()


# -- the clock jumping ------------------------------------------------------------------------


def test_clock_jumps_forward_run_the_latest_period_once_and_backward_rerun_nothing(env: dict[str, str]) -> None:
    sandbox = Sandbox(fleet.world(2)).start()
    services = fleet_services(env, sandbox, 2)
    try:
        with freeze_time(T0) as frozen:
            scheduler = Scheduler(services, SWEEP_AND_RETENTION)  # the real clock, which freezegun moves
            scheduler.run_due(60)
            assert [c.period_key for c in claim_rows(services)] == [period(T0)]

            later = T0 + timedelta(days=1, hours=5, minutes=3)  # 175 sweeps and a day of retention skipped
            frozen.move_to(later)
            scheduler.run_due(60)
            scheduler.run_due(60)
            assert [c.period_key for c in claim_rows(services)] == [period(T0), period(later)]
            assert [c.period_key for c in claim_rows(services, "retention")] == ["2026-12-07", "2026-12-08"]
            runs_before = stored(services)

            # NTP corrects a clock that ran a day ahead: back into periods already finished,
            # by this scheduler and by a replica started after the jump (nothing in memory).
            for back in (later - timedelta(minutes=3), T0 + timedelta(minutes=5)):
                frozen.move_to(back)
                scheduler.run_due(60)
                Scheduler(services, SWEEP_AND_RETENTION).run_due(60)
            assert [c.period_key for c in claim_rows(services)] == [period(T0), period(later)]
            assert [c.period_key for c in claim_rows(services, "retention")] == ["2026-12-07", "2026-12-08"]
            assert stored(services) == runs_before
            assert all(c.finished_at is not None and c.error is None for c in claim_rows(services))

            # Back to a period that never ran (the day skipped over): it is new, so it runs, once.
            skipped = T0 + timedelta(hours=7)
            frozen.move_to(skipped)
            scheduler.run_due(60)
            Scheduler(services, SWEEP_AND_RETENTION).run_due(60)
            assert [c.period_key for c in claim_rows(services)] == [period(T0), period(later), period(skipped)]
    finally:
        services.close()
        sandbox.stop()
