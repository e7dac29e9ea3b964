"""Stripe objects as the emulator stores them, built alike from a world entry or a create's
parameters; amounts in minor units. Keys starting with ``_`` are the emulator's own (never
rendered)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any

from sandbox.stripe.store import AccountData, Obj
from sandbox.stripe.wire import StripeFailure, flag, new_id, timestamp

logger = logging.getLogger(__name__)


def customer(raw: Mapping[str, Any], now: int) -> Obj:
    address = raw.get("address")
    return {
        "id": str(raw.get("id") or new_id("customers")),
        "object": "customer",
        "address": {k: (address or {}).get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")}
        if address
        else None,
        "balance": 0,
        "created": timestamp(raw.get("created"), now),
        "currency": raw.get("currency"),
        "default_source": None,
        "delinquent": False,
        "description": raw.get("description"),
        "discount": None,
        "email": raw.get("email"),
        "invoice_prefix": raw.get("invoice_prefix") or secrets.token_hex(4).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "metadata": dict(raw.get("metadata") or {}),
        "name": raw.get("name"),
        "next_invoice_sequence": 1,
        "phone": raw.get("phone"),
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": raw.get("tax_exempt", "none"),
        "test_clock": None,
        "_deleted": bool(raw.get("deleted", False)),
    }


def product(raw: Mapping[str, Any], now: int) -> Obj:
    created = timestamp(raw.get("created"), now)
    return {
        "id": str(raw.get("id") or new_id("products")),
        "object": "product",
        "active": flag(raw.get("active", True)),
        "created": created,
        "default_price": raw.get("default_price"),
        "description": raw.get("description"),
        "features": [],
        "images": [],
        "metadata": {str(k): str(v) for k, v in dict(raw.get("metadata") or {}).items()},
        "name": str(raw.get("name") or ""),
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": raw.get("tax_code"),
        "unit_label": raw.get("unit_label"),
        "updated": created,
        "url": None,
    }


def price(raw: Mapping[str, Any], now: int) -> Obj:
    unit = raw.get("unit_amount")
    return {
        "id": str(raw.get("id") or new_id("prices")),
        "object": "price",
        "active": flag(raw.get("active", True)),
        "billing_scheme": "per_unit",
        "created": timestamp(raw.get("created"), now),
        "currency": str(raw.get("currency") or "usd").lower(),
        "custom_unit_amount": None,
        "lookup_key": raw.get("lookup_key"),
        "metadata": dict(raw.get("metadata") or {}),
        "nickname": raw.get("nickname"),
        "product": str(raw["product"]),
        "recurring": None,
        "tax_behavior": raw.get("tax_behavior", "unspecified"),
        "tiers_mode": None,
        "transform_quantity": None,
        "type": raw.get("type", "one_time"),
        "unit_amount": int(unit) if unit is not None else None,
        "unit_amount_decimal": str(unit) if unit is not None else None,
    }


def tax_rate(raw: Mapping[str, Any], now: int) -> Obj:
    return {
        "id": str(raw.get("id") or new_id("tax_rates")),
        "object": "tax_rate",
        "active": flag(raw.get("active", True)),
        "country": raw.get("country"),
        "created": timestamp(raw.get("created"), now),
        "description": raw.get("description"),
        "display_name": str(raw.get("display_name") or "Tax"),
        "effective_percentage": raw.get("percentage"),
        "inclusive": flag(raw.get("inclusive", False)),
        "jurisdiction": raw.get("jurisdiction"),
        "metadata": dict(raw.get("metadata") or {}),
        "percentage": float(raw.get("percentage", 0)),
        "state": raw.get("state"),
        "tax_type": raw.get("tax_type"),
    }


def new_invoice(account: AccountData, customer: Mapping[str, Any], raw: Mapping[str, Any], created: int) -> Obj:
    """A draft invoice (the world's seeding sets its number and status after)."""
    currency = str(
        raw.get("currency") or customer.get("currency") or account.raw.get("default_currency", "usd")
    ).lower()
    due = raw.get("due_date")
    days = raw.get("days_until_due")
    return {
        "id": new_id("invoices"),
        "customer": customer["id"],
        "currency": currency,
        "created": created,
        "status": "draft",
        "number": None,
        "collection_method": str(raw.get("collection_method") or "charge_automatically"),
        "auto_advance": flag(raw.get("auto_advance", False)),
        "description": raw.get("description"),
        "due_date": timestamp(due, created) if due is not None else (created + int(days) * 86400 if days else None),
        "metadata": dict(raw.get("metadata") or {}),
        "customer_email": None,
        "customer_name": None,
        "_lines": [],
    }


def add_line(account: AccountData, invoice: Obj, raw: Mapping[str, Any], when: int) -> Obj:
    """A line from a world entry or an invoice item's parameters (amounts in minor units)."""
    price_id = raw.get("price")
    price = account.store["prices"].get(str(price_id)) if price_id else None
    if price_id and price is None:
        raise StripeFailure(400, f"No such price: '{price_id}'", code="resource_missing", param="price")
    price_data = raw.get("price_data") or {}
    product_id = price["product"] if price else (raw.get("product") or price_data.get("product"))
    quantity = int(raw.get("quantity") or 1)
    if price is not None:
        unit = price["unit_amount"] or 0
    elif raw.get("unit_amount") is not None:
        unit = int(raw["unit_amount"])
    elif price_data.get("unit_amount") is not None:
        unit = int(price_data["unit_amount"])
    elif raw.get("amount") is not None:
        unit = int(raw["amount"]) // quantity
    else:
        raise StripeFailure(
            400, "You must specify either `price`, `price_data`, `amount` or `unit_amount`.", param="amount"
        )
    amount = int(raw["amount"]) if raw.get("amount") is not None and price is None else unit * quantity
    product = account.store["products"].get(str(product_id)) if product_id else None
    rates = [str(r) for r in (raw.get("tax_rates") or [])]
    for rate in rates:
        if rate not in account.store["tax_rates"]:
            raise StripeFailure(400, f"No such tax rate: '{rate}'", code="resource_missing", param="tax_rates")
    line = {
        "id": new_id("lines"),
        "invoice_item": raw.get("_invoice_item") or new_id("invoiceitems"),
        "price": price["id"] if price else None,
        "product": str(product_id) if product_id else None,
        "quantity": quantity,
        "unit_amount": unit,
        "amount": amount,
        "description": raw.get("description") or (product["name"] if product else None),
        "tax_rates": rates,
        "metadata": dict(raw.get("metadata") or {}),
        "period": {"start": when, "end": when},
    }
    invoice["_lines"].append(line)
    return line
