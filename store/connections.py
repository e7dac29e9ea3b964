"""Connections in the database: the CredentialStore providers refresh tokens through.

``locked()`` is single-flight across threads (a process-wide lock per connection) and across
processes: on PostgreSQL ``SELECT ... FOR UPDATE`` on the connection row, held while the token
endpoint is called and the rotated token saved; on SQLite, where FOR UPDATE does nothing, a
byte-range lock on a file beside the database (a CLI run next to ``serve`` must not refresh a
rotating token twice: the loser's refresh token would already be dead).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from providers.credentials import Credentials
from store.crypto import Vault
from store.models import AuditEvent, Connection

logger = logging.getLogger(__name__)

_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()


def _lock_for(key: str) -> threading.RLock:
    with _locks_guard:
        return _locks.setdefault(key, threading.RLock())


@contextmanager
def _file_lock(path: Path, key: str) -> Iterator[None]:
    """An exclusive lock on one byte of ``path`` chosen by ``key``: cross-process, per connection."""
    offset = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX, 1, offset)
        try:
            yield
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)
    finally:
        os.close(fd)


LOCK_SUFFIX = ".locks"


def real_lock_file(lock_file: Path) -> Path:
    """The lock file beside the *real* database file: the same database reached through a
    symlink (of the file or of a directory on its path) must share one lock, or two processes
    refresh the same rotating token and the loser is marked requires_reauth for nothing."""
    name = lock_file.name
    if name.endswith(LOCK_SUFFIX) and len(name) > len(LOCK_SUFFIX):
        database = Path(os.path.realpath(lock_file.with_name(name.removesuffix(LOCK_SUFFIX))))
        return database.with_name(database.name + LOCK_SUFFIX)
    return Path(os.path.realpath(lock_file))


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def decode(row: Connection, vault: Vault) -> Credentials:
    secrets = json.loads(vault.decrypt(row.secret))
    return Credentials(
        kind="api_key" if row.kind == "api_key" else "oauth2",
        access_token=secrets.get("access_token"),
        refresh_token=secrets.get("refresh_token"),
        api_key=secrets.get("api_key"),
        expires_at=_utc(row.expires_at),
        refresh_expires_at=_utc(row.refresh_expires_at),
        refresh_issued_at=_utc(row.refresh_issued_at),
        scopes=tuple(row.scopes or ()),
        tenant_id=row.tenant_id,
        extra=dict(secrets.get("extra") or {}),
    )


def encode_into(row: Connection, creds: Credentials, vault: Vault) -> None:
    secrets: dict[str, object] = {
        "access_token": creds.access_token,
        "refresh_token": creds.refresh_token,
        "api_key": creds.api_key,
        "extra": dict(creds.extra),  # a data centre's endpoints, a company-file sign-in: kept encrypted
    }
    row.secret = vault.encrypt(json.dumps({k: v for k, v in secrets.items() if v}).encode())
    row.kind = creds.kind
    row.expires_at = creds.expires_at
    row.refresh_expires_at = creds.refresh_expires_at
    row.refresh_issued_at = creds.refresh_issued_at
    row.scopes = list(creds.scopes)
    if creds.tenant_id:
        row.tenant_id = creds.tenant_id
    row.updated_at = datetime.now(UTC)


# Built once: every provider request reads its credentials through here (several times a run),
# and building the statement each time was a fifth of that read's CPU.
_BY_KEY = select(Connection).where(
    Connection.integration == bindparam("integration"), Connection.side == bindparam("side")
)
_BY_KEY_FOR_UPDATE = _BY_KEY.with_for_update()


def get_connection(session: Session, integration: str, side: str, *, for_update: bool = False) -> Connection | None:
    query = _BY_KEY_FOR_UPDATE if for_update else _BY_KEY
    return session.scalars(query, {"integration": integration, "side": side}).first()


def save_connection(
    session: Session,
    vault: Vault,
    *,
    integration: str,
    side: str,
    system: str,
    credentials: Credentials,
    actor: str,
) -> Connection:
    """Create or replace a connection's credentials; the connection becomes active again."""
    row = get_connection(session, integration, side)
    if row is None:
        row = Connection(integration=integration, side=side, system=system, scopes=[])
        session.add(row)
    row.system = system
    encode_into(row, credentials, vault)
    row.state = "active"
    row.last_error = None
    session.add(
        AuditEvent(
            at=datetime.now(UTC),
            integration=integration,
            actor=actor,
            event="connection.saved",
            detail={"side": side, "system": system, "kind": credentials.kind},
        )
    )
    return row


class DbCredentialStore:
    """CredentialStore over the ``connections`` table."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        vault: Vault,
        integration: str,
        side: str,
        *,
        lock_file: Path | None = None,
        reuse_for: float = 0.0,
    ) -> None:
        self.key = f"{integration}/{side}"
        # Seconds a read may be handed out again (0: read every time). A run asks for the same
        # credentials before every request; that read (a session, a query, a decrypt) was a
        # fifth of a sweep's interpreter time. A token another replica rotates meanwhile is still
        # seen where it matters: a refresh, and the retry after a 401, read the row under its
        # lock (``locked``), which renews this copy.
        self._reuse_for = reuse_for
        self._last_read: tuple[float, Credentials | None] | None = None
        self._lock_file = real_lock_file(lock_file) if lock_file is not None else None
        self._sessions = sessions
        self._vault = vault
        self._integration = integration
        self._side = side
        self._held: threading.local = threading.local()

    def load(self) -> Credentials | None:
        last = self._last_read
        if last is not None and time.monotonic() - last[0] < self._reuse_for:
            return last[1]
        with self._sessions() as session:
            row = get_connection(session, self._integration, self._side)
            credentials = decode(row, self._vault) if row is not None else None
        self.remember(credentials)
        return credentials

    def remember(self, credentials: Credentials | None) -> None:
        """Take ``credentials`` as just read (the run read them a moment ago with the rest of
        its state): ``load`` hands them out for ``reuse_for`` seconds."""
        if self._reuse_for > 0:
            self._last_read = (time.monotonic(), credentials)

    @contextmanager
    def locked(self) -> Iterator[Credentials | None]:
        with _lock_for(self.key), self._process_lock(), self._sessions.begin() as session:
            row = get_connection(session, self._integration, self._side, for_update=True)
            self._held.session = session
            try:
                credentials = decode(row, self._vault) if row is not None else None
                self.remember(credentials)
                yield credentials
            finally:
                self._held.session = None

    def _process_lock(self) -> AbstractContextManager[None]:
        return _file_lock(self._lock_file, self.key) if self._lock_file is not None else nullcontext()

    def save(self, credentials: Credentials) -> None:
        self.remember(credentials)  # what the row holds once this commits
        session: Session | None = getattr(self._held, "session", None)
        if session is not None:
            self._save_in(session, credentials)
            return
        with self._sessions.begin() as own:
            self._save_in(own, credentials)

    def _save_in(self, session: Session, credentials: Credentials) -> None:
        row = get_connection(session, self._integration, self._side)
        if row is None:
            raise LookupError(f"no connection {self.key} to save into")
        encode_into(row, credentials, self._vault)
        session.add(
            AuditEvent(
                at=datetime.now(UTC),
                integration=self._integration,
                actor="system",
                event="token.refreshed",
                detail={"side": self._side},
            )
        )

    def mark_requires_reauth(self, reason: str) -> None:
        # Inside locked() the row is already locked by our own transaction: a second one would
        # wait on it forever (PostgreSQL), so write through the held session.
        session: Session | None = getattr(self._held, "session", None)
        if session is not None:
            self._mark_in(session, reason)
        else:
            with self._sessions.begin() as own:
                self._mark_in(own, reason)
        logger.warning("connection %s now requires re-authorisation", self.key)

    def _mark_in(self, session: Session, reason: str) -> None:
        row = get_connection(session, self._integration, self._side)
        if row is None:
            return
        row.state = "requires_reauth"
        row.last_error = reason[:500]
        row.updated_at = datetime.now(UTC)
        session.add(
            AuditEvent(
                at=datetime.now(UTC),
                integration=self._integration,
                actor="system",
                event="connection.requires_reauth",
                detail={"side": self._side, "reason": reason[:500]},
            )
        )
