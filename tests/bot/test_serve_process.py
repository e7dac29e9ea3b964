"""`sync-doctor serve` as a real process: it answers, and on SIGTERM it stops accepting,
lets the command already acknowledged post its answer, and exits 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

import app as sync_doctor
from config.env import load_settings
from config.integrations import parse_config
from sandbox.server import Sandbox
from sandbox.slack import FakeSlack
from tests.bot.conftest import BOT_TOKEN, SIGNING_SECRET, Harness, sign
from tests.bot.world import connect_all, integrations_config
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]


def test_serve_drains_on_sigterm(tmp_path: Path, fake_slack: FakeSlack, sandbox: Sandbox) -> None:
    overrides = {system: sandbox.overrides(system) for system in ("hubspot", "xero")}
    config_path = tmp_path / "sync-doctor.yml"
    config_path.write_text(yaml.safe_dump(integrations_config(overrides)), encoding="utf-8")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
        "SYNC_DOCTOR_SECRET_KEY": "test-secret-key",
        "SYNC_DOCTOR_CONFIG": str(config_path),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "PORT": str(port),
    }
    services = sync_doctor.build(load_settings(env), parse_config(integrations_config(overrides)))
    connect_all(services)
    services.close()

    proc = subprocess.Popen(
        [sys.executable, "app.py", "serve"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert health.json()["status"] == "ok"

        sandbox.emulators["hubspot"].faults.latency_ms = 1500  # the run is still going at SIGTERM
        harness = Harness.__new__(Harness)
        harness.fake = fake_slack
        body, url = harness.command_body("acme")
        ts = str(int(time.time()))
        sig = sign(body, ts)
        ack = httpx.post(
            f"{base}/slack/events",
            content=body,
            timeout=10,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": sig,
            },
        )
        assert ack.status_code == 200
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, output
        entry = fake_slack.response(url)
        assert entry.posts and entry.posts[0]["text"] == "acme: all checks passed", output
        assert BOT_TOKEN not in output and SIGNING_SECRET not in output
        # One log format for everything the server prints, uvicorn's own lines included.
        for line in output.splitlines():
            assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+: ", line), (
                line
            )
    finally:
        sandbox.emulators["hubspot"].faults.latency_ms = 0
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
