"""Providers for the checks, with credentials from the database: for one integration, a factory
``(side, side config, call stats) -> Provider`` that ``checks.runner`` calls per side.

Rotated tokens are saved back through :class:`store.connections.DbCredentialStore`, the
callback the providers know only as a ``CredentialStore``; providers never see the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import httpx
from sqlalchemy.orm import Session, sessionmaker

from checks.runner import ProviderFactory
from config.env import Settings
from config.integrations import IntegrationConfig, SideConfig
from providers import UnknownSystem, get_provider, provider_class
from providers.base import Provider
from providers.credentials import Credentials
from providers.errors import CredentialsMissing, Unsupported
from providers.http import CallStats, RetryPolicy
from store.connections import DbCredentialStore
from store.crypto import Vault

# A provider lives for one run (seconds); its credentials are read once per this many seconds
# rather than before every request (store.connections.DbCredentialStore says why that is safe).
CREDENTIALS_REUSE_SECONDS = 30.0


class ProvidersFor(Protocol):
    """For one integration (and the credentials already read for it): its ProviderFactory."""

    def __call__(
        self, integration: IntegrationConfig, known: Mapping[str, Credentials] | None = None
    ) -> ProviderFactory: ...


def provider_factory(
    settings: Settings,
    sessions: sessionmaker[Session],
    vault: Vault,
    transport: httpx.BaseTransport | None = None,
    *,
    retry: RetryPolicy | None = None,
) -> ProvidersFor:
    """For one integration: side -> a provider reading credentials from the database.
    ``retry`` replaces the HTTP layer's retry policy (the action engine retries writes itself)."""
    db_file = settings.sqlite_path()
    lock_file = db_file.with_name(db_file.name + ".locks") if db_file is not None else None

    def for_integration(
        integration: IntegrationConfig, known: Mapping[str, Credentials] | None = None
    ) -> ProviderFactory:
        """``known``: credentials per side the caller has just read (not read again)."""

        def make(side: str, cfg: SideConfig, stats: CallStats) -> Provider:
            try:
                cls = provider_class(cfg.system)
            except UnknownSystem as e:
                raise Unsupported(f"Sync Doctor cannot talk to {cfg.system} yet ({e})", system=cfg.system) from None
            store = DbCredentialStore(
                sessions, vault, integration.name, side, lock_file=lock_file, reuse_for=CREDENTIALS_REUSE_SECONDS
            )
            if known is not None and side in known:
                store.remember(known[side])
            # A job-app feed read without a secret (a public export, a file on disk) needs none stored.
            keyless = cfg.feed is not None and cfg.feed.auth.kind == "none"
            if store.load() is None and not keyless:
                how = "--api-key KEY" if cls.auth_kind == "api_key" else "--oauth"
                raise CredentialsMissing(
                    f"{cls.display_name} ({side}) is not connected: run "
                    f"`sync-doctor connect {integration.name} {side} {how}`",
                    system=cfg.system,
                )
            client = settings.oauth_client(cfg.system)
            return get_provider(
                cfg.system,
                tenant=cfg.tenant,
                credentials=store,
                stats=stats,
                overrides=cfg.urls,
                limits=cfg.limits,
                environment=cfg.environment,
                client_id=client.client_id if client else None,
                client_secret=client.client_secret if client else None,
                transport=transport,
                retry=retry,
                extra=cfg.options,
                timeout=cfg.timeout_seconds,
                scopes=cfg.scopes,
                feed=cfg.feed,
            )

        return make

    return for_integration
