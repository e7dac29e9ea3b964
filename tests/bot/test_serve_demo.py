"""`sync-doctor serve --demo`: the bot against the bundled demo world, as a real process,
with no configuration file and no accounting system connected."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

from sandbox.slack import FakeSlack
from tests.bot.conftest import BOT_TOKEN, SIGNING_SECRET, sign
from tests.bot.test_serve_process import free_port

REPO = Path(__file__).resolve().parents[2]


def slash_command(base: str, fake: FakeSlack, text: str) -> dict[str, object]:
    """POST a signed /sync-check like Slack does; return the answer posted to its response_url."""
    response_url = fake.new_response_url()
    body = urlencode(
        {
            "team_id": "T0TEST",
            "channel_id": "C0SUPPORT",
            "channel_name": "support",
            "user_id": "U0SUPPORT",
            "user_name": "support",
            "command": "/sync-check",
            "text": text,
            "api_app_id": "A0SYNC",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )
    ts = str(int(time.time()))
    signature = sign(body, ts)
    ack = httpx.post(
        f"{base}/slack/events",
        content=body,
        timeout=10,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        },
    )
    assert ack.status_code == 200
    entry = fake.response(response_url)
    fake.wait_for(lambda: entry.posts, 30)
    return entry.posts[0]


def test_serve_demo_answers_sync_check_from_the_demo_world(tmp_path: Path, fake_slack: FakeSlack) -> None:
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
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve --demo did not start"
                time.sleep(0.2)
        answer = slash_command(base, fake_slack, "acme invoice INV-1004")
        assert "INV-1004" in str(answer["text"])
        assert "prod-003" in str(answer["blocks"])  # the demo world's case-mismatched SKU
        listed = str(slash_command(base, fake_slack, "list"))
        assert all(name in listed for name in ("acme", "bluegum", "initech", "umbrella"))
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert list(tmp_path.iterdir()) == []  # the demo database lived in a temp dir, now gone
    assert BOT_TOKEN not in output and SIGNING_SECRET not in output
