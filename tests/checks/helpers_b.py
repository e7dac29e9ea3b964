"""Builders for the mapping / contact / SKU / sync-state / trace tests: records given directly
through ``SideData.preloaded`` (pure check logic; no system is faked)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from checks.context import History, RunContext, SideData
from config.integrations import IntegrationConfig, Mappings, SideConfig, SyncSettings
from providers.base import Capability
from providers.records import Contact, Invoice, InvoiceLine, InvoiceStatus, Item

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
TODAY = NOW.date()

WRITES = frozenset({Capability.PUSH_INVOICE, Capability.CREATE_ITEM, Capability.CREATE_CONTACT})


def line(sku: str | None = None, amount: str = "100.00", **kw: Any) -> InvoiceLine:
    value = Decimal(amount)
    return InvoiceLine(sku=sku, quantity=Decimal(1), unit_amount=value, amount=value, **kw)


def invoice(
    number: str,
    *lines: InvoiceLine,
    total: str | None = None,
    status: InvoiceStatus = InvoiceStatus.OPEN,
    currency: str = "AUD",
    contact: Contact | None = None,
    day: date | None = date(2026, 5, 10),
    **kw: Any,
) -> Invoice:
    lines = lines or (line(),)
    amount = Decimal(total) if total is not None else sum((ln.amount for ln in lines), Decimal(0))
    if contact is not None:
        kw.setdefault("contact_id", contact.id)
        kw.setdefault("contact_name", contact.name)
        kw.setdefault("contact_email", contact.email)
    return Invoice(
        id=kw.pop("id", f"id-{number}"),
        number=number,
        status=status,
        currency=currency,
        total=amount,
        issue_date=day,
        lines=tuple(lines),
        **kw,
    )


def item(code: str | None, name: str | None = None, active: bool = True, id: str | None = None, **kw: Any) -> Item:
    return Item(
        id=id or f"item-{code}-{name or ''}-{active}", code=code, name=name or f"Item {code}", active=active, **kw
    )


def ctx(
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
    config = IntegrationConfig(
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
        integration=config,
        source=SideData.preloaded("source", config.source, **source),
        destination=SideData.preloaded("destination", config.destination, capabilities=caps, **destination),
        now=now,
        history=history or History(),
    )


def by_code(findings: list[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for f in findings:
        out.setdefault(f.code, []).append(f)
    return out
