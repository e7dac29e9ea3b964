"""The provider error tree. Nothing above ``providers/`` sees httpx or a system's envelope.

    ProviderError                 system, message, code (the system's own), status, permanent
    ├── AuthError
    │   ├── TokenExpired          access token rejected and no refresh possible
    │   ├── TokenRevoked          token / API key revoked or unknown to the system
    │   ├── RefreshFailed         refresh token rejected (invalid_grant): re-authorise
    │   ├── ScopeMissing          needed: the scopes or permissions the call required
    │   ├── WrongEnvironment      test key against live (or the reverse)
    │   ├── CredentialsMissing    nothing stored for this connection yet
    │   └── TenantLoginRejected   the tenant's own sign-in was refused (MYOB company-file user)
    ├── TenantError               tenant disconnected, not granted, or not the configured one
    ├── RateLimited               retry_after (seconds), limit (which window)
    │   └── RefreshThrottled      the token endpoint mints no more access tokens for now (Zoho)
    ├── NotFound
    ├── Rejected                  the system refused a write or query (validation, duplicate, locked)
    ├── Unavailable               5xx, timeouts, connection failures (transient)
    │   ├── TimedOut              sent, but no answer within the timeout (timeout_s): the system is slow
    │   └── ConnectFailed         never sent: no connection could be made (safe to repeat, even a write)
    ├── UnexpectedResponse        the system answered something we cannot read
    │   └── FeedMismatch          a feed's field mapping does not fit the records an app returned
    └── Unsupported               the system has no such capability (declared, never faked)

``permanent`` tells callers whether retrying the same request can ever help. ``retry`` is the
system's own word on it when it gives one (Stripe's ``Stripe-Should-Retry``): True or False
overrides what the error's type and the request's method would decide; None when it did not say.
"""

from __future__ import annotations


class ProviderError(Exception):
    permanent: bool = True

    def __init__(
        self,
        message: str,
        *,
        system: str,
        code: str | None = None,
        status: int | None = None,
        retry: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.code = code
        self.status = status
        self.retry = retry

    def __str__(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        return f"{self.system}: {self.message}{code}"


class AuthError(ProviderError):
    pass


class TokenExpired(AuthError):
    pass


class TokenRevoked(AuthError):
    pass


class RefreshFailed(AuthError):
    pass


class CredentialsMissing(AuthError):
    pass


class ScopeMissing(AuthError):
    def __init__(self, message: str, *, needed: tuple[str, ...] = (), **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.needed = needed


class WrongEnvironment(AuthError):
    def __init__(self, message: str, *, actual: str, expected: str, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.actual = actual
        self.expected = expected


class TenantLoginRejected(AuthError):
    """The tenant's own user sign-in, sent beside the OAuth token, was refused (MYOB's
    company-file credentials): a new consent does not help, the stored sign-in must change."""


class ClientRejected(AuthError):
    """The token endpoint refused Sync Doctor's own OAuth app (RFC 6749 section 5.2
    ``invalid_client`` / ``unauthorized_client``): the client id or secret Sync Doctor is
    configured with, not the customer's consent. A new consent does not help; whoever runs Sync
    Doctor must fix ``<SYSTEM>_CLIENT_ID`` / ``<SYSTEM>_CLIENT_SECRET``."""


class TenantError(ProviderError):
    pass


class RateLimited(ProviderError):
    permanent = False

    def __init__(
        self, message: str, *, retry_after: float | None = None, limit: str | None = None, **kw: object
    ) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after
        self.limit = limit


class RefreshThrottled(RateLimited):
    """The refresh token is fine but the token endpoint refuses to mint another access token
    until its window passes (Zoho: ten access tokens per refresh token per ten minutes)."""


class NotFound(ProviderError):
    pass


class Rejected(ProviderError):
    """A write or query refused by the system; ``details`` holds each validation message."""

    def __init__(self, message: str, *, details: tuple[str, ...] = (), **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.details = details


class Unavailable(ProviderError):
    permanent = False


class TimedOut(Unavailable):
    """The request went out but no answer came within ``timeout_s``: the system is slow (or
    hung). Repeating it would only wait as long again, so the client does not."""

    def __init__(self, message: str, *, timeout_s: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.timeout_s = timeout_s


class ConnectFailed(Unavailable):
    """No connection could be made: nothing was sent, so repeating even a write is safe."""


class UnexpectedResponse(ProviderError):
    pass


class Unsupported(ProviderError):
    pass


class FeedMismatch(UnexpectedResponse):
    """A job-app feed's mapping (``feed.mapping`` / ``records`` in the configuration) does not
    fit what the app returned: which field, its configured path, why, and one record as it
    came (so the operator can correct the path without guessing)."""

    def __init__(self, message: str, *, field: str, path: str, sample: str, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.field = field
        self.path = path
        self.sample = sample
