"""Typed records every provider returns, whatever its wire format.

Providers translate their own JSON into these frozen dataclasses at the boundary, so checks
compare like with like: a Xero ``Contact`` and a HubSpot contact are both a ``Contact`` here.
Money is ``Decimal`` in major units (Stripe's minor units are converted by its client).
Values that a system does not have stay ``None``: "unknown" is never faked as a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class Feature(StrEnum):
    """Plan-gated capabilities of an organisation, normalised across systems."""

    MULTICURRENCY = "multicurrency"
    TRACKING = "tracking"  # Xero tracking categories, QuickBooks classes / locations
    APPROVE_INVOICES = "approve_invoices"  # may create invoices other than drafts
    INVENTORY = "inventory"
    SYNC_ADDON = "sync_addon"  # the integration / API add-on itself


class InvoiceStatus(StrEnum):
    """Normalised invoice status; ``raw_status`` on the invoice keeps the system's own word."""

    DRAFT = "draft"
    OPEN = "open"  # approved / authorised / submitted / sent and unpaid
    PAID = "paid"
    VOID = "void"  # voided, deleted, uncollectible


@dataclass(frozen=True, slots=True)
class Address:
    line1: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    country: str | None = None

    def is_complete(self) -> bool:
        return bool(self.line1 and self.city and self.postcode and self.country)


@dataclass(frozen=True, slots=True)
class OrgInfo:
    """The organisation / company / account / portal a connection actually reaches."""

    tenant_id: str
    name: str
    base_currency: str | None = None
    currencies: frozenset[str] = frozenset()  # enabled currencies, base included
    plan: str | None = None  # the system's own plan / edition / SKU name
    features: frozenset[Feature] = frozenset()  # features the plan includes (when the system tells)
    features_known: bool = False  # False when the system does not expose its plan features
    # Features switched on in the organisation's own settings (QuickBooks Preferences: class /
    # location tracking, multicurrency, inventory quantities); None when the system does not say.
    # A plan may include a feature the company never switched on.
    features_enabled: frozenset[Feature] | None = None
    is_trial: bool = False
    is_demo: bool = False
    trial_days_remaining: int | None = None
    environment: str | None = None  # "live" or "test" where the system distinguishes
    lock_date: date | None = None  # period lock / books closing date
    monthly_invoice_limit: int | None = None  # plan cap on invoices per month, if any
    country: str | None = None
    status: str | None = None  # e.g. Xero OrganisationStatus, QuickBooks SubscriptionStatus


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """What a cheap probe says about a connection: which tenant, which scopes."""

    tenant_id: str
    tenant_name: str | None = None
    scopes: frozenset[str] | None = None  # None when the system does not report granted scopes
    environment: str | None = None  # "live" / "test" when known (API key prefixes, portal type)
    permissions: frozenset[str] | None = None  # restricted-key permissions, when known
    tenants_available: tuple[tuple[str, str], ...] = ()  # (id, name) of every tenant the token reaches


@dataclass(frozen=True, slots=True)
class Contact:
    id: str
    name: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    archived: bool = False
    address: Address | None = None
    currency: str | None = None
    number: str | None = None  # external reference / contact number


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    code: str | None  # the SKU: Xero Code, QuickBooks Sku, HubSpot hs_sku, Stripe metadata
    name: str
    active: bool = True
    unit_price: Decimal | None = None
    account_code: str | None = None
    tax_code: str | None = None
    inventory: bool = False  # stock is tracked (QuickBooks Type Inventory, Xero IsTrackedAsInventory)


@dataclass(frozen=True, slots=True)
class TrackingRef:
    category: str
    option: str


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    description: str | None = None
    sku: str | None = None
    item_id: str | None = None
    quantity: Decimal = Decimal(1)
    unit_amount: Decimal = Decimal(0)
    amount: Decimal = Decimal(0)  # line total before tax
    account_code: str | None = None
    tax_code: str | None = None
    tracking: tuple[TrackingRef, ...] = ()


@dataclass(frozen=True, slots=True)
class Invoice:
    id: str
    number: str | None
    status: InvoiceStatus
    currency: str
    total: Decimal
    raw_status: str | None = None
    contact_id: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    lines: tuple[InvoiceLine, ...] = ()
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    amount_due: Decimal | None = None
    amount_paid: Decimal | None = None
    updated_at: datetime | None = None
    reference: str | None = None  # the source system's reference, as the sync writes it
    source: str | None = None  # which app created it (for skip-source filters), when known
    # Job apps: whether the app itself says the invoice was posted to the accounting system
    # (AroFlo's link-processed date), and the job it bills (two invoices of one job: a re-issue).
    posted: bool | None = None
    job: str | None = None


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    code: str | None
    name: str
    type: str | None = None
    status: str = "active"  # active | archived | deleted


@dataclass(frozen=True, slots=True)
class TaxRate:
    code: str
    name: str
    rate: Decimal | None = None
    status: str = "active"  # active | archived | deleted


@dataclass(frozen=True, slots=True)
class TrackingOption:
    name: str
    status: str = "active"


@dataclass(frozen=True, slots=True)
class TrackingCategory:
    id: str
    name: str
    status: str = "active"
    options: tuple[TrackingOption, ...] = ()


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    invoice_id: str | None
    amount: Decimal
    date: date | None = None
    currency: str | None = None
    invoice_number: str | None = None


@dataclass(frozen=True, slots=True)
class RateStatus:
    """Rate-limit headroom seen on the latest responses of one run."""

    day_remaining: int | None = None
    day_limit: int | None = None
    minute_remaining: int | None = None
    throttled: int = 0  # 429 answers received during the run
    last_problem: str | None = None  # e.g. Xero X-Rate-Limit-Problem: "minute" / "day"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write returned; ``created`` is False when an idempotent repeat found the original."""

    id: str
    created: bool = True
    number: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
