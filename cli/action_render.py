"""Plain-text rendering of action plans, actions and the audit trail (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from common.money import amounts_text

if TYPE_CHECKING:
    from actions.plans import Blocker, Plan, PlannedInvoice
    from service.action_views import ActionView, AuditEntry

STATUS_WORDS = {"push": "will be written", "already_there": "already there: adopted", "blocked": "BLOCKED"}


def _why(blocker: Blocker) -> str:
    return f"{blocker.code}: {blocker.detail}" if blocker.code else blocker.detail


def _invoice(invoice: PlannedInvoice, destination: str) -> list[str]:
    total = amounts_text({invoice.currency: invoice.total})
    head = f"  {invoice.number}  {total}  {STATUS_WORDS.get(invoice.status, invoice.status)}"
    if invoice.destination_id:
        head += f" (id {invoice.destination_id})"
    lines = [head]
    if invoice.status == "push":
        contact = invoice.contact
        if contact is not None:
            who = f"{contact.name} <{contact.email}>" if contact.email else contact.name
            how = (
                f"existing contact {contact.destination_id}" if contact.destination_id else f"created in {destination}"
            )
            lines.append(f"      contact: {who} ({how})")
        for line in invoice.lines:
            item = f"item {line.sku} ({line.item_name or 'no matching item'})" if line.sku else "no item"
            extras = [
                f"account {line.account_code}" if line.account_code else "account: the item's",
                f"tax {line.tax_code}" if line.tax_code else "tax: the default",
                *(f"{t.category}={t.option}" for t in line.tracking),
            ]
            lines.append(
                f"      {line.quantity} x {line.unit_price} = {line.amount}  {item}; {', '.join(extras)}"
                + (f'  "{line.description}"' if line.description else "")
            )
        lines.append(f"      {invoice.invoice_status.value}, dated {invoice.issue_date or 'today'}, total {total}")
    for blocker in invoice.blockers:
        lines.append(f"      blocked by {_why(blocker)}")
    return lines


def plan_text(plan: Plan) -> str:
    """What the approver sees, as the terminal shows it."""
    counts = plan.counts()
    lines = [f"{plan.label} ({plan.integration}: {plan.source} -> {plan.destination})"]
    if plan.kind == "resync":
        lines.append(
            f"  {counts['push']} to write, {counts['already_there']} already there, {counts['blocked']} blocked"
            + (f"; asked more than once: {', '.join(plan.repeated)}" if plan.repeated else "")
        )
        for contact in plan.contacts:
            lines.append(f"  first, create contact {contact.name}" + (f" <{contact.email}>" if contact.email else ""))
        for invoice in plan.invoices:
            lines.extend(_invoice(invoice, plan.destination_name))
    for item in plan.items:
        price = f", price {item.unit_price}" if item.unit_price is not None else ""
        account = f", account {item.account_code}" if item.account_code else ""
        lines.append(f'  item {item.code} "{item.name}"{price}{account}: {STATUS_WORDS.get(item.status, item.status)}')
        lines.extend(f"      blocked by {_why(b)}" for b in item.blockers)
    if plan.kind == "create_contact":
        for contact in plan.contacts:
            email = f" <{contact.email}>" if contact.email else ""
            lines.append(f"  contact {contact.name}{email}: {STATUS_WORDS.get(contact.status, contact.status)}")
            lines.extend(f"      blocked by {_why(b)}" for b in contact.blockers)
    if plan.consent is not None:
        lines.append(f"  a consent link for {plan.consent.display_name} ({plan.consent.side}), sent to the approver")
    return "\n".join(lines)


def blocked_text(blockers: Iterable[tuple[str, Blocker]]) -> str:
    return "\n".join(f"  {what}: {_why(b)}" for what, b in blockers)


def action_line(action: ActionView) -> str:
    decided = f", {action.state} by {action.decided_by}" if action.decided_by else ""
    return (
        f"#{action.id:<5} {action.integration:<12} {action.state:<17} {action.label}"
        f"  (asked by {action.requested_by or '?'} {action.requested_at:%Y-%m-%d %H:%M}{decided})"
    )


def outcome_text(action: ActionView) -> str:
    lines = [f"Action {action.id} {action.state.replace('_', ' ')}: {action.label}"]
    for step in action.steps:
        where = f" id {step.destination_id}" if step.destination_id else ""
        link = f"  {step.link}" if step.link else ""
        why = f"  {step.finding + ': ' if step.finding else ''}{step.error}" if step.error else ""
        lines.append(f"  {step.kind} {step.ref}: {step.state}{where}{link}{why}")
    if action.plan is not None:
        for invoice in action.plan.invoices:
            if invoice.status == "blocked":
                lines.append(f"  invoice {invoice.number}: blocked, {'; '.join(_why(b) for b in invoice.blockers)}")
    verification: Any = action.summary.get("verification")
    if verification:
        differing = verification.get("differing") or []
        read = f"read back {verification.get('verified', 0)}" + (
            f", differing: {', '.join(differing)}" if differing else ", as planned"
        )
        lines.append(f"  {read}; checks re-run (run {verification.get('check_run')})")
    return "\n".join(lines)


def audit_text(entries: Iterable[AuditEntry]) -> str:
    lines = []
    for e in entries:
        action = f" #{e.action_id}" if e.action_id else ""
        change = f" {e.before or '-'} -> {e.after}" if e.after and e.before != e.after else ""
        detail = e.detail
        what = detail.get("ref") or detail.get("label") or detail.get("message") or ""
        if detail.get("error"):
            what = f"{what}: {detail['error']}" if what else str(detail["error"])
        lines.append(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<12} {e.event:<18}{action}{change}  {what}".rstrip())
    return "\n".join(lines) or "No audit events."
