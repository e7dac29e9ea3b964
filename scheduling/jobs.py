"""The job table: what runs, on which schedule, for whom.

Adding a job is one line in :data:`JOBS`, e.g.::

    ScheduledJob("keep_alive", "keep_alive", False, lambda ctx: keep_alive(ctx.services, now=ctx.now)),

``schedule_key`` names the block of ``schedules:`` (config/schedules.py) that says when it runs.
A ``per_integration`` job is claimed and run once per integration and period (``ctx.integration``
is that integration); any other job once per period for the process group, with every
integration in ``ctx.integrations``. ``run`` raising marks that period failed (/healthz shows
the error); the period is not retried, the next one runs as usual.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from config.schedules import ReconcileSchedule
from scheduling import retention, sweep
from scheduling.base import JobContext, ScheduledJob
from scheduling.periods import quarter_before
from service.digests import DigestOutcome, Quarter, retry_pending_digests, run_quarterly_digest
from service.keep_alive import KeepAliveReport, keep_alive
from service.reconcile import ReconcileReport, reconcile

__all__ = ["JOBS", "JobContext", "ScheduledJob"]

logger = logging.getLogger(__name__)

# A digest missed while everything was down is still worth sending in its first week.
DIGEST_LATE_LIMIT = timedelta(days=7)


def digest(ctx: JobContext) -> DigestOutcome | None:
    """The digest of the quarter that just ended: its period is the quarter it runs in. A
    digest due more than :data:`DIGEST_LATE_LIMIT` ago is not sent: that is a first start in
    mid-quarter, not a missed morning (``python app.py digest --post`` sends one by hand)."""
    if ctx.now - ctx.period.due_at > DIGEST_LATE_LIMIT:
        logger.info("scheduler: the digest due %s is too late to send; next quarter's will be", ctx.period.due_at)
        return None
    return run_quarterly_digest(
        ctx.services,
        quarter=Quarter.parse(quarter_before(ctx.period_key)),
        post=True,
        minutes_per_diagnosis=ctx.services.config.schedules.digest.minutes_per_diagnosis,
    )


def retry_digests(ctx: JobContext) -> list[DigestOutcome]:
    return retry_pending_digests(
        ctx.services, minutes_per_diagnosis=ctx.services.config.schedules.digest.minutes_per_diagnosis
    )


def keep_tokens_alive(ctx: JobContext) -> KeepAliveReport:
    return keep_alive(ctx.services, now=ctx.now)


def reconcile_nightly(ctx: JobContext) -> ReconcileReport:
    schedule = ctx.schedule
    window = schedule.window_days if isinstance(schedule, ReconcileSchedule) else ReconcileSchedule().window_days
    return reconcile(
        ctx.services, ctx.integration.name, now=ctx.now, window_days=window, announce=ctx.services.announce_request
    )


JOBS: list[ScheduledJob] = [
    ScheduledJob("sweep", "sweep", False, sweep.run, on_claim=sweep.enqueue, join=sweep.join, done=sweep.done),
    ScheduledJob("retention", "retention", False, retention.run),
    ScheduledJob("keep_alive", "keep_alive", False, keep_tokens_alive),
    ScheduledJob("reconcile", "reconcile", True, reconcile_nightly),
    ScheduledJob("digest", "digest", False, digest, quarterly=True),
    # a digest a channel refused is kept: tried again daily, on the keep-alive's schedule
    ScheduledJob("digest_retry", "keep_alive", False, retry_digests),
]
