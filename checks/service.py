"""The checks as the rest of the app uses them: run one integration, store the run, trace one
invoice, summarise every integration's health. The CLI, the Slack bot and scheduled jobs all
come through here, so a run is stored and compared the same way whoever asked for it.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from checks.base import Check
from checks.context import ConnectionState, History
from checks.findings import Finding, Severity
from checks.runner import PreviousRun, ProviderFactory, RunResult, run_integration
from checks.trace import InvoiceTrace, trace_invoice
from common.money import decimal_text
from config.integrations import AppConfig, IntegrationConfig
from store import repositories as repo
from store.connections import decode
from store.crypto import SecretKeyError, Vault
from store.models import Run

logger = logging.getLogger(__name__)

RunListener = Callable[[RunResult], None]


class UnknownIntegration(LookupError):
    def __init__(self, name: str, suggestions: Sequence[str]) -> None:
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"No integration named {name!r}.{hint}")
        self.name = name
        self.suggestions = tuple(suggestions)


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


class CheckService:
    def __init__(
        self,
        config: AppConfig,
        sessions: sessionmaker[Session],
        vault: Vault,
        provider_factory: Callable[[IntegrationConfig], ProviderFactory],
        checks: Sequence[Check],
        *,
        time_limit: float = 60.0,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.vault = vault
        self.provider_factory = provider_factory
        self.checks = tuple(checks)
        self.time_limit = time_limit
        self.listeners: list[RunListener] = []

    # -- lookup ---------------------------------------------------------------------------

    def integrations(self) -> list[IntegrationConfig]:
        return [self.config.integrations[name] for name in sorted(self.config.integrations)]

    def get(self, name: str) -> IntegrationConfig:
        integration = self.config.get(name)
        if integration is None:
            raise UnknownIntegration(name, self.suggest(name))
        return integration

    def suggest(self, name: str, n: int = 3) -> list[str]:
        names = sorted(self.config.integrations)
        return difflib.get_close_matches(name.strip().lower(), names, n=n, cutoff=0.5)

    # -- runs -----------------------------------------------------------------------------

    def run(self, name: str, *, trigger: str = "cli", checks: Sequence[Check] | None = None) -> RunResult:
        """Run the checks, store the run, tell listeners (alerts, App Home)."""
        integration = self.get(name)
        previous, connections = self._load_state(integration.name)
        result = run_integration(
            integration,
            checks if checks is not None else self.checks,
            self.provider_factory(integration),
            previous=previous,
            connections=connections,
            history=History(last_synced_at=previous.last_synced_at if previous else None),
            trigger=trigger,
            time_limit=self.time_limit,
        )
        with self.sessions.begin() as session:
            run = self._store(session, result)
            run_id = run.id
        result = replace(result, run_id=run_id)
        for listener in self.listeners:
            try:
                listener(result)
            except Exception:
                # A failed alert post must not lose the run: it is stored already.
                logger.exception("run %s: a run listener failed", result.ref)
        return result

    def trace(self, name: str, number: str, *, trigger: str = "cli") -> tuple[RunResult, InvoiceTrace]:
        """Why isn't invoice ``number`` in the destination? Runs the checks, then traces it
        through the data that run already fetched (no extra API calls)."""
        result = self.run(name, trigger=trigger)
        assert result.context is not None
        return result, trace_invoice(result.context, number.strip(), result.findings)

    def _load_state(self, name: str) -> tuple[PreviousRun | None, dict[str, ConnectionState]]:
        with self.sessions() as session:
            last = repo.latest_run(session, name)
            previous = (
                PreviousRun(
                    keys=frozenset((row.code, row.subject) for row in last.findings),
                    last_synced_at=_utc(last.last_synced_at),
                )
                if last is not None
                else None
            )
            connections: dict[str, ConnectionState] = {}
            for side, row in repo.connections_for(session, name).items():
                try:
                    credentials = decode(row, self.vault)
                except SecretKeyError as e:
                    connections[side] = ConnectionState(state="disconnected", last_error=str(e))
                    continue
                connections[side] = ConnectionState(state=row.state, last_error=row.last_error, credentials=credentials)
        return previous, connections

    def _store(self, session: Session, result: RunResult) -> Run:
        blocked = result.blocked
        return repo.add_run(
            session,
            integration=result.integration,
            trigger=result.trigger,
            started_at=result.started_at,
            duration_s=result.duration_s,
            counts={
                "fail": result.count(Severity.FAIL),
                "warn": result.count(Severity.WARN),
                "error": result.count(Severity.ERROR),
            },
            blocked_invoices=len(blocked.blocked),
            blocked_amounts={cur: decimal_text(v) for cur, v in blocked.amounts.items()},
            api_calls=result.api_calls,
            timings=result.timings,
            resolved=result.resolved,
            last_synced_at=result.last_synced_at,
            findings=[finding_row(f) for f in result.findings],
        )

    # -- reading stored runs --------------------------------------------------------------

    def overview(self) -> list[IntegrationHealth]:
        names = [i.name for i in self.integrations()]
        with self.sessions() as session:
            runs = repo.latest_runs(session, names)
            health = []
            for integration in self.integrations():
                run = runs.get(integration.name)
                connections = repo.connections_for(session, integration.name)
                expiries = [_utc(c.refresh_expires_at) for c in connections.values() if c.refresh_expires_at]
                health.append(
                    IntegrationHealth(
                        name=integration.name,
                        source=integration.source.system,
                        destination=integration.destination.system,
                        last_run_at=_utc(run.started_at) if run else None,
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


def finding_row(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": int(finding.severity),
        "subject": finding.subject[:500],
        "system": finding.system,
        "status": finding.status,
        "evidence": dict(finding.evidence),
        "impact": finding.impact.to_storage(),
        "action": finding.action.to_json() if finding.action else None,
    }


def _oldest_unsynced(run: Run | None) -> int | None:
    if run is None:
        return None
    for row in run.findings:
        if row.code == "sync.unsynced":
            rows = (row.evidence or {}).get("invoices", [])
            ages = [i["age_days"] for i in rows if isinstance(i, dict) and isinstance(i.get("age_days"), int)]
            if ages:
                return max(ages)
    return None


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
