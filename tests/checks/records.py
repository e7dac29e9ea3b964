"""Records as providers hand them to the checks: invoices and their lines, items, credentials.
Real record types with test values; no system is faked."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from providers.credentials import Credentials
from providers.records import Contact, Invoice, InvoiceLine, InvoiceStatus, Item

# The moment every check test runs at (``RunContext.now``); token ages and invoice ages count from it.
NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)


def line(sku: str | None = None, amount: str = "100.00", **kw: Any) -> InvoiceLine:
    """One line of quantity 1 at ``amount``; ``kw`` sets the rest (account_code, tracking, ...)."""
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
    """An invoice dated ``day`` with ``lines`` (one 100.00 line when none is given); its total is
    the lines' sum unless ``total`` says otherwise, so a total can disagree with the lines on
    purpose. ``kw`` sets the rest (source, reference, updated_at, id, ...)."""
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


def oauth(**kw: Any) -> Credentials:
    """OAuth credentials whose access token expires and refresh token was issued at ``NOW``."""
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
