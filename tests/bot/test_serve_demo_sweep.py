"""`serve --demo` runs the scheduler: a sweep of the demo world's integrations happens at start
(its period is due and unclaimed), /healthz says when it ended and /metrics counts its runs;
SIGTERM still ends the process with 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sandbox.slack import FakeSlack
from tests.bot.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]


def test_serve_demo_sweeps_at_start(tmp_path: Path, fake_slack: FakeSlack) -> None:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
    }
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "app.py"), "serve", "--demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        scheduler: dict[str, object] = {}
        while not scheduler.get("last_sweep_end"):
            assert proc.poll() is None and time.monotonic() < deadline, f"no sweep reported: {scheduler}"
            try:
                scheduler = httpx.get(f"{base}/healthz", timeout=2).json().get("scheduler") or {}
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        assert scheduler["jobs_failing"] == {}
        counted = 0.0
        while counted < 8:  # every demo integration; runs are counted as listeners hear of them
            assert time.monotonic() < deadline, f"runs counted: {counted}"
            text = httpx.get(f"{base}/metrics", timeout=5).text
            counted = sum(
                s.value
                for family in text_string_to_metric_families(text)
                for s in family.samples
                if s.name == "sync_doctor_checks_run_total" and s.labels == {"trigger": "schedule"}
            )
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, output
    assert "scheduler stopped" in output
