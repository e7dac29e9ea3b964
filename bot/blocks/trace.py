"""One invoice's trace as a Slack message: the verdict, the steps as a checklist, how to fix
what blocks it (the remediation of the run's blocking findings, each with the button asking
for its fix when it has one)."""

from __future__ import annotations

from bot.blocks.common import (
    SECTION_TEXT,
    Block,
    Message,
    code,
    context,
    defuse_mentions,
    divider,
    escape,
    header,
    join_limited,
    section,
    truncate,
)
from bot.blocks.ids import Ids
from bot.blocks.results import fix_button, title_of
from checks.context import display_name
from checks.findings import Finding
from checks.runner import RunResult
from checks.trace import InvoiceTrace

STEP_ICON = {True: ":white_check_mark:", False: ":x:", None: ":heavy_minus_sign:"}
MAX_FIXES = 3  # remediation of the first blocking findings; the full run has the rest
VERDICT_OK = ":white_check_mark:"
VERDICT_BAD = ":red_circle:"


def step_lines(trace: InvoiceTrace) -> list[str]:
    return [f"{STEP_ICON[step.ok]} *{escape(step.label)}* — {escape(step.detail)}" for step in trace.steps]


def _chunks(lines: list[str], limit: int = SECTION_TEXT) -> list[str]:
    """Lines joined into texts of at most ``limit`` characters (a line longer is cut)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = truncate(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def _blocking_findings(trace: InvoiceTrace, result: RunResult) -> list[Finding]:
    keys = {(b["code"], b["subject"]) for b in trace.blocking}
    return [f for f in result.findings if f.key in keys]


def trace_message(trace: InvoiceTrace, result: RunResult, ids: Ids | None = None) -> Message:
    icon = VERDICT_OK if trace.synced else VERDICT_BAD
    blocks: list[Block] = [
        header(f"{trace.integration}: invoice {trace.number}"),
        section(f"{icon} {escape(trace.verdict)}"),
        divider(),
    ]
    # at most 10 sections of steps: a trace has a dozen steps, so this never bites in practice
    blocks += [section(chunk) for chunk in _chunks(step_lines(trace))[:10]]
    if trace.suggestions:
        blocks.append(context("Closest numbers: " + join_limited([code(s) for s in trace.suggestions], 5)))
    fixes = _blocking_findings(trace, result)
    for finding in fixes[:MAX_FIXES]:
        steps = result.remediation_for(finding)
        if steps:
            blocks += [
                divider(),
                section(
                    f"*How to fix: {escape(title_of(finding.code))}*\n{truncate(defuse_mentions(steps), SECTION_TEXT - 200)}"
                ),
            ]
        fix = fix_button(result, result.findings.index(finding), finding, ids)
        if fix is not None:
            blocks.append(fix)
    if len(fixes) > MAX_FIXES:
        blocks.append(
            context(
                f"{len(fixes) - MAX_FIXES} more blocking problems: run `/sync-check {escape(trace.integration)}` for all of them."
            )
        )
    middle = f" → {escape(display_name(result.middleware))}" if result.middleware else ""
    blocks.append(context(f"{escape(trace.source)}{middle} → {escape(trace.destination)} · run `{escape(result.ref)}`"))
    return Message(f"{trace.integration} invoice {trace.number}: {trace.verdict}", blocks)
