"""`sync-doctor serve --demo`: the bot against the bundled demo world, as a real process,
with no configuration file and no accounting system connected; without a Slack token, with
the fake Slack it starts itself and the curl command it prints."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO
from urllib.parse import urlencode

import httpx

from sandbox.slack import FakeSlack
from tests.bot.conftest import BOT_TOKEN, SIGNING_SECRET, sign
from tests.conftest import free_port

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


class Lines:
    """A process's output, read on a thread, waited on without sleeping."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 60) -> str:
        with self._cond:
            found: list[str] = []

            def seen() -> bool:
                found[:] = [line for line in self.lines if predicate(line)]
                return bool(found)

            assert self._cond.wait_for(seen, timeout), "\n".join(self.lines)
            return found[0]

    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)


def answers(url: str, within: float = 60) -> None:
    """Wait until the server at ``url`` answers (a busy machine binds the port late)."""
    deadline = time.monotonic() + within
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.2)


def test_serve_demo_without_slack_plays_slack_and_prints_a_working_curl(tmp_path: Path) -> None:
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "")}
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "app.py"), "serve", "--demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    out = Lines(proc.stdout)
    try:
        command = out.wait_for(lambda line: line.startswith("curl "))
        assert f"http://127.0.0.1:{port}/slack/events" in command and "text=acme" in command
        out.wait_for(lambda line: "listening on" in line)  # logged once the socket is bound ...
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).raise_for_status()  # ... so it answers at once
        sent = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=30, check=True)
        assert "Checking *acme*" in sent.stdout  # Slack's 200 with the progress message
        out.wait_for(lambda line: line.startswith("Slack (demo) received an answer:"))
        out.wait_for(lambda line: "acme: HubSpot → QuickBooks Online" in line)
        replay = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=30, check=True)
        assert replay.stdout == '{"error":"invalid request"}'  # the same signed request, sent again
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, out.text()
    assert "Traceback" not in out.text()
