"""The health of every integration, read from the stored runs (App Home, ``/sync-check list``,
``sync-doctor list``): no API call, so it answers as fast as the database does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

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
