"""Retention: history that does not grow without bound. Full runs (with their findings) older
than ``schedules.retention.runs_days`` (90 by default) are deleted in batches, each its own
short transaction so the sweep's writes are never held up behind one long delete; an
integration's latest run is always kept (it is what the next run compares with). Sweep items
go a day after their sweep, finished job claims with the runs.

``PRUNERS``: more history to prune, one function per table: ``fn(session, now, schedule) -> rows
deleted``. The daily counters the digest reads are kept ``counters_days`` (two years by default).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from config.schedules import RetentionSchedule
from scheduling.base import JobContext
from store import claims, counters

logger = logging.getLogger(__name__)

BATCH = 500  # runs per transaction
ITEMS_KEPT = timedelta(days=1)

Pruner = Callable[[Session, datetime, RetentionSchedule], int]


def prune_daily_counters(session: Session, now: datetime, schedule: RetentionSchedule) -> int:
    return counters.delete_days_before(session, (now - timedelta(days=schedule.counters_days)).date())


PRUNERS: list[Pruner] = [prune_daily_counters]


def run(ctx: JobContext) -> int:
    schedule = ctx.schedule
    if not isinstance(schedule, RetentionSchedule):
        raise TypeError("the retention job needs the retention schedule")
    before = ctx.now - timedelta(days=schedule.runs_days)
    deleted = 0
    while not ctx.stopping.is_set():
        with ctx.services.sessions.begin() as session:
            n = claims.delete_old_runs(session, before, batch=BATCH)
        deleted += n
        if n < BATCH:
            break
    with ctx.services.sessions.begin() as session:
        other = claims.delete_old_scheduler_rows(session, items_before=ctx.now - ITEMS_KEPT, claims_before=before)
        for prune in PRUNERS:
            other += prune(session, ctx.now, schedule)
    logger.info("retention: deleted %d run(s) older than %s and %d scheduler row(s)", deleted, before.date(), other)
    return deleted
