"""Actions in Block Kit, without Slack: signed button values round-trip and refuse tampering,
findings get their button, the approval message shows the plan within Slack's limits in every
state, the Deny modal and the link message fit theirs, progress edits are throttled."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from actions.engine import Progress
from actions.plans import (
    ALREADY_THERE,
    BLOCKED,
    CREATE,
    PUSH,
    USE,
    Blocker,
    Plan,
    PlannedContact,
    PlannedInvoice,
    PlannedLine,
)
from bot.action_messages import Throttle
from bot.blocks import approvals
from bot.blocks.common import iter_text
from bot.blocks.ids import APPROVE, DENY, ActionRef, DenyForm, FindingRef, Ids, Tampered, action_id, derive_key, verb_of
from bot.blocks.results import result_messages
from bot.blocks.trace import trace_message
from checks.findings import ProposedAction
from checks.trace import InvoiceTrace
from providers.records import InvoiceStatus, TrackingRef
from sandbox.slack import MESSAGE_BLOCKS, VIEW_BLOCKS, validate_blocks
from sandbox.slack.api import modal_errors
from service.action_views import ActionView, StepView
from tests.bot.builders import NOW, blocked, finding, result

IDS = Ids(derive_key("test-secret-key"))


def text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(iter_text(blocks))


# -- ids ----------------------------------------------------------------------------------


def test_values_round_trip_and_stay_small() -> None:
    ref = FindingRef(run_id=123456, position=7)
    value = IDS.finding_value(ref)
    assert IDS.finding_ref(value) == ref and len(value) < 200
    assert IDS.action_ref(APPROVE, IDS.action_value(APPROVE, ActionRef(42))) == ActionRef(42)
    form = DenyForm(42, "C0APPROVALS", "1700000000.000100")
    assert IDS.deny_form(IDS.deny_metadata(form)) == form
    assert verb_of(action_id(DENY, 3)) == DENY and verb_of("sd:request") == "request"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda v: "x" + v[1:],  # payload edited
        lambda v: v[:-2] + ("AA" if not v.endswith("AA") else "BB"),  # signature edited
        lambda v: v.split(".")[0],  # signature dropped
        lambda v: "",
        lambda v: "not base64!.AAAA",
    ],
)
def test_a_tampered_value_is_refused(tamper: Any) -> None:
    value = IDS.finding_value(FindingRef(1, 0))
    with pytest.raises(Tampered):
        IDS.finding_ref(tamper(value))


def test_values_are_bound_to_their_button_and_their_key() -> None:
    approve = IDS.action_value(APPROVE, ActionRef(5))
    with pytest.raises(Tampered):
        IDS.action_ref(DENY, approve)  # an Approve value moved to the Deny button
    with pytest.raises(Tampered):
        IDS.finding_ref(approve)
    with pytest.raises(Tampered):
        Ids(derive_key("another server")).action_ref(APPROVE, approve)
    # a value whose payload is well signed but not what we write (a negative id) is refused too
    with pytest.raises(Tampered):
        verb_of("sd:delete:1")


# -- finding buttons ------------------------------------------------------------------------


def test_stored_results_get_a_button_per_action_with_signed_values() -> None:
    actions = [
        ProposedAction("resync", "Re-sync INV-1042 to Xero", {"numbers": "INV-1042"}),
        ProposedAction("create_contact", "Create contact Sam Carter in Xero", {"name": "Sam Carter"}),
        ProposedAction("reauthorise", "Re-authorise Xero", {"side": "destination"}),
    ]
    findings = [
        finding("sku.missing", f"S{i}", action=a, impact=blocked((f"INV-{i}", "NZD", "1")))
        for i, a in enumerate(actions)
    ]
    stored = replace(result(findings), run_id=77)
    [message] = result_messages(stored, IDS)
    assert validate_blocks(message.blocks, MESSAGE_BLOCKS) == []
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == [
        "Re-sync INV-1042 to Xero",
        "Create contact Sam Carter in Xero",
        "Send re-authorise link",
    ]
    assert [IDS.finding_ref(b["value"]) for b in buttons] == [FindingRef(77, i) for i in range(3)]
    assert len({b["action_id"] for b in buttons}) == 3
    assert "Sync Doctor can fix this" not in text(message.blocks)
    # not stored: words, no buttons
    [unstored] = result_messages(result(findings), IDS)
    assert not any(b["type"] == "actions" for b in unstored.blocks)


def test_a_trace_offers_the_fix_of_what_blocks_the_invoice() -> None:
    action = ProposedAction("create_item", "Create item PROD-404 in Xero", {"sku": "PROD-404"})
    f = finding("sku.missing", "PROD-404", action=action)
    stored = replace(result([f], remediation={f.key: "1. Create it."}), run_id=9)
    trace = InvoiceTrace(
        integration="acme",
        number="INV-9",
        source="HubSpot",
        destination="Xero",
        found=True,
        in_scope=True,
        copies=(),
        blocking=({"code": "sku.missing", "subject": "PROD-404"},),
        steps=(),
        verdict="blocked",
    )
    message = trace_message(trace, stored, IDS)
    [button] = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert IDS.finding_ref(button["value"]) == FindingRef(9, 0)


# -- the approval message ---------------------------------------------------------------------


def line(sku: str = "PROD-001", qty: str = "2", price: str = "25") -> PlannedLine:
    amount = Decimal(qty) * Decimal(price)
    return PlannedLine(
        "Widget",
        sku,
        "item-1",
        "Widget",
        Decimal(qty),
        Decimal(price),
        amount,
        "200",
        "OUTPUT2",
        (TrackingRef("Region", "North"),),
    )


def invoice(number: str, status: str = PUSH, *, contact_status: str = USE) -> PlannedInvoice:
    contact = PlannedContact(
        "c1", "Sam Carter", "sam@example.com", contact_status, "xc-1" if contact_status == USE else None
    )
    blockers = (Blocker("sku.missing", "PROD-404", "Xero has no item PROD-404"),) if status == BLOCKED else ()
    return PlannedInvoice(
        number,
        f"src-{number}",
        status,
        "NZD",
        InvoiceStatus.OPEN,
        contact,
        (line(), line("PROD-002", "1.5", "10")),
        Decimal("65"),
        Decimal("65"),
        Decimal("0"),
        NOW.date(),
        NOW.date(),
        None,
        "xi-9" if status == ALREADY_THERE else None,
        blockers,
    )


def plan(invoices: list[PlannedInvoice]) -> Plan:
    return Plan("resync", "acme", "hubspot", "xero", "Xero", NOW, invoices=tuple(invoices))


def view(p: Plan, state: str = "requested", **kw: Any) -> ActionView:
    defaults: dict[str, Any] = dict(
        id=12,
        integration="acme",
        kind=p.kind,
        state=state,
        label=p.label,
        params={},
        requested_by="U0SUPPORT",
        requested_via="slack",
        requested_at=NOW,
        expires_at=NOW + timedelta(hours=24),
        decided_by=None,
        decided_at=None,
        decision_note=None,
        finding_code="sync.unsynced",
        finding_subject="INV-1",
        plan=p,
        steps=(),
        attempts=0,
    )
    return ActionView(**{**defaults, **kw})


def test_the_request_shows_the_plan_and_approve_deny() -> None:
    p = plan(
        [
            invoice("INV-1"),
            invoice("INV-2", contact_status=CREATE),
            invoice("INV-3", ALREADY_THERE),
            invoice("INV-4", BLOCKED),
        ]
    )
    message = approvals.approval_message(view(p), IDS)
    assert validate_blocks(message.blocks, MESSAGE_BLOCKS) == []
    body = text(message.blocks)
    assert "Approval needed: Re-sync 4 invoices to Xero" in body and "Request #12" in body
    assert "*2* to write (NZD 130.00), 1 already there, 1 blocked" in body
    assert "contact: Sam Carter &lt;sam@example.com&gt; (existing, `xc-1`)" in body
    assert "contact: Sam Carter &lt;sam@example.com&gt; (created in Xero first)" in body
    assert "`PROD-002` Widget · 1.5 x NZD 10.00 = NZD 15.00 · account `200`, tax `OUTPUT2`, Region: North" in body
    assert "open, dated 2026-05-20 · subtotal NZD 65.00, tax NZD 0.00, total NZD 65.00" in body
    assert "Already in Xero (`xi-9`)" in body and "Blocked: Item (SKU) missing" in body
    [actions] = [b for b in message.blocks if b["type"] == "actions"]
    approve, deny = actions["elements"]
    assert (
        IDS.action_ref(APPROVE, approve["value"]) == ActionRef(12)
        and approve["confirm"]["confirm"]["text"] == "Approve"
    )
    assert IDS.action_ref(DENY, deny["value"]) == ActionRef(12) and deny["style"] == "danger"


def test_five_hundred_invoices_fit_one_message_and_say_what_is_not_listed() -> None:
    p = plan([invoice(f"INV-{i:04}") for i in range(500)])
    message = approvals.approval_message(view(p), IDS)
    assert validate_blocks(message.blocks, MESSAGE_BLOCKS) == []
    assert len(json.dumps(message.blocks)) < 60_000
    body = text(message.blocks)
    assert "*500* to write (NZD 32,500.00)" in body
    listed = sum(body.count(f"INV-{i:04}") > 0 for i in range(500))
    assert f"{500 - listed} more invoice(s) not listed here" in body
    assert any(b["type"] == "actions" for b in message.blocks)


def test_every_state_draws_a_valid_message_without_buttons_once_decided() -> None:
    p = plan([invoice("INV-1")])
    steps = (StepView(0, "invoice", "INV-1", "succeeded", 1, "xi-1", "https://go.xero.com/x"),)
    progress = Progress(12, "recorded", 500, 120, 118, 2, 0)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("approved", {"decided_by": "U0ADMIN"}),
        ("running", {"decided_by": "U0ADMIN"}),
        ("succeeded", {"decided_by": "U0ADMIN", "steps": steps}),
        ("failed", {"decided_by": "U0ADMIN", "last_error": "Xero cannot be reached"}),
        ("denied", {"decided_by": "U0ADMIN", "decision_note": "<!channel> no"}),
        ("expired", {}),
    ]
    for state, extra in cases:
        message = approvals.approval_message(view(p, state, **extra), IDS, progress=progress)
        assert validate_blocks(message.blocks, MESSAGE_BLOCKS) == [], state
        assert not any(b["type"] == "actions" for b in message.blocks), state
    running = text(
        approvals.approval_message(
            view(replace(p, invoices=p.invoices * 2), "running", decided_by="U0ADMIN"), IDS, progress=progress
        ).blocks
    )
    assert "120 of 500 done · 118 written · 2 already there · 0 failed" in running
    denied = text(
        approvals.approval_message(view(p, "denied", decided_by="U0ADMIN", decision_note="<!channel> no"), IDS).blocks
    )
    assert "denied by <@U0ADMIN>" in denied and "&lt;!channel&gt;" in denied and "<!channel>" not in denied


def test_deny_modal_and_link_message_fit_slack() -> None:
    p = plan([invoice("INV-1")])
    modal = approvals.deny_modal(view(p), IDS.deny_metadata(DenyForm(12, "C0A", "1.2")))
    assert modal_errors(modal) == [] and len(modal["blocks"]) <= VIEW_BLOCKS
    link = approvals.link_message(view(p), "https://login.xero.com/identity/connect/authorize?" + "x" * 1500)
    assert validate_blocks(link.blocks, MESSAGE_BLOCKS) == []
    assert link.blocks[1]["elements"][0]["url"].startswith("https://login.xero.com/")


def test_progress_edits_are_throttled_to_once_a_second() -> None:
    now = [100.0]
    gate = Throttle(1.0, clock=lambda: now[0])
    seen = []
    for step in range(30):  # 30 reports within 2.9 s
        now[0] = 100.0 + step * 0.1
        seen.append(gate.ready())
    assert seen.count(True) == 3 and seen[0] is True and seen[10] is True and seen[20] is True
