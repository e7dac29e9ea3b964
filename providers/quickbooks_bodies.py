"""Records -> what QuickBooks Online is sent: create bodies, query literals, request ids.
Pure functions (reads are :mod:`providers.quickbooks_wire`, the client :mod:`providers.quickbooks`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from common.types import JSON
from providers.errors import Rejected
from providers.quickbooks_wire import SYSTEM, class_name
from providers.records import Contact, Invoice, InvoiceLine, Item


def request_id(key: str) -> str:
    # requestid is at most 50 characters [QR field-definitions]; a longer key is hashed, never
    # cut, so two keys sharing a prefix cannot replay each other's response.
    return key if len(key) <= 50 else str(uuid.uuid5(uuid.NAMESPACE_URL, key))


def batch_request_id(keys: Sequence[str]) -> str:
    # A batch's requestid is at most 36 characters [QR field-definitions]: a UUID of its keys,
    # the same for the same batch, so a repeated batch replays.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "\n".join(keys)))


CENT = Decimal("0.01")
UNIT_PLACES = Decimal("0.0000001")  # UnitPrice keeps up to seven decimals (UNCONFIRMED limit)


def line_amounts(line: InvoiceLine) -> tuple[Decimal, Decimal, Decimal]:
    """(Qty, UnitPrice, Amount) that agree as QuickBooks demands: it refuses a sales line whose
    Amount is not Qty x UnitPrice (to the cent). The source's line amount wins (it is what the
    customer was invoiced, discounts included): the unit price is derived from it, and when no
    unit price at this quantity gives that amount, the line goes as one unit of the amount."""
    quantity = line.quantity
    amount = line.amount.quantize(CENT, rounding=ROUND_HALF_UP)
    product = (quantity * line.unit_amount).quantize(CENT, rounding=ROUND_HALF_UP)
    if line.amount == 0 and product != 0:
        amount = product  # no line amount given: the product is the amount
    if product == amount:
        return quantity, line.unit_amount, amount
    if quantity:
        unit = (amount / quantity).quantize(UNIT_PLACES, rounding=ROUND_HALF_UP)
        if (quantity * unit).quantize(CENT, rounding=ROUND_HALF_UP) == amount:
            return quantity, unit, amount
    return Decimal(1), amount, amount


def quote(value: str) -> str:
    # The query language quotes with single quotes and escapes an apostrophe with a backslash.
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def invoice_body(invoice: Invoice, items: Sequence[Item], classes: Sequence[JSON]) -> JSON:
    """The create body; lines name items by Id (never by Sku [PROVIDERS.md]) and classes by Id."""
    body: JSON = {
        "CustomerRef": {"value": invoice.contact_id},
        "Line": [_line_body(n, line, items, classes) for n, line in enumerate(invoice.lines, 1)],
        "CurrencyRef": {"value": invoice.currency},
    }
    for key, value in (
        ("DocNumber", invoice.number),
        ("TxnDate", invoice.issue_date.isoformat() if invoice.issue_date else None),
        ("DueDate", invoice.due_date.isoformat() if invoice.due_date else None),
        ("PrivateNote", invoice.reference),
    ):
        if value:
            body[key] = value
    return body


def _line_body(number: int, line: InvoiceLine, items: Sequence[Item], classes: Sequence[JSON]) -> JSON:
    item_id = line.item_id
    if item_id is None and line.sku:
        item_id = next((i.id for i in items if i.code == line.sku), None)
    if item_id is None:
        raise Rejected(f"line {number} has no QuickBooks item (SKU {line.sku!r})", system=SYSTEM)
    quantity, unit, amount = line_amounts(line)
    detail: JSON = {"ItemRef": {"value": item_id}, "Qty": float(quantity), "UnitPrice": float(unit)}
    if line.tax_code:
        detail["TaxCodeRef"] = {"value": line.tax_code}
    for tracked in line.tracking:
        if tracked.category.lower() == "class":
            class_id = next((str(r.get("Id")) for r in classes if class_name(r) == tracked.option), None)
            if class_id is None:
                raise Rejected(f"line {number}: there is no class {tracked.option!r} in QuickBooks", system=SYSTEM)
            detail["ClassRef"] = {"value": class_id}
    body: JSON = {"DetailType": "SalesItemLineDetail", "Amount": float(amount), "SalesItemLineDetail": detail}
    if line.description:
        body["Description"] = line.description
    return body


def item_body(item: Item, account_id: str) -> JSON:
    body: JSON = {
        "Name": item.name,
        "Type": "Service",
        "IncomeAccountRef": {"value": account_id},
        "Active": item.active,
    }
    if item.code:
        body["Sku"] = item.code
    if item.unit_price is not None:
        body["UnitPrice"] = float(item.unit_price)
    if item.tax_code:
        body["SalesTaxCodeRef"] = {"value": item.tax_code}
    return body


def contact_body(contact: Contact) -> JSON:
    body: JSON = {"DisplayName": contact.name}
    for key, value in (
        ("GivenName", contact.first_name),
        ("FamilyName", contact.last_name),
        ("CompanyName", contact.company),
    ):
        if value:
            body[key] = value
    if contact.email:
        body["PrimaryEmailAddr"] = {"Address": contact.email}
    if contact.currency:
        body["CurrencyRef"] = {"value": contact.currency}
    if contact.address:
        a = contact.address
        fields = {
            "Line1": a.line1,
            "City": a.city,
            "CountrySubDivisionCode": a.region,
            "PostalCode": a.postcode,
            "Country": a.country,
        }
        body["BillAddr"] = {k: v for k, v in fields.items() if v}
    return body
