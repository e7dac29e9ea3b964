from __future__ import annotations

from decimal import Decimal

from checks.findings import Severity, blocked_invoices
from checks.skus import SKUS, check_skus
from config.integrations import Mappings, SyncSettings
from providers.base import Capability
from providers.records import InvoiceLine, InvoiceStatus
from tests.checks.contexts import by_code, preloaded_ctx
from tests.checks.records import invoice, item, line


def test_healthy_catalogue_has_no_findings() -> None:
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", line("PROD-001"), line("PROD-002")), invoice("INV-2", line(None))]},
        {"items": [item("PROD-001"), item("PROD-002"), item("OTHER", active=False)]},
    )
    assert SKUS(run) == []


def test_missing_sku_suggests_closest_and_proposes_create_item() -> None:
    run = preloaded_ctx(
        {
            "invoices": [
                invoice("INV-1", line("PROD-0O1", "25.50", description="Blue widget")),
                invoice("INV-2", line("PROD-0O1", "25.50")),
            ]
        },
        {"items": [item("PROD-001"), item("PROD-002"), item("GADGET-7")]},
        mappings=Mappings(default_account="200", default_tax="OUTPUT"),
    )
    [finding] = check_skus(run)
    assert finding.code == "sku.missing"
    assert finding.severity is Severity.FAIL
    assert finding.subject == "PROD-0O1"
    assert finding.system == "xero"
    assert finding.evidence == {"sku": "PROD-0O1", "suggestions": ["PROD-001"], "lines": 2}
    assert finding.impact.invoices == ("INV-1", "INV-2")
    assert finding.action is not None
    assert finding.action.kind == "create_item"
    assert dict(finding.action.params) == {
        "sku": "PROD-0O1",
        "name": "Blue widget",
        "price": "25.50",
        "account_code": "200",
        "tax_code": "OUTPUT",
    }


def test_missing_sku_uses_source_catalogue_item_for_name_price_and_code() -> None:
    source_item = item("HS-42", "Consulting hour", id="p-42", unit_price=Decimal(150))
    run = preloaded_ctx(
        {
            "invoices": [invoice("INV-9", InvoiceLine(item_id="p-42", amount=Decimal(150), unit_amount=Decimal(150)))],
            "items": [source_item],
        },
        {"items": [item("PROD-001")]},
    )
    [finding] = check_skus(run)
    assert finding.subject == "HS-42"
    assert finding.evidence["source_item"] == {"id": "p-42", "name": "Consulting hour"}
    assert finding.evidence["suggestions"] == []
    assert finding.action is not None
    assert dict(finding.action.params) == {"sku": "HS-42", "name": "Consulting hour", "price": "150"}


def test_no_create_item_when_destination_cannot_create_or_code_too_long() -> None:
    long_code = "X" * 31  # Xero Item.Code <= 30
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", line(long_code))]},
        {"items": [item("PROD-001")]},
    )
    [finding] = check_skus(run)
    assert finding.evidence["code_limit"] == 30
    assert finding.action is None
    read_only = preloaded_ctx(
        {"invoices": [invoice("INV-1", line("NEW-1"))]},
        {"items": [item("PROD-001")]},
        dest_capabilities=frozenset({Capability.ITEMS}),
    )
    [finding] = check_skus(read_only)
    assert finding.action is None


def test_case_mismatch_archived_and_ambiguous() -> None:
    run = preloaded_ctx(
        {
            "invoices": [
                invoice("INV-1", line("prod-001")),
                invoice("INV-2", line("OLD-1")),
                invoice("INV-3", line("DUP-1")),
                invoice("INV-4", line("mix-1")),
            ]
        },
        {
            "items": [
                item("PROD-001", "Widget", id="i1"),
                item("OLD-1", "Old thing", active=False, id="i2"),
                item("DUP-1", "Dup A", id="i3"),
                item("DUP-1", "Dup B", id="i4"),
                item("MIX-1", "Mix A", id="i5"),
                item("Mix-1", "Mix B", id="i6"),
            ]
        },
    )
    found = by_code(check_skus(run))
    [case] = found["sku.case_mismatch"]
    assert case.subject == "prod-001"
    assert case.evidence == {
        "sku": "prod-001",
        "destination_code": "PROD-001",
        "item": {"id": "i1", "code": "PROD-001", "name": "Widget", "active": True},
        "difference": ["case"],
        "lines": 1,
    }
    assert case.impact.invoices == ("INV-1",)
    [archived] = found["sku.archived"]
    assert archived.evidence == {
        "sku": "OLD-1",
        "item": {"id": "i2", "code": "OLD-1", "name": "Old thing", "active": False},
        "lines": 1,
    }
    ambiguous = {f.subject: f for f in found["sku.ambiguous"]}
    assert ambiguous["DUP-1"].evidence == {
        "sku": "DUP-1",
        "reason": "same_code",
        "items": [
            {"id": "i3", "code": "DUP-1", "name": "Dup A", "active": True},
            {"id": "i4", "code": "DUP-1", "name": "Dup B", "active": True},
        ],
        "lines": 1,
    }
    assert ambiguous["mix-1"].evidence["reason"] == "case_variants"
    assert [i["id"] for i in ambiguous["mix-1"].evidence["items"]] == ["i5", "i6"]
    assert all(f.action is None for f in found["sku.case_mismatch"] + found["sku.archived"] + found["sku.ambiguous"])


def test_trailing_space_is_reported_as_spaces() -> None:
    run = preloaded_ctx({"invoices": [invoice("INV-1", line("PROD-001 "))]}, {"items": [item("PROD-001", id="i1")]})
    [finding] = check_skus(run)
    assert finding.code == "sku.case_mismatch"
    assert finding.evidence["difference"] == ["spaces"]


def test_one_finding_per_sku_not_per_line_and_only_in_scope_invoices() -> None:
    lines = [line("GONE-1") for _ in range(5)]
    run = preloaded_ctx(
        {
            "invoices": [
                invoice("INV-1", *lines),
                invoice("INV-2", line("GONE-1")),
                invoice("DRAFT-1", line("GONE-2"), status=InvoiceStatus.DRAFT),  # excluded by the status filter
            ]
        },
        {"items": [item("PROD-001")]},
        settings=SyncSettings(statuses=("open", "paid")),
    )
    [finding] = check_skus(run)
    assert finding.subject == "GONE-1"
    assert finding.evidence["lines"] == 6
    assert finding.impact.invoices == ("INV-1", "INV-2")


def test_destination_without_items_is_skipped() -> None:
    run = preloaded_ctx({"invoices": [invoice("INV-1", line("PROD-001"))]}, {"invoices": []})
    assert check_skus(run) == []


def test_invoice_blocked_by_two_skus_counts_once_in_summary() -> None:
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", line("A-1", "10.00"), line("B-1", "5.00"))]},
        {"items": [item("PROD-001")]},
    )
    findings = check_skus(run)
    assert sorted(f.subject for f in findings) == ["A-1", "B-1"]
    assert all(f.impact.invoices == ("INV-1",) for f in findings)
    summary = blocked_invoices(findings)
    assert summary.invoices == ("INV-1",)
    assert summary.amounts == {"AUD": Decimal("15.00")}
