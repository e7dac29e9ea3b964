"""Scheduler rows: job claims (one run per job, scope and period across every replica) and
sweep items (the integrations of one sweep, taken one at a time by the workers of every
replica), plus the history retention deletes.

Every write is conditional, so two replicas (or two threads) racing for the same row settle
it in the database: an ``INSERT ... ON CONFLICT DO NOTHING`` lands once; an ``UPDATE ... WHERE
<still free>`` changes one row for one of them. On PostgreSQL the next sweep item is picked
with ``FOR UPDATE SKIP LOCKED`` so workers do not queue behind each other's row locks; SQLite
(one process) takes the same path without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from store.models import Alert, FindingRow, JobClaim, Run, SweepItem


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _rows(session: Session, statement: Any) -> int:
    """Rows an UPDATE or DELETE changed. The claim rows are never loaded as objects in the
    sessions that change them, so the ORM is not asked to find and refresh them (that search
    showed in every profile of the sweep)."""
    result = cast(CursorResult[Any], session.execute(statement, execution_options={"synchronize_session": False}))
    return int(result.rowcount or 0)


def _insert(session: Session, model: Any) -> Any:
    """The dialect's INSERT, which knows ``on_conflict_do_nothing``."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model)


# -- job claims ---------------------------------------------------------------------------


def claim_job(session: Session, job: str, scope: str, period: str, *, owner: str, now: datetime, lease: float) -> bool:
    """Claim ``period`` of ``job`` for ``owner``: True for exactly one caller per period, or for
    the one that takes over a claim whose owner died (lease expired, never finished)."""
    expires = now + timedelta(seconds=lease)
    inserted = session.execute(
        _insert(session, JobClaim)
        .values(
            job=job,
            scope=scope,
            period_key=period,
            claimed_by=owner,
            claimed_at=now,
            lease_expires_at=expires,
        )
        .on_conflict_do_nothing(index_elements=["job", "scope", "period_key"])
        # RETURNING, not rowcount: with an implicit RETURNING of the key, psycopg reports -1
        .returning(JobClaim.id)
    ).first()
    if inserted is not None:
        return True
    taken = _rows(
        session,
        update(JobClaim)
        .where(
            JobClaim.job == job,
            JobClaim.scope == scope,
            JobClaim.period_key == period,
            JobClaim.finished_at.is_(None),
            JobClaim.lease_expires_at < now,
        )
        .values(claimed_by=owner, claimed_at=now, lease_expires_at=expires, error=None),
    )
    return taken == 1


def renew_job(session: Session, job: str, scope: str, period: str, *, owner: str, now: datetime, lease: float) -> bool:
    """Push the lease of a claim ``owner`` still holds further out (False: it lost it)."""
    done = _rows(
        session,
        update(JobClaim)
        .where(
            JobClaim.job == job,
            JobClaim.scope == scope,
            JobClaim.period_key == period,
            JobClaim.claimed_by == owner,
            JobClaim.finished_at.is_(None),
        )
        .values(lease_expires_at=now + timedelta(seconds=lease)),
    )
    return done == 1


def finish_job(
    session: Session, job: str, scope: str, period: str, *, owner: str, now: datetime, error: str | None
) -> None:
    session.execute(
        update(JobClaim)
        .where(
            JobClaim.job == job, JobClaim.scope == scope, JobClaim.period_key == period, JobClaim.claimed_by == owner
        )
        .values(finished_at=now, error=error[:2000] if error else None)
    )


def release_job(session: Session, job: str, scope: str, period: str, *, owner: str) -> None:
    """Give a period back unfinished (a clean stop): the next start, here or on another
    replica, claims it again."""
    session.execute(
        delete(JobClaim).where(
            JobClaim.job == job,
            JobClaim.scope == scope,
            JobClaim.period_key == period,
            JobClaim.claimed_by == owner,
            JobClaim.finished_at.is_(None),
        )
    )


def unfinished_claims(session: Session) -> list[JobClaim]:
    return list(session.scalars(select(JobClaim).where(JobClaim.finished_at.is_(None))))


@dataclass(frozen=True, slots=True)
class JobState:
    """What /healthz says of one job: its latest claim and the latest one that failed."""

    job: str
    last_period: str
    last_claimed_at: datetime | None
    last_finished_at: datetime | None
    last_error: str | None
    last_success_at: datetime | None


def job_states(session: Session) -> dict[str, JobState]:
    states: dict[str, JobState] = {}
    latest = select(JobClaim.job, func.max(JobClaim.id).label("id")).group_by(JobClaim.job).subquery()
    rows = session.scalars(select(JobClaim).join(latest, JobClaim.id == latest.c.id)).all()
    success = dict(
        session.execute(
            select(JobClaim.job, func.max(JobClaim.finished_at))
            .where(JobClaim.finished_at.is_not(None), JobClaim.error.is_(None))
            .group_by(JobClaim.job)
        ).all()
    )
    for row in rows:
        states[row.job] = JobState(
            job=row.job,
            last_period=row.period_key,
            last_claimed_at=_utc(row.claimed_at),
            last_finished_at=_utc(row.finished_at),
            last_error=row.error,
            last_success_at=_utc(success.get(row.job)),
        )
    return states


# -- sweep items --------------------------------------------------------------------------


def enqueue_sweep(session: Session, period: str, integrations: Sequence[str]) -> None:
    """The items of one sweep; an item already there (another replica enqueued it) stays."""
    if not integrations:
        return
    session.execute(
        _insert(session, SweepItem)
        .values([{"period_key": period, "integration": name} for name in integrations])
        .on_conflict_do_nothing(index_elements=["period_key", "integration"])
    )


def delete_done_sweep_items(session: Session, *, prefix: str, keep: str) -> int:
    """Items already done of the earlier sweeps named ``prefix...`` (all but ``keep``): a new
    sweep's claim clears its predecessors, so the table holds about one sweep. (The finished
    claim, kept longer, is what stops a replica from sweeping an old period again.)"""
    return _rows(
        session,
        delete(SweepItem).where(
            SweepItem.period_key.startswith(prefix, autoescape=True),
            SweepItem.period_key != keep,
            SweepItem.done_at.is_not(None),
        ),
    )


_ITEMS: Table = SweepItem.__table__  # type: ignore[assignment]  # the table: Core statements, no ORM sync


@dataclass(frozen=True, slots=True, order=True)
class SweepTake:
    item_id: int
    integration: str


def take_sweep_items(
    session: Session, period: str, *, owner: str, now: datetime, lease: float, limit: int
) -> list[SweepTake]:
    """Up to ``limit`` integrations of sweep ``period`` nobody holds (or whose holder's lease ran
    out), now held by ``owner``, in item order; empty when none is left to take.

    The next free items are picked, then taken by an UPDATE conditional on their still being
    free. On PostgreSQL the pick locks them (``FOR UPDATE SKIP LOCKED``), so replicas take
    different items without waiting for each other. On SQLite another thread may pick the same
    ones before this one writes: the UPDATE takes those still free, and if none is, the next
    pick is tried. (Picking inside the UPDATE, ``WHERE id IN (SELECT ... LIMIT k)``, took every
    free item at once on PostgreSQL: its plan ran the limited pick again for each row.)"""
    table = _ITEMS
    free = and_(
        table.c.period_key == period,
        table.c.done_at.is_(None),
        or_(table.c.claimed_by.is_(None), table.c.lease_expires_at < now),
    )
    pick = select(table.c.id).where(free).order_by(table.c.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    while True:
        ids = list(session.scalars(pick))
        if not ids:
            return []
        rows = session.execute(
            update(table)
            .where(table.c.id.in_(ids), free)
            .values(claimed_by=owner, lease_expires_at=now + timedelta(seconds=lease))
            .returning(table.c.id, table.c.integration)
        ).all()
        if rows:
            return sorted(SweepTake(row.id, row.integration) for row in rows)


def take_sweep_item(session: Session, period: str, *, owner: str, now: datetime, lease: float) -> SweepTake | None:
    """The next integration of sweep ``period`` (see :func:`take_sweep_items`), or None."""
    taken = take_sweep_items(session, period, owner=owner, now=now, lease=lease, limit=1)
    return taken[0] if taken else None


def renew_sweep_items(session: Session, item_ids: Sequence[int], *, owner: str, now: datetime, lease: float) -> int:
    """Extend ``owner``'s lease on the items it still holds among ``item_ids``."""
    table = _ITEMS
    return _rows(
        session,
        update(table)
        .where(table.c.id.in_(list(item_ids)), table.c.claimed_by == owner, table.c.done_at.is_(None))
        .values(lease_expires_at=now + timedelta(seconds=lease)),
    )


def finish_sweep_items(session: Session, item_ids: Sequence[int], *, owner: str, now: datetime) -> int:
    """Mark done the items of ``item_ids`` that ``owner`` still holds; how many."""
    table = _ITEMS
    return _rows(
        session,
        update(table)
        .where(table.c.id.in_(list(item_ids)), table.c.claimed_by == owner, table.c.done_at.is_(None))
        .values(done_at=now),
    )


def finish_sweep_item(session: Session, item_id: int, *, owner: str, now: datetime) -> bool:
    return finish_sweep_items(session, [item_id], owner=owner, now=now) == 1


def release_sweep_items(session: Session, *, owner: str) -> int:
    """Hand back every item ``owner`` holds but did not finish (a clean stop)."""
    done = _rows(
        session,
        update(SweepItem)
        .where(SweepItem.claimed_by == owner, SweepItem.done_at.is_(None))
        .values(claimed_by=None, lease_expires_at=None),
    )
    return done


def sweep_pending(session: Session, period: str) -> int:
    """Items of ``period`` not done yet (held by someone or free)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(SweepItem)
            .where(SweepItem.period_key == period, SweepItem.done_at.is_(None))
        )
        or 0
    )


def sweep_takers(session: Session, period: str) -> dict[str, str | None]:
    """integration -> who finished (or holds) it: tests and the bench read it."""
    rows = session.execute(
        select(SweepItem.integration, SweepItem.claimed_by).where(SweepItem.period_key == period)
    ).all()
    return {r.integration: r.claimed_by for r in rows}


# -- retention ----------------------------------------------------------------------------


def delete_old_runs(session: Session, before: datetime, *, batch: int) -> int:
    """Delete up to ``batch`` runs started before ``before`` (their findings with them), never
    an integration's latest run: a sweep stores a run only when something changed, so the
    newest one may be old and is still what the next run compares with."""
    newest = select(func.max(Run.id)).group_by(Run.integration)
    ids = list(
        session.scalars(
            select(Run.id).where(Run.started_at < before, Run.id.not_in(newest)).order_by(Run.id).limit(batch)
        )
    )
    if not ids:
        return 0
    session.execute(update(Alert).where(Alert.opened_run_id.in_(ids)).values(opened_run_id=None))
    session.execute(update(Alert).where(Alert.resolved_run_id.in_(ids)).values(resolved_run_id=None))
    session.execute(delete(FindingRow).where(FindingRow.run_id.in_(ids)))
    session.execute(delete(Run).where(Run.id.in_(ids)))
    return len(ids)


def delete_old_scheduler_rows(session: Session, *, items_before: datetime, claims_before: datetime) -> int:
    """Sweep items done before ``items_before`` (a sweep needs its items only while it runs:
    its job claim, kept longer, is what stops a replica from sweeping that period again) and
    claims finished before ``claims_before``."""
    # Items never done belong to a sweep abandoned when every replica stopped; the period is
    # long past (only the current one is ever swept), so they go too.
    old_sweeps = select(JobClaim.period_key).where(JobClaim.job == "sweep", JobClaim.claimed_at < items_before)
    items = _rows(
        session,
        delete(SweepItem).where(
            or_(
                and_(SweepItem.done_at.is_not(None), SweepItem.done_at < items_before),
                and_(SweepItem.done_at.is_(None), SweepItem.period_key.in_(old_sweeps)),
            )
        ),
    )
    # Each job's newest claim stays, however old: it is what says the job ran here before
    # (a quarterly digest's is three months old when the next quarter's falls due).
    newest = select(func.max(JobClaim.id)).group_by(JobClaim.job).scalar_subquery()
    claims = _rows(
        session,
        delete(JobClaim).where(
            JobClaim.finished_at.is_not(None), JobClaim.finished_at < claims_before, JobClaim.id.not_in(newest)
        ),
    )
    return items + claims


def job_ran_before(session: Session, job: str, before: datetime) -> bool:
    """Whether ``job`` was claimed in this database before ``before`` (by any replica)."""
    found = session.scalar(select(JobClaim.id).where(JobClaim.job == job, JobClaim.claimed_at < before).limit(1))
    return found is not None
