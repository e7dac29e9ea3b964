"""Provider errors -> findings. Checks never catch ``ProviderError``; the runner calls
:func:`finding_for_error` with the error and the side it came from.

    TokenExpired         -> token.expired
    TokenRevoked         -> token.revoked           (apikey.invalid for an API key)
    RefreshFailed        -> token.refresh_failed
    RefreshThrottled     -> token.refresh_limited   (severity ERROR: the check could not finish)
    ClientRejected       -> token.client_rejected   (Sync Doctor's own app id / secret refused)
    TenantLoginRejected  -> token.tenant_login      (the organisation's own sign-in, e.g. MYOB's company file)
    ScopeMissing         -> token.scope_missing     (apikey.permissions for an API key)
    WrongEnvironment     -> apikey.environment
    CredentialsMissing   -> connection.disconnected
    TenantError          -> connection.wrong_tenant (connection.disconnected when the tenant is gone)
    RateLimited          -> rate.limited            (severity ERROR: the check could not finish)
    TimedOut             -> connection.slow         (severity ERROR: sent, no answer in time)
    FeedMismatch         -> jobapp.feed_mismatch    (a job-app feed's mapping does not fit the payload)
    anything else        -> connection.unreachable  (severity ERROR)

Every finding's subject is the side's system, so the runner keeps one finding per system and
code (``Finding.key``) however many checks met the same error (``checks.findings.dedupe``).
The evidence carries the provider's own message and code.
"""

from __future__ import annotations

import logging
from typing import Any

from checks.catalog import entry
from checks.connection import reauthorise, side_evidence, uses_api_key
from checks.context import SideData
from checks.findings import Finding, ProposedAction, Severity
from providers.errors import (
    ClientRejected,
    CredentialsMissing,
    FeedMismatch,
    ProviderError,
    RateLimited,
    RefreshFailed,
    RefreshThrottled,
    ScopeMissing,
    TenantError,
    TenantLoginRejected,
    TimedOut,
    TokenExpired,
    TokenRevoked,
    WrongEnvironment,
)

logger = logging.getLogger(__name__)

# Signs that a TenantError means the organisation is no longer connected at all (rather than
# "a different one"): Xero answers 403 {"Detail": "AuthenticationUnsuccessful"} for a tenant
# disconnected from its side (PROVIDERS.md §1 Tenancy, observed); providers may also say so
# in words.
_TENANT_GONE_CODES = frozenset({"authenticationunsuccessful", "disconnected", "tenant_disconnected", "not_connected"})
_TENANT_GONE_WORDS = ("disconnected", "no longer connected", "not connected", "not granted", "was removed")


def _tenant_gone(error: TenantError) -> bool:
    if (error.code or "").casefold() in _TENANT_GONE_CODES:
        return True
    text = error.message.casefold()
    return any(word in text for word in _TENANT_GONE_WORDS)


def _code_for(error: ProviderError, side: SideData) -> str:
    api_key = uses_api_key(side)
    if isinstance(error, TokenExpired):
        return "token.expired"
    if isinstance(error, TokenRevoked):
        return "apikey.invalid" if api_key else "token.revoked"
    if isinstance(error, RefreshFailed):
        return "token.refresh_failed"
    if isinstance(error, RefreshThrottled):
        return "token.refresh_limited"
    if isinstance(error, ClientRejected):
        return "token.client_rejected"
    if isinstance(error, TenantLoginRejected):
        return "token.tenant_login"
    if isinstance(error, ScopeMissing):
        return "apikey.permissions" if api_key else "token.scope_missing"
    if isinstance(error, WrongEnvironment):
        return "apikey.environment"
    if isinstance(error, CredentialsMissing):
        return "connection.disconnected"
    if isinstance(error, TenantError):
        return "connection.disconnected" if _tenant_gone(error) else "connection.wrong_tenant"
    if isinstance(error, RateLimited):
        return "rate.limited"
    if isinstance(error, TimedOut):
        return "connection.slow"
    if isinstance(error, FeedMismatch):
        return "jobapp.feed_mismatch"
    return "connection.unreachable"


# Codes where a fresh OAuth consent is the fix (an API key must be replaced by a person).
_REAUTHORISE_FIXES = frozenset(
    {
        "token.expired",
        "token.revoked",
        "token.refresh_failed",
        "token.scope_missing",
        "connection.disconnected",
        "connection.wrong_tenant",
    }
)


def finding_for_error(error: ProviderError, side: SideData) -> Finding:
    """The finding for a ``ProviderError`` met while reading ``side``."""
    code = _code_for(error, side)
    evidence: dict[str, Any] = {
        **side_evidence(side),
        "error": type(error).__name__,
        "message": error.message,
        "provider_code": error.code,
        "status": error.status,
        "from_error": True,
    }
    if isinstance(error, ScopeMissing):
        evidence["missing"] = list(error.needed)
    if isinstance(error, WrongEnvironment):
        evidence["actual"] = error.actual
        evidence["configured"] = error.expected
    if isinstance(error, RateLimited):
        evidence["retry_after"] = error.retry_after
        evidence["limit"] = error.limit
    if isinstance(error, TimedOut):
        evidence["timeout_s"] = error.timeout_s
    if code == "apikey.invalid" and side.config.environment:
        # The remediation names the mode (live / test) the replacement key must be made in.
        evidence["configured"] = side.config.environment
    if isinstance(error, FeedMismatch):
        evidence.update(field=error.field, path=error.path, sample=error.sample)
    if isinstance(error, TenantError):
        evidence["configured_tenant"] = side.config.tenant
        evidence["configured_name"] = side.config.name
    if code == "connection.disconnected":
        evidence["reason"] = "no_credentials" if isinstance(error, CredentialsMissing) else "tenant_disconnected"
        evidence["state"] = side.connection.state

    if code in ("connection.unreachable", "connection.slow", "rate.limited", "token.refresh_limited"):
        # Either way the check could not finish: ERROR, the severity that says "this report is
        # incomplete for this system", rather than rate.limited's catalog WARN (which the
        # platform check uses for headroom running low while everything still worked).
        severity = Severity.ERROR
    else:
        severity = entry(code).severity
    action: ProposedAction | None = None
    if code in _REAUTHORISE_FIXES and not uses_api_key(side):
        action = reauthorise(side)
    logger.info("%s on %s mapped to %s", type(error).__name__, side.system, code)
    return Finding(
        code=code, severity=severity, subject=side.system, evidence=evidence, system=side.system, action=action
    )
