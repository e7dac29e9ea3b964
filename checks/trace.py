"""Trace one invoice: "why isn't INV-1042 in the accounting system?"

``trace_invoice(ctx, number, findings)`` follows the invoice the way the sync would: is it in
the source (else the closest numbers), does the integration push it (enabled, direction,
status filter, date range, skip-source list), which findings of the run block it (matched by
``finding.impact.invoices``), and is it in the destination (each copy's id, status, total;
duplicates). It ends in a one-sentence verdict.

The result is a frozen :class:`InvoiceTrace` whose ``steps`` are ordered
``(label, ok, detail)`` rows: ``ok`` is True (passed), False (this stops or breaks the sync)
or None (not applicable, unknown, or a warning that does not block). The CLI prints them one
per line; the Slack builder renders them as a checklist; ``to_json()`` stores them.

The trace reads the same :class:`RunContext` the checks used, so with a run's data preloaded
it makes no API calls. Unlike a check it answers even when a side cannot be read: that side's
step says so with the system's own message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from checks.catalog import CATALOG, title
from checks.context import RunContext, SideData
from checks.findings import Finding, Severity
from checks.matching import Suggester, did_you_mean, fold_code
from checks.polling import UNSYNCED_GRACE, flow_step, waiting_for_poll
from checks.sync_state import DestinationIndex, aware
from common.money import cents_text
from providers.base import Capability
from providers.errors import ProviderError
from providers.records import Invoice, InvoiceStatus

logger = logging.getLogger(__name__)

# Families whose failures stop every invoice even though their impact lists none.
SYSTEM_WIDE = ("connection", "token", "apikey", "plan", "settings", "rate", "middleware")
SYMPTOMS = frozenset({"sync.unsynced", "sync.stale"})


@dataclass(frozen=True, slots=True)
class TraceStep:
    label: str
    ok: bool | None  # True passed; False blocks; None n/a, unknown or a non-blocking warning
    detail: str
    code: str | None = None  # the finding code, when the step reports a finding

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "ok": self.ok, "detail": self.detail, "code": self.code}


@dataclass(frozen=True, slots=True)
class InvoiceTrace:
    integration: str
    number: str
    source: str  # display names
    destination: str
    found: bool  # in the source
    in_scope: bool | None  # the integration's settings push it (None when not found)
    copies: tuple[dict[str, Any], ...]  # live destination copies (id, number, status, total, currency)
    blocking: tuple[dict[str, Any], ...]  # failing findings naming this invoice (code, subject, severity)
    steps: tuple[TraceStep, ...]
    verdict: str
    invoice: dict[str, Any] | None = None  # the source invoice as found
    suggestions: tuple[str, ...] = ()  # closest source numbers when not found

    @property
    def synced(self) -> bool:
        """In the destination exactly once with nothing failing against it."""
        return len(self.copies) == 1 and not self.blocking

    def to_json(self) -> dict[str, Any]:
        return {
            "integration": self.integration,
            "number": self.number,
            "source": self.source,
            "destination": self.destination,
            "found": self.found,
            "in_scope": self.in_scope,
            "synced": self.synced,
            "invoice": self.invoice,
            "copies": list(self.copies),
            "blocking": list(self.blocking),
            "suggestions": list(self.suggestions),
            "steps": [step.to_json() for step in self.steps],
            "verdict": self.verdict,
        }


def describe(finding: Finding) -> str:
    """A short sentence for one finding, from its evidence."""
    ev = finding.evidence
    code = finding.code
    if code == "sku.missing":
        hint = did_you_mean(ev.get("suggestions") or [])
        return f"no item {finding.subject}" + (f"; {hint}" if hint else "")
    if code == "sku.case_mismatch":
        return f"item code {finding.subject} exists only as {ev.get('destination_code')}"
    if code == "sku.archived":
        return f"item {finding.subject} is archived"
    if code == "sku.ambiguous":
        return f"item code {finding.subject} matches {len(ev.get('items') or [])} items"
    if code == "mapping.currency":
        return f"currency {finding.subject} is not enabled"
    if code in ("mapping.account_code", "mapping.tax_code"):
        what = "account" if code == "mapping.account_code" else "tax code"
        return f"{what} {finding.subject} is {ev.get('reason', 'a problem')}"
    if code == "mapping.tracking":
        return f"tracking {finding.subject} is {str(ev.get('reason', 'unknown')).replace('_', ' ')}"
    if code.startswith("contact."):
        return f"contact {finding.subject}: {title(code).lower()}"
    if code == "settings.period_locked":
        return f"dated on or before the lock date {ev.get('lock_date')}"
    if code == "sync.failed":
        return f"the last push failed after {ev.get('attempts')} attempts: {ev.get('error')}"
    if code.startswith(("middleware.", "jobapp.")):
        return _describe_middle(finding)
    if code in CATALOG:
        return f"{title(code)} ({finding.subject})"
    return f"{code} ({finding.subject})"


def _describe_middle(finding: Finding) -> str:
    """Middleware and job-app findings in a trace's words."""
    ev, code = finding.evidence, finding.code
    what = f"{ev.get('display_name', '')} {ev.get('kind', '')} '{ev.get('flow') or finding.subject}'".strip()
    if code == "middleware.disabled":
        why = {"errors": " after repeated errors", "billing": " (a subscription problem)"}.get(
            str(ev.get("reason")), ""
        )
        return f"the {what} is switched off{why}"
    if code == "middleware.errors":
        last = (ev.get("last_errors") or [{}])[0]
        said = f": {last.get('message')}" if last.get("message") else ""
        return f"the {what} fails when it runs{said}"
    if code == "middleware.connection_expired":
        return f"the {ev.get('display_name')} connection {finding.subject} {str(ev.get('reason')).replace('_', ' ')}"
    if code == "middleware.operations_exhausted":
        return f"{ev.get('display_name')} has used {ev.get('used')} of {ev.get('limit')} {ev.get('unit')}"
    if code == "jobapp.manual_sync":
        return f"it waits in {ev.get('app')} to be sent to accounting"
    if code == "jobapp.reissued":
        return f"it re-issues job {ev.get('job')}, already synced as {ev.get('previous')}: syncing it would bill twice"
    return f"{title(code)} ({finding.subject})"


def _summary(inv: Invoice) -> dict[str, Any]:
    return {
        "id": inv.id,
        "number": inv.number,
        "status": inv.status.value,
        "raw_status": inv.raw_status,
        "total": cents_text(inv.total),
        "currency": inv.currency,
        "date": inv.issue_date.isoformat() if inv.issue_date else None,
        "contact": inv.contact_name,
    }


def _read_invoices(side: SideData) -> tuple[list[Invoice] | None, str | None]:
    if not side.supports(Capability.INVOICES):
        return None, f"{side.display_name} does not expose invoices"
    try:
        return side.invoices(), None
    except ProviderError as e:  # a trace still answers with what it knows
        return None, f"{side.display_name} could not be read: {e.message}"


def _find(invoices: Sequence[Invoice], number: str) -> tuple[Invoice | None, str | None]:
    """(invoice, how) by number, id, reference, then number ignoring case and spaces."""
    for how in ("number", "id", "reference"):
        for inv in invoices:
            if getattr(inv, how) == number:
                return inv, how
    wanted = fold_code(number)
    for inv in invoices:
        if inv.number and fold_code(inv.number) == wanted:
            return inv, "number ignoring case"
    return None, None


def trace_invoice(ctx: RunContext, number: str, findings: Sequence[Finding]) -> InvoiceTrace:
    """Why ``number`` is (or is not) in the destination, as ordered steps and a verdict."""
    number = number.strip()
    src_name, dst_name = ctx.source.display_name, ctx.destination.display_name
    steps: list[TraceStep] = []

    source_invoices, source_problem = _read_invoices(ctx.source)
    invoice, how = _find(source_invoices or [], number)
    suggestions: tuple[str, ...] = ()
    if invoice is not None:
        detail = f"{invoice.number or invoice.id}: {invoice.status.value}"
        if invoice.raw_status and invoice.raw_status.lower() != invoice.status.value:
            detail += f" ({invoice.raw_status})"
        detail += f", {invoice.currency} {cents_text(invoice.total)}"
        if invoice.contact_name:
            detail += f", {invoice.contact_name}"
        if how != "number":
            detail += f" (found by {how})"
        steps.append(TraceStep(f"Found in {src_name}", True, detail))
    elif source_problem:
        steps.append(TraceStep(f"Found in {src_name}", None, source_problem))
    else:
        numbers = [i.number for i in source_invoices or [] if i.number]
        suggestions = tuple(Suggester(numbers).suggest(number))
        window = f" (invoices fetched since {ctx.source.since.isoformat()})" if ctx.source.since else ""
        hint = did_you_mean(suggestions)
        steps.append(
            TraceStep(f"Found in {src_name}", False, f"no invoice {number}{window}" + (f"; {hint}" if hint else ""))
        )

    key = (invoice.number or invoice.id) if invoice else number
    in_scope: bool | None = None
    exclusion: str | None = None
    if invoice is not None:
        exclusion = _settings_steps(ctx, invoice, steps)
        in_scope = exclusion is None
        if invoice.posted is not None:
            # The job app's own record of posting it to accounting (AroFlo's link-processed date);
            # with middleware in between, the middleware's state says more.
            posted = invoice.posted or (None if ctx.middleware is not None else False)
            detail = "yes, by its own record" if invoice.posted else f"not yet, by {src_name}'s own record"
            steps.append(TraceStep(f"Sent to accounting by {src_name}", posted, detail))

    related = [f for f in findings if key in f.impact.invoices]
    system_wide = [
        f
        for f in findings
        if not f.impact.blocked and f.severity >= Severity.FAIL and f.code.split(".")[0] in SYSTEM_WIDE
    ]
    for f in sorted(system_wide + related, key=Finding.sort_key):
        ok = False if f.severity >= Severity.FAIL else None
        steps.append(TraceStep(title(f.code), ok, describe(f), code=f.code))
    blocking = sorted((f for f in related + system_wide if f.severity >= Severity.FAIL), key=Finding.sort_key)
    middle = flow_step(ctx)
    if middle is not None:
        steps.append(TraceStep(*middle))

    dest_invoices, dest_problem = _read_invoices(ctx.destination)
    copies: list[Invoice] = []
    if dest_invoices is not None:
        probe = invoice or Invoice(id=number, number=number, status=InvoiceStatus.OPEN, currency="", total=Decimal(0))
        all_copies = DestinationIndex(dest_invoices).copies(probe)
        copies = [c for c in all_copies if c.status is not InvoiceStatus.VOID]
        voided = len(all_copies) - len(copies)
        if len(copies) == 1:
            c = copies[0]
            steps.append(
                TraceStep(f"In {dst_name}", True, f"id {c.id}, {c.status.value}, {c.currency} {cents_text(c.total)}")
            )
        elif copies:
            ids = ", ".join(f"{c.id} ({c.status.value}, {c.currency} {cents_text(c.total)})" for c in copies)
            steps.append(TraceStep(f"In {dst_name}", False, f"{len(copies)} copies: {ids}", code="sync.duplicate"))
        else:
            note = f" ({voided} voided copy)" if voided == 1 else (f" ({voided} voided copies)" if voided else "")
            steps.append(TraceStep(f"In {dst_name}", False, f"not found by number or reference{note}"))
    else:
        steps.append(TraceStep(f"In {dst_name}", None, dest_problem or "not read"))

    verdict = _verdict(
        ctx, number, invoice, suggestions, exclusion, blocking, related, copies, dest_invoices is not None
    )
    return InvoiceTrace(
        integration=ctx.integration.name,
        number=number,
        source=src_name,
        destination=dst_name,
        found=invoice is not None,
        in_scope=in_scope,
        copies=tuple(_summary(c) for c in copies),
        blocking=tuple({"code": f.code, "subject": f.subject, "severity": f.severity.label} for f in blocking),
        steps=tuple(steps),
        verdict=verdict,
        invoice=_summary(invoice) if invoice else None,
        suggestions=suggestions,
    )


def _settings_steps(ctx: RunContext, invoice: Invoice, steps: list[TraceStep]) -> str | None:
    """Append the settings steps; return why the invoice is excluded (None when it is not)."""
    s = ctx.integration.settings
    reason: str | None = None
    pushes = s.enabled and s.direction in ("source_to_destination", "both")
    if not s.enabled:
        steps.append(TraceStep("Sync enabled", False, f"the sync is disabled for {ctx.integration.name}"))
        reason = "disabled"
    elif not pushes:
        steps.append(
            TraceStep(
                "Sync enabled",
                False,
                f"direction is {s.direction}: nothing is pushed to {ctx.destination.display_name}",
            )
        )
        reason = "direction"
    else:
        steps.append(TraceStep("Sync enabled", True, f"{s.direction.replace('_', ' ')}"))
    status = invoice.status.value
    allowed = ", ".join(s.statuses)
    if status in s.statuses:
        steps.append(TraceStep("Status filter", True, f"{status} is synced ({allowed})"))
    else:
        steps.append(TraceStep("Status filter", False, f"{status} is not synced (only {allowed})"))
        reason = reason or "status"
    day = invoice.issue_date
    if day is None:
        steps.append(TraceStep("Date range", None, "the invoice has no date"))
    elif s.since and day < s.since:
        steps.append(TraceStep("Date range", False, f"{day.isoformat()} is before {s.since.isoformat()}"))
        reason = reason or "since"
    elif s.until and day > s.until:
        steps.append(TraceStep("Date range", False, f"{day.isoformat()} is after {s.until.isoformat()}"))
        reason = reason or "until"
    else:
        steps.append(TraceStep("Date range", True, _range_text(day, s.since, s.until)))
    if invoice.source and invoice.source in s.skip_sources:
        steps.append(TraceStep("Skip-source list", False, f"created by {invoice.source}, which is skipped"))
        reason = reason or "source"
    elif s.skip_sources:
        steps.append(
            TraceStep(
                "Skip-source list",
                True,
                f"created by {invoice.source or 'an unknown app'}; skipped: {', '.join(s.skip_sources)}",
            )
        )
    return reason


def _range_text(day: date, since: date | None, until: date | None) -> str:
    if since and until:
        return f"{day.isoformat()} is within {since.isoformat()} to {until.isoformat()}"
    if since:
        return f"{day.isoformat()} is on or after {since.isoformat()}"
    if until:
        return f"{day.isoformat()} is on or before {until.isoformat()}"
    return f"{day.isoformat()} (no date filter)"


_EXCLUSION_TEXT = {
    "disabled": "the sync is disabled",
    "direction": "the sync direction does not push invoices to {dst}",
    "status": "its status {status} is excluded by the status filter (only {statuses})",
    "since": "its date {date} is before the sync's start date {since}",
    "until": "its date {date} is after the sync's end date {until}",
    "source": "it was created by {source}, which is on the skip-source list",
}


def _verdict(
    ctx: RunContext,
    number: str,
    invoice: Invoice | None,
    suggestions: Sequence[str],
    exclusion: str | None,
    blocking: Sequence[Finding],
    related: Sequence[Finding],
    copies: Sequence[Invoice],
    dest_read: bool,
) -> str:
    src, dst = ctx.source.display_name, ctx.destination.display_name
    s = ctx.integration.settings
    if invoice is None:
        text = f"{number} is not in {src}"
        if copies:
            return (
                text + f", but {dst} has it as {copies[0].id}: it was not created by this sync or was deleted in {src}."
            )
        hint = did_you_mean(suggestions)
        return text + (f"; {hint}" if hint else ", so there is nothing to sync.")
    label = invoice.number or invoice.id
    if exclusion is not None:
        reason = _EXCLUSION_TEXT[exclusion].format(
            dst=dst,
            status=invoice.status.value,
            statuses=", ".join(s.statuses),
            date=invoice.issue_date.isoformat() if invoice.issue_date else "",
            since=s.since.isoformat() if s.since else "",
            until=s.until.isoformat() if s.until else "",
            source=invoice.source or "",
        )
        where = f"It is in {dst} anyway" if copies else f"It is not in {dst}"
        return f"{label} is not synced because {reason}. {where}."
    if len(copies) > 1:
        return f"{label} is in {dst} {len(copies)} times ({', '.join(c.id for c in copies)}): a duplicate to void."
    if len(copies) == 1:
        copy = copies[0]
        text = f"{label} is in {dst} as {copy.id} ({copy.status.value}, {copy.currency} {cents_text(copy.total)})"
        drift = [f for f in related if f.code.startswith("sync.")]
        if drift:
            return text + f", but {'; '.join(describe(f) for f in drift)}."
        return text + "."
    if not dest_read:
        return f"{label} is in {src}; whether it reached {dst} is unknown because {dst} could not be read."
    wait = waiting_for_poll(ctx, invoice)
    if wait is not None and all(f.code in SYMPTOMS for f in blocking):
        # "missing" and "stale" are what waiting looks like; nothing else stops it
        return f"{label} is not in {dst} yet: {wait.sentence(ctx.now)}."
    if blocking:
        # "missing" and "stale" restate the symptom; lead with a cause when there is one
        causes = [f for f in blocking if f.code not in SYMPTOMS] or list(blocking)
        first = describe(causes[0])
        more = f" (and {len(causes) - 1} more problem{'s' if len(causes) > 2 else ''})" if len(causes) > 1 else ""
        return f"{label} is not in {dst} because {first}{more}."
    if invoice.updated_at is not None and ctx.now - aware(invoice.updated_at) < UNSYNCED_GRACE:
        minutes = int((ctx.now - aware(invoice.updated_at)).total_seconds() // 60)
        return f"{label} is not in {dst} yet: it changed {minutes} minutes ago and may not have been picked up."
    return f"{label} is not in {dst} and no check explains why: re-sync it to see {dst}'s own error."


__all__ = ["InvoiceTrace", "TraceStep", "describe", "trace_invoice"]
