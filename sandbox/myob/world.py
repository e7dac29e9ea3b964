"""One MYOB company file in memory, loaded from a world's ``company_files`` entry: the file's
record, its Company and Preferences, and its lists in MYOB's JSON (field names from MYOB's SDK
and pages, /work/notes/zoho_myob.md section 2.7).

Seeded records are not validated; invoice totals, taxes and balances are computed from the
lines and payments.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sandbox.myob.wire import guid, money, myob_date, num, parse_date

logger = logging.getLogger(__name__)

Record = dict[str, Any]

DEFAULT_ACCOUNTS = (
    {"DisplayID": "4-1000", "Name": "Sales", "Type": "Income", "Classification": "Income"},
    {"DisplayID": "1-1200", "Name": "Trade Debtors", "Type": "AccountReceivable", "Classification": "Asset"},
)
DEFAULT_TAX_CODES = (
    {"Code": "GST", "Description": "Goods & Services Tax", "Type": "GST", "Rate": 10},
    {"Code": "FRE", "Description": "GST Free", "Type": "GST", "Rate": 0},
    {"Code": "N-T", "Description": "Not Reportable", "Type": "NonReportable", "Rate": 0},
)
COLLECTIONS = (
    "Contact/Customer", "Inventory/Item", "GeneralLedger/Account", "GeneralLedger/TaxCode", "GeneralLedger/Job",
    "GeneralLedger/Category", "GeneralLedger/Currency", "Sale/Invoice/Item", "Sale/Invoice/Service",
    "Sale/CustomerPayment",
)  # fmt: skip


@dataclass
class CompanyFile:
    uid: str
    record: Record  # what GET /accountright/ lists (Subscription shown with $expand only)
    company: Record
    preferences: Record
    requires_cftoken: bool
    users: dict[str, str]  # company-file user -> password
    lists: dict[str, list[Record]] = field(default_factory=lambda: {c: [] for c in COLLECTIONS})
    _indexes: dict[tuple[str, str], tuple[int, dict[str, Record]]] = field(default_factory=dict, repr=False)

    @property
    def base_currency(self) -> str:
        return {"AU": "AUD", "NZ": "NZD"}.get(str(self.record.get("Country")), "AUD")

    def lock_from(self) -> date | None:
        value = self.preferences["System"].get("LockPeriodPriorTo")
        return parse_date(value).date() if value else None

    def find(self, collection: str, uid: Any = None, **match: Any) -> Record | None:
        """The record with this UID, else the first matching every ``match`` field. A single
        field is looked up in an index: worlds hold thousands of records."""
        if uid and (found := self._index(collection, "UID").get(str(uid))):
            return found
        if len(match) == 1:
            [(key, value)] = match.items()
            return self._index(collection, key).get(str(value)) if value is not None else None
        if match:
            return next((r for r in self.lists[collection] if all(r.get(k) == v for k, v in match.items())), None)
        return None

    def _index(self, collection: str, key: str) -> dict[str, Record]:
        rows = self.lists[collection]
        cached = self._indexes.get((collection, key))
        if cached is None or cached[0] != len(rows):
            table: dict[str, Record] = {}
            for row in rows:
                if row.get(key) is not None:
                    table.setdefault(str(row[key]), row)
            cached = (len(rows), table)
            self._indexes[(collection, key)] = cached
        return cached[1]

    def link(self, collection: str, row: Record, *keys: str) -> Record:
        """``{UID, <keys>, URI}``: how one MYOB entity names another."""
        found: Record = {"UID": row["UID"], **{k: row.get(k) for k in keys}}
        found["URI"] = f"{self.record['Uri']}/{collection}/{row['UID']}"
        return found


def load_file(raw: Mapping[str, Any], index: int, base_url: str = "https://api.myob.com") -> CompanyFile:
    uid = str(raw.get("id") or guid("file", index))
    name = str(raw.get("name") or f"Company file {index + 1}")
    level = dict(raw.get("product_level") or {"Code": 30, "Name": "Plus"})
    record: Record = {
        "Id": uid,
        "Name": name,
        "LibraryPath": name,
        "ProductVersion": "2024.4",
        "ProductLevel": level,
        "CheckedOutDate": None,
        "CheckedOutBy": None,
        "Uri": f"{base_url}/accountright/{uid}",
        "Country": str(raw.get("country") or "AU"),
        "LauncherId": guid("launcher", uid),
        "SerialNumber": str(raw.get("serial_number") or "612345678901"),
        "UIAccessFlags": int(raw.get("ui_access_flags", 3)),
        "Subscription": raw.get("subscription"),
    }
    company = {"CompanyName": name, "SerialNumber": record["SerialNumber"], "ReadOnly": False, "RowVersion": "1"}
    company.update(dict(raw.get("company") or {}))
    system: Record = {
        "CategoryTracking": "Off",
        "TransactionsCannotBeChangedMustBeReversed": False,
        "LockPeriodPriorTo": None,
        "UseAlphaAccountIdentifier": False,
    }
    system.update(dict(raw.get("preferences") or {}))
    if system.get("LockPeriodPriorTo"):
        system["LockPeriodPriorTo"] = myob_date(system["LockPeriodPriorTo"])
    cf = CompanyFile(
        uid=uid,
        record=record,
        company=company,
        preferences={"System": system, "RowVersion": "1"},
        requires_cftoken=bool(raw.get("requires_cftoken", False)),
        users={str(k): str(v) for k, v in dict(raw.get("users") or {}).items()},
    )
    lists = cf.lists
    base = cf.base_currency
    for code in [base, *[c for c in raw.get("currencies") or [] if c != base]]:
        lists["GeneralLedger/Currency"].append(
            {
                "UID": guid(uid, "currency", code),
                "Code": code,
                "CurrencyName": code,
                "CurrencyRate": 1.0,
                "RowVersion": "1",
            }
        )
    for i, acc in enumerate(raw.get("accounts", DEFAULT_ACCOUNTS)):
        lists["GeneralLedger/Account"].append(
            {
                "UID": guid(uid, "account", i),
                "IsActive": True,
                "IsHeader": False,
                "Level": 2,
                "RowVersion": "1",
                **dict(acc),
            }
        )
    for i, tax in enumerate(raw.get("tax_codes", DEFAULT_TAX_CODES)):
        lists["GeneralLedger/TaxCode"].append({"UID": guid(uid, "tax", i), "RowVersion": "1", **dict(tax)})
    for i, job in enumerate(raw.get("jobs") or []):
        lists["GeneralLedger/Job"].append(
            {"UID": guid(uid, "job", i), "IsActive": True, "IsHeader": False, "RowVersion": "1", **dict(job)}
        )
    for i, cat in enumerate(raw.get("categories") or []):
        lists["GeneralLedger/Category"].append(
            {"UID": guid(uid, "category", i), "IsActive": True, "RowVersion": "1", **dict(cat)}
        )
    for i, customer in enumerate(raw.get("customers") or []):
        lists["Contact/Customer"].append(customer_record(cf, dict(customer), guid(uid, "customer", i)))
    for i, item in enumerate(raw.get("items") or []):
        lists["Inventory/Item"].append(item_record(cf, dict(item), guid(uid, "item", i)))
    for i, inv in enumerate(raw.get("invoices") or []):
        layout = str(inv.get("layout") or "Item")
        lists[f"Sale/Invoice/{layout}"].append(invoice_record(cf, dict(inv), guid(uid, "invoice", i), layout))
    for i, pay in enumerate(raw.get("payments") or []):
        lists["Sale/CustomerPayment"].append(payment_record(cf, dict(pay), guid(uid, "payment", i)))
    return cf


def customer_record(cf: CompanyFile, data: dict[str, Any], uid: str) -> Record:
    record: Record = {
        "UID": uid,
        "IsIndividual": False,
        "IsActive": True,
        "DisplayID": "*None",
        "Addresses": [],
        "CurrentBalance": 0.0,
        "ForeignCurrency": None,
        "RowVersion": "1",
        "LastModified": myob_date(datetime.now(UTC)),
    }
    record.update({k: v for k, v in data.items() if k != "UID"})
    record["Addresses"] = [{"Location": n + 1, **dict(a)} for n, a in enumerate(record["Addresses"] or [])]
    return record


def item_record(cf: CompanyFile, data: dict[str, Any], uid: str) -> Record:
    selling = dict(data.pop("SellingDetails", None) or {})
    tax = cf.find("GeneralLedger/TaxCode", selling.pop("TaxCode", {}).get("UID")) or (
        cf.find("GeneralLedger/TaxCode", Code=data.pop("tax_code")) if data.get("tax_code") else None
    )
    income = cf.find("GeneralLedger/Account", (data.pop("IncomeAccount", None) or {}).get("UID")) or (
        cf.find("GeneralLedger/Account", DisplayID=data.pop("income_account")) if data.get("income_account") else None
    )
    price = selling.get("BaseSellingPrice", data.get("BaseSellingPrice", 0))
    record: Record = {
        "UID": uid,
        "IsActive": True,
        "IsBought": False,
        "IsSold": True,
        "IsInventoried": False,
        "Description": "",
        "UseDescription": False,
        "BaseSellingPrice": num(money(price)),
        "RowVersion": "1",
        "LastModified": myob_date(datetime.now(UTC)),
    }
    record.update(data)
    record["IncomeAccount"] = cf.link("GeneralLedger/Account", income, "Name", "DisplayID") if income else None
    record["SellingDetails"] = {
        "BaseSellingPrice": num(money(price)),
        "IsTaxInclusive": bool(selling.get("IsTaxInclusive", False)),
        "TaxCode": cf.link("GeneralLedger/TaxCode", tax, "Code") if tax else None,
        "SellingUnitOfMeasure": None,
        "ItemsPerSellingUnit": 1,
    }
    return record


def invoice_record(cf: CompanyFile, data: dict[str, Any], uid: str, layout: str) -> Record:
    """An invoice as ``GET /Sale/Invoice/{layout}`` answers it, lines and totals computed."""
    customer_given = dict(data.get("Customer") or {})
    customer = cf.find("Contact/Customer", customer_given.get("UID")) or next(
        (c for c in cf.lists["Contact/Customer"] if customer_given.get("Name") and _name(c) == customer_given["Name"]),
        None,
    )
    inclusive = bool(data.get("IsTaxInclusive", False))
    lines = [_line(cf, dict(li), n, inclusive) for n, li in enumerate(data.get("Lines") or [])]
    subtotal = sum((money(li["Total"]) for li in lines), Decimal(0))
    tax = sum((money(li.pop("_tax")) for li in lines), Decimal(0))
    total = subtotal if inclusive else subtotal + tax
    category = cf.find("GeneralLedger/Category", (data.get("Category") or {}).get("UID")) or (
        cf.find("GeneralLedger/Category", Name=(data.get("Category") or {}).get("Name"))
        if (data.get("Category") or {}).get("Name")
        else None
    )
    currency = data.get("ForeignCurrency")
    found = cf.find("GeneralLedger/Currency", Code=(currency or {}).get("Code")) if currency else None
    when = myob_date(data.get("Date") or datetime.now(UTC).date())
    return {
        "UID": uid,
        "Number": str(data.get("Number") or ""),
        "Date": when,
        "CustomerPurchaseOrderNumber": data.get("CustomerPurchaseOrderNumber"),
        "Customer": cf.link("Contact/Customer", customer, "Name", "DisplayID") | {"Name": _name(customer)}
        if customer
        else {"UID": customer_given.get("UID"), "Name": customer_given.get("Name")},
        "PromisedDate": myob_date(data["PromisedDate"]) if data.get("PromisedDate") else None,
        "BalanceDueAmount": num(total),
        "Status": "Open",
        "Lines": lines,
        "IsTaxInclusive": inclusive,
        "Subtotal": num(subtotal),
        "Freight": 0.0,
        "TotalTax": num(tax),
        "TotalAmount": num(total),
        "Category": cf.link("GeneralLedger/Category", category, "DisplayID", "Name") if category else None,
        "Comment": data.get("Comment"),
        "JournalMemo": data.get("JournalMemo") or f"Sale; {_name(customer) if customer else ''}",
        "ForeignCurrency": cf.link("GeneralLedger/Currency", found, "Code", "CurrencyName") if found else None,
        "CurrencyExchangeRate": 1.0,
        "InvoiceType": layout,
        "LastPaymentDate": None,
        "RowVersion": "1",
        "LastModified": myob_date(data.get("LastModified") or when),
        "URI": f"{cf.record['Uri']}/Sale/Invoice/{layout}/{uid}",
    }


def _name(customer: Mapping[str, Any]) -> str:
    if customer.get("IsIndividual"):
        return " ".join(str(p) for p in (customer.get("FirstName"), customer.get("LastName")) if p)
    return str(customer.get("CompanyName") or "")


def _line(cf: CompanyFile, raw: dict[str, Any], index: int, inclusive: bool) -> Record:
    item = cf.find("Inventory/Item", (raw.get("Item") or {}).get("UID")) or (
        cf.find("Inventory/Item", Number=(raw.get("Item") or {}).get("Number")) if raw.get("Item") else None
    )
    tax_given = dict(raw.get("TaxCode") or {})
    tax = cf.find("GeneralLedger/TaxCode", tax_given.get("UID")) or (
        cf.find("GeneralLedger/TaxCode", Code=tax_given.get("Code")) if tax_given.get("Code") else None
    )
    if tax is None and item and (item.get("SellingDetails") or {}).get("TaxCode"):
        tax = cf.find("GeneralLedger/TaxCode", item["SellingDetails"]["TaxCode"]["UID"])
    job_given = dict(raw.get("Job") or {})
    job = cf.find("GeneralLedger/Job", job_given.get("UID")) or (
        cf.find("GeneralLedger/Job", Number=job_given.get("Number")) if job_given.get("Number") else None
    )
    quantity = money(raw.get("ShipQuantity", raw.get("UnitCount")), "1")
    price = money(raw.get("UnitPrice") if raw.get("UnitPrice") is not None else (item or {}).get("BaseSellingPrice"))
    total = money(raw["Total"]) if raw.get("Total") is not None else quantity * price
    rate = money((tax or {}).get("Rate"))
    line_tax = total - total * 100 / (100 + rate) if inclusive else total * rate / 100
    account = (item or {}).get("IncomeAccount") or (
        cf.link("GeneralLedger/Account", found, "Name", "DisplayID")
        if (found := cf.find("GeneralLedger/Account", DisplayID=(raw.get("Account") or {}).get("DisplayID")))
        else None
    )
    return {
        "RowID": index + 1,
        "Type": str(raw.get("Type") or "Transaction"),
        "Description": str(raw.get("Description") or (item or {}).get("Name") or ""),
        "ShipQuantity": float(quantity),
        "UnitPrice": num(price),
        "DiscountPercent": 0.0,
        "Total": num(total),
        "Item": cf.link("Inventory/Item", item, "Number", "Name") if item else None,
        "Account": account,
        "Job": cf.link("GeneralLedger/Job", job, "Number", "Name") if job else None,
        "TaxCode": cf.link("GeneralLedger/TaxCode", tax, "Code") if tax else None,
        "RowVersion": "1",
        "_tax": line_tax,
    }


def payment_record(cf: CompanyFile, data: dict[str, Any], uid: str) -> Record:
    """A customer payment applied to one invoice (by Number); its balance drops, Closed when settled."""
    invoice = next(
        (
            i
            for layout in ("Item", "Service")
            for i in cf.lists[f"Sale/Invoice/{layout}"]
            if i["Number"] == data.get("Number") or i["UID"] == data.get("UID")
        ),
        None,
    )
    if invoice is None:
        raise ValueError(f"myob world: a payment names an invoice that is not in {cf.record['Name']!r}")
    amount = money(data.get("AmountReceived", data.get("Amount")))
    balance = money(invoice["BalanceDueAmount"]) - amount
    invoice["BalanceDueAmount"] = num(max(balance, Decimal(0)))
    if balance <= 0:
        invoice["Status"] = "Closed"
    when = myob_date(data.get("Date") or datetime.now(UTC).date())
    invoice["LastPaymentDate"] = when
    return {
        "UID": uid,
        "DepositTo": "Account",
        "Customer": invoice["Customer"],
        "ReceiptNumber": str(data.get("ReceiptNumber") or uid[:8]),
        "Date": when,
        "AmountReceived": num(amount),
        "PaymentMethod": str(data.get("PaymentMethod") or "EFT"),
        "Memo": str(data.get("Memo") or ""),
        "Invoices": [
            {
                "RowID": 1,
                "Number": invoice["Number"],
                "UID": invoice["UID"],
                "AmountApplied": num(amount),
                "Type": "Invoice",
                "Uri": invoice["URI"],
            }
        ],
        "ForeignCurrency": invoice["ForeignCurrency"],
        "RowVersion": "1",
        "LastModified": when,
    }
