"""Connecting a side of an integration: store an API key or tokens (the OAuth consent that
ends in tokens is ``actions/consent.py``'s)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from actions.errors import ConnectError
from config.env import Settings
from config.integrations import AppConfig, IntegrationConfig
from providers import provider_class
from providers.base import Endpoints
from providers.credentials import Credentials
from store.connections import decode, get_connection, save_connection
from store.crypto import Vault

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Connected:
    integration: str
    side: str
    system: str
    kind: str
    tenant: str | None


class ConnectService:
    def __init__(
        self,
        config: AppConfig,
        settings: Settings,
        sessions: sessionmaker[Session],
        vault: Vault,
    ) -> None:
        self.config = config
        self.settings = settings
        self.sessions = sessions
        self.vault = vault

    def resolve(self, name: str, side: str) -> tuple[IntegrationConfig, str]:
        integration = self.config.get(name)
        if integration is None:
            raise ConnectError(f"no integration named {name!r}; `sync-doctor list` shows the configured ones")
        if side == "middleware" and integration.middleware is None:
            raise ConnectError(
                f"{integration.name} has no middleware configured (integrations.{integration.name}.middleware)"
            )
        if side not in ("source", "destination", "middleware"):
            raise ConnectError(f"side must be 'source', 'destination' or 'middleware', not {side!r}")
        return integration, integration.side(side).system

    def endpoints(self, integration: IntegrationConfig, side: str) -> Endpoints:
        cfg = integration.side(side)
        return provider_class(cfg.system).endpoints_for(cfg.urls, cfg.environment)

    def save(self, name: str, side: str, credentials: Credentials, *, actor: str) -> Connected:
        integration, system = self.resolve(name, side)
        cls = provider_class(system)
        if credentials.kind == "api_key" and cls.auth_kind == "oauth2":
            raise ConnectError(f"{cls.display_name} connects with OAuth, not an API key: use --oauth")
        if credentials.kind == "oauth2" and cls.auth_kind == "api_key":
            raise ConnectError(f"{cls.display_name} connects with an API key: use --api-key")
        if credentials.tenant_id is None and integration.side(side).tenant:
            credentials = credentials.with_tokens(tenant_id=integration.side(side).tenant)
        with self.sessions.begin() as session:
            save_connection(
                session,
                self.vault,
                integration=integration.name,
                side=side,
                system=system,
                credentials=credentials,
                actor=actor,
            )
        logger.info("stored %s credentials for %s/%s", credentials.kind, integration.name, side)
        return Connected(integration.name, side, system, credentials.kind, credentials.tenant_id)

    def save_api_key(self, name: str, side: str, key: str, *, actor: str) -> Connected:
        if not key.strip():
            raise ConnectError("the API key is empty")
        return self.save(name, side, Credentials(kind="api_key", api_key=key.strip()), actor=actor)

    def save_tokens(
        self,
        name: str,
        side: str,
        *,
        access_token: str,
        refresh_token: str | None,
        expires_in: int | None,
        tenant: str | None,
        scopes: tuple[str, ...] = (),
        actor: str,
    ) -> Connected:
        if not access_token.strip():
            raise ConnectError("the access token is empty")
        if refresh_token is not None and not refresh_token.strip():
            raise ConnectError("the refresh token is empty (leave it out when there is none)")
        now = datetime.now(UTC)
        credentials = Credentials(
            kind="oauth2",
            access_token=access_token,
            refresh_token=refresh_token,
            expires_at=now + timedelta(seconds=expires_in) if expires_in is not None else None,
            refresh_issued_at=now if refresh_token else None,
            scopes=scopes,
            tenant_id=tenant,
        )
        return self.save(name, side, credentials, actor=actor)

    def save_tenant_login(self, name: str, side: str, username: str, password: str, *, actor: str) -> Connected:
        """Store the tenant's own user sign-in (MYOB's company-file user) beside the side's tokens."""
        integration, system = self.resolve(name, side)
        cls = provider_class(system)
        if not cls.tenant_login:
            raise ConnectError(f"{cls.display_name} has no sign-in of its own besides the connection")
        if not username.strip():
            raise ConnectError("the company-file user name is empty")
        with self.sessions() as session:
            row = get_connection(session, integration.name, side)
            current = decode(row, self.vault) if row is not None else None
        if current is None:
            raise ConnectError(
                f"{name} {side} is not connected yet: run `sync-doctor connect {name} {side} --oauth` first; "
                "the company-file sign-in is kept beside its tokens"
            )
        extra = {**current.extra, "tenant_user": username.strip(), "tenant_password": password}
        return self.save(name, side, current.with_tokens(extra=extra), actor=actor)

    def kept_login(self, name: str, side: str, tenant: str | None) -> dict[str, str]:
        """A re-consent to the same tenant keeps the tenant's own sign-in stored beside the old
        tokens (MYOB's company-file user): consenting again does not change it."""
        with self.sessions() as session:
            row = get_connection(session, name, side)
            current = decode(row, self.vault) if row is not None else None
        if current is None or current.tenant_id != tenant:
            return {}
        return {k: v for k, v in current.extra.items() if k in ("tenant_user", "tenant_password")}
