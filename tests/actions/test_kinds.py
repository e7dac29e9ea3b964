"""Each action kind, planned from what a real check proposes and run against the emulators:
a re-sync that creates its contact first, create_item, create_contact, reauthorise."""

from __future__ import annotations

from typing import Any

import pytest

from actions.errors import BadRequest, PlanRefused
from demo import DemoEnvironment
from tests.actions.conftest import ACME_REALM, BLUEGUM_TENANT, qbo_invoices


def proposed(demo: DemoEnvironment, integration: str, code: str) -> tuple[str, dict[str, str], tuple[str, str]]:
    """(kind, params, finding key) of the action a fresh check proposes for ``code``."""
    result = demo.services.checks.run(integration)
    finding = next(f for f in result.findings if f.code == code and f.action is not None)
    assert finding.action is not None
    return finding.action.kind, dict(finding.action.params), finding.key


def test_a_resync_creates_the_missing_contact_first(demo: DemoEnvironment) -> None:
    actions = demo.services.actions
    action = actions.request("acme", "resync", {"numbers": "INV-1005"}, requested_by="U0SUPPORT")
    assert action.plan is not None
    contact = action.plan.invoices[0].contact
    assert contact is not None and (contact.name, contact.status) == ("Priya Nair", "create")
    assert [(s.kind, s.ref) for s in action.steps] == [("contact", contact.key), ("invoice", "INV-1005")]
    actions.approve(action.id, user="U0ADMIN1", is_admin=True)
    outcome = actions.run(action.id)
    assert outcome.action.state == "succeeded"
    assert demo.sandbox is not None
    qbo: Any = demo.sandbox.emulators["quickbooks"]
    realm = qbo.realms[ACME_REALM]
    customers = [c for c in realm.entities["Customer"] if c["DisplayName"] == "Priya Nair"]
    assert len(customers) == 1
    invoice = qbo_invoices(demo, "INV-1005")
    assert len(invoice) == 1 and invoice[0]["CustomerRef"]["value"] == customers[0]["Id"]
    assert all(s.verified and s.verified["ok"] for s in outcome.action.steps)


def test_create_item_from_the_finding_resolves_it(demo: DemoEnvironment) -> None:
    actions = demo.services.actions
    kind, params, key = proposed(demo, "acme", "sku.missing")
    assert (kind, params["sku"]) == ("create_item", "SERV-010")
    action = actions.request("acme", kind, params, requested_by="U0SUPPORT", finding=key)
    assert action.label == "Create item SERV-010 in QuickBooks Online"
    actions.approve(action.id, user="U0ADMIN1", is_admin=True)
    outcome = actions.run(action.id)
    assert outcome.action.state == "succeeded"
    assert outcome.action.summary["verification"]["finding_resolved"] is True
    assert outcome.check is not None and ("sku.missing", "SERV-010") in outcome.check.resolved
    # Planned again, it is already there: adopted, not created twice.
    again = actions.request("acme", kind, params, requested_by="U0SUPPORT")
    assert again.plan is not None and again.plan.items[0].status == "already_there"


def test_create_contact_under_the_name_the_finding_suggests(demo: DemoEnvironment) -> None:
    actions = demo.services.actions
    kind, params, key = proposed(demo, "bluegum", "contact.name_collision")
    assert kind == "create_contact" and params["name"] == "Jane Smith (jsmith@harbourcafe.example)"
    action = actions.request("bluegum", kind, params, requested_by="U0SUPPORT", finding=key)
    actions.approve(action.id, user="U0ADMIN2", is_admin=True)
    outcome = actions.run(action.id)
    assert outcome.action.state == "succeeded"
    assert demo.sandbox is not None
    xero: Any = demo.sandbox.emulators["xero"]
    org = xero.org(BLUEGUM_TENANT)
    made = [c for c in org.contacts if c["Name"] == params["name"]]
    assert len(made) == 1 and made[0]["EmailAddress"] == "jsmith@harbourcafe.example"
    # BG-0103's customer now has a contact of their own: its re-sync would use it.
    plan = actions.plan("bluegum", "resync", {"numbers": "BG-0103"})
    contact = plan.invoices[0].contact
    assert contact is not None and contact.destination_id == made[0]["ContactID"]


def test_reauthorise_hands_back_a_consent_link_and_stores_none(demo: DemoEnvironment) -> None:
    actions = demo.services.actions
    action = actions.request(
        "umbrella", "reauthorise", {"system": "quickbooks", "side": "destination"}, requested_by="U0SUPPORT"
    )
    assert action.label == "Send re-authorise link for QuickBooks Online (destination)"
    actions.approve(action.id, user="U0ADMIN1", is_admin=True)
    outcome = actions.run(action.id)
    assert outcome.action.state == "succeeded" and outcome.link is not None
    # Intuit's consent page (the demo world leaves umbrella's authorize_url as the real one).
    assert outcome.link.startswith("https://appcenter.intuit.com/connect/oauth2?")
    assert "client_id=demo-qbo-client" in outcome.link and "state=" in outcome.link
    trail = actions.audit("umbrella", action_id=action.id)
    assert all("state=" not in str(e.detail) for e in trail)
    step = outcome.action.steps[0]
    assert step.kind == "link" and step.link is None


def test_an_api_key_side_cannot_be_reauthorised(demo: DemoEnvironment) -> None:
    with pytest.raises(BadRequest, match="API key"):
        demo.services.actions.request("umbrella", "reauthorise", {"side": "source"}, requested_by="U0SUPPORT")


def test_bluegums_unsynced_invoices_are_each_blocked_for_their_own_reason(demo: DemoEnvironment) -> None:
    with pytest.raises(PlanRefused) as refused:
        demo.services.actions.plan("bluegum", "resync", {"numbers": "BG-0103,BG-0104,BG-0105"})
    reasons = {number: blocker.code for number, blocker in refused.value.blockers}
    assert reasons == {
        "BG-0103": "contact.name_collision",
        "BG-0104": "mapping.currency",
        "BG-0105": "settings.period_locked",
    }
