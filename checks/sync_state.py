"""Sync-state checks: the "week in parallel" comparison, run by software.

In-scope source invoices dated inside the run's window (``ctx.window_start`` onwards) are
looked up in the destination by number, then by reference (syncs write the source's number
or id into ``Reference`` when the destination numbers invoices itself, as QuickBooks does with
auto-sequencing). Then:

* no copy                              -> ``sync.unsynced``: one finding listing the invoices
  with their age in days, oldest first (an invoice changed within :data:`UNSYNCED_GRACE`, or
  within the middleware's schedule when a Make scenario or Zap carries the invoices, may simply
  not have been picked up yet and is left out: ``checks.polling``)
* more than one live (non-void) copy   -> ``sync.duplicate``, per invoice
* one copy, but total, currency, line count, line amounts, contact or status differ
                                       -> ``sync.drift``, naming each difference
* paid on one side only                -> ``sync.payment_drift``
* differs, the source changed after the copy, and the copy is paid, voided or inside the
  destination's lock date (updates are refused there) -> ``sync.not_editable`` instead of drift
* no synced invoice has landed for longer than ``settings.stale_after_hours`` (stretched to two
  runs of a slow middleware schedule, ``checks.polling``) while newer source invoices wait
                                       -> ``sync.stale`` (the dead man's switch; "landed" =
  the newest of the destination copies' ``updated_at`` (else their date) and
  ``ctx.history.last_synced_at``)
* ``ctx.history.failed_actions``       -> ``sync.failed``, one per invoice still missing. These
  entries (``{"number", "error", "attempts", "at"}``) are written by the re-sync actions
  (``actions/``) once an invoice's push has failed permanently after its retries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from checks.base import Check
from checks.catalog import entry
from checks.context import RunContext
from checks.findings import Finding, Impact, ProposedAction
from checks.matching import fold, fold_email
from checks.polling import UNSYNCED_GRACE, pickup_grace, stale_limit
from checks.scope import in_scope
from common.money import cents_text
from providers.base import Capability
from providers.records import Invoice, InvoiceStatus

logger = logging.getLogger(__name__)

EVIDENCE_LIMIT = 100  # invoices listed in one finding's evidence; the impact keeps them all
CENT = Decimal("0.01")


def aware(value: datetime) -> datetime:
    """Providers give UTC datetimes; a naive one is read as UTC rather than crash a compare."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def landed_at(invoice: Invoice) -> datetime | None:
    if invoice.updated_at is not None:
        return aware(invoice.updated_at)
    if invoice.issue_date is not None:
        return datetime.combine(invoice.issue_date, time(0), tzinfo=UTC)
    return None


class DestinationIndex:
    """Destination invoices by number and by reference, built once."""

    def __init__(self, invoices: Iterable[Invoice]) -> None:
        self.by_number: dict[str, list[Invoice]] = {}
        self.by_reference: dict[str, list[Invoice]] = {}
        for inv in invoices:
            if inv.number:
                self.by_number.setdefault(inv.number, []).append(inv)
            if inv.reference:
                self.by_reference.setdefault(inv.reference, []).append(inv)

    def copies(self, source: Invoice) -> list[Invoice]:
        """Every destination invoice that is this source invoice (voided copies included)."""
        found: dict[str, Invoice] = {}
        keys = [k for k in (source.number, source.id) if k]
        for inv in self.by_number.get(source.number or "", []):
            found[inv.id] = inv
        for key in keys:
            for inv in self.by_reference.get(key, []):
                found[inv.id] = inv
        return sorted(found.values(), key=lambda i: (i.issue_date or date.min, i.id))


def in_window(ctx: RunContext, invoice: Invoice) -> bool:
    start = ctx.window_start
    if invoice.issue_date is not None:
        return invoice.issue_date >= start
    if invoice.updated_at is not None:
        return aware(invoice.updated_at).date() >= start
    return True


def age_days(ctx: RunContext, invoice: Invoice) -> int | None:
    if invoice.issue_date is not None:
        return (ctx.today - invoice.issue_date).days
    if invoice.updated_at is not None:
        return (ctx.now - aware(invoice.updated_at)).days
    return None


def _too_recent(ctx: RunContext, invoice: Invoice, grace: timedelta = UNSYNCED_GRACE) -> bool:
    if invoice.updated_at is not None:
        return ctx.now - aware(invoice.updated_at) < grace
    # date only: an invoice dated today (or inside a slow schedule's wait) may still be on its way
    if invoice.issue_date is None:
        return False
    return (
        invoice.issue_date >= ctx.today or datetime.combine(invoice.issue_date, time(0), tzinfo=UTC) > ctx.now - grace
    )


def _summary(ctx: RunContext, invoice: Invoice) -> dict[str, Any]:
    return {
        "number": invoice.number or invoice.id,
        "date": invoice.issue_date.isoformat() if invoice.issue_date else None,
        "age_days": age_days(ctx, invoice),
        "total": cents_text(invoice.total),
        "currency": invoice.currency,
        "contact": invoice.contact_name,
    }


def _copy(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "number": invoice.number,
        "status": invoice.status.value,
        "total": cents_text(invoice.total),
        "date": invoice.issue_date.isoformat() if invoice.issue_date else None,
    }


def _finding(
    ctx: RunContext,
    code: str,
    subject: str,
    evidence: dict[str, Any],
    invoices: Iterable[Invoice],
    action: ProposedAction | None = None,
) -> Finding:
    return Finding(
        code=code,
        severity=entry(code).severity,
        subject=subject,
        evidence=evidence,
        impact=Impact.of(invoices),
        system=ctx.destination.system,
        action=action,
    )


def resync_action(ctx: RunContext, numbers: Sequence[str]) -> ProposedAction | None:
    """A re-sync of ``numbers`` when the destination accepts pushes from Sync Doctor."""
    if not numbers or not ctx.destination.supports(Capability.PUSH_INVOICE):
        return None
    name = ctx.destination.display_name
    label = f"Re-sync {numbers[0]} to {name}" if len(numbers) == 1 else f"Re-sync {len(numbers)} invoices to {name}"
    return ProposedAction("resync", label, {"numbers": ",".join(numbers)})


def differences(source: Invoice, copy: Invoice) -> dict[str, dict[str, Any]]:
    """What differs between a source invoice and its destination copy (payment aside)."""
    diff: dict[str, dict[str, Any]] = {}
    if source.total.quantize(CENT) != copy.total.quantize(CENT):
        diff["total"] = {"source": cents_text(source.total), "destination": cents_text(copy.total)}
    if source.currency and copy.currency and source.currency.upper() != copy.currency.upper():
        diff["currency"] = {"source": source.currency, "destination": copy.currency}
    if source.lines and copy.lines:  # some listings carry no lines: nothing to compare then
        if len(source.lines) != len(copy.lines):
            diff["lines"] = {"source": len(source.lines), "destination": len(copy.lines)}
        else:
            src_amounts = sorted(line.amount.quantize(CENT) for line in source.lines)
            dst_amounts = sorted(line.amount.quantize(CENT) for line in copy.lines)
            if src_amounts != dst_amounts:
                diff["line_amounts"] = {
                    "source": [str(a) for a in src_amounts],
                    "destination": [str(a) for a in dst_amounts],
                }
    if source.contact_email and copy.contact_email:
        if fold_email(source.contact_email) != fold_email(copy.contact_email):
            diff["contact"] = {"source": source.contact_email, "destination": copy.contact_email}
    elif source.contact_name and copy.contact_name and fold(source.contact_name) != fold(copy.contact_name):
        diff["contact"] = {"source": source.contact_name, "destination": copy.contact_name}
    payment_states = {InvoiceStatus.OPEN, InvoiceStatus.PAID}
    if source.status != copy.status and not {source.status, copy.status} <= payment_states:
        diff["status"] = {"source": source.status.value, "destination": copy.status.value}
    return diff


def _not_editable_reason(ctx: RunContext, source: Invoice, copy: Invoice, lock_date: date | None) -> str | None:
    if copy.status is InvoiceStatus.PAID:
        reason = "paid"
    elif copy.status is InvoiceStatus.VOID:
        reason = "void"
    elif lock_date is not None and copy.issue_date is not None and copy.issue_date <= lock_date:
        reason = "locked"
    else:
        return None
    # only refused if there is a change to push: the source moved on after the copy was written
    if source.updated_at is None:
        return None
    if copy.updated_at is not None and aware(source.updated_at) <= aware(copy.updated_at):
        return None
    return reason


@dataclass
class _Pairs:
    missing: list[Invoice]
    matched: list[tuple[Invoice, list[Invoice]]]


def pair_invoices(ctx: RunContext, sources: Iterable[Invoice], index: DestinationIndex) -> _Pairs:
    missing: list[Invoice] = []
    matched: list[tuple[Invoice, list[Invoice]]] = []
    for inv in sources:
        copies = index.copies(inv)
        if copies:
            matched.append((inv, copies))
        else:
            missing.append(inv)
    return _Pairs(missing, matched)


def check_sync_state(ctx: RunContext) -> list[Finding]:
    scoped = [inv for inv in in_scope(ctx) if in_window(ctx, inv)]
    if not ctx.destination.supports(Capability.INVOICES):
        logger.debug("%s exposes no invoices; sync state not compared", ctx.destination.display_name)
        return []
    index = DestinationIndex(ctx.destination.invoices())
    pairs = pair_invoices(ctx, scoped, index)
    findings: list[Finding] = []
    findings.extend(_unsynced(ctx, pairs.missing))
    lock_date = None
    if ctx.destination.supports(Capability.ORG):
        lock_date = ctx.destination.org().lock_date
    for source, copies in pairs.matched:
        findings.extend(_compare(ctx, source, copies, lock_date))
    findings.extend(_voided_in_source(ctx, index))
    findings.extend(_stale(ctx, pairs))
    findings.extend(_failed(ctx, index))
    return findings


def _unsynced(ctx: RunContext, missing: list[Invoice]) -> list[Finding]:
    grace = pickup_grace(ctx)
    waiting = [inv for inv in missing if not _too_recent(ctx, inv, grace)]
    if not waiting:
        return []
    waiting.sort(key=lambda i: (-(age_days(ctx, i) or 0), i.number or i.id))
    listed = [_summary(ctx, inv) for inv in waiting[:EVIDENCE_LIMIT]]
    evidence = {
        "count": len(waiting),
        "oldest_age_days": listed[0]["age_days"],
        "invoices": listed,
        "listed": len(listed),
        "window_start": ctx.window_start.isoformat(),
    }
    numbers = [inv.number or inv.id for inv in waiting]
    return [
        _finding(ctx, "sync.unsynced", ctx.destination.display_name, evidence, waiting, resync_action(ctx, numbers))
    ]


def _compare(ctx: RunContext, source: Invoice, copies: list[Invoice], lock_date: date | None) -> list[Finding]:
    number = source.number or source.id
    live = [c for c in copies if c.status is not InvoiceStatus.VOID]
    if len(live) > 1:
        evidence = {"number": number, "copies": [_copy(c) for c in live], "voided_copies": len(copies) - len(live)}
        return [_finding(ctx, "sync.duplicate", number, evidence, [source])]
    copy = live[0] if live else copies[0]
    out: list[Finding] = []
    diff = differences(source, copy)
    if diff:
        reason = _not_editable_reason(ctx, source, copy, lock_date)
        base = {"number": number, "destination_id": copy.id, "differences": diff}
        if reason is not None:
            evidence = {
                **base,
                "destination_status": copy.status.value,
                "reason": reason,
                "lock_date": lock_date.isoformat() if reason == "locked" and lock_date else None,
                "source_updated_at": aware(source.updated_at).isoformat() if source.updated_at else None,
                "destination_updated_at": aware(copy.updated_at).isoformat() if copy.updated_at else None,
            }
            out.append(_finding(ctx, "sync.not_editable", number, evidence, [source]))
        else:
            out.append(_finding(ctx, "sync.drift", number, {**base, "fields": sorted(diff)}, [source]))
    src_paid = source.status is InvoiceStatus.PAID
    dst_paid = copy.status is InvoiceStatus.PAID
    if copy.status is not InvoiceStatus.VOID and src_paid != dst_paid:
        evidence = {
            "number": number,
            "destination_id": copy.id,
            "paid_in": "source" if src_paid else "destination",
            "source_status": source.status.value,
            "destination_status": copy.status.value,
            "source_amount_paid": cents_text(source.amount_paid),
            "destination_amount_paid": cents_text(copy.amount_paid),
        }
        out.append(_finding(ctx, "sync.payment_drift", number, evidence, [source]))
    return out


def _voided_in_source(ctx: RunContext, index: DestinationIndex) -> list[Finding]:
    """A source invoice voided after it synced, still live in the destination, is drift too
    (void invoices are out of scope by default, so the main pass never sees them)."""
    if "void" in ctx.integration.settings.statuses:
        return []  # already compared in the main pass
    out: list[Finding] = []
    for inv in ctx.source.invoices():
        if inv.status is not InvoiceStatus.VOID or not in_window(ctx, inv):
            continue
        live = [c for c in index.copies(inv) if c.status is not InvoiceStatus.VOID]
        if len(live) == 1:
            copy = live[0]
            diff = {"status": {"source": inv.status.value, "destination": copy.status.value}}
            evidence = {
                "number": inv.number or inv.id,
                "destination_id": copy.id,
                "differences": diff,
                "fields": ["status"],
            }
            out.append(_finding(ctx, "sync.drift", inv.number or inv.id, evidence, [inv]))
    return out


def _stale(ctx: RunContext, pairs: _Pairs) -> list[Finding]:
    landed = [t for _, copies in pairs.matched for c in copies if (t := landed_at(c)) is not None]
    last = max([*landed, *([aware(ctx.history.last_synced_at)] if ctx.history.last_synced_at else [])], default=None)
    limit = stale_limit(ctx)
    waiting = []
    for inv in pairs.missing:
        seen = landed_at(inv)
        if last is None or seen is None or seen > last:
            waiting.append(inv)
    if not waiting:
        return []
    if last is not None:
        if ctx.now - last <= limit:
            return []
    else:
        # never seen anything land: only alarm once the oldest waiting invoice is overdue
        oldest = min((t for i in waiting if (t := landed_at(i)) is not None), default=None)
        if oldest is None or ctx.now - oldest <= limit:
            return []
    waiting.sort(key=lambda i: (landed_at(i) or ctx.now, i.number or i.id))
    evidence = {
        "last_synced_at": last.isoformat() if last else None,
        "hours_since": int((ctx.now - last).total_seconds() // 3600) if last else None,
        "stale_after_hours": int(limit.total_seconds() // 3600),
        "waiting": len(waiting),
        "oldest_waiting": _summary(ctx, waiting[0]),
        "newest_waiting": _summary(ctx, waiting[-1]),
    }
    return [_finding(ctx, "sync.stale", ctx.destination.display_name, evidence, waiting)]


def _failed(ctx: RunContext, index: DestinationIndex) -> list[Finding]:
    if not ctx.history.failed_actions:
        return []
    sources = {inv.number: inv for inv in ctx.source.invoices() if inv.number}
    latest: dict[str, dict[str, Any]] = {}
    for record in ctx.history.failed_actions:
        number = str(record.get("number") or "")
        if number and (number not in latest or str(record.get("at") or "") >= str(latest[number].get("at") or "")):
            latest[number] = record
    out: list[Finding] = []
    for number, record in sorted(latest.items()):
        source = sources.get(number)
        probe = source or Invoice(id=number, number=number, status=InvoiceStatus.OPEN, currency="", total=Decimal(0))
        if any(c.status is not InvoiceStatus.VOID for c in index.copies(probe)):
            logger.debug("failed sync of %s has since landed in %s", number, ctx.destination.display_name)
            continue
        at = record.get("at")
        evidence = {
            "number": number,
            "error": str(record.get("error") or ""),
            "attempts": int(record.get("attempts") or 0),
            "at": at.isoformat() if isinstance(at, datetime | date) else (str(at) if at else None),
            "in_source": source is not None,
        }
        out.append(
            _finding(ctx, "sync.failed", number, evidence, [source] if source else [], resync_action(ctx, [number]))
        )
    return out


SYNC_STATE = Check("sync_state", "sync", check_sync_state)

__all__ = [
    "SYNC_STATE",
    "UNSYNCED_GRACE",
    "DestinationIndex",
    "check_sync_state",
    "differences",
    "in_window",
    "resync_action",
]
