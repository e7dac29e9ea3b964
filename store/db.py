"""The only place engines and sessions are configured, and where a database failure is put
into words for the operator (:func:`describe_error`).

Callers frame transactions with ``with sessions.begin() as session:``; repositories take a
session and never open one.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any, Self

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

# How long SQLite waits for another process's write lock before "database is locked";
# ``?timeout=SECONDS`` in the URL changes it.
SQLITE_BUSY_SECONDS = 30.0


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        connect_args: dict[str, Any] = {"check_same_thread": False}
        busy = make_url(url).query.get("timeout")
        if busy is None:
            connect_args["timeout"] = SQLITE_BUSY_SECONDS
        kwargs: dict[str, Any] = {"connect_args": connect_args}
        if in_memory:
            kwargs["poolclass"] = StaticPool  # one shared connection, or each session sees an empty DB
        else:  # (one shared connection has no one to queue with)
            connect_args["factory"] = queued_writes(float(busy) if isinstance(busy, str) else SQLITE_BUSY_SECONDS)
        engine = create_engine(url, echo=echo, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


def queued_writes(wait_s: float) -> type[sqlite3.Connection]:
    """A driver connection class whose connections write one at a time within this process.

    SQLite lets one connection write at a time; another that wants to write meanwhile is told
    "busy" and its busy handler polls, sleeping 1, 2, 5, 10... ms between tries. With a sweep's
    workers each committing every few milliseconds, those sleeps were most of their time (three
    quarters of the workers' wall time in a profile of 16 workers) while the lock itself stood
    free. So a connection takes a lock shared by the class's connections at its first write
    (where SQLite takes its own) and gives it back once its commit or rollback is done: writers
    of one process wait in line, and the next starts the moment the last one ends. SQLite still
    arbitrates between processes (a CLI command beside ``serve``). A writer that waits longer
    than ``wait_s`` (the busy timeout) goes ahead unqueued and SQLite's timeout decides, as before.
    """
    turn = threading.Lock()

    class QueuedConnection(sqlite3.Connection):
        holds_turn = False

        def take_write_turn(self) -> None:
            if not self.holds_turn and turn.acquire(timeout=wait_s):
                self.holds_turn = True

        def end_write_turn(self) -> None:
            if self.holds_turn:
                self.holds_turn = False
                turn.release()

        def cursor(self, factory: Any = None) -> Any:  # type: ignore[override]
            return super().cursor(factory or _QueuedCursor)

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self.end_write_turn()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.end_write_turn()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.end_write_turn()

    return QueuedConnection


class _QueuedCursor(sqlite3.Cursor):
    WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")

    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        self._wait_turn(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Self:
        self._wait_turn(sql)
        return super().executemany(sql, seq_of_parameters)

    def _wait_turn(self, sql: str) -> None:
        if sql.lstrip()[:7].upper().startswith(self.WRITES):
            self.connection.take_write_turn()  # type: ignore[attr-defined]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the Slack listener read while a scheduled check writes; foreign keys are off by
    # default in SQLite and our cascades rely on them. (The busy timeout is the driver's
    # ``timeout``, set in make_engine.)
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def where(url: str) -> str:
    """The database named for people: SQLite's file, or the database and its host (never a
    password), e.g. ``SQLite database /srv/sync-doctor.db``."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "database of DATABASE_URL"
    if parsed.get_backend_name() == "sqlite":
        file = _sqlite_file(parsed)
        return f"SQLite database {file}" if file else "in-memory SQLite database"
    host = parsed.host or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    return f"PostgreSQL database {parsed.database or '(default)'} on {host}{port}"


def _sqlite_file(parsed: URL) -> str | None:
    name = parsed.database or ""
    if name in ("", ":memory:"):
        return None
    return name.removeprefix("file:")


def describe_error(error: BaseException, url: str) -> str | None:
    """What a database failure means and what to do, or None when ``error`` is not one."""
    if isinstance(error, NoSuchModuleError):
        return "DATABASE_URL names a database Sync Doctor does not support: use sqlite:///… or postgresql://…"
    if isinstance(error, ArgumentError):
        return "DATABASE_URL is not a database URL: use sqlite:///path/to/sync-doctor.db or postgresql://user@host/db"
    if not isinstance(error, SQLAlchemyError):
        return None
    db = where(url)
    original = error.orig if isinstance(error, DBAPIError) else None
    text = str(original or error).strip().splitlines()[0] if str(original or error).strip() else type(error).__name__
    low = text.lower()
    if "database is locked" in low or "database table is locked" in low:
        seconds = make_url(url).query.get("timeout") or f"{SQLITE_BUSY_SECONDS:g}"
        return (
            f"the {db} is locked by another process (waited {seconds} s): try again when it is done, "
            "or let Sync Doctor wait longer with ?timeout=SECONDS at the end of DATABASE_URL"
        )
    if "readonly database" in low or "read-only" in low or "read only" in low:
        return (
            f"the {db} is read-only: make it (and its directory) writable for this user, "
            "or point DATABASE_URL at a writable database"
        )
    if "unable to open database file" in low:
        return f"cannot open the {db}: check that its directory exists and is writable (DATABASE_URL)"
    if "password authentication failed" in low or "no password supplied" in low:
        return f"the {db} refused the user name or password in DATABASE_URL"
    if "does not exist" in low and "database" in low:
        return f"the {db} does not exist: create it (createdb) or fix the name in DATABASE_URL"
    if any(
        sign in low
        for sign in (
            "connection refused",
            "could not connect",
            "could not translate host",
            "timeout expired",
            "no route",
        )
    ):
        return f"cannot reach the {db} ({text}): is it running, and are DATABASE_URL's host and port right?"
    return f"the {db} failed: {text}"
