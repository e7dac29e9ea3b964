"""What reaches the bot at /slack/events: only requests Slack signed, each once.

An unsigned or malformed request is a 401 before Bolt sees it, so no listener and no error
handler runs, and nothing is ever posted to a ``response_url`` it carries (the fake Slack
records every call it receives). A signed request sent again within Slack's five-minute window
is refused on whichever replica it reaches, replicas sharing the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.bot.conftest import Harness, sign

FORM = "application/x-www-form-urlencoded"


def raw_post(h: Harness, body: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{h.url}/slack/events", content=body.encode(), headers={"Content-Type": FORM, **headers}, timeout=30
    )


# What int() would take (a sign, underscores) or what is not a number at all; each stands for
# the current time where it can, so only its spelling is wrong.
MALFORMED_TIMESTAMPS: dict[str, Callable[[int], str]] = {
    "letters": lambda now: "abc",
    "empty": lambda now: "",
    "plus sign": lambda now: f"+{now}",
    "underscores": lambda now: f"{str(now)[:4]}_{str(now)[4:]}",
    "fraction": lambda now: f"{now}.5",
    "exponent": lambda now: f"{now / 1e9}e9",
    "hex": lambda now: hex(now),
    "negative": lambda now: f"-{now}",
    "huge": lambda now: "9" * 40,
}


@pytest.mark.parametrize("spelling", MALFORMED_TIMESTAMPS)
def test_a_malformed_timestamp_is_a_401_and_nothing_is_posted(
    make_harness: Callable[..., Harness], spelling: str
) -> None:
    h = make_harness()
    body, url = h.command_body("acme")
    timestamp = MALFORMED_TIMESTAMPS[spelling](int(time.time()))
    # signed with the real secret over that very timestamp: only its spelling is wrong
    signature = sign(body, timestamp) if timestamp else "v0=" + "0" * 64
    calls_before = len(h.fake.calls)
    response = raw_post(h, body, {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature})
    assert response.status_code == 401
    assert h.listeners.count == 0
    assert h.fake.calls[calls_before:] == [] and h.fake.response(url).posts == []


def test_missing_or_garbled_signatures_are_a_401_and_nothing_is_posted(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    body, url = h.command_body("acme")
    now = str(int(time.time()))
    good = sign(body, now)
    attempts = [
        {},
        {"X-Slack-Request-Timestamp": now},
        {"X-Slack-Signature": good},
        {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": ""},
        {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": good.upper()},
        {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": good[3:]},
        {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v1=" + good[3:]},
        {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": good + "0"},
        {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=" + "g" * 64},
        {"X-Slack-Request-Timestamp": str(int(now) + 1), "X-Slack-Signature": good},
        {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": sign(body, now, "another-secret")},
    ]
    calls_before = len(h.fake.calls)
    for headers in attempts:
        assert raw_post(h, body, headers).status_code == 401, headers
    assert h.listeners.count == 0
    assert h.fake.calls[calls_before:] == [] and h.fake.response(url).posts == []
    # the same body, properly signed, is answered: only the signature was in the way
    assert raw_post(h, body, {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": good}).status_code == 200
    assert h.final_response(url)["text"] == "acme: all checks passed"


def test_a_replayed_request_is_refused_and_not_run_again(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    body, url = h.command_body("list")
    ts = int(time.time())
    assert h.post(body, FORM, timestamp=ts).status_code == 200
    h.final_response(url)
    assert h.post(body, FORM, timestamp=ts).status_code == 401  # byte for byte the same request
    assert h.bot.pool.drain(10)
    assert h.listeners.count == 1 and len(h.fake.response(url).posts) == 1
    # the same command sent again by Slack is a new request (new timestamp and signature)
    assert h.post(body, FORM, timestamp=ts + 1).status_code == 200


def test_a_replay_to_another_replica_is_refused(make_harness: Callable[..., Harness], database_url: str) -> None:
    """Two app instances on one database (SQLite file or PostgreSQL: TEST_DATABASE_URL)."""
    first, second = make_harness(database_url=database_url), make_harness(database_url=database_url)
    for a, b in ((first, second), (second, first)):
        body, url = a.command_body("list")
        ts = int(time.time())
        assert a.post(body, FORM, timestamp=ts).status_code == 200
        assert b.post(body, FORM, timestamp=ts).status_code == 401
        a.final_response(url)
    assert first.listeners.count == 1 and second.listeners.count == 1
