"""One Zoho Books organisation in memory, loaded from a world's ``organizations`` entry: its
settings and its records in Zoho's JSON, with the look-ups reads and writes share.

Seeded records are not validated (a world may hold exactly the broken state a story needs);
invoice totals, taxes and balances are computed from the lines and payments as Zoho does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sandbox.limits import RollingWindow
from sandbox.zoho_books.wire import money, num, numeric_id, zoho_time

logger = logging.getLogger(__name__)

Record = dict[str, Any]

CURRENCY_NAMES = {
    "USD": ("US Dollar", "$"), "EUR": ("Euro", "€"), "GBP": ("Pound Sterling", "£"), "INR": ("Indian Rupee", "₹"),
    "AUD": ("Australian Dollar", "$"), "NZD": ("New Zealand Dollar", "$"), "AED": ("UAE Dirham", "AED"),
    "SAR": ("Saudi Riyal", "SAR"), "CAD": ("Canadian Dollar", "$"), "JPY": ("Japanese Yen", "¥"),
}  # fmt: skip
DEFAULT_ACCOUNTS = (
    {"account_name": "Sales", "account_code": "4000", "account_type": "income"},
    {"account_name": "General Income", "account_code": "4100", "account_type": "income"},
    {"account_name": "Accounts Receivable", "account_code": "1200", "account_type": "accounts_receivable"},
)
DEFAULT_TAXES = ({"tax_name": "Sales Tax", "tax_percentage": 10},)


@dataclass
class Org:
    org_id: str
    name: str
    dc: str
    organization: Record
    daily_limit: int
    used: int = 0  # calls spent today, by any app
    day_started: float | None = None
    minute: RollingWindow = field(default_factory=lambda: RollingWindow(60))
    currencies: list[Record] = field(default_factory=list)
    taxes: list[Record] = field(default_factory=list)
    accounts: list[Record] = field(default_factory=list)
    tags: list[Record] = field(default_factory=list)
    locks: list[Record] = field(default_factory=list)
    contacts: list[Record] = field(default_factory=list)
    items: list[Record] = field(default_factory=list)
    invoices: list[Record] = field(default_factory=list)
    payments: list[Record] = field(default_factory=list)

    @property
    def base_currency(self) -> str:
        return str(self.organization.get("currency_code") or "USD")

    def lock_date(self) -> date | None:
        dates = [
            date.fromisoformat(str(lock["transaction_lock_date"])[:10])
            for lock in self.locks
            if lock.get("transaction_lock_status", "enabled") != "disabled" and lock.get("transaction_lock_date")
        ]
        return max(dates) if dates else None

    def contact(self, contact_id: Any = None, name: Any = None) -> Record | None:
        for c in self.contacts:
            if (contact_id and c["contact_id"] == str(contact_id)) or (name and c["contact_name"] == name):
                return c
        return None

    def item(self, item_id: Any = None, sku: Any = None, name: Any = None) -> Record | None:
        for i in self.items:
            if (
                (item_id and i["item_id"] == str(item_id))
                or (sku and i.get("sku") == sku)
                or (name and i["name"] == name)
            ):
                return i
        return None

    def tax(self, tax_id: Any = None, name: Any = None) -> Record | None:
        for t in self.taxes:
            if (tax_id and t["tax_id"] == str(tax_id)) or (name and t["tax_name"] == name):
                return t
        return None

    def account(self, account_id: Any = None, name: Any = None) -> Record | None:
        for a in self.accounts:
            if (account_id and a["account_id"] == str(account_id)) or (
                name and name in (a["account_name"], a.get("account_code"))
            ):
                return a
        return None

    def currency(self, currency_id: Any = None, code: Any = None) -> Record | None:
        for c in self.currencies:
            if (currency_id and c["currency_id"] == str(currency_id)) or (code and c["currency_code"] == code):
                return c
        return None

    def tag_option(self, given: Mapping[str, Any]) -> tuple[Record | None, Record | None]:
        """(tag, option) a line's tag names by id or by name."""
        tag = next(
            (t for t in self.tags if t["tag_id"] == str(given.get("tag_id")) or t["tag_name"] == given.get("tag_name")),
            None,
        )
        if tag is None:
            return None, None
        option = next(
            (
                o
                for o in tag["tag_options"]
                if o["tag_option_id"] == str(given.get("tag_option_id"))
                or o["tag_option_name"] == given.get("tag_option_name")
            ),
            None,
        )
        return tag, option


def load_org(raw: Mapping[str, Any], index: int, now: datetime) -> Org:
    org_id = str(raw.get("organization_id") or numeric_id("org", index))
    name = str(raw.get("name") or f"Organisation {index + 1}")
    organization: Record = {
        "organization_id": org_id,
        "name": name,
        "contact_name": name,
        "is_default_org": index == 0,
        "user_role": "admin",
        "currency_code": "USD",
        "country_code": "US",
        "time_zone": "UTC",
        "fiscal_year_start_month": "january",
        "account_created_date": "2020-01-01",
        "is_org_active": True,
        "version": "global",
        **dict(raw.get("organization") or {}),
    }
    org = Org(
        org_id=org_id,
        name=name,
        dc=str(raw.get("dc") or "us"),
        organization=organization,
        daily_limit=int(raw.get("daily_limit", 1000)),
        used=int(raw.get("used_today", 0)),
    )
    base = org.base_currency
    codes = [base] + [str(c) for c in raw.get("currencies") or [] if str(c) != base]
    for code in codes:
        label, symbol = CURRENCY_NAMES.get(code, (code, code))
        org.currencies.append(
            {
                "currency_id": numeric_id(org_id, "currency", code),
                "currency_code": code,
                "currency_name": label,
                "currency_symbol": symbol,
                "price_precision": 2,
                "is_base_currency": code == base,
                "exchange_rate": 1.0,
            }
        )
    for i, tax in enumerate(raw.get("taxes", DEFAULT_TAXES)):
        org.taxes.append(
            {"tax_id": numeric_id(org_id, "tax", i), "tax_type": "tax", "is_value_added": False, **dict(tax)}
        )
    for i, acc in enumerate(raw.get("accounts", DEFAULT_ACCOUNTS)):
        org.accounts.append(
            {
                "account_id": numeric_id(org_id, "account", i),
                "is_active": True,
                "is_user_created": True,
                "is_system_account": False,
                **dict(acc),
            }
        )
    for i, tag in enumerate(raw.get("tags") or []):
        tag_id = numeric_id(org_id, "tag", i)
        options = [
            {"tag_option_id": numeric_id(tag_id, o), "tag_option_name": str(o), "is_active": True}
            for o in tag.get("options") or []
        ]
        org.tags.append(
            {
                "tag_id": tag_id,
                "tag_name": str(tag["tag_name"]),
                "is_active": tag.get("is_active", True),
                "tag_options": options,
            }
        )
    lock = raw.get("transaction_lock")
    if lock:
        org.locks.append(
            {
                "transaction_lock_id": numeric_id(org_id, "lock"),
                "transaction_lock_status": "enabled",
                "lock_scope": 0,
                "lock_scope_formatted": "All",
                **{k: str(v) for k, v in lock.items()},
            }
        )
    stamp = zoho_time(now)
    for i, c in enumerate(raw.get("contacts") or []):
        org.contacts.append(contact_record(org, dict(c), numeric_id(org_id, "contact", i), stamp))
    for i, it in enumerate(raw.get("items") or []):
        org.items.append(item_record(org, dict(it), numeric_id(org_id, "item", i), stamp))
    for i, inv in enumerate(raw.get("invoices") or []):
        org.invoices.append(invoice_record(org, dict(inv), numeric_id(org_id, "invoice", i), now))
    for i, pay in enumerate(raw.get("payments") or []):
        org.payments.append(payment_record(org, dict(pay), numeric_id(org_id, "payment", i)))
    return org


def contact_record(org: Org, data: dict[str, Any], contact_id: str, stamp: str) -> Record:
    persons = [p for p in data.get("contact_persons") or [] if isinstance(p, dict)]
    primary = next((p for p in persons if p.get("is_primary_contact")), persons[0] if persons else {})
    record: Record = {
        "contact_id": contact_id,
        "contact_type": "customer",
        "status": "active",
        "currency_code": org.base_currency,
        "created_time": stamp,
        "last_modified_time": stamp,
        "email": primary.get("email", ""),
        "first_name": primary.get("first_name", ""),
        "last_name": primary.get("last_name", ""),
    }
    record.update({k: v for k, v in data.items() if k not in ("contact_persons", "contact_id")})
    currency = org.currency(code=record["currency_code"])
    record["currency_id"] = currency["currency_id"] if currency else ""
    record["company_name"] = record.get("company_name") or ""
    return record


def item_record(org: Org, data: dict[str, Any], item_id: str, stamp: str) -> Record:
    record: Record = {
        "item_id": item_id,
        "status": "active",
        "rate": 0.0,
        "item_type": "sales",
        "product_type": "service",
        "description": "",
        "sku": "",
        "created_time": stamp,
        "last_modified_time": stamp,
    }
    record.update({k: v for k, v in data.items() if k != "item_id"})
    account = org.account(data.get("account_id"), data.get("account_name"))
    if account is not None:
        record.update(account_id=account["account_id"], account_name=account["account_name"])
    tax = org.tax(data.get("tax_id"), data.get("tax_name"))
    if tax is not None:
        record.update(tax_id=tax["tax_id"], tax_name=tax["tax_name"], tax_percentage=tax.get("tax_percentage", 0))
    record["rate"] = num(money(record.get("rate")))
    return record


def invoice_record(org: Org, data: dict[str, Any], invoice_id: str, now: datetime) -> Record:
    """An invoice as ``GET /invoices/{id}`` answers it: lines resolved, amounts computed."""
    customer = org.contact(data.get("customer_id"), data.get("customer_name")) or {}
    currency = org.currency(data.get("currency_id"), data.get("currency_code")) or org.currency(code=org.base_currency)
    lines = [line_record(org, dict(li), invoice_id, n) for n, li in enumerate(data.get("line_items") or [])]
    sub_total = sum((money(li["item_total"]) for li in lines), Decimal(0))
    tax_total = sum((money(li["item_total"]) * money(li.get("tax_percentage")) / 100 for li in lines), Decimal(0))
    total = money(num(sub_total)) + money(num(tax_total))
    when = str(data.get("date") or now.date().isoformat())
    modified = str(data.get("last_modified_time") or zoho_time(now))
    record: Record = {
        "invoice_id": invoice_id,
        "invoice_number": str(data.get("invoice_number") or ""),
        "reference_number": str(data.get("reference_number") or ""),
        "date": when[:10],
        "due_date": str(data.get("due_date") or when)[:10],
        "status": str(data.get("status") or "sent"),
        "customer_id": customer.get("contact_id", str(data.get("customer_id") or "")),
        "customer_name": customer.get("contact_name", str(data.get("customer_name") or "")),
        "currency_id": (currency or {}).get("currency_id", ""),
        "currency_code": (currency or {}).get("currency_code", org.base_currency),
        "exchange_rate": 1.0,
        "is_inclusive_tax": False,
        "line_items": lines,
        "sub_total": num(sub_total),
        "tax_total": num(tax_total),
        "total": num(total),
        "payment_made": 0.0,
        "balance": num(total) if data.get("status") != "void" else 0.0,
        "created_time": modified,
        "last_modified_time": modified,
    }
    return record


def line_record(org: Org, raw: dict[str, Any], invoice_id: str, index: int) -> Record:
    item = org.item(raw.get("item_id"), raw.get("sku"))
    tax = org.tax(raw.get("tax_id"), raw.get("tax_name")) or (
        org.tax(item.get("tax_id")) if item and item.get("tax_id") else None
    )
    quantity = money(raw.get("quantity"), "1")
    rate = money(raw.get("rate") if raw.get("rate") is not None else (item or {}).get("rate"))
    discount = money(raw.get("discount"))
    line: Record = {
        "line_item_id": numeric_id(invoice_id, "line", index),
        "item_id": (item or {}).get("item_id", ""),
        "name": str(raw.get("name") or (item or {}).get("name") or ""),
        "description": str(raw.get("description") or ""),
        "item_order": index + 1,
        "rate": num(rate),
        "bcy_rate": num(rate),
        "quantity": float(quantity),
        "unit": "",
        "discount": float(discount),
        "item_total": num(quantity * rate * (100 - discount) / 100),
        "tax_id": (tax or {}).get("tax_id", ""),
        "tax_name": (tax or {}).get("tax_name", ""),
        "tax_type": "tax",
        "tax_percentage": (tax or {}).get("tax_percentage", 0),
        "product_type": (item or {}).get("product_type", "service"),
        "tags": [],
    }
    account = org.account(raw.get("account_id"), raw.get("account_name"))
    if account is None and item and item.get("account_id"):
        account = org.account(item["account_id"])
    if account is not None:
        line.update(account_id=account["account_id"], account_name=account["account_name"])
    for given in raw.get("tags") or []:
        tag, option = org.tag_option(dict(given))
        if tag is not None and option is not None:
            line["tags"].append(
                {
                    "tag_id": tag["tag_id"],
                    "tag_name": tag["tag_name"],
                    "is_tag_mandatory": False,
                    "tag_option_id": option["tag_option_id"],
                    "tag_option_name": option["tag_option_name"],
                }
            )
    return line


def payment_record(org: Org, data: dict[str, Any], payment_id: str) -> Record:
    """A customer payment applied to one invoice (by number or id); the invoice's balance drops."""
    invoice = next(
        (
            i
            for i in org.invoices
            if i["invoice_id"] == str(data.get("invoice_id")) or i["invoice_number"] == data.get("invoice_number")
        ),
        None,
    )
    if invoice is None:
        raise ValueError(f"zoho_books world: a payment names an invoice that is not in {org.name!r}")
    amount = money(data.get("amount"))
    balance = money(invoice["balance"]) - amount
    invoice.update(balance=num(max(balance, Decimal(0))), payment_made=num(money(invoice["payment_made"]) + amount))
    if balance <= 0 and invoice["status"] not in ("void", "draft"):
        invoice["status"] = "paid"
    elif invoice["status"] not in ("void", "draft"):
        invoice["status"] = "partially_paid"
    day = str(data.get("date") or datetime.now(UTC).date().isoformat())[:10]
    return {
        "payment_id": payment_id,
        "payment_number": str(data.get("payment_number") or payment_id[-4:]),
        "payment_mode": str(data.get("payment_mode") or "banktransfer"),
        "date": day,
        "amount": num(amount),
        "status": "success",
        "customer_id": invoice["customer_id"],
        "customer_name": invoice["customer_name"],
        "currency_code": invoice["currency_code"],
        "reference_number": str(data.get("reference_number") or ""),
        "invoices": [
            {
                "invoice_id": invoice["invoice_id"],
                "invoice_number": invoice["invoice_number"],
                "date": invoice["date"],
                "invoice_amount": invoice["total"],
                "amount_applied": num(amount),
                "balance_amount": invoice["balance"],
            }
        ],
    }
