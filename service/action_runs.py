"""Running actions for :class:`service.actions.ActionService`: claiming one (a conditional
UPDATE puts a lease in this process's name), handing it to the engine
(:class:`actions.engine.Engine`), recording how it ended, then reading back what it wrote and
re-running the checks (through :class:`service.runs.CheckService`, so alerts follow).

A claim is what makes a run happen once: ``run`` claims an approved action; ``resume`` claims
an approved one nobody started, or a running one whose process stopped (on this host: its pid
is gone; elsewhere: its lease ran out), by compare-and-swap on the owner, so two resuming
processes cannot both take it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from actions.engine import LEASE, Engine, ProgressCallback
from actions.errors import Interrupted, NotRunnable, PlanRefused
from actions.plans import Blocker
from actions.states import ActionKind, ActionState, StepKind, StepState, outcome
from actions.steps import LeaseLost
from actions.verify import Landed, verify
from checks.context import SideData
from checks.errors import finding_for_error
from checks.runner import ProviderFactory, RunResult
from config.integrations import IntegrationConfig
from providers.base import Provider
from providers.errors import ProviderError
from providers.http import CallStats
from service.action_views import ActionOutcome, ActionView
from store import actions_repo as repo

if TYPE_CHECKING:
    from service.actions import ActionService

logger = logging.getLogger(__name__)


def open_side(make: ProviderFactory, config: IntegrationConfig, side: str, stats: CallStats) -> Provider:
    """The provider of one side; a side that cannot be opened (not connected, no client for
    its system) is a refusal carrying the finding that explains it."""
    try:
        return make(side, config.side(side), stats)
    except ProviderError as e:
        blocker = Blocker.from_finding(finding_for_error(e, SideData(side, config.side(side), None)))
        raise PlanRefused(e.message, [(config.side(side).system, blocker)]) from e


class ActionRuns:
    def __init__(self, service: ActionService) -> None:
        self.service = service
        self._active: set[int] = set()  # actions this process is running now

    def run(self, action_id: int, *, on_progress: ProgressCallback | None, verify: bool) -> ActionOutcome:
        """Run an approved action (once: a second call is refused)."""
        view = self.service.get(action_id)
        if view.state != ActionState.APPROVED:
            raise NotRunnable(
                f"action {action_id} is {view.state.replace('_', ' ')}: only an approved action runs",
                action_id=action_id,
                state=view.state,
            )
        if not self._claim(view, previous_owner=None):
            latest = self.service.get(action_id)
            raise NotRunnable(
                f"action {action_id} is already {latest.state.replace('_', ' ')}",
                action_id=action_id,
                state=latest.state,
            )
        return self._execute(action_id, on_progress=on_progress, verify=verify)

    def resume(self, *, on_progress: ProgressCallback | None, verify: bool) -> list[ActionOutcome]:
        """Finish what was left unfinished (see the module docstring)."""
        with self.service.sessions() as session:
            candidates = [(a.id, a.state, a.claimed_by, a.lease_expires_at) for a in repo.unfinished(session)]
        outcomes = []
        for action_id, state, owner, lease in candidates:
            if action_id in self._active:
                continue
            if state == ActionState.RUNNING and not self._stopped(owner, lease):
                continue
            view = self.service.get(action_id)
            if self._claim(view, previous_owner=owner if state == ActionState.RUNNING else None):
                logger.info("resuming action %s (%s, was %s)", action_id, view.label, owner or "never started")
                outcomes.append(self._execute(action_id, on_progress=on_progress, verify=verify))
        return outcomes

    def _stopped(self, owner: str | None, lease: datetime | None) -> bool:
        """Is the process that claimed an action gone?"""
        if owner is None or owner == self.service.owner:
            return True  # ours but not active here: a run of ours that stopped part way
        host, _, rest = owner.partition(":")
        pid = rest.partition(":")[0]
        if host == socket.gethostname() and pid.isdigit():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                pass  # alive, someone else's
            else:
                return False
        expiry = lease.replace(tzinfo=UTC) if lease is not None and lease.tzinfo is None else lease
        return expiry is None or expiry <= self.service.clock()

    def _claim(self, view: ActionView, *, previous_owner: str | None) -> bool:
        now = self.service.clock()
        state = ActionState.RUNNING if previous_owner is not None else ActionState.APPROVED
        with self.service.sessions.begin() as session:
            won = repo.claim(
                session,
                view.id,
                owner=self.service.owner,
                lease_until=now + LEASE,
                now=now,
                state=state.value,
                previous_owner=previous_owner,
            )
            if won:
                repo.audit(
                    session,
                    at=now,
                    integration=view.integration,
                    actor="system",
                    event="action.running" if previous_owner is None else "action.resumed",
                    action_id=view.id,
                    before=view.state,
                    after=ActionState.RUNNING.value,
                    detail={
                        "owner": self.service.owner,
                        "previous_owner": previous_owner,
                        "approved_by": view.decided_by,
                    },
                )
        return won

    def _execute(self, action_id: int, *, on_progress: ProgressCallback | None, verify: bool) -> ActionOutcome:
        view = self.service.get(action_id)
        integration = self.service.config.get(view.integration)
        if integration is None:
            self._fail(view, f"integration {view.integration} is no longer in the configuration")
            return ActionOutcome(self.service.get(action_id))
        assert view.plan is not None
        if integration.destination.system != view.plan.destination:
            self._fail(
                view,
                f"{view.integration}'s destination is now {integration.destination.system}, "
                f"not the {view.plan.destination} this action was planned for: ask again",
            )
            return ActionOutcome(self.service.get(action_id))
        destination: Provider | None = None
        self._active.add(action_id)
        try:
            if view.kind != ActionKind.REAUTHORISE:
                try:
                    destination = open_side(
                        self.service.write_providers(integration), integration, "destination", CallStats()
                    )
                except ProviderError as e:
                    self._fail(view, f"{integration.destination.system} cannot be reached: {e.message}")
                    return ActionOutcome(self.service.get(action_id))
            engine = Engine(
                self.service.sessions,
                owner=self.service.owner,
                clock=self.service.clock,
                retry=self.service.retry,
                sleep=self.service.sleep,
            )
            result = engine.run(
                action_id,
                integration,
                view.plan,
                destination,
                links=self.service.links,
                issued_to=view.decided_by,
                on_progress=on_progress,
            )
            self._finish(view, [StepState(s.state) for s in result.steps])
        except LeaseLost as e:
            logger.warning("action %s: %s; stopping here", action_id, e)
            return ActionOutcome(self.service.get(action_id))
        except SQLAlchemyError as e:
            logger.error("action %s stopped: the database failed (%s); `actions resume` finishes it", action_id, e)
            raise Interrupted(
                f"action {action_id} stopped part way: the database could not be written "
                "(`sync-doctor actions resume` finishes it)",
                action_id=action_id,
            ) from e
        finally:
            self._active.discard(action_id)
            if destination is not None:
                destination.close()
        check = self._verify(action_id, integration) if verify and view.kind != ActionKind.REAUTHORISE else None
        return ActionOutcome(self.service.get(action_id), link=result.link, check=check)

    def _finish(self, view: ActionView, states: Sequence[StepState]) -> None:
        final = outcome(states)
        counts = {s.value: states.count(s) for s in StepState if states.count(s)}
        now = self.service.clock()
        with self.service.sessions.begin() as session:
            if repo.finish(
                session,
                view.id,
                owner=self.service.owner,
                state=final.value,
                summary={"steps": counts},
                error=None,
                now=now,
            ):
                repo.audit(
                    session,
                    at=now,
                    integration=view.integration,
                    actor="system",
                    event=f"action.{final.value}",
                    action_id=view.id,
                    before=ActionState.RUNNING.value,
                    after=final.value,
                    detail={"steps": counts},
                )
        logger.info("action %s %s: %s", view.id, final.value, counts)

    def _fail(self, view: ActionView, error: str) -> None:
        """Fail a claimed action before any step ran: its steps are skipped, nothing written."""
        now = self.service.clock()
        with self.service.sessions.begin() as session:
            for step in repo.steps_of(session, view.id):
                if step.state in (StepState.PENDING, StepState.SENDING):
                    repo.update_step(
                        session, step.id, state=StepState.SKIPPED.value, error=error, updated_at=now, finished_at=now
                    )
                    repo.audit(
                        session,
                        at=now,
                        integration=view.integration,
                        actor="system",
                        event="step.skipped",
                        action_id=view.id,
                        step_id=step.id,
                        before=step.state,
                        after=StepState.SKIPPED.value,
                        detail={"kind": step.kind, "ref": step.ref, "error": error},
                    )
            if repo.finish(
                session, view.id, owner=self.service.owner, state="failed", summary={}, error=error, now=now
            ):
                repo.audit(
                    session,
                    at=now,
                    integration=view.integration,
                    actor="system",
                    event="action.failed",
                    action_id=view.id,
                    before=ActionState.RUNNING.value,
                    after=ActionState.FAILED.value,
                    detail={"error": error},
                )
        logger.warning("action %s failed: %s", view.id, error)

    def _verify(self, action_id: int, integration: IntegrationConfig) -> RunResult | None:
        """Read back what landed, store it on each step, re-run the checks (alerts follow)."""
        view = self.service.get(action_id)
        assert view.plan is not None
        landed = _landed(view)
        results: dict[str, dict[str, Any]] = {}
        if landed:
            provider: Provider | None = None
            try:
                provider = open_side(self.service.providers(integration), integration, "destination", CallStats())
                results = verify(view.plan, landed, provider)
            except ProviderError as e:
                logger.warning("action %s: could not read back what it wrote: %s", action_id, e)
            finally:
                if provider is not None:
                    provider.close()
        check = self.service.checks.run(integration.name, trigger="action")
        now = self.service.clock()
        resolved = None
        if view.finding_code:
            resolved = not any(f.key == (view.finding_code, view.finding_subject) for f in check.findings)
        differing = sorted(ref for ref, r in results.items() if r.get("ok") is False)
        with self.service.sessions.begin() as session:
            steps = {s.ref: s for s in repo.steps_of(session, action_id) if s.kind != StepKind.LINK}
            for ref, result in results.items():
                if ref in steps:
                    repo.update_step(session, steps[ref].id, verified={**result, "at": now.isoformat()})
            summary = {
                "verified": len(results),
                "differing": differing,
                "check_run": check.ref,
                "finding_resolved": resolved,
            }
            repo.set_summary(session, action_id, {"verification": summary}, now=now)
            repo.audit(
                session,
                at=now,
                integration=integration.name,
                actor="system",
                event="action.verified",
                action_id=action_id,
                detail=summary,
            )
        return check

    # -- helpers ------------------------------------------------------------------------------


def _landed(view: ActionView) -> list[Landed]:
    assert view.plan is not None
    made = {s.ref: s.destination_id for s in view.steps if s.kind == StepKind.CONTACT}
    planned = {i.number: i for i in view.plan.invoices}
    found: list[Landed] = []
    for step in view.steps:
        if not step.landed or step.kind == StepKind.LINK:
            continue
        contact_id = None
        if step.kind == StepKind.INVOICE and planned.get(step.ref) and planned[step.ref].contact is not None:
            contact = planned[step.ref].contact
            assert contact is not None
            contact_id = contact.destination_id or made.get(contact.key)
        found.append(Landed(step.kind, step.ref, step.destination_id, contact_id))
    return found
