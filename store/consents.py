"""OAuth consents: the signed links Sync Doctor issues and the states it sends to providers.

Each link and each state is spent at most once, by a conditional ``UPDATE`` (``... WHERE
started_at IS NULL``, ``... WHERE finished_at IS NULL``): the database lets one request through
however many race for it, on any replica. Only SHA-256 hashes of links and states are stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from store.models import AuditEvent, OAuthConsent

KEEP_AFTER_EXPIRY = timedelta(days=1)  # spent or expired rows linger this long, then go


def add(
    session: Session,
    *,
    integration: str,
    side: str,
    system: str,
    issued_to: str,
    now: datetime,
    link_hash: str | None,
    link_expires_at: datetime,
    state_hash: str | None = None,
    verifier: bytes | None = None,
    state_expires_at: datetime | None = None,
) -> OAuthConsent:
    """A new consent: a link to be opened (``link_hash``), or one started at once (``state_hash``)."""
    row = OAuthConsent(
        link_hash=link_hash,
        integration=integration,
        side=side,
        system=system,
        issued_to=issued_to,
        issued_at=now,
        link_expires_at=link_expires_at,
        started_at=now if state_hash else None,
        state_hash=state_hash,
        verifier=verifier,
        state_expires_at=state_expires_at,
    )
    session.add(row)
    return row


def open_link(
    session: Session,
    link_hash: str,
    system: str,
    *,
    now: datetime,
    state_hash: str,
    verifier: bytes | None,
    state_expires_at: datetime,
) -> OAuthConsent | None:
    """Spend the link: bind the state (and verifier) to its consent, which is returned. None
    when the link is unknown, for another system, expired, or spent already (by a request
    that got there first: the ``UPDATE`` decides, so a race has one winner)."""
    result = session.execute(
        update(OAuthConsent)
        .where(
            OAuthConsent.link_hash == link_hash,
            OAuthConsent.system == system,
            OAuthConsent.started_at.is_(None),
            OAuthConsent.link_expires_at > now,
        )
        .values(started_at=now, state_hash=state_hash, verifier=verifier, state_expires_at=state_expires_at)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        return None
    return session.scalars(select(OAuthConsent).where(OAuthConsent.link_hash == link_hash)).one()


def finish(session: Session, state_hash: str, system: str, now: datetime) -> OAuthConsent | None:
    """Spend the state the provider sent back; its consent, or None when the state is
    unknown, for another system, expired or already spent."""
    result = session.execute(
        update(OAuthConsent)
        .where(
            OAuthConsent.state_hash == state_hash,
            OAuthConsent.system == system,
            OAuthConsent.finished_at.is_(None),
            OAuthConsent.state_expires_at > now,
        )
        .values(finished_at=now)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        return None
    return session.scalars(select(OAuthConsent).where(OAuthConsent.state_hash == state_hash)).one()


def forget_expired(session: Session, now: datetime) -> None:
    """Delete consents whose link and state both expired more than a day ago."""
    cutoff = now - KEEP_AFTER_EXPIRY
    session.execute(
        delete(OAuthConsent).where(
            and_(
                OAuthConsent.link_expires_at < cutoff,
                or_(OAuthConsent.state_expires_at.is_(None), OAuthConsent.state_expires_at < cutoff),
            )
        )
    )


def audit(session: Session, *, integration: str, actor: str, event: str, detail: dict[str, Any]) -> None:
    session.add(AuditEvent(at=datetime.now(UTC), integration=integration, actor=actor, event=event, detail=detail))
