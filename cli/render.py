"""Plain-text rendering of runs, traces and health (pure functions): what is printed when the
output is piped or ``NO_COLOR`` is set. ``cli/terminal.py`` renders the same for a terminal."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from checks.catalog import entry
from checks.findings import Finding, Severity
from checks.runner import RunResult
from common.money import amounts_text
from common.mrkdwn import unescape

if TYPE_CHECKING:
    from checks.trace import InvoiceTrace
    from service.health import IntegrationHealth

NOTHING = "nothing"
MARKS = {Severity.ERROR: "ERROR", Severity.FAIL: "FAIL ", Severity.WARN: "WARN ", Severity.OK: "OK   "}


def _plain(mrkdwn: str) -> str:
    """Remediation is Slack mrkdwn; the terminal shows it without markup characters."""
    return unescape(mrkdwn).replace("*", "")


# Markers for the remediation templates, not evidence a person reads.
HIDDEN_EVIDENCE = frozenset({"from_error"})


def is_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, (list, tuple, dict)) and not value)


def value_text(value: Any) -> str:
    """One evidence value as a person reads it: no Python reprs, no empty parts."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        parts = [f"{k}={_nested(v)}" for k, v in value.items() if not is_empty(v)]
        return ", ".join(parts)
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], Mapping):
            shown = "; ".join(value_text(row) for row in value[:5])
            return shown + (f" (+{len(value) - 5} more)" if len(value) > 5 else "")
        shown = ", ".join(value_text(v) for v in value[:10] if not is_empty(v))
        return shown + (" …" if len(value) > 10 else "")
    return str(value)


def _nested(value: Any) -> str:
    text = value_text(value)
    return f"({text})" if isinstance(value, Mapping) else text


def evidence_items(evidence: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) of the evidence worth showing, in order: empty and internal fields left out."""
    return [
        (key.replace("_", " "), value_text(value))
        for key, value in evidence.items()
        if key not in HIDDEN_EVIDENCE and not is_empty(value) and value_text(value)
    ]


def _evidence_lines(evidence: Mapping[str, Any], width: int = 96) -> list[str]:
    lines = []
    for label, text in evidence_items(evidence):
        lines.extend(
            textwrap.wrap(f"{label}: {text}", width=width, initial_indent="      ", subsequent_indent="        ")
        )
    return lines


def plain_remediation(remediation: str) -> str:
    return _plain(remediation)


def blocked_text(finding: Finding) -> str | None:
    if not finding.impact.blocked:
        return None
    return f"blocks {len(finding.impact.blocked)} invoice(s), {amounts_text(finding.impact.amounts, empty=NOTHING)}"


def finding_block(finding: Finding, remediation: str) -> list[str]:
    status = f" [{finding.status}]" if finding.status else ""
    head = f"  {MARKS[finding.severity]} {finding.code}  {entry(finding.code).title}: {finding.subject}{status}"
    lines = [head]
    blocked = blocked_text(finding)
    if blocked:
        lines.append(f"      {blocked}")
    lines.extend(_evidence_lines(finding.evidence))
    if remediation:
        lines.append("      what to do:")
        for line in _plain(remediation).splitlines():
            lines.extend(
                textwrap.wrap(line, width=96, initial_indent="        ", subsequent_indent="           ") or [""]
            )
    return lines


def verdict(result: RunResult) -> str:
    return "FAILING" if result.failing else ("WARNINGS" if result.count(Severity.WARN) else "HEALTHY")


def summary(result: RunResult) -> str:
    blocked = result.blocked
    fail, warn, err = result.count(Severity.FAIL), result.count(Severity.WARN), result.count(Severity.ERROR)
    calls = ", ".join(f"{k} {v}" for k, v in sorted(result.api_calls.items())) or "none"
    return (
        f"{fail} fail, {warn} warn, {err} error; {len(blocked.blocked)} invoice(s) blocked"
        f" ({amounts_text(blocked.amounts, empty=NOTHING)}); {result.duration_s:.1f}s, API calls: {calls}; run {result.ref}"
    )


def since_last_run(result: RunResult) -> str | None:
    if not (result.resolved or any(f.status == "ongoing" for f in result.findings)):
        return None
    new = sum(1 for f in result.findings if f.status == "new")
    return f"since last run: {new} new, {len(result.resolved)} resolved"


def pipe(result: RunResult, arrow: str = "->") -> str:
    """``hubspot -> xero``, or ``aroflo -> make -> xero`` when a middleware carries the invoices."""
    systems = [result.source, *([result.middleware] if result.middleware else []), result.destination]
    return f" {arrow} ".join(systems)


def run_report(result: RunResult) -> str:
    lines = [
        f"{result.integration}: {pipe(result)}   {verdict(result)}",
        f"  {summary(result)}",
    ]
    if result.middleware_note:
        lines.append(f"  middle: {result.middleware_note}")
    since = since_last_run(result)
    if since:
        lines.append(f"  {since}")
    if not result.findings:
        lines.append("  No problems found.")
    for finding in result.findings:
        lines.append("")
        lines.extend(finding_block(finding, result.remediation_for(finding)))
    if result.resolved:
        lines.append("")
        lines.append("  Resolved since the last run: " + ", ".join(f"{c} ({s})" for c, s in result.resolved))
    if result.cannot_tell:
        lines.append("")
        lines.append("  Not checked, the systems cannot tell: " + "; ".join(result.cannot_tell) + ".")
    return "\n".join(lines)


def trace_report(trace: InvoiceTrace) -> str:
    """An InvoiceTrace as text: its steps in order, then the verdict."""
    lines = [f"Invoice {trace.number} in {trace.integration}:"]
    for step in trace.steps:
        mark = {True: "ok  ", False: "NO  ", None: "--  "}[step.ok]
        lines.append(f"  {mark}{step.label}: {step.detail}")
    lines.append(f"  => {trace.verdict}")
    return "\n".join(lines)


def health_table(rows: Iterable[IntegrationHealth]) -> str:
    lines = [f"{'integration':<18} {'source -> destination':<28} {'status':<10} last run"]
    for row in rows:
        when = row.last_run_at.strftime("%Y-%m-%d %H:%M") if row.last_run_at else "never"
        pair = f"{row.source} -> {row.destination}"
        lines.append(f"{row.name:<18} {pair:<28} {row.status:<10} {when}")
    return "\n".join(lines)
