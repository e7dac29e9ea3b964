"""slack-manifest.yml agrees with the code: the command, the routes, the events, the scopes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot import grammar

MANIFEST = Path(__file__).resolve().parents[2] / "slack-manifest.yml"


def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_command_and_request_urls() -> None:
    data = manifest()
    [command] = data["features"]["slash_commands"]
    assert command["command"] == grammar.COMMAND
    assert command["should_escape"] is False
    urls = [
        command["url"],
        data["settings"]["interactivity"]["request_url"],
        data["settings"]["event_subscriptions"]["request_url"],
    ]
    assert all(url == "https://HOST/slack/events" for url in urls)
    assert data["settings"]["socket_mode_enabled"] is False


def test_app_home_and_events() -> None:
    data = manifest()
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert data["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]


def test_minimum_bot_scopes() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write"} <= scopes
    assert scopes <= {
        "commands",
        "chat:write",
        "users:read",
        "usergroups:read",
        "files:write",
        "im:write",
        "channels:read",
        "groups:read",
    }
