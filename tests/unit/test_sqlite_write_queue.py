"""SQLite writers of one process queue in Python for the write lock (store/db.py): the turn is
taken at the first write and given back at commit, rollback or close (a writer that did not
give it back would hold up every other for the whole busy timeout); reads never wait for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from store.db import make_engine

BUSY_S = 5  # a writer stuck behind a turn never given back would wait this long


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(f"sqlite:///{tmp_path}/queue.db?timeout={BUSY_S}")
    with made.begin() as conn:
        conn.execute(text("CREATE TABLE t (v INTEGER)"))
    yield made
    made.dispose()


def write_in_thread(engine: Engine, value: int) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    return thread, done


def values(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return sorted(conn.execute(text("SELECT v FROM t")).scalars())


@pytest.mark.parametrize("ending", ["commit", "rollback", "close"])
def test_the_turn_is_given_back_however_a_writer_ends(engine: Engine, ending: str) -> None:
    conn = engine.connect()
    conn.begin()
    conn.execute(text("INSERT INTO t VALUES (1)"))
    other, done = write_in_thread(engine, 2)
    assert not done.wait(0.3)  # the second writer waits for the first
    started = time.monotonic()
    getattr(conn, ending)()
    if ending != "close":
        conn.close()
    assert done.wait(BUSY_S / 2), f"the turn was not given back on {ending}"
    assert time.monotonic() - started < BUSY_S / 2
    other.join()
    assert values(engine) == ([1, 2] if ending == "commit" else [2])


def test_reads_do_not_wait_for_a_writer(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    writer = engine.connect()
    writer.begin()
    writer.execute(text("INSERT INTO t VALUES (2)"))
    try:
        started = time.monotonic()
        assert values(engine) == [1]  # the committed state, at once
        assert time.monotonic() - started < 1
    finally:
        writer.rollback()
        writer.close()


def test_many_writers_at_once_all_land(engine: Engine) -> None:
    threads = [write_in_thread(engine, n)[0] for n in range(40)]
    for thread in threads:
        thread.join(30)
    assert values(engine) == list(range(40))
