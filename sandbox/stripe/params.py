"""What each Stripe endpoint accepts: the permission a restricted key needs, the query and body
parameters (spec3.yaml; anything else is ``parameter_unknown``), and Stripe's bracket-notation
form encoding."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sandbox.stripe.wire import StripeFailure

logger = logging.getLogger(__name__)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


DEFAULT_PERMISSIONS: dict[str, str | None] = {
    "GET /v1/account": None,  # any valid key may read its own account
    "GET /v1/customers": "rak_customer_read",
    "POST /v1/customers": "rak_customer_write",
    "GET /v1/products": "rak_product_read",
    "POST /v1/products": "rak_product_write",
    "GET /v1/prices": "rak_price_read",
    "POST /v1/prices": "rak_price_write",
    "GET /v1/invoices": "rak_invoice_read",
    "POST /v1/invoices": "rak_invoice_write",
    "GET /v1/invoiceitems": "rak_invoice_read",
    "POST /v1/invoiceitems": "rak_invoice_write",
    "GET /v1/tax_rates": "rak_tax_rate_read",
}

# Query parameters each list accepts (spec3.yaml ``paths``); anything else is "unknown".
LIST_PARAMS: dict[str, frozenset[str]] = {
    "customers": frozenset({"created", "email", "test_clock"}),
    "products": frozenset({"active", "created", "ids", "shippable", "url"}),
    "prices": frozenset({"active", "created", "currency", "lookup_keys", "product", "recurring", "type"}),
    "invoices": frozenset({"collection_method", "created", "customer", "due_date", "status", "subscription"}),
    "invoiceitems": frozenset({"created", "customer", "invoice", "pending"}),
    "tax_rates": frozenset({"active", "created", "inclusive"}),
    "lines": frozenset(),
}
PAGING = frozenset({"limit", "starting_after", "ending_before", "expand"})

# Body parameters each create accepts (spec3.yaml request bodies); the rest is refused.
CREATE_PARAMS: dict[str, frozenset[str]] = {
    "customers": _names(
        "address balance cash_balance coupon description email expand invoice_prefix invoice_settings "
        "metadata name next_invoice_sequence payment_method phone preferred_locales promotion_code shipping "
        "source tax tax_exempt tax_id_data test_clock"
    ),
    "products": _names(
        "active default_price_data description expand features id images metadata name package_dimensions "
        "shippable statement_descriptor tax_code unit_label url"
    ),
    "prices": _names(
        "active billing_scheme currency currency_options custom_unit_amount expand lookup_key metadata "
        "nickname product product_data recurring tax_behavior tiers tiers_mode transfer_lookup_key "
        "transform_quantity unit_amount unit_amount_decimal"
    ),
    "invoices": _names(
        "account_tax_ids application_fee_amount auto_advance automatic_tax collection_method currency "
        "custom_fields customer days_until_due default_payment_method default_source default_tax_rates "
        "description discounts due_date effective_at expand footer from_invoice metadata on_behalf_of "
        "payment_settings pending_invoice_items_behavior rendering_options shipping_cost shipping_details "
        "statement_descriptor subscription transfer_data"
    ),
    "invoiceitems": _names(
        "amount currency customer description discountable discounts expand invoice metadata period price "
        "price_data quantity subscription tax_behavior tax_code tax_rates unit_amount unit_amount_decimal"
    ),
}


def check_known(params: Mapping[str, Any], kind: str) -> None:
    """Refuse a create parameter the endpoint does not take, as Stripe does."""
    for name in params:
        if name not in CREATE_PARAMS[kind]:
            raise StripeFailure(400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)


def parse_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket notation -> nested values: ``a[b]=1`` -> {"a": {"b": "1"}}, ``a[]=x``
    and ``a[0]=x`` -> lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = [key.split("[", 1)[0]] + [p.rstrip("]") for p in key.split("[")[1:]]
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":  # a[] appends
                node.setdefault("__list__", []).append(value if last else {})
                if not last:
                    node = node["__list__"][-1]
                continue
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    # The top level is parameter names, never a list (a digit-only name is an unknown parameter).
    return {k: _lists(v) for k, v in root.items()}


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if set(node) == {"__list__"}:
        return [_lists(v) for v in node["__list__"]]
    if node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}
