"""How a digest reaches a channel: a protocol ``reports/`` and ``service/`` post through
(``bot/publish.py`` implements it with Slack's Web API), so neither imports Slack."""

from __future__ import annotations

from typing import Protocol

from reports.digest.chart import Chart
from reports.digest.model import Digest


class DigestNotPosted(Exception):
    """The post failed; ``error`` is the channel's own reason (Slack's error code), and
    ``hint`` what an operator can do about it."""

    def __init__(self, error: str, hint: str = "") -> None:
        super().__init__(f"{error}: {hint}" if hint else error)
        self.error = error
        self.hint = hint


class DigestPublisher(Protocol):
    def post(self, channel: str, digest: Digest, chart: Chart) -> tuple[str, str | None]:
        """Post the digest with its chart to ``channel``: the message's id (Slack: its ts) and
        what went wrong with the chart, if anything (the message is out either way). Raises
        :class:`DigestNotPosted` when the channel refuses the message."""
