"""Seen requests: a key remembered until it expires, claimed at most once across replicas.

The primary key does the deciding: ``INSERT ... ON CONFLICT DO NOTHING`` inserts a key once,
so of two replicas claiming the same key the database lets exactly one have it (on
PostgreSQL the second waits for the first to commit, then finds the conflict).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import SeenRequest


def claim(session: Session, key: str, expires_at: datetime) -> bool:
    """Remember ``key`` until ``expires_at``; False when it is already remembered."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(SeenRequest).values(key=key, expires_at=expires_at).on_conflict_do_nothing()
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT here.
    return session.execute(statement.returning(SeenRequest.key)).first() is not None


def forget_expired(session: Session, now: datetime) -> int:
    """Delete the keys whose time is up; how many went."""
    result = session.execute(delete(SeenRequest).where(SeenRequest.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)
