"""Alert messages: opened (posted once, with Snooze buttons; redrawn when snoozed), grew (thread
reply), resolved (edit + thread reply)."""

from __future__ import annotations

from datetime import datetime

from bot.blocks.common import (
    SECTION_TEXT,
    Block,
    Message,
    code,
    context,
    defuse_mentions,
    escape,
    evidence_lines,
    icon,
    join_limited,
    money_text,
    plain,
    plural,
    section,
    truncate,
)
from bot.blocks.ids import SNOOZE, Ids, SnoozeRef, action_id
from bot.blocks.results import display
from reports.alerts import SNOOZE_HOURS, AlertNotice

OPENED = "{icon} *{integration}* started failing: *{title}*"
GREW = ":chart_with_upwards_trend: *{title}* now blocks {now} (was {was}) — {amounts}."
RESOLVED_EDIT = ":white_check_mark: *{integration}*: ~{title}~ — *resolved* {when}."
RESOLVED_REPLY = ":white_check_mark: Cleared by run `{ref}`, {duration} after this alert was posted."
MORE = "Run `/sync-check {integration}` for every finding and the steps to fix each."
BUTTON_TEXT = 75  # button text limit (SLACK.md section 5)
SNOOZED = ":zzz: Snoozed until {until} by <@{user}>: no reminders until then; it still clears when fixed."
SNOOZED_TOLD = ":zzz: Snoozed until {until}. Sync Doctor still checks, and edits the alert when it clears."
SNOOZE_GONE = "This alert has already cleared (or is no longer known), so there is nothing to snooze."
SNOOZE_LABELS = {1: "Snooze 1 hour", 24: "Snooze 1 day", 24 * 7: "Snooze 1 week"}


def when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def snooze_buttons(notice: AlertNotice, ids: Ids) -> Block:
    """Snooze for an hour, a day or a week: each button's value names the alert and the span,
    signed (``bot/blocks/ids.py``), so a value moved to another alert is refused."""
    return {
        "type": "actions",
        "block_id": f"sd-snooze-{notice.alert_id}",
        "elements": [
            {
                "type": "button",
                "text": plain(SNOOZE_LABELS[hours], BUTTON_TEXT),
                "action_id": action_id(SNOOZE, i),
                "value": ids.snooze_value(SnoozeRef(notice.alert_id, hours)),
            }
            for i, hours in enumerate(SNOOZE_HOURS)
        ],
    }


def snoozed_line(notice: AlertNotice) -> str | None:
    if notice.snoozed_until is None or not notice.snoozed_by:
        return None
    return SNOOZED.format(until=when(notice.snoozed_until), user=escape(notice.snoozed_by))


def _subjects(notice: AlertNotice) -> str:
    return join_limited([code(s) for s in notice.subjects], 5)


def _systems(notice: AlertNotice) -> str:
    return f"{escape(display(notice.source))} → {escape(display(notice.destination))}"


def opened_message(notice: AlertNotice, ids: Ids | None = None) -> Message:
    """The alert as posted, and as redrawn by a snooze (the line saying who snoozed it until
    when). Without ``ids`` (no key to sign buttons with) it has no Snooze buttons."""
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
    snoozed = snoozed_line(notice)
    if snoozed:
        blocks.append(context(snoozed))
    if ids is not None and notice.alert_id:
        blocks.append(snooze_buttons(notice, ids))
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
    at = when(notice.resolved_at) if notice.resolved_at else ""
    lines = [
        RESOLVED_EDIT.format(integration=escape(notice.integration), title=escape(notice.title), when=at),
        f"Was about: {_subjects(notice)}",
    ]
    blocks = [section("\n".join(lines)), context(f"`{escape(notice.code)}` · {_systems(notice)}")]
    return Message(f"{notice.integration}: {notice.title} resolved", blocks)


def resolved_reply(notice: AlertNotice) -> Message:
    end = notice.resolved_at or notice.opened_at
    text = RESOLVED_REPLY.format(ref=escape(notice.run_ref), duration=_duration(notice.opened_at, end))
    return Message(f"{notice.integration}: {notice.title} resolved", [section(text)])
