"""The demo's Slack: the curl command it prints is a request the bot accepts (signed with
this run's secret, now), and what the bot posts back is printed as readable lines."""

from __future__ import annotations

import io
import shlex
import time
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest

from bot.signature import Verified, verify
from demo.slack import DemoSlack


@pytest.fixture
def slack() -> Iterator[tuple[DemoSlack, io.StringIO]]:
    out = io.StringIO()
    demo = DemoSlack(out=out).start()
    yield demo, out
    demo.stop()


def test_the_curl_command_is_a_signed_slash_command(slack: tuple[DemoSlack, io.StringIO]) -> None:
    demo, _ = slack
    argv = shlex.split(demo.curl("http://127.0.0.1:3000/slack/events", text="acme invoice INV-1004"))
    assert argv[:3] == ["curl", "-sS", "http://127.0.0.1:3000/slack/events"]
    headers = dict(h.split(": ", 1) for h in (argv[i + 1] for i, a in enumerate(argv) if a == "-H"))
    body = argv[argv.index("--data-raw") + 1]
    lowered = {k.lower(): v for k, v in headers.items()}
    verdict = verify(lowered, body.encode(), demo.signing_secret, time.time())
    assert isinstance(verdict, Verified)
    form = {k: v[0] for k, v in parse_qs(body).items()}
    assert form["command"] == "/sync-check" and form["text"] == "acme invoice INV-1004"
    assert form["response_url"].startswith(demo.fake.url + "/respond/")
    assert demo.environ() == {
        "SLACK_BOT_TOKEN": demo.bot_token,
        "SLACK_SIGNING_SECRET": demo.signing_secret,
        "SLACK_API_URL": demo.fake.api_url,
    }
    assert demo.bot_token.startswith("xoxb-") and demo.bot_token != DemoSlack().bot_token  # made up per run


def test_answers_are_printed_as_they_arrive(slack: tuple[DemoSlack, io.StringIO]) -> None:
    demo, out = slack
    answer = {
        "text": "acme: all checks passed",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "acme: HubSpot → Xero"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "All checks passed\nnothing to do"}},
        ],
        "replace_original": True,
    }
    assert httpx.post(f"{demo.fake.url}/respond/typed-by-hand", json=answer).status_code == 200
    assert out.getvalue() == (
        "Slack (demo) received an answer:\n  acme: HubSpot → Xero\n  All checks passed\n  nothing to do\n"
    )
