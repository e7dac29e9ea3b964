"""MYOB's wire format <-> records: pure functions, no I/O (the client is :mod:`providers.myob`;
sources in its docstring).

MYOB answers PascalCase JSON. Lists are ``{"Items": [...], "NextPageLink": ..., "Count": ...}``;
entities link each other with ``{UID, ...}`` objects; dates are ``2024-05-01T00:00:00``
(no zone: the file's own day). OData filters quote strings in single quotes, doubling any
inside (``Number eq 'O''Neil'``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from common.types import JSON
from providers.parsing import to_decimal, to_money
from providers.records import (
    Account,
    Address,
    Contact,
    Feature,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Item,
    OrgInfo,
    Payment,
    TaxRate,
    TrackingCategory,
    TrackingOption,
    TrackingRef,
)

logger = logging.getLogger(__name__)

# Field limits [M-ITEM] item Number and Name String(30), [M-INVI] invoice Number String(13),
# Customer.Name String(50) on an invoice.
ITEM_CODE_MAX = 30
ITEM_NAME_MAX = 30
INVOICE_NUMBER_MAX = 13
CONTACT_NAME_MAX = 50
BASE_CURRENCIES = {"AU": "AUD", "NZ": "NZD"}  # AccountRight keeps its books in AUD or NZD (2ry [CODAT-M])
ESSENTIALS = 2  # UIAccessFlags of a new Essentials / MYOB Business file [M-V2]
JOB = "Job"  # the tracking category of line jobs
CATEGORY = "Category"  # the tracking category of invoice-header categories
LAYOUTS = ("Item", "Service")  # invoice layouts whose lines a sync writes
STATUSES: dict[str, InvoiceStatus] = {"Open": InvoiceStatus.OPEN, "Closed": InvoiceStatus.PAID}


@dataclass(frozen=True, slots=True)
class Lookups:
    """What reads need besides the row: the file's currency, tax rates by code, category names."""

    base_currency: str
    tax_rates: Mapping[str, Decimal] = field(default_factory=dict)
    categories: Mapping[str, str] = field(default_factory=dict)  # UID -> Name


# -- values ---------------------------------------------------------------------------------


def quote(value: str) -> str:
    """A string literal in an OData ``$filter``."""
    return "'" + value.replace("'", "''") + "'"


def odata_datetime(day_: date) -> str:
    return f"datetime'{day_.isoformat()}T00:00:00'"


def when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        logger.warning("unreadable MYOB date %r", value)
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def day(value: Any) -> date | None:
    moment = when(value)
    return moment.date() if moment else None


def myob_date(day_: date) -> str:
    return f"{day_.isoformat()}T00:00:00"


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    return str(value) if value not in (None, "") else None


def items_of(data: Any) -> list[JSON] | None:
    """The ``Items`` of a paged collection; None when ``data`` is not one."""
    if not isinstance(data, dict):
        return None
    found = data.get("Items")
    if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
        return None
    return found


def base_currency(company_file: Mapping[str, Any]) -> str:
    return BASE_CURRENCIES.get(str(company_file.get("Country") or "").upper(), "AUD")


# -- JSON -> records ------------------------------------------------------------------------


def org_info(
    company_file: Mapping[str, Any],
    company: Mapping[str, Any],
    preferences: Mapping[str, Any],
    currencies: Sequence[JSON],
    tenant_id: str,
) -> OrgInfo:
    """The company file, Company, Company/Preferences and GeneralLedger/Currency.

    Multi-currency is reported present when the file lists a currency besides its own, the
    one sign the API gives (no "enabled" flag is documented): a file listing none cannot take
    foreign invoices, whether its edition lacks the feature (Essentials, 2ry [CODAT-M]) or it
    is switched off. The lock date is the day before ``LockPeriodPriorTo`` [M-PREF]: MYOB locks
    dates *prior to* it, Sync Doctor's lock date is the last locked day.
    """
    base = base_currency(company_file)
    codes = {str(c["Code"]) for c in currencies if c.get("Code")}
    features = {Feature.MULTICURRENCY} if codes - {base} else set()
    level = _obj(company_file.get("ProductLevel"))
    subscription = _obj(company_file.get("Subscription"))
    product = _obj(subscription.get("Product"))
    system = _obj(preferences.get("System"))
    lock_from = day(system.get("LockPeriodPriorTo"))
    plan = _text(product, "DisplayName") or _text(product, "Name") or _text(level, "Name")
    return OrgInfo(
        tenant_id=str(company_file.get("Id") or tenant_id),
        name=str(company.get("CompanyName") or company_file.get("Name") or ""),
        base_currency=base,
        currencies=frozenset(codes | {base}),
        plan=plan,
        features=frozenset(features),
        features_known=True,
        is_trial=bool(subscription.get("IsTrial")),
        lock_date=lock_from - timedelta(days=1) if lock_from else None,
        country=_text(company_file, "Country"),
        status="read_only" if company.get("ReadOnly") else "active",
    )


def contact_name(row: Mapping[str, Any]) -> str:
    if row.get("IsIndividual"):
        return " ".join(p for p in (_text(row, "FirstName"), _text(row, "LastName")) if p)
    return str(row.get("CompanyName") or "")


def contact(row: Mapping[str, Any]) -> Contact:
    addresses = sorted(
        (a for a in row.get("Addresses") or [] if isinstance(a, dict)), key=lambda a: int(a.get("Location") or 9)
    )
    first = addresses[0] if addresses else {}
    address = (
        Address(
            line1=_text(first, "Street"),
            city=_text(first, "City"),
            region=_text(first, "State"),
            postcode=_text(first, "PostCode"),
            country=_text(first, "Country"),
        )
        if any(first.get(k) for k in ("Street", "City", "PostCode", "Country"))
        else None
    )
    return Contact(
        id=str(row.get("UID")),
        name=contact_name(row),
        email=next((str(a["Email"]) for a in addresses if a.get("Email")), None),
        first_name=_text(row, "FirstName"),
        last_name=_text(row, "LastName"),
        company=_text(row, "CompanyName"),
        archived=not row.get("IsActive", True),
        address=address,
        currency=_text(_obj(row.get("ForeignCurrency")), "Code"),
        number=_text(row, "DisplayID"),
    )


def item(row: Mapping[str, Any]) -> Item:
    selling = _obj(row.get("SellingDetails"))
    price = selling.get("BaseSellingPrice", row.get("BaseSellingPrice"))
    return Item(
        id=str(row.get("UID")),
        code=_text(row, "Number"),
        name=str(row.get("Name") or ""),
        active=bool(row.get("IsActive", True)),
        unit_price=to_decimal(price),
        account_code=_text(_obj(row.get("IncomeAccount")), "DisplayID"),
        tax_code=_text(_obj(selling.get("TaxCode")), "Code"),
    )


def account(row: Mapping[str, Any]) -> Account:
    return Account(
        id=str(row.get("UID")),
        code=_text(row, "DisplayID"),
        name=str(row.get("Name") or ""),
        type=_text(row, "Type"),
        status="active" if row.get("IsActive", True) else "archived",
    )


def tax_rate(row: Mapping[str, Any]) -> TaxRate:
    return TaxRate(
        code=str(row.get("Code")),
        name=str(row.get("Description") or row.get("Code")),
        rate=to_decimal(row.get("Rate")),
    )


def tracking(jobs: Sequence[JSON], categories: Sequence[JSON], category_tracking: str) -> list[TrackingCategory]:
    """Jobs (on lines, by Number) and categories (on the invoice, by Name). Categories are
    ``off`` while ``Preferences.System.CategoryTracking`` is ``Off`` [M-PREF]."""

    def status(row: Mapping[str, Any]) -> str:
        return "active" if row.get("IsActive", True) else "archived"

    job_options = tuple(TrackingOption(str(j.get("Number") or ""), status(j)) for j in jobs if not j.get("IsHeader"))
    category_options = tuple(TrackingOption(str(c.get("Name") or ""), status(c)) for c in categories)
    return [
        TrackingCategory(id="job", name=JOB, options=job_options),
        TrackingCategory(
            id="category",
            name=CATEGORY,
            status="off" if category_tracking == "Off" else "active",
            options=category_options,
        ),
    ]


def invoice(row: Mapping[str, Any], lookups: Lookups) -> Invoice:
    raw_status = str(row.get("Status") or "")
    customer = _obj(row.get("Customer"))
    category = _obj(row.get("Category"))
    category_name = _text(category, "Name") or lookups.categories.get(str(category.get("UID") or ""))
    total = to_money(row.get("TotalAmount"))
    due = to_decimal(row.get("BalanceDueAmount"))
    inclusive = bool(row.get("IsTaxInclusive"))
    return Invoice(
        id=str(row.get("UID")),
        number=_text(row, "Number"),
        status=STATUSES.get(raw_status, InvoiceStatus.OPEN),
        raw_status=raw_status or None,
        currency=_text(_obj(row.get("ForeignCurrency")), "Code") or lookups.base_currency,
        total=total,
        contact_id=_text(customer, "UID"),
        contact_name=_text(customer, "Name"),
        issue_date=day(row.get("Date")),
        due_date=day(row.get("PromisedDate")),
        lines=tuple(
            _line(li, lookups, inclusive, category_name)
            for li in row.get("Lines") or []
            if isinstance(li, dict) and li.get("Type", "Transaction") == "Transaction"
        ),
        subtotal=to_decimal(row.get("Subtotal")),
        tax=to_decimal(row.get("TotalTax")),
        amount_due=due,
        amount_paid=total - due if due is not None else None,
        updated_at=when(row.get("LastModified")),
        reference=_text(row, "CustomerPurchaseOrderNumber") or _text(row, "JournalMemo"),
    )


def _line(line: Mapping[str, Any], lookups: Lookups, inclusive: bool, category: str | None) -> InvoiceLine:
    item_ref = _obj(line.get("Item"))
    tax_code = _text(_obj(line.get("TaxCode")), "Code")
    total = to_money(line.get("Total"))
    rate = lookups.tax_rates.get(tax_code or "")
    if inclusive and rate:
        total = (total * 100 / (100 + rate)).quantize(Decimal("0.01"))  # InvoiceLine.amount is before tax
    quantity = to_decimal(line.get("ShipQuantity", line.get("UnitCount"))) or Decimal(1)
    job = _text(_obj(line.get("Job")), "Number")
    refs = [TrackingRef(JOB, job)] if job else []
    if category:
        refs.append(TrackingRef(CATEGORY, category))
    return InvoiceLine(
        description=_text(line, "Description"),
        sku=_text(item_ref, "Number"),
        item_id=_text(item_ref, "UID"),
        quantity=quantity,
        unit_amount=to_money(line.get("UnitPrice")),
        amount=total,
        account_code=_text(_obj(line.get("Account")), "DisplayID"),
        tax_code=tax_code,
        tracking=tuple(refs),
    )


def payments(row: Mapping[str, Any], base: str) -> list[Payment]:
    """One payment per invoice a customer payment settles (``Invoices[]``, Type ``Invoice``)."""
    currency = _text(_obj(row.get("ForeignCurrency")), "Code") or base
    return [
        Payment(
            id=f"{row.get('UID')}:{line.get('UID')}",
            invoice_id=_text(line, "UID"),
            amount=to_money(line.get("AmountApplied")),
            date=day(row.get("Date")),
            currency=currency,
            invoice_number=_text(line, "Number"),
        )
        for line in row.get("Invoices") or []
        if isinstance(line, dict) and line.get("Type", "Invoice") == "Invoice"
    ]


# -- records -> JSON ------------------------------------------------------------------------


def invoice_body(invoice: Invoice, lines: Sequence[JSON], category_uid: str | None) -> JSON:
    """``POST /Sale/Invoice/Item`` [M-NEWINV]: Date, Customer.UID, lines with Item, quantity,
    total and TaxCode; amounts before tax."""
    body: JSON = {
        "Date": myob_date(invoice.issue_date or datetime.now(UTC).date()),
        "Customer": {"UID": invoice.contact_id},
        "IsTaxInclusive": False,
        "Lines": list(lines),
    }
    if invoice.number:
        body["Number"] = invoice.number
    if invoice.reference:
        body["CustomerPurchaseOrderNumber"] = invoice.reference[:255]
    if invoice.due_date:
        body["PromisedDate"] = myob_date(invoice.due_date)
    if category_uid:
        body["Category"] = {"UID": category_uid}
    return body


def line_body(line: InvoiceLine, item_uid: str | None, tax_uid: str | None, job_uid: str | None) -> JSON:
    body: JSON = {
        "Type": "Transaction",
        "ShipQuantity": float(line.quantity),
        "UnitPrice": float(line.unit_amount),
        "Total": float(line.amount),
    }
    for key, value in (("Item", item_uid), ("TaxCode", tax_uid), ("Job", job_uid)):
        if value:
            body[key] = {"UID": value}
    if line.description:
        body["Description"] = line.description[:255]
    return body


def item_body(item: Item, income_account_uid: str, tax_uid: str | None) -> JSON:
    selling: JSON = {"IsTaxInclusive": False}
    if item.unit_price is not None:
        selling["BaseSellingPrice"] = float(item.unit_price)
    if tax_uid:
        selling["TaxCode"] = {"UID": tax_uid}
    body: JSON = {
        "Number": item.code,
        "Name": item.name[:ITEM_NAME_MAX],
        "IsActive": True,
        "IsSold": True,
        "IncomeAccount": {"UID": income_account_uid},
        "SellingDetails": selling,
    }
    if len(item.name) > ITEM_NAME_MAX:
        body["Description"] = item.name[:255]
    return body


def contact_body(contact: Contact) -> JSON:
    body: JSON = {"IsIndividual": False, "CompanyName": contact.name[:CONTACT_NAME_MAX], "IsActive": True}
    address: JSON = {"Location": 1}
    if contact.email:
        address["Email"] = contact.email
    if contact.address is not None:
        a = contact.address
        for key, value in (
            ("Street", a.line1),
            ("City", a.city),
            ("State", a.region),
            ("PostCode", a.postcode),
            ("Country", a.country),
        ):
            if value:
                address[key] = value
    if len(address) > 1:
        body["Addresses"] = [address]
    return body
