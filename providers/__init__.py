"""External systems. ``PROVIDERS`` is the registry: an explicit table, imported lazily.

What a system *is* (its display name, the rules its data must follow, its scopes and plan
features) lives on its provider class; code holding only a system key asks the registry
(:func:`display_name`, :func:`rules_for`, :func:`provider_class`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence

import httpx

from config.sources import FeedConfig
from providers.base import Endpoints, Provider, ProviderOptions, Rules
from providers.credentials import CredentialStore
from providers.fanout import SERIAL, FanOut
from providers.http import DEFAULT_TIMEOUT, CallStats, Limits, RetryPolicy, timeout_for
from providers.oauth import OAuthApp, TokenEndpoint, TokenManager

# The systems Sync Doctor serves, and so the systems an integration's side may name (the
# configuration is validated against these keys): registering a provider here is all it takes.
PROVIDERS: dict[str, str] = {
    "xero": "providers.xero.Xero",
    "quickbooks": "providers.quickbooks.QuickBooks",
    "hubspot": "providers.hubspot.HubSpot",
    "stripe": "providers.stripe.Stripe",
    "zoho_books": "providers.zoho_books.ZohoBooks",
    "myob": "providers.myob.Myob",
    # Job-management apps as sources: any app through a configured feed, and the presets.
    "generic": "providers.generic.GenericSource",
    "aroflo": "providers.aroflo.AroFlo",
    "torqueflow": "providers.jobapps.Torqueflow",
    "workshop_software": "providers.jobapps.WorkshopSoftware",
}

# The middle of the pipe: systems configured under an integration's `middleware:`, never as its
# source or destination (providers.middleware).
MIDDLEWARE: dict[str, str] = {
    "make": "providers.make.Make",
    "zapier": "providers.zapier.Zapier",
}


class UnknownSystem(ValueError):
    pass


def provider_class(system: str) -> type[Provider]:
    try:
        dotted = PROVIDERS[system] if system in PROVIDERS else MIDDLEWARE[system]
    except KeyError:
        known = ", ".join(sorted({*PROVIDERS, *MIDDLEWARE}))
        raise UnknownSystem(f"unknown system {system!r}; supported: {known}") from None
    module_name, _, class_name = dotted.rpartition(".")
    cls: type[Provider] = getattr(importlib.import_module(module_name), class_name)
    return cls


def display_name(system: str) -> str:
    """How users call ``system`` ("QuickBooks Online"); the key itself for one we do not know."""
    if system in PROVIDERS or system in MIDDLEWARE:
        return provider_class(system).display_name
    return system


def rules_for(system: str) -> Rules:
    """The rules data bound for ``system`` must follow; none known for a system without a client."""
    return provider_class(system).rules if system in PROVIDERS or system in MIDDLEWARE else Rules()


def scopes_needed(system: str, configured: Sequence[str] = ()) -> tuple[str, ...]:
    """The scopes a connection of ``system`` asks for at consent and is checked against: the
    side's configured ``scopes`` when given (an app registered before a system changed its
    scopes, e.g. Xero's broad ones), else the provider's defaults."""
    if configured:
        return tuple(configured)
    return provider_class(system).scopes_needed if system in PROVIDERS else ()


def oauth_app_for(
    system: str,
    endpoints: Endpoints,
    client_id: str | None,
    client_secret: str | None,
    scopes: Sequence[str] = (),
) -> OAuthApp | None:
    cls = provider_class(system)
    if cls.auth_kind == "api_key" or not endpoints.token_url:
        return None
    return OAuthApp(
        system=system,
        client_id=client_id or "",
        client_secret=client_secret or "",
        token_url=endpoints.token_url,
        authorize_url=endpoints.authorize_url or "",
        scopes=scopes_needed(system, scopes),
        client_auth=cls.client_auth,
        pkce=cls.supports_pkce,
        scope_separator=cls.scope_separator,
    )


def token_endpoint_for(
    app: OAuthApp,
    *,
    transport: httpx.BaseTransport | None = None,
    stats: CallStats | None = None,
    retry: RetryPolicy | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> TokenEndpoint:
    """The token endpoint of ``app``'s system, reading its answers the way that system words them."""
    cls = provider_class(app.system)
    return TokenEndpoint(
        app,
        transport=transport,
        error_for=cls.token_error,
        extra_from=cls.token_extra,
        stats=stats,
        retry=retry,
        timeout=timeout,
    )


def get_provider(
    system: str,
    *,
    tenant: str | None,
    credentials: CredentialStore,
    stats: CallStats,
    overrides: Mapping[str, str | None] | None = None,
    limits: Mapping[str, int | None] | None = None,
    environment: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
    page_size: int | None = None,
    extra: Mapping[str, str] | None = None,
    fan_out: FanOut = SERIAL,
    timeout: float | None = None,
    scopes: Sequence[str] = (),
    feed: FeedConfig | None = None,
) -> Provider:
    """Build a ready-to-call provider for one side of one integration. ``fan_out`` runs its
    independent reads side by side (the check runner lends its own per run instead);
    ``timeout`` is how long to wait for an answer (seconds); ``scopes`` the configured ones."""
    cls = provider_class(system)
    endpoints = cls.endpoints_for(overrides or {}, environment)
    app = oauth_app_for(system, endpoints, client_id, client_secret, scopes)
    token_endpoint = (
        token_endpoint_for(app, transport=transport, stats=stats, retry=retry, timeout=timeout_for(timeout))
        if app
        else None
    )
    options = ProviderOptions(
        tenant=tenant,
        endpoints=endpoints,
        limits=cls.default_limits.merged(limits or {}),
        environment=environment,
        oauth_app=app,
        retry=retry or RetryPolicy(),
        transport=transport,
        page_size=page_size,
        extra=dict(extra or {}),
        timeout=timeout,
        feed=feed,
    )
    return cls(options, TokenManager(credentials, token_endpoint), stats, fan_out=fan_out)


__all__ = [
    "MIDDLEWARE",
    "PROVIDERS",
    "Limits",
    "Provider",
    "Rules",
    "UnknownSystem",
    "display_name",
    "get_provider",
    "oauth_app_for",
    "provider_class",
    "rules_for",
    "scopes_needed",
    "token_endpoint_for",
]
