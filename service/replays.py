"""Replay protection for signed requests: each signature is accepted once.

A Slack signature is valid for five minutes (its timestamp's window), and anyone who sees one
request (a proxy's log, a captured packet) could send it again within that window and run the
command again. So every accepted signature is remembered until it could no longer verify:

- here, in this replica's memory (cheap; a replay to the same replica never reaches the
  database, and if the database is down this replica still refuses repeats);
- in the database (``seen_requests``), which every replica shares: a replay sent to another
  replica behind the load balancer is refused too. The table's primary key decides who was
  first; expired keys are deleted as requests come in, at most once a minute per replica.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from store import replays

logger = logging.getLogger(__name__)

CLEAN_EVERY_S = 60.0


class ReplayGuard:
    def __init__(self, sessions: sessionmaker[Session], *, clock: Callable[[], float] = time.time) -> None:
        self._sessions = sessions
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}  # key -> expiry (epoch seconds)
        self._next_clean = 0.0  # the database's expired keys
        self._next_local_clean = 0.0

    def first_time(self, key: str, expires_at: float) -> bool:
        """True the first time ``key`` is offered before ``expires_at`` (epoch seconds), on
        any replica sharing the database; False for every repeat."""
        now = self._clock()
        with self._lock:
            self._forget_local(now)
            if key in self._seen:
                return False
            self._seen[key] = expires_at
        try:
            with self._sessions.begin() as session:
                fresh = replays.claim(session, key, datetime.fromtimestamp(expires_at, UTC))
                if fresh and now >= self._next_clean:
                    self._next_clean = now + CLEAN_EVERY_S
                    replays.forget_expired(session, datetime.fromtimestamp(now, UTC))
        except SQLAlchemyError as e:
            # The replicas cannot compare notes; this one still refuses what it has seen.
            logger.warning("replay check: database unavailable (%s); checked this replica only", type(e).__name__)
            return True
        return fresh

    def _forget_local(self, now: float) -> None:
        if now < self._next_local_clean:
            return
        self._next_local_clean = now + CLEAN_EVERY_S
        for key in [k for k, expiry in self._seen.items() if expiry <= now]:
            del self._seen[key]
