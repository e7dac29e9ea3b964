"""Zoho Books' wire format <-> records: pure functions, no I/O (the client is
:mod:`providers.zoho_books`). Facts and their sources are in the client's docstring.

Zoho answers snake_case JSON; every body carries ``code`` (0 = success) and ``message``
beside the resource key (``invoices``, ``invoice``, ...). Dates are ``yyyy-mm-dd``; times look
like ``2018-11-18T02:02:51-0800``. Money comes as JSON numbers.

Data centres: a Zoho account lives in one, with its own accounts server (OAuth) and API
domain [Z-MDC, Z-DCAPI]. :data:`DATA_CENTRES` is that table; a URL taken from a redirect or a
token response is trusted only when it is in the table or on the configured host (the sandbox).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from common.types import JSON
from providers.parsing import to_decimal, to_money
from providers.records import (
    Account,
    Address,
    Contact,
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

API_ROOT = "/books/v3"
CONTACT_NAME_MAX = 200  # contact_name <= 200 (official OAS via a derived copy, 2ry)
ITEM_NAME_MAX = 100  # item name <= 100 (same source)

# location (the consent redirect's ``location``) -> (accounts server, API domain)
# [Z-MDC] US..SA, [Z-DCAPI] CN. Whether Books itself runs in CN: UNCONFIRMED.
DATA_CENTRES: dict[str, tuple[str, str]] = {
    "us": ("https://accounts.zoho.com", "https://www.zohoapis.com"),
    "eu": ("https://accounts.zoho.eu", "https://www.zohoapis.eu"),
    "in": ("https://accounts.zoho.in", "https://www.zohoapis.in"),
    "au": ("https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
    "jp": ("https://accounts.zoho.jp", "https://www.zohoapis.jp"),
    "ca": ("https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
    "sa": ("https://accounts.zoho.sa", "https://www.zohoapis.sa"),
    "cn": ("https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
}

STATUSES: dict[str, InvoiceStatus] = {
    "draft": InvoiceStatus.DRAFT,
    "sent": InvoiceStatus.OPEN,
    "viewed": InvoiceStatus.OPEN,
    "overdue": InvoiceStatus.OPEN,
    "unpaid": InvoiceStatus.OPEN,
    "partially_paid": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
    "void": InvoiceStatus.VOID,
}
# Lock settings that lock nothing (transaction_lock_status, [Z-TL]).
UNLOCKED = frozenset({"disabled", ""})


# -- data centres ---------------------------------------------------------------------------


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def trusted_url(url: str, known: Sequence[str], configured: str | None) -> str | None:
    """``url`` without a trailing slash when it is one of ``known`` or on the ``configured`` URL's
    origin (scheme and host); None otherwise. A redirect parameter decides where the client
    secret and the tokens are sent, so anything else is refused."""
    clean = url.strip().rstrip("/")
    if not clean.startswith(("https://", "http://")):
        return None
    if clean in known or (configured and _origin(clean) == _origin(configured)):
        return clean
    return None


def accounts_servers() -> list[str]:
    return [server for server, _ in DATA_CENTRES.values()]


def api_domains() -> list[str]:
    return [domain for _, domain in DATA_CENTRES.values()]


# -- values ---------------------------------------------------------------------------------


def day(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        logger.warning("unreadable Zoho date %r", value)
        return None


def when(value: Any) -> datetime | None:
    """``2018-11-18T02:02:51-0800`` (Zoho's form) or ISO 8601 with a colon in the offset."""
    if not value:
        return None
    text = str(value)
    for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    logger.warning("unreadable Zoho time %r", value)
    return None


def zoho_time(moment: datetime) -> str:
    """A time as Zoho's filters take it: ``2018-11-18T02:02:51-0800``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def _text(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    return str(value) if value not in (None, "") else None


def rows(data: Mapping[str, Any], key: str) -> list[JSON] | None:
    found = data.get(key)
    if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
        return None
    return found


def has_more(data: Mapping[str, Any]) -> bool:
    """``page_context.has_more_page`` [Z-PAGE]; a list without page_context is one page."""
    context = data.get("page_context")
    return isinstance(context, dict) and bool(context.get("has_more_page"))


# -- JSON -> records ------------------------------------------------------------------------


def org_info(org: Mapping[str, Any], currencies: Sequence[JSON], lock: date | None, tenant_id: str) -> OrgInfo:
    """``GET /organizations/{id}`` + ``/settings/currencies`` + the transaction lock. Zoho's
    organisation has no documented plan field: ``plan_name`` / ``plan_type`` are read when
    present (UNCONFIRMED names), and plan features are never claimed."""
    base = _text(org, "currency_code")
    codes = {str(c["currency_code"]) for c in currencies if c.get("currency_code")} | ({base} if base else set())
    address = org.get("address") if isinstance(org.get("address"), dict) else {}
    return OrgInfo(
        tenant_id=str(org.get("organization_id") or tenant_id),
        name=str(org.get("name") or ""),
        base_currency=base,
        currencies=frozenset(codes),
        plan=_text(org, "plan_name") or _text(org, "plan_type"),
        features_known=False,
        lock_date=lock,
        country=_text(org, "country_code") or _text(address or {}, "country"),
        status="active" if org.get("is_org_active", True) else "inactive",
    )


def lock_date(locks: Sequence[JSON]) -> date | None:
    """The latest date of every enabled transaction lock [Z-TL]. ``lock_scope`` says which
    modules a lock covers (0 = all; 1-5 UNCONFIRMED), so every enabled lock counts."""
    dates = [
        found
        for lock in locks
        if str(lock.get("transaction_lock_status") or "enabled") not in UNLOCKED
        and (found := day(lock.get("transaction_lock_date"))) is not None
    ]
    return max(dates) if dates else None


def _address(raw: Any) -> Address | None:
    if not isinstance(raw, dict) or not any(raw.get(k) for k in ("address", "city", "zip", "country")):
        return None
    return Address(
        line1=_text(raw, "address"),
        city=_text(raw, "city"),
        region=_text(raw, "state"),
        postcode=_text(raw, "zip"),
        country=_text(raw, "country"),
    )


def is_customer(row: Mapping[str, Any]) -> bool:
    return str(row.get("contact_type") or "customer") != "vendor"


def contact(row: Mapping[str, Any]) -> Contact:
    return Contact(
        id=str(row.get("contact_id")),
        name=str(row.get("contact_name") or ""),
        email=_text(row, "email"),
        first_name=_text(row, "first_name"),
        last_name=_text(row, "last_name"),
        company=_text(row, "company_name"),
        archived=str(row.get("status") or "active") != "active",
        address=_address(row.get("billing_address")),
        currency=_text(row, "currency_code"),
    )


def item(row: Mapping[str, Any]) -> Item:
    return Item(
        id=str(row.get("item_id")),
        code=_text(row, "sku"),
        name=str(row.get("name") or ""),
        active=str(row.get("status") or "active") == "active",
        unit_price=to_decimal(row.get("rate")),
        account_code=_text(row, "account_code") or _text(row, "account_name"),
        tax_code=_text(row, "tax_name"),
    )


def account(row: Mapping[str, Any]) -> Account:
    return Account(
        id=str(row.get("account_id")),
        code=_text(row, "account_code"),
        name=str(row.get("account_name") or ""),
        type=_text(row, "account_type"),
        status="active" if row.get("is_active", True) else "archived",
    )


def tax_rate(row: Mapping[str, Any]) -> TaxRate:
    """A tax by its name (what people see and map); the id stays Zoho's business."""
    return TaxRate(
        code=str(row.get("tax_name") or row.get("tax_id")),
        name=str(row.get("tax_name") or ""),
        rate=to_decimal(row.get("tax_percentage")),
        status="active" if row.get("is_active", True) and row.get("status", "active") == "active" else "archived",
    )


def tracking_category(row: Mapping[str, Any]) -> TrackingCategory:
    """A reporting tag and its options (shape UNCONFIRMED for Books: ``tag_options`` as in
    Zoho Billing's reporting tags)."""
    options = [o for o in row.get("tag_options") or [] if isinstance(o, dict)]
    return TrackingCategory(
        id=str(row.get("tag_id")),
        name=str(row.get("tag_name") or row.get("name") or ""),
        status="active" if row.get("is_active", True) else "archived",
        options=tuple(
            TrackingOption(
                name=str(o.get("tag_option_name") or o.get("name") or ""),
                status="active" if o.get("is_active", True) else "archived",
            )
            for o in options
        ),
    )


def invoice(row: Mapping[str, Any], skus: Mapping[str, str | None], accounts: Mapping[str, Account]) -> Invoice:
    """An invoice; ``row`` is the single-invoice read (with ``line_items``) or a list row
    (without them). Lines carry no SKU [Z-INV], so ``skus`` (item_id -> sku) supplies it."""
    raw_status = str(row.get("status") or "")
    total = to_money(row.get("total"))
    balance = to_decimal(row.get("balance"))
    return Invoice(
        id=str(row.get("invoice_id")),
        number=_text(row, "invoice_number"),
        status=STATUSES.get(raw_status, InvoiceStatus.OPEN),
        raw_status=raw_status or None,
        currency=str(row.get("currency_code") or ""),
        total=total,
        contact_id=_text(row, "customer_id"),
        contact_name=_text(row, "customer_name"),
        contact_email=_text(row, "email"),
        issue_date=day(row.get("date")),
        due_date=day(row.get("due_date")),
        lines=tuple(_line(li, skus, accounts) for li in row.get("line_items") or [] if isinstance(li, dict)),
        subtotal=to_decimal(row.get("sub_total")),
        tax=to_decimal(row.get("tax_total")),
        amount_due=balance,
        amount_paid=total - balance if balance is not None else None,
        updated_at=when(row.get("last_modified_time")),
        reference=_text(row, "reference_number"),
    )


def _line(line: Mapping[str, Any], skus: Mapping[str, str | None], accounts: Mapping[str, Account]) -> InvoiceLine:
    item_id = _text(line, "item_id")
    account_row = accounts.get(str(line.get("account_id"))) if line.get("account_id") else None
    quantity = to_decimal(line.get("quantity")) or Decimal(1)
    rate = to_money(line.get("rate"))
    amount = to_decimal(line.get("item_total"))
    return InvoiceLine(
        description=_text(line, "description") or _text(line, "name"),
        sku=_text(line, "sku") or (skus.get(item_id) if item_id else None),
        item_id=item_id,
        quantity=quantity,
        unit_amount=rate,
        amount=amount if amount is not None else quantity * rate,
        account_code=_text(line, "account_name") or ((account_row.code or account_row.name) if account_row else None),
        tax_code=_text(line, "tax_name"),
        tracking=tuple(
            TrackingRef(category=str(t.get("tag_name") or ""), option=str(t.get("tag_option_name") or ""))
            for t in line.get("tags") or []
            if isinstance(t, dict) and t.get("tag_option_name")
        ),
    )


def payments(row: Mapping[str, Any]) -> list[Payment]:
    """One payment per invoice it settles (``invoices[].amount_applied`` [Z-CP])."""
    applied = [i for i in row.get("invoices") or [] if isinstance(i, dict)]
    return [
        Payment(
            id=f"{row.get('payment_id')}:{i.get('invoice_id')}",
            invoice_id=_text(i, "invoice_id"),
            amount=to_money(i.get("amount_applied")),
            date=day(row.get("date")),
            currency=_text(row, "currency_code"),
            invoice_number=_text(i, "invoice_number"),
        )
        for i in applied
    ]


# -- records -> JSON ------------------------------------------------------------------------


def invoice_body(invoice: Invoice, lines: Sequence[JSON], currency_id: str | None) -> JSON:
    """The create body [Z-INV]; ``lines`` are already resolved to Zoho ids. Without a
    ``currency_id`` the invoice takes the customer's currency."""
    body: JSON = {"customer_id": invoice.contact_id, "line_items": list(lines)}
    for key, value in (
        ("invoice_number", invoice.number),
        ("reference_number", invoice.reference),
        ("date", invoice.issue_date.isoformat() if invoice.issue_date else None),
        ("due_date", invoice.due_date.isoformat() if invoice.due_date else None),
        ("currency_id", currency_id),
    ):
        if value:
            body[key] = value
    body["is_inclusive_tax"] = False  # InvoiceLine.amount is before tax
    return body


def line_body(
    line: InvoiceLine, item_id: str | None, tax_id: str | None, account_id: str | None, tags: Sequence[JSON]
) -> JSON:
    body: JSON = {"rate": float(line.unit_amount), "quantity": float(line.quantity)}
    for key, value in (
        ("item_id", item_id),
        ("description", line.description),
        ("name", None if item_id else (line.description or line.sku)),
        ("tax_id", tax_id),
        ("account_id", account_id),
    ):
        if value:
            body[key] = value
    if tags:
        body["tags"] = list(tags)
    return body


def item_body(item: Item, tax_id: str | None, account_id: str | None) -> JSON:
    body: JSON = {
        "name": item.name[:ITEM_NAME_MAX],
        "rate": float(item.unit_price or 0),  # required [PD]
        "product_type": "service",
    }
    if item.code:
        body["sku"] = item.code
    if len(item.name) > ITEM_NAME_MAX:
        body["description"] = item.name
    if tax_id:
        body["tax_id"] = tax_id
    if account_id:
        body["account_id"] = account_id
    return body


def contact_body(contact: Contact) -> JSON:
    body: JSON = {"contact_name": contact.name[:CONTACT_NAME_MAX], "contact_type": "customer"}
    if contact.company:
        body["company_name"] = contact.company[:CONTACT_NAME_MAX]
    if contact.currency:
        body["currency_code"] = contact.currency
    if contact.email or contact.first_name or contact.last_name:
        person: JSON = {"is_primary_contact": True}
        for key, value in (
            ("first_name", contact.first_name),
            ("last_name", contact.last_name),
            ("email", contact.email),
        ):
            if value:
                person[key] = value
        body["contact_persons"] = [person]
    if contact.address is not None:
        a = contact.address
        body["billing_address"] = {
            k: v
            for k, v in (
                ("address", a.line1),
                ("city", a.city),
                ("state", a.region),
                ("zip", a.postcode),
                ("country", a.country),
            )
            if v
        }
    return body
