"""Every remediation template renders from findings the checks really produce.

The findings come from the scenarios of ``tests/checks/access_findings.py`` and
``tests/checks/data_findings.py``: real checks run on real records, so when a check changes its
evidence these tests render the templates from the new evidence. They fail when a catalog code
has no template (or a template no code), when no scenario produces a code, when a template reads
an evidence key that no producer of its code emits (the template drifted from its check), and
when a template cannot render a produced finding (``StrictUndefined``: a key the finding lacks).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

import pytest
from jinja2 import nodes

from checks.catalog import CATALOG
from checks.findings import Finding
from checks.remediation import TEMPLATE_DIR, environment, render, template_name
from common.mrkdwn import escape
from tests.checks.access_findings import ACCESS
from tests.checks.data_findings import DATA
from tests.checks.middle_findings import MIDDLE
from tests.checks.produced_findings import Produced
from tests.checks.zoho_myob_findings import ZOHO_MYOB

SCENARIOS = {**ACCESS.scenarios, **DATA.scenarios, **ZOHO_MYOB.scenarios, **MIDDLE.scenarios}
TEMPLATES = {path.name.removesuffix(".md.j2") for path in (TEMPLATE_DIR / "remediation").glob("*.md.j2")}


@cache
def produced(name: str) -> Produced:
    return SCENARIOS[name]()


def every_finding() -> Iterator[tuple[str, Finding]]:
    for name in SCENARIOS:
        for finding in produced(name).findings:
            yield name, finding


def text_of(name: str, finding: Finding) -> str:
    """The remediation as a run renders it: with the integration's own systems."""
    integration = produced(name).integration
    return render(
        finding,
        integration=integration.name,
        source=integration.source.system,
        destination=integration.destination.system,
    )


def rendered(name: str, code: str, subject: str | None = None) -> str:
    [finding] = [f for f in produced(name).findings if f.code == code and subject in (None, f.subject)]
    return text_of(name, finding)


def template_ast(code: str) -> nodes.Template:
    env = environment()
    source, _, _ = env.loader.get_source(env, template_name(code))  # type: ignore[union-attr]
    return env.parse(source)


def _is_ev(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Name) and node.name == "ev"


def evidence_keys_read(code: str) -> set[str]:
    """Every key of ``ev`` the template reads: ``ev.key``, ``ev["key"]`` and ``ev.get("key")``."""
    keys: set[str] = set()
    ast = template_ast(code)
    for attr in ast.find_all(nodes.Getattr):
        if _is_ev(attr.node) and attr.attr != "get":
            keys.add(attr.attr)
    for item in ast.find_all(nodes.Getitem):
        if _is_ev(item.node) and isinstance(item.arg, nodes.Const):
            keys.add(item.arg.value)
    for call in ast.find_all(nodes.Call):
        method = call.node
        if isinstance(method, nodes.Getattr) and method.attr == "get" and _is_ev(method.node):
            if call.args and isinstance(call.args[0], nodes.Const):
                keys.add(call.args[0].value)
    return keys


def shows_the_action(code: str) -> bool:
    return any(name.name == "action" for name in template_ast(code).find_all(nodes.Name))


def test_scenario_names_are_unique() -> None:
    assert set(ACCESS.scenarios) & set(DATA.scenarios) == set()
    assert (set(ACCESS.scenarios) | set(DATA.scenarios)) & set(MIDDLE.scenarios) == set()


def test_every_catalog_code_has_a_template_and_every_template_a_code() -> None:
    assert set(CATALOG) - TEMPLATES == set(), "codes without a template"
    assert TEMPLATES - set(CATALOG) == set(), "templates for codes not in the catalog"


def test_every_code_is_produced_by_a_scenario() -> None:
    codes = {finding.code for _, finding in every_finding()}
    assert set(CATALOG) - codes == set(), "codes no scenario produces"
    assert codes <= set(CATALOG)


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_every_evidence_key_a_template_reads_is_produced(code: str) -> None:
    emitted = {key for _, finding in every_finding() if finding.code == code for key in finding.evidence}
    assert evidence_keys_read(code) - emitted == set(), "keys the template reads that no check emits"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_scenario_renders_numbered_escaped_steps(name: str) -> None:
    findings = produced(name).findings
    assert findings, "the scenario produced nothing"
    for finding in findings:
        text = text_of(name, finding)
        assert re.search(r"^1\. ", text, re.MULTILINE), (finding.code, text)
        assert "{{" not in text and "{%" not in text
        assert "None" not in text.replace("None of", ""), (finding.code, text)
        # Only &, < and > are mrkdwn control characters: provider values must arrive escaped.
        assert "<" not in text and ">" not in text, (finding.code, text)
        if finding.action is not None and shows_the_action(finding.code):
            assert escape(finding.action.label) in text, (finding.code, text)


def test_screens_are_named_for_each_system() -> None:
    assert "Accounting → Advanced → Financial settings" in rendered("xero_period_locked", "settings.period_locked")
    currency = rendered("quickbooks_plan_without_multicurrency", "plan.feature_missing")
    assert "Account and settings → Advanced → Currency" in currency and "CAD, EUR" in currency
    assert "in the live mode" in rendered("stripe_key_rolled", "apikey.invalid")
    assert "in the test mode" in rendered("stripe_test_mode_key_deleted", "apikey.invalid")
    key = rendered("stripe_test_key_on_a_live_integration", "apikey.environment")
    assert "Developers → API keys" in key and "sk_test_" in key
    missing = rendered("hubspot_skus_against_quickbooks_items", "sku.missing")
    assert "did you mean `PROD-001`?" in missing
    assert "Sales → Products and services" in missing and "Commerce → Products" in missing
    cased = rendered("xero_items_archived_or_cased_differently", "sku.case_mismatch")
    assert "Business → Products and services" in cased
    account = rendered("aroflo_codes_mapped_to_what_xero_lacks", "mapping.account_code", "201")
    assert "Accounting → Chart of accounts" in account and "`200`" in account


def test_differences_are_spelled_out() -> None:
    drift = rendered("hubspot_and_xero_out_of_step", "sync.drift", "L1")
    assert "line amounts: HubSpot `50.00, 60.00`, Xero `40.00, 60.00`" in drift


def test_provider_values_are_escaped() -> None:
    archived = rendered("aroflo_codes_mapped_to_what_xero_lacks", "mapping.account_code", "210")
    assert "Old &lt;sales&gt; &amp; co" in archived
    gone = rendered("xero_organisation_disconnected_from_its_side", "connection.disconnected")
    assert "Acme &lt;Plumbing&gt; &amp; Co" in gone
    affected = rendered("aroflo_codes_mapped_to_what_xero_lacks", "mapping.account_code", "4100")
    assert "INV-&lt;2&gt;" in affected


def test_zoho_books_and_myob_screens_are_their_own() -> None:
    quota = rendered("zoho_daily_quota_nearly_spent", "rate.limited")
    assert "Settings → Developer & Data → API Usage" in quota and "only 40 calls are left today of 1000" in quota
    throttled = rendered("myob_throttles_with_403", "rate.limited")
    assert "403 Forbidden (RateLimitError), not 429" in throttled
    locked = rendered("myob_period_locked", "settings.period_locked")
    assert "Setup → Preferences → Security" in locked
    assert "Accountant → Transaction Locking" in rendered("zoho_transactions_locked", "settings.period_locked")
    currency = rendered("myob_essentials_without_multicurrency", "plan.feature_missing")
    assert "Setup → Preferences → System" in currency and "USD" in currency
    cased = rendered("myob_item_number_differs_in_case", "sku.case_mismatch")
    assert "Inventory → Items List" in cased and "Item Number" in cased
    assert "Setup → User Access" in rendered("myob_company_file_sign_in_refused", "token.tenant_login")
    assert "--company-file-user" in rendered("myob_company_file_sign_in_refused", "token.tenant_login")
    limited = rendered("zoho_refresh_limit_hit", "token.refresh_limited")
    assert "ten access tokens in ten minutes" in limited and "after 10 minutes" in limited
    assert "Settings → Reporting Tags" in rendered("zoho_codes_the_books_lack", "mapping.tracking", "Region: East")
    assert "Settings → Taxes" in rendered("zoho_codes_the_books_lack", "mapping.tax_code")
    assert "Settings → Currencies" in rendered("zoho_codes_the_books_lack", "mapping.currency")
    assert "switch category tracking on" in rendered("myob_category_tracking_off", "mapping.tracking")
    assert "MYOB_CLIENT_ID" in rendered("myob_api_key_inactive", "token.revoked")
