"""Telling listeners (change alerts, the App Home) about each stored run, off the caller's thread.

Whoever ran the check — a Slack user waiting for the answer, the CLI, a schedule — gets the
result as soon as it is stored; alert posts and their retries (Slack's ``Retry-After``) happen
on the notifier's threads. The guarantees:

- **ordered per integration**: every run of one integration goes to the same lane (one thread),
  in the order the runs were published, so alerts never see a later run before an earlier one;
- **bounded**: at most ``capacity`` runs wait per lane; beyond that a run is dropped with a
  warning. Nothing is lost that matters: the run is stored, and alerts compare each run with
  what is stored, so the next run of that integration catches up;
- **contained**: a listener that raises is logged with the run's ref; the other listeners
  still get the run, and the lane goes on;
- **drained**: :meth:`RunNotifier.flush` waits until every run published so far is
  delivered; :meth:`RunNotifier.close` flushes, then stops the threads (the CLI closes it
  before exiting, so alerts from CLI runs still post).

Threads start on the first run a lane carries, so a command that runs no check starts none.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import replace

from checks.runner import RunResult

logger = logging.getLogger(__name__)

RunListener = Callable[[RunResult], None]

DEFAULT_LANES = 4
DEFAULT_CAPACITY = 100


class _Lane:
    """One thread delivering its runs in order."""

    def __init__(self, name: str, capacity: int, deliver: RunListener) -> None:
        self.name = name
        self.capacity = capacity
        self._deliver = deliver
        self._queue: deque[RunResult] = deque()
        self._cond = threading.Condition()
        self._published = 0
        self._delivered = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def published(self) -> int:
        with self._cond:
            return self._published

    def put(self, result: RunResult) -> str | None:
        """Queue ``result``; None when queued, else why not ("closed", "full")."""
        with self._cond:
            if self._closed:
                return "closed"
            if len(self._queue) >= self.capacity:
                return "full"
            self._queue.append(result)
            self._published += 1
            if self._thread is None:
                # daemon: a process that exits without close() must not hang on this thread
                self._thread = threading.Thread(target=self._work, name=self.name, daemon=True)
                self._thread.start()
            self._cond.notify_all()
            return None

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._closed)
                if not self._queue:
                    return  # closed, and everything delivered
                result = self._queue.popleft()
            try:
                self._deliver(result)
            finally:
                with self._cond:
                    self._delivered += 1
                    self._cond.notify_all()

    def wait_delivered(self, count: int, deadline: float | None) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._delivered >= count, timeout=_remaining(deadline))

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def join(self, deadline: float | None) -> None:
        if self._thread is not None:
            self._thread.join(_remaining(deadline))


class RunNotifier:
    def __init__(self, *, lanes: int = DEFAULT_LANES, capacity: int = DEFAULT_CAPACITY) -> None:
        if lanes < 1 or capacity < 1:
            raise ValueError("a notifier needs at least one lane and room for one run")
        self._listeners: list[RunListener] = []
        self._lock = threading.Lock()
        self._closed = False
        self._lanes = [_Lane(f"run-notifier-{i}", capacity, self._deliver) for i in range(lanes)]

    def subscribe(self, listener: RunListener) -> Callable[[], None]:
        """Deliver every later run to ``listener``; returns a function that stops that."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    @property
    def listeners(self) -> tuple[RunListener, ...]:
        with self._lock:
            return tuple(self._listeners)

    def publish(self, result: RunResult) -> bool:
        """Queue ``result`` for the listeners and return at once (False when it was dropped)."""
        with self._lock:
            closed, anyone = self._closed, bool(self._listeners)
        if not anyone and not closed:
            return True
        lane = self._lane(result.integration)
        # The fetched data (context) is for traces, not listeners: queued runs stay small.
        refused = "closed" if closed else lane.put(replace(result, context=None))
        if refused == "closed":
            logger.warning("run %s: stored after shutdown began; no alert or App Home refresh for it", result.ref)
        elif refused == "full":
            logger.warning(
                "run %s: %s is %d runs behind in announcing; this one is skipped (the next run catches up)",
                result.ref,
                result.integration,
                lane.capacity,
            )
        return refused is None

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every run published before this call has been delivered (True), or
        ``timeout`` seconds passed (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        targets = [(lane, lane.published) for lane in self._lanes]
        return all(lane.wait_delivered(count, deadline) for lane, count in targets)

    def close(self, timeout: float = 30.0) -> bool:
        """Refuse new runs, deliver the queued ones (up to ``timeout`` s), stop the threads."""
        with self._lock:
            self._closed = True
        deadline = time.monotonic() + timeout
        drained = self.flush(timeout)
        for lane in self._lanes:
            lane.close()
        for lane in self._lanes:
            lane.join(deadline)
        if not drained:
            logger.warning("run notifier: gave up after %.0f s with runs still to announce", timeout)
        return drained

    def _lane(self, integration: str) -> _Lane:
        # crc32, not hash(): the same integration maps to the same lane in every process
        return self._lanes[zlib.crc32(integration.encode()) % len(self._lanes)]

    def _deliver(self, result: RunResult) -> None:
        for listener in self.listeners:
            try:
                listener(result)
            except Exception:
                # A failed alert post must not cost the App Home its refresh, nor the lane its thread.
                logger.exception("run %s: a run listener (%s) failed", result.ref, _name(listener))


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _name(listener: RunListener) -> str:
    return getattr(listener, "__qualname__", None) or type(listener).__name__
