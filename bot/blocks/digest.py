"""The quarterly digest as a Slack message (pure: a ``Digest`` in, Block Kit dicts out).

One header, the coverage sentence, the totals, then per integration a section of fields and a
context line (trend, top cause). Past ``MAX_INTEGRATIONS`` integrations the rest are named in a
last line: the whole digest is in the JSON and Markdown the command writes."""

from __future__ import annotations

from bot.blocks.common import Block, Message, context, divider, fields_section, header, join_limited, section
from common.mrkdwn import escape
from reports.digest.model import Digest, IntegrationDigest
from reports.digest.text import duration, hours, money, pct, trend_line

MAX_INTEGRATIONS = 20  # 2 blocks each, inside the 50 blocks of a message with room for the rest


def _fields(part: IntegrationDigest) -> list[str]:
    actions = part.actions
    return [
        f"*Connection uptime*\n{pct(part.uptime)}",
        f"*Health (nothing failing)*\n{pct(part.health)}",
        f"*Invoices that failed*\n{part.invoices_failed} ({escape(money(part.failed_amounts))})",
        f"*Still unsynced*\n{part.invoices_still_unsynced} ({escape(money(part.still_amounts))})",
        f"*Median time to detect*\n{duration(part.median_detect_minutes)}",
        f"*Median time to fix*\n{duration(part.median_fix_minutes)} ({part.fixes} fixed)",
        f"*Actions*\n{actions.requested} requested, {actions.approved} approved, {actions.denied} denied, "
        f"{actions.succeeded} succeeded",
        f"*Hours saved (est.)*\n{hours(part.hours_saved)} ({part.diagnoses} diagnoses)",
    ]


def _integration(part: IntegrationDigest) -> list[Block]:
    if part.days_with_data == 0:
        return [section(f"*{escape(part.name)}*: no checks recorded this quarter.")]
    causes = [f"{escape(c.title)} ({c.appeared}x)" for c in part.top_causes[:3]]
    notes = [f"Trend: {escape(trend_line(part))}"]
    notes.append("Top causes: " + (join_limited(causes, 3) if causes else "none"))
    return [fields_section(_fields(part), f"*{escape(part.name)}*"), context(*notes)]


def digest_message(digest: Digest) -> Message:
    """The digest's message; the chart is uploaded beside it (``bot/publish.py``)."""
    summary = (
        f"Sync health, {digest.label}: {len(digest.integrations)} integrations, {digest.diagnoses} diagnoses, "
        f"about {hours(digest.hours_saved)} of checking saved."
    )
    blocks: list[Block] = [
        header(f"Sync health, {digest.label}"),
        context(f"{digest.first_day.isoformat()} to {digest.last_day.isoformat()} ({escape(digest.timezone)})"),
        section(escape(digest.coverage)),
    ]
    if digest.empty:
        return Message(f"Sync health, {digest.label}: no data this quarter.", blocks)
    blocks.append(
        section(
            f"*{len(digest.integrations)} integrations*, {digest.diagnoses} diagnoses run, about "
            f"*{hours(digest.hours_saved)}* of checking saved ({digest.minutes_per_diagnosis} min per diagnosis, "
            "an estimate)."
        )
    )
    blocks.append(divider())
    for part in digest.integrations[:MAX_INTEGRATIONS]:
        blocks.extend(_integration(part))
    rest = digest.integrations[MAX_INTEGRATIONS:]
    if rest:
        names = [escape(p.name) for p in rest]
        blocks.append(
            context(
                f"{len(rest)} more integrations ({join_limited(names, 10)}): run `sync-doctor digest --quarter "
                f"{digest.quarter} --out digest.md` for all of them."
            )
        )
    blocks.append(
        context(
            "Invoices: those a check found blocked (synced-without-trouble invoices are not counted). Time to detect: "
            "last healthy check to first failing one. Time to fix: alert posted to alert resolved."
        )
    )
    return Message(summary, blocks)
