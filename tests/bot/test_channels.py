"""``slack.allowed_channels`` names resolved to ids at start, through the fake Slack's
``conversations.list`` (paged by cursor as Slack pages it); renaming a channel changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from slack_sdk import WebClient

from app import run
from bot.channels import UnresolvedChannels, resolve_allowed_channels
from sandbox.slack import Channel, FakeSlack
from tests.bot.conftest import BOT_TOKEN, Harness


def client_for(fake: FakeSlack) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=fake.api_url)


def test_names_are_resolved_across_pages_and_ids_kept(fake_slack: FakeSlack) -> None:
    for i in range(2500):
        fake_slack.channels[f"C{i:08d}"] = Channel(f"C{i:08d}", f"team-{i}")
    fake_slack.channels["CZFINANCE"] = Channel("CZFINANCE", "finance-ops", private=True)
    channels = resolve_allowed_channels(client_for(fake_slack), ["#team-7", "finance-ops", "C0ALREADY"])
    assert channels.ids == {"C00000007", "CZFINANCE", "C0ALREADY"} and channels.restricted
    listed = fake_slack.calls_to("conversations.list")
    assert len(listed) == 3  # 2,501 channels, 1,000 a page: the private one is on the last
    assert all(c.params["exclude_archived"] in ("true", "1", True) for c in listed)


def test_only_ids_need_no_call(fake_slack: FakeSlack) -> None:
    channels = resolve_allowed_channels(client_for(fake_slack), ["C0SUPPORT"])
    assert channels.ids == {"C0SUPPORT"} and fake_slack.calls_to("conversations.list") == []
    assert not resolve_allowed_channels(client_for(fake_slack), []).restricted


def test_an_unknown_archived_or_hidden_name_stops_the_start(fake_slack: FakeSlack) -> None:
    fake_slack.channels["C0OLD"] = Channel("C0OLD", "old-support", archived=True)
    fake_slack.channels["C0SECRET"] = Channel("C0SECRET", "secret", private=True, member=False)
    fake_slack.channels["C0SUPPORT"] = Channel("C0SUPPORT", "support")
    with pytest.raises(UnresolvedChannels) as refused:
        resolve_allowed_channels(client_for(fake_slack), ["#support", "#old-support", "secret", "#suport"])
    message = str(refused.value)
    assert "no channel named #old-support, #secret, #suport" in message
    assert "/invite" in message and "channel id" in message


def test_a_missing_scope_is_named(fake_slack: FakeSlack) -> None:
    fake_slack.scopes = frozenset({"commands", "chat:write", "channels:read"})
    with pytest.raises(UnresolvedChannels, match=r"missing_scope .*groups:read scope"):
        resolve_allowed_channels(client_for(fake_slack), ["#support"])


def test_renaming_an_allowed_channel_defeats_nothing(
    make_harness: Callable[..., Harness], fake_slack: FakeSlack
) -> None:
    fake_slack.channels["C0SUPPORT"] = Channel("C0SUPPORT", "support")
    fake_slack.channels["C0RANDOM"] = Channel("C0RANDOM", "random")
    h = make_harness(slack={"allowed_channels": ["#support"]})
    _, url = h.command("acme", channel="C0SUPPORT", channel_name="support")
    assert h.final_response(url)["text"] == "acme: all checks passed"
    # #support is renamed; it is still the allowed channel
    fake_slack.channels["C0SUPPORT"].name = "support-archive"
    _, url = h.command("acme", channel="C0SUPPORT", channel_name="support-archive")
    assert h.final_response(url)["text"] == "acme: all checks passed"
    # #random takes the name #support: still not the allowed channel
    fake_slack.channels["C0RANDOM"].name = "support"
    refused = h.command("acme", channel="C0RANDOM", channel_name="support")[0].json()
    assert refused["response_type"] == "ephemeral" and "slack.allowed_channels" in refused["text"]


def test_serve_with_an_unresolvable_name_exits_2_naming_it(
    env: dict[str, str], fake_slack: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    config = "slack:\n  allowed_channels: ['#support']\nintegrations: {}\n"
    Path(env["SYNC_DOCTOR_CONFIG"]).write_text(config, encoding="utf-8")
    slack = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": fake_slack.api_url}
    assert run(["serve", "--port", "1"], {**env, **slack}) == 2
    assert "error: slack.allowed_channels: no channel named #support" in capsys.readouterr().err
