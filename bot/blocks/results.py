"""A run's result as Slack messages: a summary, then findings worst first, then what cleared.

``result_messages(result)`` returns one or more :class:`Message`s. The first carries the
header and the summary line (fail / warn / error counts; invoices and money blocked, each
invoice counted once across findings; what changed since the last run). Each finding is one
group of blocks (title and evidence, remediation steps, impact), never split; groups that do
not fit the first message's 50 blocks (or its size budget) go to further messages, which the
caller posts as thread replies. A finding that carries a proposed action gets a button
(``bot/blocks/approvals.py``) whose value names the stored run and the finding's position,
signed (``bot/blocks/ids.py``); a result that was not stored, or built without the signer,
names the action in words instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.blocks.approvals import finding_button
from bot.blocks.common import (
    MAX_MESSAGE_BLOCKS,
    SECTION_TEXT,
    Block,
    Message,
    code,
    context,
    defuse_mentions,
    divider,
    escape,
    evidence_lines,
    header,
    icon,
    join_limited,
    money_text,
    paginate,
    plural,
    section,
    truncate,
)
from bot.blocks.ids import FindingRef, Ids
from checks.catalog import UnknownCode, entry
from checks.context import display_name
from checks.findings import Finding, Severity
from checks.runner import RunResult

ALL_CLEAR = ":white_check_mark: *All checks passed.* Nothing is blocking invoices from {source} to {destination}."
ACTION_IN_WORDS = "Sync Doctor can fix this: _{label}_"
CONTINUED = "*{name}*: findings continued ({page}/{pages})"
MAX_RESOLVED_SHOWN = 15


def display(system: str) -> str:
    return display_name(system)


def title_of(code_: str) -> str:
    try:
        return entry(code_).title
    except UnknownCode:
        return code_


def summary_text(result: RunResult) -> str:
    """The one line that answers "is it broken, and how badly?"."""
    fail, warn, error = result.count(Severity.FAIL), result.count(Severity.WARN), result.count(Severity.ERROR)
    if not result.findings:
        line = ALL_CLEAR.format(source=display(result.source), destination=display(result.destination))
    else:
        worst = max(f.severity for f in result.findings)
        counts = [
            f"*{fail} fail*" if fail else "",
            f"*{warn} warn*" if warn else "",
            f"*{error} error*" if error else "",
        ]
        line = f"{icon(worst)} " + " · ".join(c for c in counts if c)
        blocked = result.blocked
        if blocked.blocked:
            line += f" — {plural(len(blocked.blocked), 'invoice')} blocked ({money_text(blocked.amounts)})"
    change = change_text(result)
    return line + (f"\n{change}" if change else "")


def change_text(result: RunResult) -> str:
    new = sum(1 for f in result.findings if f.status == "new")
    ongoing = sum(1 for f in result.findings if f.status == "ongoing")
    resolved = len(result.resolved)
    if not ongoing and not resolved:
        return ""  # first run, or nothing carried over: "new" would say nothing
    parts = [
        f"{new} new" if new else "",
        f"{ongoing} still open" if ongoing else "",
        f"{resolved} resolved" if resolved else "",
    ]
    return "Since the last run: " + ", ".join(p for p in parts if p) + "."


def fallback_text(result: RunResult) -> str:
    """Notification text (plain, no mrkdwn): sent with the blocks."""
    fail, warn = result.count(Severity.FAIL), result.count(Severity.WARN)
    error = result.count(Severity.ERROR)
    if not result.findings:
        return f"{result.integration}: all checks passed"
    text = f"{result.integration}: {fail} fail, {warn} warn"
    if error:
        text += f", {error} error"
    blocked = result.blocked.blocked
    if blocked:
        text += f"; {plural(len(blocked), 'invoice')} blocked"
    return text


def finding_blocks(finding: Finding, remediation: str, *, fix: Block | None = None) -> list[Block]:
    """One finding: what and where (evidence), how to fix it, what it blocks, and the button
    that asks for its fix (``fix``) when it has one."""
    status = " · _new_" if finding.status == "new" else ""
    lines = [f"{icon(finding.severity)} *{escape(title_of(finding.code))}* · {code(finding.subject)}{status}"]
    lines += [f"• {line}" for line in evidence_lines(finding.evidence)]
    blocks: list[Block] = [section("\n".join(lines))]
    if remediation.strip():
        blocks.append(section(truncate(defuse_mentions(remediation.strip()), SECTION_TEXT)))
    notes = [f"`{escape(finding.code)}`"]
    if finding.system:
        notes[0] += f" · {escape(display(finding.system))}"
    if finding.impact.blocked:
        numbers = join_limited([escape(n) for n in finding.impact.invoices], 5)
        notes.append(
            f"Blocks {plural(len(finding.impact.blocked), 'invoice')}: {numbers} ({money_text(finding.impact.amounts)})"
        )
    if finding.action is not None and fix is None:
        notes.append(ACTION_IN_WORDS.format(label=escape(finding.action.label)))
    blocks.append(context(*notes))
    if fix is not None:
        blocks.append(fix)
    return blocks


def resolved_blocks(resolved: Sequence[tuple[str, str]]) -> list[Block]:
    if not resolved:
        return []
    items = [f"• ~{escape(title_of(c))}~ {code(s)}" for c, s in list(resolved)[:MAX_RESOLVED_SHOWN]]
    if len(resolved) > MAX_RESOLVED_SHOWN:
        items.append(f"… and {len(resolved) - MAX_RESOLVED_SHOWN} more")
    return [divider(), section(":white_check_mark: *Resolved since the last run*\n" + "\n".join(items))]


def head_blocks(result: RunResult) -> list[Block]:
    middle = f" → {display(result.middleware)}" if result.middleware else ""
    title = f"{result.integration}: {display(result.source)}{middle} → {display(result.destination)}"
    calls = sum(result.api_calls.values())
    meta = f"Run `{escape(result.ref)}` · {result.duration_s:.1f}s · {plural(calls, 'API call')} · {escape(result.trigger)}"
    blocks = [header(title), section(summary_text(result)), context(meta)]
    if result.middleware_note:
        blocks.append(context(truncate(f":arrows_counterclockwise: {escape(result.middleware_note)}", SECTION_TEXT)))
    if result.cannot_tell:
        blocks.append(
            context(
                truncate("Not checked, the systems cannot tell: " + escape("; ".join(result.cannot_tell)), SECTION_TEXT)
            )
        )
    return blocks


def fix_button(result: RunResult, position: int, finding: Finding, ids: Ids | None) -> Block | None:
    """The button asking for ``finding``'s fix (None without an action, a stored run or a signer)."""
    if finding.action is None or ids is None or result.run_id is None:
        return None
    return finding_button(finding.action, ids, FindingRef(result.run_id, position))


def result_messages(result: RunResult, ids: Ids | None = None) -> list[Message]:
    """The result as messages within Block Kit limits; the first is the main message, the
    rest are thread replies. Blocks of a later page start with a "continued" line. With
    ``ids``, findings that carry an action get its button."""
    groups = [
        [divider(), *finding_blocks(f, result.remediation_for(f), fix=fix_button(result, i, f, ids))]
        for i, f in enumerate(result.findings)
    ]
    # one block kept free on later pages for the "continued" line
    pages = paginate(
        head_blocks(result), groups, tail=resolved_blocks(result.resolved), max_blocks=MAX_MESSAGE_BLOCKS - 1
    )
    messages = [Message(fallback_text(result), pages[0])]
    for number, page in enumerate(pages[1:], start=2):
        note = context(CONTINUED.format(name=escape(result.integration), page=number, pages=len(pages)))
        body = page[1:] if page and page[0].get("type") == "divider" else page
        messages.append(Message(f"{result.integration}: findings continued ({number}/{len(pages)})", [note, *body]))
    return messages


__all__ = ["finding_blocks", "result_messages", "summary_text"]
