"""Step rows as the engine writes them: every change committed with its audit row, in the
same transaction, before the engine goes on (so a crash can never leave a change unaudited,
nor an attempt unrecorded once its request may have left)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from actions.links import web_link
from actions.states import STEP_DONE, StepState
from store import actions_repo as repo

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another process took the action over (this one was thought dead): stop at once."""


@dataclass(eq=False)  # compared and hashed by identity: one object per step row
class Step:
    id: int
    position: int
    kind: str
    ref: str
    state: str
    attempts: int
    key: str
    destination_id: str | None = None
    error: str | None = None
    finding: str | None = None
    retries: int = 0  # retries used in this run (the budget is per run)

    @property
    def done(self) -> bool:
        return self.state in STEP_DONE


class StepBook:
    """The steps of one action in the store, for the process that holds its lease."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        action_id: int,
        integration: str,
        system: str,  # the destination's, for links
        environment: str | None,
        owner: str,
        clock: Callable[[], datetime],
        lease: timedelta,
    ) -> None:
        self.sessions = sessions
        self.action_id = action_id
        self.integration = integration
        self.system = system
        self.environment = environment
        self.owner = owner
        self.clock = clock
        self.lease = lease
        self._renewed: datetime | None = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions.begin() as session:
            yield session

    def load(self) -> list[Step]:
        with self.sessions() as session:
            rows = repo.steps_of(session, self.action_id)
        return [
            Step(r.id, r.position, r.kind, r.ref, r.state, r.attempts, r.idempotency_key, r.destination_id)
            for r in rows
        ]

    def renew(self) -> None:
        """Extend the lease; :class:`LeaseLost` when another process has taken the action."""
        now = self.clock()
        with self.transaction() as session:
            if not repo.renew(session, self.action_id, owner=self.owner, lease_until=now + self.lease, now=now):
                raise LeaseLost(f"action {self.action_id} is no longer run by {self.owner}")
        self._renewed = now

    def keep(self) -> None:
        """Renew the lease once a quarter of it has gone by (called as the run goes on)."""
        if self._renewed is None or self.clock() - self._renewed > self.lease / 4:
            self.renew()

    def _audit(
        self, session: Session, step: Step, event: str, before: str, after: str, detail: dict[str, Any], now: datetime
    ) -> None:
        repo.audit(
            session,
            at=now,
            integration=self.integration,
            actor="system",
            event=event,
            action_id=self.action_id,
            step_id=step.id,
            before=before,
            after=after,
            detail={"kind": step.kind, "ref": step.ref, **detail},
        )

    def mark_sending(self, steps: Sequence[Step]) -> list[Step]:
        """pending -> sending for those still pending; the steps marked."""
        marked = [s for s in steps if s.state == StepState.PENDING]
        if not marked:
            return []
        now = self.clock()
        with self.transaction() as session:
            for step in marked:
                repo.update_step(session, step.id, state=StepState.SENDING.value, updated_at=now)
                self._audit(
                    session,
                    step,
                    "step.sending",
                    step.state,
                    StepState.SENDING.value,
                    {"idempotency_key": step.key},
                    now,
                )
                step.state = StepState.SENDING.value
        return marked

    def count_attempt(self, steps: Sequence[Step]) -> None:
        """Committed before the request leaves: ``attempts`` > 0 means it may have landed."""
        now = self.clock()
        with self.transaction() as session:
            for step in steps:
                step.attempts += 1
                repo.update_step(session, step.id, attempts=step.attempts, updated_at=now)
                detail = {"attempt": step.attempts, "idempotency_key": step.key}
                self._audit(session, step, "step.attempt", step.state, step.state, detail, now)

    def retrying(self, steps: Sequence[Step], error: str, wait: float, what: str) -> None:
        now = self.clock()
        with self.transaction() as session:
            for step in steps:
                detail = {"of": what, "error": error, "wait_s": round(wait, 3)}
                self._audit(session, step, "step.retry", step.state, step.state, detail, now)

    def finish(
        self,
        session: Session,
        step: Step,
        state: StepState,
        *,
        destination_id: str | None = None,
        reply: dict[str, Any] | None = None,
        error: str | None = None,
        code: str | None = None,
        finding: str | None = None,
    ) -> None:
        """Record what ``step`` became, inside the caller's transaction."""
        now = self.clock()
        before = step.state
        step.state, step.destination_id, step.error, step.finding = state.value, destination_id, error, finding
        repo.update_step(
            session,
            step.id,
            state=state.value,
            destination_id=destination_id,
            link=web_link(self.system, step.kind, destination_id, environment=self.environment),
            reply=reply,
            error=error,
            error_code=code,
            finding_code=finding,
            updated_at=now,
            finished_at=now,
        )
        detail: dict[str, Any] = {"attempts": step.attempts}
        if destination_id:
            detail["destination_id"] = destination_id
        if reply:
            detail["reply"] = reply
        if error:
            detail.update(error=error, code=code, finding=finding)
        self._audit(session, step, f"step.{state.value}", before, state.value, detail, now)

    def finish_one(self, step: Step, state: StepState, **fields: Any) -> None:
        with self.transaction() as session:
            self.finish(session, step, state, **fields)
