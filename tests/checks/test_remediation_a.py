"""Every template of the connection / token / plan / settings / rate families renders from
evidence shaped as the checks produce it, with provider values escaped."""

from __future__ import annotations

from decimal import Decimal

import pytest

from checks.catalog import CATALOG
from checks.findings import BlockedInvoice, Finding, Impact, ProposedAction
from checks.remediation import render
from tests.checks.remediation_examples_a import EXAMPLES, VARIANTS

FAMILIES = ("connection", "token", "apikey", "plan", "settings", "rate")
MINE = sorted(code for code in CATALOG if code.split(".")[0] in FAMILIES)

REAUTH = {
    "token.expired",
    "token.revoked",
    "token.refresh_failed",
    "token.expiring",
    "token.scope_missing",
    "connection.disconnected",
    "connection.state",
    "connection.wrong_tenant",
}


def finding(code: str, example: dict, *, with_action: bool) -> Finding:
    action = None
    if with_action and code in REAUTH:
        action = ProposedAction("reauthorise", f"Re-authorise {example['system']}", {"system": example["system"]})
    numbers = example["evidence"].get("invoices") or example["evidence"].get("waiting") or []
    numbers = [n["number"] if isinstance(n, dict) else n for n in numbers]
    impact = Impact(tuple(BlockedInvoice(n, "AUD", Decimal("110.00")) for n in numbers))
    return Finding(
        code=code,
        severity=CATALOG[code].severity,
        subject=example["subject"],
        evidence=example["evidence"],
        impact=impact,
        system=example["system"],
        action=action,
    )


def test_every_code_of_these_families_has_an_example():
    assert sorted(EXAMPLES) == MINE


@pytest.mark.parametrize("code", MINE)
@pytest.mark.parametrize("with_action", [True, False])
def test_examples_render_numbered_steps(code, with_action):
    text = render(
        finding(code, EXAMPLES[code], with_action=with_action),
        integration="acme",
        source="hubspot",
        destination=EXAMPLES[code]["system"],
    )
    assert "1. " in text and "2. " in text and "3. " in text
    assert "None" not in text
    if with_action and code in REAUTH:
        assert "Re-authorise" in text


@pytest.mark.parametrize(("code", "example"), VARIANTS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(VARIANTS)])
def test_variants_render(code, example):
    text = render(finding(code, example, with_action=True), integration="acme", source="hubspot", destination="xero")
    assert "1. " in text
    assert "None" not in text


def test_provider_values_are_escaped():
    code, example = VARIANTS[0]
    text = render(finding(code, example, with_action=True), integration="acme", source="hubspot", destination="xero")
    assert "Acme &lt;Plumbing&gt; &amp; Co" in text
    assert "<Plumbing>" not in text


def test_screens_are_named_for_the_system():
    text = render(
        finding("settings.period_locked", EXAMPLES["settings.period_locked"], with_action=False),
        integration="acme",
        source="hubspot",
        destination="xero",
    )
    assert "Accounting → Advanced → Financial settings" in text
    qbo = render(
        finding("plan.feature_missing", EXAMPLES["plan.feature_missing"], with_action=False),
        integration="acme",
        source="hubspot",
        destination="quickbooks",
    )
    assert "Account and settings → Advanced → Currency" in qbo
    assert "CAD, EUR" in qbo
    stripe = render(
        finding("apikey.environment", EXAMPLES["apikey.environment"], with_action=False),
        integration="acme",
        source="stripe",
        destination="xero",
    )
    assert "Developers → API keys" in stripe and "rk_live_" in stripe
