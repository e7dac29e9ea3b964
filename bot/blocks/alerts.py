"""Alert messages: opened (posted once), grew (thread reply), resolved (edit + thread reply)."""

from __future__ import annotations

from datetime import datetime

from bot.blocks.common import (
    SECTION_TEXT,
    Message,
    code,
    context,
    defuse_mentions,
    escape,
    evidence_lines,
    icon,
    join_limited,
    money_text,
    plural,
    section,
    truncate,
)
from bot.blocks.results import display
from reports.alerts import AlertNotice

OPENED = "{icon} *{integration}* started failing: *{title}*"
GREW = ":chart_with_upwards_trend: *{title}* now blocks {now} (was {was}) — {amounts}."
RESOLVED_EDIT = ":white_check_mark: *{integration}*: ~{title}~ — *resolved* {when}."
RESOLVED_REPLY = ":white_check_mark: Cleared by run `{ref}`, {duration} after this alert was posted."
MORE = "Run `/sync-check {integration}` for every finding and the steps to fix each."


def _subjects(notice: AlertNotice) -> str:
    return join_limited([code(s) for s in notice.subjects], 5)


def _systems(notice: AlertNotice) -> str:
    return f"{escape(display(notice.source))} → {escape(display(notice.destination))}"


def opened_message(notice: AlertNotice) -> Message:
    lines = [
        OPENED.format(icon=icon(notice.severity), integration=escape(notice.integration), title=escape(notice.title))
    ]
    lines.append(f"About: {_subjects(notice)}")
    if notice.blocked_invoices:
        lines.append(f"Blocks {plural(notice.blocked_invoices, 'invoice')} ({money_text(notice.blocked_amounts)})")
    lines += [f"• {line}" for line in evidence_lines(notice.evidence, max_keys=5)]
    blocks = [section("\n".join(lines))]
    if notice.remediation.strip():
        blocks.append(section(truncate(defuse_mentions(notice.remediation.strip()), SECTION_TEXT)))
    blocks.append(
        context(
            f"`{escape(notice.code)}` · {_systems(notice)} · run `{escape(notice.run_ref)}`",
            MORE.format(integration=escape(notice.integration)),
        )
    )
    return Message(f"{notice.integration} started failing: {notice.title}", blocks)


def grew_message(notice: AlertNotice) -> Message:
    text = GREW.format(
        title=escape(notice.title),
        now=plural(notice.blocked_invoices, "invoice"),
        was=notice.previous_blocked or 0,
        amounts=money_text(notice.blocked_amounts) or "no amount",
    )
    return Message(
        f"{notice.integration}: {notice.title} now blocks {notice.blocked_invoices} invoices", [section(text)]
    )


def _duration(start: datetime, end: datetime) -> str:
    seconds = max((end - start).total_seconds(), 0)
    if seconds < 3600:
        return plural(max(int(seconds // 60), 1), "minute")
    if seconds < 48 * 3600:
        return plural(int(seconds // 3600), "hour")
    return plural(int(seconds // 86400), "day")


def resolved_message(notice: AlertNotice) -> Message:
    """The alert message rewritten to show it cleared (``chat.update``)."""
    when = notice.resolved_at.strftime("%Y-%m-%d %H:%M UTC") if notice.resolved_at else ""
    lines = [
        RESOLVED_EDIT.format(integration=escape(notice.integration), title=escape(notice.title), when=when),
        f"Was about: {_subjects(notice)}",
    ]
    blocks = [section("\n".join(lines)), context(f"`{escape(notice.code)}` · {_systems(notice)}")]
    return Message(f"{notice.integration}: {notice.title} resolved", blocks)


def resolved_reply(notice: AlertNotice) -> Message:
    end = notice.resolved_at or notice.opened_at
    text = RESOLVED_REPLY.format(ref=escape(notice.run_ref), duration=_duration(notice.opened_at, end))
    return Message(f"{notice.integration}: {notice.title} resolved", [section(text)])
