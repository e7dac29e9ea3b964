"""Independent reads side by side, on one executor the caller owns.

Providers say *what* is independent (three organisation reads, two invoice cursors, a batch of
association chunks); the check runner says *where* it runs: it gives each run an executor of its
own (a view of the process's threads, ``common.threads``) and lends it to the providers of that
run. A provider built without one (a benchmark, a test, the
``connect`` command) gets :data:`SERIAL` and does the same work one call after another.

A call waiting on work it fanned out never waits on work that has not started: whatever no
worker has picked up yet, the waiting caller runs itself. So nested fan-out (a fanned-out
read that fans out again) cannot deadlock however small the pool, and a saturated pool only
makes the run slower, never stuck. An executor already shut down (a check that outlived its
run) degrades to serial the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class Pending(Generic[T]):
    """A call started on the executor (or deferred, when there is none)."""

    def __init__(self, call: Callable[[], T], future: Future[T] | None) -> None:
        self._call = call
        self._future = future

    def result(self) -> T:
        """The call's value (or its exception); run here if no worker has started it."""
        if self._future is None or self._future.cancel():
            return self._call()
        return self._future.result()


class FanOut:
    """Runs independent calls concurrently on ``executor``; serially when it is ``None``."""

    def __init__(self, executor: Executor | None = None) -> None:
        self._executor = executor

    @property
    def parallel(self) -> bool:
        return self._executor is not None

    def start(self, call: Callable[[], T]) -> Pending[T]:
        """Start ``call`` now if a worker is free; ``.result()`` waits for (or runs) it."""
        if self._executor is None:
            return Pending(call, None)
        try:
            return Pending(call, self._executor.submit(call))
        except RuntimeError:  # the executor was shut down: its run is over
            return Pending(call, None)

    def map(self, fn: Callable[[T], R], items: Iterable[T], *, lanes: int | None = None) -> list[R]:
        """``[fn(item) for item in items]`` with at most ``lanes`` calls in flight (all of them
        when ``None``), results in the order of ``items``. The caller works one lane itself.
        The first exception is raised once every lane has stopped."""
        work = list(items)
        count = min(len(work), lanes or len(work))
        if count <= 1 or self._executor is None:
            return [fn(item) for item in work]
        done: dict[int, R] = {}
        errors: list[Exception] = []
        lock = threading.Lock()
        cursor = iter(range(len(work)))

        def lane() -> None:
            while True:
                with lock:
                    if errors:
                        return
                    index = next(cursor, None)
                if index is None:
                    return
                try:
                    done[index] = fn(work[index])
                except Exception as e:  # noqa: BLE001  # re-raised in the caller below
                    with lock:
                        errors.append(e)
                    return

        others = [self.start(lane) for _ in range(count - 1)]
        lane()
        for other in others:
            other.result()  # a lane no worker started finds the cursor drained and returns at once
        if errors:
            raise errors[0]
        return [done[index] for index in range(len(work))]


SERIAL = FanOut()
