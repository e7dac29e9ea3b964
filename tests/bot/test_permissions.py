"""Who may use /sync-check where: optional allow-lists, admins always allowed, channels by id."""

from __future__ import annotations

from bot.permissions import AllowedChannels, Requester, channel_name, is_channel_id, refusal, user_allowed
from config.integrations import SlackConfig

ANYWHERE = AllowedChannels()


def test_empty_lists_allow_everyone_everywhere() -> None:
    assert refusal(SlackConfig(), Requester("U1", "C1", "general"), ANYWHERE) is None


def test_allowed_users_and_admins() -> None:
    config = SlackConfig(allowed_users=("U1",), admins=("U9", "S123"))
    assert user_allowed(config, "U1") and user_allowed(config, "U9")
    assert not user_allowed(config, "U2")
    reason = refusal(config, Requester("U2", "C1", "general"), ANYWHERE)
    assert reason is not None and "U2" in reason and "slack.allowed_users" in reason


def test_channels_match_by_id_never_by_name() -> None:
    channels = AllowedChannels.of({"C0SUPPORT", "C0FINANCE"}, restricted=True)
    assert refusal(SlackConfig(), Requester("U1", "C0SUPPORT", "support"), channels) is None
    assert refusal(SlackConfig(), Requester("U1", "C0SUPPORT", "renamed-since"), channels) is None
    # another channel that took the allowed one's name is still another channel
    impostor = refusal(SlackConfig(), Requester("U1", "C0EVIL", "support"), channels)
    assert impostor is not None and "#support" in impostor and "slack.allowed_channels" in impostor
    dm = refusal(SlackConfig(), Requester("U1", "D123", "directmessage"), channels)
    assert dm is not None and "D123" in dm
    assert refusal(SlackConfig(), Requester("U1", None, None), channels) is not None


def test_a_restricted_list_with_no_ids_allows_nowhere() -> None:
    assert not AllowedChannels.of((), restricted=True).allows("C1")
    assert AllowedChannels.of((), restricted=False).allows("C1")


def test_ids_and_names_in_the_configuration() -> None:
    assert all(is_channel_id(e) for e in ("C0SUPPORT", "G01ABCDEF", "D024BE91L", " C024BE91L "))
    assert not any(is_channel_id(e) for e in ("#C0SUPPORT", "support", "c024be91l", "C12", "Cfinance"))
    assert channel_name(" #Finance-Ops ") == "finance-ops"


def test_user_check_comes_first() -> None:
    config = SlackConfig(allowed_users=("U1",), allowed_channels=("C1",))
    reason = refusal(config, Requester("U2", "C2", "x"), AllowedChannels.of({"C1"}, restricted=True))
    assert reason is not None and "allowed_users" in reason
