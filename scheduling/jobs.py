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

from scheduling import retention, sweep
from scheduling.base import JobContext, ScheduledJob

__all__ = ["JOBS", "JobContext", "ScheduledJob"]

JOBS: list[ScheduledJob] = [
    ScheduledJob("sweep", "sweep", False, sweep.run, on_claim=sweep.enqueue, join=sweep.join, done=sweep.done),
    ScheduledJob("retention", "retention", False, retention.run),
    # Wired at merge (their bodies live in service/): keep_alive, reconcile (per integration),
    # digest (quarterly=True). One line each, as in the module docstring.
]
