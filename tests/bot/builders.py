"""Real RunResults and findings for the block builder tests (no Slack, no providers)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from checks.findings import BlockedInvoice, Finding, Impact, ProposedAction, Severity
from checks.runner import RunResult

NOW = datetime(2026, 5, 20, 9, 30, tzinfo=UTC)
NO_IMPACT = Impact()


def blocked(*rows: tuple[str, str, str]) -> Impact:
    return Impact(blocked=tuple(BlockedInvoice(n, c, Decimal(t)) for n, c, t in rows))


def finding(
    code: str = "sku.missing",
    subject: str = "PROD-404",
    severity: Severity = Severity.FAIL,
    *,
    evidence: dict[str, Any] | None = None,
    impact: Impact = NO_IMPACT,
    status: str = "new",
    action: ProposedAction | None = None,
    system: str | None = "xero",
) -> Finding:
    return Finding(
        code=code,
        severity=severity,
        subject=subject,
        evidence=evidence or {"sku": subject},
        impact=impact,
        system=system,
        action=action,
        status=status,
    )


def result(
    findings: list[Finding] | tuple[Finding, ...] = (),
    *,
    resolved: tuple[tuple[str, str], ...] = (),
    remediation: dict[tuple[str, str], str] | None = None,
    integration: str = "acme",
) -> RunResult:
    return RunResult(
        integration=integration,
        source="hubspot",
        destination="xero",
        trigger="slack",
        started_at=NOW,
        duration_s=1.25,
        findings=tuple(findings),
        resolved=resolved,
        api_calls={"hubspot": 3, "xero": 4},
        timings={},
        remediation=remediation
        if remediation is not None
        else {f.key: f"1. Fix {f.subject} in *Xero*." for f in findings},
        ref="abc12345",
        run_id=None,
    )
