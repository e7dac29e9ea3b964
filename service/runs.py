"""Running the checks as the rest of the app uses them: look the integration up, load what the
last run and the stored connections say, run the checks (``checks.runner``), store the run,
announce it (``service.notify``). The CLI, the Slack bot, the demo and scheduled jobs all come
through here, so a run is stored and compared the same way whoever asked for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
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
from store.counters import record_runs_counters
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
class RunState:
    """What one run starts from: the last stored run's findings, the stored connections, and
    Sync Doctor's own pushes that failed for good (sync.failed)."""

    previous: PreviousRun | None
    connections: dict[str, ConnectionState]
    failed: list[dict[str, Any]]


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
        self.get(name)  # an unknown name fails before anything is read
        chosen = checks if checks is not None else self.checks
        state = self.load_states([name], checks=chosen)[name]
        result = self.check(name, state, trigger=trigger, checks=chosen, window_days=window_days)
        return self.store([(result, state)])[0]

    # A sweep checks integrations in batches (scheduling/sweep.py): their state read in one
    # transaction, each checked, all stored in one transaction. ``run`` is the batch of one.

    def load_states(self, names: Sequence[str], *, checks: Sequence[Check]) -> dict[str, RunState]:
        """What the runs of ``names`` compare with and connect with, read in one transaction.
        The sweep's cheap checks never read the failed pushes (sync.failed is a full-run check)."""
        failed_pushes = not all(c.cheap for c in checks)
        with self.sessions() as session:
            latest = repo.latest_run_keys_of(session, names)
            rows = repo.connections_of(session, names)
            states: dict[str, RunState] = {}
            for name in names:
                # Invoice pushes of Sync Doctor's own actions that failed for good: sync.failed.
                failed = actions_repo.failed_pushes(session, name) if failed_pushes else []
                last = latest.get(name)
                previous = (
                    PreviousRun(keys=last.keys, last_synced_at=health.utc(last.last_synced_at))
                    if last is not None
                    else None
                )
                states[name] = RunState(previous, self._connection_states(rows.get(name, {})), failed)
        return states

    def check(
        self,
        name: str,
        state: RunState,
        *,
        trigger: str,
        checks: Sequence[Check] | None = None,
        window_days: int | None = None,
    ) -> RunResult:
        """Run the checks of ``name`` (no database work: :meth:`store` keeps the result)."""
        integration = self.get(name)
        if window_days is not None:
            integration = replace(integration, settings=replace(integration.settings, window_days=window_days))
        previous, connections = state.previous, state.connections
        return run_integration(
            integration,
            checks if checks is not None else self.checks,
            # the credentials load_states has just read and decrypted: not read again per side
            self.provider_factory(
                integration, {side: c.credentials for side, c in connections.items() if c.credentials is not None}
            ),
            previous=previous,
            connections=connections,
            history=History(last_synced_at=previous.last_synced_at if previous else None, failed_actions=state.failed),
            trigger=trigger,
            time_limit=self.time_limit,
        )

    def store(
        self,
        checked: Sequence[tuple[RunResult, RunState]],
        *,
        also: Callable[[Session], object] | None = None,
    ) -> list[RunResult]:
        """Store the results of ``checked`` (each with the state its run started from) in one
        transaction, with ``also`` (the sweep marks its items done with its runs), then announce
        them. :class:`RunNotStored` (with the first result) when the transaction fails: none of
        them is stored or announced."""
        results = [result for result, _ in checked]
        stored: list[RunResult] = []
        try:
            with self.sessions.begin() as session:
                rows: list[Run | None] = []
                for result, state in checked:
                    # A sweep that found what the last stored run found adds nothing to history
                    # (every 15 minutes x every integration would grow it without bound): no run
                    # row, but it still counts towards the digests' daily counters and is still
                    # announced to listeners.
                    keep = not (result.trigger == SCHEDULE and state.previous is not None and not changed(result))
                    rows.append(self._store(session, result) if keep else None)
                session.flush()  # the batch's runs inserted together: their ids
                for result, row in zip(results, rows, strict=True):
                    stored.append(replace(result, run_id=row.id) if row is not None else result)
                record_runs_counters(
                    session, [(result, result.trigger, result.started_at) for result in results], self.config.timezone
                )
                if also is not None:
                    also(session)
        except SQLAlchemyError as e:
            names = ", ".join(r.integration for r in results)
            logger.error("the run(s) of %s were not stored: %s", names, type(e).__name__)
            if not results:
                raise
            raise RunNotStored(results[0], e) from e
        for result in stored:
            self.notifier.publish(result)
        return stored

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

    def _connection_states(self, rows: dict[str, Any]) -> dict[str, ConnectionState]:
        connections: dict[str, ConnectionState] = {}
        for side, row in rows.items():
            try:
                credentials = decode(row, self.vault)
            except SecretKeyError as e:
                connections[side] = ConnectionState(state="disconnected", last_error=str(e))
                continue
            connections[side] = ConnectionState(state=row.state, last_error=row.last_error, credentials=credentials)
        return connections

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
