"""The run notifier (service/notify.py): runs reach listeners on its threads, in order per
integration; the publisher never waits; a failing listener is contained; the queue is bounded;
closing delivers what is queued and refuses the rest. Listeners block on events the test
controls, so nothing here depends on timing."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

import pytest

from checks.runner import RunResult
from service.notify import RunNotifier
from tests.bot.builders import result


def run(ref: str, integration: str = "acme") -> RunResult:
    return replace(result(integration=integration), ref=ref)


class Gate:
    """A listener that records each run, and holds the first one until released."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.threads: set[threading.Thread] = set()
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, result: RunResult) -> None:
        self.threads.add(threading.current_thread())
        self.started.set()
        assert self.release.wait(30), "the test never released the listener"
        self.seen.append(result.ref)


def test_runs_reach_listeners_in_order_off_the_publishing_thread() -> None:
    notifier = RunNotifier()
    gate = Gate()
    notifier.subscribe(gate)
    refs = [f"r{i}" for i in range(20)]
    for ref in refs:
        assert notifier.publish(run(ref)) is True  # returns while the listener is held
    assert gate.started.wait(10)
    assert notifier.flush(timeout=0) is False  # held: not delivered yet
    gate.release.set()
    assert notifier.flush(timeout=30)
    assert gate.seen == refs
    assert threading.current_thread() not in gate.threads
    notifier.close()


def test_listeners_get_the_run_without_the_fetched_data() -> None:
    notifier = RunNotifier()
    got: list[RunResult] = []
    notifier.subscribe(got.append)
    notifier.publish(replace(run("r1"), context=object()))  # type: ignore[arg-type]
    assert notifier.flush(30)
    assert [r.ref for r in got] == ["r1"] and got[0].context is None
    notifier.close()


def test_a_failing_listener_is_logged_and_the_others_still_hear(caplog: pytest.LogCaptureFixture) -> None:
    notifier = RunNotifier(lanes=1)
    heard: list[str] = []

    def broken(result: RunResult) -> None:
        raise RuntimeError("Slack is down")

    notifier.subscribe(broken)
    notifier.subscribe(lambda r: heard.append(r.ref))
    with caplog.at_level(logging.ERROR, logger="service.notify"):
        notifier.publish(run("r1"))
        notifier.publish(run("r2"))
        assert notifier.flush(30)
    assert heard == ["r1", "r2"]  # the lane survived the first failure
    failures = [r for r in caplog.records if "a run listener" in r.getMessage()]
    assert len(failures) == 2 and "run r1" in failures[0].getMessage()
    assert failures[0].exc_info is not None and "Slack is down" in str(failures[0].exc_info[1])
    notifier.close()


def test_a_full_lane_drops_the_run_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    notifier = RunNotifier(lanes=1, capacity=1)
    gate = Gate()
    notifier.subscribe(gate)
    assert notifier.publish(run("r1"))
    assert gate.started.wait(10)  # r1 is out of the queue, being delivered
    assert notifier.publish(run("r2"))  # waits in the queue (capacity 1)
    with caplog.at_level(logging.WARNING, logger="service.notify"):
        assert notifier.publish(run("r3")) is False
    assert any("run r3" in r.getMessage() and "runs behind" in r.getMessage() for r in caplog.records)
    gate.release.set()
    assert notifier.flush(30)
    assert gate.seen == ["r1", "r2"]
    notifier.close()


def test_close_delivers_what_is_queued_then_refuses(caplog: pytest.LogCaptureFixture) -> None:
    notifier = RunNotifier()
    gate = Gate()
    notifier.subscribe(gate)
    for ref in ("r1", "r2", "r3"):
        notifier.publish(run(ref, integration="globex"))
    assert gate.started.wait(10)
    closing = threading.Thread(target=notifier.close, kwargs={"timeout": 30})
    closing.start()
    gate.release.set()
    closing.join(30)
    assert not closing.is_alive()
    assert gate.seen == ["r1", "r2", "r3"]
    assert gate.threads and not any(t.is_alive() for t in gate.threads)  # the lane's thread stopped
    with caplog.at_level(logging.WARNING, logger="service.notify"):
        assert notifier.publish(run("r4", integration="globex")) is False
    assert "after shutdown began" in caplog.text and gate.seen == ["r1", "r2", "r3"]


def test_close_gives_up_after_its_timeout() -> None:
    notifier = RunNotifier(lanes=1)
    gate = Gate()
    notifier.subscribe(gate)
    notifier.publish(run("r1"))
    assert gate.started.wait(10)
    assert notifier.close(timeout=0) is False  # the listener is still held
    gate.release.set()


def test_unsubscribed_listeners_hear_nothing_more() -> None:
    notifier = RunNotifier()
    heard: list[str] = []
    stop = notifier.subscribe(lambda r: heard.append(r.ref))
    notifier.publish(run("r1"))
    assert notifier.flush(30)
    stop()
    notifier.publish(run("r2"))
    assert notifier.flush(30)
    assert heard == ["r1"]
    notifier.close()
