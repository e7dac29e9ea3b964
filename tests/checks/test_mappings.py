from __future__ import annotations

from checks.findings import Severity, blocked_invoices
from checks.mappings import MAPPINGS, check_mappings
from config.integrations import Mappings
from providers.records import (
    Account,
    OrgInfo,
    TaxRate,
    TrackingCategory,
    TrackingOption,
    TrackingRef,
)
from tests.checks.contexts import by_code, preloaded_ctx
from tests.checks.records import invoice, line

CHART = [
    Account("a1", "200", "Sales"),
    Account("a2", "260", "Other Revenue"),
    Account("a3", "210", "Old sales", status="archived"),
]
RATES = [TaxRate("OUTPUT", "GST on Income"), TaxRate("NONE", "No GST"), TaxRate("TAX001", "Old rate", status="deleted")]
TRACKING = [
    TrackingCategory(
        "t1",
        "Region",
        options=(TrackingOption("North"), TrackingOption("South"), TrackingOption("West", status="archived")),
    ),
    TrackingCategory("t2", "Dept", status="archived"),
]
ORG = OrgInfo("org-1", "Acme", base_currency="AUD", currencies=frozenset({"AUD", "USD"}))


def dest(**over: object) -> dict[str, object]:
    data: dict[str, object] = {"accounts": CHART, "tax_rates": RATES, "tracking": TRACKING, "org": ORG}
    data.update(over)
    return data


def test_healthy_mapping_has_no_findings() -> None:
    run = preloaded_ctx(
        {
            "invoices": [
                invoice(
                    "INV-1", line("A", account_code="4000", tax_code="GST", tracking=(TrackingRef("Area", "North"),))
                ),
                invoice("INV-2", line("B", account_code="200", tax_code="OUTPUT"), currency="USD"),
            ]
        },
        dest(),
        systems=("aroflo", "xero"),
        mappings=Mappings(accounts={"4000": "200"}, tax={"GST": "OUTPUT"}, tracking={"Area": "Region"}),
    )
    assert MAPPINGS(run) == []


def test_account_unmapped_unknown_archived() -> None:
    run = preloaded_ctx(
        {
            "invoices": [
                invoice("INV-1", line("A", account_code="4100")),  # no mapping, not in Xero
                invoice(
                    "INV-2", line("A", account_code="4000"), line("B", account_code="4000")
                ),  # mapped to 201: unknown
                invoice("INV-3", line("A", account_code="4200")),  # mapped to 210: archived
            ]
        },
        dest(),
        systems=("aroflo", "xero"),
        mappings=Mappings(accounts={"4000": "201", "4200": "210"}),
    )
    found = {f.subject: f for f in by_code(check_mappings(run))["mapping.account_code"]}
    assert set(found) == {"4100", "201", "210"}
    assert found["4100"].evidence == {
        "code": "4100",
        "source_codes": ["4100"],
        "mapping": [],
        "lines": 1,
        "reason": "unmapped",
        "suggestions": [],
    }
    assert found["201"].evidence == {
        "code": "201",
        "source_codes": ["4000"],
        "mapping": ["accounts"],
        "lines": 2,
        "reason": "unknown",
        "suggestions": ["200"],
    }
    assert found["201"].impact.invoices == ("INV-2",)
    assert found["210"].evidence == {
        "code": "210",
        "source_codes": ["4200"],
        "mapping": ["accounts"],
        "lines": 1,
        "reason": "archived",
        "account_name": "Old sales",
        "status": "archived",
    }
    assert all(f.severity is Severity.FAIL and f.system == "xero" for f in found.values())


def test_hubspot_lines_use_default_account_which_must_exist() -> None:
    invoices = [invoice("INV-1", line(None)), invoice("INV-2", line("SKU-1"))]
    run = preloaded_ctx({"invoices": invoices}, dest(), mappings=Mappings(default_account="205"))
    [finding] = by_code(check_mappings(run))["mapping.account_code"]
    assert finding.subject == "205"
    assert finding.evidence["reason"] == "unknown"
    assert finding.evidence["mapping"] == ["default_account"]
    assert finding.impact.invoices == ("INV-1", "INV-2")

    # no default: a SKU line takes the item's account; a free-text line has none at all
    run = preloaded_ctx({"invoices": invoices}, dest())
    [finding] = by_code(check_mappings(run))["mapping.account_code"]
    assert finding.subject == "(none)"
    assert finding.evidence == {"code": "(none)", "source_codes": [], "mapping": [], "lines": 1, "reason": "missing"}
    assert finding.impact.invoices == ("INV-1",)


def test_quickbooks_accounts_found_by_name() -> None:
    chart = [Account("33", None, "Sales of Product Income")]
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", line(None))]},
        dest(accounts=chart),
        systems=("stripe", "quickbooks"),
        mappings=Mappings(default_account="Sales of Product Income"),
    )
    assert by_code(check_mappings(run)).get("mapping.account_code") is None


def test_tax_codes() -> None:
    run = preloaded_ctx(
        {
            "invoices": [
                invoice("INV-1", line("A", tax_code="GST")),  # mapped to TAX001: deleted
                invoice("INV-2", line("A", tax_code="EXEMPT")),  # not mapped, unknown
                invoice("INV-3", line("A")),  # no code, no default: Xero's default applies
            ]
        },
        dest(),
        mappings=Mappings(tax={"GST": "TAX001"}),
    )
    found = {f.subject: f for f in by_code(check_mappings(run))["mapping.tax_code"]}
    assert found["TAX001"].evidence == {
        "code": "TAX001",
        "source_codes": ["GST"],
        "mapping": ["tax"],
        "lines": 1,
        "reason": "archived",
        "tax_name": "Old rate",
        "status": "deleted",
    }
    assert found["EXEMPT"].evidence["reason"] == "unmapped"
    assert found["EXEMPT"].impact.invoices == ("INV-2",)
    assert set(found) == {"TAX001", "EXEMPT"}


def test_tracking_category_and_option_problems() -> None:
    run = preloaded_ctx(
        {
            "invoices": [
                invoice("INV-1", line("A", tracking=(TrackingRef("Region", "East"),))),  # unknown option
                invoice("INV-2", line("A", tracking=(TrackingRef("Region", "West"),))),  # archived option
                invoice("INV-3", line("A", tracking=(TrackingRef("Dept", "Ops"),))),  # archived category
                invoice(
                    "INV-4",
                    line("A", tracking=(TrackingRef("Job", "J1"),)),
                    line("B", tracking=(TrackingRef("Job", "J2"),)),
                ),
            ]
        },
        dest(),
    )
    found = {f.subject: f for f in by_code(check_mappings(run))["mapping.tracking"]}
    assert set(found) == {"Region: East", "Region: West", "Dept", "Job"}
    assert found["Region: East"].evidence == {
        "category": "Region",
        "source_categories": ["Region"],
        "mapping": [],
        "option": "East",
        "reason": "unknown_option",
        "options": ["North", "South"],
    }
    assert found["Region: West"].evidence["reason"] == "archived_option"
    assert found["Dept"].evidence == {
        "category": "Dept",
        "source_categories": ["Dept"],
        "mapping": [],
        "reason": "archived_category",
        "status": "archived",
        "options_used": ["Ops"],
    }
    # one finding for the category, not one per option
    assert found["Job"].evidence == {
        "category": "Job",
        "source_categories": ["Job"],
        "mapping": [],
        "reason": "unmapped_category",
        "categories": ["Region"],
        "options_used": ["J1", "J2"],
    }
    assert found["Job"].impact.invoices == ("INV-4",)


def test_currency_not_enabled_and_currency_mapping() -> None:
    run = preloaded_ctx(
        {
            "invoices": [
                invoice("INV-1", currency="EUR"),
                invoice("INV-2", currency="usd"),
                invoice("INV-3", currency="eur"),
            ]
        },
        dest(),
        mappings=Mappings(currencies={"usd": "USD"}),
    )
    [finding] = by_code(check_mappings(run))["mapping.currency"]
    assert finding.subject == "EUR"
    assert finding.evidence == {
        "currency": "EUR",
        "source_currencies": ["EUR", "eur"],
        "enabled": ["AUD", "USD"],
        "base_currency": "AUD",
    }
    assert finding.impact.invoices == ("INV-1", "INV-3")


def test_unknown_currency_list_and_missing_capabilities_are_skipped() -> None:
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", line("A", account_code="999", tax_code="X"), currency="EUR")]},
        {"org": OrgInfo("org-1", "Acme", base_currency="AUD")},
        systems=("aroflo", "xero"),
    )
    assert list(check_mappings(run)) == []


def test_two_causes_count_once() -> None:
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", line("A", account_code="999"), currency="EUR", total="300.00")]},
        dest(),
        systems=("aroflo", "xero"),
    )
    findings = list(check_mappings(run))
    assert {f.code for f in findings} == {"mapping.account_code", "mapping.currency"}
    assert blocked_invoices(findings).invoices == ("INV-1",)
    assert sum(len(f.impact.invoices) for f in findings) == 2
