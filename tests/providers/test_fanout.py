"""FanOut: independent calls side by side on the caller's executor, serial without one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from providers.fanout import SERIAL, FanOut


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="test-fan-out")
    yield executor
    executor.shutdown(wait=True)


def test_without_an_executor_everything_runs_in_the_caller() -> None:
    caller = threading.current_thread()
    seen: list[threading.Thread] = []

    def record(n: int) -> int:
        seen.append(threading.current_thread())
        return n * 2

    assert SERIAL.map(record, [1, 2, 3]) == [2, 4, 6]
    pending = SERIAL.start(lambda: record(5))
    assert len(seen) == 3  # deferred until asked for
    assert pending.result() == 10
    assert seen == [caller] * 4 and not SERIAL.parallel


def test_map_runs_lanes_at_once_and_keeps_the_order(pool: ThreadPoolExecutor) -> None:
    both_running = threading.Barrier(2, timeout=5)  # passes only if two calls overlap
    in_flight = 0
    most = 0
    lock = threading.Lock()

    def call(n: int) -> int:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        if n < 2:
            both_running.wait()
        with lock:
            in_flight -= 1
        return n

    assert FanOut(pool).map(call, range(8), lanes=2) == list(range(8))
    assert most == 2  # two lanes: never a third call in flight, though the pool has four workers


def test_the_first_error_is_raised_once_every_lane_stopped(pool: ThreadPoolExecutor) -> None:
    done: list[int] = []

    def call(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        done.append(n)
        return n

    with pytest.raises(ValueError, match="three"):
        FanOut(pool).map(call, range(6), lanes=2)
    assert 3 not in done


def test_nested_fan_out_on_a_single_worker_finishes() -> None:
    # Every outer call fans out again while the only worker may be busy: callers run what no
    # worker has started instead of waiting for it, so this cannot deadlock.
    executor = ThreadPoolExecutor(max_workers=1)
    fan_out = FanOut(executor)
    results: list[list[int]] = []

    def outer(n: int) -> int:
        pending = fan_out.start(lambda: n * 100)
        inner = fan_out.map(lambda m: n * 10 + m, range(3))
        return sum(inner) + pending.result()

    worker = threading.Thread(target=lambda: results.append(fan_out.map(outer, range(4))))
    worker.start()
    worker.join(timeout=10)
    executor.shutdown(wait=True)
    assert not worker.is_alive()
    assert results == [[n * 30 + 3 + n * 100 for n in range(4)]]


def test_an_executor_shut_down_degrades_to_serial() -> None:
    executor = ThreadPoolExecutor(max_workers=2)
    executor.shutdown(wait=True)  # the run that owned it is over
    fan_out = FanOut(executor)
    assert fan_out.start(lambda: "late").result() == "late"
    assert fan_out.map(str, [1, 2]) == ["1", "2"]
