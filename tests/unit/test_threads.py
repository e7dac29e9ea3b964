"""The shared run threads (common/threads.py): reused between runs, started when none is idle,
ended when idle, and each run's view cancels only its own queued work."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import CancelledError, ThreadPoolExecutor, wait
from pathlib import Path

import pytest

from common.threads import ElasticExecutor, RunExecutor
from tests.conftest import REPO


def until(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_sequential_work_reuses_one_thread() -> None:
    pool = ElasticExecutor("t-reuse")
    names = set()
    for _ in range(50):
        names.add(pool.submit(lambda: threading.current_thread().name).result(timeout=5))
        assert pool.drain(5)  # the thread is idle again before the next submit
    assert names == {"t-reuse-1"}
    assert pool.threads == 1


def test_work_in_flight_gets_a_thread_each_however_many() -> None:
    pool = ElasticExecutor("t-grow")
    gate = threading.Event()
    arrived = threading.Semaphore(0)

    def blocked() -> str:
        arrived.release()
        gate.wait(5)
        return threading.current_thread().name

    futures = [pool.submit(blocked) for _ in range(40)]
    for _ in range(40):  # all 40 run at once: none waits behind another (no upper bound)
        assert arrived.acquire(timeout=5)
    gate.set()
    assert len({f.result(timeout=5) for f in futures}) == 40
    assert pool.threads == 40


def test_idle_threads_end_and_new_work_still_runs() -> None:
    pool = ElasticExecutor("t-idle", idle_s=0.05)
    gate = threading.Event()
    futures = [pool.submit(gate.wait, 5) for _ in range(5)]
    gate.set()
    wait(futures, timeout=5)
    until(lambda: pool.threads == 0)
    assert pool.submit(lambda: 42).result(timeout=5) == 42


def test_a_submit_racing_an_idle_thread_ending_is_never_lost() -> None:
    # Threads end after 1 ms idle while work keeps arriving at about that pace: each piece of
    # work must still run (a thread whose token a submit took stays for that work).
    pool = ElasticExecutor("t-race", idle_s=0.001)
    futures = []
    for i in range(300):
        futures.append(pool.submit(int, i))
        time.sleep(0.001 * (i % 3))
    assert [f.result(timeout=5) for f in futures] == list(range(300))


def test_exceptions_reach_the_caller() -> None:
    pool = ElasticExecutor("t-error")

    def boom() -> None:
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        pool.submit(boom).result(timeout=5)
    assert pool.submit(lambda: "still serving").result(timeout=5) == "still serving"


def test_a_run_shut_down_cancels_its_queued_work_only_and_refuses_more() -> None:
    # A one-thread pool held busy, so work stays queued: what shutdown does to queued work.
    shared = ThreadPoolExecutor(max_workers=1)
    gate = threading.Event()
    mine, theirs = RunExecutor(shared), RunExecutor(shared)
    in_flight = mine.submit(gate.wait, 5)
    queued_mine = mine.submit(lambda: "mine")
    queued_theirs = theirs.submit(lambda: "theirs")
    mine.shutdown(wait=False, cancel_futures=True)
    with pytest.raises(RuntimeError):
        mine.submit(lambda: None)
    gate.set()
    assert in_flight.result(timeout=5) is True  # running work is not interrupted
    with pytest.raises(CancelledError):
        queued_mine.result(timeout=5)
    assert queued_theirs.result(timeout=5) == "theirs"
    assert theirs.submit(lambda: "open").result(timeout=5) == "open"
    shared.shutdown()


def test_shutdown_with_wait_waits_for_running_work() -> None:
    run = RunExecutor(ElasticExecutor("t-wait"))
    done: list[int] = []

    def slow() -> None:
        time.sleep(0.05)
        done.append(1)

    run.submit(slow)
    run.shutdown(wait=True)
    assert done == [1]


def test_drain_waits_for_what_is_running() -> None:
    pool = ElasticExecutor("t-drain")
    gate = threading.Event()
    pool.submit(gate.wait, 5)
    assert pool.drain(0.1) is False  # still running
    gate.set()
    assert pool.drain(5) is True


def test_work_running_at_exit_is_finished_before_the_process_ends(tmp_path: Path) -> None:
    # A refresh under way when the process exits must still save its tokens: the shared
    # threads are daemons, so the exit waits for running work (not for idle threads).
    marker = tmp_path / "saved"
    script = (
        "import time\n"
        "from common.threads import SHARED\n"
        "def save():\n"
        "    time.sleep(0.5)\n"
        f"    open({str(marker)!r}, 'w').write('tokens')\n"
        "SHARED.submit(save)\n"
    )
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", script], cwd=REPO, check=True, timeout=60)
    assert marker.read_text() == "tokens"
    assert time.monotonic() - started < 30  # idle threads did not hold the exit for IDLE_S
