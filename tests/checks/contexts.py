"""Run contexts for check tests: an integration's configuration and its two sides, with records
given through ``SideData.preloaded`` (pure check logic; no system is faked)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from checks.context import ConnectionState, History, RunContext, SideData
from checks.findings import Finding
from config.integrations import IntegrationConfig, Mappings, SideConfig, SyncSettings
from providers.base import Capability
from providers.credentials import Credentials
from tests.checks.records import NOW

# What a destination that can be written to declares besides the resources it is given.
WRITES = frozenset({Capability.PUSH_INVOICE, Capability.CREATE_ITEM, Capability.CREATE_CONTACT})


def config(
    source: str = "hubspot",
    destination: str = "xero",
    *,
    source_side: dict[str, Any] | None = None,
    destination_side: dict[str, Any] | None = None,
    requires: tuple[str, ...] = (),
    mappings: Mappings | None = None,
    **settings: Any,
) -> IntegrationConfig:
    """Integration ``acme`` from ``source`` to ``destination``; ``settings`` are its sync settings."""
    return IntegrationConfig(
        name="acme",
        source=SideConfig(system=source, **(source_side or {})),
        destination=SideConfig(system=destination, **(destination_side or {})),
        settings=SyncSettings(**settings),
        mappings=mappings or Mappings(),
        requires=requires,
    )


def side(
    which: str,
    integration: IntegrationConfig,
    *,
    credentials: Credentials | None = None,
    state: str = "active",
    last_error: str | None = None,
    capabilities: frozenset[Capability] | None = None,
    **resources: Any,
) -> SideData:
    """One side with its stored connection (state, credentials) and the records it gives."""
    conn = ConnectionState(state=state, last_error=last_error, credentials=credentials)
    return SideData.preloaded(which, integration.side(which), capabilities=capabilities, connection=conn, **resources)


def ctx(
    integration: IntegrationConfig,
    source: SideData,
    destination: SideData,
    now: datetime = NOW,
    history: History | None = None,
) -> RunContext:
    return RunContext(
        integration=integration, source=source, destination=destination, now=now, history=history or History()
    )


def preloaded_ctx(
    source: dict[str, Any],
    destination: dict[str, Any],
    *,
    systems: tuple[str, str] = ("hubspot", "xero"),
    settings: SyncSettings | None = None,
    mappings: Mappings | None = None,
    history: History | None = None,
    now: datetime = NOW,
    dest_capabilities: frozenset[Capability] | None = None,
) -> RunContext:
    """A context whose sides are just their records (``{"invoices": [...], "items": [...]}``);
    the destination also declares the write capabilities unless ``dest_capabilities`` says."""
    integration = IntegrationConfig(
        name="acme",
        source=SideConfig(systems[0]),
        destination=SideConfig(systems[1]),
        settings=settings or SyncSettings(),
        mappings=mappings or Mappings(),
    )
    caps = dest_capabilities
    if caps is None:
        caps = frozenset(Capability(name) for name in destination if name != "rate") | WRITES
    return RunContext(
        integration=integration,
        source=SideData.preloaded("source", integration.source, **source),
        destination=SideData.preloaded("destination", integration.destination, capabilities=caps, **destination),
        now=now,
        history=history or History(),
    )


def by_code(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.code, []).append(f)
    return out
