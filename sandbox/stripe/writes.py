"""Stripe's creates: customers, products (with a default price), prices, invoices (pulling in
pending invoice items when asked) and invoice items, refused as Stripe refuses them. A handler
takes the request, the caller and the parsed form, and answers the created object."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from sandbox.clock import SandboxClock
from sandbox.stripe import objects
from sandbox.stripe.params import check_known
from sandbox.stripe.reads import find_invoice
from sandbox.stripe.render import Renderer
from sandbox.stripe.store import Ctx, Obj
from sandbox.stripe.wire import StripeFailure, new_id

logger = logging.getLogger(__name__)


class Writes:
    def __init__(self, render: Renderer, clock: SandboxClock) -> None:
        self.render = render
        self.clock = clock

    def customer(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        check_known(params, "customers")
        raw = dict(params)
        customer = ctx.account.add("customers", objects.customer({**raw, "id": None}, int(self.clock.now())))
        return self.render.plain(customer, ctx)

    def product(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        account = ctx.account
        check_known(params, "products")
        if not params.get("name"):
            raise StripeFailure(400, "Missing required param: name.", code="parameter_missing", param="name")
        if params.get("id") and params["id"] in account.store["products"]:
            raise StripeFailure(400, "Product already exists.", code="resource_already_exists", param="id")
        now = int(self.clock.now())
        product = account.add("products", objects.product(params, now))
        data = params.get("default_price_data")
        if isinstance(data, dict):
            if not data.get("currency"):
                raise StripeFailure(
                    400,
                    "Missing required param: default_price_data[currency].",
                    code="parameter_missing",
                    param="default_price_data[currency]",
                )
            price = account.add("prices", objects.price({**data, "product": product["id"]}, now))
            product["default_price"] = price["id"]
        return self.render.plain(product, ctx)

    def price(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        account = ctx.account
        check_known(params, "prices")
        if not params.get("currency"):
            raise StripeFailure(400, "Missing required param: currency.", code="parameter_missing", param="currency")
        product = params.get("product")
        if not product or product not in account.store["products"]:
            raise StripeFailure(400, f"No such product: '{product}'", code="resource_missing", param="product")
        price = account.add("prices", objects.price(params, int(self.clock.now())))
        return self.render.plain(price, ctx)

    def invoice(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        account = ctx.account
        check_known(params, "invoices")
        customer = account.store["customers"].get(str(params.get("customer")))
        if customer is None or customer["_deleted"]:
            raise _no_such_customer(params)
        due = params.get("due_date")
        if due is not None and _unix(due) is not None and int(str(_unix(due))) <= int(self.clock.now()):
            # Stripe refuses a due date that has already passed (the wording is the emulator's).
            raise StripeFailure(400, "Invoice due_date must be in the future.", param="due_date")
        if params.get("collection_method") == "send_invoice" and not (
            params.get("due_date") or params.get("days_until_due")
        ):
            raise StripeFailure(
                400,
                "Missing required param: days_until_due or due_date when collection_method is send_invoice.",
                code="parameter_missing",
                param="days_until_due",
            )
        now = int(self.clock.now())
        invoice = account.add("invoices", objects.new_invoice(account, customer, params, now))
        if params.get("pending_invoice_items_behavior") == "include":
            for item in account.store["invoiceitems"].values():
                if item["customer"] == customer["id"] and item["invoice"] is None:
                    item["invoice"] = invoice["id"]
                    item["_line"] = objects.add_line(
                        account, invoice, {**item["_params"], "_invoice_item": item["id"]}, now
                    )
        return self.render.invoice(invoice, ctx)

    def invoiceitem(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        account = ctx.account
        now = int(self.clock.now())
        check_known(params, "invoiceitems")
        customer = account.store["customers"].get(str(params.get("customer")))
        if customer is None:
            raise _no_such_customer(params)
        invoice = None
        if params.get("invoice"):
            invoice = find_invoice(ctx, str(params["invoice"]), param="invoice", status=400)
            if invoice["status"] != "draft":
                raise StripeFailure(
                    400,
                    f"You can only add invoice items to draft invoices; {invoice['id']} is {invoice['status']}.",
                    code="invoice_not_editable",
                    param="invoice",
                )
            if invoice["customer"] != customer["id"]:
                raise StripeFailure(400, "The invoice belongs to another customer.", param="invoice")
        if not params.get("price") and not (params.get("currency") or params.get("price_data")):
            raise StripeFailure(400, "Missing required param: currency.", code="parameter_missing", param="currency")
        item_id = new_id("invoiceitems")
        item = {
            "id": item_id,
            "customer": customer["id"],
            "invoice": None,
            "created": now,
            "_params": {k: v for k, v in params.items() if k not in ("customer", "invoice")},
        }
        line_params = {**item["_params"], "_invoice_item": item_id}
        if invoice is not None:
            item["_line"] = objects.add_line(account, invoice, line_params, now)
            item["invoice"] = invoice["id"]
        else:
            # A pending item: its line waits, outside any invoice, for the next invoice created.
            item["_line"] = objects.add_line(account, {"_lines": []}, line_params, now)
        item["currency"] = str(params.get("currency") or (invoice or {}).get("currency") or "usd").lower()
        account.add("invoiceitems", item)
        return self.render.invoiceitem(item, ctx)


def _no_such_customer(params: Mapping[str, Any]) -> StripeFailure:
    return StripeFailure(
        400, f"No such customer: '{params.get('customer')}'", code="resource_missing", param="customer"
    )


def _unix(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None
