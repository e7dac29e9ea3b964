"""Xero emulator: the Accounting API 2.0 paths Sync Doctor uses plus ``GET /connections``.

Answers in Xero's own JSON: PascalCase fields, the response envelope (``Id``, ``Status``,
``ProviderName``, ``DateTimeUTC``), the ``pagination`` object on paged lists, dates as
``/Date(1539993600000+0000)/``, ``X-DayLimit-Remaining`` / ``X-MinLimit-Remaining`` /
``X-AppMinLimit-Remaining`` on every Accounting response, 429 with ``Retry-After`` and
``X-Rate-Limit-Problem``, the 401/403 problem envelope (``Detail: "TokenExpired: ..."``,
``"AuthenticationUnsuccessful"``) and the 400 ``ValidationException`` envelope
(specs/PROVIDERS.md section 1, specs/xero/xero_accounting.yaml).

World section ``xero`` (on top of the base's grants / faults / access_token_ttl / clients)::

    grants:
      - access_token: at-acme
        refresh_token: rt-acme
        scopes: [offline_access, accounting.transactions, accounting.contacts, accounting.settings]
        principal: [<tenant id>, ...]     # the organisations this grant reaches (its connections)
    idempotency_ttl_seconds: 360          # Xero caches Idempotency-Key answers for 6 minutes (2ry)
    idempotency_replay_header: Idempotent-Replayed
                                          # sent on a replayed answer. An emulator convention: Xero
                                          # documents no such header (UNCONFIRMED); null turns it off
    minute_limit: 60                      # per tenant, rolling minute (Xero: 60/min)
    app_minute_limit: 10000               # reported in X-AppMinLimit-Remaining
    item_code_case_sensitive: true        # does ItemCode "prod-001" match Code "PROD-001"? UNCONFIRMED
    contact_name_case_sensitive: false    # is "acme ltd" a duplicate of "Acme Ltd"? UNCONFIRMED
    messages: {unknown_item: "...", ...}  # override wording of validation messages (see MESSAGES)
    tenants:
      - id: 6a1c...                       # tenantId == OrganisationID (a UUID)
        name: Acme Ltd                    # tenantName and Organisation.Name
        day_limit: 5000                   # per tenant per day (X-DayLimit-Remaining)
        invoice_cap: 20                   # optional: approved ACCREC invoices per calendar month of
                                          # their Date (the legacy Starter/Early cap, 2ry); absent = none
        organisation: {Class: STANDARD, BaseCurrency: NZD, CountryCode: NZ, IsDemoCompany: false,
                       PeriodLockDate: 2024-03-31, EndOfYearLockDate: ..., ...any Organisation field}
        actions: {UseMulticurrency: NOT-ALLOWED}    # merged over every action ALLOWED
        currencies: [NZD, AUD]            # enabled currencies; the base currency always is
        contacts: [{Name, EmailAddress, ContactStatus, ContactNumber, Addresses, ...}]
        items: [{Code, Name, SalesDetails: {UnitPrice, AccountCode, TaxType}, ...}]
        accounts: [{Code, Name, Type, Status, TaxType}]       # absent = a small default chart
        tax_rates: [{TaxType, Name, EffectiveRate, Status}]  # absent = OUTPUT 15% and NONE
        tracking_categories: [{Name, Status, Options: [{Name, Status}]}]
        invoices: [{InvoiceNumber, Type, Contact: {Name}|{ContactID}, Date, DueDate, Status,
                    CurrencyCode, Reference, LineAmountTypes, UpdatedDateUTC,
                    LineItems: [{Description, Quantity, UnitAmount, ItemCode, AccountCode,
                                 TaxType, Tracking: [{Name, Option}]}]}]
        payments: [{Invoice: {InvoiceNumber}, Amount, Date, Account: {Code}, Reference}]

World records use Xero's field names; missing ids are generated (stable UUIDs), dates may be
ISO (``2024-03-31``) or ``/Date()/``, totals are computed from the lines. Seeded records are
not validated (a world may hold exactly the broken state a demo needs); writes are.

Faults: the base's (429 storm, 5xx, latency, garbage) and ``wrong_tenant``: every grant then
reaches a different organisation than its own (another world tenant it was not granted, or a
"Demo Company (Global)"), so ``/connections`` lists that one and calls for its own answer 403.
"""

from __future__ import annotations

import json
import logging
import math
import re
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.base import Emulator, Grant, SandboxClock, _fmt_seconds

logger = logging.getLogger(__name__)

API = "/api.xro/2.0"
PROVIDER_NAME = "Sync Doctor Xero sandbox"
MAX_PAGE_SIZE = 1000  # Xero's maximum pageSize (2ry)
DEFAULT_PAGE_SIZE = 100
_NS = uuid.UUID("5f0c2d4e-8a4b-4c1e-9d7a-2b6f3e1a9c00")
TWO = Decimal("0.01")

# Validation messages. Those quoted in specs/PROVIDERS.md are Xero's; the others (marked) are
# this emulator's wording for errors whose exact text is UNCONFIRMED, overridable per world.
MESSAGES: dict[str, str] = {
    "contact_name_taken": (
        "The contact name {name} is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    ),
    "contact_identify": (
        "The Contact must contain at least 1 of the following elements to identify the contact: "
        "Name, ContactID, ContactNumber"
    ),
    "invoice_number_taken": "Invoice # must be unique.",
    "item_code_taken": "Price List Item with Code '{code}' already exists",
    "currency_not_enabled": "Organisation is not subscribed to currency {currency}",
    "period_locked": "The document date cannot be before the period lock date, currently set at {lock}",
    "invoice_cap": "You have reached the limit of invoices you can approve",
    "invalid_tax": "The TaxType code '{tax}' cannot be used with account code '{account}'.",
    # UNCONFIRMED wording below
    "unknown_item": "Item code '{code}' is not valid.",
    "unknown_account": "Account code '{code}' is not a valid code for this document.",
    "archived_account": (
        "Account code '{code}' has been archived, or has been deleted. Each line item must reference a valid account."
    ),
    "unknown_contact": "Contact with ID {id} could not be found.",
    "unknown_tracking": "The tracking category '{name}' with option '{option}' is not valid.",
    "too_many_tracking": "A line item can have a maximum of 2 tracking categories.",
    "contact_name_required": "The contact name must be specified.",
    "contact_number_taken": "The contact number {number} is already assigned to another contact.",
    "item_code_required": "Item Code must be specified.",
    "item_code_too_long": "The Item Code cannot be more than 30 characters long.",
    "invalid_type": "Invoice Type must be specified as ACCREC or ACCPAY.",
    "invalid_status": "Invoice Status '{status}' is not valid for this operation.",
    "not_editable": "Invoice not of valid status for modification",
    "idempotency_mismatch": "The Idempotency-Key {key} was already used with a different request.",
    "idempotency_too_long": "The Idempotency-Key header cannot be more than 128 characters long.",
    "bad_where": "The where clause '{where}' could not be parsed.",
    "bad_body": "The request body could not be read as JSON.",
}

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


# -- wire helpers --------------------------------------------------------------------------


def msdate(moment: datetime | date, *, offset: bool = True) -> str:
    """``/Date(1539993600000+0000)/``: milliseconds since the epoch, as Xero's JSON carries dates."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    ms = int(moment.timestamp() * 1000)
    return f"/Date({ms}+0000)/" if offset else f"/Date({ms})/"


_MSDATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def required_when(value: Any) -> datetime:
    """``parse_when`` for a value the world must have given: a missing one is the world's error."""
    moment = parse_when(value)
    if moment is None:
        raise ValueError(f"expected a date, got {value!r}")
    return moment


def parse_when(value: Any) -> datetime | None:
    """A Xero ``/Date()/`` or an ISO date / date-time (naive = UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value).strip()
    match = _MSDATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _money(value: Any, default: str = "0") -> Decimal:
    if value is None or value == "":
        return Decimal(default)
    return Decimal(str(value))


def _num(value: Decimal) -> float:
    return float(value.quantize(TWO, rounding=ROUND_HALF_UP))


def _stable_id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, ":".join(str(p) for p in parts)))


class _BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_CLAUSE = re.compile(r'^\s*([A-Za-z][\w.]*)\s*==\s*(?:"((?:[^"\\]|\\.)*)"|(true|false|-?\d+(?:\.\d+)?))\s*$')


def parse_where(where: str | None) -> list[tuple[str, Any]]:
    """The small subset of Xero's ``where`` filter Sync Doctor sends: ``A=="x" AND B==true``."""
    if not where:
        return []
    clauses: list[tuple[str, Any]] = []
    for part in re.split(r"\s+(?:AND|and)\s+|\s*&&\s*", where):
        match = _CLAUSE.match(part)
        if not match:
            raise _BadRequest(MESSAGES["bad_where"].format(where=where))
        name, text, literal = match.groups()
        if text is not None:
            clauses.append((name, re.sub(r"\\(.)", r"\1", text)))
        elif literal in ("true", "false"):
            clauses.append((name, literal == "true"))
        else:
            clauses.append((name, Decimal(literal)))
    return clauses


def _matches(record: Mapping[str, Any], clauses: list[tuple[str, Any]]) -> bool:
    for name, wanted in clauses:
        value: Any = record
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(wanted, Decimal):
            if value is None or Decimal(str(value)) != wanted:
                return False
        elif value != wanted:
            return False
    return True


# -- one organisation ----------------------------------------------------------------------


@dataclass
class _Org:
    tenant_id: str
    name: str
    organisation: dict[str, Any]
    actions: list[dict[str, str]]
    currencies: list[dict[str, str]]
    day_limit: int
    invoice_cap: int | None
    contacts: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    tax_rates: list[dict[str, Any]] = field(default_factory=list)
    tracking: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    minute: deque[float] = field(default_factory=deque)
    day_started: float | None = None
    day_used: int = 0
    idempotency: dict[str, tuple[str, int, Any, float]] = field(default_factory=dict)
    connection: dict[str, str] = field(default_factory=dict)
    # look-up indexes (worlds hold thousands of records); rebuilt by XeroEmulator._reindex
    contact_ids: dict[str, dict[str, Any]] = field(default_factory=dict)
    contact_names: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    item_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    item_codes_folded: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def base_currency(self) -> str:
        return str(self.organisation.get("BaseCurrency") or "USD")

    def lock_date(self) -> date | None:
        found = [parse_when(self.organisation.get(k)) for k in ("PeriodLockDate", "EndOfYearLockDate")]
        dates = [d.date() for d in found if d is not None]
        return max(dates) if dates else None


class XeroEmulator(Emulator):
    """Xero over loopback. World: see the module docstring."""

    system: ClassVar[str] = "xero"
    token_path: ClassVar[str | None] = "/connect/token"

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        super().__init__(section, clock)
        self.messages = {**MESSAGES, **dict(section.get("messages") or {})}
        self.idempotency_ttl = float(section.get("idempotency_ttl_seconds", 360))
        replay = section.get("idempotency_replay_header", "Idempotent-Replayed")
        self.replay_header: str | None = str(replay) if replay else None
        self.minute_limit = int(section.get("minute_limit", 60))
        self.app_minute_limit = int(section.get("app_minute_limit", 10000))
        self.item_case_sensitive = bool(section.get("item_code_case_sensitive", True))
        self.contact_case_sensitive = bool(section.get("contact_name_case_sensitive", False))
        self._app_minute: deque[float] = deque()
        self.orgs: dict[str, _Org] = {}
        for index, raw in enumerate(section.get("tenants") or []):
            org = self._load_org(raw, index)
            self.orgs[org.tenant_id] = org

    # -- world loading ----------------------------------------------------------------------

    def _load_org(self, raw: Mapping[str, Any], index: int) -> _Org:
        name = str(raw.get("name") or (raw.get("organisation") or {}).get("Name") or f"Organisation {index + 1}")
        tenant_id = str(raw.get("id") or _stable_id("tenant", name))
        now = datetime.fromtimestamp(self.clock.now(), tz=UTC)
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
        actions_over = dict(raw.get("actions") or {})
        names = list(DEFAULT_ACTIONS) + [n for n in actions_over if n not in DEFAULT_ACTIONS]
        actions = [{"Name": n, "Status": str(actions_over.get(n, "ALLOWED"))} for n in names]
        base = str(organisation["BaseCurrency"])
        codes = [base] + [str(c) for c in raw.get("currencies") or [] if str(c) != base]
        currencies = [{"Code": c, "Description": CURRENCY_NAMES.get(c, c)} for c in codes]
        cap = raw.get("invoice_cap")
        org = _Org(
            tenant_id=tenant_id,
            name=name,
            organisation=organisation,
            actions=actions,
            currencies=currencies,
            day_limit=int(raw.get("day_limit", 5000)),
            invoice_cap=int(cap) if cap is not None else None,
            connection={
                "id": _stable_id("connection", tenant_id),
                "authEventId": _stable_id("auth-event", tenant_id),
                "createdDateUtc": str(raw.get("connected_at") or now.strftime("%Y-%m-%dT%H:%M:%S.%f0")),
                "updatedDateUtc": str(
                    raw.get("reconnected_at") or raw.get("connected_at") or now.strftime("%Y-%m-%dT%H:%M:%S.%f0")
                ),
            },
        )
        stamp = msdate(now)
        for i, acc in enumerate(raw.get("accounts", DEFAULT_ACCOUNTS)):
            org.accounts.append(
                {
                    "AccountID": str(acc.get("AccountID") or _stable_id(tenant_id, "account", acc.get("Code") or i)),
                    "Status": "ACTIVE",
                    "Type": "REVENUE",
                    "TaxType": "NONE",
                    "EnablePaymentsToAccount": False,
                    "ShowInExpenseClaims": False,
                    "HasAttachments": False,
                    "UpdatedDateUTC": stamp,
                    **dict(acc),
                }
            )
        for rate in raw.get("tax_rates", DEFAULT_TAX_RATES):
            effective = float(rate.get("EffectiveRate", rate.get("DisplayTaxRate", 0)))
            org.tax_rates.append(
                {
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
            )
        for i, cat in enumerate(raw.get("tracking_categories") or []):
            cat_id = str(cat.get("TrackingCategoryID") or _stable_id(tenant_id, "tracking", cat.get("Name") or i))
            options = [
                {
                    "TrackingOptionID": str(o.get("TrackingOptionID") or _stable_id(cat_id, o.get("Name"))),
                    "Status": "ACTIVE",
                    **{k: v for k, v in dict(o).items() if k != "TrackingOptionID"},
                }
                for o in cat.get("Options") or []
            ]
            org.tracking.append({"Status": "ACTIVE", **dict(cat), "TrackingCategoryID": cat_id, "Options": options})
        for i, contact in enumerate(raw.get("contacts") or []):
            org.contacts.append(
                self._contact_record(
                    org,
                    dict(contact),
                    str(contact.get("ContactID") or _stable_id(tenant_id, "contact", i)),
                    stamp,
                )
            )
        for i, item in enumerate(raw.get("items") or []):
            org.items.append(
                self._item_record(dict(item), str(item.get("ItemID") or _stable_id(tenant_id, "item", i)), stamp)
            )
        self._reindex(org)
        for i, inv in enumerate(raw.get("invoices") or []):
            record = self._invoice_record(
                org,
                dict(inv),
                str(inv.get("InvoiceID") or _stable_id(tenant_id, "invoice", i)),
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
            org.payments.append(self._payment_record(org, dict(pay), invoice, _stable_id(tenant_id, "payment", i)))
        return org

    def _contact_record(self, org: _Org, data: dict[str, Any], contact_id: str, stamp: str) -> dict[str, Any]:
        record: dict[str, Any] = {
            "ContactID": contact_id,
            "ContactStatus": "ACTIVE",
            "Addresses": [],
            "Phones": [],
            "ContactGroups": [],
            "ContactPersons": [],
            "IsSupplier": False,
            "IsCustomer": False,
            "HasAttachments": False,
            "HasValidationErrors": False,
        }
        record.update({k: v for k, v in data.items() if k not in ("ContactID", "UpdatedDateUTC")})
        record["UpdatedDateUTC"] = (
            msdate(required_when(data["UpdatedDateUTC"])) if data.get("UpdatedDateUTC") else stamp
        )
        return record

    def _item_record(self, data: dict[str, Any], item_id: str, stamp: str) -> dict[str, Any]:
        record: dict[str, Any] = {
            "ItemID": item_id,
            "IsSold": True,
            "IsPurchased": False,
            "IsTrackedAsInventory": False,
        }
        record.update({k: v for k, v in data.items() if k not in ("ItemID", "UpdatedDateUTC")})
        record.setdefault("Name", record.get("Code", ""))
        record["UpdatedDateUTC"] = (
            msdate(required_when(data["UpdatedDateUTC"])) if data.get("UpdatedDateUTC") else stamp
        )
        return record

    def _contact_ref(self, org: _Org, given: Mapping[str, Any]) -> dict[str, Any] | None:
        contact = self._find_contact(org, given)
        if contact is None:
            return None
        ref = {
            "ContactID": contact["ContactID"],
            "Name": contact.get("Name", ""),
            "ContactStatus": contact.get("ContactStatus", "ACTIVE"),
        }
        for key in ("ContactNumber", "EmailAddress"):
            if contact.get(key):
                ref[key] = contact[key]
        ref.update(
            {
                "Addresses": [],
                "Phones": [],
                "ContactGroups": [],
                "ContactPersons": [],
                "HasValidationErrors": False,
            }
        )
        return ref

    def _reindex(self, org: _Org) -> None:
        org.contact_ids = {c["ContactID"]: c for c in org.contacts}
        org.contact_names = {}
        for c in org.contacts:
            org.contact_names.setdefault(self._name_key(str(c.get("Name", ""))), []).append(c)
        org.item_codes = {}
        org.item_codes_folded = {}
        for item in org.items:
            code = str(item.get("Code", ""))
            org.item_codes.setdefault(code, item)
            org.item_codes_folded.setdefault(code.casefold(), item)

    def _name_key(self, name: str) -> str:
        return name if self.contact_case_sensitive else name.strip().casefold()

    def _find_contact(self, org: _Org, given: Mapping[str, Any]) -> dict[str, Any] | None:
        if given.get("ContactID"):
            return org.contact_ids.get(str(given["ContactID"]))
        if given.get("ContactNumber"):
            found = next((c for c in org.contacts if c.get("ContactNumber") == given["ContactNumber"]), None)
            if found is not None:
                return found
        if given.get("Name"):
            return self._active_contact_named(org, str(given["Name"]))
        return None

    def _same_name(self, a: str, b: str) -> bool:
        return a == b if self.contact_case_sensitive else a.strip().casefold() == b.strip().casefold()

    def _active_contact_named(self, org: _Org, name: str, exclude: str | None = None) -> dict[str, Any] | None:
        for c in org.contact_names.get(self._name_key(name), []):
            if (
                c.get("ContactStatus", "ACTIVE") == "ACTIVE"
                and c["ContactID"] != exclude
                and self._same_name(str(c.get("Name", "")), name)
            ):
                return c
        return None

    def _find_item(self, org: _Org, code: str) -> dict[str, Any] | None:
        found = org.item_codes.get(code)
        if found is None and not self.item_case_sensitive:
            found = org.item_codes_folded.get(code.casefold())
        return found

    def _tax_rate(self, org: _Org, tax_type: str) -> dict[str, Any] | None:
        return next((t for t in org.tax_rates if t.get("TaxType") == tax_type), None)

    def _invoice_record(
        self, org: _Org, data: dict[str, Any], invoice_id: str, now: datetime, *, seeded: bool
    ) -> dict[str, Any]:
        """Build the stored invoice: resolve contact and items, compute amounts (no validation)."""
        kind = str(data.get("Type") or "ACCREC")
        when = parse_when(data.get("Date")) or now
        due = parse_when(data.get("DueDate"))
        amount_types = str(data.get("LineAmountTypes") or "Exclusive")
        lines: list[dict[str, Any]] = []
        subtotal = total_tax = Decimal(0)
        for raw_line in data.get("LineItems") or []:
            line = self._line_record(org, dict(raw_line), invoice_id, len(lines), amount_types)
            lines.append(line)
            amount, tax = _money(line["LineAmount"]), _money(line["TaxAmount"])
            subtotal += amount - tax if amount_types == "Inclusive" else amount
            total_tax += tax
        contact = self._contact_ref(org, dict(data.get("Contact") or {})) or {
            "ContactID": str(
                (data.get("Contact") or {}).get("ContactID") or _stable_id(org.tenant_id, "missing-contact")
            ),
            "Name": str((data.get("Contact") or {}).get("Name") or ""),
        }
        if kind == "ACCREC" and contact["ContactID"] in org.contact_ids:
            org.contact_ids[contact["ContactID"]]["IsCustomer"] = True
        total = subtotal + total_tax
        status = str(data.get("Status") or ("AUTHORISED" if seeded else "DRAFT"))
        updated = parse_when(data.get("UpdatedDateUTC")) or (min(when, now) if seeded else now)
        record: dict[str, Any] = {
            "Type": kind,
            "InvoiceID": invoice_id,
            "InvoiceNumber": str(data.get("InvoiceNumber") or ""),
            "Reference": str(data.get("Reference") or ""),
            "Payments": [],
            "CreditNotes": [],
            "Prepayments": [],
            "Overpayments": [],
            "AmountDue": _num(total if status not in ("VOIDED", "DELETED") else Decimal(0)),
            "AmountPaid": 0.0,
            "AmountCredited": 0.0,
            "CurrencyRate": 1.0,
            "IsDiscounted": any(ln.get("DiscountRate") for ln in lines),
            "HasAttachments": False,
            "HasErrors": False,
            "Contact": contact,
            "DateString": when.strftime("%Y-%m-%dT00:00:00"),
            "Date": msdate(when.date()),
            "Status": status,
            "LineAmountTypes": amount_types,
            "LineItems": lines,
            "SubTotal": _num(subtotal),
            "TotalTax": _num(total_tax),
            "Total": _num(total),
            "UpdatedDateUTC": msdate(updated),
            "UpdatedDateUTCString": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "CurrencyCode": str(data.get("CurrencyCode") or org.base_currency),
            "SentToContact": bool(data.get("SentToContact", False)),
        }
        if due is not None:
            record["DueDateString"] = due.strftime("%Y-%m-%dT00:00:00")
            record["DueDate"] = msdate(due.date())
        return record

    def _line_record(
        self, org: _Org, raw: dict[str, Any], invoice_id: str, index: int, amount_types: str
    ) -> dict[str, Any]:
        line: dict[str, Any] = {"LineItemID": str(raw.get("LineItemID") or _stable_id(invoice_id, "line", index))}
        item = self._find_item(org, str(raw["ItemCode"])) if raw.get("ItemCode") else None
        sales = dict(item.get("SalesDetails") or {}) if item else {}
        description = raw.get("Description") or (item or {}).get("Description") or (item or {}).get("Name")
        if description:
            line["Description"] = str(description)
        quantity = _money(raw.get("Quantity"), "1")
        unit = _money(raw.get("UnitAmount") if raw.get("UnitAmount") is not None else sales.get("UnitPrice"))
        account = raw.get("AccountCode") or sales.get("AccountCode")
        tax_type = raw.get("TaxType") or sales.get("TaxType")
        if not tax_type and account:
            acc = next((a for a in org.accounts if a.get("Code") == account), None)
            tax_type = (acc or {}).get("TaxType")
        tax_type = str(tax_type or "NONE")
        discount = _money(raw.get("DiscountRate")) if raw.get("DiscountRate") is not None else None
        if raw.get("LineAmount") is not None and raw.get("UnitAmount") is None:
            amount = _money(raw["LineAmount"])
        else:
            amount = quantity * unit * ((Decimal(100) - (discount or 0)) / Decimal(100))
        amount = amount.quantize(TWO, rounding=ROUND_HALF_UP)
        rate = _money((self._tax_rate(org, tax_type) or {}).get("EffectiveRate"))
        # Tax is computed per line and rounded to 2 dp, then summed (PROVIDERS.md, 2ry).
        if amount_types == "NoTax":
            tax = Decimal(0)
        elif amount_types == "Inclusive":
            tax = (amount - amount / (1 + rate / 100)).quantize(TWO, rounding=ROUND_HALF_UP)
        else:
            tax = (amount * rate / 100).quantize(TWO, rounding=ROUND_HALF_UP)
        line.update(
            {
                "Quantity": float(quantity),
                "UnitAmount": float(unit),
                "TaxType": tax_type,
                "TaxAmount": _num(tax),
                "LineAmount": _num(amount),
                "Tracking": [self._tracking_ref(org, dict(t)) for t in raw.get("Tracking") or []],
            }
        )
        if account:
            line["AccountCode"] = str(account)
        if raw.get("ItemCode"):
            line["ItemCode"] = str(item["Code"]) if item else str(raw["ItemCode"])
            if item:
                line["Item"] = {
                    "ItemID": item["ItemID"],
                    "Name": item.get("Name", ""),
                    "Code": item.get("Code", ""),
                }
        if discount is not None:
            line["DiscountRate"] = float(discount)
        return line

    def _tracking_ref(self, org: _Org, given: Mapping[str, Any]) -> dict[str, Any]:
        category, option = self._tracking_lookup(org, given)
        ref: dict[str, Any] = {
            "Name": (category or {}).get("Name", given.get("Name", "")),
            "Option": (option or {}).get("Name", given.get("Option", "")),
        }
        if category:
            ref["TrackingCategoryID"] = category["TrackingCategoryID"]
        if option:
            ref["TrackingOptionID"] = option["TrackingOptionID"]
        return ref

    def _tracking_lookup(
        self, org: _Org, given: Mapping[str, Any]
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        category = next(
            (
                c
                for c in org.tracking
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

    def _payment_record(
        self, org: _Org, data: dict[str, Any], invoice: dict[str, Any], payment_id: str
    ) -> dict[str, Any]:
        amount = _money(data.get("Amount"))
        when = parse_when(data.get("Date")) or datetime.fromtimestamp(self.clock.now(), tz=UTC)
        account_ref = dict(data.get("Account") or {})
        account = next((a for a in org.accounts if a.get("Code") == account_ref.get("Code")), None) or next(
            (a for a in org.accounts if a.get("Type") == "BANK"), None
        )
        status = str(data.get("Status") or "AUTHORISED")
        if status != "DELETED":  # a deleted payment no longer counts towards the invoice
            paid = _money(invoice["AmountPaid"]) + amount
            invoice["AmountPaid"] = _num(paid)
            invoice["AmountDue"] = _num(max(_money(invoice["Total"]) - paid, Decimal(0)))
            if invoice["AmountDue"] == 0 and invoice["Status"] == "AUTHORISED":
                invoice["Status"] = "PAID"
                invoice["FullyPaidOnDate"] = msdate(when.date())
        record: dict[str, Any] = {
            "PaymentID": str(data.get("PaymentID") or payment_id),
            "Date": msdate(when.date()),
            "Amount": _num(amount),
            "BankAmount": _num(amount),
            "CurrencyRate": 1.0,
            "Reference": str(data.get("Reference") or ""),
            "IsReconciled": bool(data.get("IsReconciled", False)),
            "Status": status,
            "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT",
            "UpdatedDateUTC": msdate(parse_when(data.get("UpdatedDateUTC")) or when),
            "HasAccount": account is not None,
            "HasValidationErrors": False,
            "Invoice": {
                "InvoiceID": invoice["InvoiceID"],
                "InvoiceNumber": invoice["InvoiceNumber"],
                "Type": invoice["Type"],
                "CurrencyCode": invoice["CurrencyCode"],
                "Contact": {
                    "ContactID": invoice["Contact"]["ContactID"],
                    "Name": invoice["Contact"].get("Name", ""),
                },
                "Payments": [],
                "CreditNotes": [],
                "Prepayments": [],
                "Overpayments": [],
                "HasErrors": False,
                "IsDiscounted": False,
                "HasAttachments": False,
            },
        }
        if account is not None:
            record["Account"] = {"AccountID": account["AccountID"], "Code": account.get("Code", "")}
        if status != "DELETED":
            invoice["Payments"].append(
                {
                    "PaymentID": record["PaymentID"],
                    "Date": record["Date"],
                    "Amount": record["Amount"],
                    "CurrencyRate": 1.0,
                    "HasAccount": record["HasAccount"],
                    "HasValidationErrors": False,
                }
            )
        return record

    # -- envelopes --------------------------------------------------------------------------

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        if status == 400:
            body: dict[str, Any] = {
                "ErrorNumber": 10,
                "Type": "ValidationException",
                "Message": message,
            }
            if "elements" in extra:
                body["Elements"] = extra["elements"]
            return JSONResponse(body, status_code=400)
        titles = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 429: "TooManyRequests"}
        body = {
            "Type": None,
            "Title": titles.get(status, "ServiceUnavailable" if status >= 500 else "Error"),
            "Status": status,
            "Detail": message,
            "Instance": str(uuid.uuid4()),
            "Extensions": {},
        }
        return JSONResponse(body, status_code=status)

    def rate_limit_response(self) -> Response:
        response = self.error(429, "rate_limited", "Rate limit exceeded")
        response.headers["Retry-After"] = _fmt_seconds(self.faults.retry_after)
        response.headers["X-Rate-Limit-Problem"] = self.faults.rate_limit_problem
        return response

    def _validation(self, message: str, elements: list[dict[str, Any]] | None = None) -> Response:
        return self.error(
            400,
            "ValidationException",
            "A validation exception occurred" if elements else message,
            elements=elements or [],
        )

    def _envelope(
        self, key: str, records: list[dict[str, Any]], pagination: dict[str, int] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": PROVIDER_NAME,
            "DateTimeUTC": msdate(datetime.fromtimestamp(self.clock.now(), tz=UTC), offset=False),
        }
        if pagination is not None:
            body["pagination"] = pagination
        body[key] = records
        return body

    # -- request plumbing -------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        reads: dict[str, Callable[[Request, _Org], Response]] = {
            "Organisation": self._get_organisation,
            "Organisation/Actions": self._get_actions,
            "Currencies": self._get_currencies,
            "Contacts": self._get_contacts,
            "Items": self._get_items,
            "Invoices": self._get_invoices,
            "Accounts": self._get_accounts,
            "TaxRates": self._get_tax_rates,
            "TrackingCategories": self._get_tracking,
            "Payments": self._get_payments,
        }
        routes: list[BaseRoute] = [
            Route("/connections", self._connections, methods=["GET"]),
            Route("/Connections", self._connections, methods=["GET"]),
        ]
        for name, reader in reads.items():
            routes.append(Route(f"{API}/{name}", self._accounting(reader), methods=["GET"]))
        for name, writer in (
            ("Invoices", self._write_invoice),
            ("Contacts", self._write_contact),
            ("Items", self._write_item),
        ):
            routes.append(Route(f"{API}/{name}", self._writes(name, writer), methods=["PUT", "POST"]))
        return routes

    def _grant_or_401(self, request: Request) -> tuple[Grant | None, Response | None]:
        grant, problem = self.tokens.check_access(self.bearer(request))
        if problem is None and grant is not None:
            return grant, None
        if problem == "expired" and grant is not None:
            expired = datetime.fromtimestamp(grant.expires_at, tz=UTC).strftime("%m/%d/%Y %H:%M:%S")
            return None, self.error(401, "TokenExpired", f"TokenExpired: token expired at {expired}")
        return None, self.error(401, "AuthenticationUnsuccessful", "AuthenticationUnsuccessful")

    def reach(self, grant: Grant) -> list[str]:
        """Tenant ids a grant reaches now (the ``wrong_tenant`` fault swaps them)."""
        granted = (
            [str(t) for t in (grant.principal or [])] if isinstance(grant.principal, list) else [str(grant.principal)]
        )
        if not self.faults.wrong_tenant:
            return granted
        others = [t for t in self.orgs if t not in granted]
        return others[:1] or [_stable_id("tenant", "Demo Company (Global)")]

    def _tenant_name(self, tenant_id: str) -> str:
        org = self.orgs.get(tenant_id)
        return org.name if org else "Demo Company (Global)"

    async def _connections(self, request: Request) -> Response:
        grant, denied = self._grant_or_401(request)
        if grant is None:
            return denied  # type: ignore[return-value]
        event = request.query_params.get("authEventId")
        found = []
        for tenant_id in self.reach(grant):
            org = self.orgs.get(tenant_id)
            conn = (
                org.connection
                if org
                else {
                    "id": _stable_id("connection", tenant_id),
                    "authEventId": _stable_id("auth-event", tenant_id),
                    "createdDateUtc": "2019-12-07T18:46:19.5165400",
                    "updatedDateUtc": "2019-12-07T18:46:19.5187840",
                }
            )
            if event and conn["authEventId"] != event:
                continue
            found.append(
                {
                    **conn,
                    "tenantId": tenant_id,
                    "tenantType": "ORGANISATION",
                    "tenantName": self._tenant_name(tenant_id),
                }
            )
        return JSONResponse(found)

    def _admit(self, request: Request) -> tuple[_Org | None, Response | None]:
        """Authenticate, check the tenant header, count the call against the limits."""
        grant, denied = self._grant_or_401(request)
        if grant is None:
            return None, denied
        tenant_id = request.headers.get("xero-tenant-id", "")
        org = self.orgs.get(tenant_id)
        if org is None or tenant_id not in self.reach(grant):
            # A tenant disconnected or never granted: 403 AuthenticationUnsuccessful (observed).
            return None, self.error(403, "AuthenticationUnsuccessful", "AuthenticationUnsuccessful")
        now = self.clock.now()
        with self.lock:
            while org.minute and now - org.minute[0] >= 60:
                org.minute.popleft()
            while self._app_minute and now - self._app_minute[0] >= 60:
                self._app_minute.popleft()
            if org.day_started is None or now - org.day_started >= 86400:
                org.day_started, org.day_used = now, 0
            problem, wait = None, 0.0
            if org.day_used >= org.day_limit:
                problem, wait = "day", 86400 - (now - org.day_started)
            elif len(org.minute) >= self.minute_limit:
                problem, wait = "minute", 60 - (now - org.minute[0])
            elif len(self._app_minute) >= self.app_minute_limit:
                problem, wait = "appminute", 60 - (now - self._app_minute[0])
            if problem is None:
                org.minute.append(now)
                self._app_minute.append(now)
                org.day_used += 1
        if problem is not None:
            response = self.error(429, "rate_limited", f"Rate limit exceeded: {problem}")
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            response.headers["X-Rate-Limit-Problem"] = problem
            self._rate_headers(response, org)
            return None, response
        return org, None

    def _rate_headers(self, response: Response, org: _Org) -> None:
        response.headers["X-DayLimit-Remaining"] = str(max(org.day_limit - org.day_used, 0))
        response.headers["X-MinLimit-Remaining"] = str(max(self.minute_limit - len(org.minute), 0))
        response.headers["X-AppMinLimit-Remaining"] = str(max(self.app_minute_limit - len(self._app_minute), 0))

    def _accounting(self, reader: Callable[[Request, _Org], Response]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            org, denied = self._admit(request)
            if org is None:
                return denied  # type: ignore[return-value]
            try:
                with self.lock:
                    response = reader(request, org)
            except _BadRequest as e:
                response = self._validation(e.message)
            self._rate_headers(response, org)
            return response

        return endpoint

    # -- reads ------------------------------------------------------------------------------

    def _get_organisation(self, request: Request, org: _Org) -> Response:
        return JSONResponse(self._envelope("Organisations", [org.organisation]))

    def _get_actions(self, request: Request, org: _Org) -> Response:
        return JSONResponse(self._envelope("Actions", org.actions))

    def _get_currencies(self, request: Request, org: _Org) -> Response:
        return JSONResponse(self._envelope("Currencies", self._filter(request, org.currencies)))

    def _get_accounts(self, request: Request, org: _Org) -> Response:
        return JSONResponse(self._envelope("Accounts", self._filter(request, org.accounts)))

    def _get_tax_rates(self, request: Request, org: _Org) -> Response:
        return JSONResponse(self._envelope("TaxRates", self._filter(request, org.tax_rates)))

    def _get_tracking(self, request: Request, org: _Org) -> Response:
        archived = request.query_params.get("includeArchived", "").lower() == "true"
        found = []
        for cat in self._filter(request, org.tracking):
            if cat.get("Status") == "DELETED" or (cat.get("Status") == "ARCHIVED" and not archived):
                continue
            options = [
                o for o in cat["Options"] if o.get("Status") == "ACTIVE" or (archived and o.get("Status") == "ARCHIVED")
            ]
            found.append({**cat, "Options": options})
        return JSONResponse(self._envelope("TrackingCategories", found))

    def _get_items(self, request: Request, org: _Org) -> Response:
        return JSONResponse(self._envelope("Items", self._filter(request, org.items)))

    def _get_contacts(self, request: Request, org: _Org) -> Response:
        records = self._filter(request, org.contacts, ids_param="IDs", id_key="ContactID")
        if request.query_params.get("includeArchived", "").lower() != "true":
            records = [c for c in records if c.get("ContactStatus") != "ARCHIVED"]
        return self._paged(request, "Contacts", records)

    def _get_invoices(self, request: Request, org: _Org) -> Response:
        records = self._filter(request, org.invoices, ids_param="IDs", id_key="InvoiceID")
        q = request.query_params
        if q.get("InvoiceNumbers"):
            numbers = {n.strip() for n in q["InvoiceNumbers"].split(",")}
            records = [r for r in records if r.get("InvoiceNumber") in numbers]
        if q.get("ContactIDs"):
            contacts = {n.strip() for n in q["ContactIDs"].split(",")}
            records = [r for r in records if r["Contact"].get("ContactID") in contacts]
        if q.get("Statuses"):
            statuses = {n.strip() for n in q["Statuses"].split(",")}
            records = [r for r in records if r.get("Status") in statuses]
        return self._paged(request, "Invoices", records)

    def _get_payments(self, request: Request, org: _Org) -> Response:
        return self._paged(request, "Payments", self._filter(request, org.payments))

    def _filter(
        self,
        request: Request,
        records: Iterable[dict[str, Any]],
        *,
        ids_param: str | None = None,
        id_key: str = "",
    ) -> list[dict[str, Any]]:
        clauses = parse_where(request.query_params.get("where"))
        since_header = request.headers.get("if-modified-since")
        since = _parse_since(since_header) if since_header else None
        ids = (
            {i.strip() for i in request.query_params.get(ids_param or "", "").split(",") if i.strip()}
            if ids_param
            else set()
        )
        found = []
        for record in records:
            if clauses and not _matches(record, clauses):
                continue
            if ids and record.get(id_key) not in ids:
                continue
            if since is not None:
                updated = parse_when(record.get("UpdatedDateUTC"))
                if updated is not None and updated < since:
                    continue
            found.append(record)
        return found

    def _paged(self, request: Request, key: str, records: list[dict[str, Any]]) -> Response:
        q = request.query_params
        if "page" not in q:
            return JSONResponse(self._envelope(key, records))
        try:
            page = max(int(q["page"]), 1)
            size = min(max(int(q.get("pageSize", DEFAULT_PAGE_SIZE)), 1), MAX_PAGE_SIZE)
        except ValueError as e:
            raise _BadRequest("page and pageSize must be whole numbers") from e
        chunk = records[(page - 1) * size : page * size]
        pagination = {
            "page": page,
            "pageSize": size,
            "pageCount": math.ceil(len(records) / size),
            "itemCount": len(records),
        }
        return JSONResponse(self._envelope(key, chunk, pagination))

    # -- writes -----------------------------------------------------------------------------

    def _writes(
        self,
        key: str,
        writer: Callable[[_Org, dict[str, Any], bool, dict[str, set[str]]], tuple[dict[str, Any], list[str]]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            org, denied = self._admit(request)
            if org is None:
                return denied  # type: ignore[return-value]
            raw = await request.body()
            idem = request.headers.get("idempotency-key")
            fingerprint = f"{request.method} {request.url.path}?{request.url.query} {raw.decode(errors='replace')}"
            with self.lock:
                response = self._idempotent_replay(org, idem, fingerprint)
                if response is None:
                    response = self._write_batch(request, org, key, raw, writer)
                    if idem and len(idem) <= 128:
                        body = json.loads(bytes(response.body))
                        org.idempotency[idem] = (
                            fingerprint,
                            response.status_code,
                            body,
                            self.clock.now(),
                        )
            self._rate_headers(response, org)
            return response

        return endpoint

    def _idempotent_replay(self, org: _Org, key: str | None, fingerprint: str) -> Response | None:
        if not key:
            return None
        if len(key) > 128:
            return self._validation(self.messages["idempotency_too_long"])
        now = self.clock.now()
        for old in [k for k, v in org.idempotency.items() if now - v[3] > self.idempotency_ttl]:
            del org.idempotency[old]
        cached = org.idempotency.get(key)
        if cached is None:
            return None
        if cached[0] != fingerprint:
            return self._validation(self.messages["idempotency_mismatch"].format(key=key))
        response = JSONResponse(cached[2], status_code=cached[1])
        if self.replay_header:
            response.headers[self.replay_header] = "true"
        return response

    def _write_batch(
        self,
        request: Request,
        org: _Org,
        key: str,
        raw: bytes,
        writer: Callable[[_Org, dict[str, Any], bool, dict[str, set[str]]], tuple[dict[str, Any], list[str]]],
    ) -> Response:
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            return self._validation(self.messages["bad_body"])
        elements = payload.get(key) if isinstance(payload, dict) and key in payload else [payload]
        if not isinstance(elements, list) or not all(isinstance(e, dict) for e in elements):
            return self._validation(self.messages["bad_body"])
        summarize = request.query_params.get("summarizeErrors", "true").lower() != "false"
        upsert = request.method == "POST"
        pending: dict[str, set[str]] = {}
        results: list[tuple[dict[str, Any], list[str]]] = []
        snapshot = (list(org.contacts), list(org.items), list(org.invoices))
        for element in elements:
            results.append(writer(org, dict(element), upsert, pending))
        failed = [(rec, errs) for rec, errs in results if errs]
        if failed and summarize:
            # All or nothing: undo whatever the batch created before answering 400.
            org.contacts[:], org.items[:], org.invoices[:] = snapshot
            self._reindex(org)
            return self._validation(
                "A validation exception occurred",
                [
                    {
                        **rec,
                        "HasValidationErrors": True,
                        "ValidationErrors": [{"Message": m} for m in errs],
                    }
                    for rec, errs in failed
                ],
            )
        out = []
        for rec, errs in results:
            if errs:
                out.append(
                    {
                        **rec,
                        "StatusAttributeString": "ERROR",
                        "HasValidationErrors": True,
                        "ValidationErrors": [{"Message": m} for m in errs],
                    }
                )
            else:
                out.append({**rec, "StatusAttributeString": "OK"} if not summarize else rec)
        return JSONResponse(self._envelope(key, out))

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), tz=UTC)

    def _write_contact(
        self, org: _Org, data: dict[str, Any], upsert: bool, pending: dict[str, set[str]]
    ) -> tuple[dict[str, Any], list[str]]:
        existing = self._find_contact(org, data) if upsert else None
        merged = {**existing, **data} if existing else data
        name = str(merged.get("Name") or "").strip()
        errors: list[str] = []
        if not name:
            errors.append(self.messages["contact_name_required"])
        else:
            clash = self._active_contact_named(org, name, exclude=existing["ContactID"] if existing else None)
            if clash is not None or any(self._same_name(name, n) for n in pending.get("contact_names", set())):
                errors.append(self.messages["contact_name_taken"].format(name=name))
        number = merged.get("ContactNumber")
        if number and any(c.get("ContactNumber") == number and c is not existing for c in org.contacts):
            errors.append(self.messages["contact_number_taken"].format(number=number))
        if errors:
            return data, errors
        pending.setdefault("contact_names", set()).add(name)
        stamp = msdate(self._now())
        if existing is not None:
            existing.update({k: v for k, v in data.items() if k not in ("ContactID", "UpdatedDateUTC")})
            existing["UpdatedDateUTC"] = stamp
            self._reindex(org)
            return existing, []
        record = self._contact_record(org, data, str(uuid.uuid4()), stamp)
        org.contacts.append(record)
        self._reindex(org)
        return record, []

    def _write_item(
        self, org: _Org, data: dict[str, Any], upsert: bool, pending: dict[str, set[str]]
    ) -> tuple[dict[str, Any], list[str]]:
        code = str(data.get("Code") or "")
        errors: list[str] = []
        existing = None
        if upsert:
            existing = next((i for i in org.items if data.get("ItemID") and i["ItemID"] == data["ItemID"]), None) or (
                self._find_item(org, code) if code else None
            )
        if not code and existing is None:
            errors.append(self.messages["item_code_required"])
        elif len(code) > 30:
            errors.append(self.messages["item_code_too_long"])
        elif existing is None and (self._find_item(org, code) is not None or code in pending.get("item_codes", set())):
            errors.append(self.messages["item_code_taken"].format(code=code))
        sales = dict(data.get("SalesDetails") or {})
        if sales.get("AccountCode"):
            problem = self._account_problem(org, str(sales["AccountCode"]))
            if problem:
                errors.append(problem)
        if errors:
            return data, errors
        pending.setdefault("item_codes", set()).add(code)
        stamp = msdate(self._now())
        if existing is not None:
            existing.update({k: v for k, v in data.items() if k not in ("ItemID", "UpdatedDateUTC")})
            existing["UpdatedDateUTC"] = stamp
            self._reindex(org)
            return existing, []
        record = self._item_record(data, str(uuid.uuid4()), stamp)
        org.items.append(record)
        self._reindex(org)
        return record, []

    def _account_problem(self, org: _Org, code: str) -> str | None:
        account = next((a for a in org.accounts if a.get("Code") == code), None)
        if account is None:
            return self.messages["unknown_account"].format(code=code)
        if account.get("Status", "ACTIVE") != "ACTIVE":
            return self.messages["archived_account"].format(code=code)
        return None

    def _write_invoice(
        self, org: _Org, data: dict[str, Any], upsert: bool, pending: dict[str, set[str]]
    ) -> tuple[dict[str, Any], list[str]]:
        existing = None
        if upsert:
            existing = next(
                (
                    i
                    for i in org.invoices
                    if (data.get("InvoiceID") and i["InvoiceID"] == data["InvoiceID"])
                    or (
                        not data.get("InvoiceID")
                        and data.get("InvoiceNumber")
                        and i["Type"] == "ACCREC"
                        and i["InvoiceNumber"] == data["InvoiceNumber"]
                    )
                ),
                None,
            )
        if existing is not None and (existing["Status"] in ("PAID", "VOIDED", "DELETED") or existing["Payments"]):
            return data, [self.messages["not_editable"]]
        merged = {**self._as_input(existing), **data} if existing else data
        errors = self._invoice_errors(org, merged, existing, pending)
        if errors:
            return data, errors
        contact_given = dict(merged.get("Contact") or {})
        if self._find_contact(org, contact_given) is None:
            # Xero creates a contact from a Name it does not know (PUT Invoices with Contact.Name).
            self._write_contact(org, {"Name": contact_given["Name"]}, False, {})
        kind = str(merged.get("Type"))
        if kind == "ACCREC" and not merged.get("InvoiceNumber"):
            merged["InvoiceNumber"] = self._next_number(org)
        if kind == "ACCREC":
            pending.setdefault("numbers", set()).add(str(merged["InvoiceNumber"]))
        merged.pop("UpdatedDateUTC", None)
        invoice_id = existing["InvoiceID"] if existing else str(uuid.uuid4())
        record = self._invoice_record(org, merged, invoice_id, self._now(), seeded=False)
        if existing is not None:
            org.invoices[org.invoices.index(existing)] = record
        else:
            org.invoices.append(record)
        return record, []

    def _as_input(self, record: dict[str, Any]) -> dict[str, Any]:
        keep = (
            "Type",
            "Contact",
            "Date",
            "DueDate",
            "InvoiceNumber",
            "Reference",
            "CurrencyCode",
            "Status",
            "LineAmountTypes",
            "LineItems",
        )
        return {k: record[k] for k in keep if k in record}

    def _next_number(self, org: _Org) -> str:
        taken = {i["InvoiceNumber"] for i in org.invoices}
        n = len(org.invoices) + 1
        while f"INV-{n:04d}" in taken:
            n += 1
        return f"INV-{n:04d}"

    def _invoice_errors(
        self,
        org: _Org,
        data: dict[str, Any],
        existing: dict[str, Any] | None,
        pending: dict[str, set[str]],
    ) -> list[str]:
        errors: list[str] = []
        kind = data.get("Type")
        if kind not in ("ACCREC", "ACCPAY"):
            errors.append(self.messages["invalid_type"])
        status = str(data.get("Status") or "DRAFT")
        if status not in ("DRAFT", "SUBMITTED", "AUTHORISED") and not (existing and status in ("VOIDED", "DELETED")):
            errors.append(self.messages["invalid_status"].format(status=status))
        contact = dict(data.get("Contact") or {})
        if not any(contact.get(k) for k in ("ContactID", "Name", "ContactNumber")):
            errors.append(self.messages["contact_identify"])
        elif contact.get("ContactID") and self._find_contact(org, {"ContactID": contact["ContactID"]}) is None:
            errors.append(self.messages["unknown_contact"].format(id=contact["ContactID"]))
        number = data.get("InvoiceNumber")
        if kind == "ACCREC" and number:
            clash = any(
                i["Type"] == "ACCREC" and i["InvoiceNumber"] == number and i is not existing for i in org.invoices
            )
            if clash or number in pending.get("numbers", set()):
                errors.append(self.messages["invoice_number_taken"])
        currency = str(data.get("CurrencyCode") or org.base_currency)
        if currency not in {c["Code"] for c in org.currencies}:
            errors.append(self.messages["currency_not_enabled"].format(currency=currency))
        try:
            when = (parse_when(data.get("Date")) or self._now()).date()
        except ValueError:
            errors.append(f"The Date '{data.get('Date')}' is not a valid date.")
            when = self._now().date()
        lock = org.lock_date()
        if lock is not None and when <= lock:
            errors.append(self.messages["period_locked"].format(lock=lock.strftime("%d %b %Y")))
        if kind == "ACCREC" and status == "AUTHORISED" and org.invoice_cap is not None:
            approved = sum(
                1
                for i in org.invoices
                if i["Type"] == "ACCREC"
                and i["Status"] in ("AUTHORISED", "PAID")
                and i is not existing
                and (d := parse_when(i["Date"])) is not None
                and (d.year, d.month) == (when.year, when.month)
            )
            if approved >= org.invoice_cap:
                errors.append(self.messages["invoice_cap"])
        for line in data.get("LineItems") or []:
            errors.extend(self._line_errors(org, dict(line)))
        return list(dict.fromkeys(errors))

    def _line_errors(self, org: _Org, line: dict[str, Any]) -> list[str]:
        errors: list[str] = []
        item = None
        if line.get("ItemCode"):
            item = self._find_item(org, str(line["ItemCode"]))
            if item is None:
                errors.append(self.messages["unknown_item"].format(code=line["ItemCode"]))
        sales = dict((item or {}).get("SalesDetails") or {})
        account = line.get("AccountCode") or sales.get("AccountCode")
        if account:
            problem = self._account_problem(org, str(account))
            if problem:
                errors.append(problem)
        tax_type = line.get("TaxType")
        if tax_type:
            rate = self._tax_rate(org, str(tax_type))
            if rate is None or rate.get("Status", "ACTIVE") != "ACTIVE":
                errors.append(self.messages["invalid_tax"].format(tax=tax_type, account=account or ""))
        tracking = list(line.get("Tracking") or [])
        if len(tracking) > 2:
            errors.append(self.messages["too_many_tracking"])
        for given in tracking:
            category, option = self._tracking_lookup(org, dict(given))
            if (
                category is None
                or option is None
                or category.get("Status") != "ACTIVE"
                or option.get("Status") != "ACTIVE"
            ):
                errors.append(
                    self.messages["unknown_tracking"].format(name=given.get("Name", ""), option=given.get("Option", ""))
                )
        return errors

    # -- helpers for tests and the demo ----------------------------------------------------

    def org(self, tenant_id: str) -> _Org:
        return self.orgs[tenant_id]


def _parse_since(value: str) -> datetime | None:
    """``If-Modified-Since``: Xero's spec shows ISO 8601; an RFC 7231 HTTP-date works too."""
    try:
        return parse_when(value)
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise _BadRequest(f"If-Modified-Since '{value}' is not a valid date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


__all__ = ["MESSAGES", "XeroEmulator", "msdate", "parse_when"]
