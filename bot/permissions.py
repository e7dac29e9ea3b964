"""Who may use Sync Doctor, and where (``slack.allowed_users`` / ``slack.allowed_channels``).

Both lists are optional; an empty list allows everyone / every channel. Admins (user ids in
``slack.admins``) are always allowed users. Channels are matched by id only: a name can be
changed by anyone who can rename the channel (or a new channel can take an old name), an id
cannot. The configuration may name a channel (``#support``); ``bot/channels.py`` resolves
names to ids once, at start, into :class:`AllowedChannels`. User-group ids (``S…``) in
``allowed_users`` are not expanded here: that needs a ``usergroups.users.list`` call per
request, which a refusal check before ``ack()`` must not make (SLACK.md section 6: never call
the Web API before ack); list user ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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
# Channel ids: C (public), G (private, older workspaces), D (direct message), then upper-case
# letters and digits. Channel names are lower case, so an entry like this is never a name.
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")


@dataclass(frozen=True, slots=True)
class Requester:
    user_id: str
    channel_id: str | None = None
    channel_name: str | None = None


def is_channel_id(entry: str) -> bool:
    return _CHANNEL_ID.fullmatch(entry.strip()) is not None


def channel_name(entry: str) -> str:
    """A configured channel name as Slack spells it: no ``#``, lower case."""
    return entry.strip().lstrip("#").lower()


@dataclass(frozen=True, slots=True)
class AllowedChannels:
    """The channels ``/sync-check`` may answer in, as ids. ``restricted`` is False only when
    the configuration lists no channel at all: an allow-list never widens to "anywhere"."""

    ids: frozenset[str] = frozenset()
    restricted: bool = False

    @classmethod
    def of(cls, ids: Iterable[str], *, restricted: bool) -> AllowedChannels:
        return cls(frozenset(ids), restricted)

    def allows(self, channel_id: str | None) -> bool:
        return not self.restricted or (channel_id is not None and channel_id in self.ids)


def user_allowed(config: SlackConfig, user_id: str) -> bool:
    if not config.allowed_users:
        return True
    return user_id in config.allowed_users or user_id in config.admins


def may_snooze(config: SlackConfig, user_id: str) -> bool:
    """Who may snooze an alert: anyone who may use Sync Doctor (a snooze silences reminders,
    never a check, and is audited with their name), so the allow-list decides."""
    return user_allowed(config, user_id)


def refusal(config: SlackConfig, who: Requester, channels: AllowedChannels) -> str | None:
    """Why ``who`` may not run a command here (None when they may)."""
    if not user_allowed(config, who.user_id):
        return USER_REFUSED.format(user=who.user_id)
    if not channels.allows(who.channel_id):
        where = (
            f"#{who.channel_name}"
            if who.channel_name and who.channel_name != "directmessage"
            else (who.channel_id or "?")
        )
        return CHANNEL_REFUSED.format(channel=where)
    return None
