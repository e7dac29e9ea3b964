"""Builders for the connection / token / plan / settings / rate check tests: real records
and configs, no fakes of the project's own functions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from checks.context import ConnectionState, RunContext, SideData
from config.integrations import IntegrationConfig, Mappings, SideConfig, SyncSettings
from providers.base import Capability
from providers.credentials import Credentials
from providers.records import Invoice, InvoiceLine, InvoiceStatus, TrackingRef

NOW = datetime(2026, 5, 20, 9, 30, tzinfo=UTC)


def oauth(**kw: Any) -> Credentials:
    base: dict[str, Any] = {
        "kind": "oauth2",
        "access_token": "at-test",
        "refresh_token": "rt-test",
        "expires_at": NOW,
        "refresh_issued_at": NOW,
    }
    base.update(kw)
    return Credentials(**base)


def api_key(key: str = "rk_live_abc123") -> Credentials:
    return Credentials(kind="api_key", api_key=key)


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
    conn = ConnectionState(state=state, last_error=last_error, credentials=credentials)
    return SideData.preloaded(which, integration.side(which), capabilities=capabilities, connection=conn, **resources)


def ctx(integration: IntegrationConfig, source: SideData, destination: SideData, now: datetime = NOW) -> RunContext:
    return RunContext(integration=integration, source=source, destination=destination, now=now)


def invoice(
    number: str,
    *,
    status: InvoiceStatus = InvoiceStatus.OPEN,
    currency: str = "AUD",
    total: str = "100.00",
    issue: date | None = date(2026, 5, 10),
    source: str | None = None,
    reference: str | None = None,
    tracking: tuple[TrackingRef, ...] = (),
) -> Invoice:
    lines = (InvoiceLine(description="Work", amount=Decimal(total), tracking=tracking),)
    return Invoice(
        id=f"id-{number}",
        number=number,
        status=status,
        currency=currency,
        total=Decimal(total),
        issue_date=issue,
        source=source,
        reference=reference,
        lines=lines,
    )
