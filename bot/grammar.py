"""``/sync-check`` text -> a frozen Command, from one table.

The table is the grammar: each row has its patterns (literal words, with aliases, and
``{name}`` / ``{number}`` placeholders), a help line and the Command it builds. Patterns are
tried longest first, and among equal lengths the one with more literal words first, so
``acme invoice 1042`` is a trace, not a check of an integration called "acme invoice 1042",
and ``list`` is the list even if an integration were called "list". A pattern may end in
``{numbers}``, which takes every remaining word (one or more invoice numbers). Anything else
is :class:`Usage` with what was not understood; the help text is generated from the same table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

COMMAND = "/sync-check"


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class ListIntegrations:
    pass


@dataclass(frozen=True, slots=True)
class Check:
    integration: str


@dataclass(frozen=True, slots=True)
class Trace:
    integration: str
    number: str


@dataclass(frozen=True, slots=True)
class Resync:
    """Ask for approval to re-sync these invoices (the service refuses more than 500)."""

    integration: str
    numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Audit:
    integration: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Text that matches no row: ``problem`` says what was not understood."""

    text: str
    problem: str


Command = Help | ListIntegrations | Check | Trace | Resync | Audit | Usage

# A literal word and the words accepted in its place.
ALIASES: Mapping[str, frozenset[str]] = {
    "help": frozenset({"help", "?", "-h", "--help", "usage"}),
    "list": frozenset({"list", "ls", "integrations", "all"}),
    "invoice": frozenset({"invoice", "inv", "trace"}),
    "check": frozenset({"check", "run"}),
    "resync": frozenset({"resync", "re-sync", "push", "retry"}),
    "audit": frozenset({"audit", "history"}),
}
PLACEHOLDERS: Mapping[str, re.Pattern[str]] = {
    # integration names: letters, digits, '-' and '_' (config/integrations.py enforces the same)
    "name": re.compile(r"[A-Za-z0-9_-]{1,100}"),
    # invoice numbers vary by system (INV-1042, 1042, in_1Nx..., 2024/17): no spaces, bounded
    "number": re.compile(r"[A-Za-z0-9_./#:-]{1,64}"),
}
REST = "{numbers}"  # as the last token: one or more invoice numbers


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    patterns: tuple[tuple[str, ...], ...]  # the first one is shown in help
    help: str
    build: Callable[[Mapping[str, str]], Command]


TABLE: tuple[Row, ...] = (
    Row("help", (("help",),), "this help", lambda _: Help()),
    Row("list", (("list",),), "every integration and its last known health", lambda _: ListIntegrations()),
    Row(
        "trace",
        (("{name}", "invoice", "{number}"), ("check", "{name}", "invoice", "{number}")),
        "trace one invoice: is it in the source, does the sync push it, what blocks it, is it in the destination",
        lambda v: Trace(v["name"].lower(), v["number"]),
    ),
    Row(
        "resync",
        (("{name}", "resync", REST),),
        "ask an admin to approve re-syncing these invoices (up to 500); the request shows the plan",
        lambda v: Resync(v["name"].lower(), tuple(v["numbers"].split())),
    ),
    Row(
        "audit",
        (("{name}", "audit"),),
        "the audit trail: every action requested, decided and run, and every refused click",
        lambda v: Audit(v["name"].lower()),
    ),
    Row(
        "check",
        (("{name}",), ("check", "{name}")),
        "run every check on one integration: findings worst first, with the steps to fix each",
        lambda v: Check(v["name"].lower()),
    ),
)


def _ordered() -> list[tuple[tuple[str, ...], Row]]:
    pairs = [(pattern, row) for row in TABLE for pattern in row.patterns]

    def literals(p: tuple[str, ...]) -> int:
        return sum(1 for t in p if not t.startswith("{"))

    return sorted(pairs, key=lambda pr: (-len(pr[0]), -literals(pr[0])))


_ORDERED = _ordered()


def _match(pattern: tuple[str, ...], words: list[str]) -> dict[str, str] | None:
    if pattern and pattern[-1] == REST:
        fixed = len(pattern) - 1
        if len(words) <= fixed or not all(PLACEHOLDERS["number"].fullmatch(w) for w in words[fixed:]):
            return None
        values = _match(pattern[:fixed], words[:fixed])
        if values is not None:
            values["numbers"] = " ".join(words[fixed:])
        return values
    if len(pattern) != len(words):
        return None
    values = {}
    for token, word in zip(pattern, words, strict=True):
        if token.startswith("{"):
            name = token[1:-1]
            if not PLACEHOLDERS[name].fullmatch(word):
                return None
            values[name] = word
        elif word.lower() not in ALIASES.get(token, frozenset({token})):
            return None
    return values


def parse(text: str | None) -> Command:
    """The Command for the text after ``/sync-check``."""
    words = (text or "").split()
    if not words:
        return Help()
    for pattern, row in _ORDERED:
        values = _match(pattern, words)
        if values is not None:
            return row.build(values)
    return Usage(text=" ".join(words), problem=_problem(words))


def _problem(words: list[str]) -> str:
    first = words[0]
    if not PLACEHOLDERS["name"].fullmatch(first):
        return f"{first!r} is not an integration name (letters, digits, '-' and '_')"
    if len(words) >= 2 and words[1].lower() in ALIASES["resync"]:
        if len(words) == 2:
            return f"which invoices? add their numbers: {COMMAND} {first} resync INV-1042 INV-1043"
        bad = next(w for w in words[2:] if not PLACEHOLDERS["number"].fullmatch(w))
        return f"{bad!r} does not look like an invoice number"
    if len(words) >= 2 and words[1].lower() in ALIASES["audit"]:
        return f"'audit' takes nothing after it: {COMMAND} {first} audit"
    if len(words) >= 2 and words[1].lower() in ALIASES["invoice"]:
        if len(words) == 2:
            return "an invoice number is missing after 'invoice'"
        if len(words) > 3:
            return "give one invoice number at a time"
        return f"{words[2]!r} does not look like an invoice number"
    return f"'{' '.join(words[1:])}' after the integration name is not understood"


def usage_lines() -> list[tuple[str, str]]:
    """(``/sync-check ...`` form, help text) for every row, in table order."""
    lines = []
    for row in TABLE:
        pattern = row.patterns[0]
        shown = " ".join(
            "NUMBER..." if t == REST else t.upper().strip("{}") if t.startswith("{") else t for t in pattern
        )
        lines.append((f"{COMMAND} {shown}".strip(), row.help))
    return lines


def aliases_text() -> str:
    return "; ".join(
        f"{word}: {', '.join(sorted(others - {word}))}" for word, others in ALIASES.items() if others - {word}
    )


__all__ = [
    "TABLE",
    "Audit",
    "Check",
    "Command",
    "Help",
    "ListIntegrations",
    "Resync",
    "Trace",
    "Usage",
    "parse",
    "usage_lines",
]
