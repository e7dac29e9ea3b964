"""The replay guard: a key is fresh once, on any replica sharing the database; expired keys go."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from service.replays import CLEAN_EVERY_S, ReplayGuard
from store import migrate
from store.db import make_engine, make_session_factory
from store.models import SeenRequest


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_key_is_fresh_once_across_replicas_and_expired_keys_are_deleted(database_url: str) -> None:
    engines = [make_engine(database_url), make_engine(database_url)]
    migrate.upgrade(engines[0])
    clock = Clock(1_800_000_000.0)
    one, two = (ReplayGuard(make_session_factory(e), clock=clock) for e in engines)
    assert one.first_time("a" * 64, clock.now + 300)
    assert not one.first_time("a" * 64, clock.now + 300)  # same replica: its memory
    assert not two.first_time("a" * 64, clock.now + 300)  # another replica: the database
    assert two.first_time("b" * 64, clock.now + 300)
    assert not one.first_time("b" * 64, clock.now + 300)
    # a minute past both expiries, the next fresh key sweeps the expired ones away
    clock.now += 301 + CLEAN_EVERY_S
    sessions = make_session_factory(engines[0])
    assert one.first_time("c" * 64, clock.now + 300)
    with sessions() as session:
        keys = session.scalars(select(SeenRequest.key)).all()
        assert keys == ["c" * 64]
        expiry = session.scalar(select(func.max(SeenRequest.expires_at)))
        assert expiry is not None and expiry.replace(tzinfo=UTC) == datetime.fromtimestamp(clock.now + 300, UTC)
    for engine in engines:
        engine.dispose()


def test_without_the_database_a_replica_still_refuses_what_it_has_seen(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/missing/dir/db.sqlite")  # cannot be opened
    guard = ReplayGuard(make_session_factory(engine))
    assert guard.first_time("d" * 64, 2_000_000_000)
    assert not guard.first_time("d" * 64, 2_000_000_000)
    engine.dispose()
