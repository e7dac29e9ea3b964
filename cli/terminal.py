"""Runs, traces and health for a terminal: colour and tables with rich (pure functions that
return rich renderables). Same content as ``cli/render.py``, which serves pipes and ``NO_COLOR``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from checks.catalog import entry
from checks.findings import Finding, Severity
from cli import render

if TYPE_CHECKING:
    from checks.runner import RunResult
    from checks.trace import InvoiceTrace
    from service.health import IntegrationHealth

SEVERITY_STYLE = {
    Severity.ERROR: "bold magenta",
    Severity.FAIL: "bold red",
    Severity.WARN: "bold yellow",
    Severity.OK: "green",
}
VERDICT_STYLE = {"FAILING": "bold red", "WARNINGS": "bold yellow", "HEALTHY": "bold green"}
STATUS_STYLE = {"failing": "red", "warning": "yellow", "healthy": "green"}
STEP_MARK = {True: ("✓", "green"), False: ("✗", "bold red"), None: ("·", "dim")}


def finding(item: Finding, remediation: str) -> RenderableType:
    head = Text.assemble(
        (f"{render.MARKS[item.severity].strip():<5}", SEVERITY_STYLE[item.severity]),
        " ",
        (item.code, "bold"),
        "  ",
        f"{entry(item.code).title}: ",
        (item.subject, "bold"),
        (f"  {item.status}" if item.status else "", "dim"),
    )
    parts: list[RenderableType] = [head]
    blocked = render.blocked_text(item)
    if blocked:
        parts.append(Padding(Text(blocked, style="red"), (0, 0, 0, 6)))
    evidence = render.evidence_items(item.evidence)
    if evidence:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, text in evidence:
            grid.add_row(label, text)
        parts.append(Padding(grid, (0, 0, 0, 6)))
    if remediation:
        parts.append(Padding(Text("what to do:", style="bold cyan"), (0, 0, 0, 6)))
        parts.append(Padding(Text(render.plain_remediation(remediation)), (0, 0, 0, 8)))
    return Group(*parts)


def run_report(result: RunResult) -> RenderableType:
    verdict = render.verdict(result)
    parts: list[RenderableType] = [
        Text.assemble(
            (result.integration, "bold"),
            f": {render.pipe(result, '→')}   ",
            (verdict, VERDICT_STYLE[verdict]),
        ),
        Text(f"  {render.summary(result)}", style="dim"),
    ]
    if result.middleware_note:
        parts.append(Text(f"  middle: {result.middleware_note}"))
    since = render.since_last_run(result)
    if since:
        parts.append(Text(f"  {since}", style="dim"))
    if not result.findings:
        parts.append(Text("  No problems found.", style="green"))
    for item in result.findings:
        parts.append(Text(""))
        parts.append(Padding(finding(item, result.remediation_for(item)), (0, 0, 0, 2)))
    if result.resolved:
        parts.append(Text(""))
        done = ", ".join(f"{code} ({subject})" for code, subject in result.resolved)
        parts.append(Text(f"  Resolved since the last run: {done}", style="green"))
    if result.cannot_tell:
        parts.append(Text(""))
        parts.append(
            Text("  Not checked, the systems cannot tell: " + "; ".join(result.cannot_tell) + ".", style="dim")
        )
    return Group(*parts)


def trace_report(trace: InvoiceTrace) -> RenderableType:
    table = Table(box=None, show_header=False, padding=(0, 1), pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for step in trace.steps:
        mark, style = STEP_MARK[step.ok]
        table.add_row(Text(mark, style=style), step.label, step.detail)
    verdict_style = "bold green" if trace.synced else "bold red"
    return Group(
        Text.assemble("Invoice ", (trace.number, "bold"), f" in {trace.integration}:"),
        Padding(table, (0, 0, 0, 2)),
        Text.assemble("  => ", (trace.verdict, verdict_style)),
    )


def health_table(rows: Iterable[IntegrationHealth]) -> RenderableType:
    table = Table(show_edge=False, header_style="bold")
    for column in ("integration", "source → destination", "status", "last run"):
        table.add_column(column)
    for row in rows:
        when = row.last_run_at.strftime("%Y-%m-%d %H:%M") if row.last_run_at else "never"
        table.add_row(
            row.name,
            f"{row.source} → {row.destination}",
            Text(row.status, style=STATUS_STYLE.get(row.status, "")),
            when,
        )
    return table
