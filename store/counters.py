"""Daily counters per integration (``integration_days``): what quarterly digests read.

Full runs are pruned after 90 days and an unchanged scheduled sweep stores no run row, yet a
digest needs two years of history: so every run, whoever triggered it and whether or not its
row is stored, adds itself to its integration's row for the local day it started on (in the
configured time zone) through :func:`record_run_counters`, inside the transaction that stores
the run.

Race safety: the row is created or incremented with one ``INSERT ... ON CONFLICT DO UPDATE``
(PostgreSQL and SQLite dialects). On PostgreSQL that statement leaves the row locked until the
transaction ends, and on SQLite it takes the database's write lock: so the JSON columns (codes,
blocked invoices, detections), merged in Python right after, are never merged by two runs at
once. Counters are never lost to concurrent runs either way.

This module takes the run as a :class:`RunFacts` protocol (``checks.runner.RunResult`` fits)
because ``store/`` may not import ``checks/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete, func, select, tuple_
from sqlalchemy.orm import Session

from store.models import IntegrationDay

SWEEP_TRIGGER = "schedule"  # everything else is a diagnosis: someone asked
WARN, FAIL = 1, 2  # checks.findings.Severity values (stored as ints in findings too)
CONNECTION_FAMILIES = ("connection.", "token.", "apikey.")  # a failure here: the connection is down
# the columns every run adds to (the rest of a day's row is merged in Python)
COUNTS = (
    "runs",
    "sweeps",
    "diagnoses",
    "healthy_sweeps",
    "connected_sweeps",
    "healthy_runs",
    "connected_runs",
    "checks_run",
)
BLOCKED_KEEP = 5000  # invoice numbers kept per day; beyond, counts stay right but the list is cut


class BlockedRow(Protocol):
    @property
    def number(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def total(self) -> Decimal: ...


class ImpactFacts(Protocol):
    @property
    def blocked(self) -> Sequence[BlockedRow]: ...


class FindingFacts(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def severity(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def impact(self) -> ImpactFacts: ...


class RunFacts(Protocol):
    """What a run must tell the counters (``checks.runner.RunResult`` has it all)."""

    @property
    def integration(self) -> str: ...
    @property
    def findings(self) -> Sequence[FindingFacts]: ...
    @property
    def timings(self) -> dict[str, float]: ...


def local_day(at: datetime, tz: str | ZoneInfo) -> date:
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    moment = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # SQLite hands back naive datetimes
    return value


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def blocked_of(findings: Iterable[FindingFacts]) -> dict[str, list[str]]:
    """Invoices blocked by failing findings, each once (as ``checks.findings.blocked_invoices``)."""
    rows: dict[str, list[str]] = {}
    for finding in findings:
        if int(finding.severity) >= FAIL:
            for row in finding.impact.blocked:
                rows.setdefault(row.number, [row.currency, str(row.total)])
    return rows


def _amounts(rows: dict[str, list[str]]) -> dict[str, str]:
    totals: dict[str, Decimal] = {}
    for currency, total in rows.values():
        totals[currency] = totals.get(currency, Decimal(0)) + Decimal(total)
    return {currency: str(value) for currency, value in sorted(totals.items())}


def _upsert(session: Session, values: list[dict[str, Any]]) -> None:
    session.execute(_upsert_statement(session.get_bind().dialect.name), values)


@cache
def _upsert_statement(dialect: str) -> Any:
    """The counters' ``INSERT ... ON CONFLICT DO UPDATE``, built once per dialect and executed
    with each run's values (built per run, its cache key was worked out again for every run)."""
    # each dialect's insert is imported when used: a process on SQLite never loads PostgreSQL's
    table: Table = IntegrationDay.__table__  # type: ignore[assignment]
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement: Any = postgresql.insert(table)
    elif dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(table)
    else:  # the two databases Sync Doctor supports; another would need its own upsert
        raise RuntimeError(f"daily counters need PostgreSQL or SQLite, not {dialect}")
    return statement.on_conflict_do_update(
        index_elements=[table.c.integration, table.c.day],
        set_={name: table.c[name] + statement.excluded[name] for name in COUNTS},
    )


def record_run_counters(session: Session, result: RunFacts, trigger: str, at: datetime, tz: str | ZoneInfo) -> None:
    """Add one run (any trigger, stored or not) to its integration's counters for the local
    day of ``at`` in ``tz``. The caller's transaction commits it with the run."""
    record_runs_counters(session, [(result, trigger, at)], tz)


def record_runs_counters(session: Session, runs: Sequence[tuple[RunFacts, str, datetime]], tz: str | ZoneInfo) -> None:
    """:func:`record_run_counters` for several runs (a sweep's batch) with three statements
    however many there are: one upsert of every run's counts, one read of the rows, one update
    of what the merge changed. Runs are applied in the order given."""
    if not runs:
        return
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    facts = []
    for result, trigger, at in runs:
        moment = _aware(at) or datetime.now(UTC)
        facts.append((result, trigger, moment, local_day(moment, zone), list(result.findings)))
    # One row of counts per (integration, day): an upsert may not touch a row twice.
    counts: dict[tuple[str, date], dict[str, Any]] = {}
    for result, trigger, _, day, findings in facts:
        values = _counts(result, trigger, findings) | {"day": day}
        earlier = counts.setdefault((result.integration, day), values)
        if earlier is not values:
            for name in COUNTS:
                earlier[name] += values[name]
    _upsert(session, list(counts.values()))
    # The upsert holds the rows (PostgreSQL row locks, SQLite write lock): merge the rest in Python.
    keys = sorted(counts)
    rows = {
        (row.integration, row.day): row
        for row in session.scalars(
            select(IntegrationDay)
            .where(tuple_(IntegrationDay.integration, IntegrationDay.day).in_(keys))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    for result, _, at, day, findings in facts:
        _merge(session, rows[(result.integration, day)], result.integration, day, at, findings)
    session.flush()


def _counts(result: RunFacts, trigger: str, findings: Sequence[FindingFacts]) -> dict[str, Any]:
    failing = any(int(f.severity) >= FAIL for f in findings)
    connected = not any(int(f.severity) >= FAIL and f.code.startswith(CONNECTION_FAMILIES) for f in findings)
    sweep = trigger == SWEEP_TRIGGER
    return {
        "integration": result.integration,
        "runs": 1,
        "sweeps": int(sweep),
        "diagnoses": int(not sweep),
        "healthy_sweeps": int(sweep and not failing),
        "connected_sweeps": int(sweep and connected),
        "healthy_runs": int(not failing),
        "connected_runs": int(connected),
        "checks_run": len(result.timings),
        # the rest of a new row, merged below
        "findings_by_code": {},
        "new_by_code": {},
        "invoices_blocked_max": 0,
        "invoices_blocked_last": 0,
        "blocked_amounts_last": {},
        "blocked": {},
        "blocked_last": {},
        "last_failing": False,
        "detections": [],
    }


def _merge(
    session: Session, row: IntegrationDay, integration: str, day: date, at: datetime, findings: Sequence[FindingFacts]
) -> None:
    """One run's codes, blocked invoices and detections into its day's row."""
    failing = any(int(f.severity) >= FAIL for f in findings)
    by_code = dict(row.findings_by_code or {})
    new_by_code = dict(row.new_by_code or {})
    for code in sorted({f.code for f in findings if int(f.severity) >= WARN}):
        by_code[code] = by_code.get(code, 0) + 1
    for code in sorted({f.code for f in findings if int(f.severity) >= FAIL and f.status == "new"}):
        new_by_code[code] = new_by_code.get(code, 0) + 1
    if by_code != (row.findings_by_code or {}):  # unchanged JSON left alone: no UPDATE of it
        row.findings_by_code = by_code
    if new_by_code != (row.new_by_code or {}):
        row.new_by_code = new_by_code

    blocked = blocked_of(findings)
    if blocked:
        union = dict(row.blocked or {})
        for number, value in blocked.items():
            if number in union or len(union) < BLOCKED_KEEP:
                union[number] = value
        row.blocked = union
    row.invoices_blocked_max = max(row.invoices_blocked_max or 0, len(blocked))

    last = _aware(row.last_run_at)
    if last is None or at >= last:
        if failing and not _failing_before(session, integration, row, day):
            healthy_before = _last_healthy(session, integration, day, row)
            row.detections = [
                *(row.detections or []),
                {"failing_at": _iso(at), "healthy_before": _iso(healthy_before)},
            ]
        row.last_run_at = at
        row.last_failing = failing
        row.invoices_blocked_last = len(blocked)
        if blocked or row.blocked_last:
            row.blocked_last = blocked
            row.blocked_amounts_last = _amounts(blocked)
    first = _aware(row.first_run_at)
    row.first_run_at = at if first is None or at < first else first
    if not failing:
        healthy = _aware(row.last_healthy_at)
        row.last_healthy_at = at if healthy is None or at > healthy else healthy
    else:
        first_failing = _aware(row.first_failing_at)
        row.first_failing_at = at if first_failing is None or at < first_failing else first_failing


def _failing_before(session: Session, integration: str, row: IntegrationDay, day: date) -> bool:
    """Was the integration's latest earlier run failing? (No earlier run: not failing.)"""
    if row.last_run_at is not None:
        return bool(row.last_failing)
    earlier = session.scalars(
        select(IntegrationDay)
        .where(
            IntegrationDay.integration == integration,
            IntegrationDay.day < day,
            IntegrationDay.last_run_at.is_not(None),
        )
        .order_by(IntegrationDay.day.desc())
        .limit(1)
    ).first()
    return bool(earlier.last_failing) if earlier is not None else False


def _last_healthy(session: Session, integration: str, day: date, row: IntegrationDay) -> datetime | None:
    """The newest run seen healthy before this failure (None: never seen healthy)."""
    if row.last_healthy_at is not None:
        return _aware(row.last_healthy_at)
    value = session.scalar(
        select(func.max(IntegrationDay.last_healthy_at)).where(
            IntegrationDay.integration == integration, IntegrationDay.day < day
        )
    )
    return _aware(value)


def days_between(
    session: Session, start: date, end: date, integrations: Sequence[str] | None = None
) -> list[IntegrationDay]:
    """Counter rows with ``start <= day < end``, by integration then day."""
    query = select(IntegrationDay).where(IntegrationDay.day >= start, IntegrationDay.day < end)
    if integrations is not None:
        query = query.where(IntegrationDay.integration.in_(list(integrations)))
    return list(session.scalars(query.order_by(IntegrationDay.integration, IntegrationDay.day)))


def delete_days_before(session: Session, day: date) -> int:
    """Counter rows older than ``day`` (retention: digests read two years back at most)."""
    result = session.execute(delete(IntegrationDay).where(IntegrationDay.day < day))
    return int(getattr(result, "rowcount", 0) or 0)
