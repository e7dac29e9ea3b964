"""Loading a Stripe world section: its API keys and its accounts with their objects. See the
package docstring for the keys."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sandbox.stripe import objects
from sandbox.stripe.store import AccountData, ApiKey
from sandbox.stripe.wire import timestamp

logger = logging.getLogger(__name__)


def load_keys(section: Mapping[str, Any]) -> dict[str, ApiKey]:
    """``api_keys``: the prefix sets the mode (``sk_test_`` / ``rk_live_``); only restricted
    (``rk_``) keys are limited to their ``permissions``."""
    keys: dict[str, ApiKey] = {}
    for raw in section.get("api_keys", []):
        key = str(raw["key"])
        perms = raw.get("permissions")
        keys[key] = ApiKey(
            key=key,
            account=str(raw["account"]),
            livemode="_live_" in key[:8],
            restricted=key.startswith("rk_"),
            revoked=bool(raw.get("revoked", False)),
            expired=bool(raw.get("expired", False)),
            permissions=frozenset(perms) if perms is not None and key.startswith("rk_") else None,
        )
    return keys


def load_account(account_id: str, body: Mapping[str, Any], now: int) -> AccountData:
    """One ``accounts`` entry: tax rates, customers, products and prices first, then invoices,
    which refer to them."""
    account = AccountData(id=account_id, raw=dict(body), created=timestamp(body.get("created"), now - 86400 * 365))
    for raw in body.get("tax_rates", []):
        account.add("tax_rates", objects.tax_rate(raw, now))
    for raw in body.get("customers", []):
        account.add("customers", objects.customer(raw, now))
    for raw in body.get("products", []):
        account.add("products", objects.product(raw, now))
    for raw in body.get("prices", []):
        account.add("prices", objects.price(raw, now))
    for raw in body.get("invoices", []):
        _seed_invoice(account, raw, now)
    return account


def _seed_invoice(account: AccountData, raw: Mapping[str, Any], now: int) -> None:
    customer = account.store["customers"].get(str(raw.get("customer")))
    if customer is None:
        raise ValueError(
            f"stripe world: invoice {raw.get('id') or raw.get('number')} names unknown customer {raw.get('customer')!r}"
        )
    created = timestamp(raw.get("created"), now)
    invoice = objects.new_invoice(account, customer, raw, created)
    invoice["id"] = str(raw.get("id") or invoice["id"])
    invoice["number"] = raw.get("number")
    invoice["status"] = str(raw.get("status", "open"))
    if invoice["status"] != "draft":
        invoice["customer_email"] = raw.get("customer_email", customer.get("email"))
        invoice["customer_name"] = raw.get("customer_name", customer.get("name"))
        invoice["_finalized_at"] = created
    account.add("invoices", invoice)
    for line in raw.get("lines", []):
        objects.add_line(account, invoice, line, created)
    if "amount_paid" in raw:
        invoice["_amount_paid"] = int(raw["amount_paid"])
    # Set by Stripe for invoices a Connect application created; not a create parameter.
    invoice["application"] = raw.get("application")
