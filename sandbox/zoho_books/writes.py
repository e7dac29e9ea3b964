"""Zoho Books' writes: create invoices, items and contacts, mark an invoice sent. Bodies come
as JSON or, as older clients send them, a ``JSONString`` form field; anything else is
``1038 JSON is not well formed`` (2ry). Validation follows what Zoho documents: unique invoice
numbers (CONFIRMED), unique SKUs (2ry), unique item names (2ry), known customer / items / taxes /
accounts / tags, enabled currency, the transaction lock. Uniqueness of contact names is a world
switch (UNCONFIRMED).
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request

from sandbox.zoho_books.wire import ZohoError, numeric_id, zoho_time
from sandbox.zoho_books.world import Org, Record, contact_record, invoice_record, item_record

logger = logging.getLogger(__name__)


async def body(request: Request, accept_form: bool) -> dict[str, Any]:
    raw = await request.body()
    kind = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in kind:
        field = parse_qs(raw.decode()).get("JSONString") if accept_form else None
        raw = field[0].encode() if field else b""
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise ZohoError("invalid_json") from None
    if not isinstance(data, dict):
        raise ZohoError("invalid_json")
    return data


class Writes:
    def __init__(self, *, contact_names_unique: bool, sku_case_sensitive: bool) -> None:
        self.contact_names_unique = contact_names_unique
        self.sku_case_sensitive = sku_case_sensitive

    def _same_sku(self, a: str, b: str) -> bool:
        return a == b if self.sku_case_sensitive else a.casefold() == b.casefold()

    def invoice(self, org: Org, data: dict[str, Any], ignore_auto_number: bool, now: datetime) -> Record:
        customer = org.contact(data.get("customer_id"))
        if customer is None:
            raise ZohoError("unknown_customer")
        number = str(data.get("invoice_number") or "")
        if not ignore_auto_number or not number:
            number = _next_number(org)  # without the flag Zoho numbers it itself [Z-INV]
        if any(i["invoice_number"] == number for i in org.invoices):
            raise ZohoError("duplicate_invoice_number", number=number)
        when = str(data.get("date") or now.date().isoformat())
        lock = org.lock_date()
        if lock is not None and date.fromisoformat(when[:10]) <= lock:
            raise ZohoError("period_locked", lock=lock.isoformat())
        if data.get("currency_id") and org.currency(data["currency_id"]) is None:
            raise ZohoError("currency_not_enabled")
        lines = data.get("line_items")
        if not isinstance(lines, list) or not lines:
            raise ZohoError("required", field="line_items")
        for line in lines:
            self._check_line(org, dict(line) if isinstance(line, dict) else {})
        record = invoice_record(
            org,
            {**data, "invoice_number": number, "status": "draft", "customer_id": customer["contact_id"],
             "currency_id": data.get("currency_id") or customer.get("currency_id"),
             "last_modified_time": zoho_time(now)},
            numeric_id(org.org_id, "invoice", "new", len(org.invoices)),
            now,
        )  # fmt: skip
        org.invoices.append(record)
        return record

    def _check_line(self, org: Org, line: dict[str, Any]) -> None:
        if line.get("item_id"):
            item = org.item(line["item_id"])
            if item is None:
                raise ZohoError("unknown_item")
            if item["status"] != "active":
                raise ZohoError("inactive_item", name=item["name"])
        elif not line.get("name") and not line.get("description"):
            raise ZohoError("required", field="item_id")
        if line.get("tax_id") and org.tax(line["tax_id"]) is None:
            raise ZohoError("unknown_tax")
        if line.get("account_id") and org.account(line["account_id"]) is None:
            raise ZohoError("unknown_account")
        for tag in line.get("tags") or []:
            found, option = org.tag_option(dict(tag))
            if found is None or option is None:
                raise ZohoError("unknown_tag")

    def mark_sent(self, org: Org, invoice: Record, now: datetime) -> None:
        if invoice["status"] == "draft":
            invoice.update(status="sent", last_modified_time=zoho_time(now))

    def item(self, org: Org, data: dict[str, Any], now: datetime) -> Record:
        name = str(data.get("name") or "")
        if not name:
            raise ZohoError("required", field="name")
        if data.get("rate") is None:
            raise ZohoError("required", field="rate")
        if org.item(name=name) is not None:
            raise ZohoError("duplicate_item_name")
        sku = str(data.get("sku") or "")
        if sku and any(self._same_sku(sku, str(i.get("sku") or "")) for i in org.items):
            raise ZohoError("duplicate_sku", sku=sku)
        if data.get("tax_id") and org.tax(data["tax_id"]) is None:
            raise ZohoError("unknown_tax")
        if data.get("account_id") and org.account(data["account_id"]) is None:
            raise ZohoError("unknown_account")
        record = item_record(org, data, numeric_id(org.org_id, "item", "new", len(org.items)), zoho_time(now))
        org.items.append(record)
        return record

    def contact(self, org: Org, data: dict[str, Any], now: datetime) -> Record:
        name = str(data.get("contact_name") or "")
        if not name:
            raise ZohoError("required", field="contact_name")
        if self.contact_names_unique and org.contact(name=name) is not None:
            raise ZohoError("duplicate_contact")
        if data.get("currency_code") and org.currency(code=data["currency_code"]) is None:
            raise ZohoError("currency_not_enabled")
        contact_id = numeric_id(org.org_id, "contact", "new", len(org.contacts))
        record = contact_record(org, data, contact_id, zoho_time(now))
        org.contacts.append(record)
        return record


def _next_number(org: Org) -> str:
    taken = {i["invoice_number"] for i in org.invoices}
    n = len(org.invoices) + 1
    while f"INV-{n:06d}" in taken:
        n += 1
    return f"INV-{n:06d}"
