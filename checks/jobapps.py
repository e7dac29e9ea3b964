"""Job-app checks: the failure stories of invoices made in job-management apps.

Two of the seeds' stories need checks of their own; the other two are caught by the general
checks once a job app's invoices are read through its feed (a revenue / nominal code with no
account mapping: ``mapping.account_code``; a customer whose name collides with a different
contact in the accounting system: ``contact.name_collision``).

* ``jobapp.manual_sync``: in-scope invoices approved in the job app, not in the destination, and
  by the app's own flag never posted to accounting (AroFlo's link-processed date is blank until
  someone posts them from *Integration > Sync data*). Only when no middleware carries the
  invoices (then the middleware checks say why they wait), and only for changes older than the
  expected pick-up time. Apps whose export does not tell (Torqueflow's Sync now badge) are listed
  in the report's "cannot tell", not guessed.
* ``jobapp.reissued``: a job re-invoiced under a new number while the destination already holds
  the earlier invoice of the same job (same total, or the earlier one voided in the job app):
  syncing the new one bills the customer twice. Part invoices of one job (progress claims)
  differ in amount and are left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from checks.base import Check
from checks.catalog import entry
from checks.context import RunContext
from checks.findings import Finding, Impact
from checks.polling import pickup_grace
from checks.scope import in_scope
from checks.settings import not_in_destination
from checks.sync_state import DestinationIndex, age_days, landed_at
from common.money import cents_text
from config.sources import JOB_APP_SYSTEMS
from providers.base import Capability
from providers.records import Invoice, InvoiceStatus

logger = logging.getLogger(__name__)

LISTED = 20
CENT = Decimal("0.01")


def _row(ctx: RunContext, inv: Invoice) -> dict[str, Any]:
    return {
        "number": inv.number or inv.id,
        "date": inv.issue_date.isoformat() if inv.issue_date else None,
        "age_days": age_days(ctx, inv),
        "total": cents_text(inv.total),
        "currency": inv.currency,
        "contact": inv.contact_name,
    }


def manual_sync_finding(ctx: RunContext) -> Finding | None:
    if ctx.middleware is not None or not ctx.destination.supports(Capability.INVOICES):
        return None
    grace = pickup_grace(ctx)
    waiting = [
        inv
        for inv in not_in_destination(ctx, in_scope(ctx))
        if inv.posted is False
        and inv.status is not InvoiceStatus.DRAFT
        and (stamp := landed_at(inv)) is not None
        and ctx.now - stamp >= grace
    ]
    if not waiting:
        return None
    waiting.sort(key=lambda i: (-(age_days(ctx, i) or 0), i.number or i.id))
    evidence = {
        "system": ctx.source.system,
        "app": ctx.source.display_name,
        "count": len(waiting),
        "oldest_age_days": age_days(ctx, waiting[0]),
        "invoices": [_row(ctx, inv) for inv in waiting[:LISTED]],
        "auto_sync": ctx.integration.settings.auto_sync_sales,
    }
    return Finding(
        code="jobapp.manual_sync",
        severity=entry("jobapp.manual_sync").severity,
        subject=ctx.source.display_name,
        evidence=evidence,
        impact=Impact.of(waiting),
        system=ctx.source.system,
    )


def _same_total(a: Invoice, b: Invoice) -> bool:
    return a.total.quantize(CENT) == b.total.quantize(CENT) and a.currency.upper() == b.currency.upper()


def reissue_findings(ctx: RunContext) -> Iterator[Finding]:
    if not ctx.destination.supports(Capability.INVOICES):
        return
    everything = [inv for inv in ctx.source.invoices() if inv.job]
    if not everything:
        return
    index = DestinationIndex(ctx.destination.invoices())
    by_reference = index.by_reference
    scoped = {id(inv) for inv in in_scope(ctx)}
    jobs: dict[str, list[Invoice]] = {}
    for inv in everything:
        jobs.setdefault(str(inv.job), []).append(inv)
    for job, invoices in sorted(jobs.items()):
        live = {id(inv): _live_copies(index, inv) for inv in invoices}
        job_copies = [c for c in by_reference.get(job, []) if c.status is not InvoiceStatus.VOID]
        for new in invoices:
            if id(new) not in scoped or live[id(new)]:
                continue
            earlier = _earlier_synced(new, invoices, live)
            if earlier is not None:
                old, copy = earlier
                why = "voided" if old.status is InvoiceStatus.VOID else "same_total"
                yield _reissue(ctx, job, new, old, copy, why)
                continue
            by_job = [c for c in job_copies if c.number != new.number and _same_total(new, c)]
            if by_job:
                yield _reissue(ctx, job, new, None, by_job[0], "job_reference")


def _live_copies(index: DestinationIndex, inv: Invoice) -> list[Invoice]:
    return [c for c in index.copies(inv) if c.status is not InvoiceStatus.VOID]


def _earlier_synced(
    new: Invoice, invoices: Sequence[Invoice], live: dict[int, list[Invoice]]
) -> tuple[Invoice, Invoice] | None:
    for old in invoices:
        if old is new or old.number == new.number or not live[id(old)]:
            continue
        if old.status is InvoiceStatus.VOID or _same_total(old, new):
            return old, live[id(old)][0]
    return None


def _reissue(ctx: RunContext, job: str, new: Invoice, old: Invoice | None, copy: Invoice, why: str) -> Finding:
    evidence = {
        "system": ctx.source.system,
        "app": ctx.source.display_name,
        "job": job,
        "number": new.number or new.id,
        "total": cents_text(new.total),
        "currency": new.currency,
        "previous": (old.number or old.id) if old is not None else copy.number,
        "previous_status": old.status.value if old is not None else None,
        "destination_copy": {
            "id": copy.id,
            "number": copy.number,
            "status": copy.status.value,
            "total": cents_text(copy.total),
            "reference": copy.reference,
        },
        "why": why,
    }
    return Finding(
        code="jobapp.reissued",
        severity=entry("jobapp.reissued").severity,
        subject=new.number or new.id,
        evidence=evidence,
        impact=Impact.of([new]),
        system=ctx.destination.system,
    )


def check_jobapps(ctx: RunContext) -> Iterator[Finding]:
    """Invoices waiting for a manual post in the job app; re-issued invoices at risk of duplication."""
    if ctx.source.system not in JOB_APP_SYSTEMS or not ctx.source.supports(Capability.INVOICES):
        return  # HubSpot and Stripe invoices carry neither a posted flag nor a job
    manual = manual_sync_finding(ctx)
    if manual is not None:
        yield manual
    yield from reissue_findings(ctx)


JOBAPPS = Check("jobapps", "jobapp", check_jobapps)

__all__ = ["JOBAPPS", "check_jobapps", "manual_sync_finding", "reissue_findings"]
