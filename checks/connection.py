"""Connection checks: what the store says about each side's connection, and whether the
credentials reach the organisation the integration is configured for.

Two sources of truth are compared:

* the stored state (``ConnectionState.state``: active / requires_reauth / grace_period /
  disconnected / pending_credits, and whether any credentials are stored at all);
* one cheap probe per side (``SideData.probe()``, memoised and shared with the token checks):
  which tenant the credentials actually reach, its name, and every tenant the token can see
  (Xero's ``GET /connections`` lists them all; one token may cover several organisations).

A ``ProviderError`` from the probe is not caught here: the runner turns it into one finding
per system with :func:`checks.errors.finding_for_error`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from checks.base import Check
from checks.catalog import entry
from checks.context import RunContext, SideData
from checks.findings import Finding, ProposedAction, Severity
from providers import UnknownSystem, provider_class
from providers.base import Capability, Provider
from providers.credentials import Credentials
from providers.oauth import DEAD_REFRESH_ERRORS
from providers.records import ConnectionInfo

logger = logging.getLogger(__name__)

# Stored states that are not "active", with the severity each deserves. A grace period still
# syncs (the connection works until the grace ends), so it warns; the others stop every push.
STATE_SEVERITY: dict[str, Severity] = {
    "requires_reauth": Severity.FAIL,
    "grace_period": Severity.WARN,
    "pending_credits": Severity.FAIL,
}


def provider_traits(side: SideData) -> type[Provider] | None:
    """The provider class of ``side`` (scopes needed, token lifetimes, auth kind), or None
    for a system Sync Doctor has no provider for (nothing about it can be known)."""
    if side.provider is not None:
        return type(side.provider)
    try:
        return provider_class(side.system)
    except UnknownSystem:
        return None


def side_credentials(side: SideData) -> Credentials | None:
    """The freshest credentials of ``side``: the provider's own store first (a refresh during
    this run rotates tokens there), then what the run was given."""
    if side.provider is not None:
        fresh = side.provider.tokens.store.load()
        if fresh is not None:
            return fresh
    return side.connection.credentials


def uses_api_key(side: SideData) -> bool:
    """True when the side authenticates with a static key (Stripe, HubSpot private apps)."""
    creds = side_credentials(side)
    if creds is not None:
        return creds.kind == "api_key"
    traits = provider_traits(side)
    return traits is not None and traits.auth_kind == "api_key"


def keyless(side: SideData) -> bool:
    """A job-app feed that needs no secret (a public export URL, a file on disk)."""
    feed = side.config.feed
    return feed is not None and feed.auth.kind == "none"


def reauthorise(side: SideData) -> ProposedAction:
    """The button that starts a fresh OAuth consent for ``side``."""
    return ProposedAction(
        kind="reauthorise",
        label=f"Re-authorise {side.display_name}",
        params={"system": side.system, "side": side.side},
    )


def side_evidence(side: SideData) -> dict[str, Any]:
    """Fields every connection / token finding starts with."""
    return {"system": side.system, "side": side.side, "display_name": side.display_name}


def normalise_name(name: str | None) -> str:
    """Organisation names compared the way a person would: case and spacing do not count."""
    return " ".join((name or "").split()).casefold()


def _stored_state(side: SideData) -> Finding | None:
    conn = side.connection
    creds = side_credentials(side)
    if creds is None and conn.state == "active" and keyless(side):
        return None  # a job-app export read without a secret: nothing to store
    oauth = not uses_api_key(side)
    if conn.state == "disconnected" or creds is None:
        reason = "disconnected" if conn.state == "disconnected" else "no_credentials"
        return Finding(
            code="connection.disconnected",
            severity=entry("connection.disconnected").severity,
            subject=side.system,
            evidence={**side_evidence(side), "state": conn.state, "reason": reason, "last_error": conn.last_error},
            system=side.system,
            action=reauthorise(side) if oauth else None,
        )
    refresh_failure = _stored_refresh_failure(conn.last_error) if conn.state == "requires_reauth" else None
    if refresh_failure is not None:
        # The run that met the dead refresh token reported token.refresh_failed; later runs see
        # only the stored state. Keep the cause's code so the finding (and its alert) stays one
        # ongoing problem instead of "resolved" plus a new connection.state.
        provider_code, message = refresh_failure
        return Finding(
            code="token.refresh_failed",
            severity=entry("token.refresh_failed").severity,
            subject=side.system,
            evidence={
                **side_evidence(side),
                "error": "RefreshFailed",
                "message": message,
                "provider_code": provider_code,
                "status": None,
                "from_error": True,
                "state": conn.state,
            },
            system=side.system,
            action=reauthorise(side) if oauth else None,
        )
    severity = STATE_SEVERITY.get(conn.state)
    if severity is None:
        if conn.state != "active":
            logger.warning("unknown stored connection state %r for %s", conn.state, side.system)
        return None
    return Finding(
        code="connection.state",
        severity=severity,
        subject=side.system,
        evidence={**side_evidence(side), "state": conn.state, "last_error": conn.last_error},
        system=side.system,
        action=reauthorise(side) if conn.state == "requires_reauth" and oauth else None,
    )


def _stored_refresh_failure(last_error: str | None) -> tuple[str, str] | None:
    """(code, message) when the stored error is a dead refresh token, as TokenManager records it
    ("invalid_grant: <the system's message>")."""
    if not last_error:
        return None
    code, _, message = last_error.partition(": ")
    if code in DEAD_REFRESH_ERRORS or code == "refresh failed":
        return code, message or last_error
    return None


def _tenant_finding(side: SideData, info: ConnectionInfo) -> Finding | None:
    configured_id = side.config.tenant
    configured_name = side.config.name
    connected_name = info.tenant_name
    if configured_name and connected_name is None and side.supports(Capability.ORG):
        # The probe did not say the name (QuickBooks' realm probe, Stripe's key probe): the
        # organisation record does, and the plan and settings checks fetch it anyway.
        connected_name = side.org().name
    id_differs = bool(configured_id) and info.tenant_id != configured_id
    name_differs = (
        bool(configured_name)
        and connected_name is not None
        and normalise_name(configured_name) != normalise_name(connected_name)
    )
    if not id_differs and not name_differs:
        return None
    reachable = [{"id": tid, "name": tname} for tid, tname in info.tenants_available]
    configured_reachable = bool(configured_id) and any(t["id"] == configured_id for t in reachable)
    if not configured_reachable and configured_name:
        configured_reachable = any(normalise_name(t["name"]) == normalise_name(configured_name) for t in reachable)
    # Same tenant id, different name: the organisation was renamed, the sync still lands in
    # the right books; warn so the configuration is updated. Any other mismatch is the wrong
    # books and fails.
    renamed = bool(configured_id) and not id_differs
    evidence = {
        **side_evidence(side),
        "configured_tenant": configured_id,
        "configured_name": configured_name,
        "connected_tenant": info.tenant_id,
        "connected_name": connected_name,
        "tenant_differs": id_differs,
        "name_differs": name_differs,
        "renamed": renamed,
        "tenants_available": reachable,
        "configured_reachable": configured_reachable,
    }
    return Finding(
        code="connection.wrong_tenant",
        severity=Severity.WARN if renamed else entry("connection.wrong_tenant").severity,
        subject=side.system,
        evidence=evidence,
        system=side.system,
        # When the token already reaches the right organisation only the configuration needs
        # to change; otherwise a new consent must pick it.
        action=None if renamed or configured_reachable or uses_api_key(side) else reauthorise(side),
    )


def connection_findings(side: SideData) -> Iterator[Finding]:
    """Findings about one side's connection (stored state first, then the probe)."""
    stored = _stored_state(side)
    if stored is not None:
        yield stored
        if stored.severity >= Severity.FAIL:
            # The stored state already explains why this side cannot work; a probe would
            # only repeat it as an error.
            return
    if not side.supports(Capability.ORG):
        return
    tenant = _tenant_finding(side, side.probe())
    if tenant is not None:
        yield tenant


def check_source_connection(ctx: RunContext) -> Iterator[Finding]:
    """Stored connection state and tenant identity of the source."""
    yield from connection_findings(ctx.source)


def check_destination_connection(ctx: RunContext) -> Iterator[Finding]:
    """Stored connection state and tenant identity of the destination."""
    yield from connection_findings(ctx.destination)


# One check per side: a probe that raises on one side must not discard the other side's findings.
SOURCE_CONNECTION = Check("connection.source", "connection", check_source_connection, cheap=True)
DESTINATION_CONNECTION = Check("connection.destination", "connection", check_destination_connection, cheap=True)
