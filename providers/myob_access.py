"""What MYOB says about access, read into the provider protocol's terms: the consent redirect's
company file, the ``Errors`` envelope (403 RateLimitError is a rate limit, never an auth error;
"Access denied" is the wrong file or the file's own sign-in) and which limit a throttle names.
Pure functions (the client is :mod:`providers.myob`; sources in its docstring)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from providers.base import Consent
from providers.credentials import Credentials
from providers.errors import (
    NotFound,
    ProviderError,
    RateLimited,
    Rejected,
    ScopeMissing,
    TenantError,
    TenantLoginRejected,
    TokenExpired,
    TokenRevoked,
    Unavailable,
    UnexpectedResponse,
)
from providers.records import RateStatus

logger = logging.getLogger(__name__)

SYSTEM = "myob"
DAY_WAIT = 3600.0  # a spent daily limit: longer than any retry, so it is reported, not slept through


def consent(params: Mapping[str, str], configured: str | None) -> Consent:
    """The company file the admin picked (``businessId`` [M-GUID]); it must be the configured one."""
    chosen = params.get("businessId")
    name = params.get("businessName")
    if chosen and configured and chosen.lower() != configured.lower():
        raise TenantError(
            f"the company file chosen on MYOB's consent screen is {name or chosen} ({chosen}), not the "
            f"configured one ({configured}): start again and pick the configured file",
            system=SYSTEM,
            code="company_file_mismatch",
        )
    return Consent(tenant=chosen or None, tenant_name=name)


def rate_status(response: httpx.Response) -> RateStatus | None:
    """MYOB sends no quota headers; a 403 RateLimitError still says which limit was hit [M-ERR]."""
    if response.status_code not in (403, 429) or b"RateLimitError" not in response.content:
        return None
    return RateStatus(last_problem="day" if b"daily" in response.content else "second")


def error(response: httpx.Response, needed: Sequence[str], creds: Credentials, configured: str) -> ProviderError:
    """MYOB's ``{"Errors": [...]}`` (or a bare list of errors, as [M-AD] shows) -> a typed error."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body.get("Errors") if isinstance(body, dict) else body
    items = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    first = items[0] if items else {}
    name = str(first.get("Name") or "")
    message = str(first.get("Message") or f"HTTP {status}")
    kw: dict[str, Any] = {"system": SYSTEM, "code": name or None, "status": status}
    if name == "RateLimitError":
        daily = "daily" in message.lower()
        return RateLimited(message, retry_after=DAY_WAIT if daily else 1.0, limit="day" if daily else "second", **kw)
    if status >= 500 or name == "GatewayTimeout":
        return Unavailable(message, **kw)
    if name == "DeveloperInactive":
        return TokenRevoked(f"the MYOB API key was refused: {message}", **kw)
    if name in ("AccessDenied", "") and status in (401, 403) and "access denied" in message.lower():
        return _access_denied(message, creds, configured, kw)
    if status == 401:
        return TokenExpired(message, **kw)
    if status == 403:
        missing = tuple(s for s in needed if creds.scopes and s not in creds.scopes)
        return ScopeMissing(message, needed=missing, **kw) if missing else TenantError(message, **kw)
    if status == 404:
        return NotFound(message, **kw)
    if not first:
        snippet = response.text[:120].replace("\n", " ")
        return UnexpectedResponse(f"answered {status} without MYOB's Errors: {snippet!r}", **kw)
    details = tuple(str(e["Message"]) for e in items if e.get("Message"))
    return Rejected("; ".join(details) or message, details=details or (message,), **kw)


def _access_denied(message: str, creds: Credentials, configured: str, kw: dict[str, Any]) -> ProviderError:
    """ "Access denied" to the file: the wrong file for this token, or the file's own sign-in
    refused (MYOB's table sends cftoken problems this way, 401 or 403 [M-AD, M-ERR])."""
    granted = creds.tenant_id
    if granted and granted.lower() != configured.lower():
        return TenantError(
            f"this connection was granted company file {granted}, not the configured {configured}: {message}",
            **kw,
        )
    signed = bool(creds.extra.get("tenant_user"))
    why = "its user and password were refused" if signed else "it needs its own user sign-in and none is stored"
    return TenantLoginRejected(f"MYOB company file {configured}: {why} ({message})", **kw)
