"""Token and API-key checks: how long the connection has left, what it is allowed to do, and
which environment it points at.

* An OAuth access token expiring is normal: the TokenManager refreshes it (Xero every 30
  minutes, QuickBooks every hour), so it is never reported on its own.
* A refresh token dies: Xero's after 60 days unused (developer.xero.com/faq/oauth2), and
  QuickBooks' at the time its token endpoint states (``x_refresh_token_expires_in``, 100 days
  rolling, at most 5 years: PROVIDERS.md §2 Auth). We warn (``token.expiring``) when fewer than
  14 days remain, or when 80% of an "unused" lifetime has passed, so there is time to act.
* Granted scopes vs ``provider_class.scopes_needed`` when the system reports them (the probe)
  or the token response stated them; unknown scopes are never guessed.
* API keys: environment (``sk_test_`` against a live integration, or the reverse) and
  restricted-key permissions when the system tells.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator
from datetime import datetime, timedelta
from typing import Any

from checks.base import Check
from checks.catalog import entry
from checks.connection import (
    provider_traits,
    reauthorise,
    side_credentials,
    side_evidence,
    uses_api_key,
)
from checks.context import RunContext, SideData
from checks.findings import Finding, Severity
from providers import scopes_needed
from providers.base import Capability
from providers.credentials import Credentials
from providers.records import ConnectionInfo

logger = logging.getLogger(__name__)

WARN_DAYS_LEFT = 14  # a support person needs a fortnight to reach the admin who can re-consent
WARN_FRACTION_USED = 0.8

# A needed scope may be satisfied by another grant:
# - Xero: apps created from 2026-03-02 get granular scopes only; accounting.invoices +
#   accounting.payments replace accounting.transactions, which still covers both for apps
#   created earlier (PROVIDERS.md §1 Auth, 2ry; providers/xero.py).
# - HubSpot: the legacy ``e-commerce`` scope covers products (PROVIDERS.md §4 Auth).
SCOPE_ALTERNATIVES: dict[str, tuple[tuple[str, ...], ...]] = {
    "accounting.transactions": (("accounting.invoices", "accounting.payments"),),
    "accounting.transactions.read": (("accounting.invoices.read", "accounting.payments.read"),),
    "accounting.invoices": (("accounting.transactions",),),
    "accounting.invoices.read": (("accounting.transactions.read",),),
    "accounting.payments": (("accounting.transactions",),),
    "accounting.payments.read": (("accounting.transactions.read",),),
    "crm.objects.products.read": (("e-commerce",),),
    "crm.objects.products.write": (("e-commerce",),),
}

# Stripe key prefixes (docs.stripe.com/keys): the mode is part of the key's public prefix.
_STRIPE_KEY = re.compile(r"^(sk|rk|pk)_(test|live)_")
_KEY_KINDS = {"sk": "secret", "rk": "restricted", "pk": "publishable"}


def scope_satisfied(scope: str, granted: Collection[str], _seen: frozenset[str] = frozenset()) -> bool:
    """Whether ``granted`` covers ``scope``: exactly, through the read-write form of a
    ``.read`` scope (Xero's ``accounting.contacts`` includes ``accounting.contacts.read``), or
    through a documented alternative set (alternatives point both ways, so each scope is
    followed once)."""
    if scope in granted:
        return True
    if scope.endswith(".read") and scope.removesuffix(".read") in granted:
        return True
    seen = _seen | {scope}
    return any(
        all(s not in seen and scope_satisfied(s, granted, seen) for s in alt)
        for alt in SCOPE_ALTERNATIVES.get(scope, ())
    )


def missing_scopes(granted: Collection[str], needed: Collection[str]) -> list[str]:
    return [scope for scope in needed if not scope_satisfied(scope, granted)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _days(delta: timedelta) -> int:
    return int(delta.total_seconds() // 86400)


def refresh_deadline(creds: Credentials, lifetime: timedelta | None) -> tuple[datetime, str] | None:
    """When the refresh token dies and why we think so (``stated`` / ``unused``); earliest wins."""
    candidates: list[tuple[datetime, str]] = []
    if creds.refresh_expires_at is not None:
        candidates.append((creds.refresh_expires_at, "stated"))
    if lifetime is not None and creds.refresh_issued_at is not None:
        candidates.append((creds.refresh_issued_at + lifetime, "unused"))
    return min(candidates) if candidates else None


def expiring_reasons(remaining: timedelta, basis: str, lifetime: timedelta | None) -> list[str]:
    """Why a refresh token with ``remaining`` life deserves ``token.expiring`` (empty: it does
    not): the rule this check and the token keep-alive (``service/keep_alive.py``) share."""
    reasons: list[str] = []
    if remaining < timedelta(days=WARN_DAYS_LEFT):
        reasons.append("days_left")
    if basis == "unused" and lifetime is not None and remaining <= lifetime * (1 - WARN_FRACTION_USED):
        reasons.append("lifetime_used")
    return reasons


def refresh_life_finding(side: SideData, creds: Credentials, now: datetime) -> Finding | None:
    """``token.expiring`` / ``token.expired`` from the refresh token's remaining life."""
    if creds.kind != "oauth2":
        return None
    traits = provider_traits(side)
    lifetime = traits.refresh_token_lifetime if traits is not None else None
    if not creds.refresh_token:
        # Without a refresh token an expired access token cannot be renewed.
        if creds.expires_at is not None and creds.expires_at <= now:
            return Finding(
                code="token.expired",
                severity=entry("token.expired").severity,
                subject=side.system,
                evidence={
                    **side_evidence(side),
                    "token": "access",
                    "expired_at": _iso(creds.expires_at),
                    "refreshable": False,
                },
                system=side.system,
                action=reauthorise(side),
            )
        return None
    deadline = refresh_deadline(creds, lifetime)
    if deadline is None:
        return None
    expires_at, basis = deadline
    remaining = expires_at - now
    evidence: dict[str, Any] = {
        **side_evidence(side),
        "token": "refresh",
        "basis": basis,
        "issued_at": _iso(creds.refresh_issued_at),
        "expires_at": _iso(expires_at),
        "lifetime_days": _days(lifetime) if lifetime is not None and basis == "unused" else None,
        "age_days": _days(now - creds.refresh_issued_at) if creds.refresh_issued_at is not None else None,
    }
    if remaining <= timedelta(0):
        return Finding(
            code="token.expired",
            severity=entry("token.expired").severity,
            subject=side.system,
            evidence={**evidence, "expired_at": _iso(expires_at), "refreshable": False},
            system=side.system,
            action=reauthorise(side),
        )
    reasons = expiring_reasons(remaining, basis, lifetime)
    if not reasons:
        return None
    return Finding(
        code="token.expiring",
        severity=entry("token.expiring").severity,
        subject=side.system,
        evidence={**evidence, "days_remaining": _days(remaining), "reasons": reasons},
        system=side.system,
        action=reauthorise(side),
    )


def _granted(info: ConnectionInfo | None, creds: Credentials, api_key: bool) -> tuple[frozenset[str] | None, str]:
    """What the connection may do, and where we learnt it; None when nobody said."""
    if info is not None:
        if api_key and info.permissions is not None:
            return info.permissions, "system"
        if info.scopes is not None:
            return info.scopes, "system"
    if creds.scopes:
        return frozenset(creds.scopes), "token_response"
    return None, "unknown"


def permission_finding(side: SideData, creds: Credentials, info: ConnectionInfo | None) -> Finding | None:
    """``token.scope_missing`` (OAuth) or ``apikey.permissions`` (keys) naming each gap."""
    traits = provider_traits(side)
    # The side's configured scopes when it has them (an app registered with other scopes).
    needed = scopes_needed(side.system, side.config.scopes) if traits is not None else ()
    api_key = uses_api_key(side)
    granted, source = _granted(info, creds, api_key)
    if not needed or granted is None:
        return None
    missing = missing_scopes(granted, needed)
    if not missing:
        return None
    code = "apikey.permissions" if api_key else "token.scope_missing"
    return Finding(
        code=code,
        severity=entry(code).severity,
        subject=side.system,
        evidence={
            **side_evidence(side),
            "missing": missing,
            "granted": sorted(granted),
            "needed": list(needed),
            "granted_from": source,
        },
        system=side.system,
        action=None if api_key else reauthorise(side),
    )


def _key_prefix(creds: Credentials) -> tuple[str | None, str | None, str | None]:
    """(kind, mode, public prefix) of a Stripe-style key; the secret part is never kept."""
    match = _STRIPE_KEY.match(creds.api_key or "")
    if match is None:
        return None, None, None
    return _KEY_KINDS[match.group(1)], match.group(2), match.group(0)


def environment_finding(side: SideData, creds: Credentials, info: ConnectionInfo | None) -> Finding | None:
    """``apikey.environment``: the credentials reach test data on a live integration, or the reverse."""
    configured = side.config.environment
    if configured is None:
        return None
    kind, key_mode, prefix = _key_prefix(creds) if creds.kind == "api_key" else (None, None, None)
    actual = info.environment if info is not None and info.environment else key_mode
    if actual is None or actual == configured:
        return None
    return Finding(
        code="apikey.environment",
        severity=entry("apikey.environment").severity,
        subject=side.system,
        evidence={
            **side_evidence(side),
            "configured": configured,
            "actual": actual,
            "auth": creds.kind,
            "key_kind": kind,
            "key_prefix": prefix,
        },
        system=side.system,
    )


def token_findings(side: SideData, now: datetime) -> Iterator[Finding]:
    creds = side_credentials(side)
    if creds is None or side.connection.state in ("disconnected", "requires_reauth"):
        return  # the connection check reports it, and a probe would only repeat it as an error
    finding = refresh_life_finding(side, creds, now)
    if finding is not None:
        yield finding
        if finding.severity >= Severity.FAIL:
            return  # a dead token cannot probe; the probe would only repeat it as an error
    info = side.probe() if side.supports(Capability.ORG) else None
    for check in (permission_finding, environment_finding):
        found = check(side, creds, info)
        if found is not None:
            yield found


def check_tokens(ctx: RunContext) -> Iterator[Finding]:
    """Refresh-token life, scopes / permissions and environment of both sides."""
    for side in ctx.sides():
        yield from token_findings(side, ctx.now)


TOKENS = Check("tokens", "token", check_tokens, cheap=True)
