"""Who may use /sync-check where: optional allow-lists, admins always allowed."""

from __future__ import annotations

from bot.permissions import Requester, channel_allowed, refusal, user_allowed
from config.integrations import SlackConfig


def test_empty_lists_allow_everyone_everywhere() -> None:
    assert refusal(SlackConfig(), Requester("U1", "C1", "general")) is None


def test_allowed_users_and_admins() -> None:
    config = SlackConfig(allowed_users=("U1",), admins=("U9", "S123"))
    assert user_allowed(config, "U1") and user_allowed(config, "U9")
    assert not user_allowed(config, "U2")
    reason = refusal(config, Requester("U2", "C1", "general"))
    assert reason is not None and "U2" in reason and "slack.allowed_users" in reason


def test_allowed_channels_by_id_or_name() -> None:
    config = SlackConfig(allowed_channels=("C0SUPPORT", "#finance-ops"))
    assert channel_allowed(config, "C0SUPPORT", "support")
    assert channel_allowed(config, "C777", "finance-ops")
    assert not channel_allowed(config, "C778", "random")
    reason = refusal(config, Requester("U1", "C778", "random"))
    assert reason is not None and "#random" in reason and "slack.allowed_channels" in reason
    dm = refusal(config, Requester("U1", "D123", "directmessage"))
    assert dm is not None and "D123" in dm


def test_user_check_comes_first() -> None:
    config = SlackConfig(allowed_users=("U1",), allowed_channels=("C1",))
    reason = refusal(config, Requester("U2", "C2", "x"))
    assert reason is not None and "allowed_users" in reason
