"""Job claims and sweep items (store/claims.py) on the database under test (SQLite, or
PostgreSQL with TEST_DATABASE_URL): one winner per period, takeover after a lease, release,
and sweep items each taken once however many workers race for them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from store import claims
from store.models import JobClaim, SweepItem

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def claim(sessions: sessionmaker[Session], owner: str, now: datetime = NOW, lease: float = 60) -> bool:
    with sessions.begin() as session:
        return claims.claim_job(session, "sweep", "*", "900s:1", owner=owner, now=now, lease=lease)


def test_one_claim_per_period(sessions: sessionmaker[Session]) -> None:
    assert claim(sessions, "a") is True
    assert claim(sessions, "b") is False
    assert claim(sessions, "a") is False  # not even twice by its owner
    with sessions.begin() as session:  # another scope or period is another claim
        assert claims.claim_job(session, "sweep", "every=1d", "900s:1", owner="b", now=NOW, lease=60)
        assert claims.claim_job(session, "sweep", "*", "900s:2", owner="b", now=NOW, lease=60)


def test_racing_threads_one_winner(sessions: sessionmaker[Session]) -> None:
    barrier = threading.Barrier(6)
    won: list[str] = []

    def race(owner: str) -> None:
        barrier.wait()
        if claim(sessions, owner):
            won.append(owner)

    threads = [threading.Thread(target=race, args=(f"t{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1


def test_an_expired_unfinished_claim_is_taken_over(sessions: sessionmaker[Session]) -> None:
    assert claim(sessions, "dead", lease=60)
    assert claim(sessions, "b", now=NOW + timedelta(seconds=59)) is False  # still leased
    assert claim(sessions, "b", now=NOW + timedelta(seconds=61)) is True  # lease ran out
    assert claim(sessions, "c", now=NOW + timedelta(seconds=62)) is False  # b holds it now
    with sessions() as session:
        row = session.scalars(select(JobClaim)).one()
    assert row.claimed_by == "b"


def test_a_finished_claim_is_never_taken_over(sessions: sessionmaker[Session]) -> None:
    assert claim(sessions, "a", lease=1)
    with sessions.begin() as session:
        claims.finish_job(session, "sweep", "*", "900s:1", owner="a", now=NOW, error="RuntimeError: boom")
    assert claim(sessions, "b", now=NOW + timedelta(hours=1)) is False
    with sessions() as session:
        state = claims.job_states(session)["sweep"]
    assert state.last_error == "RuntimeError: boom" and state.last_success_at is None


def test_renewal_keeps_a_live_claim_and_release_gives_it_back(sessions: sessionmaker[Session]) -> None:
    assert claim(sessions, "a", lease=60)
    with sessions.begin() as session:
        assert claims.renew_job(session, "sweep", "*", "900s:1", owner="a", now=NOW + timedelta(seconds=50), lease=60)
        assert not claims.renew_job(session, "sweep", "*", "900s:1", owner="b", now=NOW, lease=60)
    assert claim(sessions, "b", now=NOW + timedelta(seconds=100)) is False  # renewed to 110 s
    with sessions.begin() as session:
        claims.release_job(session, "sweep", "*", "900s:1", owner="a")
    assert claim(sessions, "b", now=NOW + timedelta(seconds=101)) is True


def test_sweep_items_are_taken_once_each_by_racing_workers(sessions: sessionmaker[Session]) -> None:
    names = [f"i{n:02d}" for n in range(40)]
    with sessions.begin() as session:
        claims.enqueue_sweep(session, "*/900s:1", names)
        claims.enqueue_sweep(session, "*/900s:1", names[:5])  # enqueued twice: still once
    taken: list[str] = []
    lock = threading.Lock()

    def worker(owner: str) -> None:
        while True:
            with sessions.begin() as session:
                take = claims.take_sweep_item(session, "*/900s:1", owner=owner, now=NOW, lease=60)
            if take is None:
                return
            with lock:
                taken.append(take.integration)
            with sessions.begin() as session:
                assert claims.finish_sweep_item(session, take.item_id, owner=owner, now=NOW)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == names
    with sessions() as session:
        assert claims.sweep_pending(session, "*/900s:1") == 0


def test_a_dead_workers_item_is_retaken_after_its_lease(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        claims.enqueue_sweep(session, "p", ["a", "b"])
        first = claims.take_sweep_item(session, "p", owner="dead", now=NOW, lease=60)
        second = claims.take_sweep_item(session, "p", owner="dead", now=NOW, lease=60)
    assert first is not None and second is not None
    with sessions.begin() as session:
        assert claims.take_sweep_item(session, "p", owner="alive", now=NOW + timedelta(seconds=30), lease=60) is None
        again = claims.take_sweep_item(session, "p", owner="alive", now=NOW + timedelta(seconds=61), lease=60)
        assert again is not None and again.integration == "a"
        # the dead worker's late finish does not count: the item is the new holder's
        assert not claims.finish_sweep_item(session, again.item_id, owner="dead", now=NOW)
        assert claims.release_sweep_items(session, owner="dead") == 1  # b, on a clean stop
    with sessions() as session:
        rows = {r.integration: r.claimed_by for r in session.scalars(select(SweepItem))}
    assert rows == {"a": "alive", "b": None}


def test_sweep_items_taken_in_batches_are_each_taken_once(sessions: sessionmaker[Session]) -> None:
    names = [f"i{n:02d}" for n in range(43)]
    with sessions.begin() as session:
        claims.enqueue_sweep(session, "p", names)
    taken: list[str] = []
    sizes: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def worker(owner: str) -> None:
        barrier.wait()
        while True:
            with sessions.begin() as session:
                batch = claims.take_sweep_items(session, "p", owner=owner, now=NOW, lease=60, limit=5)
            if not batch:
                return
            with lock:
                taken.extend(t.integration for t in batch)
                sizes.append(len(batch))
            with sessions.begin() as session:
                assert claims.finish_sweep_items(session, [t.item_id for t in batch], owner=owner, now=NOW) == len(
                    batch
                )

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == names  # each once, none left
    assert max(sizes) == 5 and sum(sizes) == 43


def test_a_batch_lease_renewed_stays_with_its_holder(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        claims.enqueue_sweep(session, "p", ["a", "b", "c"])
        batch = claims.take_sweep_items(session, "p", owner="slow", now=NOW, lease=60, limit=3)
        assert [t.integration for t in batch] == ["a", "b", "c"]
        assert claims.finish_sweep_items(session, [batch[0].item_id], owner="slow", now=NOW) == 1
        later = NOW + timedelta(seconds=50)
        # b and c renewed at 50 s: still the slow worker's at 61 s, free again at 111 s
        assert claims.renew_sweep_items(session, [t.item_id for t in batch], owner="slow", now=later, lease=60) == 2
        assert (
            claims.take_sweep_items(session, "p", owner="other", now=NOW + timedelta(seconds=61), lease=60, limit=3)
            == []
        )
        again = claims.take_sweep_items(
            session, "p", owner="other", now=NOW + timedelta(seconds=111), lease=60, limit=3
        )
        assert [t.integration for t in again] == ["b", "c"]
        assert claims.renew_sweep_items(session, [t.item_id for t in batch], owner="slow", now=later, lease=60) == 0
