"""Settings from the environment, parsed once into a frozen dataclass.

Tests pass a dict, never the real environment. Secrets may come from ``NAME_FILE`` (a path),
as container platforms mount them. Secret fields are ``repr=False`` so a logged Settings
never shows them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from config.integrations import ConfigError

DEFAULT_DB_FILE = "sync-doctor.db"
DEFAULT_CONFIG_FILE = "sync-doctor.yml"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
OAUTH_SYSTEMS = ("xero", "quickbooks", "hubspot", "zoho_books", "myob", "zapier")


@dataclass(frozen=True, slots=True)
class OAuthClient:
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    config_path: str
    secret_key: str | None = field(default=None, repr=False)
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = 3000
    public_url: str | None = None  # where Slack and OAuth redirects reach us
    log_level: str = "INFO"
    oauth_clients: Mapping[str, OAuthClient] = field(default_factory=dict, repr=False)

    def sqlite_path(self) -> Path | None:
        """The database file of a file-backed SQLite URL (None for memory or other engines)."""
        prefix = "sqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        path = self.database_url[len(prefix) :]
        return None if path in ("", ":memory:") else Path(path)

    def oauth_client(self, system: str) -> OAuthClient | None:
        return self.oauth_clients.get(system)


def _read(env: Mapping[str, str], name: str) -> str | None:
    """``NAME`` or the contents of the file named by ``NAME_FILE``."""
    value = env.get(name)
    if value:
        return value.strip()
    path = env.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"{name}_FILE: cannot read {path}: {e.strerror}") from None
    return None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: must be a whole number, not {raw!r}") from None
    if not 0 < value < 65536:
        raise ConfigError(f"{name}: must be between 1 and 65535, not {value}")
    return value


# Databases Sync Doctor is built and tested on, with the drivers it installs.
DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")


def _check_database_url(url: str) -> None:
    """Refuse what is not a URL of a supported database before anything connects. The value
    is never echoed: it may hold a password."""
    scheme, separator, _ = url.partition("://")
    if not separator or not scheme:
        raise ConfigError(
            "DATABASE_URL is not a database URL: use sqlite:///path/to/sync-doctor.db or postgresql://user@host/db"
        )
    if scheme.lower() not in DATABASE_SCHEMES:
        raise ConfigError(
            f"DATABASE_URL: {scheme!r} databases are not supported: use sqlite:///path/to/sync-doctor.db "
            "or postgresql://user@host/db"
        )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    database_url = env.get("DATABASE_URL") or f"sqlite:///{DEFAULT_DB_FILE}"
    if database_url.startswith("postgres://"):
        # Heroku-style URLs: SQLAlchemy needs the dialect spelled out.
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    _check_database_url(database_url)
    slack_api_url = env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not slack_api_url.startswith(("http://", "https://")):
        raise ConfigError(f"SLACK_API_URL: must be an http(s) URL, not {slack_api_url!r}")
    level = (env.get("LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"LOG_LEVEL: must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
    clients: dict[str, OAuthClient] = {}
    for system in OAUTH_SYSTEMS:
        prefix = system.upper()
        cid, secret = _read(env, f"{prefix}_CLIENT_ID"), _read(env, f"{prefix}_CLIENT_SECRET")
        if cid:
            clients[system] = OAuthClient(cid, secret or "")
    return Settings(
        database_url=database_url,
        config_path=env.get("SYNC_DOCTOR_CONFIG") or DEFAULT_CONFIG_FILE,
        secret_key=_read(env, "SYNC_DOCTOR_SECRET_KEY"),
        slack_bot_token=_read(env, "SLACK_BOT_TOKEN"),
        slack_signing_secret=_read(env, "SLACK_SIGNING_SECRET"),
        slack_app_token=_read(env, "SLACK_APP_TOKEN"),
        slack_api_url=slack_api_url,
        port=_int(env, "PORT", 3000),
        public_url=(env.get("SYNC_DOCTOR_PUBLIC_URL") or None),
        log_level=level,
        oauth_clients=clients,
    )
