"""Slack for ``serve --demo`` without a workspace: the fake Web API, started in-process.

When no ``SLACK_BOT_TOKEN`` is set, :class:`DemoSlack` starts ``sandbox.slack.FakeSlack`` on
loopback with a bot token and a signing secret made up for this run, and hands the bot the
settings that point at it. Slack's part in a ``/sync-check`` is then played by hand: the
:meth:`DemoSlack.instructions` print a ``curl`` command that sends a signed
``/sync-check acme`` exactly as Slack would (valid for Slack's five minutes, once: the bot
refuses a replay), and every answer the bot posts back is printed as it arrives.
"""

from __future__ import annotations

import secrets
import shlex
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from sandbox.slack import Call, Channel, FakeSlack, message_text, sign, slash_command_body

DEMO_CHANNEL = Channel("C0DEMO", "sync-doctor-demo")


class DemoSlack:
    def __init__(self, out: TextIO | None = None, clock: Callable[[], float] = time.time) -> None:
        self.bot_token = "xoxb-demo-" + secrets.token_hex(12)
        self.signing_secret = secrets.token_hex(16)
        self._out = out or sys.stdout
        self._clock = clock
        self._print_lock = threading.Lock()
        self.fake = FakeSlack(
            tokens=(self.bot_token,), team_id="T0DEMO", channels=(DEMO_CHANNEL,), any_response_url=True
        )
        self.fake.listeners.append(self._show)

    def start(self) -> DemoSlack:
        self.fake.start()
        return self

    def stop(self) -> None:
        self.fake.stop()

    def environ(self) -> dict[str, str]:
        """The settings that point the bot at this Slack."""
        return {
            "SLACK_BOT_TOKEN": self.bot_token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_URL": self.fake.api_url,
        }

    def curl(self, events_url: str, text: str = "acme") -> str:
        """A ready command line that sends ``/sync-check TEXT`` to ``events_url``, signed now."""
        body = slash_command_body(text, response_url=self.fake.new_response_url())
        timestamp = int(self._clock())
        return shlex.join(
            [
                "curl",
                "-sS",
                events_url,
                "-H",
                f"X-Slack-Request-Timestamp: {timestamp}",
                "-H",
                f"X-Slack-Signature: {sign(body, timestamp, self.signing_secret)}",
                "--data-raw",
                body,
            ]
        )

    def instructions(self, bot_url: str) -> str:
        return "\n".join(
            [
                f"No SLACK_BOT_TOKEN: Slack is played by a fake Web API at {self.fake.api_url}",
                f"(bot token and signing secret made up for this run; signing secret {self.signing_secret}).",
                "Send /sync-check acme as Slack would (signed: it works for 5 minutes, and once):",
                "",
                self.curl(bot_url.rstrip("/") + "/slack/events"),
                "",
                "The bot acknowledges at once; its answer comes back to the fake Slack and is printed here.",
            ]
        )

    def _show(self, call: Call) -> None:
        if call.method == "response_url" and not call.params.get("delete_original"):
            where = "an answer"
        elif call.method == "chat.postMessage":
            where = f"a message in {call.params.get('channel')}"
        else:
            return
        lines = [f"Slack (demo) received {where}:"]
        lines += [f"  {line}" for text in message_text(call.params) for line in text.splitlines()]
        with self._print_lock:
            print("\n".join(lines), file=self._out, flush=True)
