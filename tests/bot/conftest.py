"""The running bot over real HTTP on loopback: the ASGI app (uvicorn), the emulators (Sandbox)
and a fake Slack Web API, with signed requests built as Slack signs them."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from slack_bolt.listener.listener_completion_handler import ListenerCompletionHandler
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

import app as sync_doctor
from bot.server import make_asgi_app
from bot.slack_app import BotRuntime, create_app
from checks.runner import RunResult
from config.env import load_settings
from config.integrations import parse_config
from sandbox.server import LoopbackServer, Sandbox
from sandbox.slack import FakeSlack, Posted
from service.container import Services
from tests.bot.world import build_world, connect_all, integrations_config
from tests.conftest import free_port

BOT_TOKEN = "xoxb-test-token"
SIGNING_SECRET = "test-signing-secret"


class ListenerEnds(ListenerCompletionHandler):
    """Counts Bolt listener runs that have returned, wrapping Bolt's own completion handler.

    Bolt answers a request as soon as the listener calls ``ack()`` and lets the listener go on in
    its own thread, so the HTTP answer alone does not say the listener is done; waiting for this
    count does, and then whatever the listener would have started (a run, a post) has started.
    """

    def __init__(self, inner: ListenerCompletionHandler) -> None:
        self.inner = inner
        self.count = 0
        self._cond = threading.Condition()

    def handle(self, request: BoltRequest, response: BoltResponse | None) -> None:
        try:
            self.inner.handle(request, response)
        finally:
            with self._cond:
                self.count += 1
                self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.count >= count, timeout=timeout):
                raise AssertionError(f"{count} Bolt listener(s) did not return within {timeout}s ({self.count} did)")


@dataclass
class Harness:
    fake: FakeSlack
    sandbox: Sandbox
    services: Services
    bot: BotRuntime
    server: LoopbackServer
    db_path: Path
    listeners: ListenerEnds
    runs: list[RunResult] = field(default_factory=list)
    run_done: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return self.server.url

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        signature: str | None = None,
    ) -> httpx.Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature or sign(body, ts, secret)
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}
        return httpx.post(f"{self.url}/slack/events", content=body.encode(), headers=headers, timeout=30)

    def command_body(
        self,
        text: str,
        *,
        user: str = "U0SUPPORT",
        channel: str = "C0SUPPORT",
        channel_name: str = "support",
        response_url: str | None = None,
    ) -> tuple[str, str]:
        url = response_url or self.fake.new_response_url()
        body = urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": "T0TEST",
                "team_domain": "test",
                "channel_id": channel,
                "channel_name": channel_name,
                "user_id": user,
                "user_name": "support",
                "command": "/sync-check",
                "text": text,
                "api_app_id": "A0SYNC",
                "is_enterprise_install": "false",
                "response_url": url,
                "trigger_id": f"{uuid.uuid4().int % 10**12}.123.abc",
            }
        )
        return body, url

    def command(self, text: str, **kw: Any) -> tuple[httpx.Response, str]:
        body, url = self.command_body(text, **kw)
        return self.post(body, "application/x-www-form-urlencoded"), url

    def event(self, event: dict[str, Any]) -> httpx.Response:
        body = json.dumps(
            {
                "token": "legacy-verification-token",
                "team_id": "T0TEST",
                "api_app_id": "A0SYNC",
                "event": event,
                "type": "event_callback",
                "event_id": f"Ev{uuid.uuid4().hex[:10]}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": "T0TEST", "user_id": "U0BOT", "is_bot": True}],
            }
        )
        return self.post(body, "application/json")

    def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        """POST an interactivity payload as Slack does (form field ``payload``, signed)."""
        base = {
            "token": "legacy-verification-token",
            "api_app_id": "A0SYNC",
            "team": {"id": "T0TEST", "domain": "test"},
        }
        return self.post("payload=" + quote(json.dumps({**base, **payload})), "application/x-www-form-urlencoded")

    def click(
        self,
        blocks: list[dict[str, Any]],
        action_prefix: str,
        *,
        user: str,
        channel: str = "C0SUPPORT",
        ts: str | None = None,
        ephemeral: bool = False,
        value: str | None = None,
    ) -> tuple[httpx.Response, str]:
        """Click the first button whose action id starts with ``action_prefix`` in ``blocks``
        (a message as the fake received it); ``value`` replaces the button's (tampering).
        Returns the HTTP answer and the click's response_url."""
        block, button = find_button(blocks, action_prefix)
        url = self.fake.new_response_url()
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": "T0TEST"},
            "container": {
                "type": "message",
                "message_ts": ts or "1700000000.000001",
                "channel_id": channel,
                "is_ephemeral": ephemeral,
            },
            "trigger_id": self.fake.new_trigger(),
            "channel": {"id": channel, "name": channel.lower()},
            "message": {"ts": ts, "blocks": blocks},
            "response_url": url,
            "actions": [
                {
                    "type": "button",
                    "block_id": block.get("block_id", ""),
                    "action_id": button["action_id"],
                    "text": button["text"],
                    "value": button.get("value", "") if value is None else value,
                    "action_ts": f"{time.time():.6f}",  # each click differs: a replay is not a click
                }
            ],
        }
        return self.interaction(payload), url

    def click_posted(
        self, message: Posted, action_prefix: str, *, user: str, value: str | None = None
    ) -> tuple[httpx.Response, str]:
        """Click a button of a message the bot posted (approval requests)."""
        return self.click(message.blocks, action_prefix, user=user, channel=message.channel, ts=message.ts, value=value)

    def submit_view(self, view: dict[str, Any], *, user: str, values: dict[str, dict[str, Any]]) -> httpx.Response:
        """Send a modal the bot opened, filled in with ``values`` ({block_id: {action_id: value}})."""
        state = {
            b: {a: {"type": "plain_text_input", "value": v} for a, v in inputs.items()} for b, inputs in values.items()
        }
        payload = {
            "type": "view_submission",
            "user": {"id": user, "username": user.lower(), "team_id": "T0TEST"},
            "trigger_id": self.fake.new_trigger(),
            "view": {**view, "state": {"values": state}, "hash": uuid.uuid4().hex[:10]},
        }
        return self.interaction(payload)

    def final_response(self, url: str, timeout: float = 30.0) -> dict[str, Any]:
        """The first response_url post after the ack (the answer that replaced the progress)."""
        entry = self.fake.response(url)
        self.fake.wait_for(lambda: entry.posts, timeout)
        return entry.posts[0]


def find_button(blocks: list[dict[str, Any]], action_prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(actions block, button) of the first button whose action id starts with ``action_prefix``."""
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if str(element.get("action_id", "")).startswith(action_prefix):
                return block, element
    raise AssertionError(f"no button {action_prefix!r} in the message")


def sign(body: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    """``X-Slack-Signature`` for ``body`` sent at ``timestamp``, as Slack computes it."""
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None  # None only without a timestamp or body
    return signature


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(tokens=(BOT_TOKEN,)).start()
    yield fake
    fake.stop()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(build_world()).start()
    yield sb
    sb.stop()


@pytest.fixture
def make_harness(tmp_path: Path, fake_slack: FakeSlack, sandbox: Sandbox) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(database_url: str | None = None, *, public_url: bool = False, **slack: Any) -> Harness:
        """A running bot; ``database_url`` shares a database between harnesses (replicas);
        ``public_url``: serve on a port chosen first, named as SYNC_DOCTOR_PUBLIC_URL (OAuth
        redirects come back to the server, as a browser follows them)."""
        db_path = tmp_path / f"bot-{len(made)}.db"
        port = free_port() if public_url else 0
        public = {"SYNC_DOCTOR_PUBLIC_URL": f"http://127.0.0.1:{port}"} if public_url else {}
        settings = load_settings(
            {
                **public,
                "DATABASE_URL": database_url or f"sqlite:///{db_path}",
                "SYNC_DOCTOR_SECRET_KEY": "test-secret-key",
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": fake_slack.api_url,
                "XERO_CLIENT_ID": "xero-client",
                "XERO_CLIENT_SECRET": "xero-secret",
            }
        )
        overrides = {system: sandbox.overrides(system) for system in ("hubspot", "xero")}
        config = parse_config(integrations_config(overrides, **slack))
        services = sync_doctor.build(settings, config)
        connect_all(services)
        bot = create_app(services)
        runner = bot.app.listener_runner
        listeners = ListenerEnds(runner.listener_completion_handler)
        runner.listener_completion_handler = listeners
        asgi = make_asgi_app(services, bot)
        harness = Harness(fake_slack, sandbox, services, bot, LoopbackServer(asgi, port).start(), db_path, listeners)

        def record(result: RunResult) -> None:
            harness.runs.append(result)
            harness.run_done.set()

        services.notifier.subscribe(record)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.server.stop()
        harness.bot.shutdown(5)
        harness.services.close()
