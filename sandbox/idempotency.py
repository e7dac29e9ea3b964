"""Answers saved under an idempotency key, so a repeated write is answered, not done twice.

Xero (``Idempotency-Key``, kept six minutes) and Stripe (``Idempotency-Key``, kept here for the
emulator's life) save the first answer and replay it to a repeat with the same parameters; what
a repeat with other parameters gets is each system's own error, so the emulator compares the
fingerprint it saved.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable
from dataclasses import dataclass

from starlette.responses import Response

from sandbox.clock import SandboxClock

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Saved:
    fingerprint: str  # what the first request asked, to tell a replay from a reused key
    status: int
    body: bytes
    saved_at: float

    def response(self) -> Response:
        return Response(self.body, status_code=self.status, media_type="application/json")


class IdempotencyCache:
    """Saved answers by slot (the key with whatever scopes it: tenant, account, mode)."""

    def __init__(self, clock: SandboxClock, ttl: float | None = None) -> None:
        self.clock = clock
        self.ttl = ttl  # None: kept for good
        self._lock = threading.Lock()
        self._saved: dict[Hashable, Saved] = {}

    def get(self, slot: Hashable) -> Saved | None:
        with self._lock:
            if self.ttl is not None:
                now = self.clock.now()
                for old in [k for k, v in self._saved.items() if now - v.saved_at > self.ttl]:
                    del self._saved[old]
            return self._saved.get(slot)

    def put(self, slot: Hashable, fingerprint: str, status: int, body: bytes) -> None:
        with self._lock:
            self._saved[slot] = Saved(fingerprint, status, body, self.clock.now())
