"""Exactly once under crashes: a real child process runs an approved re-sync and is killed with
SIGKILL at a chosen point — before the request leaves, while the emulator holds the request,
after the reply but before the state is written — then a real ``sync-doctor actions resume``
process finishes it. Whatever the point, the destination ends with exactly one invoice and
the action ``succeeded``. Xero and QuickBooks Online; SQLite and PostgreSQL (TEST_DATABASE_URL).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from demo import DemoEnvironment
from sandbox.faults import Hold
from tests.actions.conftest import ACME_REALM, environment, qbo_invoices, write_config, xero_invoices

REPO = Path(__file__).resolve().parents[2]
WAIT = 60.0


class Child:
    """A process whose stdout lines can be awaited."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def wait_for(self, prefix: str) -> str:
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no {prefix!r} line; stderr: {self.stderr()}") from None
            if line.startswith(prefix):
                return line

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(WAIT)

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read()


def child_env(environ: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **environ, "PYTHONPATH": str(REPO)}


# system -> (integration, invoice number, the write's method and path, invoices in the destination)
Target = tuple[str, str, str, str, Callable[[DemoEnvironment, str], list[dict[str, Any]]]]
TARGETS: dict[str, Target] = {
    "xero": ("initech", "INI-2003", "PUT", "/api.xro/2.0/Invoices", xero_invoices),
    "quickbooks": ("acme", "INV-1003", "POST", f"/v3/company/{ACME_REALM}/invoice", qbo_invoices),
}


@pytest.fixture
def crash_world(world: dict[str, Any]) -> dict[str, Any]:
    """The demo world with one more initech invoice, not yet in Xero."""
    for portal in world["hubspot"]["portals"].values():
        if portal["hub_domain"] == "initech.example":
            portal["invoices"].append(
                {
                    "id": "202",
                    "number": "INI-2003",
                    "status": "open",
                    "currency": "NZD",
                    "date": portal["invoices"][1]["date"],
                    "modified": portal["invoices"][1]["modified"],
                    "contact": "1",
                    "lines": [{"product": "10", "quantity": 2, "price": "30.00", "name": "TPS report review"}],
                }
            )
    return world


@pytest.fixture
def running(
    crash_world: dict[str, Any], env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[DemoEnvironment, dict[str, str]]]:
    with environment(crash_world, env) as demo:
        yield demo, child_env(write_config(demo, tmp_path / "sync-doctor.yml"))


def approved(demo: DemoEnvironment, integration: str, number: str) -> int:
    actions = demo.services.actions
    action = actions.request(integration, "resync", {"numbers": number}, requested_by="U0SUPPORT")
    actions.approve(action.id, user="U0ADMIN1", is_admin=True)
    return action.id


def resume(environ: dict[str, str]) -> dict[str, Any]:
    """``sync-doctor actions resume --json`` in a process of its own."""
    done = subprocess.run(
        [sys.executable, "app.py", "actions", "resume", "--json"],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


@pytest.mark.parametrize("system", sorted(TARGETS))
@pytest.mark.parametrize("point", ["sending", "held", "replied"])
def test_killed_mid_push_then_resumed_lands_exactly_once(
    running: tuple[DemoEnvironment, dict[str, str]], system: str, point: str
) -> None:
    demo, environ = running
    integration, number, method, path, landed = TARGETS[system]
    action_id = approved(demo, integration, number)
    assert demo.sandbox is not None
    emulator = demo.sandbox.emulators[system]
    hold: Hold | None = emulator.hold(method, path) if point == "held" else None
    child = Child(
        [sys.executable, "-m", "tests.actions.crash_worker", str(action_id), point if not hold else "none"], environ
    )
    try:
        if hold is not None:
            assert hold.arrived.wait(WAIT), child.stderr()
        else:
            assert child.wait_for("AT ") == f"AT {point} {number}"
        child.kill()
    finally:
        child.kill()
    if hold is not None:
        hold.release()
        assert hold.done.wait(WAIT)  # the server did the work its dead client asked for
    left = demo.services.actions.get(action_id)
    assert left.state == "running" and left.steps[0].state == "sending"
    assert len(landed(demo, number)) == (0 if point == "sending" else 1)

    resumed = resume(environ)

    assert [a["id"] for a in resumed["resumed"]] == [action_id]
    final = demo.services.actions.get(action_id)
    copies = landed(demo, number)
    assert final.state == "succeeded" and len(copies) == 1
    step = final.steps[0]
    assert step.state == "succeeded" and step.attempts == (2 if point == "sending" else 1)
    assert step.destination_id == copies[0]["InvoiceID" if system == "xero" else "Id"]
    events = [e.event for e in demo.services.actions.audit(integration, action_id=action_id)]
    assert "action.resumed" in events


@pytest.mark.parametrize("system", sorted(TARGETS))
def test_a_request_still_held_when_the_resume_sends_again_cannot_make_a_second(
    running: tuple[DemoEnvironment, dict[str, str]], system: str
) -> None:
    """The dead run's request is still parked when the resume looks up (nothing there yet) and
    sends again with the same idempotency key; let through afterwards, the first request is
    refused by the destination as a duplicate number. One invoice."""
    demo, environ = running
    integration, number, method, path, landed = TARGETS[system]
    action_id = approved(demo, integration, number)
    assert demo.sandbox is not None
    hold = demo.sandbox.emulators[system].hold(method, path)
    child = Child([sys.executable, "-m", "tests.actions.crash_worker", str(action_id), "none"], environ)
    try:
        assert hold.arrived.wait(WAIT), child.stderr()
    finally:
        child.kill()
    resumed = resume(environ)
    assert resumed["resumed"][0]["state"] == "succeeded"
    hold.release()
    assert hold.done.wait(WAIT)
    assert len(landed(demo, number)) == 1
