"""Connecting a side of an integration: store an API key or tokens, or run the OAuth consent.

The consent ``state`` is self-contained: the integration, side, PKCE verifier and expiry,
encrypted with the credentials key. Nothing is stored until the provider redirects back, and
a forged or replayed-late state is refused.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from actions.errors import ConnectError
from config.env import Settings
from config.integrations import AppConfig, IntegrationConfig
from providers import oauth_app_for, provider_class, token_endpoint_for
from providers.base import Endpoints
from providers.credentials import Credentials
from providers.errors import AuthError, ProviderError
from providers.oauth import code_from_redirect, new_code_verifier, start_consent
from store.connections import decode, get_connection, save_connection
from store.crypto import SecretKeyError, Vault

logger = logging.getLogger(__name__)

CONSENT_TTL = timedelta(minutes=15)


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
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.sessions = sessions
        self.vault = vault
        self._transport = transport

    def _side(self, name: str, side: str) -> tuple[IntegrationConfig, str]:
        integration = self.config.get(name)
        if integration is None:
            raise ConnectError(f"no integration named {name!r}; `sync-doctor list` shows the configured ones")
        if side not in ("source", "destination"):
            raise ConnectError(f"side must be 'source' or 'destination', not {side!r}")
        return integration, integration.side(side).system

    def endpoints(self, integration: IntegrationConfig, side: str) -> Endpoints:
        cfg = integration.side(side)
        return provider_class(cfg.system).default_endpoints.with_overrides(cfg.urls)

    def save(self, name: str, side: str, credentials: Credentials, *, actor: str) -> Connected:
        integration, system = self._side(name, side)
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
        integration, system = self._side(name, side)
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

    # -- OAuth consent --------------------------------------------------------------------

    def redirect_uri(self, system: str) -> str:
        base = (self.settings.public_url or f"http://localhost:{self.settings.port}").rstrip("/")
        return f"{base}/oauth/{system}/callback"

    def start_oauth(self, name: str, side: str) -> str:
        """The URL that starts the provider's consent screen for this side."""
        integration, system = self._side(name, side)
        endpoints = self.endpoints(integration, side)
        client = self.settings.oauth_client(system)
        if client is None:
            raise ConnectError(
                f"{system.upper()}_CLIENT_ID and {system.upper()}_CLIENT_SECRET are not set: register an OAuth app "
                f"with {provider_class(system).display_name} first (see README, 'Connecting accounting systems')"
            )
        app = oauth_app_for(system, endpoints, client.client_id, client.client_secret)
        if app is None or not app.authorize_url:
            raise ConnectError(f"{provider_class(system).display_name} does not use OAuth here: use --api-key")
        verifier = new_code_verifier() if app.pkce else None
        # The state is our sealed blob: nothing to store server-side, nothing a third party can forge.
        sealed = self._seal(
            {"i": integration.name, "s": side, "v": verifier, "x": int(time.time() + CONSENT_TTL.total_seconds())}
        )
        extra = dict(provider_class(system).consent_params)
        return start_consent(app, self.redirect_uri(system), state=sealed, code_verifier=verifier, **extra).url

    def finish_oauth(self, system: str, redirect_url: str, *, actor: str) -> Connected:
        """Exchange the code in the provider's redirect and store the tokens."""
        from urllib.parse import parse_qs, urlparse

        query = {k: v[0] for k, v in parse_qs(urlparse(redirect_url).query).items()}
        if "error" in query:
            raise ConnectError(f"the provider refused consent: {query.get('error_description') or query['error']}")
        sealed = query.get("state")
        if not sealed:
            raise ConnectError("the redirect carries no state: start again with `sync-doctor connect ... --oauth`")
        data = self._unseal(sealed)
        integration, side_system = self._side(data["i"], data["s"])
        if side_system != system:
            raise ConnectError(f"this consent was for {side_system}, not {system}")
        params = code_from_redirect(redirect_url, expected_state=sealed)
        endpoints = self.endpoints(integration, data["s"])
        client = self.settings.oauth_client(system)
        app = oauth_app_for(
            system, endpoints, client.client_id if client else "", client.client_secret if client else ""
        )
        if app is None:
            raise ConnectError(f"{system} has no OAuth app configured")
        cls = provider_class(system)
        configured = integration.side(data["s"]).tenant
        try:
            # What the redirect says besides the code: the tenant chosen (checked against the
            # configured one), where the code must be exchanged (a data centre's own server).
            consent = cls.read_consent(params, endpoints, configured)
        except ProviderError as e:
            raise ConnectError(e.message) from None
        try:
            credentials = token_endpoint_for(app, transport=self._transport).exchange_code(
                params["code"], self.redirect_uri(system), data.get("v"), token_url=consent.token_url
            )
        except AuthError as e:
            raise ConnectError(f"{cls.display_name} refused the code: {e.message}") from None
        tenant = consent.tenant or params.get("realmId") or configured
        extra = {**self._kept_login(integration.name, data["s"], tenant), **credentials.extra, **consent.extra}
        credentials = credentials.with_tokens(tenant_id=tenant, extra=extra)
        return self.save(integration.name, data["s"], credentials, actor=actor)

    def _kept_login(self, name: str, side: str, tenant: str | None) -> dict[str, str]:
        """A re-consent to the same tenant keeps the tenant's own sign-in stored beside the old
        tokens (MYOB's company-file user): consenting again does not change it."""
        with self.sessions() as session:
            row = get_connection(session, name, side)
            current = decode(row, self.vault) if row is not None else None
        if current is None or current.tenant_id != tenant:
            return {}
        return {k: v for k, v in current.extra.items() if k in ("tenant_user", "tenant_password")}

    def _seal(self, payload: dict[str, object]) -> str:
        return self.vault.encrypt(json.dumps(payload).encode()).decode()

    def _unseal(self, sealed: str) -> dict[str, str]:
        try:
            data = json.loads(self.vault.decrypt(sealed.encode()))
        except (SecretKeyError, ValueError):
            raise ConnectError("the consent state is not one Sync Doctor issued: start again") from None
        if int(data.get("x", 0)) < time.time():
            raise ConnectError("the consent link expired (15 minutes): start again")
        state: dict[str, str] = data
        return state
