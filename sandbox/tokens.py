"""OAuth grants an emulator knows, and the book that checks, refreshes and revokes them.

World keys (in every OAuth emulator's section)::

    grants:                         # OAuth token sets the emulator knows
      - access_token: at-acme
        refresh_token: rt-acme
        expires_in: 1800            # seconds from start; negative = already expired
        scopes: [accounting.transactions, ...]
        principal: <tenant id>      # what the grant reaches (emulator-specific meaning)
        revoked: false              # access + refresh token revoked
    access_token_ttl: 1800          # lifetime of tokens minted by refresh
    rotate_refresh_tokens: true
    refresh_grace_seconds: 0        # how long a rotated-out refresh token still works
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.clock import SandboxClock

logger = logging.getLogger(__name__)


@dataclass
class Grant:
    """One token set: the scopes it carries, what it reaches (``principal``) and until when."""

    access_token: str
    refresh_token: str | None
    expires_at: float
    scopes: tuple[str, ...]
    principal: Any
    revoked: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class TokenBook:
    """Access and refresh tokens of one emulator; thread-safe."""

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock) -> None:
        self.clock = clock
        self.ttl = int(section.get("access_token_ttl", 1800))
        self.rotate = bool(section.get("rotate_refresh_tokens", True))
        self.grace = float(section.get("refresh_grace_seconds", 0))
        self._lock = threading.Lock()
        self._by_access: dict[str, Grant] = {}
        self._by_refresh: dict[str, Grant] = {}
        self._retired: dict[str, tuple[Grant, float]] = {}  # old refresh token -> (grant, retired at)
        self.refresh_calls = 0
        for raw in section.get("grants", []):
            grant = Grant(
                access_token=str(raw["access_token"]),
                refresh_token=str(raw["refresh_token"]) if raw.get("refresh_token") else None,
                expires_at=clock.now() + float(raw.get("expires_in", self.ttl)),
                scopes=tuple(raw.get("scopes", ())),
                principal=raw.get("principal"),
                revoked=bool(raw.get("revoked", False)),
                extra={
                    k: v
                    for k, v in raw.items()
                    if k not in {"access_token", "refresh_token", "expires_in", "scopes", "principal", "revoked"}
                },
            )
            self.add(grant)

    def add(self, grant: Grant) -> None:
        with self._lock:
            self._by_access[grant.access_token] = grant
            if grant.refresh_token:
                self._by_refresh[grant.refresh_token] = grant

    def check_access(self, token: str | None) -> tuple[Grant | None, str | None]:
        """(grant, None) when valid, else (grant or None, "expired" | "revoked" | "unknown")."""
        if not token:
            return None, "missing"
        with self._lock:
            grant = self._by_access.get(token)
        if grant is None:
            return None, "unknown"
        if grant.revoked:
            return grant, "revoked"
        if self.clock.now() >= grant.expires_at:
            return grant, "expired"
        return grant, None

    def refresh(self, refresh_token: str) -> Grant | None:
        """Mint a new access token (and, when rotating, a new refresh token); None if dead."""
        with self._lock:
            self.refresh_calls += 1
            grant = self._by_refresh.get(refresh_token)
            if grant is None and refresh_token in self._retired:
                old, retired_at = self._retired[refresh_token]
                if self.clock.now() - retired_at <= self.grace:
                    grant = old
            if grant is None or grant.revoked:
                return None
            new_refresh = ("rt-" + secrets.token_urlsafe(16)) if self.rotate else refresh_token
            renewed = Grant(
                access_token="at-" + secrets.token_urlsafe(16),
                refresh_token=new_refresh,
                expires_at=self.clock.now() + self.ttl,
                scopes=grant.scopes,
                principal=grant.principal,
                extra=dict(grant.extra),
            )
            if self.rotate and grant.refresh_token:
                self._by_refresh.pop(grant.refresh_token, None)
                self._retired[grant.refresh_token] = (renewed, self.clock.now())
            self._by_access[renewed.access_token] = renewed
            self._by_refresh[new_refresh] = renewed
            # the previous access token keeps working until it expires, as on the real systems
            return renewed

    def find_refresh(self, refresh_token: str) -> Grant | None:
        """The live grant a refresh token belongs to, without refreshing it (None if unknown)."""
        with self._lock:
            return self._by_refresh.get(refresh_token)

    def revoke(self, refresh_token: str) -> bool:
        """Revoke the grant of ``refresh_token`` (its access tokens die with it)."""
        with self._lock:
            grant = self._by_refresh.get(refresh_token)
            if grant is None:
                return False
            for other in self._by_access.values():
                if other.refresh_token == refresh_token:
                    other.revoked = True
            grant.revoked = True
            return True

    def revoke_all(self) -> None:
        with self._lock:
            for grant in self._by_access.values():
                grant.revoked = True
