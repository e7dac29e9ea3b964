"""Plain-text rendering of runs and traces for the terminal (pure functions)."""

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
    from service.health import IntegrationHealth

NOTHING = "nothing"
MARKS = {Severity.ERROR: "ERROR", Severity.FAIL: "FAIL ", Severity.WARN: "WARN ", Severity.OK: "OK   "}


def _plain(mrkdwn: str) -> str:
    """Remediation is Slack mrkdwn; the terminal shows it without markup characters."""
    return unescape(mrkdwn).replace("*", "")


def _evidence_lines(evidence: Mapping[str, Any], width: int = 96) -> list[str]:
    lines = []
    for key, value in evidence.items():
        if isinstance(value, list) and value and isinstance(value[0], Mapping):
            shown = "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in value[:5])
            more = f" (+{len(value) - 5} more)" if len(value) > 5 else ""
            text = f"{key}: {shown}{more}"
        elif isinstance(value, list):
            text = f"{key}: {', '.join(str(v) for v in value[:10])}{' …' if len(value) > 10 else ''}"
        else:
            text = f"{key}: {value}"
        lines.extend(textwrap.wrap(text, width=width, initial_indent="      ", subsequent_indent="        "))
    return lines


def finding_block(finding: Finding, remediation: str) -> list[str]:
    status = f" [{finding.status}]" if finding.status else ""
    head = f"  {MARKS[finding.severity]} {finding.code}  {entry(finding.code).title}: {finding.subject}{status}"
    lines = [head]
    if finding.impact.blocked:
        lines.append(
            f"      blocks {len(finding.impact.blocked)} invoice(s), {amounts_text(finding.impact.amounts, empty=NOTHING)}"
        )
    lines.extend(_evidence_lines(finding.evidence))
    if remediation:
        lines.append("      what to do:")
        for line in _plain(remediation).splitlines():
            lines.extend(
                textwrap.wrap(line, width=96, initial_indent="        ", subsequent_indent="           ") or [""]
            )
    return lines


def run_report(result: RunResult) -> str:
    blocked = result.blocked
    fail, warn, err = result.count(Severity.FAIL), result.count(Severity.WARN), result.count(Severity.ERROR)
    verdict = "FAILING" if result.failing else ("WARNINGS" if warn else "HEALTHY")
    calls = ", ".join(f"{k} {v}" for k, v in sorted(result.api_calls.items())) or "none"
    lines = [
        f"{result.integration}: {result.source} -> {result.destination}   {verdict}",
        f"  {fail} fail, {warn} warn, {err} error; {len(blocked.blocked)} invoice(s) blocked"
        f" ({amounts_text(blocked.amounts, empty=NOTHING)}); {result.duration_s:.1f}s, API calls: {calls}; run {result.ref}",
    ]
    new = sum(1 for f in result.findings if f.status == "new")
    if result.resolved or any(f.status == "ongoing" for f in result.findings):
        lines.append(f"  since last run: {new} new, {len(result.resolved)} resolved")
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


def trace_report(trace: Any) -> str:
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
