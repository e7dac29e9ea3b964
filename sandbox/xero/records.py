"""Xero records as the API stores and answers them: contacts, items, invoices with their lines
(amounts and tax computed per line, PROVIDERS.md section 1) and payments. Seeded records and
written ones are built alike; validation is the writes' job."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.xero.org import Org, Record
from sandbox.xero.wire import TWO, money, msdate, num, parse_when, required_when, stable_id

logger = logging.getLogger(__name__)


def contact_record(data: dict[str, Any], contact_id: str, stamp: str) -> Record:
    """A stored contact: Xero's defaults under what the world or the request gave."""
    record: dict[str, Any] = {
        "ContactID": contact_id,
        "ContactStatus": "ACTIVE",
        "Addresses": [],
        "Phones": [],
        "ContactGroups": [],
        "ContactPersons": [],
        "IsSupplier": False,
        "IsCustomer": False,
        "HasAttachments": False,
        "HasValidationErrors": False,
    }
    record.update({k: v for k, v in data.items() if k not in ("ContactID", "UpdatedDateUTC")})
    record["UpdatedDateUTC"] = msdate(required_when(data["UpdatedDateUTC"])) if data.get("UpdatedDateUTC") else stamp
    return record


def item_record(data: dict[str, Any], item_id: str, stamp: str) -> Record:
    """A stored item; its Name defaults to its Code."""
    record: dict[str, Any] = {
        "ItemID": item_id,
        "IsSold": True,
        "IsPurchased": False,
        "IsTrackedAsInventory": False,
    }
    record.update({k: v for k, v in data.items() if k not in ("ItemID", "UpdatedDateUTC")})
    record.setdefault("Name", record.get("Code", ""))
    record["UpdatedDateUTC"] = msdate(required_when(data["UpdatedDateUTC"])) if data.get("UpdatedDateUTC") else stamp
    return record


def contact_ref(org: Org, given: Mapping[str, Any]) -> Record | None:
    """The contact summary an invoice embeds, or None when ``given`` names no contact."""
    contact = org.find_contact(given)
    if contact is None:
        return None
    ref = {
        "ContactID": contact["ContactID"],
        "Name": contact.get("Name", ""),
        "ContactStatus": contact.get("ContactStatus", "ACTIVE"),
    }
    for key in ("ContactNumber", "EmailAddress"):
        if contact.get(key):
            ref[key] = contact[key]
    ref.update(
        {
            "Addresses": [],
            "Phones": [],
            "ContactGroups": [],
            "ContactPersons": [],
            "HasValidationErrors": False,
        }
    )
    return ref


def invoice_record(org: Org, data: dict[str, Any], invoice_id: str, now: datetime, *, seeded: bool) -> Record:
    """Build the stored invoice: resolve contact and items, compute amounts (no validation)."""
    kind = str(data.get("Type") or "ACCREC")
    when = parse_when(data.get("Date")) or now
    due = parse_when(data.get("DueDate"))
    amount_types = str(data.get("LineAmountTypes") or "Exclusive")
    lines: list[dict[str, Any]] = []
    subtotal = total_tax = Decimal(0)
    for raw_line in data.get("LineItems") or []:
        line = line_record(org, dict(raw_line), invoice_id, len(lines), amount_types)
        lines.append(line)
        amount, tax = money(line["LineAmount"]), money(line["TaxAmount"])
        subtotal += amount - tax if amount_types == "Inclusive" else amount
        total_tax += tax
    contact = contact_ref(org, dict(data.get("Contact") or {})) or {
        "ContactID": str((data.get("Contact") or {}).get("ContactID") or stable_id(org.tenant_id, "missing-contact")),
        "Name": str((data.get("Contact") or {}).get("Name") or ""),
    }
    if kind == "ACCREC" and contact["ContactID"] in org.contact_ids:
        org.contact_ids[contact["ContactID"]]["IsCustomer"] = True
    total = subtotal + total_tax
    status = str(data.get("Status") or ("AUTHORISED" if seeded else "DRAFT"))
    updated = parse_when(data.get("UpdatedDateUTC")) or (min(when, now) if seeded else now)
    record: dict[str, Any] = {
        "Type": kind,
        "InvoiceID": invoice_id,
        "InvoiceNumber": str(data.get("InvoiceNumber") or ""),
        "Reference": str(data.get("Reference") or ""),
        "Payments": [],
        "CreditNotes": [],
        "Prepayments": [],
        "Overpayments": [],
        "AmountDue": num(total if status not in ("VOIDED", "DELETED") else Decimal(0)),
        "AmountPaid": 0.0,
        "AmountCredited": 0.0,
        "CurrencyRate": 1.0,
        "IsDiscounted": any(ln.get("DiscountRate") for ln in lines),
        "HasAttachments": False,
        "HasErrors": False,
        "Contact": contact,
        "DateString": when.strftime("%Y-%m-%dT00:00:00"),
        "Date": msdate(when.date()),
        "Status": status,
        "LineAmountTypes": amount_types,
        "LineItems": lines,
        "SubTotal": num(subtotal),
        "TotalTax": num(total_tax),
        "Total": num(total),
        "UpdatedDateUTC": msdate(updated),
        "UpdatedDateUTCString": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "CurrencyCode": str(data.get("CurrencyCode") or org.base_currency),
        "SentToContact": bool(data.get("SentToContact", False)),
    }
    if due is not None:
        record["DueDateString"] = due.strftime("%Y-%m-%dT00:00:00")
        record["DueDate"] = msdate(due.date())
    return record


def line_record(org: Org, raw: dict[str, Any], invoice_id: str, index: int, amount_types: str) -> Record:
    """A stored line: item defaults filled in, amount and tax computed as Xero does."""
    line: dict[str, Any] = {"LineItemID": str(raw.get("LineItemID") or stable_id(invoice_id, "line", index))}
    item = org.find_item(str(raw["ItemCode"])) if raw.get("ItemCode") else None
    sales = dict(item.get("SalesDetails") or {}) if item else {}
    description = raw.get("Description") or (item or {}).get("Description") or (item or {}).get("Name")
    if description:
        line["Description"] = str(description)
    quantity = money(raw.get("Quantity"), "1")
    unit = money(raw.get("UnitAmount") if raw.get("UnitAmount") is not None else sales.get("UnitPrice"))
    account = raw.get("AccountCode") or sales.get("AccountCode")
    tax_type = raw.get("TaxType") or sales.get("TaxType")
    if not tax_type and account:
        acc = org.account(account)
        tax_type = (acc or {}).get("TaxType")
    tax_type = str(tax_type or "NONE")
    discount = money(raw.get("DiscountRate")) if raw.get("DiscountRate") is not None else None
    if raw.get("LineAmount") is not None and raw.get("UnitAmount") is None:
        amount = money(raw["LineAmount"])
    else:
        amount = quantity * unit * ((Decimal(100) - (discount or 0)) / Decimal(100))
    amount = amount.quantize(TWO, rounding=ROUND_HALF_UP)
    rate = money((org.tax_rate(tax_type) or {}).get("EffectiveRate"))
    # Tax is computed per line and rounded to 2 dp, then summed (PROVIDERS.md, 2ry).
    if amount_types == "NoTax":
        tax = Decimal(0)
    elif amount_types == "Inclusive":
        tax = (amount - amount / (1 + rate / 100)).quantize(TWO, rounding=ROUND_HALF_UP)
    else:
        tax = (amount * rate / 100).quantize(TWO, rounding=ROUND_HALF_UP)
    line.update(
        {
            "Quantity": float(quantity),
            "UnitAmount": float(unit),
            "TaxType": tax_type,
            "TaxAmount": num(tax),
            "LineAmount": num(amount),
            "Tracking": [tracking_ref(org, dict(t)) for t in raw.get("Tracking") or []],
        }
    )
    if account:
        line["AccountCode"] = str(account)
    if raw.get("ItemCode"):
        line["ItemCode"] = str(item["Code"]) if item else str(raw["ItemCode"])
        if item:
            line["Item"] = {
                "ItemID": item["ItemID"],
                "Name": item.get("Name", ""),
                "Code": item.get("Code", ""),
            }
    if discount is not None:
        line["DiscountRate"] = float(discount)
    return line


def tracking_ref(org: Org, given: Mapping[str, Any]) -> Record:
    category, option = org.tracking_lookup(given)
    ref: dict[str, Any] = {
        "Name": (category or {}).get("Name", given.get("Name", "")),
        "Option": (option or {}).get("Name", given.get("Option", "")),
    }
    if category:
        ref["TrackingCategoryID"] = category["TrackingCategoryID"]
    if option:
        ref["TrackingOptionID"] = option["TrackingOptionID"]
    return ref


def payment_record(org: Org, data: dict[str, Any], invoice: Record, payment_id: str, now: datetime) -> Record:
    """A stored payment; it is applied to ``invoice`` (amounts due, PAID when settled)."""
    amount = money(data.get("Amount"))
    when = parse_when(data.get("Date")) or now
    account_ref = dict(data.get("Account") or {})
    account = org.account(account_ref.get("Code")) or next((a for a in org.accounts if a.get("Type") == "BANK"), None)
    status = str(data.get("Status") or "AUTHORISED")
    if status != "DELETED":  # a deleted payment no longer counts towards the invoice
        paid = money(invoice["AmountPaid"]) + amount
        invoice["AmountPaid"] = num(paid)
        invoice["AmountDue"] = num(max(money(invoice["Total"]) - paid, Decimal(0)))
        if invoice["AmountDue"] == 0 and invoice["Status"] == "AUTHORISED":
            invoice["Status"] = "PAID"
            invoice["FullyPaidOnDate"] = msdate(when.date())
    record: dict[str, Any] = {
        "PaymentID": str(data.get("PaymentID") or payment_id),
        "Date": msdate(when.date()),
        "Amount": num(amount),
        "BankAmount": num(amount),
        "CurrencyRate": 1.0,
        "Reference": str(data.get("Reference") or ""),
        "IsReconciled": bool(data.get("IsReconciled", False)),
        "Status": status,
        "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT",
        "UpdatedDateUTC": msdate(parse_when(data.get("UpdatedDateUTC")) or when),
        "HasAccount": account is not None,
        "HasValidationErrors": False,
        "Invoice": {
            "InvoiceID": invoice["InvoiceID"],
            "InvoiceNumber": invoice["InvoiceNumber"],
            "Type": invoice["Type"],
            "CurrencyCode": invoice["CurrencyCode"],
            "Contact": {
                "ContactID": invoice["Contact"]["ContactID"],
                "Name": invoice["Contact"].get("Name", ""),
            },
            "Payments": [],
            "CreditNotes": [],
            "Prepayments": [],
            "Overpayments": [],
            "HasErrors": False,
            "IsDiscounted": False,
            "HasAttachments": False,
        },
    }
    if account is not None:
        record["Account"] = {"AccountID": account["AccountID"], "Code": account.get("Code", "")}
    if status != "DELETED":
        invoice["Payments"].append(
            {
                "PaymentID": record["PaymentID"],
                "Date": record["Date"],
                "Amount": record["Amount"],
                "CurrencyRate": 1.0,
                "HasAccount": record["HasAccount"],
                "HasValidationErrors": False,
            }
        )
    return record
