"""The action service: everything a surface (Slack, the command line, the demo) does with
actions goes through :class:`ActionService`, so requests, approvals and runs are checked,
stored and audited the same way whoever asks.

The contract (ARCHITECTURE.md, "Actions"):

* ``plan(name, kind, params)`` -> :class:`actions.plans.Plan` from fresh data; nothing stored.
* ``request(name, kind, params, requested_by=, via=, finding=, request_key=)`` -> ActionView in
  state ``requested``, its plan stored as approved-to-be. Refusals: UnknownIntegration,
  UnknownKind, BadRequest, TooMany (> 500 invoices), UnknownInvoice, PlanRefused (carrying
  the blocking findings). The same ``request_key`` twice gives the same action.
* ``approve(id, user=, is_admin=)`` / ``deny(id, user=, is_admin=, reason=)`` -> ActionView.
  ``is_admin`` is decided by the caller (the bot expands Slack user groups; the command line
  checks ``slack.admins``). Refusals: NotApprover, SelfApproval (unless
  ``slack.allow_self_approval``), AlreadyDecided (with who decided), Expired
  (``slack.approval_ttl_hours``), UnknownAction; each refusal is audited. Of two approvals at
  the same instant exactly one wins.
* ``run(id, on_progress=, verify=)`` -> ActionOutcome: runs an approved action once (a second
  call gets NotRunnable), re-reads what it wrote, re-runs the checks through
  :class:`service.runs.CheckService` (so alerts edit themselves) and, for ``reauthorise``,
  hands back the consent link to deliver. A database that goes away mid-run raises
  Interrupted: the action stays ``running`` and ``resume`` finishes it.
* ``resume(on_progress=)`` -> [ActionOutcome]: expires stale requests, then finishes every
  approved action never started and every running action whose process stopped (on this
  host: its pid is gone; elsewhere: its lease ran out). ``serve`` and ``actions resume``
  call it at start.
* ``get``, ``list``, ``audit``, ``record_refusal`` (a click the surface refused before asking,
  e.g. a tampered payload), ``set_surface`` (where a surface showed the action, for later edits),
  ``approvals_channel``.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from actions.consent import ConsentLinks
from actions.engine import ProgressCallback, RetryPolicy
from actions.errors import (
    ActionRefused,
    AlreadyDecided,
    BadRequest,
    Expired,
    NotApprover,
    PlanRefused,
    SelfApproval,
    TooMany,
    UnknownAction,
    UnknownKind,
)
from actions.planning import Planner
from actions.plans import ALREADY_THERE, BLOCKED, CREATE, PUSH, Plan
from actions.states import MAX_INVOICES, ActionKind, ActionState, StepKind
from checks.runner import ProviderFactory
from config.integrations import AppConfig, IntegrationConfig
from providers.base import Provider
from providers.http import CallStats
from service import lookup
from service.action_runs import ActionRuns, open_side
from service.action_views import ActionOutcome, ActionView, AuditEntry, action_view, audit_entry
from service.runs import CheckService
from store import actions_repo as repo
from store.models import Action

logger = logging.getLogger(__name__)

Providers = Callable[[IntegrationConfig], ProviderFactory]
# ``ActionService.list`` shadows the builtin inside the class body: its annotations use these.
Views = list[ActionView]
Outcomes = list[ActionOutcome]
Entries = list[AuditEntry]
Ids = list[int]
DEFAULT_RETRY = RetryPolicy()


def utcnow() -> datetime:
    return datetime.now(UTC)


class ActionService:
    def __init__(
        self,
        config: AppConfig,
        sessions: sessionmaker[Session],
        providers: Providers,
        checks: CheckService,
        *,
        write_providers: Providers | None = None,
        links: ConsentLinks | None = None,
        clock: Callable[[], datetime] = utcnow,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.providers = providers  # reads: the HTTP layer retries safe requests itself
        # writes: the engine owns retries (each attempt recorded, looked up before the next)
        self.write_providers = write_providers or providers
        self.checks = checks
        self.links = links
        self.clock = clock
        self.retry = retry
        self.sleep = sleep
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._runs = ActionRuns(self)

    # -- reading ------------------------------------------------------------------------------

    def get(self, action_id: int) -> ActionView:
        with self.sessions() as session:
            row = repo.get_action(session, action_id)
            if row is None:
                raise UnknownAction(f"there is no action {action_id}", action_id=action_id)
            return action_view(row)

    def list(self, integration: str | None = None, *, states: Sequence[str] = (), limit: int = 100) -> Views:
        name = lookup.find(self.config, integration).name if integration else None
        with self.sessions() as session:
            return [action_view(a) for a in repo.list_actions(session, name, states=states, limit=limit)]

    def audit(self, integration: str | None = None, *, action_id: int | None = None, limit: int = 200) -> Entries:
        """The audit trail, oldest first: every action transition, refusal and step, with the
        runs and connection changes of the integration around them."""
        name = integration.strip().lower() if integration else None
        if name and name not in self.config.integrations and not self._known(name):
            lookup.find(self.config, name)  # raises UnknownIntegration with suggestions
        with self.sessions() as session:
            return [audit_entry(e) for e in repo.audit_for(session, name, action_id=action_id, limit=limit)]

    def _known(self, name: str) -> bool:
        """An integration removed from the configuration still has its history."""
        with self.sessions() as session:
            return bool(repo.audit_for(session, name, limit=1))

    def approvals_channel(self, integration: str) -> str | None:
        """Where approval requests for ``integration`` post: ``slack.approvals_channel``, else
        the integration's channel, else ``slack.alert_channel``."""
        slack = self.config.slack
        found = self.config.get(integration)
        return slack.approvals_channel or (found.slack.channel if found else None) or slack.alert_channel

    # -- planning and requests ---------------------------------------------------------------

    def plan(self, integration: str, kind: str, params: Mapping[str, Any]) -> Plan:
        """What the action would do, from fresh data; nothing is stored."""
        config = lookup.find(self.config, integration)
        kind = self._kind(kind)
        if kind == ActionKind.RESYNC:
            _check_count(params)
        if kind == ActionKind.REAUTHORISE:  # reads nothing: the connection may well be dead
            return Planner(config, None, None, now=self.clock).plan(kind, params)
        make = self.providers(config)
        stats = CallStats()
        source: Provider | None = None
        destination: Provider | None = None
        try:
            destination = open_side(make, config, "destination", stats)
            if kind == ActionKind.RESYNC or (kind == ActionKind.CREATE_CONTACT and params.get("source_id")):
                source = open_side(make, config, "source", stats)
            return Planner(config, source, destination, now=self.clock).plan(kind, params)
        finally:
            for provider in (source, destination):
                if provider is not None:
                    provider.close()

    def request(
        self,
        integration: str,
        kind: str,
        params: Mapping[str, Any],
        *,
        requested_by: str,
        via: str = "slack",
        finding: tuple[str, str] | None = None,
        request_key: str | None = None,
    ) -> ActionView:
        """Plan the action from fresh data and store it, awaiting an admin's decision."""
        config = lookup.find(self.config, integration)
        if request_key:
            with self.sessions() as session:
                existing = repo.by_request_key(session, request_key)
                if existing is not None:
                    return action_view(existing)
        try:
            plan = self.plan(config.name, kind, params)
        except ActionRefused as e:
            self._audit_refusal(config.name, None, requested_by, e, {"kind": kind, "params": _brief(params)})
            raise
        now = self.clock()
        params = _stored_params(kind, params)
        try:
            with self.sessions.begin() as session:
                row = repo.add_action(
                    session,
                    integration=config.name,
                    kind=plan.kind,
                    params=params,
                    plan=plan.to_json(),
                    label=plan.label,
                    requested_by=requested_by,
                    via=via,
                    request_key=request_key,
                    finding=finding,
                    expires_at=now + timedelta(hours=self.config.slack.approval_ttl_hours),
                    steps=_steps(plan),
                    now=now,
                )
                action_id = row.id
        except IntegrityError:
            if request_key is None:
                raise
            with self.sessions() as session:  # the same request, stored a moment ago by another thread
                existing = repo.by_request_key(session, request_key)
                if existing is None:
                    raise
                return action_view(existing)
        logger.info("action %s requested by %s: %s", action_id, requested_by, plan.label)
        return self.get(action_id)

    # -- decisions ----------------------------------------------------------------------------

    def approve(self, action_id: int, *, user: str, is_admin: bool) -> ActionView:
        return self._decide(action_id, user=user, is_admin=is_admin, to=ActionState.APPROVED, note=None)

    def deny(self, action_id: int, *, user: str, is_admin: bool, reason: str = "") -> ActionView:
        """Deny a request; its requester may also withdraw it (deny their own)."""
        return self._decide(action_id, user=user, is_admin=is_admin, to=ActionState.DENIED, note=reason.strip() or None)

    def _decide(self, action_id: int, *, user: str, is_admin: bool, to: ActionState, note: str | None) -> ActionView:
        try:
            view = self.get(action_id)
        except UnknownAction as e:  # a stale or tampered button: explained, and audited
            # No such row to point at: the id asked for goes in the detail.
            self._audit_refusal(None, None, user, e, {"wanted": to.value, "action": action_id})
            raise
        verb = "approve" if to == ActionState.APPROVED else "deny"
        withdrawing = to == ActionState.DENIED and user == view.requested_by
        refusal: ActionRefused | None = None
        if not is_admin and not withdrawing:
            refusal = NotApprover(f"only an admin may {verb} this request", action_id=action_id)
        elif to == ActionState.APPROVED and user == view.requested_by and not self.config.slack.allow_self_approval:
            refusal = SelfApproval(
                "you asked for this action: another admin must approve it (slack.allow_self_approval is off)",
                action_id=action_id,
            )
        else:
            refusal = self._not_undecided(view)
        if refusal is None:
            now = self.clock()
            with self.sessions.begin() as session:
                won = repo.decide(session, action_id, to=to.value, user=user, note=note, now=now)
                if won:
                    repo.audit(
                        session,
                        at=now,
                        integration=view.integration,
                        actor=user,
                        event=f"action.{to.value}",
                        action_id=action_id,
                        before=ActionState.REQUESTED.value,
                        after=to.value,
                        detail={"note": note} if note else {},
                    )
            if won:
                logger.info("action %s %s by %s", action_id, to.value, user)
                return self.get(action_id)
            refusal = self._not_undecided(self.get(action_id)) or AlreadyDecided(
                "someone decided this request a moment ago", action_id=action_id, state="?", decided_by=None
            )
        self._audit_refusal(view.integration, action_id, user, refusal, {"wanted": to.value})
        raise refusal

    def _not_undecided(self, view: ActionView) -> ActionRefused | None:
        """Why ``view`` can no longer be decided (expiring it when its time is up), or None."""
        if view.state == ActionState.REQUESTED:
            if view.expires_at is not None and view.expires_at <= self.clock():
                self._expire(view.id)
                return Expired(f"this request expired at {view.expires_at:%Y-%m-%d %H:%M} UTC", action_id=view.id)
            return None
        if view.state == ActionState.EXPIRED:
            return Expired("this request expired before anyone decided it", action_id=view.id)
        who = f" by {view.decided_by}" if view.decided_by else ""
        return AlreadyDecided(
            f"this request was already {view.state.replace('_', ' ')}{who}",
            action_id=view.id,
            state=view.state,
            decided_by=view.decided_by,
        )

    def expire_due(self) -> Ids:
        """Expire every request past its time; the ids expired."""
        with self.sessions() as session:
            due = [a.id for a in repo.due_to_expire(session, self.clock())]
        return [i for i in due if self._expire(i)]

    def _expire(self, action_id: int) -> bool:
        now = self.clock()
        with self.sessions.begin() as session:
            if not repo.expire(session, action_id, now=now):
                return False
            row = session.get(Action, action_id)
            repo.audit(
                session,
                at=now,
                integration=row.integration if row else None,
                actor="system",
                event="action.expired",
                action_id=action_id,
                before=ActionState.REQUESTED.value,
                after=ActionState.EXPIRED.value,
            )
        return True

    def record_refusal(self, action_id: int | None, *, user: str, reason: str, integration: str | None = None) -> None:
        """Audit a click a surface refused on its own (a tampered payload, an unknown button)."""
        if integration is None and action_id is not None:
            try:
                integration = self.get(action_id).integration
            except UnknownAction:
                integration = None
        self._audit_refusal(integration, action_id, user, ActionRefused(reason, action_id=action_id), {"by": "surface"})

    def _audit_refusal(
        self, integration: str | None, action_id: int | None, user: str, refusal: ActionRefused, detail: dict[str, Any]
    ) -> None:
        info: dict[str, Any] = {"reason": refusal.code, "message": refusal.message, **detail}
        if isinstance(refusal, PlanRefused):
            info["blockers"] = [{"ref": ref, **b.to_json()} for ref, b in refusal.blockers]
        with self.sessions.begin() as session:
            repo.audit(
                session,
                at=self.clock(),
                integration=integration,
                actor=user,
                event="action.refused",
                action_id=action_id,
                detail=info,
            )

    def set_surface(self, action_id: int, key: str, value: Any) -> None:
        """Remember where a surface showed this action (e.g. ``{"channel", "ts"}`` of the
        approval message), to edit it when the action moves on."""
        with self.sessions.begin() as session:
            if not repo.set_surface(session, action_id, key, value, now=self.clock()):
                raise UnknownAction(f"there is no action {action_id}", action_id=action_id)

    # -- running ------------------------------------------------------------------------------

    def run(self, action_id: int, *, on_progress: ProgressCallback | None = None, verify: bool = True) -> ActionOutcome:
        """Run an approved action (once: a second call is refused); see ``service.action_runs``."""
        return self._runs.run(action_id, on_progress=on_progress, verify=verify)

    def resume(self, *, on_progress: ProgressCallback | None = None, verify: bool = True) -> Outcomes:
        """Finish what was left unfinished (see the module docstring)."""
        self.expire_due()
        return self._runs.resume(on_progress=on_progress, verify=verify)

    def _kind(self, kind: str) -> ActionKind:
        try:
            return ActionKind(kind)
        except ValueError:
            known = ", ".join(k.value for k in ActionKind)
            raise UnknownKind(f"unknown action {kind!r}; Sync Doctor can do: {known}") from None


def _check_count(params: Mapping[str, Any]) -> None:
    raw = params.get("numbers")
    numbers = raw.split(",") if isinstance(raw, str) else list(raw or [])
    unique = {str(n).strip() for n in numbers if str(n).strip()}
    if len(unique) > MAX_INVOICES:
        raise TooMany(len(unique), MAX_INVOICES)


def _brief(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as an audit row keeps them (a list of 500 numbers is cut short)."""
    return {k: (v if len(str(v)) <= 500 else str(v)[:500] + "…") for k, v in params.items()}


def _stored_params(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    stored = {str(k): v for k, v in params.items()}
    if kind == ActionKind.RESYNC and not isinstance(stored.get("numbers"), str):
        stored["numbers"] = ",".join(str(n).strip() for n in stored.get("numbers") or [])
    return stored


def _steps(plan: Plan) -> list[tuple[str, str]]:
    """The steps a plan runs, in order: contacts and items first, then invoices, then a link."""
    steps: list[tuple[str, str]] = []
    for contact in plan.contacts:
        if contact.status in (CREATE, PUSH, ALREADY_THERE):
            steps.append((StepKind.CONTACT.value, contact.key))
    for item in plan.items:
        if item.status != BLOCKED:
            steps.append((StepKind.ITEM.value, item.code))
    for invoice in plan.invoices:
        if invoice.status != BLOCKED:
            steps.append((StepKind.INVOICE.value, invoice.number))
    if plan.consent is not None:
        steps.append((StepKind.LINK.value, plan.consent.side))
    return steps


__all__ = ["ActionService", "BadRequest"]
