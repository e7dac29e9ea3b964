"""The action service end to end: request (planned from fresh data), approve, run, verify,
audit, over real HTTP against the emulators."""

from __future__ import annotations

from typing import Any

import pytest

from actions.errors import (
    AlreadyDecided,
    NotApprover,
    NotRunnable,
    PlanRefused,
    SelfApproval,
    TooMany,
    UnknownAction,
    UnknownInvoice,
)
from demo import DemoEnvironment
from tests.actions.conftest import qbo_invoices


def test_a_resync_is_planned_approved_run_once_and_verified(demo: DemoEnvironment) -> None:
    actions = demo.services.actions
    requested = actions.request("acme", "resync", {"numbers": "INV-1003"}, requested_by="U0SUPPORT")
    assert requested.state == "requested" and requested.label == "Re-sync INV-1003 to QuickBooks Online"
    assert requested.plan is not None
    planned = requested.plan.invoices[0]
    assert planned.status == "push"
    # Sam.Carter@Example.com in HubSpot is sam.carter@example.com in QuickBooks: the same customer.
    assert planned.contact is not None and planned.contact.destination_id == "21"
    assert [(li.sku, li.item_id, str(li.quantity)) for li in planned.lines] == [("PROD-001", "30", "4")]
    assert qbo_invoices(demo, "INV-1003") == []

    approved = actions.approve(requested.id, user="U0ADMIN1", is_admin=True)
    assert approved.state == "approved" and approved.decided_by == "U0ADMIN1"
    outcome = actions.run(requested.id)

    assert outcome.action.state == "succeeded"
    landed = qbo_invoices(demo, "INV-1003")
    assert len(landed) == 1
    step = outcome.action.steps[0]
    assert (step.state, step.destination_id, step.attempts) == ("succeeded", landed[0]["Id"], 1)
    assert step.link == f"https://app.qbo.intuit.com/app/invoice?txnId={landed[0]['Id']}"
    assert step.verified is not None and step.verified["ok"] is True
    assert outcome.check is not None
    unsynced = [f for f in outcome.check.findings if f.code == "sync.unsynced"]
    assert unsynced and "INV-1003" not in unsynced[0].impact.invoices
    events = [(e.event, e.before, e.after) for e in actions.audit("acme", action_id=requested.id)]
    assert events[:3] == [
        ("action.requested", None, "requested"),
        ("action.approved", "requested", "approved"),
        ("action.running", "approved", "running"),
    ]
    assert ("step.succeeded", "sending", "succeeded") in events
    assert ("action.succeeded", "running", "succeeded") in events
    assert events[-1][0] == "action.verified"
    with pytest.raises(NotRunnable):
        actions.run(requested.id)  # once
    assert len(qbo_invoices(demo, "INV-1003")) == 1


def test_approvals_are_checked(demo: DemoEnvironment) -> None:
    actions = demo.services.actions
    action = actions.request("acme", "resync", {"numbers": "INV-1003"}, requested_by="U0ADMIN1")
    with pytest.raises(NotApprover):
        actions.approve(action.id, user="U0SUPPORT", is_admin=False)
    with pytest.raises(SelfApproval):
        actions.approve(action.id, user="U0ADMIN1", is_admin=True)
    actions.approve(action.id, user="U0ADMIN2", is_admin=True)
    with pytest.raises(AlreadyDecided) as second:
        actions.approve(action.id, user="U0ADMIN2", is_admin=True)
    assert second.value.decided_by == "U0ADMIN2"
    actions.record_refusal(action.id, user="U0MALLORY", reason="the button's action id was tampered with")
    refused = [e.detail["reason"] for e in actions.audit("acme", action_id=action.id) if e.event == "action.refused"]
    assert refused == ["not_approver", "self_approval", "already_decided", "refused"]
    tampered = actions.audit("acme", action_id=action.id)[-1]
    assert (tampered.actor, tampered.detail["by"]) == ("U0MALLORY", "surface")
    with pytest.raises(UnknownAction):
        actions.approve(action.id + 1000, user="U0MALLORY", is_admin=True)
    unknown = [e for e in actions.audit() if e.event == "action.refused" and e.detail.get("action") == action.id + 1000]
    assert len(unknown) == 1 and unknown[0].detail["reason"] == "unknown_action"


def test_a_plan_that_cannot_succeed_is_refused_with_the_blocking_finding(demo: DemoEnvironment) -> None:
    with pytest.raises(PlanRefused) as refused:
        demo.services.actions.request("acme", "resync", {"numbers": "INV-1007"}, requested_by="U0SUPPORT")
    assert refused.value.finding is not None
    assert (refused.value.finding.code, refused.value.finding.subject) == ("sku.missing", "PROD-0O1")
    assert "did you mean PROD-001" in refused.value.finding.detail


def test_bad_requests_are_refused_clearly(demo: DemoEnvironment) -> None:
    actions = demo.services.actions
    with pytest.raises(UnknownInvoice, match=r"INV-1O03 \(did you mean INV-1003"):
        actions.request("acme", "resync", {"numbers": "INV-1003,INV-1O03"}, requested_by="U0SUPPORT")
    with pytest.raises(TooMany, match="501 invoices"):
        actions.request("acme", "resync", {"numbers": [f"INV-{n}" for n in range(501)]}, requested_by="U0SUPPORT")
    plan: Any = actions.plan("acme", "resync", {"numbers": "INV-1003,INV-1003,INV-1001"})
    assert [i.number for i in plan.invoices] == ["INV-1003", "INV-1001"] and plan.repeated == ("INV-1003",)
    assert [i.status for i in plan.invoices] == ["push", "already_there"]
