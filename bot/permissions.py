"""Who may use Sync Doctor, and where (``slack.allowed_users`` / ``slack.allowed_channels``).

Both lists are optional; an empty list allows everyone / every channel. Admins (user ids in
``slack.admins``) are always allowed users. Channels match by id (``C…``) or by name, with or
without ``#``. User-group ids (``S…``) in ``allowed_users`` are not expanded here: that needs a
``usergroups.users.list`` call per request, which a refusal check before ``ack()`` must not
make (SLACK.md section 6: never call the Web API before ack); list user ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.integrations import SlackConfig

USER_REFUSED = (
    "You are not on the list of people who may use Sync Doctor in this workspace. "
    "Ask an admin to add your user id ({user}) to `slack.allowed_users`."
)
CHANNEL_REFUSED = (
    "Sync Doctor is not enabled in this channel, so its answers (which name customers and amounts) "
    "stay out of it. Use it in one of the allowed channels, or ask an admin to add this channel "
    "({channel}) to `slack.allowed_channels`."
)


@dataclass(frozen=True, slots=True)
class Requester:
    user_id: str
    channel_id: str | None = None
    channel_name: str | None = None


def user_allowed(config: SlackConfig, user_id: str) -> bool:
    if not config.allowed_users:
        return True
    return user_id in config.allowed_users or user_id in config.admins


def channel_allowed(config: SlackConfig, channel_id: str | None, channel_name: str | None) -> bool:
    if not config.allowed_channels:
        return True
    allowed = {c.lstrip("#").lower() for c in config.allowed_channels}
    return (channel_id or "").lower() in allowed or (channel_name or "").lstrip("#").lower() in allowed


def refusal(config: SlackConfig, who: Requester) -> str | None:
    """Why ``who`` may not run a command here (None when they may)."""
    if not user_allowed(config, who.user_id):
        return USER_REFUSED.format(user=who.user_id)
    if not channel_allowed(config, who.channel_id, who.channel_name):
        where = (
            f"#{who.channel_name}"
            if who.channel_name and who.channel_name != "directmessage"
            else (who.channel_id or "?")
        )
        return CHANNEL_REFUSED.format(channel=where)
    return None
