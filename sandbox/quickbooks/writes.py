"""QuickBooks' creates (Customer, Item, Invoice), refused as QuickBooks refuses them: required
fields, duplicate names (6240) and document numbers (6140), inactive references (610), a line
whose Amount is not Qty x UnitPrice, the home / enabled currencies and the books' closing date.
Codes Intuit does not document come from the world's ``validation_codes``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from copy import deepcopy
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from common.types import JSON
from sandbox.clock import SandboxClock
from sandbox.quickbooks.wire import NOT_FOUND_DETAIL, Fault
from sandbox.quickbooks.world import Realm

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")


class Creates:
    """Validates a create's body and answers the row to store (QuickBooks fills the rest)."""

    def __init__(self, codes: Mapping[str, str], clock: SandboxClock, *, check_doc_numbers: bool) -> None:
        self.codes = codes
        self.clock = clock
        self.check_doc_numbers = check_doc_numbers
        self._by_entity: dict[str, Callable[[Realm, JSON], JSON]] = {
            "Customer": self.customer,
            "Item": self.item,
            "Invoice": self.invoice,
        }

    def row(self, realm: Realm, entity: str, body: JSON) -> JSON:
        """The row a create of ``entity`` (one of ``CREATABLE``) stores."""
        return self._by_entity[entity](realm, body)

    def customer(self, realm: Realm, body: JSON) -> JSON:
        name = str(
            body.get("DisplayName")
            or " ".join(str(body.get(k)) for k in ("GivenName", "FamilyName") if body.get(k))
            or body.get("CompanyName")
            or ""
        ).strip()
        if not name:
            raise self._required("DisplayName")
        if ":" in name:  # ":" separates parent and child in FullyQualifiedName [QW, QR customer]
            raise Fault(
                400,
                self.codes["invalid_name"],
                "Invalid Display Name",
                f"{name!r}: a display name cannot contain ':'",
                element="DisplayName",
            )
        _check_unique_name(realm, "Customer", "DisplayName", name, "customer")
        currency = (body.get("CurrencyRef") or {}).get("value")
        if currency:
            self._check_currency(realm, str(currency))
        return {**body, "DisplayName": name, "Active": body.get("Active", True), "Balance": 0}

    def item(self, realm: Realm, body: JSON) -> JSON:
        name = str(body.get("Name") or "").strip()
        if not name:
            raise self._required("Name")
        _check_unique_name(realm, "Item", "Name", name, "product or service")
        kind = body.get("Type", "Service")
        if kind in ("Service", "NonInventory", "Inventory"):
            account = (body.get("IncomeAccountRef") or {}).get("value")
            if not account:
                raise self._required("IncomeAccountRef")
            self._require_active(realm, "Account", account, "IncomeAccountRef")
        return {**body, "Name": name, "Type": kind}

    def invoice(self, realm: Realm, body: JSON) -> JSON:
        customer = (body.get("CustomerRef") or {}).get("value")
        if not customer:
            raise self._required("CustomerRef")
        self._require_active(realm, "Customer", customer, "CustomerRef")
        lines = body.get("Line") or []
        if not lines:
            raise self._required("Line")
        for line in lines:
            detail = line.get("SalesItemLineDetail") or {}
            self._check_line_amount(line, detail)
            if (detail.get("ItemRef") or {}).get("value"):
                self._require_active(realm, "Item", detail["ItemRef"]["value"], "ItemRef")
            if (detail.get("ClassRef") or {}).get("value"):
                self._require_active(realm, "Class", detail["ClassRef"]["value"], "ClassRef")
            tax = (detail.get("TaxCodeRef") or {}).get("value")
            if tax and tax not in ("TAX", "NON") and realm.entities["TaxCode"]:  # US lines use TAX / NON
                self._require_active(realm, "TaxCode", tax, "TaxCodeRef")
        currency = str((body.get("CurrencyRef") or {}).get("value") or realm.home_currency)
        self._check_currency(realm, currency)
        txn_date = str(body.get("TxnDate") or self.clock.moment().date().isoformat())
        closed = (realm.preferences.get("AccountingInfoPrefs") or {}).get("BookCloseDate")
        if closed and date.fromisoformat(txn_date[:10]) <= date.fromisoformat(str(closed)[:10]):
            raise Fault(
                400,
                self.codes["closed_period"],
                "Account Period Closed",
                f"Account period closed, cannot update through API: TxnDate {txn_date} is on or before the closing date {closed}",
                element="TxnDate",
            )
        number = body.get("DocNumber")
        invoices = realm.entities["Invoice"]
        if number and self.check_doc_numbers:
            clash = next(
                (i for i in invoices if str(i.get("DocNumber", "")).casefold() == str(number).casefold()),
                None,
            )
            if clash is not None:
                raise Fault(
                    400,
                    "6140",
                    "Duplicate Document Number Error",
                    "Duplicate Document Number Error : You must specify a different number. This number has already been used. "
                    f"DocNumber={number} is assigned to TxnType=Invoice with TxnId={clash['Id']}",
                )
        if not number:  # Custom Transaction Numbers off: QuickBooks sequences [QX Transaction.DocNumber]
            numeric = [int(i["DocNumber"]) for i in invoices if str(i.get("DocNumber", "")).isdigit()]
            number = str(max(numeric, default=1000) + 1)
        row = deepcopy(body)
        for key in ("TotalAmt", "Balance"):
            row.pop(key, None)  # read-only: computed by QuickBooks
        return {**row, "DocNumber": number, "TxnDate": txn_date, "CurrencyRef": {"value": currency}}

    def _check_line_amount(self, line: JSON, detail: JSON) -> None:
        """QuickBooks refuses a sales line whose Amount is not Qty x UnitPrice, to the cent."""
        if line.get("Amount") is None or detail.get("UnitPrice") is None:
            return  # QuickBooks computes what is missing
        try:
            amount = Decimal(str(line["Amount"]))
            product = Decimal(str(detail.get("Qty", 1))) * Decimal(str(detail["UnitPrice"]))
        except ArithmeticError:
            raise Fault(400, self.codes["request"], "Request has invalid or unsupported property", "Amount") from None
        if product.quantize(CENT, rounding=ROUND_HALF_UP) != amount.quantize(CENT, rounding=ROUND_HALF_UP):
            raise Fault(
                400,
                self.codes["line_amount"],
                "Amount calculation incorrect in the request",
                f"Amount is not equal to UnitPrice * Qty. Supplied value:{line['Amount']}",
                element="Amount",
            )

    def _require_active(self, realm: Realm, entity: str, entity_id: Any, element: str) -> None:
        row = realm.find(entity, entity_id)
        if row is None or not row.get("Active", True):
            raise Fault(400, "610", "Object Not Found", NOT_FOUND_DETAIL, element=element)

    def _check_currency(self, realm: Realm, currency: str) -> None:
        if currency.upper() == realm.home_currency.upper():
            return
        enabled = {str(c.get("Code", "")).upper() for c in realm.entities["CompanyCurrency"] if c.get("Active", True)}
        if not realm.multicurrency or currency.upper() not in enabled:
            raise Fault(
                400,
                self.codes["currency"],
                "A business validation error has occurred while processing your request",
                f"Currency {currency} is not enabled for this company",
                element="CurrencyRef",
            )

    def _required(self, element: str) -> Fault:
        return Fault(
            400,
            self.codes["required"],
            "Required param missing, need to supply the required value for the API",
            element,
            element=element,
        )


def _check_unique_name(realm: Realm, entity: str, field: str, name: str, what: str) -> None:
    """Names are unique among active rows, whatever their case (6240)."""
    if any(
        str(r.get(field, "")).casefold() == name.casefold() for r in realm.entities[entity] if r.get("Active", True)
    ):
        raise Fault(
            400,
            "6240",
            "Duplicate Name Exists Error",
            f"The name supplied already exists. : Another {what} is already using this name. Please use a different name.",
        )
