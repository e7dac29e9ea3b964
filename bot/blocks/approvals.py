"""Actions in Slack: the button on a finding, the approval request with its plan, the messages
that follow the action (the requester's, the outcome in the thread), the Deny modal, the
re-authorise link, the audit trail. Pure functions returning Block Kit dicts.

The approval message is drawn from the action's current state every time
(:func:`approval_message`): waiting (the plan, Approve / Deny), approved and running (progress),
finished (what landed), denied or expired; so every edit of it is one call with the latest
:class:`service.action_views.ActionView`. A plan of many invoices shows the first ones in full
(contact, each line's item, quantity, unit price, account, tax code, tracking, totals,
currency), the rest one line each, and the totals of all of them, within one message's 50
blocks and its size budget (``common.PAGE_CHAR_BUDGET``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from actions.plans import ALREADY_THERE, BLOCKED, CREATE, Blocker, Plan, PlannedInvoice, PlannedLine
from actions.states import ActionState
from bot.blocks.common import (
    MAX_MESSAGE_BLOCKS,
    MAX_VIEW_BLOCKS,
    PAGE_CHAR_BUDGET,
    SECTION_TEXT,
    Block,
    Message,
    block_chars,
    code,
    context,
    divider,
    escape,
    header,
    join_limited,
    plain,
    plural,
    section,
    truncate,
)
from bot.blocks.ids import APPROVE, DENY, REASON_BLOCK, REASON_INPUT, REQUEST, ActionRef, FindingRef, Ids, action_id
from checks.findings import ProposedAction
from common.money import amounts_text

if TYPE_CHECKING:  # views and progress are only read here: their modules bring the database along
    from actions.engine import Progress
    from service.action_views import ActionOutcome, ActionView, AuditEntry

BUTTON_TEXT = 75  # button-element page
MODAL_TITLE = 24  # modal title, submit and close (modal-views page)
INPUT_LABEL = 2000  # input-block page
REASON_MAX = 500  # what the Deny reason keeps (audited as typed)
DETAILED_INVOICES = 8  # shown with every line; the rest one line each
SUMMARY_LINES_PER_SECTION = 25
MAX_AUDIT_SHOWN = 30

REAUTHORISE_BUTTON = "Send re-authorise link"
STATE_WORDS = {
    ActionState.REQUESTED: ":hourglass_flowing_sand: Waiting for an admin",
    ActionState.APPROVED: ":arrow_forward: Approved, starting",
    ActionState.RUNNING: ":arrows_counterclockwise: Running",
    ActionState.SUCCEEDED: ":white_check_mark: Done",
    ActionState.PARTLY_SUCCEEDED: ":large_yellow_circle: Partly done",
    ActionState.FAILED: ":red_circle: Failed",
    ActionState.DENIED: ":no_entry_sign: Denied",
    ActionState.EXPIRED: ":clock3: Expired (nobody decided in time)",
}
STEP_WORDS = {
    "succeeded": "written",
    "adopted": "already there (adopted)",
    "failed": "failed",
    "skipped": "skipped",
    "pending": "waiting",
    "sending": "sending",
    "blocked": "blocked",
}
TAMPERED = (
    "That button did not come from Sync Doctor as it is (its contents were changed, or it belongs to "
    "another server), so nothing was done. Run `/sync-check NAME` again for fresh buttons."
)
NOT_ALLOWED = "You are not on the list of people who may use Sync Doctor here, so nothing was done."
GONE = (
    "Sync Doctor no longer has the run this button came from, so it cannot tell what to fix. "
    "Run `/sync-check {name}` again and use the new button."
)
NO_CHANNEL = (
    "There is nowhere to post the approval request: set `slack.approvals_channel` (or `slack.alert_channel`) "
    "in the configuration. Nothing was requested."
)


def button(text: str, verb: str, value: str, *, n: int = 0, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT),
        "action_id": action_id(verb, n),
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def button_text(action: ProposedAction) -> str:
    """What a finding's button says: the action's own label ("Re-sync INV-1042 to Xero",
    "Create item PROD-001 in Xero"), or, for a connection, what the click does."""
    return REAUTHORISE_BUTTON if action.kind == "reauthorise" else action.label


def finding_button(action: ProposedAction, ids: Ids, ref: FindingRef) -> Block:
    """The actions block under a finding that carries a proposed action."""
    return {
        "type": "actions",
        "block_id": f"sd-fix-{ref.run_id}-{ref.position}",
        "elements": [button(button_text(action), REQUEST, ids.finding_value(ref), n=ref.position, style="primary")],
    }


# -- the plan ---------------------------------------------------------------------------------


def _money(currency: str, amount: Decimal | None) -> str:
    return escape(amounts_text({currency: amount})) if amount is not None else "—"


def _why(blocker: Blocker) -> str:
    what = escape(blocker.title)
    return f"{what}: {escape(blocker.detail)}" if blocker.detail else what


def _line_text(line: PlannedLine, currency: str) -> str:
    item = f"{code(line.sku)} {escape(line.item_name or '')}".strip() if line.sku else "_no item_"
    where = [
        f"account {code(line.account_code)}" if line.account_code else "account: the item's",
        f"tax {code(line.tax_code)}" if line.tax_code else "tax: the default",
        *(f"{escape(t.category)}: {escape(t.option)}" for t in line.tracking),
    ]
    qty = str(line.quantity.normalize()) if line.quantity != line.quantity.to_integral() else str(int(line.quantity))
    return f"• {item} · {qty} x {_money(currency, line.unit_price)} = {_money(currency, line.amount)} · " + ", ".join(
        where
    )


def _contact_text(invoice: PlannedInvoice, destination: str) -> str:
    contact = invoice.contact
    if contact is None:
        return "contact: _none_"
    who = escape(contact.name) + (f" &lt;{escape(contact.email)}&gt;" if contact.email else "")
    if contact.status == CREATE or not contact.destination_id:
        return f"contact: {who} (created in {escape(destination)} first)"
    return f"contact: {who} (existing, {code(contact.destination_id)})"


def invoice_text(invoice: PlannedInvoice, destination: str) -> str:
    """One invoice in full: what the approver checks before pressing Approve."""
    head = f"*{escape(invoice.number)}* · {_money(invoice.currency, invoice.total)}"
    if invoice.status == ALREADY_THERE:
        return head + f"\nAlready in {escape(destination)} ({code(invoice.destination_id)}): adopted, not written again"
    if invoice.status == BLOCKED:
        return head + "\n:no_entry: Blocked: " + "; ".join(_why(b) for b in invoice.blockers)
    lines = [head, _contact_text(invoice, destination)]
    lines += [_line_text(line, invoice.currency) for line in invoice.lines]
    totals = [
        f"subtotal {_money(invoice.currency, invoice.subtotal)}" if invoice.subtotal is not None else "",
        f"tax {_money(invoice.currency, invoice.tax)}" if invoice.tax is not None else "",
        f"total {_money(invoice.currency, invoice.total)}",
    ]
    dated = f"dated {invoice.issue_date.isoformat()}" if invoice.issue_date else "dated today"
    lines.append(f"{escape(invoice.invoice_status.value)}, {dated} · " + ", ".join(t for t in totals if t))
    return truncate("\n".join(lines), SECTION_TEXT)


def _summary_line(invoice: PlannedInvoice) -> str:
    who = f" · {escape(invoice.contact.name)}" if invoice.contact else ""
    state = {ALREADY_THERE: " · already there", BLOCKED: " · blocked"}.get(invoice.status, "")
    return f"• {escape(invoice.number)} · {_money(invoice.currency, invoice.total)}{who} · {plural(len(invoice.lines), 'line')}{state}"


def plan_totals(plan: Plan) -> str:
    counts = plan.counts()
    written = [i for i in plan.invoices if i.status not in (BLOCKED, ALREADY_THERE)]
    totals: dict[str, Decimal] = {}
    for invoice in written:
        totals[invoice.currency] = totals.get(invoice.currency, Decimal(0)) + invoice.total
    parts = [f"*{counts['push']}* to write ({escape(amounts_text(totals, empty='nothing'))})"]
    if counts[ALREADY_THERE]:
        parts.append(f"{counts[ALREADY_THERE]} already there")
    if counts[BLOCKED]:
        parts.append(f"{counts[BLOCKED]} blocked")
    text = ", ".join(parts)
    if plan.repeated:
        text += f" · asked more than once (planned once): {join_limited([escape(n) for n in plan.repeated])}"
    return text


def _invoice_blocks(plan: Plan, budget: int) -> list[Block]:
    """The invoices of a re-sync: the first in full, then one line each, then how many did
    not fit (a block is kept for that note whenever something might not fit)."""
    invoices = list(plan.invoices)
    room = budget - 1
    blocks: list[Block] = []
    shown = 0
    for invoice in invoices[:DETAILED_INVOICES]:
        if len(blocks) >= room:
            break
        blocks.append(section(invoice_text(invoice, plan.destination_name)))
        shown += 1
    rest = invoices[shown:]
    chars = sum(block_chars(b) for b in blocks)
    for start in range(0, len(rest), SUMMARY_LINES_PER_SECTION):
        chunk = rest[start : start + SUMMARY_LINES_PER_SECTION]
        block = section(truncate("\n".join(_summary_line(i) for i in chunk), SECTION_TEXT))
        chars += block_chars(block)
        if len(blocks) >= room or chars > PAGE_CHAR_BUDGET:
            break
        blocks.append(block)
        shown += len(chunk)
    if shown < len(invoices):
        blocks.append(
            context(
                f"{len(invoices) - shown} more invoice(s) not listed here: "
                f"`sync-doctor resync {escape(plan.integration)} NUMBER... --plan` shows them all"
            )
        )
    return blocks


def plan_blocks(plan: Plan, budget: int) -> list[Block]:
    """The plan within ``budget`` blocks."""
    destination = plan.destination_name
    blocks: list[Block] = []
    if plan.kind == "resync":
        blocks.append(section(plan_totals(plan)))
        for contact in plan.contacts:
            if contact.status == CREATE:
                email = f" &lt;{escape(contact.email)}&gt;" if contact.email else ""
                blocks.append(context(f"First, create contact {escape(contact.name)}{email} in {escape(destination)}"))
                break
        blocks.extend(_invoice_blocks(plan, budget - len(blocks)))
    for item in plan.items:
        price = f" · price {_money('', item.unit_price).strip()}" if item.unit_price is not None else ""
        account = f" · account {code(item.account_code)}" if item.account_code else ""
        tax = f" · tax {code(item.tax_code)}" if item.tax_code else ""
        state = {ALREADY_THERE: " · already there: adopted", BLOCKED: " · :no_entry: blocked"}.get(item.status, "")
        text = f"Item {code(item.code)} “{escape(item.name)}” in {escape(destination)}{price}{account}{tax}{state}"
        text += "".join(f"\n{_why(b)}" for b in item.blockers)
        blocks.append(section(text))
    if plan.kind == "create_contact":
        for contact in plan.contacts:
            email = f" &lt;{escape(contact.email)}&gt;" if contact.email else ""
            state = {ALREADY_THERE: " · already there: adopted", BLOCKED: " · :no_entry: blocked"}.get(
                contact.status, ""
            )
            text = f"Contact {escape(contact.name)}{email} in {escape(destination)}{state}"
            text += "".join(f"\n{_why(b)}" for b in contact.blockers)
            blocks.append(section(text))
    if plan.consent is not None:
        blocks.append(
            section(
                f"A link to {escape(plan.consent.display_name)}'s consent screen for the {escape(plan.consent.side)} "
                "of this integration, sent by direct message to the admin who approves (it works once, for 15 minutes)."
            )
        )
    return blocks[:budget]


# -- the approval message ------------------------------------------------------------------


def _when(at: datetime) -> str:
    """A time every reader sees in their own zone (Slack's date formatting), with a fallback."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at:%Y-%m-%d %H:%M} UTC>"


def _who(user: str | None) -> str:
    if not user:
        return "someone"
    return f"<@{user}>" if user[:1] in ("U", "W") and user.isalnum() else escape(user)


def progress_text(progress: Progress) -> str:
    return (
        f"{progress.done} of {progress.total} done · {progress.succeeded} written · "
        f"{progress.adopted} already there · {progress.failed} failed"
    )


def status_line(view: ActionView, progress: Progress | None = None) -> str:
    words = STATE_WORDS.get(ActionState(view.state), escape(view.state))
    if view.state == ActionState.REQUESTED and view.expires_at is not None:
        return f"{words} · expires {_when(view.expires_at)}"
    if view.state in (ActionState.APPROVED, ActionState.RUNNING):
        line = f"{words} · approved by {_who(view.decided_by)}"
        return line + (f" · {progress_text(progress)}" if progress is not None and progress.total > 1 else "")
    if view.state == ActionState.DENIED:
        reason = f": “{escape(truncate(view.decision_note, 300))}”" if view.decision_note else ""
        how = "withdrawn by" if view.decided_by == view.requested_by else "denied by"
        return f"{words} · {how} {_who(view.decided_by)}{reason}"
    if view.finished:
        return f"{words} · approved by {_who(view.decided_by)} · {results_text(view)}"
    return words


def results_text(view: ActionView) -> str:
    counts: dict[str, int] = {}
    for step in view.steps:
        if step.kind != "link":
            counts[step.state] = counts.get(step.state, 0) + 1
    blocked = sum(1 for i in (view.plan.invoices if view.plan else ()) if i.status == BLOCKED)
    if blocked:
        counts["blocked"] = blocked
    if not counts and view.kind == "reauthorise":
        return "link sent" if view.state == ActionState.SUCCEEDED else "no link sent"
    return ", ".join(f"{n} {STEP_WORDS.get(state, state)}" for state, n in counts.items()) or "nothing to do"


def approval_message(view: ActionView, ids: Ids, *, progress: Progress | None = None) -> Message:
    """The request in the approvals channel, as it stands now."""
    title = f"Approval needed: {view.label}" if view.awaiting_decision else view.label
    finding = f" · from `{escape(view.finding_code)}`" if view.finding_code else ""
    meta = f"Request #{view.id} · {escape(view.integration)} · asked by {_who(view.requested_by)}{finding}"
    blocks: list[Block] = [header(title), context(meta), section(status_line(view, progress))]
    if view.plan is not None:
        blocks.append(divider())
        room = MAX_MESSAGE_BLOCKS - len(blocks) - (1 if view.awaiting_decision else 0)
        blocks.extend(plan_blocks(view.plan, room))
    if view.awaiting_decision:
        ref = ActionRef(view.id)
        blocks.append(
            {
                "type": "actions",
                "block_id": f"sd-decide-{view.id}",
                "elements": [
                    {
                        **button("Approve", APPROVE, ids.action_value(APPROVE, ref), style="primary"),
                        "confirm": _confirm(view),
                    },
                    button("Deny", DENY, ids.action_value(DENY, ref), style="danger"),
                ],
            }
        )
    text = (
        f"{view.label}: {STATE_WORDS.get(ActionState(view.state), view.state).split(' ', 1)[-1]} (request #{view.id})"
    )
    return Message(text, blocks[:MAX_MESSAGE_BLOCKS])


def _confirm(view: ActionView) -> Block:
    where = view.plan.destination_name if view.plan else "the destination"
    if view.kind == "resync" and view.plan is not None:
        what = f"This writes {plural(view.plan.counts()['push'], 'invoice')} to {where}, once."
    elif view.kind == "reauthorise":
        what = "You will get a consent link by direct message."
    else:
        what = f"This writes to {where}, once."
    return {
        "title": plain("Approve this request?", 100),
        "text": plain(truncate(f"{view.label}. {what}", 300), 300),
        "confirm": plain("Approve", 30),
        "deny": plain("Not yet", 30),
    }


def requester_message(view: ActionView, approvals_channel: str | None, *, progress: Progress | None = None) -> Message:
    """What the person who asked sees (in their thread or DM), kept up to date."""
    where = f" in {_channel(approvals_channel)}" if approvals_channel else ""
    lines = [f"*{escape(view.label)}* (request #{view.id})", status_line(view, progress)]
    if view.awaiting_decision:
        lines.append(f"An admin decides{where}; this message follows the request.")
    return Message(f"{view.label}: {view.state.replace('_', ' ')} (request #{view.id})", [section("\n".join(lines))])


def _channel(channel: str) -> str:
    return f"<#{channel}>" if channel[:1] in ("C", "G") and channel.isalnum() else escape(channel)


def asked_message(view: ActionView, approvals_channel: str, *, again: bool) -> Message:
    """The immediate ephemeral answer to the person who clicked or typed."""
    if again:
        text = (
            f"Already asked: *{escape(view.label)}* is request #{view.id} "
            f"({escape(view.state.replace('_', ' '))}). It is in {_channel(approvals_channel)}."
        )
    else:
        text = f"Asked for approval: *{escape(view.label)}* (request #{view.id}) in {_channel(approvals_channel)}."
    return Message(f"{view.label}: request #{view.id}", [section(text)])


def outcome_reply(outcome: ActionOutcome) -> Message:
    """The thread reply once the action has run: per record what happened, and the checks."""
    view = outcome.action
    lines = [f"{STATE_WORDS.get(ActionState(view.state), view.state)}: *{escape(view.label)}*"]
    for step in [s for s in view.steps if s.kind != "link"][:40]:
        where = (
            f" · <{step.link}|open in {escape(view.plan.destination_name if view.plan else '')}>" if step.link else ""
        )
        ident = f" {code(step.destination_id)}" if step.destination_id else ""
        why = (
            f" · {escape(step.finding + ': ' if step.finding else '')}{escape(truncate(step.error, 300))}"
            if step.error
            else ""
        )
        lines.append(
            f"• {escape(step.kind)} {escape(step.ref)}: {STEP_WORDS.get(step.state, step.state)}{ident}{where}{why}"
        )
    if len(view.steps) > 40:
        lines.append(f"… and {len(view.steps) - 40} more")
    for invoice in view.plan.invoices if view.plan else ():
        if invoice.status == BLOCKED:
            lines.append(
                f"• invoice {escape(invoice.number)}: blocked · " + "; ".join(_why(b) for b in invoice.blockers)
            )
    check = outcome.check
    if check is not None:
        resolved = view.summary.get("verification", {}).get("finding_resolved")
        cleared = (
            f" The finding `{escape(view.finding_code)}` {'cleared' if resolved else 'is still there'}."
            if view.finding_code and resolved is not None
            else ""
        )
        state = "all checks pass" if not check.findings else plural(len(check.findings), "finding") + " open"
        lines.append(f"Checks re-run (run `{escape(check.ref)}`): {state}.{cleared}")
    if view.last_error:
        lines.append(f"Error: {escape(truncate(view.last_error, 500))}")
    return Message(f"{view.label}: {view.state.replace('_', ' ')}", [section(truncate("\n".join(lines), SECTION_TEXT))])


def note(text: str) -> Message:
    """A short message (an explanation, a thread note) of text already safe for mrkdwn."""
    return Message(truncate(text, 300), [section(text)])


def refusal(reason: str) -> Message:
    """Why a click or request did nothing (``reason`` is plain text: escaped here)."""
    return note(f":no_entry_sign: {escape(reason)}")


def plan_refused(reason: str, blockers: Sequence[tuple[str, Blocker]]) -> Message:
    lines = [f":no_entry_sign: Not requested: {escape(reason)}"]
    lines += [f"• {escape(what)}: {_why(b)}" for what, b in list(blockers)[:20]]
    if len(blockers) > 20:
        lines.append(f"… and {len(blockers) - 20} more")
    return Message(f"Not requested: {reason}", [section(truncate("\n".join(lines), SECTION_TEXT))])


def deny_modal(view: ActionView, metadata: str) -> Block:
    """The modal asking why (callback ``sd:deny``; the reason is required)."""
    return {
        "type": "modal",
        "callback_id": "sd:deny",
        "private_metadata": metadata,
        "title": plain("Deny request", MODAL_TITLE),
        "submit": plain("Deny", MODAL_TITLE),
        "close": plain("Cancel", MODAL_TITLE),
        "blocks": [
            section(f"*{escape(view.label)}* (request #{view.id}, asked by {_who(view.requested_by)})"),
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": plain("Why? The requester sees this.", INPUT_LABEL),
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_INPUT,
                    "multiline": True,
                    "max_length": REASON_MAX,
                },
            },
        ][:MAX_VIEW_BLOCKS],
    }


def link_message(view: ActionView, link: str) -> Message:
    """The direct message carrying a consent link (never logged; Slack keeps it in the DM)."""
    consent = view.plan.consent if view.plan else None
    system = consent.display_name if consent else "the system"
    side = consent.side if consent else "side"
    text = (
        f"Here is the link to re-authorise {escape(system)} as the {escape(side)} of *{escape(view.integration)}* "
        f"(request #{view.id}). It works once, for 15 minutes. Choose the organisation "
        "the integration is configured for; Sync Doctor refuses another one and keeps the old connection."
    )
    return Message(
        f"Re-authorise {system} for {view.integration}",
        [
            section(text),
            {
                "type": "actions",
                "block_id": f"sd-link-{view.id}",
                "elements": [{"type": "button", "text": plain(f"Open {system}", BUTTON_TEXT), "url": link}],
            },
        ],
    )


def reconnected_message(integration: str, system: str, side: str, findings: int | None, ref: str | None) -> Message:
    checks = (
        "checks re-run: all pass"
        if findings == 0
        else f"checks re-run: {plural(findings, 'finding')} open (run `{escape(ref or '')}`)"
        if findings is not None
        else "the checks could not be re-run"
    )
    text = f":link: {escape(system)} is connected again as the {escape(side)} of *{escape(integration)}*; {checks}."
    return Message(f"{system} reconnected for {integration}", [section(text)])


def audit_message(integration: str, entries: Iterable[AuditEntry]) -> Message:
    rows = list(entries)
    shown = rows[-MAX_AUDIT_SHOWN:]
    lines = []
    for e in shown:
        action = f" #{e.action_id}" if e.action_id else ""
        change = f" {escape(e.before or '-')} → {escape(e.after)}" if e.after and e.before != e.after else ""
        what = e.detail.get("ref") or e.detail.get("label") or e.detail.get("message") or e.detail.get("note") or ""
        detail = f" · {escape(truncate(str(what), 120))}" if what else ""
        lines.append(f"`{e.at:%Y-%m-%d %H:%M}` {_who(e.actor)} *{escape(e.event)}*{action}{change}{detail}")
    blocks: list[Block] = [header(f"Audit trail: {integration}")]
    if not lines:
        blocks.append(section("Nothing audited yet: no action was requested for this integration."))
    for i in range(0, len(lines), 10):
        blocks.append(section(truncate("\n".join(lines[i : i + 10]), SECTION_TEXT)))
    if len(rows) > len(shown):
        blocks.append(
            context(
                f"The last {len(shown)} of {len(rows)} events; `sync-doctor audit {escape(integration)}` shows all."
            )
        )
    return Message(f"Audit trail of {integration}: {plural(len(rows), 'event')}", blocks[:MAX_MESSAGE_BLOCKS])


__all__ = [
    "GONE",
    "NOT_ALLOWED",
    "NO_CHANNEL",
    "TAMPERED",
    "approval_message",
    "asked_message",
    "audit_message",
    "button_text",
    "deny_modal",
    "finding_button",
    "link_message",
    "outcome_reply",
    "plan_blocks",
    "plan_refused",
    "reconnected_message",
    "refusal",
    "requester_message",
]
