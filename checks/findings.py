"""Findings: what a check reports. Severity is an ordered enum, never a parsed string."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum
from typing import Any

from common.money import decimal_text
from providers.records import Invoice


class Severity(IntEnum):
    OK = 0
    WARN = 1
    FAIL = 2
    ERROR = 3  # the check could not run: the provider's own message says why

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, label: str) -> Severity:
        return cls[label.upper()]


@dataclass(frozen=True, slots=True)
class BlockedInvoice:
    number: str
    currency: str
    total: Decimal


@dataclass(frozen=True, slots=True)
class Impact:
    """The invoices a finding blocks; totals per currency are derived from them."""

    blocked: tuple[BlockedInvoice, ...] = ()

    @classmethod
    def of(cls, invoices: Iterable[Invoice]) -> Impact:
        rows: dict[str, BlockedInvoice] = {}
        for inv in invoices:
            key = inv.number or inv.id
            rows.setdefault(key, BlockedInvoice(key, inv.currency, inv.total))
        return cls(blocked=tuple(rows.values()))

    @property
    def invoices(self) -> tuple[str, ...]:
        return tuple(row.number for row in self.blocked)

    @property
    def amounts(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for row in self.blocked:
            totals[row.currency] = totals.get(row.currency, Decimal(0)) + row.total
        return totals

    @property
    def money_weight(self) -> Decimal:
        """A currency-blind magnitude, only for ordering findings of equal severity."""
        return sum((row.total for row in self.blocked), Decimal(0))

    def to_json(self) -> dict[str, Any]:
        return {
            "invoices": list(self.invoices),
            "count": len(self.blocked),
            "amounts": {cur: decimal_text(amount) for cur, amount in sorted(self.amounts.items())},
        }

    def to_storage(self) -> dict[str, Any]:
        return {"rows": [{"number": r.number, "currency": r.currency, "total": str(r.total)} for r in self.blocked]}


@dataclass(frozen=True, slots=True)
class ProposedAction:
    """Something Sync Doctor can do about a finding once an admin approves it."""

    kind: str  # resync | reauthorise | create_item | create_contact
    label: str  # button text, e.g. "Create item PROD-001 in QuickBooks"
    params: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "params": dict(self.params)}


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # a catalog code, e.g. "sku.missing"
    severity: Severity
    subject: str  # the invoice, SKU, contact, setting the finding is about
    evidence: Mapping[str, Any]  # JSON-able exact values; what the remediation template renders
    impact: Impact = Impact()
    system: str | None = None  # which system the problem lives in
    action: ProposedAction | None = None
    status: str = "new"  # new | ongoing (set by checks.compare)

    @property
    def key(self) -> tuple[str, str]:
        """Identity across runs: the same code about the same subject is the same finding."""
        return (self.code, self.subject)

    def sort_key(self) -> tuple[int, Decimal, int, str, str]:
        """Worst first: severity, then money blocked, then invoices blocked."""
        return (-int(self.severity), -self.impact.money_weight, -len(self.impact.invoices), self.code, self.subject)


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per (code, subject) — the same error met by several checks is one problem —
    keeping the worst, in first-seen order."""
    kept: dict[tuple[str, str], Finding] = {}
    for finding in findings:
        current = kept.get(finding.key)
        if current is None or finding.severity > current.severity:
            kept[finding.key] = finding
    return list(kept.values())


def worst_first(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=Finding.sort_key)


def blocked_invoices(findings: Iterable[Finding]) -> Impact:
    """Invoices blocked across failing findings, each counted once ("if any line fails, the
    whole invoice fails": an invoice under two causes is one invoice blocked)."""
    rows: dict[str, BlockedInvoice] = {}
    for finding in findings:
        if finding.severity >= Severity.FAIL:
            for row in finding.impact.blocked:
                rows.setdefault(row.number, row)
    return Impact(blocked=tuple(rows.values()))
