"""A QuickBooks company (realm) in memory, loaded from its world section: settings, entity lists
in Intuit's JSON, and what QuickBooks computes on them (ids, SyncToken, MetaData, names of
references, line amounts, totals). See the package docstring for the keys."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from copy import deepcopy
from typing import Any

from common.types import JSON
from sandbox.quickbooks.wire import ENTITIES, NAME_LISTS

logger = logging.getLogger(__name__)


class Realm:
    """One company: its settings and entity lists, in Intuit's JSON."""

    def __init__(self, realm_id: str, data: Mapping[str, Any], now: str) -> None:
        self.id = realm_id
        self.status_invalid = bool(data.get("company_status_invalid", False))
        self.company_info: JSON = {
            "Id": realm_id,
            "CompanyName": f"Company {realm_id}",
            **deepcopy(data.get("CompanyInfo") or {}),
        }
        self.preferences: JSON = deepcopy(data.get("Preferences") or {})
        self.entitlements: JSON = {"QboCompany": True, **deepcopy(data.get("Entitlements") or {})}
        self.entitlements_fault: Mapping[str, Any] | None = data.get("entitlements_fault")  # {status, code, message}
        self.entities: dict[str, list[JSON]] = {name: deepcopy(list(data.get(name) or [])) for name in ENTITIES}
        given = [str(r["Id"]) for rows in self.entities.values() for r in rows if r.get("Id")]
        self._next_id = max((int(i) for i in given if i.isdigit()), default=0) + 1
        for name in ENTITIES:  # ids first: invoices' references are filled from them below
            for row in self.entities[name]:
                row["Id"] = str(row.get("Id") or self.new_id())
        for name in sorted(ENTITIES, key=lambda e: e in ("Invoice", "Payment")):  # name lists first
            for row in self.entities[name]:
                self.complete(name, row, now)

    @property
    def home_currency(self) -> str:
        home = ((self.preferences.get("CurrencyPrefs") or {}).get("HomeCurrency") or {}).get("value")
        return str(home or "USD")

    @property
    def multicurrency(self) -> bool:
        return bool((self.preferences.get("CurrencyPrefs") or {}).get("MultiCurrencyEnabled"))

    def new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id - 1)

    def find(self, entity: str, entity_id: Any) -> JSON | None:
        return next((r for r in self.entities[entity] if r["Id"] == str(entity_id)), None)

    def complete(self, entity: str, row: JSON, now: str) -> None:
        """Fill what QuickBooks computes or echoes on every entity it returns."""
        row.setdefault("SyncToken", "0")
        row.setdefault("domain", "QBO")
        row.setdefault("sparse", False)
        row.setdefault("MetaData", {"CreateTime": now, "LastUpdatedTime": now})
        if entity in NAME_LISTS:
            row.setdefault("Active", True)
        if entity == "Customer":
            row.setdefault("FullyQualifiedName", row.get("DisplayName"))
            row.setdefault("CurrencyRef", self._currency_ref(self.home_currency))
        elif entity in ("Item", "Account", "Class"):
            row.setdefault("FullyQualifiedName", row.get("Name"))
        if entity == "Item":
            self._name_ref(row.get("IncomeAccountRef"), "Account", "Name")
        if entity in ("Invoice", "Payment"):
            row.setdefault("CurrencyRef", self._currency_ref(self.home_currency))
            self._name_ref(row.get("CustomerRef"), "Customer", "DisplayName")
        if entity == "Invoice":
            subtotal = 0.0
            for line in row.get("Line") or []:
                detail = line.get("SalesItemLineDetail")
                if detail is None:
                    continue
                if "Amount" not in line:
                    line["Amount"] = round(float(detail.get("Qty", 1)) * float(detail.get("UnitPrice", 0)), 2)
                subtotal += float(line["Amount"])
                self._name_ref(detail.get("ItemRef"), "Item", "Name")
                self._name_ref(detail.get("ClassRef"), "Class", "FullyQualifiedName")
            self._name_ref(row.get("ClassRef"), "Class", "FullyQualifiedName")
            tax = float((row.get("TxnTaxDetail") or {}).get("TotalTax", 0))
            row.setdefault("TotalAmt", round(subtotal + tax, 2))
            row.setdefault("Balance", row["TotalAmt"])

    def _currency_ref(self, code: str) -> JSON:
        return {"value": code}

    def _name_ref(self, ref: Any, entity: str, field: str) -> None:
        if isinstance(ref, dict) and "name" not in ref:
            target = self.find(entity, ref.get("value"))
            if target is not None and target.get(field):
                ref["name"] = target[field]
