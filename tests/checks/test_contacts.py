from __future__ import annotations

from checks.contacts import CONTACTS, acceptable_name, check_contacts, invalid_name_problems
from checks.findings import Severity, blocked_invoices
from providers import rules_for
from providers.base import Capability
from providers.records import Address, Contact, OrgInfo
from tests.checks.contexts import by_code, preloaded_ctx
from tests.checks.records import invoice


def src(id: str, name: str, email: str | None, **kw: object) -> Contact:
    return Contact(id=id, name=name, email=email, **kw)  # type: ignore[arg-type]


def test_healthy_contacts_have_no_findings() -> None:
    jane = src("c1", "Jane Doe", "jane@acme.com")
    bob = src("c2", "Bob Ltd", "bob@bob.com")  # not in Xero yet: the sync creates him
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", contact=jane), invoice("INV-2", contact=bob)], "contacts": [jane, bob]},
        {"contacts": [Contact("x1", "Jane Doe", "jane@acme.com"), Contact("x2", "Other", "other@x.com")]},
    )
    assert CONTACTS(run) == []


def test_missing_email_is_a_source_warning_with_name_matches() -> None:
    nomail = src("c1", "Jane Doe", None)
    other = src("c2", "Globex Pty", "")
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", contact=nomail), invoice("INV-2", contact=other)], "contacts": [nomail, other]},
        {"contacts": [Contact("x1", "Jane Doe", "jane@acme.com"), Contact("x2", "Globex Pty Ltd", "g@globex.com")]},
    )
    found = {f.subject: f for f in by_code(check_contacts(run))["contact.missing_email"]}
    assert found["Jane Doe"].severity is Severity.WARN
    assert found["Jane Doe"].system == "hubspot"
    assert found["Jane Doe"].evidence == {
        "contact": "Jane Doe",
        "contact_id": "c1",
        "destination_matches_by_name": [{"id": "x1", "name": "Jane Doe", "email": "jane@acme.com", "archived": False}],
        "similar_names": [],
    }
    assert found["Globex Pty"].evidence["destination_matches_by_name"] == []
    assert found["Globex Pty"].evidence["similar_names"] == ["Globex Pty Ltd"]


def test_email_mismatch_by_case_and_spaces() -> None:
    jane = src("c1", "Jane Doe", " Jane@Acme.com")
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", contact=jane), invoice("INV-2", contact=jane)], "contacts": [jane]},
        {"contacts": [Contact("x1", "Jane Doe", "jane@acme.com")]},
    )
    [finding] = check_contacts(run)
    assert finding.code == "contact.email_mismatch"
    assert finding.severity is Severity.FAIL
    assert finding.subject == "Jane Doe"
    assert finding.evidence == {
        "contact": "Jane Doe",
        "contact_id": "c1",
        "source_email": " Jane@Acme.com",
        "destination_email": "jane@acme.com",
        "destination_contacts": [{"id": "x1", "name": "Jane Doe", "email": "jane@acme.com", "archived": False}],
        "difference": ["case", "spaces"],
    }
    assert finding.impact.invoices == ("INV-1", "INV-2")


def test_name_mismatch_says_how() -> None:
    a = src("c1", "ACME Pty. Ltd", "a@acme.com")
    b = src("c2", "Wayne Enterprises", "bruce@wayne.com")
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", contact=a), invoice("INV-2", contact=b)], "contacts": [a, b]},
        {"contacts": [Contact("x1", "Acme Pty Ltd", "a@acme.com"), Contact("x2", "Bruce Wayne", "bruce@wayne.com")]},
    )
    found = {f.subject: f for f in check_contacts(run)}
    assert found["ACME Pty. Ltd"].code == "contact.name_mismatch"
    assert found["ACME Pty. Ltd"].evidence == {
        "contact_id": "c1",
        "email": "a@acme.com",
        "source_name": "ACME Pty. Ltd",
        "destination_name": "Acme Pty Ltd",
        "destination_id": "x1",
        "difference": ["case", "punctuation"],
    }
    assert found["Wayne Enterprises"].evidence["difference"] == ["other"]
    assert found["Wayne Enterprises"].severity is Severity.WARN


def test_archived_only_match_and_duplicate_email() -> None:
    gone = src("c1", "Old Co", "old@co.com")
    twin = src("c2", "Twin Co", "twin@co.com")
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", contact=gone), invoice("INV-2", contact=twin)], "contacts": [gone, twin]},
        {
            "contacts": [
                Contact("x1", "Old Co", "old@co.com", archived=True),
                Contact("x2", "Twin Co", "twin@co.com"),
                Contact("x3", "Twin Co (2)", "TWIN@co.com"),
            ]
        },
    )
    found = by_code(check_contacts(run))
    [archived] = found["contact.archived"]
    assert archived.evidence == {
        "contact": "Old Co",
        "contact_id": "c1",
        "email": "old@co.com",
        "destination_contact": {"id": "x1", "name": "Old Co", "email": "old@co.com", "archived": True},
    }
    assert archived.impact.invoices == ("INV-1",)
    [dup] = found["contact.duplicate_email"]
    assert dup.subject == "twin@co.com"
    assert dup.evidence == {
        "email": "twin@co.com",
        "contact": "Twin Co",
        "contact_id": "c2",
        "destination_contacts": [
            {"id": "x2", "name": "Twin Co", "email": "twin@co.com", "archived": False},
            {"id": "x3", "name": "Twin Co (2)", "email": "TWIN@co.com", "archived": False},
        ],
    }
    assert "contact.name_mismatch" not in found  # exact email picks x2, whose name matches


def test_name_collision_with_destination_contact_proposes_distinct_contact() -> None:
    new = src("c1", "Acme Ltd", "billing@acme.com")
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", contact=new)], "contacts": [new]},
        {"contacts": [Contact("x1", "ACME  Ltd", "accounts@acme.com")]},
    )
    [finding] = check_contacts(run)
    assert finding.code == "contact.name_collision"
    assert finding.subject == "Acme Ltd"
    assert finding.evidence == {
        "name": "Acme Ltd",
        "reason": "destination_has_name",
        "source_contacts": [{"id": "c1", "name": "Acme Ltd", "email": "billing@acme.com", "archived": False}],
        "destination_contacts": [{"id": "x1", "name": "ACME  Ltd", "email": "accounts@acme.com", "archived": False}],
        "to_create": ["c1"],
    }
    assert finding.action is not None
    assert finding.action.kind == "create_contact"
    assert dict(finding.action.params) == {
        "name": "Acme Ltd (billing@acme.com)",
        "email": "billing@acme.com",
        "source_id": "c1",
    }


def test_two_source_contacts_sharing_a_name_collide_in_quickbooks_not_in_hubspot() -> None:
    a = src("c1", "John Smith", "john@a.com")
    b = src("c2", "john smith", "john@b.com")
    source = {"invoices": [invoice("INV-1", contact=a), invoice("INV-2", contact=b)], "contacts": [a, b]}
    run = preloaded_ctx(source, {"contacts": []}, systems=("stripe", "quickbooks"))
    [finding] = check_contacts(run)
    assert finding.code == "contact.name_collision"
    assert finding.evidence["reason"] == "source_contacts_share_name"
    assert finding.evidence["to_create"] == ["c1", "c2"]
    assert finding.action is None  # two contacts to create: an admin picks names
    assert finding.impact.invoices == ("INV-1", "INV-2")
    # a destination that does not dedupe by name has nothing to collide with
    assert check_contacts(preloaded_ctx(source, {"contacts": []}, systems=("stripe", "hubspot"))) == []


def test_invalid_name_for_quickbooks() -> None:
    odd = src("c1", "Acme: Sydney", "syd@acme.com")
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", contact=odd)], "contacts": [odd]},
        {"contacts": []},
        systems=("hubspot", "quickbooks"),
    )
    [finding] = check_contacts(run)
    assert finding.code == "contact.invalid_name"
    assert finding.evidence == {
        "contact": "Acme: Sydney",
        "contact_id": "c1",
        "email": "syd@acme.com",
        "problems": ["contains ':'"],
        "max_length": 500,
        "length": 12,
        "suggested_name": "Acme - Sydney",
    }
    assert finding.action is not None and finding.action.params["name"] == "Acme - Sydney"
    assert invalid_name_problems("x" * 256, rules_for("xero")) == ["longer than 255 characters"]
    assert invalid_name_problems("  ", rules_for("xero")) == ["empty"]
    assert acceptable_name("a:b:c", rules_for("quickbooks")) == "a -b -c"


def test_incomplete_address_only_where_quickbooks_us_needs_it() -> None:
    known = src("c1", "Jane Doe", "jane@x.com")
    new = src("c2", "New Co", "new@co.com", address=Address("2 High St", None, None, None, "US"))
    source = {"invoices": [invoice("INV-1", contact=known), invoice("INV-2", contact=new)], "contacts": [known, new]}
    destination = {
        "contacts": [
            Contact("q1", "Jane Doe", "jane@x.com", address=Address("1 Main St", "Springfield", None, None, "US"))
        ],
        "org": OrgInfo("realm-1", "Acme US", country="US"),
    }
    run = preloaded_ctx(source, destination, systems=("hubspot", "quickbooks"))
    found = {f.subject: f for f in by_code(check_contacts(run))["contact.incomplete_address"]}
    assert found["Jane Doe"].evidence == {
        "contact": "Jane Doe",
        "contact_id": "q1",
        "side": "destination",
        "missing": ["postcode"],
        "address": {"line1": "1 Main St", "city": "Springfield", "region": None, "postcode": None, "country": "US"},
    }
    assert found["Jane Doe"].system == "quickbooks"
    assert found["New Co"].evidence["side"] == "source"
    assert found["New Co"].evidence["missing"] == ["city", "postcode"]
    assert found["New Co"].system == "hubspot"
    au = {**destination, "org": OrgInfo("realm-1", "Acme AU", country="AU")}
    assert check_contacts(preloaded_ctx(source, au, systems=("hubspot", "quickbooks"))) == []


def test_contact_from_invoice_when_source_has_no_contacts_capability() -> None:
    inv = invoice("in_1", contact_id="cus_1", contact_name="Jane Doe", contact_email="JANE@acme.com")
    run = preloaded_ctx(
        {"invoices": [inv]}, {"contacts": [Contact("x1", "Jane Doe", "jane@acme.com")]}, systems=("stripe", "xero")
    )
    [finding] = check_contacts(run)
    assert finding.code == "contact.email_mismatch"
    assert finding.evidence["difference"] == ["case"]


def test_destination_without_contacts_still_reports_missing_email() -> None:
    nomail = src("c1", "Jane Doe", None)
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", contact=nomail)], "contacts": [nomail]},
        {"items": []},
        dest_capabilities=frozenset({Capability.ITEMS}),
    )
    [finding] = check_contacts(run)
    assert finding.code == "contact.missing_email"
    assert finding.evidence == {"contact": "Jane Doe", "contact_id": "c1"}


def test_blocked_by_contact_and_sku_counts_once() -> None:
    from checks.skus import check_skus
    from tests.checks.records import item, line

    jane = src("c1", "Jane Doe", "Jane@acme.com")
    run = preloaded_ctx(
        {"invoices": [invoice("INV-1", line("NOPE-1"), contact=jane, total="99.00")], "contacts": [jane]},
        {"contacts": [Contact("x1", "Jane Doe", "jane@acme.com")], "items": [item("PROD-1")]},
    )
    findings = check_contacts(run) + check_skus(run)
    assert {f.code for f in findings} == {"contact.email_mismatch", "sku.missing"}
    summary = blocked_invoices(findings)
    assert summary.invoices == ("INV-1",)
    assert str(summary.amounts["AUD"]) == "99.00"
