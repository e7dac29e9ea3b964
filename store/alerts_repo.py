"""Alert rows beyond ``open_alerts`` / ``add_alert`` (store/repositories.py): recording where
an alert was posted, its growing impact, and its resolution. Each takes a Session; the caller
owns the transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from store.models import Alert, AuditEvent


def set_alert_message(session: Session, alert_id: int, *, channel: str, message_ts: str) -> None:
    alert = session.get(Alert, alert_id)
    if alert is not None:
        alert.channel = channel
        alert.message_ts = message_ts


def update_alert_detail(session: Session, alert_id: int, changes: Mapping[str, Any]) -> None:
    alert = session.get(Alert, alert_id)
    if alert is not None:
        # a new dict: SQLAlchemy's JSON type only notices reassignment, not in-place edits
        alert.detail = {**(alert.detail or {}), **changes}


def resolve_alert(session: Session, alert_id: int, *, run_id: int | None, at: datetime) -> None:
    alert = session.get(Alert, alert_id)
    if alert is not None and alert.resolved_at is None:
        alert.resolved_at = at
        alert.resolved_run_id = run_id


def alerts_for(session: Session, integration: str) -> list[Alert]:
    """Every alert of one integration, oldest first (open and resolved)."""
    return list(session.scalars(select(Alert).where(Alert.integration == integration).order_by(Alert.id)))


def get_alert(session: Session, alert_id: int) -> Alert | None:
    return session.get(Alert, alert_id)


def snooze_alert(session: Session, alert_id: int, *, until: datetime, by: str, at: datetime) -> Alert | None:
    """Snooze an open alert until ``until`` and audit who did it (the alert, or None when it
    is unknown or already resolved: a snooze on a cleared alert means nothing)."""
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None or alert.resolved_at is not None:
        return None
    alert.snoozed_until = until
    alert.snoozed_by = by[:100]
    session.add(
        AuditEvent(
            at=at,
            integration=alert.integration,
            actor=by[:100],
            event="alert.snoozed",
            detail={"alert": alert.id, "code": alert.code, "until": until.isoformat()},
        )
    )
    return alert


def claim_post(session: Session, alert_id: int, *, now: datetime, lease: timedelta) -> bool:
    """Take the right to (re-)post an open alert whose message is not posted: one conditional
    UPDATE, so of two replicas retrying at once exactly one wins. The lease lets a process
    that died while posting be replaced once it runs out."""
    won = session.execute(
        update(Alert)
        .where(
            Alert.id == alert_id,
            Alert.message_ts.is_(None),
            Alert.resolved_at.is_(None),
            or_(Alert.post_lease_until.is_(None), Alert.post_lease_until < now),
        )
        .values(post_lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], won).rowcount == 1


def release_post(session: Session, alert_id: int) -> None:
    """The post failed: the next run may retry at once."""
    session.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.message_ts.is_(None))
        .values(post_lease_until=None)
        .execution_options(synchronize_session=False)
    )
