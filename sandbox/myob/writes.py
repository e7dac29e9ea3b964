"""MYOB's writes: POST an Item-layout invoice, an item, a customer card. Validation follows
[M-NEWINV] (Date, Customer.UID, per line Item.UID, quantity, total and TaxCode.UID), [M-ITEM]
(Number and Name at most 30), [M-INVI] (invoice Number at most 13), [M-ERR] (Required 100,
NotFound 150). Duplicate numbers are a world setting, ``allow`` / ``warning`` / ``error``: what
MYOB does is UNCONFIRMED; a warning is refused only with ``warningsAsErrors=true`` [SDK].
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sandbox.myob.wire import MyobError, guid, myob_date, parse_date
from sandbox.myob.world import CompanyFile, Record, customer_record, invoice_record, item_record

logger = logging.getLogger(__name__)

LIMITS = {"invoice_number": 13, "item_number": 30, "item_name": 30, "display_id": 15}


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise MyobError("serialization", value="the request body is not JSON") from None
    if not isinstance(data, dict):
        raise MyobError("serialization", value="the request body is not an object")
    return data


class Writes:
    def __init__(self, section: Mapping[str, Any]) -> None:
        self.duplicate_invoice = str(section.get("duplicate_invoice_number", "warning"))
        self.duplicate_item = str(section.get("duplicate_item_number", "error"))
        self.item_case_sensitive = bool(section.get("item_number_case_sensitive", False))

    def _duplicate(self, setting: str, warnings_as_errors: bool, error: str, number: str) -> None:
        if setting == "error" or (setting == "warning" and warnings_as_errors):
            raise MyobError(error, number=number)

    def _uid(self, cf: CompanyFile, collection: str, given: Any, what: str) -> Record:
        uid = given.get("UID") if isinstance(given, dict) else None
        if not uid:
            raise MyobError("required", field=f"{what}.UID")
        found = cf.find(collection, uid)
        if found is None:
            raise MyobError("not_found", what=what, uid=uid)
        return found

    def invoice(self, cf: CompanyFile, data: dict[str, Any], warnings_as_errors: bool, now: datetime) -> Record:
        if not data.get("Date"):
            raise MyobError("required", field="Date")
        self._uid(cf, "Contact/Customer", data.get("Customer"), "Customer")
        number = str(data.get("Number") or "")
        if len(number) > LIMITS["invoice_number"]:
            raise MyobError("too_long", field="Number", max=LIMITS["invoice_number"])
        taken = any(i["Number"] == number for i in cf.lists["Sale/Invoice/Item"] + cf.lists["Sale/Invoice/Service"])
        if number and taken:
            self._duplicate(self.duplicate_invoice, warnings_as_errors, "duplicate_invoice_number", number)
        lock = cf.lock_from()
        if lock is not None and parse_date(data["Date"]).date() < lock:
            raise MyobError("locked_period", lock=lock.isoformat())
        if data.get("ForeignCurrency") and len(cf.lists["GeneralLedger/Currency"]) <= 1:
            raise MyobError("no_multicurrency")
        if data.get("Category"):
            self._uid(cf, "GeneralLedger/Category", data["Category"], "Category")
        elif cf.preferences["System"].get("CategoryTracking") == "OnAndRequired":
            raise MyobError("category_required")
        lines = data.get("Lines")
        if not isinstance(lines, list) or not lines:
            raise MyobError("required", field="Lines")
        for line in lines:
            line = dict(line) if isinstance(line, dict) else {}
            self._uid(cf, "Inventory/Item", line.get("Item"), "Item")
            self._uid(cf, "GeneralLedger/TaxCode", line.get("TaxCode"), "TaxCode")
            if line.get("ShipQuantity") is None:
                raise MyobError("required", field="ShipQuantity")
            if line.get("Total") is None and line.get("UnitPrice") is None:
                raise MyobError("required", field="Total")
            if line.get("Job"):
                self._uid(cf, "GeneralLedger/Job", line["Job"], "Job")
        if not number:
            number = f"{len(cf.lists['Sale/Invoice/Item']) + 1:08d}"  # auto-numbered, zero-padded (2ry)
        uid = guid(cf.uid, "invoice", "new", len(cf.lists["Sale/Invoice/Item"]), number)
        record = invoice_record(cf, {**data, "Number": number, "LastModified": myob_date(now)}, uid, "Item")
        cf.lists["Sale/Invoice/Item"].append(record)
        return record

    def _same_number(self, a: str, b: str) -> bool:
        return a == b if self.item_case_sensitive else a.casefold() == b.casefold()

    def item(self, cf: CompanyFile, data: dict[str, Any], warnings_as_errors: bool, now: datetime) -> Record:
        number = str(data.get("Number") or "")
        if not number:
            raise MyobError("required", field="Number")
        for field, key in (("Number", "item_number"), ("Name", "item_name")):
            if len(str(data.get(field) or "")) > LIMITS[key]:
                raise MyobError("too_long", field=field, max=LIMITS[key])
        if any(self._same_number(number, str(i.get("Number") or "")) for i in cf.lists["Inventory/Item"]):
            self._duplicate(self.duplicate_item, warnings_as_errors, "duplicate_item_number", number)
        if data.get("IsSold", True) and not data.get("IncomeAccount"):
            raise MyobError("required", field="IncomeAccount")
        if data.get("IncomeAccount"):
            self._uid(cf, "GeneralLedger/Account", data["IncomeAccount"], "IncomeAccount")
        tax = (data.get("SellingDetails") or {}).get("TaxCode")
        if tax:
            self._uid(cf, "GeneralLedger/TaxCode", tax, "TaxCode")
        uid = guid(cf.uid, "item", "new", len(cf.lists["Inventory/Item"]), number)
        record = item_record(cf, {**data, "LastModified": myob_date(now)}, uid)
        cf.lists["Inventory/Item"].append(record)
        return record

    def customer(self, cf: CompanyFile, data: dict[str, Any], warnings_as_errors: bool, now: datetime) -> Record:
        if data.get("IsIndividual") and not data.get("LastName"):
            raise MyobError("required", field="LastName")
        if not data.get("IsIndividual") and not data.get("CompanyName"):
            raise MyobError("required", field="CompanyName")
        display = str(data.get("DisplayID") or "")
        if len(display) > LIMITS["display_id"]:
            raise MyobError("too_long", field="DisplayID", max=LIMITS["display_id"])
        if display and cf.find("Contact/Customer", DisplayID=display) is not None:
            self._duplicate("error", warnings_as_errors, "duplicate_display_id", display)
        uid = guid(cf.uid, "customer", "new", len(cf.lists["Contact/Customer"]))
        record = customer_record(cf, {**data, "LastModified": myob_date(now)}, uid)
        cf.lists["Contact/Customer"].append(record)
        return record
