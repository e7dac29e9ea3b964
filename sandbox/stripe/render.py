"""Stripe objects as the API answers them: invoices with their totals and embedded lines, lines,
invoice items, in the 2023-08-16 shape of the official spec or the 2025-03-31 "basil" shape
(``invoice_line_shape``; specs/stripe/README.md, fixtures3.json)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sandbox.stripe.objects import price
from sandbox.stripe.store import AccountData, Ctx, Obj

logger = logging.getLogger(__name__)

LINE_SHAPES = ("2023-08-16", "basil")
# Invoice fields of 2023-08-16 that the basil-and-later shape no longer has (specs/stripe/README.md,
# and absent from fixtures3.json's current ``invoice`` example).
BASIL_REMOVED_INVOICE_FIELDS = (
    "tax",
    "total_tax_amounts",
    "subscription",
    "paid",
    "paid_out_of_band",
    "charge",
    "discount",
    "payment_intent",
    "quote",
    "rendering_options",
    "transfer_data",
    "application_fee_amount",
)


class Renderer:
    """Renders in the shape the world chose, embedding up to ``lines_inline`` lines."""

    def __init__(self, line_shape: str, lines_inline: int) -> None:
        if line_shape not in LINE_SHAPES:
            raise ValueError("stripe.invoice_line_shape must be '2023-08-16' or 'basil'")
        self.line_shape = line_shape
        self.lines_inline = lines_inline

    def plain(self, obj: Mapping[str, Any], ctx: Ctx) -> Obj:
        """A stored object as answered: without the emulator's own keys, in the key's mode."""
        out = {k: v for k, v in obj.items() if not k.startswith("_")}
        if out.get("object") != "account":
            out["livemode"] = ctx.livemode
        return out

    def invoice(self, invoice: Mapping[str, Any], ctx: Ctx) -> Obj:
        account = ctx.account
        customer = account.store["customers"].get(invoice["customer"], {})
        t = _totals(invoice, account)
        status = invoice["status"]
        finalized = invoice.get("_finalized_at")
        lines = invoice["_lines"]
        first = lines[: self.lines_inline]
        out: dict[str, Any] = {
            "id": invoice["id"],
            "object": "invoice",
            "account_country": account.raw.get("country", "US"),
            "account_name": account.raw.get("business_name"),
            "account_tax_ids": None,
            "amount_due": t["total"],
            "amount_paid": t["paid"],
            "amount_remaining": max(t["total"] - t["paid"], 0) if status not in ("void",) else 0,
            "amount_shipping": 0,
            "application": invoice.get("application"),
            "application_fee_amount": None,
            "attempt_count": 0,
            "attempted": status == "paid",
            "auto_advance": invoice["auto_advance"],
            "automatic_tax": {"enabled": False, "status": None},
            "billing_reason": "manual",
            "charge": None,
            "collection_method": invoice["collection_method"],
            "created": invoice["created"],
            "currency": invoice["currency"],
            "custom_fields": None,
            "customer": invoice["customer"],
            "customer_address": customer.get("address"),
            "customer_email": invoice["customer_email"] if finalized else customer.get("email"),
            "customer_name": invoice["customer_name"] if finalized else customer.get("name"),
            "customer_phone": None,
            "customer_shipping": None,
            "customer_tax_exempt": customer.get("tax_exempt", "none"),
            "customer_tax_ids": [],
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": invoice["description"],
            "discount": None,
            "discounts": [],
            "due_date": invoice["due_date"],
            "effective_at": finalized,
            "ending_balance": 0 if finalized else None,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": {
                "object": "list",
                "data": [self.line(line, invoice, ctx) for line in first],
                "has_more": len(lines) > len(first),
                "url": f"/v1/invoices/{invoice['id']}/lines",
            },
            "livemode": ctx.livemode,
            "metadata": dict(invoice["metadata"]),
            "next_payment_attempt": None,
            "number": invoice["number"],
            "on_behalf_of": None,
            "paid": status == "paid",
            "paid_out_of_band": False,
            "payment_intent": None,
            "payment_settings": {"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
            "period_end": invoice["created"],
            "period_start": invoice["created"],
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "quote": None,
            "receipt_number": None,
            "rendering_options": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": 0,
            "statement_descriptor": None,
            "status": status,
            "status_transitions": {
                "finalized_at": finalized,
                "marked_uncollectible_at": finalized if status == "uncollectible" else None,
                "paid_at": finalized if status == "paid" else None,
                "voided_at": finalized if status == "void" else None,
            },
            "subscription": None,
            "subtotal": t["subtotal"],
            "subtotal_excluding_tax": t["subtotal"],
            "tax": t["tax"],
            "test_clock": None,
            "total": t["total"],
            "total_discount_amounts": [],
            "total_excluding_tax": t["subtotal"],
            "total_tax_amounts": [
                {
                    "amount": v[0],
                    "inclusive": bool(v[1]),
                    "tax_rate": rate_id,
                    "taxability_reason": None,
                    "taxable_amount": v[2],
                }
                for rate_id, v in t["taxes"].items()
            ],
            "transfer_data": None,
            "webhooks_delivered_at": invoice["created"],
        }
        if self.line_shape == "basil":
            # 2025-03-31.basil: tax fields become total_taxes, subscription moves under parent,
            # paid / paid_out_of_band are gone (status says it); the rest is absent from the
            # current official example (fixtures3.json ``invoice``).
            for gone in BASIL_REMOVED_INVOICE_FIELDS:
                out.pop(gone)
            out["parent"] = None
            out["issuer"] = {"type": "self"}
            out["total_pretax_credit_amounts"] = []
            out["total_taxes"] = [
                {
                    "amount": v[0],
                    "tax_behavior": "inclusive" if v[1] else "exclusive",
                    "tax_rate_details": {"tax_rate": rate_id},
                    "taxability_reason": "standard_rated",
                    "taxable_amount": v[2],
                    "type": "tax_rate_details",
                }
                for rate_id, v in t["taxes"].items()
            ]
        return out

    def line(self, line: Mapping[str, Any], invoice: Mapping[str, Any], ctx: Ctx) -> Obj:
        account = ctx.account
        taxes = _line_taxes(line, account)
        common = {
            "id": line["id"],
            "object": "line_item",
            "amount": line["amount"],
            "currency": invoice["currency"],
            "description": line["description"],
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "livemode": ctx.livemode,
            "metadata": dict(line["metadata"]),
            "period": dict(line["period"]),
            "quantity": line["quantity"],
        }
        if self.line_shape == "basil":
            return {
                **common,
                "invoice": invoice["id"],
                "parent": {
                    "type": "invoice_item_details",
                    "invoice_item_details": {
                        "invoice_item": line["invoice_item"],
                        "proration": False,
                        "proration_details": {"credited_items": None},
                        "subscription": None,
                    },
                    "subscription_item_details": None,
                },
                "pretax_credit_amounts": [],
                "pricing": {
                    "type": "price_details",
                    "price_details": {"price": line["price"], "product": line["product"]},
                    "unit_amount_decimal": str(line["unit_amount"]),
                },
                "subtotal": line["amount"],
                "taxes": [
                    {
                        "amount": tax,
                        "tax_behavior": "inclusive" if inclusive else "exclusive",
                        "tax_rate_details": {"tax_rate": rate_id},
                        "taxability_reason": "standard_rated",
                        "taxable_amount": line["amount"],
                        "type": "tax_rate_details",
                    }
                    for rate_id, tax, inclusive in taxes
                ],
            }
        inclusive_tax = sum(tax for _, tax, inclusive in taxes if inclusive)
        return {
            **common,
            "amount_excluding_tax": line["amount"] - inclusive_tax,
            "invoice_item": line["invoice_item"],
            "price": self._line_price(line, invoice, ctx),
            "proration": False,
            "proration_details": {"credited_items": None},
            "subscription": None,  # subscription_item is omitted, not null, when absent (spec3.yaml)
            "tax_amounts": [
                {
                    "amount": tax,
                    "inclusive": inclusive,
                    "tax_rate": rate_id,
                    "taxability_reason": None,
                    "taxable_amount": line["amount"],
                }
                for rate_id, tax, inclusive in taxes
            ],
            "tax_rates": [self.plain(account.store["tax_rates"][r], ctx) for r in line["tax_rates"]],
            "type": "invoiceitem",
            "unit_amount_excluding_tax": str(line["unit_amount"]),
        }

    def _line_price(self, line: Mapping[str, Any], invoice: Mapping[str, Any], ctx: Ctx) -> dict[str, Any] | None:
        # 2023-08-16 lines embed the price; an ad-hoc amount gets Stripe's inline price
        # (product set, no lookup key) as price_data would.
        if line["price"]:
            return self.plain(ctx.account.store["prices"][line["price"]], ctx)
        if not line["product"]:
            return None
        inline = price(
            {
                "id": "price_" + line["id"][3:],
                "product": line["product"],
                "unit_amount": line["unit_amount"],
                "currency": invoice["currency"],
                "active": False,
            },
            int(line["period"]["start"]),
        )
        return self.plain(inline, ctx)

    def invoiceitem(self, item: Mapping[str, Any], ctx: Ctx) -> Obj:
        line = item["_line"]
        invoice = {"id": item["invoice"], "currency": item["currency"]}
        return {
            "id": item["id"],
            "object": "invoiceitem",
            "amount": line["amount"],
            "currency": item["currency"],
            "customer": item["customer"],
            "date": item["created"],
            "description": line["description"],
            "discountable": True,
            "discounts": [],
            "invoice": item["invoice"],
            "livemode": ctx.livemode,
            "metadata": dict(line["metadata"]),
            "period": dict(line["period"]),
            "price": self._line_price(line, invoice, ctx),
            "proration": False,
            "quantity": line["quantity"],
            "subscription": None,
            "tax_rates": [self.plain(ctx.account.store["tax_rates"][r], ctx) for r in line["tax_rates"]],
            "test_clock": None,
            "unit_amount": line["unit_amount"],
            "unit_amount_decimal": str(line["unit_amount"]),
        }


def _line_taxes(line: Mapping[str, Any], account: AccountData) -> list[tuple[str, int, bool]]:
    """(tax rate id, tax amount, inclusive) per rate on the line, rounded half up as Stripe does."""
    found = []
    for rate_id in line["tax_rates"]:
        rate = account.store["tax_rates"][rate_id]
        pct = float(rate["percentage"])
        if rate["inclusive"]:
            tax = line["amount"] - round(line["amount"] / (1 + pct / 100))
        else:
            tax = int(line["amount"] * pct / 100 + 0.5)
        found.append((rate_id, tax, bool(rate["inclusive"])))
    return found


def _totals(invoice: Mapping[str, Any], account: AccountData) -> dict[str, Any]:
    subtotal = sum(line["amount"] for line in invoice["_lines"])
    taxes: dict[str, list[int]] = {}
    exclusive = 0
    for line in invoice["_lines"]:
        for rate_id, tax, inclusive in _line_taxes(line, account):
            taxes.setdefault(rate_id, [0, int(inclusive), 0])
            taxes[rate_id][0] += tax
            taxes[rate_id][2] += line["amount"]
            if not inclusive:
                exclusive += tax
    total = subtotal + exclusive
    tax_sum = sum(v[0] for v in taxes.values())
    paid = invoice.get("_amount_paid", total if invoice["status"] == "paid" else 0)
    return {"subtotal": subtotal, "tax": tax_sum if taxes else None, "total": total, "paid": paid, "taxes": taxes}
