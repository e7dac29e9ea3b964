"""The OAuth consent: signed single-use links, single-use states bound to them, and the check
that the consent reached the configured organisation before anything is stored.

1. :meth:`ConsentService.issue_link` gives an admin (Slack's Re-authorise, ``sync-doctor
   connect --oauth``) a link ``{public url}/oauth/{system}/start?link=ID.SIGNATURE``: the
   signature is an HMAC under the secret key, the ID is random and only its hash is stored,
   with the integration, side and whom it was issued to. It expires in 15 minutes.
2. Opening it (:meth:`open_link`, from ``GET /oauth/<system>/start``) spends it and starts the
   provider's consent with a fresh random ``state`` and PKCE verifier bound to that consent
   (the verifier is stored encrypted). A second opening is refused, as is anything that is not
   a link issued here: every refusal is the same :class:`InvalidLink`, so a visitor learns
   nothing of which integrations or systems exist.
3. The provider's redirect (:meth:`finish`, from ``/oauth/<system>/callback`` or ``connect
   --redirect-url``) spends the state, exchanges the code with the bound verifier, and asks the
   provider which organisation the new tokens reach (its ``probe``). Another organisation than
   the configured tenant is refused (:class:`WrongOrganisation`) and the stored connection is
   not touched; otherwise the tokens are stored.

:meth:`begin` starts a consent without a link, for ``connect --oauth`` when no public URL is
configured (the redirect is then pasted back with ``--redirect-url``): its state is stored and
spent the same way.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import parse_qs, urlparse

import httpx
from sqlalchemy.orm import Session, sessionmaker

from actions.connect import Connected, ConnectService
from actions.errors import ConnectError, InvalidLink, WrongOrganisation
from config.env import Settings
from config.integrations import AppConfig, IntegrationConfig
from providers import get_provider, oauth_app_for, provider_class, token_endpoint_for
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import AuthError, ProviderError, TenantError, TenantLoginRejected
from providers.http import CallStats
from providers.oauth import OAuthApp, code_from_redirect, new_code_verifier, start_consent
from store import consents
from store.crypto import SecretKeyError, Vault

logger = logging.getLogger(__name__)

LINK_TTL = timedelta(minutes=15)  # from issuing a link to opening it
CONSENT_TTL = timedelta(minutes=15)  # from opening it to the provider's redirect
_LINK_PURPOSE = b"oauth-link:"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def utcnow() -> datetime:
    return datetime.now(UTC)


class ConsentLinks(Protocol):
    """What the action engine needs to re-authorise a side: a link that starts its consent.
    :class:`ConsentService` is the one implementation (signed, single-use, 15 minutes)."""

    def issue_link(self, integration: str, side: str, issued_to: str) -> str:
        """A link that starts the OAuth consent for ``integration``'s ``side``, meant for
        ``issued_to`` (a Slack user id, or ``cli``); never stored, audited or logged by the caller."""
        ...


class ConsentService:
    def __init__(
        self,
        config: AppConfig,
        settings: Settings,
        sessions: sessionmaker[Session],
        vault: Vault,
        connect: ConnectService,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.settings = settings
        self.sessions = sessions
        self.vault = vault
        self.connect = connect
        self._transport = transport
        self._clock = clock

    # -- where things live ------------------------------------------------------------------

    def base_url(self) -> str:
        return (self.settings.public_url or f"http://localhost:{self.settings.port}").rstrip("/")

    def redirect_uri(self, system: str) -> str:
        return f"{self.base_url()}/oauth/{system}/callback"

    # -- 1. issue ---------------------------------------------------------------------------

    def issue_link(self, integration: str, side: str, issued_to: str) -> str:
        """A signed link that starts the consent for ``integration``'s ``side``, once, within
        15 minutes; ``issued_to`` (a Slack user id, or ``cli``) is recorded with it."""
        config, system = self.connect.resolve(integration, side)
        self._oauth_app(config, side)  # fail now, not when the admin clicks, if no OAuth app is set up
        secret = secrets.token_urlsafe(24)
        now = self._clock()
        with self.sessions.begin() as session:
            consents.forget_expired(session, now)
            consents.add(
                session,
                integration=config.name,
                side=side,
                system=system,
                issued_to=issued_to,
                now=now,
                link_hash=_hash(secret),
                link_expires_at=now + LINK_TTL,
            )
            consents.audit(
                session,
                integration=config.name,
                actor=issued_to,
                event="oauth.link_issued",
                detail={"side": side, "system": system},
            )
        logger.info("issued a connection link for %s/%s to %s", config.name, side, issued_to)
        token = f"{secret}.{self.vault.sign(_LINK_PURPOSE + secret.encode())}"
        return f"{self.base_url()}/oauth/{system}/start?link={token}"

    # -- 2. open ----------------------------------------------------------------------------

    def open_link(self, token: str, system: str) -> str:
        """Spend the link ``token`` (from the ``system`` start page); the provider's consent URL."""
        secret, _, signature = token.partition(".")
        if not secret or not signature or not self.vault.signed_by_us(_LINK_PURPOSE + secret.encode(), signature):
            raise InvalidLink()
        now = self._clock()
        state, verifier = secrets.token_urlsafe(32), new_code_verifier()
        with self.sessions.begin() as session:
            row = consents.open_link(
                session,
                _hash(secret),
                system,
                now=now,
                state_hash=_hash(state),
                verifier=self.vault.encrypt(verifier.encode()),
                state_expires_at=now + CONSENT_TTL,
            )
            if row is None:
                raise InvalidLink()
            config = self.config.get(row.integration)
            if config is None or config.side(row.side).system != system:
                raise InvalidLink()  # the configuration changed since the link was issued
            # No OAuth app configured (any more): the error says so, and the link, rolled back
            # with this transaction, still works once the app is set up.
            app = self._oauth_app(config, row.side)
            consents.audit(
                session,
                integration=row.integration,
                actor=row.issued_to,
                event="oauth.link_opened",
                detail={"side": row.side, "system": system},
            )
        return start_consent(
            app, self.redirect_uri(system), state=state, code_verifier=verifier, **provider_class(system).consent_params
        ).url

    def begin(self, integration: str, side: str, issued_to: str) -> str:
        """The provider's consent URL straight away (no link): for ``connect --oauth`` run where
        the redirect will be pasted back, not received by a server."""
        config, system = self.connect.resolve(integration, side)
        app = self._oauth_app(config, side)
        now = self._clock()
        state, verifier = secrets.token_urlsafe(32), new_code_verifier()
        with self.sessions.begin() as session:
            consents.forget_expired(session, now)
            consents.add(
                session,
                integration=config.name,
                side=side,
                system=system,
                issued_to=issued_to,
                now=now,
                link_hash=None,
                link_expires_at=now,
                state_hash=_hash(state),
                verifier=self.vault.encrypt(verifier.encode()),
                state_expires_at=now + CONSENT_TTL,
            )
            consents.audit(
                session,
                integration=config.name,
                actor=issued_to,
                event="oauth.consent_started",
                detail={"side": side, "system": system},
            )
        return start_consent(
            app, self.redirect_uri(system), state=state, code_verifier=verifier, **provider_class(system).consent_params
        ).url

    # -- 3. finish --------------------------------------------------------------------------

    def finish(self, system: str, redirect_url: str, *, actor: str) -> Connected:
        """Spend the state in the provider's redirect, exchange its code, check the
        organisation, and store the tokens."""
        query = {k: v[0] for k, v in parse_qs(urlparse(redirect_url).query).items()}
        state = query.get("state") or ""
        with self.sessions.begin() as session:
            # Spent before anything else, even when consent was refused: a state works once.
            row = consents.finish(session, _hash(state), system, self._clock()) if state else None
            found = (row.integration, row.side, row.verifier) if row is not None else None
        if "error" in query:
            raise ConnectError(f"the provider refused consent: {query.get('error_description') or query['error']}")
        if found is None:
            raise InvalidLink()
        name, side, sealed_verifier = found
        config = self.config.get(name)
        if config is None or config.side(side).system != system:
            raise InvalidLink()
        app = self._oauth_app(config, side)
        try:
            verifier = self.vault.decrypt(sealed_verifier).decode() if sealed_verifier and app.pkce else None
        except SecretKeyError:
            raise InvalidLink() from None  # the secret key changed since the consent started
        try:
            params = code_from_redirect(redirect_url, expected_state=state)
        except AuthError:
            raise ConnectError("the redirect carries no authorization code: start again") from None
        cls = provider_class(system)
        configured = config.side(side).tenant
        try:
            # What the redirect says besides the code: the tenant chosen (MYOB's company file,
            # checked against the configured one), where the code must be exchanged (Zoho's
            # data-centre accounts server).
            consent = cls.read_consent(params, self.connect.endpoints(config, side), configured)
        except TenantError as e:
            self._refused(config, side, None)
            raise WrongOrganisation(f"{cls.display_name}: {e.message}. Nothing was changed.") from None
        except ProviderError as e:
            raise ConnectError(e.message) from None
        try:
            credentials = token_endpoint_for(app, transport=self._transport).exchange_code(
                params["code"], self.redirect_uri(system), verifier, token_url=consent.token_url
            )
        except AuthError as e:
            raise ConnectError(f"{cls.display_name} refused the code: {e.message}") from None
        landed = consent.tenant or params.get("realmId")  # QuickBooks names the company in the redirect
        tenant = landed or configured
        extra = {**self.connect.kept_login(name, side, tenant), **credentials.extra, **consent.extra}
        credentials = credentials.with_tokens(tenant_id=tenant, extra=extra)
        self._confirm_organisation(config, side, credentials, landed)
        return self.connect.save(name, side, credentials, actor=actor)

    def _confirm_organisation(
        self, config: IntegrationConfig, side: str, credentials: Credentials, landed: str | None
    ) -> None:
        """Refuse tokens that reach another organisation than the configured tenant (none
        configured: nothing to compare with, the tokens are taken as they come)."""
        cfg = config.side(side)
        expected = cfg.tenant
        if not expected:
            return
        display = provider_class(cfg.system).display_name
        kept = f"Nothing was changed: the stored connection of {config.name}'s {side} is kept."
        again = f"Start again and choose {cfg.name or expected} on {display}'s consent screen."
        if landed and landed.lower() != expected.lower():
            self._refused(config, side, landed)
            raise WrongOrganisation(
                f"{display} connected company {landed}, not the configured {cfg.name or expected} ({expected}). "
                f"{kept} {again}"
            )
        client = self.settings.oauth_client(cfg.system)
        provider = get_provider(
            cfg.system,
            tenant=expected,
            credentials=MemoryCredentialStore(f"{config.name}/{side}", credentials.with_tokens(tenant_id=expected)),
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
            provider.probe()
        except TenantError as e:
            self._refused(config, side, None)
            raise WrongOrganisation(f"{display}: {e.message}. {kept} {again}") from None
        except TenantLoginRejected:
            # The configured tenant answered and asked for its own user sign-in (MYOB's company
            # file): the tokens reach it; the sign-in is stored separately (connect
            # --company-file-user) and kept across consents.
            return
        except ProviderError as e:
            raise ConnectError(
                f"{display} gave new tokens, but Sync Doctor could not confirm which organisation they reach "
                f"({e.message}). {kept} Start again in a few minutes."
            ) from None
        finally:
            provider.close()

    def _refused(self, config: IntegrationConfig, side: str, landed: str | None) -> None:
        logger.warning("refused a consent for %s/%s: it reached another organisation", config.name, side)
        with self.sessions.begin() as session:
            consents.audit(
                session,
                integration=config.name,
                actor="oauth-callback",
                event="oauth.wrong_organisation",
                detail={"side": side, "landed": landed, "expected": config.side(side).tenant},
            )

    # -- helpers ----------------------------------------------------------------------------

    def _oauth_app(self, config: IntegrationConfig, side: str) -> OAuthApp:
        system = config.side(side).system
        display = provider_class(system).display_name
        client = self.settings.oauth_client(system)
        if client is None:
            raise ConnectError(
                f"{system.upper()}_CLIENT_ID and {system.upper()}_CLIENT_SECRET are not set: register an OAuth app "
                f"with {display} first (see README, 'Connecting accounting systems')"
            )
        app = oauth_app_for(
            system,
            self.connect.endpoints(config, side),
            client.client_id,
            client.client_secret,
            config.side(side).scopes,  # an app registered with other scopes than the defaults lists its own
        )
        if app is None or not app.authorize_url:
            raise ConnectError(f"{display} does not use OAuth here: use --api-key")
        return app
