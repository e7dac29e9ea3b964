"""Settings checks: the integration's own sync settings, and the destination's lock date.

The sync settings (``settings:`` in the integrations file) mirror what sync products expose:
enabled, auto-sync of sales, direction, invoice status filter, date range, skip-source list.
Each exclusion is counted and listed from the source's real invoices through
:mod:`checks.scope` ("12 draft invoices are excluded: only open, paid are selected"), so a
support person sees which invoices a setting keeps out, not just that it exists.

``settings.period_locked``: an in-scope invoice not yet in the destination, dated on or before
the destination's lock date (Xero period lock date, QuickBooks' closing date), is refused
("The document date cannot be before the period lock date", PROVIDERS.md §1 Error envelopes).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from checks.base import Check
from checks.catalog import entry
from checks.context import RunContext
from checks.findings import Finding, Impact
from checks.scope import Scope, source_scope
from providers.base import Capability
from providers.records import Invoice

logger = logging.getLogger(__name__)

MAX_LISTED = 20  # invoice numbers listed in evidence; the impact keeps them all
PUSHING = ("source_to_destination", "both")


def _key(value: str | None) -> str:
    return (value or "").strip().casefold()


def not_in_destination(ctx: RunContext, invoices: Iterable[Invoice]) -> list[Invoice]:
    """The source ``invoices`` with no counterpart in the destination yet: same number, or a
    destination reference naming the source number or id (how syncs record their origin).
    When the destination cannot list invoices, none can be shown to have landed."""
    pending = list(invoices)
    if not ctx.destination.supports(Capability.INVOICES):
        return pending
    landed: set[str] = set()
    for inv in ctx.destination.invoices():
        landed.update(k for k in (_key(inv.number), _key(inv.reference)) if k)
    return [inv for inv in pending if not ({_key(inv.number), _key(inv.id)} - {""}) & landed]


def _numbers(invoices: Sequence[Invoice]) -> list[str]:
    return [inv.number or inv.id for inv in invoices[:MAX_LISTED]]


def _settings_finding(
    ctx: RunContext, code: str, subject: str, evidence: Mapping[str, Any], invoices: Sequence[Invoice]
) -> Finding:
    return Finding(
        code=code,
        severity=entry(code).severity,
        subject=subject,
        evidence={**evidence, "count": len(invoices), "invoices": _numbers(invoices)},
        impact=Impact.of(invoices),
        system=ctx.integration.source.system,
    )


def switch_findings(ctx: RunContext, pending: Sequence[Invoice]) -> Iterator[Finding]:
    """Sync switched off, auto-sync of sales off, or a direction that never pushes these."""
    settings = ctx.integration.settings
    if not settings.enabled:
        yield _settings_finding(
            ctx, "settings.sync_disabled", "enabled", {"setting": "enabled", "value": False}, pending
        )
    elif not settings.auto_sync_sales:
        yield _settings_finding(
            ctx, "settings.sync_disabled", "auto_sync.sales", {"setting": "auto_sync.sales", "value": False}, pending
        )
    if settings.direction not in PUSHING:
        yield _settings_finding(
            ctx,
            "settings.direction",
            "direction",
            {"direction": settings.direction, "needed": "source_to_destination"},
            pending,
        )


def _grouped(groups: Mapping[str, list[Invoice]]) -> dict[str, int]:
    return {name: len(invs) for name, invs in sorted(groups.items())}


def filter_findings(ctx: RunContext, scope: Scope) -> Iterator[Finding]:
    """Source invoices the status filter, date range or skip-source list keep out."""
    settings = ctx.integration.settings
    if scope.by_status:
        excluded = [inv for status in sorted(scope.by_status) for inv in scope.by_status[status]]
        yield _settings_finding(
            ctx,
            "settings.status_filter",
            "statuses",
            {"selected": list(settings.statuses), "excluded": _grouped(scope.by_status)},
            excluded,
        )
    if scope.before_since or scope.after_until:
        outside = [*scope.before_since, *scope.after_until]
        yield _settings_finding(
            ctx,
            "settings.date_filter",
            "date_range",
            {
                "since": settings.since.isoformat() if settings.since else None,
                "until": settings.until.isoformat() if settings.until else None,
                "before_since": len(scope.before_since),
                "after_until": len(scope.after_until),
            },
            outside,
        )
    if scope.skipped_source:
        skipped = [inv for src in sorted(scope.skipped_source) for inv in scope.skipped_source[src]]
        yield _settings_finding(
            ctx,
            "settings.skipped_source",
            "skip_sources",
            {"skip_sources": list(settings.skip_sources), "excluded": _grouped(scope.skipped_source)},
            skipped,
        )


def lock_finding(ctx: RunContext, pending: Sequence[Invoice]) -> Finding | None:
    """In-scope invoices not yet in the destination, dated inside its locked period."""
    dest = ctx.destination
    if not dest.supports(Capability.ORG):
        return None
    org = dest.org()
    if org.lock_date is None:
        return None
    locked = sorted(
        (inv for inv in pending if inv.issue_date is not None and inv.issue_date <= org.lock_date),
        key=lambda inv: (inv.issue_date, inv.number or inv.id),
    )
    if not locked:
        return None
    return Finding(
        code="settings.period_locked",
        severity=entry("settings.period_locked").severity,
        subject="lock_date",
        evidence={
            "system": dest.system,
            "organisation": org.name,
            "lock_date": org.lock_date.isoformat(),
            "count": len(locked),
            "invoices": [
                {"number": inv.number or inv.id, "issue_date": inv.issue_date.isoformat() if inv.issue_date else None}
                for inv in locked[:MAX_LISTED]
            ],
            "earliest": locked[0].issue_date.isoformat() if locked[0].issue_date else None,
        },
        impact=Impact.of(locked),
        system=dest.system,
    )


def check_settings(ctx: RunContext) -> Iterator[Finding]:
    """Sync switches and filters (from the source's invoices) and the destination's lock date."""
    if not ctx.source.supports(Capability.INVOICES):
        # Without the source's invoices only the switches can be judged, with nothing counted.
        yield from switch_findings(ctx, [])
        return
    scope = source_scope(ctx)
    pending = not_in_destination(ctx, scope.included)
    yield from switch_findings(ctx, pending)
    yield from filter_findings(ctx, scope)
    locked = lock_finding(ctx, pending)
    if locked is not None:
        yield locked


SETTINGS = Check("settings", "settings", check_settings)
