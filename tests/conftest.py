"""Shared fixtures. Databases: SQLite in a temp dir by default; PostgreSQL when
TEST_DATABASE_URL is set (CI runs the suite both ways).

Every PostgreSQL test starts by dropping the ``public`` schema of TEST_DATABASE_URL. So before
the first test, the database must look like one made for this: named like a test database
(``test``, ``test_cli``, ``sync_doctor_test``) and either empty or marked by an earlier run of
this suite (a comment on its schema). Anything else is refused unless TEST_DATABASE_FORCE=1.
"""

from __future__ import annotations

import logging
import os
import random
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from providers.http import reset_limiters

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A port free now, for a server whose URL must be known before it starts (PORT, a public
    URL). Taken below the kernel's ephemeral range: a port the kernel picked and freed (the
    old way, binding port 0) could be handed straight to the next port-0 bind in the meantime,
    such as the emulators the test starts next, and the server then found it taken."""
    low = _ephemeral_start()
    rng = random.SystemRandom()
    while True:
        port = rng.randrange(10000, low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _ephemeral_start() -> int:
    try:
        first = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first = 32768  # Linux's default
    return first if first > 11000 else 32768


TEST_DATABASE_NAME = re.compile(r"(^|[_-])test", re.IGNORECASE)
SCHEMA_MARK = "sync-doctor test suite: dropped and recreated by every test"


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        conn.execute(text(f"COMMENT ON SCHEMA public IS '{SCHEMA_MARK}'"))
    engine.dispose()


def refusal(url: str, forced: bool) -> str | None:
    """Why the suite must not use the PostgreSQL database at ``url`` (None: it may)."""
    if forced:
        return None
    name = make_url(url).database or ""
    if not TEST_DATABASE_NAME.search(name):
        return (
            f"TEST_DATABASE_URL names the database {name!r}: the tests drop its schema, so it must be named like a "
            "test database (test, test_cli, sync_doctor_test)"
        )
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = conn.scalar(
                text(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                )
            )
            mark = conn.scalar(text("SELECT obj_description('public'::regnamespace, 'pg_namespace')"))
    finally:
        engine.dispose()
    if tables and mark != SCHEMA_MARK:
        return (
            f"the database {name!r} of TEST_DATABASE_URL holds {tables} table(s) this test suite did not make: "
            "the tests would drop them"
        )
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return
    why = refusal(url, forced=os.environ.get("TEST_DATABASE_FORCE") == "1")
    if why:
        raise pytest.UsageError(f"{why}. Set TEST_DATABASE_FORCE=1 to use it anyway (its schema will be dropped).")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A clean, empty database for this test."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path}/sync-doctor-test.db"
    _reset_postgres(url)
    return url


@pytest.fixture
def sessions(database_url: str) -> Iterator[Any]:
    """Sessions on that database, migrated to the head (a ``sessionmaker[Session]``)."""
    from store import migrate
    from store.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """A process environment for Settings: never the real one."""
    return {
        "DATABASE_URL": database_url,
        "SYNC_DOCTOR_SECRET_KEY": "test-secret-key",
        "SYNC_DOCTOR_CONFIG": str(tmp_path / "sync-doctor.yml"),
    }


@pytest.fixture(autouse=True)
def _fresh_limiters() -> Iterator[None]:
    """Client-side limiters are process-wide by design; tests must not inherit each other's."""
    reset_limiters()
    yield
    reset_limiters()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Commands run in-process (``app.run``) install the product's log handler on the root
    logger; the next test must not inherit it (it turns tracebacks into text before caplog's
    handler sees the record)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
