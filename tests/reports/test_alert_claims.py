"""One open alert per problem, whatever runs at once: the unique partial index on open alerts,
the claim that loses to it (posts nothing), two replicas racing (threads, each with its own
engine, lock and publisher, on one database: SQLite or PostgreSQL), and a day of sweeps."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from checks.findings import Severity
from reports.alerts import AlertService
from store import alerts_repo, migrate
from store import repositories as repo
from store.db import make_engine, make_session_factory
from tests.bot.builders import blocked, finding, result
from tests.bot.test_alerts import CONFIG, Recorder

SKU = finding("sku.missing", "PROD-404", impact=blocked(("INV-1", "NZD", "40")))
REVOKED = finding("token.revoked", "xero", evidence={"message": "invalid_grant"})


@pytest.fixture
def engines(database_url: str) -> Iterator[tuple[Engine, Engine]]:
    first = make_engine(database_url)
    migrate.upgrade(first)
    second = make_engine(database_url)  # another replica: its own pool and connections
    yield first, second
    first.dispose()
    second.dispose()


def open_rows(sessions: sessionmaker[Session], integration: str = "acme") -> list[Any]:
    with sessions() as session:
        return [row for row in alerts_repo.alerts_for(session, integration) if row.resolved_at is None]


def test_the_database_refuses_a_second_open_alert_for_one_code(engines: tuple[Engine, Engine]) -> None:
    sessions = make_session_factory(engines[0])
    with sessions.begin() as session:
        repo.add_alert(session, integration="acme", code="sku.missing", channel="C0ACME", run_id=None, detail={})
    with pytest.raises(IntegrityError), sessions.begin() as session:
        repo.add_alert(session, integration="acme", code="sku.missing", channel="C0ACME", run_id=None, detail={})
    # another code, another integration, or once the first is resolved: allowed
    with sessions.begin() as session:
        repo.add_alert(session, integration="acme", code="sync.unsynced", channel=None, run_id=None, detail={})
        repo.add_alert(session, integration="globex", code="sku.missing", channel=None, run_id=None, detail={})
    with sessions.begin() as session:
        [row] = [r for r in alerts_repo.alerts_for(session, "acme") if r.code == "sku.missing"]
        alerts_repo.resolve_alert(session, row.id, run_id=None, at=datetime.now(UTC))
    with sessions.begin() as session:
        repo.add_alert(session, integration="acme", code="sku.missing", channel=None, run_id=None, detail={})
    assert len(open_rows(sessions)) == 2


class ClaimAfter:
    """A replica's session factory whose first write transaction (the claim) waits until
    ``go`` is set: its read has already found no open alert, the other replica then claims
    and posts, and only then does this one try. The loser path, deterministically."""

    def __init__(self, inner: sessionmaker[Session], go: threading.Event) -> None:
        self.inner = inner
        self.go = go
        self.read_done = threading.Event()  # set when the claim is about to be tried

    def __call__(self) -> Session:
        return self.inner()

    def begin(self) -> AbstractContextManager[Session]:
        self.read_done.set()
        assert self.go.wait(30)
        return self.inner.begin()


def test_the_replica_that_loses_the_claim_posts_nothing(engines: tuple[Engine, Engine]) -> None:
    first, second = (make_session_factory(e) for e in engines)
    go = threading.Event()
    posted_a, posted_b = Recorder(), Recorder()
    replica_a = AlertService(CONFIG, first, posted_a)
    held = ClaimAfter(second, go)
    replica_b = AlertService(CONFIG, held, posted_b)  # type: ignore[arg-type]
    outcome_b: list[Any] = []
    late = threading.Thread(target=lambda: outcome_b.append(replica_b.on_run(result([SKU]))))
    late.start()
    assert held.read_done.wait(30)  # B has looked and found no open alert, however busy the machine
    assert replica_a.on_run(result([SKU])).opened == ["sku.missing"]
    go.set()
    late.join(30)
    [b] = outcome_b
    assert (b.opened, b.lost_claim, b.failed) == ([], ["sku.missing"], [])
    assert posted_a.kinds() == [("opened", "sku.missing")] and posted_b.events == []
    [row] = open_rows(first)
    assert row.message_ts == "1.1"


def sweep(service: AlertService, start: threading.Barrier, errors: list[Exception]) -> None:
    try:
        start.wait(10)
        service.on_run(result([SKU]))
    except Exception as e:  # noqa: BLE001 - surfaced by the test: a thread's exception is otherwise lost
        errors.append(e)


@pytest.mark.parametrize("rounds", [12])
def test_two_replicas_racing_open_one_alert_each_time(engines: tuple[Engine, Engine], rounds: int) -> None:
    replicas = [AlertService(CONFIG, make_session_factory(e), Recorder()) for e in engines]
    sessions = make_session_factory(engines[0])
    for n in range(rounds):
        start = threading.Barrier(2)
        errors: list[Exception] = []
        threads = [threading.Thread(target=sweep, args=(r, start, errors)) for r in replicas]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        posts = sum(len(r.publisher.events) for r in replicas)  # type: ignore[attr-defined,misc]
        assert posts == n + 1, f"round {n}: {posts - n} posts for one problem"
        [row] = open_rows(sessions)
        assert row.message_ts is not None
        # it clears (one replica sees it), and the next round opens a new one
        assert replicas[n % 2].on_run(result([], resolved=(("sku.missing", "PROD-404"),))).resolved == ["sku.missing"]
        for r in replicas:
            r.publisher.events = [e for e in r.publisher.events if e[0] == "opened"]  # type: ignore[attr-defined]
    assert open_rows(sessions) == []


def test_a_provider_down_for_a_day_of_sweeps_is_one_alert(engines: tuple[Engine, Engine]) -> None:
    recorder = Recorder()
    service = AlertService(CONFIG, make_session_factory(engines[0]), recorder)
    unreachable = finding("connection.unreachable", "xero", Severity.ERROR)
    for sweep in range(96):  # every 15 minutes; now and then the provider does not even answer
        service.on_run(result([unreachable] if sweep % 10 == 5 else [REVOKED]))
    assert recorder.kinds() == [("opened", "token.revoked")]
    assert len(open_rows(make_session_factory(engines[0]))) == 1


def test_a_sweep_of_cheap_checks_does_not_resolve_other_families(engines: tuple[Engine, Engine]) -> None:
    recorder = Recorder()
    service = AlertService(CONFIG, make_session_factory(engines[0]), recorder)
    service.on_run(result([SKU]))
    from dataclasses import replace

    cheap = replace(result([]), completed_families=frozenset({"connection", "token", "rate"}))
    assert service.on_run(cheap).resolved == []
    full = replace(result([]), completed_families=frozenset({"connection", "token", "rate", "sku", "sync"}))
    assert service.on_run(full).resolved == ["sku.missing"]


def test_migration_0005_closes_open_duplicates_then_enforces_one(database_url: str) -> None:
    """A database where two replicas already opened the same alert (before the index) is
    migrated: the oldest stays open, the newer is closed, and the index then holds."""
    from sqlalchemy import text

    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine, "0003")
        with engine.begin() as conn:
            for _ in range(2):
                conn.execute(
                    text(
                        "INSERT INTO alerts (integration, code, opened_at, detail) "
                        "VALUES ('acme', 'sku.missing', :at, '{}')"
                    ),
                    {"at": datetime(2026, 12, 1, tzinfo=UTC)},
                )
        migrate.upgrade(engine)
        sessions = make_session_factory(engine)
        [kept] = open_rows(sessions)
        with sessions() as session:
            assert kept.id == min(r.id for r in alerts_repo.alerts_for(session, "acme"))
        with pytest.raises(IntegrityError), sessions.begin() as session:
            repo.add_alert(session, integration="acme", code="sku.missing", channel=None, run_id=None, detail={})
    finally:
        engine.dispose()
