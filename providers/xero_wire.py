"""Xero's wire format <-> records: pure functions, no I/O (the client is :mod:`providers.xero`).

Xero JSON dates look like ``/Date(1539993600000+0000)/`` (milliseconds, UTC) or ISO 8601;
money comes as JSON numbers; a contact's printed address is its ``POBOX`` one.

Plan cap decision: Xero's API does not expose an invoice cap. The legacy Starter ("Early" in
the US) plan could approve 20 sales invoices a month (PROVIDERS.md, 2ry), so :func:`org_info`
reports ``monthly_invoice_limit=20`` for ``Class == "STARTER"`` and ``None`` (unknown, not
"unlimited") for every other Class, including IGNITE whose cap is UNCONFIRMED.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
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

# Field limits (PROVIDERS.md: Contact.Name <= 255, Item.Code <= 30, Item.Name <= 50).
CONTACT_NAME_MAX = 255
ITEM_CODE_MAX = 30
ITEM_NAME_MAX = 50

STATUSES: dict[str, InvoiceStatus] = {
    "DRAFT": InvoiceStatus.DRAFT,
    "SUBMITTED": InvoiceStatus.OPEN,  # awaiting approval: already owed in the customer's eyes
    "AUTHORISED": InvoiceStatus.OPEN,
    "PAID": InvoiceStatus.PAID,
    "VOIDED": InvoiceStatus.VOID,
    "DELETED": InvoiceStatus.VOID,
}
# What a pushed invoice becomes. Xero creates only DRAFT / SUBMITTED / AUTHORISED; a paid
# source invoice lands AUTHORISED and its payment is a separate record.
PUSH_STATUSES: dict[InvoiceStatus, str] = {
    InvoiceStatus.DRAFT: "DRAFT",
    InvoiceStatus.OPEN: "AUTHORISED",
    InvoiceStatus.PAID: "AUTHORISED",
}
TRIAL_CLASSES = frozenset({"DEMO", "TRIAL"})
INVOICE_CAPS: dict[str, int] = {"STARTER": 20}  # see the module docstring
ACTION_FEATURES: dict[str, Feature] = {
    "UseMulticurrency": Feature.MULTICURRENCY,
    "CreateApprovedInvoice": Feature.APPROVE_INVOICES,
}

_MSDATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


# -- values ---------------------------------------------------------------------------------


def when(value: Any) -> datetime | None:
    """``/Date(1539993600000+0000)/`` (milliseconds, UTC) or ISO 8601; None when absent or unreadable."""
    if not value:
        return None
    text = str(value).strip()
    match = _MSDATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        logger.warning("unreadable Xero date %r", text)
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def day(value: Any) -> date | None:
    moment = when(value)
    return moment.date() if moment else None


def where_safe(value: str) -> bool:
    """Whether ``value`` can sit inside a ``where`` filter's double quotes: Xero's parser has no
    escape character, so a ``"`` would end the string and a backslash is not an escape."""
    return '"' not in value and "\\" not in value


def validation_messages(row: Mapping[str, Any]) -> list[str]:
    """The ``ValidationErrors`` messages of one element of a write's answer."""
    return [
        str(err.get("Message"))
        for err in row.get("ValidationErrors") or []
        if isinstance(err, dict) and err.get("Message")
    ]


def _object(value: Any) -> dict[str, Any]:
    """A nested JSON object, or an empty one where Xero sent none (or something else)."""
    return value if isinstance(value, dict) else {}


def _text(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    return str(value) if value not in (None, "") else None


def _status(row: Mapping[str, Any]) -> str:
    return str(row.get("Status") or "ACTIVE").lower()


# -- JSON -> records ------------------------------------------------------------------------


def org_info(orgs: Sequence[JSON], actions: Sequence[JSON], currencies: Sequence[JSON], tenant_id: str) -> OrgInfo:
    """Organisation + Organisation/Actions (plan-gated features) + Currencies."""
    org = orgs[0]
    allowed = {str(a.get("Name")) for a in actions if a.get("Status") == "ALLOWED"}
    # Tracking categories exist on every Xero plan; the others are runtime-checked actions.
    features = {Feature.TRACKING} | {feature for name, feature in ACTION_FEATURES.items() if name in allowed}
    plan = _text(org, "Class")
    locks = [d for d in (day(org.get("PeriodLockDate")), day(org.get("EndOfYearLockDate"))) if d]
    base = _text(org, "BaseCurrency")
    codes = {str(c["Code"]) for c in currencies if c.get("Code")} | ({base} if base else set())
    return OrgInfo(
        tenant_id=str(org.get("OrganisationID") or tenant_id),
        name=str(org.get("Name") or ""),
        base_currency=base,
        currencies=frozenset(codes),
        plan=plan,
        features=frozenset(features),
        features_known=True,
        is_trial=plan in TRIAL_CLASSES,
        is_demo=bool(org.get("IsDemoCompany")),
        lock_date=max(locks) if locks else None,
        monthly_invoice_limit=INVOICE_CAPS.get(plan or ""),
        country=_text(org, "CountryCode"),
        status=_text(org, "OrganisationStatus"),
    )


def contact(row: Mapping[str, Any]) -> Contact:
    addresses = [a for a in row.get("Addresses") or [] if isinstance(a, dict)]
    # Prefer the postal (POBOX) address, the one printed on invoices, then the street address.
    chosen = next((a for a in addresses if a.get("AddressType") == "POBOX" and _has_address(a)), None) or next(
        (a for a in addresses if _has_address(a)), None
    )
    address = (
        Address(
            line1=_text(chosen, "AddressLine1"),
            city=_text(chosen, "City"),
            region=_text(chosen, "Region"),
            postcode=_text(chosen, "PostalCode"),
            country=_text(chosen, "Country"),
        )
        if chosen
        else None
    )
    return Contact(
        id=str(row.get("ContactID")),
        name=str(row.get("Name") or ""),
        email=_text(row, "EmailAddress"),
        first_name=_text(row, "FirstName"),
        last_name=_text(row, "LastName"),
        archived=row.get("ContactStatus") in ("ARCHIVED", "GDPRREQUEST"),
        address=address,
        currency=_text(row, "DefaultCurrency"),
        number=_text(row, "ContactNumber"),
    )


def _has_address(a: Mapping[str, Any]) -> bool:
    return any(a.get(k) for k in ("AddressLine1", "City", "PostalCode", "Country"))


def item(row: Mapping[str, Any]) -> Item:
    sales = _object(row.get("SalesDetails"))
    return Item(
        id=str(row.get("ItemID")),
        code=_text(row, "Code"),
        name=str(row.get("Name") or ""),
        unit_price=to_decimal(sales.get("UnitPrice")),
        account_code=_text(sales, "AccountCode"),
        tax_code=_text(sales, "TaxType"),
        inventory=bool(row.get("IsTrackedAsInventory")),
    )


def is_sale(row: Mapping[str, Any]) -> bool:
    """A sales invoice (ACCREC); rows without a Type come from a filter that asked for sales."""
    return str(row.get("Type", "ACCREC")) == "ACCREC"


def invoice(row: Mapping[str, Any]) -> Invoice:
    contact_row = _object(row.get("Contact"))
    raw_status = str(row.get("Status") or "")
    return Invoice(
        id=str(row.get("InvoiceID")),
        number=_text(row, "InvoiceNumber"),
        status=STATUSES.get(raw_status, InvoiceStatus.OPEN),
        raw_status=raw_status or None,
        currency=str(row.get("CurrencyCode") or ""),
        total=to_money(row.get("Total")),
        contact_id=_text(contact_row, "ContactID"),
        contact_name=_text(contact_row, "Name"),
        contact_email=_text(contact_row, "EmailAddress"),
        issue_date=day(row.get("Date")),
        due_date=day(row.get("DueDate")),
        lines=tuple(_line(line) for line in row.get("LineItems") or [] if isinstance(line, dict)),
        subtotal=to_decimal(row.get("SubTotal")),
        tax=to_decimal(row.get("TotalTax")),
        amount_due=to_decimal(row.get("AmountDue")),
        amount_paid=to_decimal(row.get("AmountPaid")),
        updated_at=when(row.get("UpdatedDateUTC")),
        reference=_text(row, "Reference"),
    )


def _line(line: Mapping[str, Any]) -> InvoiceLine:
    return InvoiceLine(
        description=_text(line, "Description"),
        sku=_text(line, "ItemCode"),
        item_id=_text(_object(line.get("Item")), "ItemID"),
        quantity=to_decimal(line.get("Quantity")) or Decimal(1),
        unit_amount=to_money(line.get("UnitAmount")),
        amount=to_money(line.get("LineAmount")),
        account_code=_text(line, "AccountCode"),
        tax_code=_text(line, "TaxType"),
        tracking=tuple(
            TrackingRef(category=str(t.get("Name") or ""), option=str(t.get("Option") or ""))
            for t in line.get("Tracking") or []
            if isinstance(t, dict)
        ),
    )


def account(row: Mapping[str, Any]) -> Account:
    return Account(
        id=str(row.get("AccountID")),
        code=_text(row, "Code"),
        name=str(row.get("Name") or ""),
        type=_text(row, "Type"),
        status=_status(row),
    )


def tax_rate(row: Mapping[str, Any]) -> TaxRate:
    return TaxRate(
        code=str(row.get("TaxType")),
        name=str(row.get("Name") or row.get("TaxType")),
        rate=to_decimal(row.get("EffectiveRate")),
        status=_status(row),
    )


def tracking_category(row: Mapping[str, Any]) -> TrackingCategory:
    return TrackingCategory(
        id=str(row.get("TrackingCategoryID")),
        name=str(row.get("Name") or ""),
        status=_status(row),
        options=tuple(
            TrackingOption(name=str(o.get("Name") or ""), status=_status(o))
            for o in row.get("Options") or []
            if isinstance(o, dict)
        ),
    )


def payment(row: Mapping[str, Any]) -> Payment | None:
    """A payment on a sales invoice; None for a deleted one or one on a bill."""
    invoice_row = _object(row.get("Invoice"))
    kind = row.get("PaymentType") or ("ACCRECPAYMENT" if invoice_row.get("Type") == "ACCREC" else None)
    if row.get("Status") == "DELETED" or kind != "ACCRECPAYMENT":
        return None
    return Payment(
        id=str(row.get("PaymentID")),
        invoice_id=_text(invoice_row, "InvoiceID"),
        amount=to_money(row.get("Amount")),
        date=day(row.get("Date")),
        currency=_text(invoice_row, "CurrencyCode"),
        invoice_number=_text(invoice_row, "InvoiceNumber"),
    )


# -- records -> JSON ------------------------------------------------------------------------


def invoice_body(invoice: Invoice, status: str) -> JSON:
    """The PUT body of one invoice; contact and item references are the destination's."""
    contact_ref: JSON = (
        {"ContactID": invoice.contact_id} if invoice.contact_id else {"Name": invoice.contact_name or ""}
    )
    body: JSON = {
        "Type": "ACCREC",
        "Contact": contact_ref,
        "Status": status,
        "LineAmountTypes": "Exclusive",  # InvoiceLine.amount is before tax
        "CurrencyCode": invoice.currency,
        "LineItems": [_line_body(line) for line in invoice.lines],
    }
    if invoice.number:
        body["InvoiceNumber"] = invoice.number
    if invoice.reference:
        body["Reference"] = invoice.reference
    if invoice.issue_date:
        body["Date"] = invoice.issue_date.isoformat()
    if invoice.due_date:
        body["DueDate"] = invoice.due_date.isoformat()
    return body


def _line_body(line: InvoiceLine) -> JSON:
    body: JSON = {
        "Description": line.description or line.sku or "Item",  # Xero needs a description on every line
        "Quantity": float(line.quantity),
        "UnitAmount": float(line.unit_amount),
    }
    for key, value in (
        ("ItemCode", line.sku),
        ("AccountCode", line.account_code),
        ("TaxType", line.tax_code),
    ):
        if value:
            body[key] = value
    if line.tracking:
        body["Tracking"] = [{"Name": t.category, "Option": t.option} for t in line.tracking]
    return body


def item_body(item: Item) -> JSON:
    body: JSON = {"Code": item.code, "Name": item.name[:ITEM_NAME_MAX], "IsSold": True}
    if len(item.name) > ITEM_NAME_MAX:
        body["Description"] = item.name  # Name is capped; keep the whole name here
    sales = {
        k: v
        for k, v in (
            ("UnitPrice", float(item.unit_price) if item.unit_price is not None else None),
            ("AccountCode", item.account_code),
            ("TaxType", item.tax_code),
        )
        if v is not None
    }
    if sales:
        body["SalesDetails"] = sales
    return body


def contact_body(contact: Contact) -> JSON:
    body: JSON = {"Name": contact.name}
    for key, value in (
        ("FirstName", contact.first_name),
        ("LastName", contact.last_name),
        ("EmailAddress", contact.email),
        ("ContactNumber", contact.number),
        ("DefaultCurrency", contact.currency),
    ):
        if value:
            body[key] = value
    if contact.address is not None:
        a = contact.address
        address = {
            k: v
            for k, v in (
                ("AddressLine1", a.line1),
                ("City", a.city),
                ("Region", a.region),
                ("PostalCode", a.postcode),
                ("Country", a.country),
            )
            if v
        }
        # POBOX is the postal / billing address Xero prints on invoices.
        body["Addresses"] = [{"AddressType": "POBOX", **address}]
    return body
