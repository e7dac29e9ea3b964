"""`sync-doctor serve` finishes, as it starts, an action a previous process approved but never
ran: a real serve process, the demo world's emulators, the test database."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from demo import DemoEnvironment
from sandbox.slack import FakeSlack
from tests.actions.conftest import qbo_invoices, write_config
from tests.actions.test_crash import REPO, child_env
from tests.bot.test_serve_demo import answers
from tests.conftest import free_port


def test_serve_resumes_an_approved_action_at_start(demo: DemoEnvironment, tmp_path: Path) -> None:
    actions = demo.services.actions
    action = actions.request("acme", "resync", {"numbers": "INV-1003"}, requested_by="U0SUPPORT")
    actions.approve(action.id, user="U0ADMIN1", is_admin=True)  # ... and the process stopped here
    port = free_port()
    with FakeSlack() as slack:
        environ = {
            **child_env(write_config(demo, tmp_path / "sync-doctor.yml")),
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": "test-signing-secret",
            "SLACK_API_URL": slack.api_url,
            "PORT": str(port),
        }
        proc = subprocess.Popen(
            [sys.executable, "app.py", "serve"],
            cwd=REPO,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 90
            while "verification" not in actions.get(action.id).summary:  # run, read back, checked again
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not finish the action"
                time.sleep(0.1)
            assert actions.get(action.id).state == "succeeded"
            answers(f"http://127.0.0.1:{port}/healthz")  # the action may finish before the port is bound
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["status"] == "ok"
        finally:
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert len(qbo_invoices(demo, "INV-1003")) == 1
