"""Running the checks as the rest of the app uses them: look the integration up, load what the
last run and the stored connections say, run the checks (``checks.runner``), store the run,
announce it (``service.notify``). The CLI, the Slack bot, the demo and scheduled jobs all come
through here, so a run is stored and compared the same way whoever asked for it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from checks.base import Check
from checks.context import ConnectionState, History
from checks.findings import Finding, ProposedAction, Severity
from checks.runner import DEFAULT_TIME_LIMIT, PreviousRun, RunResult, run_integration
from checks.trace import InvoiceTrace, trace_invoice
from common.money import decimal_text
from config.integrations import AppConfig, IntegrationConfig
from service import health, lookup
from service.errors import RunNotStored
from service.notify import RunNotifier
from service.providers import ProvidersFor
from store import actions_repo
from store import repositories as repo
from store.connections import decode
from store.counters import record_run_counters
from store.crypto import SecretKeyError, Vault
from store.models import Run

logger = logging.getLogger(__name__)

SCHEDULE = "schedule"  # the trigger of scheduled runs: stored only when something changed


def changed(result: RunResult) -> bool:
    """Whether ``result`` differs from the stored run it was compared with: a warning, failure
    or error that run did not have, or one of its findings cleared. (Statuses come from
    ``checks.runner.compare``, which counts a finding cleared only when its family ran.)"""
    if result.resolved:
        return True
    return any(f.status == "new" and f.severity >= Severity.WARN for f in result.findings)


@dataclass(frozen=True, slots=True)
class StoredProposal:
    """The action a stored finding proposed: what a surface's button asks for, read back from
    the run it was shown with (so the button needs to carry only the run and the position)."""

    integration: str
    code: str
    subject: str
    action: ProposedAction


class CheckService:
    def __init__(
        self,
        config: AppConfig,
        sessions: sessionmaker[Session],
        vault: Vault,
        provider_factory: ProvidersFor,
        checks: Sequence[Check],
        *,
        notifier: RunNotifier,
        time_limit: float = DEFAULT_TIME_LIMIT,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.vault = vault
        self.provider_factory = provider_factory
        self.checks = tuple(checks)
        self.notifier = notifier
        self.time_limit = time_limit

    # -- lookup ---------------------------------------------------------------------------

    def integrations(self) -> list[IntegrationConfig]:
        return lookup.integrations(self.config)

    def get(self, name: str) -> IntegrationConfig:
        """The integration called ``name``, or :class:`service.lookup.UnknownIntegration`."""
        return lookup.find(self.config, name)

    # -- runs -----------------------------------------------------------------------------

    def run(
        self,
        name: str,
        *,
        trigger: str = "cli",
        checks: Sequence[Check] | None = None,
        window_days: int | None = None,
    ) -> RunResult:
        """Run the checks and store the run; listeners (alerts, App Home) hear of it later, on
        the notifier's threads, so the caller's answer never waits for them. When the run
        cannot be stored (a locked or read-only database) :class:`RunNotStored` carries the
        result, so the report of calls already made is not lost. ``window_days`` replaces the
        integration's ``settings.window_days`` for this run (the nightly reconciliation's 7
        days); a configured ``settings.since`` still sets the window's start, as always."""
        integration = self.get(name)
        if window_days is not None:
            integration = replace(integration, settings=replace(integration.settings, window_days=window_days))
        chosen = checks if checks is not None else self.checks
        # The sweep's cheap checks never read the failed pushes (sync.failed is a full-run check).
        previous, connections, failed = self._load_state(
            integration.name, failed_pushes=not all(c.cheap for c in chosen)
        )
        result = run_integration(
            integration,
            chosen,
            # the credentials _load_state has just read and decrypted: not read again per side
            self.provider_factory(
                integration, {side: c.credentials for side, c in connections.items() if c.credentials is not None}
            ),
            previous=previous,
            connections=connections,
            history=History(last_synced_at=previous.last_synced_at if previous else None, failed_actions=failed),
            trigger=trigger,
            time_limit=self.time_limit,
        )
        # A sweep that found what the last stored run found adds nothing to history (every 15
        # minutes x every integration would grow it without bound): no run row, but it still
        # counts towards the digests' daily counters and is still announced to listeners.
        keep = not (trigger == SCHEDULE and previous is not None and not changed(result))
        try:
            with self.sessions.begin() as session:
                run_id = self._store(session, result).id if keep else None
                record_run_counters(session, result, result.trigger, result.started_at, self.config.timezone)
        except SQLAlchemyError as e:
            logger.error("the run of %s was not stored: %s", integration.name, type(e).__name__)
            raise RunNotStored(result, e) from e
        if run_id is not None:
            result = replace(result, run_id=run_id)
        self.notifier.publish(result)
        return result

    def trace(self, name: str, number: str, *, trigger: str = "cli") -> tuple[RunResult, InvoiceTrace]:
        """Why isn't invoice ``number`` in the destination? Runs the checks, then traces it
        through the data that run already fetched (no extra API calls)."""
        try:
            result = self.run(name, trigger=trigger)
        except RunNotStored as e:
            if e.result.context is not None:
                e.trace = trace_invoice(e.result.context, number.strip(), e.result.findings)
            raise
        assert result.context is not None
        return result, trace_invoice(result.context, number.strip(), result.findings)

    def _load_state(
        self, name: str, *, failed_pushes: bool
    ) -> tuple[PreviousRun | None, dict[str, ConnectionState], list[dict[str, Any]]]:
        with self.sessions() as session:
            # Invoice pushes of Sync Doctor's own actions that failed for good: sync.failed.
            failed = actions_repo.failed_pushes(session, name) if failed_pushes else []
            last = repo.latest_run_keys(session, name)
            previous = (
                PreviousRun(keys=last.keys, last_synced_at=health.utc(last.last_synced_at))
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
        return previous, connections, failed

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

    def overview(self) -> list[health.IntegrationHealth]:
        with self.sessions() as session:
            return health.overview(session, self.integrations())

    def proposal(self, run_id: int, position: int) -> StoredProposal | None:
        """The action finding ``position`` of stored run ``run_id`` proposed (None when the run,
        the finding or its action is not there)."""
        with self.sessions() as session:
            row = repo.finding_at(session, run_id, position)
            if row is None or not row.action:
                return None
            raw = row.action
            action = ProposedAction(
                str(raw.get("kind", "")),
                str(raw.get("label", "")),
                {str(k): str(v) for k, v in (raw.get("params") or {}).items()},
            )
            return StoredProposal(row.run.integration, row.code, row.subject, action)


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
