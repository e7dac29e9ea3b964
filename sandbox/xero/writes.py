"""Xero's writes: PUT / POST of Contacts, Items and Invoices in batches, validated as Xero
validates them (unique names, numbers and codes, known accounts, tax types and tracking,
enabled currencies, the period lock date, the monthly invoice cap), with its messages."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.clock import SandboxClock
from sandbox.xero.org import Org, Record
from sandbox.xero.records import contact_record, invoice_record, item_record
from sandbox.xero.wire import TWO, envelope, msdate, parse_when, validation

logger = logging.getLogger(__name__)

Pending = dict[str, set[str]]  # names, codes and numbers taken earlier in the same batch
Written = tuple[Record, list[str]]  # the record (as stored, or as given when refused), its errors
Writer = Callable[[Org, dict[str, Any], bool, Pending], Written]


class Writes:
    """The write handlers of one emulator, with its world's wording of each message."""

    def __init__(self, messages: Mapping[str, str], clock: SandboxClock) -> None:
        self.messages = messages
        self.clock = clock
        self._writers: dict[str, Writer] = {"Invoices": self.invoice, "Contacts": self.contact, "Items": self.item}

    def batch(self, request: Request, org: Org, key: str, raw: bytes) -> Response:
        """PUT (create) or POST (create or update) a batch of ``key`` records: all or nothing
        unless ``summarizeErrors=false``, which answers each record with its own status."""
        writer = self._writers[key]
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            return validation(self.messages["bad_body"])
        elements = payload.get(key) if isinstance(payload, dict) and key in payload else [payload]
        if not isinstance(elements, list) or not all(isinstance(e, dict) for e in elements):
            return validation(self.messages["bad_body"])
        summarize = request.query_params.get("summarizeErrors", "true").lower() != "false"
        upsert = request.method == "POST"
        if key == "Invoices" and request.query_params.get("unitdp") != "4":
            # Without unitdp=4 Xero keeps unit amounts to two decimals [XS unitdp].
            elements = [_unit_amounts_to_cents(e) for e in elements]
        pending: Pending = {}
        results: list[Written] = []
        snapshot = (list(org.contacts), list(org.items), list(org.invoices))
        for element in elements:
            results.append(writer(org, dict(element), upsert, pending))
        failed = [(rec, errs) for rec, errs in results if errs]
        if failed and summarize:
            # All or nothing: undo whatever the batch created before answering 400.
            org.contacts[:], org.items[:], org.invoices[:] = snapshot
            org.reindex()
            return validation(
                "A validation exception occurred",
                [
                    {
                        **rec,
                        "HasValidationErrors": True,
                        "ValidationErrors": [{"Message": m} for m in errs],
                    }
                    for rec, errs in failed
                ],
            )
        out = []
        for rec, errs in results:
            if errs:
                out.append(
                    {
                        **rec,
                        "StatusAttributeString": "ERROR",
                        "HasValidationErrors": True,
                        "ValidationErrors": [{"Message": m} for m in errs],
                    }
                )
            else:
                out.append({**rec, "StatusAttributeString": "OK"} if not summarize else rec)
        return JSONResponse(envelope(key, out, self.clock.moment()))

    def contact(self, org: Org, data: dict[str, Any], upsert: bool, pending: Pending) -> Written:
        existing = org.find_contact(data) if upsert else None
        merged = {**existing, **data} if existing else data
        name = str(merged.get("Name") or "").strip()
        errors: list[str] = []
        if not name:
            errors.append(self.messages["contact_name_required"])
        else:
            clash = org.active_contact_named(name, exclude=existing["ContactID"] if existing else None)
            if clash is not None or any(org.same_name(name, n) for n in pending.get("contact_names", set())):
                errors.append(self.messages["contact_name_taken"].format(name=name))
        number = merged.get("ContactNumber")
        if number and any(c.get("ContactNumber") == number and c is not existing for c in org.contacts):
            errors.append(self.messages["contact_number_taken"].format(number=number))
        if errors:
            return data, errors
        pending.setdefault("contact_names", set()).add(name)
        stamp = msdate(self.clock.moment())
        if existing is not None:
            existing.update({k: v for k, v in data.items() if k not in ("ContactID", "UpdatedDateUTC")})
            existing["UpdatedDateUTC"] = stamp
            org.reindex()
            return existing, []
        record = contact_record(data, str(uuid.uuid4()), stamp)
        org.contacts.append(record)
        org.reindex()
        return record, []

    def item(self, org: Org, data: dict[str, Any], upsert: bool, pending: Pending) -> Written:
        code = str(data.get("Code") or "")
        errors: list[str] = []
        existing = None
        if upsert:
            existing = next((i for i in org.items if data.get("ItemID") and i["ItemID"] == data["ItemID"]), None) or (
                org.find_item(code) if code else None
            )
        if not code and existing is None:
            errors.append(self.messages["item_code_required"])
        elif len(code) > 30:
            errors.append(self.messages["item_code_too_long"])
        elif existing is None and (org.find_item(code) is not None or code in pending.get("item_codes", set())):
            errors.append(self.messages["item_code_taken"].format(code=code))
        sales = dict(data.get("SalesDetails") or {})
        if sales.get("AccountCode"):
            problem = self._account_problem(org, str(sales["AccountCode"]))
            if problem:
                errors.append(problem)
        if errors:
            return data, errors
        pending.setdefault("item_codes", set()).add(code)
        stamp = msdate(self.clock.moment())
        if existing is not None:
            existing.update({k: v for k, v in data.items() if k not in ("ItemID", "UpdatedDateUTC")})
            existing["UpdatedDateUTC"] = stamp
            org.reindex()
            return existing, []
        record = item_record(data, str(uuid.uuid4()), stamp)
        org.items.append(record)
        org.reindex()
        return record, []

    def _account_problem(self, org: Org, code: str) -> str | None:
        account = org.account(code)
        if account is None:
            return self.messages["unknown_account"].format(code=code)
        if account.get("Status", "ACTIVE") != "ACTIVE":
            return self.messages["archived_account"].format(code=code)
        return None

    def invoice(self, org: Org, data: dict[str, Any], upsert: bool, pending: Pending) -> Written:
        existing = None
        if upsert:
            existing = next(
                (
                    i
                    for i in org.invoices
                    if (data.get("InvoiceID") and i["InvoiceID"] == data["InvoiceID"])
                    or (
                        not data.get("InvoiceID")
                        and data.get("InvoiceNumber")
                        and i["Type"] == "ACCREC"
                        and i["InvoiceNumber"] == data["InvoiceNumber"]
                    )
                ),
                None,
            )
        if existing is not None and (existing["Status"] in ("PAID", "VOIDED", "DELETED") or existing["Payments"]):
            return data, [self.messages["not_editable"]]
        merged = {**_as_input(existing), **data} if existing else data
        errors = self._invoice_errors(org, merged, existing, pending)
        if errors:
            return data, errors
        contact_given = dict(merged.get("Contact") or {})
        if org.find_contact(contact_given) is None:
            # Xero creates a contact from a Name it does not know (PUT Invoices with Contact.Name).
            self.contact(org, {"Name": contact_given["Name"]}, False, {})
        kind = str(merged.get("Type"))
        if kind == "ACCREC" and not merged.get("InvoiceNumber"):
            merged["InvoiceNumber"] = _next_number(org)
        if kind == "ACCREC":
            pending.setdefault("numbers", set()).add(str(merged["InvoiceNumber"]))
        merged.pop("UpdatedDateUTC", None)
        invoice_id = existing["InvoiceID"] if existing else str(uuid.uuid4())
        record = invoice_record(org, merged, invoice_id, self.clock.moment(), seeded=False)
        if existing is not None:
            org.invoices[org.invoices.index(existing)] = record
        else:
            org.invoices.append(record)
        return record, []

    def _invoice_errors(
        self,
        org: Org,
        data: dict[str, Any],
        existing: Record | None,
        pending: Pending,
    ) -> list[str]:
        errors: list[str] = []
        kind = data.get("Type")
        if kind not in ("ACCREC", "ACCPAY"):
            errors.append(self.messages["invalid_type"])
        status = str(data.get("Status") or "DRAFT")
        if status not in ("DRAFT", "SUBMITTED", "AUTHORISED") and not (existing and status in ("VOIDED", "DELETED")):
            errors.append(self.messages["invalid_status"].format(status=status))
        contact = dict(data.get("Contact") or {})
        if not any(contact.get(k) for k in ("ContactID", "Name", "ContactNumber")):
            errors.append(self.messages["contact_identify"])
        elif contact.get("ContactID") and org.find_contact({"ContactID": contact["ContactID"]}) is None:
            errors.append(self.messages["unknown_contact"].format(id=contact["ContactID"]))
        number = data.get("InvoiceNumber")
        if kind == "ACCREC" and number:
            clash = any(
                i["Type"] == "ACCREC" and i["InvoiceNumber"] == number and i is not existing for i in org.invoices
            )
            if clash or number in pending.get("numbers", set()):
                errors.append(self.messages["invoice_number_taken"])
        currency = str(data.get("CurrencyCode") or org.base_currency)
        if currency not in {c["Code"] for c in org.currencies}:
            errors.append(self.messages["currency_not_enabled"].format(currency=currency))
        try:
            when = (parse_when(data.get("Date")) or self.clock.moment()).date()
        except ValueError:
            errors.append(f"The Date '{data.get('Date')}' is not a valid date.")
            when = self.clock.moment().date()
        lock = org.lock_date()
        if lock is not None and when <= lock:
            errors.append(self.messages["period_locked"].format(lock=lock.strftime("%d %b %Y")))
        if kind == "ACCREC" and status == "AUTHORISED" and org.invoice_cap is not None:
            approved = sum(
                1
                for i in org.invoices
                if i["Type"] == "ACCREC"
                and i["Status"] in ("AUTHORISED", "PAID")
                and i is not existing
                and (d := parse_when(i["Date"])) is not None
                and (d.year, d.month) == (when.year, when.month)
            )
            if approved >= org.invoice_cap:
                errors.append(self.messages["invoice_cap"])
        for line in data.get("LineItems") or []:
            errors.extend(self._line_errors(org, dict(line)))
        return list(dict.fromkeys(errors))

    def _line_errors(self, org: Org, line: dict[str, Any]) -> list[str]:
        errors: list[str] = []
        item = None
        if line.get("ItemCode"):
            item = org.find_item(str(line["ItemCode"]))
            if item is None:
                errors.append(self.messages["unknown_item"].format(code=line["ItemCode"]))
        sales = dict((item or {}).get("SalesDetails") or {})
        account = line.get("AccountCode") or sales.get("AccountCode")
        if account:
            problem = self._account_problem(org, str(account))
            if problem:
                errors.append(problem)
        tax_type = line.get("TaxType")
        if tax_type:
            rate = org.tax_rate(str(tax_type))
            if rate is None or rate.get("Status", "ACTIVE") != "ACTIVE":
                errors.append(self.messages["invalid_tax"].format(tax=tax_type, account=account or ""))
        tracking = list(line.get("Tracking") or [])
        if len(tracking) > 2:
            errors.append(self.messages["too_many_tracking"])
        for given in tracking:
            category, option = org.tracking_lookup(dict(given))
            if (
                category is None
                or option is None
                or category.get("Status") != "ACTIVE"
                or option.get("Status") != "ACTIVE"
            ):
                errors.append(
                    self.messages["unknown_tracking"].format(name=given.get("Name", ""), option=given.get("Option", ""))
                )
        return errors


def _unit_amounts_to_cents(element: dict[str, Any]) -> dict[str, Any]:
    lines = []
    for line in element.get("LineItems") or []:
        if isinstance(line, dict) and line.get("UnitAmount") is not None:
            try:
                unit = Decimal(str(line["UnitAmount"])).quantize(TWO, rounding=ROUND_HALF_UP)
            except ArithmeticError:
                lines.append(line)  # not a number: the validation answers it
                continue
            line = {**line, "UnitAmount": float(unit)}
        lines.append(line)
    return {**element, "LineItems": lines} if "LineItems" in element else element


def _as_input(record: Record) -> dict[str, Any]:
    """The fields of a stored invoice an update merges over (what a client could have sent)."""
    keep = (
        "Type",
        "Contact",
        "Date",
        "DueDate",
        "InvoiceNumber",
        "Reference",
        "CurrencyCode",
        "Status",
        "LineAmountTypes",
        "LineItems",
    )
    return {k: record[k] for k in keep if k in record}


def _next_number(org: Org) -> str:
    taken = {i["InvoiceNumber"] for i in org.invoices}
    n = len(org.invoices) + 1
    while f"INV-{n:04d}" in taken:
        n += 1
    return f"INV-{n:04d}"
