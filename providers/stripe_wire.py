"""Stripe's objects <-> records: pure functions (the client is :mod:`providers.stripe`).

- Money is in minor units: divided by 100, except zero-decimal currencies (JPY...) which are
  whole units and three-decimal ones (KWD...) divided by 1000 (https://docs.stripe.com/currencies).
- Invoice status ``uncollectible`` (written off) maps to ``InvoiceStatus.VOID``, as
  ``providers/records.py`` defines VOID ("voided, deleted, uncollectible"): nobody expects the
  money any more. ``raw_status`` keeps Stripe's own word for checks that need the nuance.
- Invoice lines are read in both shapes: 2023-08-16 (``price`` / ``tax_rates`` /
  ``tax_amounts``) and 2025-03-31 "basil" (``pricing.price_details`` / ``parent`` / ``taxes``),
  since an account can pin a newer default and proxies may not forward our version header.
- Products have no SKU field; the SKU lives in ``product.metadata[<sku_key>]``.
- Writes are forms with bracketed keys (``address[city]``, ``metadata[reference]``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from providers.records import Address, Contact, Invoice, InvoiceLine, InvoiceStatus, Item, OrgInfo, TaxRate

# https://docs.stripe.com/currencies#zero-decimal and #three-decimal
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

STATUS = {
    "draft": InvoiceStatus.DRAFT,
    "open": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
    "uncollectible": InvoiceStatus.VOID,
    "void": InvoiceStatus.VOID,
}
# Where push_invoice records the source invoice's number: Stripe assigns ``number`` itself at
# finalisation (POST /v1/invoices takes no number in 2023-08-16), so look-ups match this too.
REFERENCE_KEY = "reference"

_KEY_PREFIX = re.compile(r"^(sk|rk|pk)_(test|live)_")

Object = dict[str, Any]


# -- values ---------------------------------------------------------------------------------


def minor_to_major(amount: int | str | None, currency: str) -> Decimal:
    """Stripe's integer minor units -> Decimal major units, honouring zero/three-decimal currencies."""
    if amount is None or amount == "":
        return Decimal(0)
    return Decimal(str(amount)).scaleb(-_exponent(currency))


def major_to_minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(_exponent(currency)).to_integral_value())


def _exponent(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def key_kind(api_key: str) -> tuple[str, str] | None:
    """("secret" | "restricted" | "publishable", "test" | "live") from a key's prefix."""
    match = _KEY_PREFIX.match(api_key)
    if not match:
        return None
    kind = {"sk": "secret", "rk": "restricted", "pk": "publishable"}[match.group(1)]
    return kind, match.group(2)


def timestamp(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _day(value: Any) -> date | None:
    if value is None:
        return None
    return datetime.fromtimestamp(int(value), tz=UTC).date()


def _id(value: Any) -> str | None:
    """An expandable field: an id, or (expanded) an object carrying it."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def _major_or_none(raw: Mapping[str, Any], key: str, currency: str) -> Decimal | None:
    return minor_to_major(raw[key], currency) if raw.get(key) is not None else None


def sku(product: Mapping[str, Any], sku_key: str) -> str | None:
    return (product.get("metadata") or {}).get(sku_key) or None


# -- objects -> records ---------------------------------------------------------------------


def account_name(account: Mapping[str, Any]) -> str | None:
    profile = account.get("business_profile") or {}
    dashboard = (account.get("settings") or {}).get("dashboard") or {}
    name = profile.get("name") or dashboard.get("display_name")
    return str(name) if name else None


def org_info(account: Mapping[str, Any], environment: str | None) -> OrgInfo:
    """Stripe has no plan tier (PROVIDERS.md) and charges in any supported currency, so
    ``currencies`` stays empty (no per-account list to enforce)."""
    currency = account.get("default_currency")
    return OrgInfo(
        tenant_id=str(account["id"]),
        name=account_name(account) or str(account["id"]),
        base_currency=str(currency).upper() if currency else None,
        features_known=False,
        environment=environment,
        country=account.get("country"),
        status="charges_enabled" if account.get("charges_enabled") else "charges_disabled",
    )


def contact(raw: Mapping[str, Any]) -> Contact:
    currency = raw.get("currency")
    return Contact(
        id=str(raw["id"]),
        name=str(raw.get("name") or ""),
        email=raw.get("email"),
        address=_address(raw.get("address")),
        currency=str(currency).upper() if currency else None,
    )


def _address(raw: Any) -> Address | None:
    if not isinstance(raw, dict) or not any(raw.values()):
        return None
    return Address(
        line1=raw.get("line1"),
        city=raw.get("city"),
        region=raw.get("state"),
        postcode=raw.get("postal_code"),
        country=raw.get("country"),
    )


def items(products: Iterable[Object], prices: Iterable[Object], sku_key: str) -> list[Item]:
    """Products with the unit price of their default price, or of their only active one."""
    by_id: dict[str, Object] = {}
    by_product: dict[str, list[Object]] = {}
    for price in prices:
        by_id[price["id"]] = price
        by_product.setdefault(str(_id(price.get("product"))), []).append(price)
    found: list[Item] = []
    for product in products:
        default_id = _id(product.get("default_price"))
        chosen = by_id.get(default_id) if default_id else None
        if chosen is None:
            active = [p for p in by_product.get(product["id"], []) if p.get("active")]
            chosen = active[0] if len(active) == 1 else None  # several prices: no single unit price
        unit = None
        if chosen is not None and chosen.get("unit_amount") is not None:
            unit = minor_to_major(chosen["unit_amount"], str(chosen.get("currency", "")))
        found.append(
            Item(
                id=str(product["id"]),
                code=sku(product, sku_key),
                name=str(product.get("name") or ""),
                active=bool(product.get("active", True)),
                unit_price=unit,
                tax_code=_id(product.get("tax_code")),
            )
        )
    return found


def tax_rate(raw: Mapping[str, Any]) -> TaxRate:
    name = str(raw.get("display_name") or raw["id"])
    if raw.get("jurisdiction"):
        name = f"{name} ({raw['jurisdiction']})"
    pct = raw.get("percentage")
    return TaxRate(
        code=str(raw["id"]),
        name=name,
        rate=Decimal(str(pct)) if pct is not None else None,
        status="active" if raw.get("active", True) else "archived",
    )


def invoice(raw: Mapping[str, Any], lines: Iterable[Mapping[str, Any]], skus: Mapping[str, str | None]) -> Invoice:
    """An invoice with every one of its ``lines`` (the list carries only the first page)."""
    currency = str(raw.get("currency") or "").upper()
    metadata = raw.get("metadata") or {}
    status = str(raw.get("status") or "draft")
    return Invoice(
        id=str(raw["id"]),
        number=raw.get("number"),
        status=STATUS.get(status, InvoiceStatus.OPEN),
        raw_status=status,
        currency=currency,
        total=minor_to_major(raw.get("total"), currency),
        subtotal=_major_or_none(raw, "subtotal", currency),
        tax=_invoice_tax(raw, currency),
        amount_due=_major_or_none(raw, "amount_due", currency),
        amount_paid=_major_or_none(raw, "amount_paid", currency),
        contact_id=_id(raw.get("customer")),
        contact_name=raw.get("customer_name"),
        contact_email=raw.get("customer_email"),
        issue_date=_day(raw.get("effective_at") or raw.get("created")),
        due_date=_day(raw.get("due_date")),
        lines=tuple(_line(line, currency, skus) for line in lines),
        reference=metadata.get(REFERENCE_KEY) if isinstance(metadata, dict) else None,
        # The Connect application that created the invoice (an id or, expanded, an object),
        # for skip-source lists.
        source=_id(raw.get("application")),
    )


def _invoice_tax(raw: Mapping[str, Any], currency: str) -> Decimal | None:
    # 2023-08-16 has ``tax`` (and ``total_tax_amounts``); basil replaced both with ``total_taxes``.
    if raw.get("tax") is not None:
        return minor_to_major(raw["tax"], currency)
    for key in ("total_taxes", "total_tax_amounts"):
        entries = raw.get(key)
        if isinstance(entries, list):
            return sum((minor_to_major(e.get("amount"), currency) for e in entries), Decimal(0))
    return None


def _line(raw: Mapping[str, Any], currency: str, skus: Mapping[str, str | None]) -> InvoiceLine:
    """One invoice line in either shape: 2023-08-16 (``price`` object, ``tax_rates``) or basil
    (``pricing.price_details``, ``taxes[].tax_rate_details``)."""
    product_id: str | None = None
    unit_decimal: Any = None
    price = raw.get("price")
    pricing = raw.get("pricing")
    if isinstance(price, dict):
        product_id = _id(price.get("product"))
        unit_decimal = (
            raw.get("unit_amount_excluding_tax") or price.get("unit_amount_decimal") or price.get("unit_amount")
        )
    elif isinstance(pricing, dict):
        product_id = _id((pricing.get("price_details") or {}).get("product"))
        unit_decimal = pricing.get("unit_amount_decimal")
    quantity = Decimal(str(raw.get("quantity") or 1))
    amount = minor_to_major(raw.get("amount"), currency)
    if unit_decimal is not None:
        unit = minor_to_major(unit_decimal, currency)
    else:
        unit = (amount / quantity) if quantity else amount
    return InvoiceLine(
        description=raw.get("description"),
        sku=skus.get(product_id) if product_id else None,
        item_id=product_id,
        quantity=quantity,
        unit_amount=unit,
        amount=amount,
        tax_code=_line_tax_code(raw),
    )


def _line_tax_code(raw: Mapping[str, Any]) -> str | None:
    for rate in raw.get("tax_rates") or ():
        return _id(rate)
    for tax in raw.get("taxes") or ():
        rate = (tax.get("tax_rate_details") or {}).get("tax_rate")
        if rate:
            return _id(rate)
    for amount in raw.get("tax_amounts") or ():
        rate = amount.get("tax_rate")
        if rate:
            return _id(rate)
    return None


# -- records -> forms -----------------------------------------------------------------------


def customer_form(record: Contact) -> dict[str, Any]:
    form: dict[str, Any] = {"name": record.name}
    if record.email:
        form["email"] = record.email
    if record.address is not None:
        a = record.address
        for key, value in (
            ("line1", a.line1),
            ("city", a.city),
            ("state", a.region),
            ("postal_code", a.postcode),
            ("country", a.country),
        ):
            if value:
                form[f"address[{key}]"] = value
    if record.number:
        form[f"metadata[{REFERENCE_KEY}]"] = record.number
    return form


def product_form(record: Item, sku_key: str, currency: str | None) -> dict[str, Any]:
    """A product; when priced, with a default price in ``currency`` (the account's default:
    a product carries no currency of its own)."""
    form: dict[str, Any] = {"name": record.name, "active": "true" if record.active else "false"}
    if record.code:
        form[f"metadata[{sku_key}]"] = record.code
    if record.tax_code:
        form["tax_code"] = record.tax_code
    if record.unit_price is not None and currency:
        form["default_price_data[currency]"] = currency.lower()
        form["default_price_data[unit_amount]"] = str(major_to_minor(record.unit_price, currency))
    return form


DEFAULT_TERMS_DAYS = 30  # days_until_due when the source gives no due date
OVERDUE_TERMS_DAYS = 1  # days_until_due when the source's due date is not in the future


def invoice_form(record: Invoice, today: date) -> dict[str, Any]:
    """A draft invoice: sent by email when finalised, never auto-advanced, no pending items.

    Stripe refuses a ``due_date`` in the past, so the due date is sent only when it is after
    ``today`` (UTC); an invoice already due when it is pushed is made due as soon as Stripe
    allows (``days_until_due=1``), and one with no due date gets 30 days' terms."""
    form: dict[str, Any] = {
        "customer": record.contact_id,
        "currency": record.currency.lower(),
        "collection_method": "send_invoice",
        "auto_advance": "false",
        "pending_invoice_items_behavior": "exclude",
    }
    if record.due_date is not None and record.due_date > today:
        form["due_date"] = str(timestamp(record.due_date))
    elif record.due_date is not None:
        form["days_until_due"] = str(OVERDUE_TERMS_DAYS)
    else:
        form["days_until_due"] = str(DEFAULT_TERMS_DAYS)
    if record.number:
        form[f"metadata[{REFERENCE_KEY}]"] = record.number
    return form


def invoice_item_form(line: InvoiceLine, customer: str, invoice_id: str, currency: str) -> dict[str, Any]:
    form: dict[str, Any] = {"customer": customer, "invoice": invoice_id, "currency": currency.lower()}
    if line.description:
        form["description"] = line.description
    if line.quantity == line.quantity.to_integral_value():
        form["quantity"] = str(int(line.quantity))
        form["unit_amount"] = str(major_to_minor(line.unit_amount, currency))
    else:  # Stripe quantities are integers: a fractional one goes as the line amount
        form["amount"] = str(major_to_minor(line.amount, currency))
    if line.tax_code:
        form["tax_rates[0]"] = line.tax_code
    return form


def search_literal(value: str) -> str:
    """A value inside a search query's double quotes (quotes and backslashes escaped with a
    backslash, as Stripe's search query language takes them)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
