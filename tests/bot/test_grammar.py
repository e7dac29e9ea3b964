"""The /sync-check grammar: one table, longest match first, usage for anything else."""

from __future__ import annotations

import pytest

from bot import grammar
from bot.grammar import Audit, Check, Help, ListIntegrations, Resync, Trace, Usage, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Help()),
        (None, Help()),
        ("   ", Help()),
        ("help", Help()),
        ("HELP", Help()),
        ("?", Help()),
        ("list", ListIntegrations()),
        ("ls", ListIntegrations()),
        ("acme", Check("acme")),
        ("ACME", Check("acme")),
        ("  acme  ", Check("acme")),
        ("check acme", Check("acme")),
        ("acme invoice INV-1042", Trace("acme", "INV-1042")),
        ("acme inv 1042", Trace("acme", "1042")),
        ("acme trace in_1NxYz", Trace("acme", "in_1NxYz")),
        ("check acme invoice 2024/17", Trace("acme", "2024/17")),
        ("globex-nz_2 invoice INV-1", Trace("globex-nz_2", "INV-1")),
        ("acme resync INV-1042", Resync("acme", ("INV-1042",))),
        ("Acme re-sync INV-1 INV-2 INV-1", Resync("acme", ("INV-1", "INV-2", "INV-1"))),  # the plan notes repeats
        ("acme audit", Audit("acme")),
        ("acme history", Audit("acme")),
    ],
)
def test_parses(text: str | None, expected: grammar.Command) -> None:
    assert parse(text) == expected


def test_longest_pattern_wins_over_a_shorter_one() -> None:
    # "acme invoice 1" would be Usage if {name} alone were tried first; it is a trace
    assert isinstance(parse("acme invoice 1"), Trace)
    # literal rows beat placeholders of the same length
    assert parse("list") == ListIntegrations()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("acme invoice", "an invoice number is missing"),
        ("acme invoice 1 2", "one invoice number at a time"),
        ("acme invoice <script>", "does not look like an invoice number"),
        ("acme resync", "which invoices?"),
        ("acme resync INV-1 <b>", "'<b>' does not look like an invoice number"),
        ("acme audit everything", "'audit' takes nothing after it"),
        ("acme frobnicate 1042", "after the integration name is not understood"),
        ("<@U123> hello", "is not an integration name"),
    ],
)
def test_malformed_is_usage_with_the_reason(text: str, problem: str) -> None:
    parsed = parse(text)
    assert isinstance(parsed, Usage)
    assert problem in parsed.problem
    assert parsed.text == " ".join(text.split())


def test_commands_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Check("acme").integration = "other"  # type: ignore[misc]


def test_help_is_generated_from_the_table() -> None:
    lines = grammar.usage_lines()
    assert [form for form, _ in lines] == [
        "/sync-check help",
        "/sync-check list",
        "/sync-check NAME invoice NUMBER",
        "/sync-check NAME resync NUMBER...",
        "/sync-check NAME audit",
        "/sync-check NAME",
    ]
    assert len(lines) == len(grammar.TABLE)
    assert all(text for _, text in lines)
