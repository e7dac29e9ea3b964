"""The scheduler's loop: APScheduler ticks; each tick works out which periods are due and
claims them in the database; what this process won runs on its job threads.

Why claims in the database and not APScheduler's job store: APScheduler 3 has no lock across
processes (two replicas sharing a SQLAlchemy job store would both run each job). Here
APScheduler only provides the tick thread (coalesced, never two ticks at once); the period
claim (``store/claims.py``, a unique key) decides who runs, on SQLite and on PostgreSQL alike.

- Each tick asks every job of :data:`scheduling.jobs.JOBS` for its current period (``periods``).
  A period this process settled (ran it, or saw it finished elsewhere) is not asked again.
- A won claim runs on a job thread; a heartbeat renews its lease while it runs. A claim lost
  to a live replica is looked at again only after its lease (a dead one is then taken over);
  a job with ``join`` (the sweep) helps the winner meanwhile.
- Catch-up: the current period of a job is the latest due one, so after a downtime each job
  runs once, for the latest missed period, and never for the ones before it.
- :meth:`Scheduler.stop`: no new periods or sweep items; running jobs get ``timeout`` seconds
  to finish; what is still unfinished is released (claims deleted, sweep items freed), so no
  claim is left waiting for its lease to run out.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from config.integrations import IntegrationConfig
from config.schedules import PER_INTEGRATION, JobSchedule, interval_text
from scheduling.base import JobContext, ScheduledJob
from scheduling.periods import Period, period_for
from scheduling.retry import in_transaction, reason
from service import metrics
from service.container import Services
from store import claims

logger = logging.getLogger(__name__)

TICK_SECONDS = 5.0  # how often due periods are looked for (the shortest interval is 10 s)
JOB_THREADS = 4
Clock = Callable[[], datetime]


def owner_id() -> str:
    """This process, as written in claims: host, pid and a token (pids are reused)."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Due:
    """One period of one job for one scope, ready to claim."""

    job: ScheduledJob
    scope: str
    period: Period
    schedule: JobSchedule
    integrations: tuple[IntegrationConfig, ...]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.job.name, self.scope, self.period.key)


def group_scope(schedule: JobSchedule, top: JobSchedule) -> str:
    """``*`` for the integrations on the top-level schedule, else the override's own name."""
    if schedule == top:
        return "*"
    return f"every={interval_text(schedule.every)}" if schedule.every is not None else f"at={schedule.describe()[3:]}"


def due_periods(services: Services, jobs: Sequence[ScheduledJob], now: datetime) -> Iterator[Due]:
    """Every job's current period, per scope (see :mod:`scheduling.jobs`)."""
    config = services.config
    tz = ZoneInfo(config.timezone)
    schedules = config.schedules
    integrations = sorted(config.integrations.values(), key=lambda i: i.name)
    for job in jobs:
        top = schedules.job(job.schedule_key)
        if job.per_integration:
            for integration in integrations:
                schedule = schedules.for_integration(integration.name, job.schedule_key)
                if schedule.enabled:
                    period = period_for(schedule, now, tz, quarterly=job.quarterly)
                    yield Due(job, integration.name, period, schedule, (integration,))
        elif job.schedule_key in PER_INTEGRATION:
            # One job, but integrations may override its schedule: one scope per schedule.
            groups: dict[JobSchedule, list[IntegrationConfig]] = {}
            for integration in integrations:
                groups.setdefault(schedules.for_integration(integration.name, job.schedule_key), []).append(integration)
            for schedule, members in groups.items():
                if schedule.enabled:
                    period = period_for(schedule, now, tz, quarterly=job.quarterly)
                    yield Due(job, group_scope(schedule, top), period, schedule, tuple(members))
        elif top.enabled:
            yield Due(job, "*", period_for(top, now, tz, quarterly=job.quarterly), top, tuple(integrations))


class Scheduler:
    def __init__(
        self,
        services: Services,
        jobs: Sequence[ScheduledJob] | None = None,
        *,
        tick_seconds: float = TICK_SECONDS,
        clock: Clock | None = None,
        owner: str | None = None,
    ) -> None:
        from scheduling.jobs import JOBS

        self.services = services
        self.jobs = tuple(JOBS if jobs is None else jobs)
        self.tick_seconds = tick_seconds
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.owner = owner or owner_id()
        self.started_at = self.clock()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str, str], Future[None]] = {}
        self._held: dict[tuple[str, str, str], float] = {}  # claims this process holds -> lease
        self._settled: set[tuple[str, str, str]] = set()
        self._retry_at: dict[tuple[str, str, str], float] = {}  # lost claims: look again then
        self._executor = ThreadPoolExecutor(max_workers=JOB_THREADS, thread_name_prefix="job")
        self._aps: object | None = None
        self._heartbeat: threading.Thread | None = None

    # -- life -----------------------------------------------------------------------------

    def start(self) -> Scheduler:
        from apscheduler.schedulers.background import BackgroundScheduler

        metrics.install(self.services)
        aps = BackgroundScheduler(timezone=UTC)
        aps.add_job(
            self.tick,
            "interval",
            seconds=self.tick_seconds,
            next_run_time=datetime.now(UTC),  # at once: catch-up happens on start
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            id="tick",
        )
        aps.start()
        self._aps = aps
        self._heartbeat = threading.Thread(target=self._renew_loop, name="job-heartbeat", daemon=True)
        self._heartbeat.start()
        logger.info(
            "scheduler started (%s): %s",
            self.owner,
            ", ".join(f"{j.name} {self.services.config.schedules.job(j.schedule_key).describe()}" for j in self.jobs),
        )
        return self

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop ticking, let running jobs finish within ``timeout`` s, release what did not.
        True when every job finished in time."""
        self.stopping.set()
        if self._aps is not None:  # once: stopping twice (a test's cleanup, a second signal) is a no-op
            aps, self._aps = self._aps, None
            aps.shutdown(wait=True)  # type: ignore[attr-defined]
        deadline = time.monotonic() + timeout
        with self._lock:
            running = list(self._running.values())
        finished = True
        for future in running:
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                finished = False
            except Exception:
                logger.exception("a scheduled job failed while stopping")
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._release_all()
        logger.info("scheduler stopped")
        return finished

    # -- ticking --------------------------------------------------------------------------

    def tick(self) -> list[Future[None]]:
        """Claim-and-run every due period not settled yet; the futures of the runs started."""
        if self.stopping.is_set():
            return []
        now = self.clock()
        started: list[Future[None]] = []
        try:
            due = list(due_periods(self.services, self.jobs, now))
        except Exception:
            logger.exception("scheduler: working out the due periods failed")
            return []
        current = {d.key for d in due}
        with self._lock:
            self._settled &= current  # forget periods that are over
            self._retry_at = {k: v for k, v in self._retry_at.items() if k in current}
        for d in due:
            with self._lock:
                if d.key in self._settled or d.key in self._running:
                    continue
                if self._retry_at.get(d.key, 0.0) > time.monotonic():
                    continue
                future = self._executor.submit(self._attempt, d, now)
                self._running[d.key] = future
            started.append(future)
        return started

    def run_due(self, timeout: float | None = None) -> None:
        """One tick, waiting for what it started (tests, ``worker --once``)."""
        for future in self.tick():
            future.result(timeout)

    def _attempt(self, d: Due, now: datetime) -> None:
        try:
            self._claim_and_run(d, now)
        except Exception:
            logger.exception("scheduler: %s %s %s failed", d.job.name, d.scope, d.period.key)
        finally:
            with self._lock:
                self._running.pop(d.key, None)

    def _context(self, d: Due, now: datetime) -> JobContext:
        return JobContext(
            services=self.services,
            now=now,
            period=d.period,
            scope=d.scope,
            integrations=d.integrations,
            schedule=d.schedule,
            owner=self.owner,
            stopping=self.stopping,
            clock=self.clock,
        )

    def _claim_and_run(self, d: Due, now: datetime) -> None:
        job, ctx = d.job, self._context(d, now)
        with self.services.sessions.begin() as session:
            won = claims.claim_job(
                session, job.name, d.scope, d.period.key, owner=self.owner, now=now, lease=job.lease_seconds
            )
            first = won and self._first_time_late(session, d)
            if first:  # settled without running: the next period is its first
                claims.finish_job(session, job.name, d.scope, d.period.key, owner=self.owner, now=now, error=None)
            elif won and job.on_claim is not None:
                job.on_claim(session, ctx)
        if first:
            logger.info(
                "scheduler: %s first runs at its next time (%s); nothing was missed", job.name, d.schedule.describe()
            )
            with self._lock:
                self._settled.add(d.key)
            return
        if not won:
            self._lost(d, ctx)
            return
        with self._lock:
            self._held[d.key] = job.lease_seconds
        logger.info("scheduler: running %s (%s) for %s", job.name, d.scope, d.period.key)
        error: str | None = None
        try:
            job.run(ctx)
        except Exception as e:
            # /healthz shows this: a database error's first line, not its SQL and parameters
            error = f"{type(e).__name__}: {reason(e) if isinstance(e, DBAPIError) else e}"
            logger.exception("scheduler: %s (%s) for %s failed", job.name, d.scope, d.period.key)
        release = self.stopping.is_set() and error is None and not _completed(job, ctx)

        def settle(session: Session) -> None:
            if release:
                claims.release_job(session, job.name, d.scope, d.period.key, owner=self.owner)
            else:
                claims.finish_job(
                    session, job.name, d.scope, d.period.key, owner=self.owner, now=self.clock(), error=error
                )

        try:  # the job's work is done: a database that restarted meanwhile must not undo it
            in_transaction(self.services.sessions, settle, what=f"settling {job.name} {d.period.key}")
        finally:
            with self._lock:
                self._held.pop(d.key, None)  # renewed until settled, or lost with the process
        if release:
            return
        metrics.JOB_RUNS.labels(job=job.name, outcome="error" if error else "ok").inc()
        with self._lock:
            self._settled.add(d.key)

    def _first_time_late(self, session: Session, d: Due) -> bool:
        """A job at a set time (the nightly reconciliation, the digest) that never ran in this
        database, whose period fell due before this process started: that is a first start,
        not a missed run, so it is not caught up (a new install would otherwise reconcile
        every integration, or post last quarter's digest, the moment it starts)."""
        if d.schedule.at is None or d.period.due_at >= self.started_at:
            return False
        return not claims.job_ran_before(session, d.job.name, self.started_at)

    def _lost(self, d: Due, ctx: JobContext) -> None:
        """Someone else holds (or finished) this period."""
        with self.services.sessions() as session:
            row = next(
                (
                    c
                    for c in claims.unfinished_claims(session)
                    if (c.job, c.scope, c.period_key) == (d.job.name, d.scope, d.period.key)
                ),
                None,
            )
        if row is None:  # finished elsewhere: nothing left to do in this period
            with self._lock:
                self._settled.add(d.key)
            return
        if d.job.join is not None:
            d.job.join(ctx)
        with self._lock:  # a live owner renews its lease; look again once it could have run out
            self._retry_at[d.key] = time.monotonic() + min(d.job.lease_seconds, 60.0)

    # -- leases ---------------------------------------------------------------------------

    def _renew_loop(self) -> None:
        while not self.stopping.wait(self._renew_every()):
            with self._lock:
                held = dict(self._held)
            for (job, scope, period), lease in held.items():
                try:
                    with self.services.sessions.begin() as session:
                        claims.renew_job(session, job, scope, period, owner=self.owner, now=self.clock(), lease=lease)
                except Exception:
                    logger.exception("scheduler: renewing the lease of %s %s failed", job, period)

    def _renew_every(self) -> float:
        leases = [j.lease_seconds for j in self.jobs] or [300.0]
        return max(1.0, min(leases) / 3)

    def _release_all(self) -> None:
        try:
            with self.services.sessions.begin() as session:
                with self._lock:
                    held = list(self._held)
                    self._held.clear()
                for job, scope, period in held:
                    claims.release_job(session, job, scope, period, owner=self.owner)
                freed = claims.release_sweep_items(session, owner=self.owner)
            if held or freed:
                logger.info("scheduler: released %d claim(s) and %d sweep item(s) on stop", len(held), freed)
        except Exception:
            logger.exception("scheduler: releasing claims on stop failed (their leases will expire)")


def _completed(job: ScheduledJob, ctx: JobContext) -> bool:
    """Whether a job that returned while stopping still did all its work."""
    return job.done(ctx) if job.done is not None else False
