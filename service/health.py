"""The health of every integration, read from the stored runs (App Home, ``/sync-check list``,
``sync-doctor list``): no API call, so it answers as fast as the database does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from config.integrations import IntegrationConfig
from store import repositories as repo
from store.models import Run


@dataclass(frozen=True, slots=True)
class IntegrationHealth:
    """One line of the App Home / `list`: the latest stored run of one integration."""

    name: str
    source: str
    destination: str
    last_run_at: datetime | None
    fail: int
    warn: int
    error: int
    blocked_invoices: int
    blocked_amounts: dict[str, str]
    oldest_unsynced_days: int | None
    token_expires_at: datetime | None  # the nearest refresh-token end we know of

    @property
    def status(self) -> str:
        if self.last_run_at is None:
            return "unchecked"
        if self.fail or self.error:
            return "failing"
        return "warning" if self.warn else "healthy"


def overview(session: Session, integrations: Sequence[IntegrationConfig]) -> list[IntegrationHealth]:
    runs = repo.latest_runs(session, [i.name for i in integrations])
    health = []
    for integration in integrations:
        run = runs.get(integration.name)
        connections = repo.connections_for(session, integration.name)
        expiries = [utc(c.refresh_expires_at) for c in connections.values() if c.refresh_expires_at]
        health.append(
            IntegrationHealth(
                name=integration.name,
                source=integration.source.system,
                destination=integration.destination.system,
                last_run_at=utc(run.started_at) if run else None,
                fail=run.fail_count if run else 0,
                warn=run.warn_count if run else 0,
                error=run.error_count if run else 0,
                blocked_invoices=run.blocked_invoices if run else 0,
                blocked_amounts=dict(run.blocked_amounts or {}) if run else {},
                oldest_unsynced_days=_oldest_unsynced(run),
                token_expires_at=min((e for e in expiries if e), default=None),
            )
        )
    return health


def _oldest_unsynced(run: Run | None) -> int | None:
    if run is None:
        return None
    for row in run.findings:
        if row.code == "sync.unsynced":
            rows = (row.evidence or {}).get("invoices", [])
            ages: list[int] = [
                i["age_days"] for i in rows if isinstance(i, dict) and isinstance(i.get("age_days"), int)
            ]
            if ages:
                return max(ages)
    return None


def utc(value: datetime | None) -> datetime | None:
    """Stored datetimes come back naive from SQLite: they were written in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def scheduler_report(session: Session, sweep_every: int | None, now: datetime) -> dict[str, Any]:
    """The scheduler as /healthz shows it, from the job claims every replica writes: when the
    last sweep finished, how late the next one is (``lag_s``: seconds past the sweep interval
    since the last one ended; 0 when on time), each job whose latest period failed, and
    each digest not posted (``digests_pending``: why, how many tries, the command that sends it).
    ``sweep_every``: the sweep's interval in seconds (None when the sweep is not periodic)."""
    from store.claims import job_states
    from store.digests_repo import pending_digests

    states = job_states(session)
    sweep = states.get("sweep")
    last_end = sweep.last_success_at if sweep is not None else None
    report: dict[str, Any] = {
        "status": "ok",
        "last_sweep_end": last_end.isoformat() if last_end else None,
        "lag_s": None,
        "jobs_failing": {
            name: {
                "period": s.last_period,
                "error": s.last_error,
                "at": s.last_finished_at.isoformat() if s.last_finished_at else None,
            }
            for name, s in sorted(states.items())
            if s.last_error
        },
        # A digest the channel refused (the bot is not in it): the job itself succeeded (the
        # digest is kept), so only this says that nobody got it, why, and how to send it.
        "digests_pending": [
            {
                "quarter": row.quarter,
                "error": row.error,
                "attempts": row.attempts,
                "generated_at": g.isoformat() if (g := utc(row.generated_at)) else None,
                "retry": f"sync-doctor digest --post --quarter {row.quarter}",
            }
            for row in pending_digests(session)
        ],
        "jobs": {
            name: {
                "last_period": s.last_period,
                "last_success_at": s.last_success_at.isoformat() if s.last_success_at else None,
                "running": s.last_finished_at is None,
            }
            for name, s in sorted(states.items())
        },
    }
    if last_end is not None and sweep_every:
        report["lag_s"] = round(max(0.0, (now - last_end).total_seconds() - sweep_every), 1)
        if report["lag_s"] > sweep_every:
            report["status"] = "late"  # a whole sweep missed
    if report["jobs_failing"] or report["digests_pending"]:
        report["status"] = "failing"
    return report
