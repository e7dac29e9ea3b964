"""Sync Doctor: composition root and command line.

Builds settings, the database, the provider registry and the services once; the command line
(``cli/``) and the Slack server (``bot/``) only use what is built here.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from actions.connect import ConnectService
from bot.publish import install_alerts
from checks import CHECKS
from checks.runner import ProviderFactory
from checks.service import CheckService
from config.env import Settings
from config.integrations import AppConfig, IntegrationConfig, SideConfig
from providers import UnknownSystem, get_provider, provider_class
from providers.base import Provider
from providers.errors import CredentialsMissing, Unsupported
from providers.http import CallStats
from store import migrate
from store.connections import DbCredentialStore
from store.crypto import Vault, key_file_for, load_or_create_key
from store.db import make_engine, make_session_factory

logger = logging.getLogger("sync_doctor")


@dataclass
class Services:
    settings: Settings
    config: AppConfig
    engine: Engine
    sessions: sessionmaker[Session]
    vault: Vault
    checks: CheckService
    connect: ConnectService

    def close(self) -> None:
        self.engine.dispose()


def provider_factory(
    settings: Settings,
    sessions: sessionmaker[Session],
    vault: Vault,
    transport: httpx.BaseTransport | None = None,
) -> Callable[[IntegrationConfig], ProviderFactory]:
    """For one integration: side -> a provider reading credentials from the database."""
    db_file = settings.sqlite_path()
    lock_file = db_file.with_name(db_file.name + ".locks") if db_file is not None else None

    def for_integration(integration: IntegrationConfig) -> ProviderFactory:
        def make(side: str, cfg: SideConfig, stats: CallStats) -> Provider:
            try:
                cls = provider_class(cfg.system)
            except UnknownSystem as e:
                raise Unsupported(f"Sync Doctor cannot talk to {cfg.system} yet ({e})", system=cfg.system) from None
            store = DbCredentialStore(sessions, vault, integration.name, side, lock_file=lock_file)
            if store.load() is None:
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
                extra=cfg.options,
            )

        return make

    return for_integration


def build(
    settings: Settings,
    config: AppConfig,
    *,
    transport: httpx.BaseTransport | None = None,
    upgrade_db: bool = True,
) -> Services:
    engine = make_engine(settings.database_url)
    if upgrade_db:
        migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    key = load_or_create_key(settings.secret_key, key_file_for(settings.sqlite_path()))
    vault = Vault(key)
    checks = CheckService(config, sessions, vault, provider_factory(settings, sessions, vault, transport), CHECKS)
    connect = ConnectService(config, settings, sessions, vault, transport=transport)
    # Alerts follow every run, whoever started it (CLI, Slack, schedule); without
    # SLACK_BOT_TOKEN this installs nothing.
    install_alerts(checks, settings, config)
    return Services(settings, config, engine, sessions, vault, checks, connect)


def main(argv: Sequence[str] | None = None) -> int:
    from cli.commands import run_cli

    return run_cli(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
