"""Slack, played on loopback: a fake Web API and ``response_url`` endpoint (``api.py``) that
checks Block Kit as Slack does (``blocks.py``), and requests signed as Slack signs them
(``signing.py``). Not one of the accounting emulators served by
``sandbox.server``: the bot's tests and benchmarks start it, and ``serve --demo`` does when no
Slack token is set, so the bot can be tried without a workspace."""

from __future__ import annotations

from sandbox.slack.api import Call, Channel, FakeSlack, Hold, Posted, ResponseUrl
from sandbox.slack.blocks import MESSAGE_BLOCKS, VIEW_BLOCKS, message_text, validate_blocks
from sandbox.slack.signing import sign, slash_command_body

__all__ = [
    "MESSAGE_BLOCKS",
    "VIEW_BLOCKS",
    "Call",
    "Channel",
    "FakeSlack",
    "Hold",
    "Posted",
    "ResponseUrl",
    "message_text",
    "sign",
    "slash_command_body",
    "validate_blocks",
]
