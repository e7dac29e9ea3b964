"""Block Kit builders: pure dicts within Slack's limits, escaped, no secrets, no buttons yet."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest

from bot.blocks import alerts as alert_blocks
from bot.blocks import help as help_blocks
from bot.blocks.common import (
    FIELD_TEXT,
    HEADER_TEXT,
    MAX_MESSAGE_BLOCKS,
    MAX_VIEW_BLOCKS,
    SECTION_TEXT,
    Message,
    context,
    evidence_lines,
    fields_section,
    header,
    iter_text,
    money_text,
    section,
    truncate,
)
from bot.blocks.home import home_view, list_message
from bot.blocks.results import result_messages, summary_text
from bot.blocks.trace import trace_message
from checks.findings import ProposedAction, Severity
from checks.trace import InvoiceTrace, TraceStep
from reports.alerts import AlertNotice
from sandbox.slack import MESSAGE_BLOCKS, VIEW_BLOCKS, validate_blocks
from service.health import IntegrationHealth
from tests.bot.builders import NOW, blocked, finding, result


def all_text(messages: list[Message]) -> str:
    return "\n".join(t for m in messages for t in iter_text(m.blocks)) + "\n".join(m.text for m in messages)


def assert_valid(message: Message) -> None:
    assert validate_blocks(message.blocks, MESSAGE_BLOCKS) == []
    payload = message.payload()
    assert payload["text"] and len(payload["text"]) <= 4000
    assert not any(b["type"] == "actions" for b in message.blocks), "no buttons without a stored run and the signer"


# -- common ------------------------------------------------------------------------------


def test_truncate_never_splits_an_entity_or_leaves_an_open_code_block() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("a" * 8 + "&amp;bbbb", 12)
    assert len(cut) <= 12 and cut.endswith("…") and "&am" not in cut
    cut = truncate("intro ```" + "x" * 50 + "```", 30)
    assert cut.count("```") % 2 == 0


def test_helpers_enforce_limits() -> None:
    assert len(header("h" * 500)["text"]["text"]) == HEADER_TEXT
    assert len(section("s" * 9000)["text"]["text"]) == SECTION_TEXT
    block = fields_section(["f" * 5000] * 15)
    assert len(block["fields"]) == 10 and all(len(f["text"]) == FIELD_TEXT for f in block["fields"])
    assert len(context(*["c"] * 15)["elements"]) == 10
    assert section("")["text"]["text"] == " "  # Slack refuses empty text objects
    for each in (header("h" * 500), section("s" * 9000), block, context(*["c"] * 15)):
        assert validate_blocks([each], MESSAGE_BLOCKS) == []


def test_evidence_is_escaped_and_secrets_redacted() -> None:
    lines = evidence_lines(
        {
            "contact": "<@channel> Acme & Sons",
            "api_key": "rk_live_abcdefgh12345",
            "message": "Bearer abcdefghijklmnop failed",
            "key_hint": "sk_live_abcdefghijklmn",
            "run_ref": "hidden",
            "invoices": [f"INV-{i}" for i in range(12)],
        }
    )
    text = "\n".join(lines)
    assert "&lt;@channel&gt; Acme &amp; Sons" in text
    assert "rk_live_abcdefgh12345" not in text and "abcdefghijklmnop" not in text
    assert "sk_live_abcdefghijklmn" not in text
    assert "run ref" not in text
    assert "and 7 more" in text


def test_money_is_per_currency_never_summed() -> None:
    assert money_text({"NZD": "1234.5", "AUD": "10"}) == "AUD 10.00, NZD 1,234.50"


# -- results -----------------------------------------------------------------------------


def test_summary_counts_each_blocked_invoice_once_and_says_what_changed() -> None:
    inv = blocked(("INV-1", "NZD", "100.00"), ("INV-2", "NZD", "50.00"))
    r = result(
        [
            finding("sku.missing", "PROD-404", impact=inv, status="new"),
            finding("mapping.account_code", "999", impact=blocked(("INV-1", "NZD", "100.00")), status="ongoing"),
            finding("contact.missing_email", "Ada", Severity.WARN, status="ongoing"),
        ],
        resolved=(("sku.case_mismatch", "prod-001"), ("token.expiring", "xero")),
    )
    text = summary_text(r)
    assert "*2 fail*" in text and "*1 warn*" in text
    assert "2 invoices blocked (NZD 150.00)" in text  # INV-1 under two findings counts once
    assert "Since the last run: 1 new, 2 still open, 2 resolved." in text
    [message] = result_messages(r)
    assert_valid(message)
    assert message.text == "acme: 2 fail, 1 warn; 2 invoices blocked"
    body = all_text([message])
    assert "Resolved since the last run" in body and "prod-001" in body


def test_all_clear() -> None:
    [message] = result_messages(result([]))
    assert_valid(message)
    assert "All checks passed" in all_text([message])
    assert message.text == "acme: all checks passed"
    assert "Since the last run" not in all_text([message])


def test_findings_worst_first_with_evidence_remediation_and_the_action() -> None:
    action = ProposedAction("create_item", "Create item PROD-404 in Xero", {"sku": "PROD-404"})
    findings = [
        finding("sku.missing", "PROD-404", impact=blocked(("INV-9", "NZD", "40")), action=action),
        finding("contact.missing_email", "Ada", Severity.WARN, evidence={"contact": "Ada"}),
    ]
    [message] = result_messages(result(findings))
    assert_valid(message)
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    first = next(i for i, s in enumerate(sections) if "PROD-404" in s and "Item (SKU) missing" in s)
    second = next(i for i, s in enumerate(sections) if "Contact has no email" in s)
    assert first < second
    body = all_text([message])
    assert "1. Fix PROD-404 in *Xero*." in body
    assert "Blocks 1 invoice: INV-9 (NZD 40.00)" in body
    # an unstored result names the fix in words; a stored one gets the button (test_approvals.py)
    assert "Sync Doctor can fix this: _Create item PROD-404 in Xero_" in body


def test_overflow_splits_whole_findings_into_valid_messages() -> None:
    long_steps = "1. " + "step " * 900  # ~4500 characters: cut to the section limit
    findings = [finding("sku.missing", f"PROD-{i:03}", impact=blocked((f"INV-{i}", "NZD", "10"))) for i in range(40)]
    r = result(findings, remediation={f.key: long_steps for f in findings})
    messages = result_messages(r)
    assert len(messages) > 1
    for message in messages:
        assert_valid(message)
        assert len(message.blocks) <= MAX_MESSAGE_BLOCKS
        assert len(json.dumps(message.blocks)) < 40_000
    for number, message in enumerate(messages[1:], start=2):
        assert f"findings continued ({number}/{len(messages)})" in message.blocks[0]["elements"][0]["text"]
    body = all_text(messages)
    for i in range(40):  # every finding shown exactly once
        assert body.count(f"* · `PROD-{i:03}`") == 1


def test_user_and_provider_text_cannot_ping_or_inject() -> None:
    f = finding("contact.name_mismatch", "<!channel> & co", Severity.WARN, evidence={"name": "<https://evil|click>"})
    body = all_text(result_messages(result([f], integration="acme")))
    assert "<!channel>" not in body and "<https://evil|click>" not in body
    assert "&lt;!channel&gt; &amp; co" in body


def test_no_secret_reaches_a_message() -> None:
    f = finding(
        "apikey.invalid",
        "stripe",
        evidence={"message": "Invalid API Key provided: sk_live_abcdef123456", "token": "xoxb-123456-abcdef"},
    )
    body = all_text(result_messages(result([f])))
    assert "sk_live_abcdef123456" not in body and "xoxb-123456-abcdef" not in body


# -- trace -------------------------------------------------------------------------------


def make_trace(**kw: Any) -> InvoiceTrace:
    base: dict[str, Any] = {
        "integration": "globex",
        "number": "INV-2001",
        "source": "HubSpot",
        "destination": "Xero",
        "found": True,
        "in_scope": True,
        "copies": (),
        "blocking": ({"code": "sku.missing", "subject": "PROD-404", "severity": "fail"},),
        "steps": (
            TraceStep("Found in HubSpot", True, "INV-2001: open, NZD 40.00, Ada <Lovelace>"),
            TraceStep("Status filter", True, "open is synced (open, paid)"),
            TraceStep("Item (SKU) missing in the destination", False, "no item PROD-404", code="sku.missing"),
            TraceStep("In Xero", False, "not found by number or reference"),
        ),
        "verdict": "INV-2001 is not in Xero because no item PROD-404.",
    }
    base.update(kw)
    return InvoiceTrace(**base)


def test_trace_message_has_verdict_checklist_and_fix() -> None:
    f = finding("sku.missing", "PROD-404", impact=blocked(("INV-2001", "NZD", "40")))
    message = trace_message(make_trace(), result([f], integration="globex"))
    assert_valid(message)
    body = all_text([message])
    assert ":red_circle: INV-2001 is not in Xero because no item PROD-404." in body
    assert ":white_check_mark: *Found in HubSpot*" in body and ":x: *In Xero*" in body
    assert "Ada &lt;Lovelace&gt;" in body
    assert "How to fix: Item (SKU) missing" in body and "1. Fix PROD-404" in body
    assert message.text.startswith("globex invoice INV-2001: ")


def test_trace_with_many_long_steps_stays_valid() -> None:
    steps = tuple(TraceStep(f"Step {i}", None, "d" * 2500) for i in range(30))
    message = trace_message(make_trace(steps=steps, blocking=(), suggestions=("INV-2002", "INV-2010")), result([]))
    assert_valid(message)
    assert "Closest numbers" in all_text([message])


# -- home --------------------------------------------------------------------------------


def health(name: str, fail: int = 0, warn: int = 0, **kw: Any) -> IntegrationHealth:
    base: dict[str, Any] = {
        "name": name,
        "source": "hubspot",
        "destination": "xero",
        "last_run_at": NOW - timedelta(hours=2),
        "fail": fail,
        "warn": warn,
        "error": 0,
        "blocked_invoices": 0,
        "blocked_amounts": {},
        "oldest_unsynced_days": None,
        "token_expires_at": None,
    }
    base.update(kw)
    return IntegrationHealth(**base)


def test_home_view_failing_first_with_every_fact() -> None:
    view = home_view(
        [
            health("acme"),
            health(
                "globex",
                fail=2,
                warn=1,
                blocked_invoices=3,
                blocked_amounts={"NZD": "120.00"},
                oldest_unsynced_days=9,
                token_expires_at=NOW + timedelta(days=5),
            ),
            health("initech", last_run_at=None),
        ],
        now=NOW,
    )
    assert view["type"] == "home"
    assert validate_blocks(view["blocks"], VIEW_BLOCKS) == []
    sections = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"][1:]
    assert sections[0].startswith(":red_circle: *globex*")
    assert "2 fail, 1 warn" in sections[0] and "3 invoices blocked (NZD 120.00)" in sections[0]
    assert "oldest unsynced invoice 9 days old" in sections[0] and ":warning:" in sections[0]
    assert "checked 2 h ago" in sections[0]
    assert sections[1].startswith(":white_circle: *initech*") and "checked never" in sections[1]
    assert sections[2].startswith(":large_green_circle: *acme*")


def test_home_view_and_list_stay_within_block_limits() -> None:
    many = [health(f"org{i:03}", fail=i % 2) for i in range(150)]
    view = home_view(many, now=NOW)
    assert len(view["blocks"]) == MAX_VIEW_BLOCKS
    assert validate_blocks(view["blocks"], VIEW_BLOCKS) == []
    assert "150 integrations in all" in json.dumps(view["blocks"][-1])
    message = list_message(many, now=NOW)
    assert_valid(message)
    assert len(message.blocks) == MAX_MESSAGE_BLOCKS


# -- help --------------------------------------------------------------------------------


def test_help_and_usage_messages() -> None:
    message = help_blocks.help_message(integrations=["acme", "globex"])
    assert_valid(message)
    body = all_text([message])
    for form in ("/sync-check list", "/sync-check NAME invoice NUMBER", "/sync-check NAME"):
        assert f"`{form}`" in body
    assert "`acme`" in body
    usage = help_blocks.help_message(problem="an invoice number is missing", text="acme invoice <b>")
    assert_valid(usage)
    assert "I did not understand `acme invoice &lt;b&gt;`: an invoice number is missing." in all_text([usage])


def test_unknown_integration_suggests_names() -> None:
    message = help_blocks.unknown_integration("acmee", ["acme", "acme-nz"])
    assert_valid(message)
    assert message.text == "No integration named acmee. Did you mean acme or acme-nz?"
    assert help_blocks.unknown_integration("zzz", []).text == "No integration named zzz."


def test_crash_message_quotes_the_ref() -> None:
    message = help_blocks.crashed("deadbeef", "checking acme")
    assert_valid(message)
    assert "`deadbeef`" in all_text([message]) and "checking acme" in all_text([message])


# -- alerts ------------------------------------------------------------------------------


def notice(**kw: Any) -> AlertNotice:
    base: dict[str, Any] = {
        "alert_id": 1,
        "integration": "globex",
        "source": "hubspot",
        "destination": "xero",
        "code": "sku.missing",
        "title": "Item (SKU) missing in the destination",
        "severity": Severity.FAIL,
        "subjects": ("PROD-404",),
        "blocked_invoices": 1,
        "blocked_amounts": {"NZD": "40.00"},
        "remediation": "1. Create *PROD-404*.",
        "run_ref": "r1",
        "channel": "C1",
        "opened_at": NOW,
        "evidence": {"sku": "PROD-404"},
    }
    base.update(kw)
    return AlertNotice(**base)


def test_alert_messages() -> None:
    opened = alert_blocks.opened_message(notice())
    assert_valid(opened)
    body = all_text([opened])
    assert "*globex* started failing: *Item (SKU) missing in the destination*" in body
    assert "Blocks 1 invoice (NZD 40.00)" in body and "1. Create *PROD-404*." in body
    grew = alert_blocks.grew_message(notice(blocked_invoices=3, previous_blocked=1))
    assert_valid(grew)
    assert "now blocks 3 invoices (was 1)" in all_text([grew])
    done = notice(resolved_at=NOW + timedelta(hours=3))
    edited = alert_blocks.resolved_message(done)
    assert_valid(edited)
    assert "~Item (SKU) missing in the destination~ — *resolved* 2026-05-20 12:30 UTC" in all_text([edited])
    reply = alert_blocks.resolved_reply(done)
    assert "3 hours after this alert was posted" in all_text([reply])


@pytest.mark.parametrize("subjects", [tuple(f"S{i}" * 100 for i in range(30))])
def test_alert_with_many_long_subjects_is_valid(subjects: tuple[str, ...]) -> None:
    assert_valid(alert_blocks.opened_message(notice(subjects=subjects, remediation="x" * 9000)))


def test_the_middleware_side_shows_in_the_results_and_the_trace() -> None:
    run = dataclasses.replace(
        result([finding("middleware.disabled", "AroFlo <invoices> to Xero", system="make")]),
        source="aroflo",
        middleware="make",
        middleware_note="Make scenario 'AroFlo <invoices> to Xero': switched off after repeated errors",
    )
    [message] = result_messages(run)
    validate_blocks(message.blocks, MESSAGE_BLOCKS)
    assert message.blocks[0]["text"]["text"] == "acme: AroFlo → Make → Xero"
    note = json.dumps(message.blocks, ensure_ascii=False)
    assert "Make scenario 'AroFlo &lt;invoices&gt; to Xero': switched off after repeated errors" in note
    assert "`middleware.disabled` · Make" in note
    trace = InvoiceTrace(
        "acme", "1043", "AroFlo", "Xero", True, True, (), (), (TraceStep("Found in AroFlo", True, "1043"),), "v"
    )
    assert "AroFlo → Make → Xero · run `abc12345`" in json.dumps(trace_message(trace, run).blocks, ensure_ascii=False)
