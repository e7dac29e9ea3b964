"""What Zoho says about access, read into the provider protocol's terms: the consent redirect's
data centre, the token endpoint's refusals, the ``{code, message}`` error envelope and the
daily-quota headers. Pure functions (the client is :mod:`providers.zoho_books`; sources in its
docstring)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from providers import zoho_books_wire as wire
from providers.base import Consent, Endpoints
from providers.errors import (
    NotFound,
    ProviderError,
    RateLimited,
    RefreshThrottled,
    Rejected,
    ScopeMissing,
    TenantError,
    TokenExpired,
    Unavailable,
    UnexpectedResponse,
)
from providers.http import parse_retry_after
from providers.records import RateStatus

logger = logging.getLogger(__name__)

SYSTEM = "zoho_books"
REFRESH_WINDOW = 600.0  # ten minutes [Z-REFRESH]
TENANT_CODES = frozenset({"6024", "6041", "9017"})  # several / invalid / no organisation (2ry)


def consent(params: Mapping[str, str], endpoints: Endpoints) -> Consent:
    """The user's data centre: the code is exchanged at the ``accounts-server`` the redirect
    names [Z-MDC], once it is known to be Zoho's (or on the configured server's host)."""
    server = params.get("accounts-server")
    if not server:
        return Consent()
    trusted = wire.trusted_url(server, wire.accounts_servers(), endpoints.token_url)
    if trusted is None:
        raise TenantError(
            f"the consent came back from {server!r}, which is not a Zoho accounts server: start again",
            system=SYSTEM,
        )
    token_url = f"{trusted}/oauth/v2/token"
    extra = {"token_url": token_url}
    if params.get("location"):
        extra["location"] = params["location"]
    return Consent(token_url=token_url, extra=extra)


def token_error(status: int, payload: Mapping[str, Any]) -> ProviderError | None:
    """The refresh limit's refusal (2ry wording, HTTP 400) as RefreshThrottled; the rest is the
    OAuth default (``invalid_code`` -> RefreshFailed)."""
    description = str(payload.get("error_description") or "")
    if payload.get("error") == "Access Denied" and "too many requests" in description.lower():
        return RefreshThrottled(
            description,
            system=SYSTEM,
            code="Access Denied",
            status=status,
            retry_after=REFRESH_WINDOW,
            limit="refresh",
        )
    return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def rate_status(response: httpx.Response) -> RateStatus | None:
    """``X-Rate-Limit-Limit`` / ``-Remaining`` (2ry): the organisation's day."""
    limit = _int(response.headers.get("X-Rate-Limit-Limit"))
    remaining = _int(response.headers.get("X-Rate-Limit-Remaining"))
    if limit is None and remaining is None:
        return None
    return RateStatus(day_remaining=remaining, day_limit=limit, last_problem="day" if remaining == 0 else None)


def error(
    status: int,
    body: Mapping[str, Any],
    response: httpx.Response,
    needed: Sequence[str],
    granted: Sequence[str],
) -> ProviderError:
    """Zoho's ``{code, message}`` (on any status, 200 included) -> a typed error."""
    code = str(body["code"]) if body.get("code") is not None else None
    message = str(body.get("message") or f"HTTP {status}")
    kw: dict[str, Any] = {"system": SYSTEM, "code": code, "status": status}
    if status == 429:
        rate = rate_status(response)
        if rate is not None and rate.day_remaining == 0:
            reset = parse_retry_after(response.headers.get("X-Rate-Limit-Reset"))
            return RateLimited(f"the day's API quota is spent: {message}", retry_after=reset, limit="day", **kw)
        wait = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimited(message, retry_after=60.0 if wait is None else wait, limit="minute", **kw)
    if status >= 500:
        return Unavailable(message, **kw)
    if code in TENANT_CODES:
        return TenantError(message, **kw)
    if status == 401:
        return TokenExpired(message, **kw)
    if status == 403:
        missing = tuple(s for s in needed if granted and s not in granted)
        return ScopeMissing(message, needed=missing or tuple(needed), **kw)
    if status == 404 or code == "1002":
        return NotFound(message, **kw)
    if not body:
        snippet = response.text[:120].replace("\n", " ")
        return UnexpectedResponse(f"answered {status} without Zoho's error body: {snippet!r}", **kw)
    return Rejected(message, details=(message,), **kw)
