"""Re-encrypting what is stored under the first key of ``SYNC_DOCTOR_SECRET_KEY``
(``sync-doctor db rotate-key``).

Rotation is ``SYNC_DOCTOR_SECRET_KEY=new,old``: the first key encrypts, every key decrypts. Until
each stored value is re-encrypted under ``new``, dropping ``old`` makes those values unreadable;
this re-encrypts them all in one transaction, so either every value moves or none does.
Encrypted columns are listed in :data:`SEALED`: a new one joins the list.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.crypto import SecretKeyError, Vault
from store.models import Connection

logger = logging.getLogger(__name__)

# (model, encrypted column): every value the vault sealed.
SEALED = ((Connection, "secret"),)


def sealed_count(session: Session) -> int:
    """How many values the database holds encrypted."""
    return sum(session.scalar(select(func.count()).select_from(model)) or 0 for model, _ in SEALED)


def rotate_all(session: Session, vault: Vault) -> int:
    """Re-encrypt every sealed value under the vault's first key; how many were. Nothing is
    changed (the caller's transaction rolls back) when one cannot be decrypted by any key."""
    done = 0
    for model, column in SEALED:
        for row in session.scalars(select(model)):
            try:
                setattr(row, column, vault.rotate(getattr(row, column)))
            except SecretKeyError as e:
                raise SecretKeyError(f"cannot re-encrypt {_label(row)}: {e}; nothing was changed") from None
            done += 1
    logger.info("re-encrypted %d stored value(s) under the first key", done)
    return done


def _label(row: object) -> str:
    if isinstance(row, Connection):
        return f"the credentials of {row.integration} {row.side}"
    return f"a {type(row).__name__} row"
