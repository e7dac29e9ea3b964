"""Credentials of one connection, and the small protocol through which they are kept.

Providers never import the store: ``app.py`` hands them a :class:`CredentialStore` whose
``save`` writes the rotated token encrypted (``store/connections.py``). The in-memory store
below serves the sandbox command and provider tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class Credentials:
    kind: Literal["oauth2", "api_key"]
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None  # access token expiry (UTC)
    refresh_expires_at: datetime | None = None  # when the system says the refresh token dies
    refresh_issued_at: datetime | None = None  # when the current refresh token was issued / last rotated
    scopes: tuple[str, ...] = ()
    tenant_id: str | None = None
    # System-specific values kept (encrypted) with the tokens: where the authorisation server
    # said they live (Zoho's data-centre accounts server and API domain), or a tenant's own
    # sign-in (MYOB company-file user). Empty for most systems.
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    def with_tokens(self, **changes: object) -> Credentials:
        return replace(self, **changes)  # type: ignore[arg-type]


class CredentialStore(Protocol):
    """Where one connection's credentials live. ``locked`` is exclusive across threads and,
    for the database store, across processes; it yields the freshest credentials."""

    key: str

    def load(self) -> Credentials | None: ...

    def locked(self) -> AbstractContextManager[Credentials | None]: ...

    def save(self, credentials: Credentials) -> None: ...

    def mark_requires_reauth(self, reason: str) -> None: ...


class MemoryCredentialStore:
    """Credentials held in memory: for the sandbox, the demo's first connect, and tests."""

    def __init__(self, key: str, credentials: Credentials | None = None) -> None:
        self.key = key
        self._credentials = credentials
        self._lock = threading.RLock()
        self.saves = 0
        self.reauth_reason: str | None = None

    def load(self) -> Credentials | None:
        return self._credentials

    @contextmanager
    def locked(self) -> Iterator[Credentials | None]:
        with self._lock:
            yield self._credentials

    def save(self, credentials: Credentials) -> None:
        with self._lock:
            self._credentials = credentials
            self.saves += 1

    def mark_requires_reauth(self, reason: str) -> None:
        self.reauth_reason = reason
