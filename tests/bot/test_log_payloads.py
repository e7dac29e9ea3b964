"""Slack's payloads stay out of the logs at every level: request bodies (forged or real) and
``response_url``s, which anyone holding one can post to for 30 minutes. Captured through the
product's own logging at DEBUG while the running bot serves forged and real requests."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterator

import pytest
from slack_bolt.request import BoltRequest

from config.logging import setup_logging
from tests.bot.conftest import Harness, sign

FORM = "application/x-www-form-urlencoded"
MARKER = "zq-marker-7731"  # in every body sent: must never reach a log line


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = setup_logging("DEBUG", stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_no_body_and_no_response_url_is_logged_at_debug(
    make_harness: Callable[..., Harness], debug_log: io.StringIO
) -> None:
    h = make_harness()
    urls = []

    def command(**kw: str) -> tuple[str, str]:
        body, url = h.command_body("acme", channel_name=MARKER, **kw)
        urls.append(url)
        return body.replace("user_name=support", f"user_name={MARKER}"), url

    # forged: a garbled timestamp, a wrong signature, then a replay of a real request
    forged, _ = command()
    h.post(forged, FORM, signature="v0=" + "0" * 64)
    body, _ = command()
    h.post(body, FORM, timestamp=int(time.time()), signature=sign(body, "abc"))
    # forged, straight into Bolt (what Bolt itself logs when its own check refuses)
    now = str(int(time.time()))
    refused = h.bot.app.dispatch(
        BoltRequest(
            body=forged,
            headers={"content-type": [FORM], "x-slack-request-timestamp": [now], "x-slack-signature": ["v0=1"]},
        )
    )
    assert refused.status == 401
    # real: a command answered through its response_url, and an App Home refresh
    real, url = command()
    ts = int(time.time())
    assert h.post(real, FORM, timestamp=ts).status_code == 200
    assert h.final_response(url)["text"] == "acme: all checks passed"
    assert h.post(real, FORM, timestamp=ts).status_code == 401  # the replay
    assert h.bot.pool.drain(10)
    h.event({"type": "app_home_opened", "user": "U0SUPPORT", "tab": "home", "channel": MARKER})
    h.fake.wait_for(lambda: h.fake.calls_to("views.publish"))

    output = debug_log.getvalue()
    # the capture really saw Bolt's and the SDK's DEBUG lines
    assert "DEBUG bot.bolt:" in output and "DEBUG slack_sdk.webhook.client:" in output
    assert "Invalid request signature detected" in output
    leaks = [line for line in output.splitlines() if MARKER in line or "legacy-verification-token" in line]
    leaks += [line for line in output.splitlines() for u in urls if u.rsplit("/", 1)[1] in line]
    assert leaks == []
    assert "/respond/" not in output
