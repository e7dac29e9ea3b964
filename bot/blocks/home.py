"""The health of every integration: the App Home tab and ``/sync-check list``.

One section per integration (failing first): status, systems, last run, fail / warn counts,
oldest unsynced invoice, token expiry, money blocked. The Home tab holds 100 blocks and a
message 50 (SLACK.md section 5): beyond that a last line says how many are not shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.blocks.common import (
    MAX_MESSAGE_BLOCKS,
    MAX_VIEW_BLOCKS,
    Block,
    Message,
    context,
    divider,
    escape,
    header,
    keep_within,
    money_text,
    plural,
    section,
)
from bot.blocks.results import display

if TYPE_CHECKING:
    from service.health import IntegrationHealth

STATUS_ICON = {
    "healthy": ":large_green_circle:",
    "warning": ":large_yellow_circle:",
    "failing": ":red_circle:",
    "unchecked": ":white_circle:",
}
STATUS_ORDER = {"failing": 0, "warning": 1, "unchecked": 2, "healthy": 3}
TOKEN_SOON_DAYS = 14
HOME_TITLE = "Sync Doctor"
HOME_INTRO = (
    "The health of every integration, from its latest check. Type `/sync-check NAME` in any channel for details."
)
NOT_ALLOWED = ":no_entry: You are not on the list of people who may use Sync Doctor here. Ask an admin to add you (`slack.allowed_users`)."


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = max((now - moment).total_seconds(), 0)
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{int(seconds // 60)} min ago"
    if seconds < 36 * 3600:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def health_text(h: IntegrationHealth, now: datetime) -> str:
    line = f"{STATUS_ICON.get(h.status, ':white_circle:')} *{escape(h.name)}* · {escape(display(h.source))} → {escape(display(h.destination))}"
    facts = [f"checked {ago(h.last_run_at, now)}"]
    if h.last_run_at is not None:
        counts = [plural(h.fail, "fail", "fail"), plural(h.warn, "warn", "warn")]
        if h.error:
            counts.append(plural(h.error, "error"))
        facts.append(", ".join(counts))
    if h.blocked_invoices:
        facts.append(f"{plural(h.blocked_invoices, 'invoice')} blocked ({money_text(h.blocked_amounts)})")
    if h.oldest_unsynced_days is not None:
        facts.append(f"oldest unsynced invoice {plural(h.oldest_unsynced_days, 'day')} old")
    if h.token_expires_at is not None:
        days = (h.token_expires_at - now).total_seconds() / 86400
        if days < 0:
            facts.append(":warning: token expired")
        else:
            soon = " :warning:" if days < TOKEN_SOON_DAYS else ""
            facts.append(f"token renews by {h.token_expires_at.date().isoformat()}{soon}")
    return line + "\n" + " · ".join(facts)


def _ordered(health: Sequence[IntegrationHealth]) -> list[IntegrationHealth]:
    return sorted(health, key=lambda h: (STATUS_ORDER.get(h.status, 9), -h.blocked_invoices, h.name))


def _totals(health: Sequence[IntegrationHealth]) -> str:
    counts: dict[str, int] = {}
    for h in health:
        counts[h.status] = counts.get(h.status, 0) + 1
    parts = [f"{counts[s]} {s}" for s in ("failing", "warning", "healthy", "unchecked") if counts.get(s)]
    return " · ".join(parts) if parts else "no integrations configured"


def home_view(health: Sequence[IntegrationHealth], *, now: datetime | None = None) -> dict[str, Any]:
    """The ``home`` view for ``views.publish``."""
    now = now or datetime.now(UTC)
    blocks: list[Block] = [
        header(HOME_TITLE),
        section(HOME_INTRO),
        context(f"{_totals(health)} · updated {now.strftime('%Y-%m-%d %H:%M')} UTC"),
        divider(),
    ]
    blocks += [section(health_text(h, now)) for h in _ordered(health)]
    blocks = keep_within(
        blocks, MAX_VIEW_BLOCKS, f"{len(health)} integrations in all: `/sync-check list` in a channel shows the rest."
    )
    return {"type": "home", "blocks": blocks}


def refused_view(reason: str = NOT_ALLOWED) -> dict[str, Any]:
    return {"type": "home", "blocks": [header(HOME_TITLE), section(reason)]}


def list_message(health: Sequence[IntegrationHealth], *, now: datetime | None = None) -> Message:
    now = now or datetime.now(UTC)
    blocks: list[Block] = [section(f"*Integrations* · {_totals(health)}")]
    blocks += [section(health_text(h, now)) for h in _ordered(health)]
    blocks = keep_within(
        blocks, MAX_MESSAGE_BLOCKS, f"{len(health)} integrations in all; the App Home tab shows up to 95."
    )
    text = "Integrations: " + ", ".join(f"{h.name} ({h.status})" for h in _ordered(health))
    return Message(text, blocks)
