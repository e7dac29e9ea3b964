"""Alert rows beyond ``open_alerts`` / ``add_alert`` (store/repositories.py): recording where
an alert was posted, its growing impact, and its resolution. Each takes a Session; the caller
owns the transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Alert


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
