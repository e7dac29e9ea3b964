"""Loading a Xero world section: each ``tenants`` entry becomes an ``Org`` with Xero's defaults
(a small chart of accounts, OUTPUT 15% and NONE tax rates, every organisation action allowed)
under what the world gives. See the package docstring for the keys."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sandbox.xero.org import Org
from sandbox.xero.records import contact_record, invoice_record, item_record, payment_record
from sandbox.xero.wire import msdate, required_when, stable_id

logger = logging.getLogger(__name__)

DEFAULT_ACTIONS = (
    "CreateApprovedInvoice",
    "CreateDraftPurchaseOrder",
    "CreateApprovedBill",
    "AttachFilesIntoInvoice",
    "UseMulticurrency",
    "CreateDraftInvoice",
    "CreateRepeatingInvoice",
    "CreateRepeatingBill",
    "CreateSentQuote",
    "CreateInvoicePayment",
    "CreateApprovedPurchaseOrder",
    "CreateDraftQuote",
    "CreateDraftBill",
)
DEFAULT_ACCOUNTS = (
    {
        "Code": "090",
        "Name": "Business Bank Account",
        "Type": "BANK",
        "Class": "ASSET",
        "EnablePaymentsToAccount": True,
    },
    {"Code": "200", "Name": "Sales", "Type": "REVENUE", "Class": "REVENUE", "TaxType": "OUTPUT"},
    {
        "Code": "260",
        "Name": "Other Revenue",
        "Type": "REVENUE",
        "Class": "REVENUE",
        "TaxType": "OUTPUT",
    },
    {
        "Code": "610",
        "Name": "Accounts Receivable",
        "Type": "CURRENT",
        "Class": "ASSET",
        "SystemAccount": "DEBTORS",
    },
)
DEFAULT_TAX_RATES = (
    {"Name": "Tax on Sales", "TaxType": "OUTPUT", "EffectiveRate": 15.0},
    {"Name": "No Tax", "TaxType": "NONE", "EffectiveRate": 0.0},
)
CURRENCY_NAMES = {
    "AUD": "Australian Dollar", "NZD": "New Zealand Dollar", "USD": "United States Dollar",
    "GBP": "British Pound", "EUR": "Euro", "CAD": "Canadian Dollar", "ZAR": "South African Rand",
    "SGD": "Singapore Dollar",
}  # fmt: skip


def load_org(
    raw: Mapping[str, Any], index: int, now: datetime, *, contact_case_sensitive: bool, item_case_sensitive: bool
) -> Org:
    """One ``tenants`` entry of the world as an organisation; its records are not validated."""
    name = str(raw.get("name") or (raw.get("organisation") or {}).get("Name") or f"Organisation {index + 1}")
    tenant_id = str(raw.get("id") or stable_id("tenant", name))
    organisation = _organisation(raw, tenant_id, name, now)
    actions_over = dict(raw.get("actions") or {})
    names = list(DEFAULT_ACTIONS) + [n for n in actions_over if n not in DEFAULT_ACTIONS]
    actions = [{"Name": n, "Status": str(actions_over.get(n, "ALLOWED"))} for n in names]
    base = str(organisation["BaseCurrency"])
    codes = [base] + [str(c) for c in raw.get("currencies") or [] if str(c) != base]
    currencies = [{"Code": c, "Description": CURRENCY_NAMES.get(c, c)} for c in codes]
    cap = raw.get("invoice_cap")
    org = Org(
        tenant_id=tenant_id,
        name=name,
        organisation=organisation,
        actions=actions,
        currencies=currencies,
        day_limit=int(raw.get("day_limit", 5000)),
        invoice_cap=int(cap) if cap is not None else None,
        contact_case_sensitive=contact_case_sensitive,
        item_case_sensitive=item_case_sensitive,
        tenant_type=str(raw.get("tenant_type") or "ORGANISATION"),
        connection={
            "id": stable_id("connection", tenant_id),
            "authEventId": stable_id("auth-event", tenant_id),
            "createdDateUtc": str(raw.get("connected_at") or now.strftime("%Y-%m-%dT%H:%M:%S.%f0")),
            "updatedDateUtc": str(
                raw.get("reconnected_at") or raw.get("connected_at") or now.strftime("%Y-%m-%dT%H:%M:%S.%f0")
            ),
        },
    )
    stamp = msdate(now)
    org.accounts.extend(
        _account(acc, tenant_id, i, stamp) for i, acc in enumerate(raw.get("accounts", DEFAULT_ACCOUNTS))
    )
    org.tax_rates.extend(_tax_rate(rate) for rate in raw.get("tax_rates", DEFAULT_TAX_RATES))
    org.tracking.extend(_tracking(cat, tenant_id, i) for i, cat in enumerate(raw.get("tracking_categories") or []))
    for i, contact in enumerate(raw.get("contacts") or []):
        org.contacts.append(
            contact_record(
                dict(contact),
                str(contact.get("ContactID") or stable_id(tenant_id, "contact", i)),
                stamp,
            )
        )
    for i, item in enumerate(raw.get("items") or []):
        org.items.append(item_record(dict(item), str(item.get("ItemID") or stable_id(tenant_id, "item", i)), stamp))
    org.reindex()
    for i, inv in enumerate(raw.get("invoices") or []):
        record = invoice_record(
            org,
            dict(inv),
            str(inv.get("InvoiceID") or stable_id(tenant_id, "invoice", i)),
            now,
            seeded=True,
        )
        org.invoices.append(record)
    by_number = {inv.get("InvoiceNumber"): inv for inv in org.invoices}
    by_id = {inv["InvoiceID"]: inv for inv in org.invoices}
    for i, pay in enumerate(raw.get("payments") or []):
        ref = dict(pay.get("Invoice") or {})
        invoice = by_id.get(ref.get("InvoiceID")) or by_number.get(ref.get("InvoiceNumber"))
        if invoice is None:
            raise ValueError(f"xero world: payment {i} refers to an invoice that is not in tenant {name!r}")
        org.payments.append(payment_record(org, dict(pay), invoice, stable_id(tenant_id, "payment", i), now))
    return org


def _organisation(raw: Mapping[str, Any], tenant_id: str, name: str, now: datetime) -> dict[str, Any]:
    """What ``GET Organisation`` answers: Xero's defaults under the world's ``organisation``."""
    organisation: dict[str, Any] = {
        "OrganisationID": tenant_id,
        "Name": name,
        "LegalName": name,
        "PaysTax": True,
        "Version": "GLOBAL",
        "OrganisationType": "COMPANY",
        "BaseCurrency": "USD",
        "CountryCode": "US",
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "Edition": "BUSINESS",
        "Class": "STANDARD",
        "ShortCode": "!" + tenant_id[:5],
        "CreatedDateUTC": msdate(now, offset=False),
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    }
    for key, value in dict(raw.get("organisation") or {}).items():
        organisation[key] = (
            msdate(required_when(value)) if key in ("PeriodLockDate", "EndOfYearLockDate") and value else value
        )
    return organisation


def _account(acc: Mapping[str, Any], tenant_id: str, index: int, stamp: str) -> dict[str, Any]:
    return {
        "AccountID": str(acc.get("AccountID") or stable_id(tenant_id, "account", acc.get("Code") or index)),
        "Status": "ACTIVE",
        "Type": "REVENUE",
        "TaxType": "NONE",
        "EnablePaymentsToAccount": False,
        "ShowInExpenseClaims": False,
        "HasAttachments": False,
        "UpdatedDateUTC": stamp,
        **dict(acc),
    }


def _tax_rate(rate: Mapping[str, Any]) -> dict[str, Any]:
    effective = float(rate.get("EffectiveRate", rate.get("DisplayTaxRate", 0)))
    return {
        "Status": "ACTIVE",
        "CanApplyToRevenue": True,
        "CanApplyToAssets": True,
        "CanApplyToEquity": True,
        "CanApplyToExpenses": True,
        "CanApplyToLiabilities": True,
        "DisplayTaxRate": effective,
        "EffectiveRate": effective,
        "TaxComponents": [
            {
                "Name": rate.get("Name", rate["TaxType"]),
                "Rate": effective,
                "IsCompound": False,
                "IsNonRecoverable": False,
            }
        ],
        **dict(rate),
    }


def _tracking(cat: Mapping[str, Any], tenant_id: str, index: int) -> dict[str, Any]:
    cat_id = str(cat.get("TrackingCategoryID") or stable_id(tenant_id, "tracking", cat.get("Name") or index))
    options = [
        {
            "TrackingOptionID": str(o.get("TrackingOptionID") or stable_id(cat_id, o.get("Name"))),
            "Status": "ACTIVE",
            **{k: v for k, v in dict(o).items() if k != "TrackingOptionID"},
        }
        for o in cat.get("Options") or []
    ]
    return {"Status": "ACTIVE", **dict(cat), "TrackingCategoryID": cat_id, "Options": options}
