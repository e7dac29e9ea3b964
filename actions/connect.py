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

from actions.errors import ConnectError, WrongOrganisation
from config.env import Settings
from config.integrations import AppConfig, IntegrationConfig
from providers import get_provider, oauth_app_for, provider_class
from providers.base import Endpoints
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import AuthError, ProviderError, TenantError
from providers.http import CallStats
from providers.oauth import TokenEndpoint, code_from_redirect, new_code_verifier, start_consent
from store.connections import save_connection
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
        return start_consent(app, self.redirect_uri(system), state=sealed, code_verifier=verifier).url

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
        try:
            credentials = TokenEndpoint(app, transport=self._transport).exchange_code(
                params["code"], self.redirect_uri(system), data.get("v")
            )
        except AuthError as e:
            raise ConnectError(f"{provider_class(system).display_name} refused the code: {e.message}") from None
        landed = params.get("realmId")  # QuickBooks names the company in the redirect
        self._confirm_organisation(integration, data["s"], credentials, landed)
        tenant = landed or integration.side(data["s"]).tenant
        return self.save(integration.name, data["s"], credentials.with_tokens(tenant_id=tenant), actor=actor)

    def _confirm_organisation(
        self, integration: IntegrationConfig, side: str, credentials: Credentials, landed: str | None
    ) -> None:
        """Refuse tokens that reach another organisation than the configured tenant, before
        anything is stored (no tenant configured: nothing to compare, taken as they come)."""
        cfg = integration.side(side)
        if not cfg.tenant:
            return
        display = provider_class(cfg.system).display_name
        kept = f"Nothing was changed: the stored connection of {integration.name}'s {side} is kept."
        again = f"Start again and choose {cfg.name or cfg.tenant} on {display}'s consent screen."
        if landed and landed != cfg.tenant:
            raise WrongOrganisation(
                f"{display} connected company {landed}, not the configured {cfg.name or cfg.tenant}. {kept} {again}"
            )
        client = self.settings.oauth_client(cfg.system)
        provider = get_provider(
            cfg.system,
            tenant=cfg.tenant,
            credentials=MemoryCredentialStore(
                f"{integration.name}/{side}", credentials.with_tokens(tenant_id=cfg.tenant)
            ),
            stats=CallStats(),
            overrides=cfg.urls,
            limits=cfg.limits,
            environment=cfg.environment,
            client_id=client.client_id if client else None,
            client_secret=client.client_secret if client else None,
            transport=self._transport,
            extra=cfg.options,
        )
        try:
            info = provider.probe()
        except TenantError as e:
            raise WrongOrganisation(f"{display} connected another organisation: {e.message}. {kept} {again}") from None
        except ProviderError as e:
            raise ConnectError(
                f"{display} gave new tokens, but Sync Doctor could not confirm which organisation they reach "
                f"({e.message}). {kept}"
            ) from None
        finally:
            provider.close()
        logger.info("consent for %s/%s reached the configured organisation %s", integration.name, side, info.tenant_id)

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
