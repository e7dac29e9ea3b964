"""The scheduler's own database writes across a lost connection (PostgreSQL restarted or
failed over, a backend terminated by an administrator, SQLite busy past its timeout).

The pool's ``pool_pre_ping`` (``store/db.py``) replaces a connection that died while idle;
this covers one that dies while in use: the transaction is retried on a fresh connection
after a short wait, a few times, so a database that is back within seconds costs a sweep
nothing, and one still down after :data:`ATTEMPTS` tries fails the job as before (its period
is recorded failed or left to a lease; the next period runs as usual).

For the claim and item bookkeeping, whose writes are conditional on who holds the row
(``store/claims.py``): running one twice does no harm; and for storing a sweep's batch of
runs, whose transaction also marks the batch's items done: it either committed whole or not
at all, and is tried again only when it did not.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service.errors import RunNotStored

logger = logging.getLogger(__name__)

T = TypeVar("T")

ATTEMPTS = 5
FIRST_WAIT_S = 0.5  # doubled after each failure: 0.5 + 1 + 2 + 4 = 7.5 s of waiting in all


def in_transaction(
    sessions: sessionmaker[Session],
    work: Callable[[Session], T],
    *,
    what: str,
    stopping: threading.Event | None = None,
    attempts: int = ATTEMPTS,
) -> T:
    """``work`` in a transaction of its own, retried when the connection is lost."""

    def once() -> T:
        with sessions.begin() as session:
            return work(session)

    return retried(once, what=what, stopping=stopping, attempts=attempts)


def retried(
    call: Callable[[], T], *, what: str, stopping: threading.Event | None = None, attempts: int = ATTEMPTS
) -> T:
    """``call`` (which runs one transaction of its own), again after a short wait when it
    failed on a lost connection: the transaction was rolled back, so running it again is
    safe. A run that could not be stored counts by its cause (``RunNotStored.error``)."""
    wait = FIRST_WAIT_S
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as e:
            lost = connection_lost(e)
            if lost is None or attempt == attempts or (stopping is not None and stopping.is_set()):
                raise
            logger.warning(
                "scheduler: %s failed (%s), trying again in %.1f s (%d/%d)", what, reason(lost), wait, attempt, attempts
            )
            if stopping is not None:
                stopping.wait(wait)
            else:
                threading.Event().wait(wait)
            wait *= 2
    raise AssertionError("unreachable: the last attempt returns or raises")


def connection_lost(error: BaseException) -> DBAPIError | None:
    """The database error behind ``error`` when it is a lost (or busy) connection, else None."""
    if isinstance(error, RunNotStored):
        error = error.error
    return error if isinstance(error, (OperationalError, InterfaceError)) else None


def reason(error: DBAPIError) -> str:
    """The driver's first line (e.g. ``terminating connection due to administrator command``):
    no SQL, no parameters, no URL."""
    text = str(error.orig or "").strip()
    return text.splitlines()[0] if text else type(error).__name__
