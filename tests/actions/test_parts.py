"""The engine's parts on their own: the state machine, plans through JSON, the destination
look-up's cost, and refusals mapped to the finding that explains them (with the emulators'
own wording, and QuickBooks' duplicate-number refusal over real HTTP)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from actions.lookup import DestinationLookup
from actions.plans import Plan
from actions.reasons import existing_id, reason_for, transient
from actions.states import ActionState, InvalidTransition, StepState, check_transition, outcome
from checks.context import SideData
from config.integrations import SideConfig
from demo import DemoEnvironment
from providers.errors import RateLimited, Rejected, TokenRevoked, Unavailable, UnexpectedResponse
from providers.http import CallStats
from providers.records import Invoice, InvoiceLine, InvoiceStatus
from sandbox.xero.messages import MESSAGES

XERO = SideData("destination", SideConfig(system="xero"), None)


def test_the_state_machine() -> None:
    check_transition("requested", "approved")
    check_transition("running", "partly_succeeded")
    for before, after in (("requested", "running"), ("denied", "approved"), ("succeeded", "running")):
        with pytest.raises(InvalidTransition):
            check_transition(before, after)
    assert outcome([StepState.SUCCEEDED, StepState.ADOPTED]) == ActionState.SUCCEEDED
    assert outcome([StepState.SUCCEEDED, StepState.FAILED]) == ActionState.PARTLY_SUCCEEDED
    assert outcome([StepState.SKIPPED, StepState.FAILED]) == ActionState.FAILED
    assert outcome([]) == ActionState.FAILED


@pytest.mark.parametrize(
    ("message", "finding"),
    [
        (MESSAGES["invoice_number_taken"], "sync.duplicate"),
        (MESSAGES["unknown_item"].format(code="X-1"), "sku.missing"),
        (MESSAGES["unknown_account"].format(code="999"), "mapping.account_code"),
        (MESSAGES["invalid_tax"].format(tax="GST", account="200"), "mapping.tax_code"),
        (MESSAGES["unknown_tracking"].format(name="Region", option="North"), "mapping.tracking"),
        (MESSAGES["currency_not_enabled"].format(currency="EUR"), "mapping.currency"),
        (MESSAGES["period_locked"].format(lock="31 Mar 2026"), "settings.period_locked"),
        (MESSAGES["invoice_cap"], "plan.limit"),
        (MESSAGES["contact_name_taken"].format(name="Jane Smith"), "contact.name_collision"),
        (MESSAGES["not_editable"], "sync.not_editable"),
        ("Something nobody expected", "sync.failed"),
    ],
)
def test_xero_refusals_map_to_their_findings(message: str, finding: str) -> None:
    error = Rejected(message, system="xero", code="ValidationException", details=(message,))
    reason = reason_for(error, XERO)
    assert (reason.finding, reason.message, reason.code) == (finding, message, "ValidationException")


def test_what_is_retried_and_what_is_not() -> None:
    assert transient(RateLimited("429", system="xero", retry_after=2))
    assert transient(Unavailable("503", system="xero"))
    assert transient(UnexpectedResponse("html", system="xero"))  # the write may or may not have happened
    assert not transient(Rejected("no", system="xero"))
    assert reason_for(TokenRevoked("revoked", system="xero"), XERO).finding == "token.revoked"
    assert reason_for(RateLimited("429", system="xero"), XERO).finding == "rate.limited"


def test_quickbooks_names_the_invoice_that_holds_a_number(demo: DemoEnvironment) -> None:
    checks = demo.services.checks
    acme = checks.get("acme")
    provider = checks.provider_factory(acme)("destination", acme.destination, CallStats())
    try:
        again = Invoice(
            id="x",
            number="INV-1001",  # already there, billed to Ada (20); pushed for Sam (21)
            status=InvoiceStatus.OPEN,
            currency="USD",
            total=Decimal(25),
            contact_id="21",
            lines=(InvoiceLine(item_id="30", quantity=Decimal(1), unit_amount=Decimal(25), amount=Decimal(25)),),
        )
        with pytest.raises(Rejected) as refused:
            provider.push_invoice(again, idempotency_key="test-duplicate")
    finally:
        provider.close()
    side = SideData("destination", acme.destination, None)
    assert refused.value.code == "6140" and reason_for(refused.value, side).finding == "sync.duplicate"
    assert existing_id(refused.value) == "40"


def test_a_plan_round_trips_through_json(demo: DemoEnvironment) -> None:
    plan = demo.services.actions.plan("acme", "resync", {"numbers": "INV-1003,INV-1004,INV-1005,INV-1001"})
    assert Plan.from_json(plan.to_json()) == plan
    assert plan.counts() == {"push": 2, "already_there": 1, "blocked": 1}


def test_the_look_up_costs_a_call_per_number_for_a_few_and_one_listing_for_many(demo: DemoEnvironment) -> None:
    checks = demo.services.checks
    initech = checks.get("initech")
    assert demo.sandbox is not None
    emulator: Any = demo.sandbox.emulators["xero"]
    provider = checks.provider_factory(initech)("destination", initech.destination, CallStats())
    try:
        emulator.log.clear()
        one = DestinationLookup(provider).find(["INI-2001"])
        assert set(one) == {"INI-2001"}
        invoices = [entry for entry in emulator.log if entry[1] == "/api.xro/2.0/Invoices"]
        assert len(invoices) == 1
        emulator.log.clear()
        many = DestinationLookup(provider, find_each_up_to=1)
        assert set(many.find(["INI-2001", "INI-2002", "INI-9999"])) == {"INI-2001", "INI-2002"}
        assert set(many.find(["INI-2002"])) == {"INI-2002"}  # the second look-up reads only a delta
        calls = [headers for method, path, headers in emulator.log if path == "/api.xro/2.0/Invoices"]
        assert len(calls) == 2 and "if-modified-since" not in calls[0] and "if-modified-since" in calls[1]
    finally:
        provider.close()
