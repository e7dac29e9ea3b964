"""What quarterly digests read besides the daily counters (alerts, actions), and the digests
themselves: one row per quarter, claimed before it is posted so it posts once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from store.models import Action, Alert, DigestRow

POST_LEASE = timedelta(minutes=10)  # a post that takes longer than this is presumed dead


def alerts_between(session: Session, start: datetime, end: datetime, integrations: Sequence[str]) -> list[Alert]:
    """Alerts opened or resolved in ``[start, end)``, or still open across it."""
    query = select(Alert).where(
        Alert.integration.in_(list(integrations)),
        Alert.opened_at < end,
        or_(Alert.resolved_at.is_(None), Alert.resolved_at >= start),
    )
    return list(session.scalars(query.order_by(Alert.id)))


def actions_between(session: Session, start: datetime, end: datetime, integrations: Sequence[str]) -> list[Action]:
    """Actions requested in ``[start, end)``."""
    query = select(Action).where(
        Action.integration.in_(list(integrations)), Action.created_at >= start, Action.created_at < end
    )
    return list(session.scalars(query.order_by(Action.id)))


def get_digest(session: Session, quarter: str) -> DigestRow | None:
    return session.scalars(select(DigestRow).where(DigestRow.quarter == quarter)).one_or_none()


def save_digest(session: Session, quarter: str, payload: dict[str, Any], *, at: datetime) -> DigestRow:
    """The quarter's row with these numbers: created, or refreshed while it is not posted yet
    (a posted digest keeps the numbers it was posted with)."""
    row = get_digest(session, quarter)
    if row is None:
        row = DigestRow(quarter=quarter, generated_at=at, payload=payload, attempts=0)
        session.add(row)
    elif row.posted_at is None:
        row.payload, row.generated_at = payload, at
    session.flush()
    return row


def claim_post(session: Session, quarter: str, *, now: datetime) -> bool:
    """Take the right to post the quarter's digest: one conditional UPDATE, so of two replicas
    (or a job and a command) at most one posts. False: posted already, or being posted."""
    result = session.execute(
        update(DigestRow)
        .where(
            DigestRow.quarter == quarter,
            DigestRow.posted_at.is_(None),
            or_(DigestRow.claimed_at.is_(None), DigestRow.claimed_at < now - POST_LEASE),
        )
        .values(claimed_at=now, attempts=DigestRow.attempts + 1)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def mark_posted(session: Session, quarter: str, *, channel: str, message_ts: str | None, at: datetime) -> None:
    session.execute(
        update(DigestRow)
        .where(DigestRow.quarter == quarter)
        .values(posted_at=at, channel=channel, message_ts=message_ts, error=None, claimed_at=None)
    )


def mark_failed(session: Session, quarter: str, *, error: str) -> None:
    """Not posted: kept pending (``posted_at`` empty) with why, to be retried."""
    session.execute(update(DigestRow).where(DigestRow.quarter == quarter).values(error=error[:2000], claimed_at=None))


def pending_digests(session: Session) -> list[DigestRow]:
    """Digests asked to post that did not reach Slack (``posted_at`` empty, ``error`` set),
    oldest quarter first: /healthz shows them, since nothing else will until someone acts."""
    query = select(DigestRow).where(DigestRow.posted_at.is_(None), DigestRow.error.is_not(None))
    return list(session.scalars(query.order_by(DigestRow.quarter)))
