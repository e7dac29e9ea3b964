"""Token keep-alive: the body of a scheduled job (the scheduler registers it; it claims nothing
itself). Refresh tokens that die when unused (Xero's after 60 days, QuickBooks' 100-day rolling
window: ``refresh_token_lifetime`` on each provider class, PROVIDERS.md §1 and §2) are refreshed
once :data:`SAFE_SHARE` of that idle life has passed, so a connection nobody used for weeks
(no sweep reached it, checks switched off) never dies of idleness.

For every stored OAuth connection of a configured integration that is ``active``:

- due (idle for :data:`SAFE_SHARE` of its lifetime, or past its stated expiry's matching
  point) -> refreshed through the provider's own :class:`providers.oauth.TokenManager` (the
  path every run takes: single-flight under the connection's lock, rotated tokens saved
  encrypted through ``store.connections.DbCredentialStore``, ``token.refreshed`` audited);
- a refusal (``invalid_grant``: the token is dead) -> the TokenManager marks the connection
  ``requires_reauth`` as it does for any run, and the integration's cheap checks run at once
  through :class:`service.runs.CheckService` (trigger ``keep_alive``): a stored run whose
  ``connection.state`` failure the normal alert rules (``reports/alerts.py``) announce, once;
- still near a hard limit after that (QuickBooks' 5-year maximum shows as a stated expiry that
  stops moving) -> the same checks run, so ``token.expiring`` is reported and alerted by the
  token check's own rule (``checks.tokens.expiring_reasons``), not a copy of it here;
- a transient failure (the token endpoint down, rate limited) -> reported, nothing else: the
  next keep-alive or sweep tries again.

Nothing secret is logged or put in the report: connections are named by integration, side and
system; errors by their code and the system's message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from checks.tokens import expiring_reasons, refresh_deadline
from config.integrations import IntegrationConfig
from providers import UnknownSystem, provider_class
from providers.errors import ProviderError, RefreshFailed
from providers.http import CallStats
from service.container import Services
from service.errors import RunNotStored
from store import repositories as repo
from store.connections import decode
from store.crypto import SecretKeyError

logger = logging.getLogger(__name__)

# Refresh once half a refresh token's idle lifetime has passed: Xero's at 30 days of 60,
# QuickBooks' at 50 of 100. A weekly keep-alive then has three more chances before it dies.
SAFE_SHARE = 0.5
TRIGGER = "keep_alive"
LIVE_STATES = frozenset({"active", "grace_period"})


@dataclass(frozen=True, slots=True)
class ConnectionRef:
    """One connection, named without anything secret."""

    integration: str
    side: str
    system: str
    detail: str = ""  # the error code and message, or how much life is left


@dataclass
class KeepAliveReport:
    refreshed: list[ConnectionRef] = field(default_factory=list)
    refused: list[ConnectionRef] = field(default_factory=list)  # dead: re-authorisation needed
    failed: list[ConnectionRef] = field(default_factory=list)  # transient: tried again next time
    expiring: list[ConnectionRef] = field(default_factory=list)  # near a hard limit even so
    not_due: int = 0
    checked: list[str] = field(default_factory=list)  # refs of the runs stored for the above

    def lines(self) -> list[str]:
        """The report for a log line or the command line."""
        out = [f"refreshed {len(self.refreshed)}, not due {self.not_due}"]
        out += [f"refused: {c.integration}/{c.side} ({c.system}): {c.detail}" for c in self.refused]
        out += [f"failed: {c.integration}/{c.side} ({c.system}): {c.detail}" for c in self.failed]
        out += [f"expiring: {c.integration}/{c.side} ({c.system}): {c.detail}" for c in self.expiring]
        return out


def due(issued_or_deadline: tuple[datetime, str] | None, lifetime: timedelta | None, now: datetime) -> bool:
    """Is a refresh token whose deadline is ``issued_or_deadline`` due for a keep-alive refresh?"""
    if issued_or_deadline is None or lifetime is None:
        return False  # a token that does not die of idleness needs no keeping alive
    deadline, _basis = issued_or_deadline
    return deadline - now <= lifetime * (1 - SAFE_SHARE)


def keep_alive(services: Services, *, now: datetime) -> KeepAliveReport:
    """Refresh every stored OAuth connection that is due; alert on refusals and hard limits."""
    report = KeepAliveReport()
    for integration in services.checks.integrations():
        troubled = False
        for side in _sides(integration):
            troubled |= _keep(services, integration, side, now, report)
        if troubled:
            _check(services, integration.name, report)
    if report.refreshed or report.refused or report.failed or report.expiring:
        logger.info("token keep-alive: %s", "; ".join(report.lines()))
    return report


def _sides(integration: IntegrationConfig) -> list[str]:
    return ["source", "destination"] + (["middleware"] if integration.middleware is not None else [])


def _keep(
    services: Services, integration: IntegrationConfig, side: str, now: datetime, report: KeepAliveReport
) -> bool:
    """Keep one connection alive; True when its integration's checks should run now."""
    config = integration.side(side)
    with services.sessions() as session:
        row = repo.connections_for(session, integration.name).get(side)
        if row is None or row.kind != "oauth2" or row.state not in LIVE_STATES:
            return False  # nothing stored, an API key, or already reported as needing consent
        try:
            creds = decode(row, services.vault)
        except SecretKeyError:
            return False  # the checks report an unreadable connection; nothing to refresh with
    try:
        lifetime = provider_class(config.system).refresh_token_lifetime
    except UnknownSystem:
        return False
    ref = ConnectionRef(integration.name, side, config.system)
    if creds.refresh_token and due(refresh_deadline(creds, lifetime), lifetime, now):
        provider = None
        try:
            provider = services.checks.provider_factory(integration)(side, config, CallStats())
            provider.tokens.force_refresh()  # the run's own path: locked, saved encrypted, audited
        except RefreshFailed as e:
            report.refused.append(_with(ref, e))
            return True
        except ProviderError as e:
            report.failed.append(_with(ref, e))
            return False
        finally:
            if provider is not None:
                provider.close()
        report.refreshed.append(ref)
        creds = provider.tokens.credentials()
    else:
        report.not_due += 1
    deadline = refresh_deadline(creds, lifetime) if creds.refresh_token else None
    if deadline is not None and expiring_reasons(deadline[0] - now, deadline[1], lifetime):
        days = int((deadline[0] - now).total_seconds() // 86400)
        report.expiring.append(ConnectionRef(ref.integration, side, ref.system, f"{days} days left ({deadline[1]})"))
        return True
    return False


def _with(ref: ConnectionRef, error: ProviderError) -> ConnectionRef:
    return ConnectionRef(
        ref.integration, ref.side, ref.system, f"{error.code or type(error).__name__}: {error.message}"
    )


def _check(services: Services, name: str, report: KeepAliveReport) -> None:
    """The cheap checks (connection, token, rate) of one integration, as a stored run: the
    normal alert rules announce what keep-alive found, once (an open alert is not re-posted)."""
    cheap = [check for check in services.checks.checks if check.cheap]
    try:
        result = services.checks.run(name, trigger=TRIGGER, checks=cheap)
    except RunNotStored as e:
        logger.error("token keep-alive: the checks of %s ran but were not stored: %s", name, e)
        return
    report.checked.append(result.ref)
