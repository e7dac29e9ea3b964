"""What an action will do, planned from fresh data: what the approver sees and what runs.

A :class:`Plan` is stored with the action when it is requested and executed as approved (the
run never re-plans: what an admin approved is what is written). For a re-sync it holds, per
invoice, the destination contact it will use (or create first), each line's item, quantity,
unit price, account, tax code and tracking, the totals and currency, and whether the invoice
is already in the destination (adopted, not pushed again) or blocked (with the finding that
explains why). Plans round-trip through JSON (``to_json`` / ``from_json``); money is kept as
decimal strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from checks.catalog import CATALOG, entry
from checks.findings import Finding
from checks.trace import describe
from common.money import decimal_text
from providers.records import Address, Contact, Invoice, InvoiceLine, InvoiceStatus, Item, TrackingRef

# What each planned record (invoice, contact, item) is about to become.
PUSH = "push"  # to be written
ALREADY_THERE = "already_there"  # found in the destination: adopted, not written again
BLOCKED = "blocked"  # cannot succeed as it stands: see its blockers
# A re-sync invoice's contact: an existing destination contact, or one created first.
USE = "use"
CREATE = "create"


@dataclass(frozen=True, slots=True)
class Blocker:
    """Why something in a plan cannot succeed, named by the finding code that explains it
    (``None`` when no finding of the catalog does, e.g. a void source invoice)."""

    code: str | None
    subject: str
    detail: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return CATALOG[self.code].title if self.code in CATALOG else "Cannot be pushed"

    @classmethod
    def from_finding(cls, finding: Finding) -> Blocker:
        return cls(finding.code, finding.subject, describe(finding), dict(finding.evidence))

    def to_finding(self, system: str | None = None) -> Finding | None:
        """The finding again, for remediation text (None without a catalog code)."""
        if self.code not in CATALOG:
            return None
        return Finding(self.code, entry(self.code).severity, self.subject, dict(self.evidence), system=system)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "subject": self.subject,
            "detail": self.detail,
            "evidence": _plain(self.evidence),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Blocker:
        return cls(data.get("code"), str(data["subject"]), str(data["detail"]), dict(data.get("evidence") or {}))


@dataclass(frozen=True, slots=True)
class PlannedLine:
    description: str | None
    sku: str | None
    item_id: str | None  # the destination item the line names (None: an ad-hoc line)
    item_name: str | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    account_code: str | None  # None: the destination item's own sales account applies
    tax_code: str | None  # None: the destination's default for the account / item
    tracking: tuple[TrackingRef, ...] = ()

    def to_line(self) -> InvoiceLine:
        return InvoiceLine(
            description=self.description,
            sku=self.sku,
            item_id=self.item_id,
            quantity=self.quantity,
            unit_amount=self.unit_price,
            amount=self.amount,
            account_code=self.account_code,
            tax_code=self.tax_code,
            tracking=self.tracking,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "sku": self.sku,
            "item_id": self.item_id,
            "item_name": self.item_name,
            "quantity": str(self.quantity),
            "unit_price": decimal_text(self.unit_price),
            "amount": decimal_text(self.amount),
            "account_code": self.account_code,
            "tax_code": self.tax_code,
            "tracking": [{"category": t.category, "option": t.option} for t in self.tracking],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlannedLine:
        return cls(
            description=data.get("description"),
            sku=data.get("sku"),
            item_id=data.get("item_id"),
            item_name=data.get("item_name"),
            quantity=Decimal(data["quantity"]),
            unit_price=Decimal(data["unit_price"]),
            amount=Decimal(data["amount"]),
            account_code=data.get("account_code"),
            tax_code=data.get("tax_code"),
            tracking=tuple(TrackingRef(t["category"], t["option"]) for t in data.get("tracking") or ()),
        )


@dataclass(frozen=True, slots=True)
class PlannedContact:
    key: str  # the source contact's id (its name when the source has no contact record)
    name: str
    email: str | None
    status: str  # resync: USE | CREATE; create_contact: PUSH | ALREADY_THERE | BLOCKED
    destination_id: str | None = None  # the destination contact used (None until created)
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address: Address | None = None
    blockers: tuple[Blocker, ...] = ()

    def to_contact(self) -> Contact:
        return Contact(
            id=self.key,
            name=self.name,
            email=self.email,
            first_name=self.first_name,
            last_name=self.last_name,
            company=self.company,
            address=self.address,
        )

    def to_json(self) -> dict[str, Any]:
        a = self.address
        return {
            "key": self.key,
            "name": self.name,
            "email": self.email,
            "status": self.status,
            "destination_id": self.destination_id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "address": None
            if a is None
            else {"line1": a.line1, "city": a.city, "region": a.region, "postcode": a.postcode, "country": a.country},
            "blockers": [b.to_json() for b in self.blockers],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlannedContact:
        address = data.get("address")
        return cls(
            key=str(data["key"]),
            name=str(data["name"]),
            email=data.get("email"),
            status=str(data["status"]),
            destination_id=data.get("destination_id"),
            first_name=data.get("first_name"),
            last_name=data.get("last_name"),
            company=data.get("company"),
            address=Address(**address) if address else None,
            blockers=tuple(Blocker.from_json(b) for b in data.get("blockers") or ()),
        )


@dataclass(frozen=True, slots=True)
class PlannedInvoice:
    number: str
    source_id: str
    status: str  # PUSH | ALREADY_THERE | BLOCKED
    currency: str
    invoice_status: InvoiceStatus  # draft / open / paid: what the destination is asked to create
    contact: PlannedContact | None
    lines: tuple[PlannedLine, ...]
    total: Decimal
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    issue_date: date | None = None
    due_date: date | None = None
    reference: str | None = None
    destination_id: str | None = None  # the copy already in the destination
    blockers: tuple[Blocker, ...] = ()

    def to_invoice(self, contact_id: str | None) -> Invoice:
        """The record to push: references are the destination's (``contact_id`` is the
        contact the plan uses, or the one a contact step of this action created)."""
        contact = self.contact
        return Invoice(
            id=self.source_id,
            number=self.number,
            status=self.invoice_status,
            currency=self.currency,
            total=self.total,
            contact_id=contact_id,
            contact_name=contact.name if contact else None,
            contact_email=contact.email if contact else None,
            issue_date=self.issue_date,
            due_date=self.due_date,
            lines=tuple(line.to_line() for line in self.lines),
            subtotal=self.subtotal,
            tax=self.tax,
            reference=self.reference,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "source_id": self.source_id,
            "status": self.status,
            "currency": self.currency,
            "invoice_status": self.invoice_status.value,
            "contact": self.contact.to_json() if self.contact else None,
            "lines": [line.to_json() for line in self.lines],
            "subtotal": _money(self.subtotal),
            "tax": _money(self.tax),
            "total": decimal_text(self.total),
            "issue_date": self.issue_date.isoformat() if self.issue_date else None,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "reference": self.reference,
            "destination_id": self.destination_id,
            "blockers": [b.to_json() for b in self.blockers],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlannedInvoice:
        return cls(
            number=str(data["number"]),
            source_id=str(data["source_id"]),
            status=str(data["status"]),
            currency=str(data["currency"]),
            invoice_status=InvoiceStatus(data["invoice_status"]),
            contact=PlannedContact.from_json(data["contact"]) if data.get("contact") else None,
            lines=tuple(PlannedLine.from_json(li) for li in data.get("lines") or ()),
            total=Decimal(data["total"]),
            subtotal=_decimal(data.get("subtotal")),
            tax=_decimal(data.get("tax")),
            issue_date=_day(data.get("issue_date")),
            due_date=_day(data.get("due_date")),
            reference=data.get("reference"),
            destination_id=data.get("destination_id"),
            blockers=tuple(Blocker.from_json(b) for b in data.get("blockers") or ()),
        )


@dataclass(frozen=True, slots=True)
class PlannedItem:
    code: str
    name: str
    status: str  # PUSH | ALREADY_THERE | BLOCKED
    unit_price: Decimal | None = None
    account_code: str | None = None
    tax_code: str | None = None
    destination_id: str | None = None
    blockers: tuple[Blocker, ...] = ()

    def to_item(self) -> Item:
        return Item(
            id=self.code,
            code=self.code,
            name=self.name,
            unit_price=self.unit_price,
            account_code=self.account_code,
            tax_code=self.tax_code,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "status": self.status,
            "unit_price": _money(self.unit_price),
            "account_code": self.account_code,
            "tax_code": self.tax_code,
            "destination_id": self.destination_id,
            "blockers": [b.to_json() for b in self.blockers],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlannedItem:
        return cls(
            code=str(data["code"]),
            name=str(data["name"]),
            status=str(data["status"]),
            unit_price=_decimal(data.get("unit_price")),
            account_code=data.get("account_code"),
            tax_code=data.get("tax_code"),
            destination_id=data.get("destination_id"),
            blockers=tuple(Blocker.from_json(b) for b in data.get("blockers") or ()),
        )


@dataclass(frozen=True, slots=True)
class PlannedConsent:
    """A re-authorisation: a consent link for one side, issued to the approver."""

    system: str
    side: str
    display_name: str

    def to_json(self) -> dict[str, Any]:
        return {"system": self.system, "side": self.side, "display_name": self.display_name}


@dataclass(frozen=True, slots=True)
class Plan:
    kind: str  # actions.states.ActionKind
    integration: str
    source: str  # system keys
    destination: str
    destination_name: str  # display name of the system written to ("Xero")
    planned_at: datetime
    invoices: tuple[PlannedInvoice, ...] = ()
    contacts: tuple[PlannedContact, ...] = ()  # resync: contacts created before the invoices
    items: tuple[PlannedItem, ...] = ()
    consent: PlannedConsent | None = None
    repeated: tuple[str, ...] = ()  # numbers asked for more than once (planned once)

    @property
    def label(self) -> str:
        """What a button or a list calls this action."""
        where = self.destination_name
        if self.kind == "resync":
            numbers = [i.number for i in self.invoices]
            return (
                f"Re-sync {numbers[0]} to {where}"
                if len(numbers) == 1
                else f"Re-sync {len(numbers)} invoices to {where}"
            )
        if self.kind == "create_item" and self.items:
            return f"Create item {self.items[0].code} in {where}"
        if self.kind == "create_contact" and self.contacts:
            return f"Create contact {self.contacts[0].name} in {where}"
        if self.consent is not None:
            return f"Send re-authorise link for {self.consent.display_name} ({self.consent.side})"
        return f"{self.kind} on {self.integration}"

    def blocked(self) -> list[tuple[str, Blocker]]:
        """(what, why) for everything this plan will not write."""
        found: list[tuple[str, Blocker]] = []
        for invoice in self.invoices:
            found.extend((invoice.number, b) for b in invoice.blockers)
        if self.kind != "resync":
            for contact in self.contacts:
                found.extend((contact.name, b) for b in contact.blockers)
        for item in self.items:
            found.extend((item.code, b) for b in item.blockers)
        return found

    @property
    def runnable(self) -> bool:
        """True when at least one thing can be written or adopted."""
        if self.consent is not None:
            return True
        records: list[PlannedInvoice | PlannedItem | PlannedContact] = [
            *self.invoices,
            *self.items,
            *(self.contacts if self.kind == "create_contact" else ()),
        ]
        return any(r.status != BLOCKED for r in records)

    def counts(self) -> dict[str, int]:
        records: Sequence[PlannedInvoice | PlannedItem | PlannedContact] = (
            self.invoices or self.items or (self.contacts if self.kind == "create_contact" else ())
        )
        counts = {PUSH: 0, ALREADY_THERE: 0, BLOCKED: 0}
        for record in records:
            counts[record.status] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "integration": self.integration,
            "source": self.source,
            "destination": self.destination,
            "destination_name": self.destination_name,
            "planned_at": self.planned_at.isoformat(),
            "counts": self.counts(),
            "invoices": [i.to_json() for i in self.invoices],
            "contacts": [c.to_json() for c in self.contacts],
            "items": [i.to_json() for i in self.items],
            "consent": self.consent.to_json() if self.consent else None,
            "repeated": list(self.repeated),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        consent = data.get("consent")
        return cls(
            kind=str(data["kind"]),
            integration=str(data["integration"]),
            source=str(data["source"]),
            destination=str(data["destination"]),
            destination_name=str(data["destination_name"]),
            planned_at=datetime.fromisoformat(data["planned_at"]),
            invoices=tuple(PlannedInvoice.from_json(i) for i in data.get("invoices") or ()),
            contacts=tuple(PlannedContact.from_json(c) for c in data.get("contacts") or ()),
            items=tuple(PlannedItem.from_json(i) for i in data.get("items") or ()),
            consent=PlannedConsent(**consent) if consent else None,
            repeated=tuple(data.get("repeated") or ()),
        )


def _money(value: Decimal | None) -> str | None:
    return decimal_text(value) if value is not None else None


def _decimal(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def _plain(value: Any) -> Any:
    """Evidence as JSON keeps it (dates and decimals as text)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
