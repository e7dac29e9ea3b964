"""One Xero organisation in memory: its settings, its records (in Xero's JSON) and the look-ups
reads and writes share."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sandbox.limits import RollingWindow
from sandbox.xero.wire import parse_when

logger = logging.getLogger(__name__)

Record = dict[str, Any]


@dataclass
class Org:
    tenant_id: str
    name: str
    organisation: Record
    actions: list[dict[str, str]]
    currencies: list[dict[str, str]]
    day_limit: int
    invoice_cap: int | None
    contact_case_sensitive: bool = False  # is "acme ltd" a duplicate of "Acme Ltd"?
    item_case_sensitive: bool = True  # does ItemCode "prod-001" match Code "PROD-001"?
    contacts: list[Record] = field(default_factory=list)
    items: list[Record] = field(default_factory=list)
    accounts: list[Record] = field(default_factory=list)
    tax_rates: list[Record] = field(default_factory=list)
    tracking: list[Record] = field(default_factory=list)
    invoices: list[Record] = field(default_factory=list)
    payments: list[Record] = field(default_factory=list)
    minute: RollingWindow = field(default_factory=lambda: RollingWindow(60))
    day_started: float | None = None
    day_used: int = 0
    connection: dict[str, str] = field(default_factory=dict)
    tenant_type: str = "ORGANISATION"  # /connections tenantType (PRACTICEMANAGER tenants are not organisations)
    # look-up indexes (worlds hold thousands of records); rebuilt by reindex()
    contact_ids: dict[str, Record] = field(default_factory=dict)
    contact_names: dict[str, list[Record]] = field(default_factory=dict)
    item_codes: dict[str, Record] = field(default_factory=dict)
    item_codes_folded: dict[str, Record] = field(default_factory=dict)

    @property
    def base_currency(self) -> str:
        return str(self.organisation.get("BaseCurrency") or "USD")

    def lock_date(self) -> date | None:
        found = [parse_when(self.organisation.get(k)) for k in ("PeriodLockDate", "EndOfYearLockDate")]
        dates = [d.date() for d in found if d is not None]
        return max(dates) if dates else None

    def reindex(self) -> None:
        """Rebuild the look-up indexes after contacts or items changed."""
        self.contact_ids = {c["ContactID"]: c for c in self.contacts}
        self.contact_names = {}
        for c in self.contacts:
            self.contact_names.setdefault(self._name_key(str(c.get("Name", ""))), []).append(c)
        self.item_codes = {}
        self.item_codes_folded = {}
        for item in self.items:
            code = str(item.get("Code", ""))
            self.item_codes.setdefault(code, item)
            self.item_codes_folded.setdefault(code.casefold(), item)

    def _name_key(self, name: str) -> str:
        return name if self.contact_case_sensitive else name.strip().casefold()

    def same_name(self, a: str, b: str) -> bool:
        return a == b if self.contact_case_sensitive else a.strip().casefold() == b.strip().casefold()

    def find_contact(self, given: Mapping[str, Any]) -> Record | None:
        """The contact a reference names: by ContactID, else ContactNumber, else active Name."""
        if given.get("ContactID"):
            return self.contact_ids.get(str(given["ContactID"]))
        if given.get("ContactNumber"):
            found = next((c for c in self.contacts if c.get("ContactNumber") == given["ContactNumber"]), None)
            if found is not None:
                return found
        if given.get("Name"):
            return self.active_contact_named(str(given["Name"]))
        return None

    def active_contact_named(self, name: str, exclude: str | None = None) -> Record | None:
        for c in self.contact_names.get(self._name_key(name), []):
            if (
                c.get("ContactStatus", "ACTIVE") == "ACTIVE"
                and c["ContactID"] != exclude
                and self.same_name(str(c.get("Name", "")), name)
            ):
                return c
        return None

    def find_item(self, code: str) -> Record | None:
        found = self.item_codes.get(code)
        if found is None and not self.item_case_sensitive:
            found = self.item_codes_folded.get(code.casefold())
        return found

    def account(self, code: Any) -> Record | None:
        return next((a for a in self.accounts if a.get("Code") == code), None)

    def tax_rate(self, tax_type: str) -> Record | None:
        return next((t for t in self.tax_rates if t.get("TaxType") == tax_type), None)

    def tracking_lookup(self, given: Mapping[str, Any]) -> tuple[Record | None, Record | None]:
        """The (category, option) a line's tracking names, by id or by name."""
        category = next(
            (
                c
                for c in self.tracking
                if c["TrackingCategoryID"] == given.get("TrackingCategoryID")
                or (given.get("Name") and c.get("Name") == given.get("Name"))
            ),
            None,
        )
        if category is None:
            return None, None
        option = next(
            (
                o
                for o in category["Options"]
                if o["TrackingOptionID"] == given.get("TrackingOptionID")
                or (given.get("Option") and o.get("Name") == given.get("Option"))
            ),
            None,
        )
        return category, option
