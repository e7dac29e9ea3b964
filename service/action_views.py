"""What :class:`service.actions.ActionService` answers with: frozen views of stored actions,
their steps and their audit trail, safe to hand to any surface (no database session behind
them, no secret in them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from actions.plans import BLOCKED, Plan
from actions.states import FINISHED, LANDED, ActionState, StepState
from checks.runner import RunResult
from service.health import utc
from store.models import Action, ActionStep, AuditEvent


@dataclass(frozen=True, slots=True)
class StepView:
    position: int
    kind: str  # invoice | contact | item | link
    ref: str  # invoice number, contact key, item code, connection side
    state: str  # actions.states.StepState
    attempts: int  # requests sent
    destination_id: str | None = None
    link: str | None = None  # where to see it in the destination's web app
    error: str | None = None  # the system's own words
    error_code: str | None = None  # the system's own code
    finding: str | None = None  # the finding code that explains a failure
    verified: dict[str, Any] | None = None  # {"ok": bool, "differences": {...}} after re-reading it

    @property
    def landed(self) -> bool:
        return self.state in LANDED

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "kind": self.kind,
            "ref": self.ref,
            "state": self.state,
            "attempts": self.attempts,
            "destination_id": self.destination_id,
            "link": self.link,
            "error": self.error,
            "error_code": self.error_code,
            "finding": self.finding,
            "verified": self.verified,
        }


@dataclass(frozen=True, slots=True)
class ActionView:
    id: int
    integration: str
    kind: str  # actions.states.ActionKind
    state: str  # actions.states.ActionState
    label: str
    params: dict[str, Any]
    requested_by: str | None
    requested_via: str | None
    requested_at: datetime
    expires_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    finding_code: str | None  # the finding that proposed it
    finding_subject: str | None
    plan: Plan | None
    steps: tuple[StepView, ...]
    attempts: int  # runs started (a resume is another)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    last_error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    surface: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return ActionState(self.state) in FINISHED

    @property
    def awaiting_decision(self) -> bool:
        return self.state == ActionState.REQUESTED

    def invoice_results(self) -> list[dict[str, Any]]:
        """Per invoice asked for: ``{"number", "status", "destination_id", "error"}``; status is
        the step's state (``succeeded`` written now, ``adopted`` already there, ``failed``,
        ``skipped``, ``pending`` / ``sending`` while unfinished) or ``blocked`` by the plan."""
        steps = {s.ref: s for s in self.steps if s.kind == "invoice"}
        rows: list[dict[str, Any]] = []
        for invoice in self.plan.invoices if self.plan else ():
            step = steps.get(invoice.number)
            if step is not None:
                error = f"{step.finding}: {step.error}" if step.error and step.finding else step.error
                rows.append(
                    {"number": step.ref, "status": step.state, "destination_id": step.destination_id, "error": error}
                )
            elif invoice.status == BLOCKED:
                why = "; ".join(f"{b.code}: {b.detail}" if b.code else b.detail for b in invoice.blockers)
                rows.append({"number": invoice.number, "status": "blocked", "destination_id": None, "error": why})
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "integration": self.integration,
            "kind": self.kind,
            "state": self.state,
            "label": self.label,
            "params": self.params,
            "requested_by": self.requested_by,
            "requested_via": self.requested_via,
            "requested_at": self.requested_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decision_note": self.decision_note,
            "finding": {"code": self.finding_code, "subject": self.finding_subject} if self.finding_code else None,
            "attempts": self.attempts,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "last_error": self.last_error,
            "summary": self.summary,
            "steps": [s.to_json() for s in self.steps],
            "plan": self.plan.to_json() if self.plan else None,
        }


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What running (or resuming) an action ended in."""

    action: ActionView
    link: str | None = None  # a reauthorise action's consent link, for the caller to deliver
    check: RunResult | None = None  # the checks re-run after it, when they were

    @property
    def ok(self) -> bool:
        return self.action.state == ActionState.SUCCEEDED


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    event: str
    integration: str | None
    action_id: int | None
    step_id: int | None
    before: str | None
    after: str | None
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "event": self.event,
            "integration": self.integration,
            "action": self.action_id,
            "step": self.step_id,
            "before": self.before,
            "after": self.after,
            "detail": self.detail,
        }


def step_view(row: ActionStep) -> StepView:
    return StepView(
        position=row.position,
        kind=row.kind,
        ref=row.ref,
        state=row.state,
        attempts=row.attempts,
        destination_id=row.destination_id,
        link=row.link,
        error=row.error,
        error_code=row.error_code,
        finding=row.finding_code,
        verified=dict(row.verified) if row.verified else None,
    )


def action_view(row: Action) -> ActionView:
    requested_at = utc(row.created_at)
    assert requested_at is not None
    return ActionView(
        id=row.id,
        integration=row.integration,
        kind=row.kind,
        state=row.state,
        label=row.label or row.kind,
        params=dict(row.params or {}),
        requested_by=row.requested_by,
        requested_via=row.requested_via,
        requested_at=requested_at,
        expires_at=utc(row.expires_at),
        decided_by=row.decided_by,
        decided_at=utc(row.decided_at),
        decision_note=row.decision_note,
        finding_code=row.finding_code,
        finding_subject=row.finding_subject,
        plan=Plan.from_json(row.plan) if row.plan else None,
        steps=tuple(step_view(s) for s in row.steps),
        attempts=row.attempts,
        started_at=utc(row.started_at),
        finished_at=utc(row.finished_at),
        last_error=row.last_error,
        summary=dict(row.summary or {}),
        surface=dict(row.surface or {}),
    )


def audit_entry(row: AuditEvent) -> AuditEntry:
    at = utc(row.at)
    assert at is not None
    return AuditEntry(
        at=at,
        actor=row.actor,
        event=row.event,
        integration=row.integration,
        action_id=row.action_id,
        step_id=row.step_id,
        before=row.before,
        after=row.after,
        detail=dict(row.detail or {}),
    )


def landed(steps: tuple[StepView, ...]) -> int:
    return sum(1 for s in steps if s.state in (StepState.SUCCEEDED, StepState.ADOPTED))
