"""Runs and history for the digest tests, made with the project's own types and store functions
(``checks`` findings and ``RunResult``, ``record_run_counters``, alert and action repositories)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from checks.findings import BlockedInvoice, Finding, Impact, Severity
from checks.runner import RunResult
from store import actions_repo, alerts_repo
from store import repositories as repo
from store.counters import record_run_counters

BASE_CONFIG: dict[str, Any] = {
    "integrations": {
        "acme": {
            "source": {"system": "stripe", "tenant": "acct_1"},
            "destination": {"system": "xero", "tenant": "t-1"},
        },
        "globex": {"source": {"system": "hubspot"}, "destination": {"system": "quickbooks", "tenant": "9130"}},
    }
}


def finding(
    code: str,
    severity: Severity = Severity.FAIL,
    *,
    blocked: tuple[tuple[str, str, str], ...] = (),
    status: str = "new",
) -> Finding:
    impact = Impact(tuple(BlockedInvoice(n, c, Decimal(t)) for n, c, t in blocked))
    return Finding(code, severity, subject=code, evidence={}, impact=impact, status=status)


def run(name: str, at: datetime, *findings: Finding, trigger: str = "schedule") -> RunResult:
    return RunResult(
        integration=name,
        source="stripe",
        destination="xero",
        trigger=trigger,
        started_at=at,
        duration_s=0.5,
        findings=tuple(findings),
        resolved=(),
        api_calls={},
        timings={"connection": 0.1, "sync_state": 0.2},
        remediation={},
        ref="r-test",
    )


def record(session: Session, result: RunResult, tz: str) -> None:
    record_run_counters(session, result, result.trigger, result.started_at, tz)


def ongoing(result: RunResult) -> RunResult:
    return replace(result, findings=tuple(replace(f, status="ongoing") for f in result.findings))


def alert(session: Session, name: str, code: str, opened: datetime, resolved: datetime | None) -> None:
    row = repo.add_alert(session, integration=name, code=code, channel="C1", run_id=None, detail={})
    row.opened_at = opened
    session.flush()
    if resolved is not None:
        alerts_repo.resolve_alert(session, row.id, run_id=None, at=resolved)


def action(session: Session, name: str, at: datetime, *, decision: str | None, outcome: str | None = None) -> None:
    made = actions_repo.add_action(
        session,
        integration=name,
        kind="resync",
        params={"numbers": "INV-1"},
        plan={},
        label="Re-sync INV-1",
        requested_by="U1",
        via="slack",
        request_key=None,
        finding=None,
        expires_at=at + timedelta(days=1),
        steps=[("invoice", "INV-1")],
        now=at,
    )
    if decision is None:
        return
    assert actions_repo.decide(session, made.id, to=decision, user="U2", note=None, now=at + timedelta(minutes=5))
    if outcome is not None:
        later = at + timedelta(minutes=6)
        assert actions_repo.claim(
            session,
            made.id,
            owner="t",
            lease_until=later + timedelta(minutes=5),
            now=later,
            state="approved",
            previous_owner=None,
        )
        assert actions_repo.finish(session, made.id, owner="t", state=outcome, summary={}, error=None, now=later)
