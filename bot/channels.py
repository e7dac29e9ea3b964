"""``slack.allowed_channels`` as channel ids, resolved once when the bot starts.

Ids in the configuration are taken as they are. Names (``#support`` or ``support``) are looked
up with ``conversations.list`` (public and private channels the bot can see; archived ones are
left out, as a channel that can no longer be used should not be matched), paging through the
workspace until every name is found.

A name that cannot be resolved stops the start with an error naming it (exit 2), rather than a
warning: the allow-list keeps customer names and amounts out of channels, and starting with
part of it missing would silently refuse a channel the operator meant to allow, or, with the
whole list unresolved, look like no restriction at all. The error says what to do (fix the
name, invite the bot to a private channel, or list the id).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.permissions import AllowedChannels, channel_name, is_channel_id
from config.integrations import ConfigError

logger = logging.getLogger(__name__)

PAGE = 1000  # conversations.list's largest page


class UnresolvedChannels(ConfigError):
    """A channel named in ``slack.allowed_channels`` is not one the bot can find."""


def resolve_allowed_channels(client: WebClient, entries: Sequence[str]) -> AllowedChannels:
    ids = {entry.strip() for entry in entries if is_channel_id(entry)}
    names = {channel_name(entry) for entry in entries if not is_channel_id(entry)}
    if names:
        found = _ids_by_name(client, names)
        missing = sorted(names - found.keys())
        if missing:
            listed = ", ".join(f"#{name}" for name in missing)
            raise UnresolvedChannels(
                f"slack.allowed_channels: no channel named {listed} in this workspace (archived channels do not "
                "count). Check the spelling, invite the bot to it if it is private (/invite @Sync Doctor), or "
                "list its channel id (C…) instead."
            )
        ids.update(found[name] for name in names)
        logger.info("slack.allowed_channels: %s", ", ".join(f"#{n} = {found[n]}" for n in sorted(names)))
    return AllowedChannels.of(ids, restricted=bool(entries))


def _ids_by_name(client: WebClient, wanted: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    cursor: str | None = None
    while True:
        try:
            page = client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=PAGE, cursor=cursor
            )
        except SlackApiError as e:
            error = e.response.get("error") if e.response is not None else None
            needed = e.response.get("needed") if e.response is not None else None
            scope = f" (the app needs the {needed} scope: reinstall it from slack-manifest.yml)" if needed else ""
            raise UnresolvedChannels(
                f"slack.allowed_channels names channels, but Slack refused to list them: {error}{scope}. "
                "List channel ids (C…) instead, or fix the app's scopes."
            ) from None
        for channel in page.get("channels") or []:
            if channel.get("name") in wanted:
                found[channel["name"]] = channel["id"]
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None or found.keys() >= wanted:
            return found
