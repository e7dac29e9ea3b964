"""Every catalog code has a template, and it renders from representative evidence."""

from __future__ import annotations

from decimal import Decimal

import pytest

from checks.catalog import CATALOG
from checks.findings import BlockedInvoice, Finding, Impact, ProposedAction
from checks.remediation import TEMPLATE_DIR, render
from tests.checks.remediation_examples_a import EXAMPLES as EXAMPLES_A
from tests.checks.remediation_examples_b import EXAMPLES as EXAMPLES_B

INTERNAL = {
    "internal.check_failed": {
        "subject": "check:skus",
        "system": "xero",
        "evidence": {"check": "skus", "error_type": "KeyError", "run_ref": "a1b2c3d4"},
    },
    "internal.check_timeout": {
        "subject": "check:skus",
        "system": "xero",
        "evidence": {"check": "skus", "limit_s": 60, "run_ref": "a1b2c3d4"},
    },
}
EXAMPLES = {**EXAMPLES_A, **EXAMPLES_B, **INTERNAL}
IMPACT = Impact(blocked=(BlockedInvoice("INV-1042", "NZD", Decimal("1150.00")),))


def test_every_code_has_a_template_and_an_example() -> None:
    templates = {p.name.removesuffix(".md.j2") for p in (TEMPLATE_DIR / "remediation").glob("*.md.j2")}
    assert set(CATALOG) - templates == set(), "codes without a template"
    assert templates - set(CATALOG) == set(), "templates for codes not in the catalog"
    assert set(CATALOG) - set(EXAMPLES) == set(), "codes without representative evidence"


@pytest.mark.parametrize("code", sorted(CATALOG))
@pytest.mark.parametrize("destination", ["xero", "quickbooks"])
def test_template_renders_numbered_steps(code: str, destination: str) -> None:
    example = EXAMPLES[code]
    entry = CATALOG[code]
    for action in (None, ProposedAction("resync", "Re-sync INV-1042", {"numbers": "INV-1042"})):
        finding = Finding(
            code=code,
            severity=entry.severity,
            subject=example["subject"],
            evidence=example["evidence"],
            impact=IMPACT,
            system=example.get("system"),
            action=action,
        )
        text = render(finding, integration="acme", source="hubspot", destination=destination)
        assert "1." in text, text
        assert "{{" not in text and "}}" not in text
        assert "None" not in text.replace("None of", ""), text
