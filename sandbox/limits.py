"""Rolling rate-limit windows, as Xero (per minute) and HubSpot (per ten seconds) count calls."""

from __future__ import annotations

import logging
from collections import deque

logger = logging.getLogger(__name__)


class RollingWindow:
    """Times of the calls made in the last ``seconds``. Not locked: the emulator counts under
    its own world lock, together with the other limits it checks."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._times: deque[float] = deque()

    def used(self, now: float) -> int:
        """Calls still inside the window at ``now`` (older ones are forgotten)."""
        while self._times and now - self._times[0] >= self.seconds:
            self._times.popleft()
        return len(self._times)

    def add(self, now: float) -> None:
        self._times.append(now)

    def wait(self, now: float) -> float:
        """Seconds until the oldest call leaves the window (0 when the window is empty)."""
        return self.seconds - (now - self._times[0]) if self._times else 0.0

    def within(self, now: float, seconds: float) -> int:
        """Calls of the last ``seconds`` (a shorter span inside this window)."""
        return sum(1 for t in self._times if now - t < seconds)

    def __len__(self) -> int:
        """Calls counted at the last ``used()``, without forgetting any since."""
        return len(self._times)
