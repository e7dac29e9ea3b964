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
from urllib.parse import urlencode

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
from sandbox.slack import FakeSlack
from service.container import Services
from tests.bot.world import build_world, connect_all, integrations_config

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

    def final_response(self, url: str, timeout: float = 30.0) -> dict[str, Any]:
        """The first response_url post after the ack (the answer that replaced the progress)."""
        entry = self.fake.response(url)
        self.fake.wait_for(lambda: entry.posts, timeout)
        return entry.posts[0]


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

    def make(database_url: str | None = None, **slack: Any) -> Harness:
        """A running bot; ``database_url`` shares a database between harnesses (replicas)."""
        db_path = tmp_path / f"bot-{len(made)}.db"
        settings = load_settings(
            {
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
        harness = Harness(fake_slack, sandbox, services, bot, LoopbackServer(asgi).start(), db_path, listeners)

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
