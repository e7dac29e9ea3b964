"""QuickBooks Online's wire format -> records: pure functions (the client is
:mod:`providers.quickbooks`; records -> JSON is :mod:`providers.quickbooks_bodies`).

Invoices reference items, accounts and classes by Id; :class:`Lookups` carries what resolves
them, so one read of each list serves every invoice. Faults come as JSON or XML, with key case
varying on 401s; HTTP 200 can still carry one [QE].
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
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

SYSTEM = "quickbooks"
# Field limits (PROVIDERS.md: DisplayName <= 500 with ':' reserved for Parent:Child names;
# Item.Sku <= 100, Item.Name <= 100).
CONTACT_NAME_MAX = 500
CONTACT_NAME_FORBIDDEN = ":"
ITEM_CODE_MAX = 100
ITEM_NAME_MAX = 100
# Entitlement names that gate features Sync Doctor checks. Only "Class Tracking" is documented
# [QR entitlements]; the others are listed so they count if Intuit reports them (UNCONFIRMED).
ENTITLEMENT_FEATURES: dict[str, Feature] = {
    "class tracking": Feature.TRACKING,
    "location tracking": Feature.TRACKING,
    "multi-currency": Feature.MULTICURRENCY,
    "inventory": Feature.INVENTORY,
}

FaultErrors = tuple[list[tuple[str, str, str]], str | None]  # [(code, Message, Detail)], fault type


@dataclass(frozen=True, slots=True)
class Entitlements:
    plan: str | None
    trial_days: int | None
    features: Mapping[str, bool]  # entitlement name -> on


@dataclass(frozen=True, slots=True)
class Lookups:
    """What resolves an invoice's references. Class names and the home currency are asked
    for only when an invoice needs them (most name their class and currency themselves)."""

    items: Mapping[str, Item]  # by Id
    accounts: Mapping[str, Account]  # by Id
    class_name: Callable[[str], str | None]
    home_currency: Callable[[], str | None]


# -- faults ---------------------------------------------------------------------------------


def fault(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The Fault object, top level or inside a QueryResponse; key case varies on 401s (observed)."""
    for key, value in data.items():
        if key.lower() == "fault" and isinstance(value, dict):
            return value
        nested = value.get("Fault") if key == "QueryResponse" and isinstance(value, dict) else None
        if isinstance(nested, dict):
            return nested
    return None


def fault_errors(content: bytes) -> FaultErrors:
    """[(code, Message, Detail)] and the fault type, from a JSON or an XML Fault body."""
    try:
        data = json.loads(content)
    except ValueError:
        return _xml_fault_errors(content)
    found_fault = fault(data) if isinstance(data, dict) else None
    if found_fault is None:
        return [], None
    kind = {k.lower(): v for k, v in found_fault.items()}.get("type")
    return fault_errors_of(found_fault), str(kind) if kind is not None else None


def fault_errors_of(found_fault: Any) -> list[tuple[str, str, str]]:
    """[(code, Message, Detail)] of one JSON Fault object (a response's, or a batch item's)."""
    if not isinstance(found_fault, dict):
        return []
    lowered = {k.lower(): v for k, v in found_fault.items()}
    found = []
    for error in lowered.get("error") or []:
        if isinstance(error, dict):
            e = {k.lower(): v for k, v in error.items()}
            found.append((str(e.get("code") or ""), str(e.get("message") or ""), str(e.get("detail") or "")))
    return found


def _xml_fault_errors(content: bytes) -> FaultErrors:
    try:
        root = ET.fromstring(content)
    except ET.ParseError:
        return [], None
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "Fault":
            found = []
            for error in element:
                texts = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in error}
                found.append((error.get("code", ""), texts.get("Message", ""), texts.get("Detail", "")))
            return found, element.get("type")
    return [], None


# -- values ---------------------------------------------------------------------------------


def ref(value: Any) -> str | None:
    if isinstance(value, dict) and value.get("value") not in (None, ""):
        return str(value["value"])
    return None


def _ref_name(value: Any, resolve: Callable[[str], str | None]) -> str | None:
    if not isinstance(value, dict):
        return None
    if value.get("name"):
        return str(value["name"])
    found = ref(value)
    return resolve(found) if found else None


def class_name(row: Mapping[str, Any]) -> str:
    return str(row.get("FullyQualifiedName") or row.get("Name") or "")


def _account_code(account_row: Account | None, reference: Mapping[str, Any]) -> str | None:
    # Companies that switch account numbers off (AccountingInfoPrefs.UseAccountNumbers) identify
    # accounts by name, so the name stands in for a missing AcctNum.
    if account_row is not None:
        return account_row.code or account_row.name
    return str(reference["name"]) if reference.get("name") else None


def day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _active(row: Mapping[str, Any]) -> str:
    return "active" if row.get("Active", True) else "archived"


# -- JSON / XML -> records ------------------------------------------------------------------


def entitlements(content: bytes) -> Entitlements:
    """The entitlements service's XML (plan, trial days, on/off entitlements).

    expat >= 2.4 refuses entity-expansion bombs and ElementTree resolves no external entities,
    so parsing this with the standard library is safe. Raises ``ET.ParseError`` on non-XML.
    """
    root = ET.fromstring(content)
    days = root.findtext("DaysRemainingTrial")
    return Entitlements(
        plan=root.findtext("PlanName"),
        trial_days=int(days) if days and days.strip().lstrip("-").isdigit() else None,
        features={
            (e.findtext("name") or ""): (e.findtext("term") or "").strip() == "On" for e in root.findall("Entitlement")
        },
    )


def org_info(
    realm: str,
    info: Mapping[str, Any],
    prefs: Mapping[str, Any],
    granted: Entitlements | None,
    currency_rows: Sequence[JSON],
    environment: str | None,
) -> OrgInfo:
    """CompanyInfo + Preferences + entitlements (+ CompanyCurrency rows when multicurrency)."""
    name_values = {
        str(nv.get("Name")): str(nv.get("Value")) for nv in info.get("NameValue") or [] if isinstance(nv, dict)
    }
    accounting = prefs.get("AccountingInfoPrefs") or {}
    home = home_currency(prefs)
    currencies = {home} if home else set()
    # There is no Currency entity in Finance.xsd; the enabled list is CompanyCurrency.
    currencies |= {str(r["Code"]) for r in currency_rows if r.get("Code") and r.get("Active", True)}
    enabled = enabled_features(prefs)
    features: set[Feature] = set(enabled)  # switched on, so the plan must include them
    for entitlement, on in (granted.features if granted else {}).items():
        feature = ENTITLEMENT_FEATURES.get(entitlement.lower())
        if feature is not None and on:
            features.add(feature)
    trial_days = granted.trial_days if granted else None
    status = name_values.get("SubscriptionStatus")
    return OrgInfo(
        tenant_id=realm,
        name=str(info.get("CompanyName") or ""),
        base_currency=home,
        currencies=frozenset(currencies),
        plan=name_values.get("OfferingSku") or (granted.plan if granted else None),
        features=frozenset(features),
        features_known=granted is not None,
        features_enabled=enabled,
        is_trial=bool(trial_days and trial_days > 0) or (status or "").upper() == "TRIAL",
        is_demo=bool(info.get("SampleFile")),
        trial_days_remaining=trial_days,
        environment=environment,
        lock_date=day(accounting.get("BookCloseDate")),
        country=info.get("Country"),
        status=status,
    )


def contact(row: Mapping[str, Any]) -> Contact:
    bill = row.get("BillAddr") or {}
    address = (
        Address(
            bill.get("Line1"),
            bill.get("City"),
            bill.get("CountrySubDivisionCode"),
            bill.get("PostalCode"),
            bill.get("Country"),
        )
        if bill
        else None
    )
    return Contact(
        id=str(row.get("Id")),
        name=str(row.get("DisplayName") or ""),
        email=(row.get("PrimaryEmailAddr") or {}).get("Address"),
        first_name=row.get("GivenName"),
        last_name=row.get("FamilyName"),
        company=row.get("CompanyName"),
        archived=not row.get("Active", True),  # an inactive customer is QuickBooks' "deleted"
        address=address,
        currency=ref(row.get("CurrencyRef")),
        number=row.get("AcctNum"),
    )


def account(row: Mapping[str, Any]) -> Account:
    return Account(
        id=str(row.get("Id")),
        code=row.get("AcctNum") or None,
        name=str(row.get("Name") or ""),
        type=row.get("AccountType"),
        status=_active(row),
    )


def item(row: Mapping[str, Any], accounts: Mapping[str, Account]) -> Item:
    income = row.get("IncomeAccountRef") or {}
    return Item(
        id=str(row.get("Id")),
        code=row.get("Sku") or None,
        name=str(row.get("Name") or ""),
        active=bool(row.get("Active", True)),
        unit_price=to_decimal(row.get("UnitPrice")),
        account_code=_account_code(accounts.get(str(income.get("value"))), income),
        tax_code=ref(row.get("SalesTaxCodeRef")),
        inventory=row.get("Type") == "Inventory",
    )


def tax_rate(code: Mapping[str, Any], rates: Mapping[str, Decimal | None]) -> TaxRate:
    """A TaxCode (what lines carry) with the sum of its sales TaxRates' percentages."""
    details = ((code.get("SalesTaxRateList") or {}).get("TaxRateDetail")) or []
    percents = [rates.get(ref(d.get("TaxRateRef")) or "") for d in details if isinstance(d, dict)]
    known = [p for p in percents if p is not None]
    return TaxRate(
        code=str(code.get("Id")),  # lines carry TaxCodeRef.value, the code's Id
        name=str(code.get("Name") or ""),
        rate=sum(known, Decimal(0)) if known else None,
        status=_active(code),
    )


def tracking(classes: Iterable[Mapping[str, Any]]) -> TrackingCategory:
    options = tuple(TrackingOption(name=class_name(row), status=_active(row)) for row in classes)
    return TrackingCategory(id="Class", name="Class", options=options)


def payments(row: Mapping[str, Any]) -> list[Payment]:
    """One Payment per invoice it applies to; an unapplied one (no invoice yet) once."""
    when, currency = day(row.get("TxnDate")), ref(row.get("CurrencyRef"))
    linked = [
        (line, txn)
        for line in row.get("Line") or []
        for txn in line.get("LinkedTxn") or []
        if txn.get("TxnType") == "Invoice"
    ]
    if not linked:  # unapplied: money received against no invoice yet
        return [Payment(str(row.get("Id")), None, to_money(row.get("TotalAmt")), when, currency)]
    return [
        Payment(str(row.get("Id")), str(txn.get("TxnId")), to_money(line.get("Amount")), when, currency)
        for line, txn in linked
    ]


def invoice(row: Mapping[str, Any], lookups: Lookups) -> Invoice:
    invoice_class = _ref_name(row.get("ClassRef"), lookups.class_name)
    lines = tuple(_line(line, lookups, invoice_class) for line in _item_lines(row.get("Line") or []))
    total = to_money(row.get("TotalAmt"))
    balance = to_money(row.get("Balance", row.get("TotalAmt")))
    status, raw = _status(row, total, balance)
    currency = ref(row.get("CurrencyRef")) or lookups.home_currency()
    customer = row.get("CustomerRef") or {}
    return Invoice(
        id=str(row.get("Id")),
        number=row.get("DocNumber"),
        status=status,
        currency=currency or "",
        total=total,
        raw_status=raw,
        contact_id=str(customer.get("value")) if customer.get("value") is not None else None,
        contact_name=customer.get("name"),
        contact_email=(row.get("BillEmail") or {}).get("Address"),
        issue_date=day(row.get("TxnDate")),
        due_date=day(row.get("DueDate")),
        lines=lines,
        subtotal=sum((line.amount for line in lines), Decimal(0)),
        tax=to_decimal((row.get("TxnTaxDetail") or {}).get("TotalTax")),
        amount_due=balance,
        amount_paid=total - balance,
        updated_at=_moment((row.get("MetaData") or {}).get("LastUpdatedTime")),
    )


def _item_lines(lines: Iterable[Any]) -> Iterable[JSON]:
    """Sales item lines, including those inside a bundle (GroupLineDetail); subtotal,
    discount and description-only lines carry no item."""
    for line in lines:
        if not isinstance(line, dict):
            continue
        if line.get("DetailType") == "SalesItemLineDetail":
            yield line
        elif line.get("DetailType") == "GroupLineDetail":
            yield from _item_lines((line.get("GroupLineDetail") or {}).get("Line") or [])


def _line(line: Mapping[str, Any], lookups: Lookups, invoice_class: str | None) -> InvoiceLine:
    detail = line.get("SalesItemLineDetail") or {}
    item_id = ref(detail.get("ItemRef"))
    found = lookups.items.get(item_id or "")
    account_ref = detail.get("ItemAccountRef")
    account_code = found.account_code if found else None
    if account_ref:
        account_code = _account_code(lookups.accounts.get(ref(account_ref) or ""), account_ref)
    line_class = _ref_name(detail.get("ClassRef"), lookups.class_name) or invoice_class
    amount = to_money(line.get("Amount"))
    quantity = to_decimal(detail.get("Qty")) or Decimal(1)
    return InvoiceLine(
        description=line.get("Description"),
        sku=found.code if found else None,
        item_id=item_id,
        quantity=quantity,
        unit_amount=to_decimal(detail.get("UnitPrice")) or (amount / quantity if quantity else amount),
        amount=amount,
        account_code=account_code,
        tax_code=ref(detail.get("TaxCodeRef")),
        tracking=(TrackingRef("Class", line_class),) if line_class else (),
    )


def _status(row: Mapping[str, Any], total: Decimal, balance: Decimal) -> tuple[InvoiceStatus, str]:
    # QuickBooks has no invoice status enum: open vs paid comes from Balance [QR invoice]. A
    # voided invoice keeps its lines but its amounts drop to zero and its memo reads "Voided".
    note = str(row.get("PrivateNote") or "")
    if str(row.get("TxnStatus") or "").lower() == "voided" or (total == 0 and note.lower().startswith("voided")):
        return InvoiceStatus.VOID, "Voided"
    if balance == 0 and total > 0:
        return InvoiceStatus.PAID, "Paid"
    if 0 < balance < total:
        return InvoiceStatus.OPEN, "Partially paid"
    return InvoiceStatus.OPEN, "Open"


def enabled_features(prefs: Mapping[str, Any]) -> frozenset[Feature]:
    """What the company has switched on in Preferences [QR preferences, QX Finance.xsd]: class
    tracking (per transaction or per line) or location tracking, multicurrency, and inventory
    quantities (``ProductAndServicesPrefs.QuantityOnHand``)."""
    accounting = prefs.get("AccountingInfoPrefs") or {}
    products = prefs.get("ProductAndServicesPrefs") or {}
    found: set[Feature] = set()
    if (
        accounting.get("ClassTrackingPerTxn")
        or accounting.get("ClassTrackingPerTxnLine")
        or accounting.get("TrackDepartments")
    ):
        found.add(Feature.TRACKING)
    if multicurrency(prefs):
        found.add(Feature.MULTICURRENCY)
    if products.get("QuantityOnHand"):
        found.add(Feature.INVENTORY)
    return frozenset(found)


def multicurrency(prefs: Mapping[str, Any]) -> bool:
    return bool((prefs.get("CurrencyPrefs") or {}).get("MultiCurrencyEnabled"))


def home_currency(prefs: Mapping[str, Any]) -> str | None:
    return ref((prefs.get("CurrencyPrefs") or {}).get("HomeCurrency"))
