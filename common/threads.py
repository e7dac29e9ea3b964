"""Threads shared by every run of a process, and each run's own view of them.

A run used to start two thread pools of its own (one for its fetches, one for its checks) and
drop them when it ended: at sweep rates (a run every few milliseconds) starting those threads
was a sixth of the sweep's CPU. :data:`SHARED` keeps threads between runs instead; a run
borrows them through a :class:`RunExecutor`, which it shuts down as before (what it had queued
and not started is cancelled, later submits are refused) without touching other runs' work.

The shared pool has no upper bound, on purpose: a check that outlives its run's time limit
keeps its thread until its HTTP timeout ends it, and a bounded pool full of those would make
every later run wait behind them. Threads are started only when none is idle and end after
:data:`IDLE_S` with nothing to do, so the pool is as large as the work in flight, no larger.
They are daemon threads, so an idle one never holds up the process's exit; work still running
at exit gets up to :data:`EXIT_WAIT_S` to end (a token refresh under way is saved, as it was
when each run's pool was joined at exit).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

IDLE_S = 60.0  # a thread with nothing to do for this long ends
# At exit, work still running gets this long to end (one HTTP timeout): the threads are daemons,
# so an idle one never holds the process up, but a token refresh under way is still saved.
EXIT_WAIT_S = 30.0


class ElasticExecutor(Executor):
    """Reuses an idle thread when there is one, starts one when there is not."""

    def __init__(self, name: str, *, idle_s: float = IDLE_S) -> None:
        self._name = name
        self._idle_s = idle_s
        self._work: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
        # One token per idle thread: a submit takes one (an idle thread will pick its work up)
        # or starts a thread; a thread that ends takes its own token back first.
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._started = 0
        self._threads = 0
        self._pending = 0  # submitted, not yet finished (or skipped, if cancelled)
        self._all_done = threading.Condition(self._lock)

    @property
    def threads(self) -> int:
        """Threads alive now (tests read it)."""
        return self._threads

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            self._pending += 1
        self._work.put((future, lambda: fn(*args, **kwargs)))
        if not self._idle.acquire(blocking=False):
            self._start_thread()
        return future

    def _start_thread(self) -> None:
        with self._lock:
            self._started += 1
            self._threads += 1
            number = self._started
        threading.Thread(target=self._serve, name=f"{self._name}-{number}", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                future, call = self._work.get(timeout=self._idle_s)
            except queue.Empty:
                # Idle too long: end, unless a submit has just counted on this thread (its
                # token is gone), in which case its work is on the queue and this thread takes it.
                if self._idle.acquire(blocking=False):
                    with self._lock:
                        self._threads -= 1
                    return
                continue
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(call())
                except BaseException as e:  # noqa: BLE001  # handed to whoever waits on the future
                    future.set_exception(e)
            del future, call  # a finished call's result is not kept alive by an idle thread
            self._idle.release()  # idle again before it counts as done: drain() implies idle
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self._all_done.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until nothing submitted is left to run (at most ``timeout`` s); True if so."""
        with self._lock:
            return self._all_done.wait_for(lambda: self._pending == 0, timeout)


class RunExecutor(Executor):
    """One run's share of a shared executor: ``shutdown`` cancels what this run queued and
    has not started and refuses later submits (``RuntimeError``, as a closed
    ``ThreadPoolExecutor`` does); work already running finishes on its own."""

    def __init__(self, shared: Executor) -> None:
        self._shared = shared
        self._lock = threading.Lock()
        self._futures: set[Future[Any]] = set()
        self._closed = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with self._lock:
            if self._closed:
                raise RuntimeError("this run's executor is shut down")
            future = self._shared.submit(fn, *args, **kwargs)
            self._futures.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.discard(future)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            futures = list(self._futures)
        if cancel_futures:
            for future in futures:
                future.cancel()
        if wait:
            concurrent.futures.wait(futures)


SHARED = ElasticExecutor("run")
atexit.register(SHARED.drain, EXIT_WAIT_S)
