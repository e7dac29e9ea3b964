"""Slack mrkdwn escaping (SLACK.md: only ``&``, ``<`` and ``>`` are control characters)."""

from __future__ import annotations

from typing import Any


def escape(value: Any) -> str:
    """Text from users or providers made inert for mrkdwn; backticks become quotes so they
    cannot break our code spans. None is the empty string."""
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")


def unescape(text: str) -> str:
    """The reverse of :func:`escape` for a terminal (backticks stay quotes)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
