"""The emulators' clock: wall time plus an offset a test can advance."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

logger = logging.getLogger(__name__)


class SandboxClock:
    """Wall time plus an offset a test can advance (emulators run in other threads, where
    freezegun's patching is not a reliable way to move their time)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def moment(self) -> datetime:
        """``now()`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def advance(self, seconds: float) -> None:
        self.offset += seconds
