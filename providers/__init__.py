"""External systems. ``PROVIDERS`` is the registry: an explicit table, imported lazily."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import httpx

from providers.base import Endpoints, Provider, ProviderOptions
from providers.credentials import CredentialStore
from providers.http import CallStats, Limits, RetryPolicy
from providers.oauth import OAuthApp, TokenEndpoint, TokenManager

PROVIDERS: dict[str, str] = {
    "xero": "providers.xero.Xero",
    "quickbooks": "providers.quickbooks.QuickBooks",
    "hubspot": "providers.hubspot.HubSpot",
    "stripe": "providers.stripe.Stripe",
}


class UnknownSystem(ValueError):
    pass


def provider_class(system: str) -> type[Provider]:
    try:
        dotted = PROVIDERS[system]
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise UnknownSystem(f"unknown system {system!r}; supported: {known}") from None
    module_name, _, class_name = dotted.rpartition(".")
    cls: type[Provider] = getattr(importlib.import_module(module_name), class_name)
    return cls


def oauth_app_for(
    system: str,
    endpoints: Endpoints,
    client_id: str | None,
    client_secret: str | None,
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
        scopes=cls.scopes_needed,
        client_auth=cls.client_auth,
        pkce=cls.supports_pkce,
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
) -> Provider:
    """Build a ready-to-call provider for one side of one integration."""
    cls = provider_class(system)
    endpoints = cls.default_endpoints.with_overrides(overrides or {})
    app = oauth_app_for(system, endpoints, client_id, client_secret)
    token_endpoint = TokenEndpoint(app, transport=transport) if app else None
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
    )
    return cls(options, TokenManager(credentials, token_endpoint), stats)


__all__ = [
    "PROVIDERS",
    "Limits",
    "Provider",
    "UnknownSystem",
    "get_provider",
    "oauth_app_for",
    "provider_class",
]
