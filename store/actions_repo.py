"""Actions, their steps and their audit trail in the database. Each function takes a Session;
the caller owns the transaction.

Every change of an action's state is a conditional UPDATE (``... WHERE state = 'requested'``,
``... WHERE claimed_by = me``) whose row count says whether this caller won: two admins
approving at the same instant, or two processes resuming the same action, cannot both
succeed, on SQLite or PostgreSQL. Every transition is written to ``audit_events`` in the same
transaction as the change it records.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session, selectinload

from store.models import Action, ActionStep, AuditEvent

FAILED_HISTORY = 500  # failed invoice pushes read back for sync.failed


def step_key(nonce: str, position: int) -> str:
    """The idempotency key of one step: derived from (action, step), at most 36 characters
    (QuickBooks' batch ``bId`` limit), unique across databases through the action's nonce."""
    return f"sd-{nonce[:24]}-{position}"


def audit(
    session: Session,
    *,
    at: datetime,
    integration: str | None,
    actor: str,
    event: str,
    action_id: int | None = None,
    step_id: int | None = None,
    before: str | None = None,
    after: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            at=at,
            integration=integration,
            actor=actor[:100],
            event=event,
            action_id=action_id,
            step_id=step_id,
            before=before,
            after=after,
            detail=dict(detail or {}),
        )
    )


def add_action(
    session: Session,
    *,
    integration: str,
    kind: str,
    params: Mapping[str, Any],
    plan: Mapping[str, Any],
    label: str,
    requested_by: str,
    via: str,
    request_key: str | None,
    finding: tuple[str, str] | None,
    expires_at: datetime,
    steps: Sequence[tuple[str, str]],
    now: datetime,
) -> Action:
    """A requested action with its steps ((kind, ref) in the order they run) and their keys."""
    nonce = secrets.token_hex(16)
    action = Action(
        integration=integration,
        kind=kind,
        params=dict(params),
        state="requested",
        idempotency_key=nonce,
        requested_by=requested_by,
        attempts=0,
        created_at=now,
        updated_at=now,
        label=label[:300],
        requested_via=via,
        request_key=request_key,
        finding_code=finding[0] if finding else None,
        finding_subject=finding[1][:500] if finding else None,
        plan=dict(plan),
        expires_at=expires_at,
    )
    action.steps = [
        ActionStep(
            position=position,
            kind=step_kind,
            ref=ref[:300],
            state="pending",
            idempotency_key=step_key(nonce, position),
            attempts=0,
            updated_at=now,
        )
        for position, (step_kind, ref) in enumerate(steps, 1)
    ]
    session.add(action)
    session.flush()
    audit(
        session,
        at=now,
        integration=integration,
        actor=requested_by,
        event="action.requested",
        action_id=action.id,
        after="requested",
        detail={"kind": kind, "label": label, "via": via, "params": dict(params), "plan": dict(plan)},
    )
    return action


def get_action(session: Session, action_id: int) -> Action | None:
    query = select(Action).where(Action.id == action_id).options(selectinload(Action.steps))
    return session.scalars(query).first()


def by_request_key(session: Session, key: str) -> Action | None:
    return session.scalars(select(Action).where(Action.request_key == key).options(selectinload(Action.steps))).first()


def list_actions(
    session: Session, integration: str | None = None, *, states: Sequence[str] = (), limit: int = 100
) -> list[Action]:
    query = select(Action).options(selectinload(Action.steps)).order_by(Action.id.desc()).limit(limit)
    if integration:
        query = query.where(Action.integration == integration)
    if states:
        query = query.where(Action.state.in_(list(states)))
    return list(session.scalars(query))


def _changed(session: Session, statement: Any) -> bool:
    result = cast(CursorResult[Any], session.execute(statement.execution_options(synchronize_session=False)))
    return result.rowcount == 1


def decide(session: Session, action_id: int, *, to: str, user: str, note: str | None, now: datetime) -> bool:
    """requested -> approved / denied, if still requested and not past its expiry."""
    return _changed(
        session,
        update(Action)
        .where(
            Action.id == action_id,
            Action.state == "requested",
            or_(Action.expires_at.is_(None), Action.expires_at > now),
        )
        .values(state=to, decided_by=user[:100], decided_at=now, decision_note=note, updated_at=now),
    )


def expire(session: Session, action_id: int, *, now: datetime) -> bool:
    """requested -> expired, if still requested and past its expiry."""
    return _changed(
        session,
        update(Action)
        .where(Action.id == action_id, Action.state == "requested", Action.expires_at <= now)
        .values(state="expired", updated_at=now, finished_at=now),
    )


def due_to_expire(session: Session, now: datetime) -> list[Action]:
    return list(session.scalars(select(Action).where(Action.state == "requested", Action.expires_at <= now)))


def claim(
    session: Session,
    action_id: int,
    *,
    owner: str,
    lease_until: datetime,
    now: datetime,
    state: str,
    previous_owner: str | None,
) -> bool:
    """Take the action to run it: approved -> running (``previous_owner`` None), or a
    running action whose owner stopped (compare-and-swap on ``claimed_by``)."""
    owner_clause = Action.claimed_by.is_(None) if previous_owner is None else Action.claimed_by == previous_owner
    values: dict[str, Any] = {
        "state": "running",
        "claimed_by": owner,
        "lease_expires_at": lease_until,
        "updated_at": now,
        "attempts": Action.attempts + 1,
    }
    if state == "approved":
        values["started_at"] = now
    return _changed(
        session,
        update(Action).where(Action.id == action_id, Action.state == state, owner_clause).values(**values),
    )


def renew(session: Session, action_id: int, *, owner: str, lease_until: datetime, now: datetime) -> bool:
    """Extend the lease; False when another process has taken the action over."""
    return _changed(
        session,
        update(Action)
        .where(Action.id == action_id, Action.state == "running", Action.claimed_by == owner)
        .values(lease_expires_at=lease_until, updated_at=now),
    )


def finish(
    session: Session,
    action_id: int,
    *,
    owner: str,
    state: str,
    summary: Mapping[str, Any],
    error: str | None,
    now: datetime,
) -> bool:
    return _changed(
        session,
        update(Action)
        .where(Action.id == action_id, Action.state == "running", Action.claimed_by == owner)
        .values(
            state=state,
            summary=dict(summary),
            last_error=error,
            finished_at=now,
            updated_at=now,
            lease_expires_at=None,
        ),
    )


def unfinished(session: Session) -> list[Action]:
    """Approved actions never started and running ones (their owner may have stopped)."""
    query = select(Action).where(Action.state.in_(["approved", "running"])).order_by(Action.id)
    return list(session.scalars(query))


def steps_of(session: Session, action_id: int) -> list[ActionStep]:
    query = select(ActionStep).where(ActionStep.action_id == action_id).order_by(ActionStep.position)
    return list(session.scalars(query))


def update_step(session: Session, step_id: int, **values: Any) -> None:
    session.execute(
        update(ActionStep).where(ActionStep.id == step_id).values(**values).execution_options(synchronize_session=False)
    )


def set_summary(session: Session, action_id: int, changes: Mapping[str, Any], *, now: datetime) -> None:
    action = session.get(Action, action_id)
    if action is not None:
        # a new dict: SQLAlchemy's JSON type only notices reassignment, not in-place edits
        action.summary = {**(action.summary or {}), **changes}
        action.updated_at = now


def set_surface(session: Session, action_id: int, key: str, value: Any, *, now: datetime) -> bool:
    action = session.get(Action, action_id)
    if action is None:
        return False
    action.surface = {**(action.surface or {}), key: value}
    action.updated_at = now
    return True


def audit_for(
    session: Session, integration: str | None = None, *, action_id: int | None = None, limit: int = 200
) -> list[AuditEvent]:
    """The newest ``limit`` audit events (of one integration and/or action), oldest first."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if integration is not None:
        query = query.where(AuditEvent.integration == integration)
    if action_id is not None:
        query = query.where(AuditEvent.action_id == action_id)
    return list(reversed(list(session.scalars(query))))


def failed_pushes(session: Session, integration: str, *, limit: int = FAILED_HISTORY) -> list[dict[str, Any]]:
    """Invoice pushes that failed for good, newest first, as ``sync.failed`` reads them:
    ``{"number", "error", "attempts", "at", "finding", "action"}`` (from the audit trail)."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.integration == integration, AuditEvent.event == "step.failed")
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    found = []
    for event in session.scalars(query):
        detail = event.detail or {}
        if detail.get("kind") != "invoice":
            continue
        found.append(
            {
                "number": detail.get("ref"),
                "error": detail.get("error"),
                "attempts": detail.get("attempts", 0),
                "at": event.at,
                "finding": detail.get("finding"),
                "action": event.action_id,
            }
        )
    return found
