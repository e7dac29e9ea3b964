"""Posting the digest through the fake Slack Web API over loopback HTTP: the message, then the
chart through files_upload_v2 (files.getUploadURLExternal, the upload, files.completeUploadExternal);
a channel the bot is not in keeps the digest pending and the next call posts it, once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app import build
from config.env import load_settings
from config.integrations import parse_config
from reports.digest.periods import Quarter
from sandbox.slack.api import FakeSlack
from service.container import Services
from service.digests import run_quarterly_digest
from store.models import DigestRow
from tests.digest.seeding import BASE_CONFIG, finding, record, run

TOKEN = "xoxb-test-token"
TZ = "America/New_York"
Q3 = Quarter(2026, 3)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack(tokens=(TOKEN,)) as slack:
        yield slack


def services_for(env: dict[str, str], slack: FakeSlack | None, *, channel: str | None = "C0DIGEST") -> Services:
    environ = dict(env)
    if slack is not None:
        environ.update({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": slack.api_url})
    data: dict[str, Any] = {**BASE_CONFIG, "timezone": TZ, "slack": {"digest_channel": channel} if channel else {}}
    services = build(load_settings(environ), parse_config(data))
    start = Q3.bounds(TZ)[0]
    with services.sessions.begin() as session:
        for i in range(20):
            findings = [finding("sku.missing", blocked=(("INV-1", "USD", "12.5"),))] if i == 5 else []
            record(session, run("acme", start + timedelta(days=i), *findings), TZ)
    return services


def digest_row(services: Services) -> DigestRow:
    with services.sessions() as session:
        return session.scalars(select(DigestRow)).one()


def test_posts_the_message_and_uploads_the_chart_once(env: dict[str, str], fake_slack: FakeSlack) -> None:
    services = services_for(env, fake_slack)
    try:
        outcome = run_quarterly_digest(services, quarter=Q3)
        assert outcome.posted and outcome.error is None and outcome.channel == "C0DIGEST"
        (message, shared) = fake_slack.channel_messages("C0DIGEST")
        assert message.blocks[0]["text"]["text"] == "Sync health, Q3 2026" and message.ts == outcome.message_ts
        (uploaded,) = fake_slack.files.values()
        assert uploaded.data == outcome.chart.png and uploaded.data is not None and uploaded.data.startswith(b"\x89PNG")
        assert uploaded.length == len(outcome.chart.png)
        assert uploaded.alt_txt == outcome.chart.alt and uploaded.title == "Weekly sync health, Q3 2026"
        assert uploaded.completed and uploaded.channel == "C0DIGEST" and shared.files == [uploaded.id]
        assert [c.method for c in fake_slack.calls] == [
            "chat.postMessage",
            "files.getUploadURLExternal",
            "upload",
            "files.completeUploadExternal",
        ]
        row = digest_row(services)
        assert row.posted_at is not None and row.message_ts == outcome.message_ts and row.attempts == 1
        assert row.payload["quarter"] == "2026Q3" and row.payload["integrations"][0]["invoices_failed"] == 1

        again = run_quarterly_digest(services, quarter=Q3)
        assert again.already_posted and not again.posted and again.message_ts == outcome.message_ts
        assert len(fake_slack.calls) == 4  # nothing sent the second time
    finally:
        services.close()


@pytest.mark.parametrize("refusal", ["not_in_channel", "channel_not_found"])
def test_a_channel_the_bot_cannot_post_to_keeps_the_digest_pending_then_retries(
    env: dict[str, str], fake_slack: FakeSlack, refusal: str, caplog: pytest.LogCaptureFixture
) -> None:
    services = services_for(env, fake_slack)
    blocked = fake_slack.not_in_channel if refusal == "not_in_channel" else fake_slack.unknown_channels
    blocked.add("C0DIGEST")
    try:
        with caplog.at_level(logging.ERROR, logger="service.digests"):
            first = run_quarterly_digest(services, quarter=Q3)
        assert first.pending and not first.posted and first.error is not None and first.error.startswith(refusal)
        assert "invite" in first.error or "slack.digest_channel" in first.error
        assert any(refusal in r.getMessage() and "retried next time" in r.getMessage() for r in caplog.records)
        row = digest_row(services)
        assert row.posted_at is None and row.attempts == 1 and row.error is not None and refusal in row.error
        assert fake_slack.files == {}  # no chart uploaded for a message that was not posted

        blocked.discard("C0DIGEST")  # someone invited the bot
        second = run_quarterly_digest(services, quarter=Q3)
        assert second.posted
        row = digest_row(services)
        assert row.posted_at is not None and row.attempts == 2 and row.error is None
        assert len(fake_slack.channel_messages("C0DIGEST")) == 2  # the message and the chart, once
        assert run_quarterly_digest(services, quarter=Q3).already_posted
    finally:
        services.close()


def test_a_chart_that_fails_to_upload_does_not_post_the_message_twice(
    env: dict[str, str], fake_slack: FakeSlack
) -> None:
    services = services_for(env, fake_slack)
    fake_slack.rate_limit["files.completeUploadExternal"] = 10  # beyond the client's retries
    try:
        outcome = run_quarterly_digest(services, quarter=Q3)
        assert outcome.posted and outcome.error == "chart not uploaded: ratelimited"
        assert digest_row(services).error == "chart not uploaded: ratelimited"
        assert run_quarterly_digest(services, quarter=Q3).already_posted
        assert len(fake_slack.calls_to("chat.postMessage")) == 1
    finally:
        services.close()


def test_without_a_channel_or_a_token_or_before_the_quarter_ends_nothing_is_posted(
    env: dict[str, str], fake_slack: FakeSlack
) -> None:
    services = services_for(env, fake_slack, channel=None)
    try:
        outcome = run_quarterly_digest(services, quarter=Q3)
        assert outcome.pending and "slack.digest_channel is not set" in (outcome.error or "")
        unfinished = run_quarterly_digest(services, quarter=Quarter(2099, 1))
        assert unfinished.pending and "is not over yet" in (unfinished.error or "")
        kept = run_quarterly_digest(services, quarter=Q3, post=False)
        assert not kept.pending and not kept.posted and kept.digest.quarter == "2026Q3"
    finally:
        services.close()
    assert fake_slack.calls == []
    services = services_for(env, None)
    try:
        outcome = run_quarterly_digest(services, quarter=Q3)
        assert outcome.pending and "SLACK_BOT_TOKEN is not set" in (outcome.error or "")
    finally:
        services.close()


def test_upload_urls_are_single_use(fake_slack: FakeSlack) -> None:
    from slack_sdk import WebClient

    client = WebClient(token=TOKEN, base_url=fake_slack.api_url)
    answer = client.files_getUploadURLExternal(filename="a.png", length=3)
    import urllib.error
    import urllib.request

    url = str(answer["upload_url"])
    assert urllib.request.urlopen(urllib.request.Request(url, data=b"abc", method="POST")).status == 200
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(urllib.request.Request(url, data=b"abc", method="POST"))
    from slack_sdk.errors import SlackApiError

    with pytest.raises(SlackApiError) as never:
        client.files_completeUploadExternal(files=[{"id": "FNOPE", "title": "x"}], channel_id="C1")
    assert never.value.response["error"] == "file_not_found"
