"""Small query functions over the models. Each takes a Session; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from store.models import Alert, AuditEvent, Connection, FindingRow, Run


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def add_run(
    session: Session,
    *,
    integration: str,
    trigger: str,
    started_at: datetime,
    duration_s: float,
    counts: dict[str, int],
    blocked_invoices: int,
    blocked_amounts: dict[str, str],
    api_calls: dict[str, int],
    timings: dict[str, float],
    resolved: Sequence[tuple[str, str]],
    last_synced_at: datetime | None,
    findings: Sequence[dict[str, Any]],
) -> Run:
    run = Run(
        integration=integration,
        trigger=trigger,
        started_at=started_at,
        duration_s=duration_s,
        fail_count=counts.get("fail", 0),
        warn_count=counts.get("warn", 0),
        error_count=counts.get("error", 0),
        blocked_invoices=blocked_invoices,
        blocked_amounts=blocked_amounts,
        api_calls=api_calls,
        timings=timings,
        resolved=[list(k) for k in resolved],
        last_synced_at=last_synced_at,
    )
    run.findings = [FindingRow(position=i, **row) for i, row in enumerate(findings)]
    session.add(run)
    session.add(
        AuditEvent(
            at=datetime.now(UTC),
            integration=integration,
            actor=trigger,
            event="run.finished",
            detail={"fail": run.fail_count, "warn": run.warn_count, "error": run.error_count},
        )
    )
    return run  # its id once flushed: the caller flushes a batch of runs at once


def latest_run(session: Session, integration: str, *, with_findings: bool = True) -> Run | None:
    query = select(Run).where(Run.integration == integration).order_by(Run.started_at.desc(), Run.id.desc()).limit(1)
    if with_findings:
        query = query.options(selectinload(Run.findings))
    return session.scalars(query).first()


@dataclass(frozen=True)
class RunKeys:
    """What the next run compares itself with: the (code, subject) of each finding."""

    keys: frozenset[tuple[str, str]]
    last_synced_at: datetime | None


def latest_run_keys_of(session: Session, integrations: Sequence[str]) -> dict[str, RunKeys]:
    """The newest run's finding keys of each of ``integrations`` that has a run, in two
    queries, without loading runs and findings as objects (every sweep run asks)."""
    if not integrations:
        return {}
    names = list(integrations)
    newest_start = (
        select(Run.integration, func.max(Run.started_at).label("started_at"))
        .where(Run.integration.in_(names))
        .group_by(Run.integration)
        .subquery()
    )
    newest: dict[str, Any] = {}
    for row in session.execute(
        select(Run.integration, Run.id, Run.last_synced_at).join(
            newest_start,
            (Run.integration == newest_start.c.integration) & (Run.started_at == newest_start.c.started_at),
        )
    ):
        if row.integration not in newest or row.id > newest[row.integration].id:  # same start: the later row
            newest[row.integration] = row
    keys: dict[int, set[tuple[str, str]]] = {row.id: set() for row in newest.values()}
    if keys:
        for finding in session.execute(
            select(FindingRow.run_id, FindingRow.code, FindingRow.subject).where(FindingRow.run_id.in_(list(keys)))
        ):
            keys[finding.run_id].add((finding.code, finding.subject))
    return {name: RunKeys(frozenset(keys[row.id]), row.last_synced_at) for name, row in newest.items()}


def latest_runs(session: Session, integrations: Sequence[str]) -> dict[str, Run]:
    """The newest run of each integration, in one query."""
    if not integrations:
        return {}
    newest = (
        select(Run.integration, func.max(Run.id).label("id"))
        .where(Run.integration.in_(list(integrations)))
        .group_by(Run.integration)
        .subquery()
    )
    rows = session.scalars(select(Run).join(newest, Run.id == newest.c.id).options(selectinload(Run.findings)))
    return {run.integration: run for run in rows}


def finding_at(session: Session, run_id: int, position: int) -> FindingRow | None:
    """Finding ``position`` of stored run ``run_id`` (its run loaded with it)."""
    query = select(FindingRow).where(FindingRow.run_id == run_id, FindingRow.position == position)
    return session.scalars(query.options(selectinload(FindingRow.run))).one_or_none()


def run_count(session: Session, integration: str | None = None) -> int:
    query = select(func.count(Run.id))
    if integration:
        query = query.where(Run.integration == integration)
    return int(session.scalar(query) or 0)


def connections_for(session: Session, integration: str) -> dict[str, Connection]:
    return connections_of(session, [integration]).get(integration, {})


def connections_of(session: Session, integrations: Sequence[str]) -> dict[str, dict[str, Connection]]:
    """integration -> side -> stored connection, for each of ``integrations`` with one."""
    found: dict[str, dict[str, Connection]] = {}
    for row in session.scalars(select(Connection).where(Connection.integration.in_(list(integrations)))):
        found.setdefault(row.integration, {})[row.side] = row
    return found


def open_alerts(session: Session, integration: str) -> dict[str, Alert]:
    rows = session.scalars(
        select(Alert).where(Alert.integration == integration, Alert.resolved_at.is_(None)).order_by(Alert.id)
    )
    return {row.code: row for row in rows}


def add_alert(
    session: Session,
    *,
    integration: str,
    code: str,
    channel: str | None,
    run_id: int | None,
    detail: dict[str, Any],
    post_lease_until: datetime | None = None,
) -> Alert:
    alert = Alert(
        integration=integration,
        code=code,
        channel=channel,
        opened_at=datetime.now(UTC),
        opened_run_id=run_id,
        detail=detail,
        post_lease_until=post_lease_until,
    )
    session.add(alert)
    session.flush()
    return alert
