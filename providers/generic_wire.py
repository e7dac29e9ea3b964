"""A feed's records -> typed records, through its field mapping (pure; ``providers.generic``
fetches). Every mismatch between the mapping and the payload is a ``FeedMismatch`` naming
the field, its path, why it does not fit, and one record as the app sent it; nothing is read
as "empty" because a path has a typo.

Rules (``config/sources.py``): a required field must resolve in every record; any other mapped
field must resolve in at least one record of a response, unless marked ``optional``. Values:
text is stripped (blank is None); numbers accept ``1,234.50`` and a leading currency sign;
dates use the field's ``format`` or ISO 8601; a status must be one of draft / open / paid / void
or be mapped by ``values``; a flag is ``boolean`` (true / 1 / yes) or ``nonempty``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from config.sources import STATUSES, FeedConfig, FieldSpec
from providers.errors import FeedMismatch
from providers.records import Contact, Invoice, InvoiceLine, InvoiceStatus, Item

logger = logging.getLogger(__name__)

SAMPLE_CHARS = 700
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "t"})
_MISSING = object()


def sample_text(record: Any) -> str:
    """One record as the app sent it, short enough for a report."""
    try:
        text = json.dumps(record, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(record)
    return text if len(text) <= SAMPLE_CHARS else text[: SAMPLE_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class Where:
    """What is being read, for messages: ``feed.mapping.invoice`` of the invoices endpoint."""

    system: str
    resource: str  # invoices / contacts / items
    record: str  # invoice / line / contact / item
    app: str = ""  # the app's display name, for messages

    def key(self, field: str) -> str:
        return f"feed.mapping.{self.record}.{field}"


def mismatch(where: Where, spec: FieldSpec | None, field: str, why: str, record: Any) -> FeedMismatch:
    path = spec.path.text if spec is not None and spec.path is not None else (spec.const or "") if spec else ""
    key = where.key(field) if spec is not None else field
    return FeedMismatch(
        f"{key} ({path}) does not fit the {where.resource} {where.app or where.system} returned: {why}",
        field=key,
        path=path,
        sample=sample_text(record),
        system=where.system,
        code="feed_mismatch",
    )


class FieldReader:
    """Reads the mapped fields of one record kind from many records, tracking which optional
    paths never matched so a typo is reported once the whole response has been read."""

    def __init__(self, fields: Mapping[str, FieldSpec], where: Where) -> None:
        self.fields = fields
        self.where = where
        self._seen: set[str] = set()
        self._first: Any = _MISSING

    def read(self, record: Any) -> dict[str, Any]:
        if self._first is _MISSING:
            self._first = record
        values: dict[str, Any] = {}
        for name, spec in self.fields.items():
            values[name] = self._value(spec, record)
        return values

    def _value(self, spec: FieldSpec, record: Any) -> Any:
        if spec.path is None:
            return convert(spec, spec.const, record, self.where)
        if spec.kind == "many":
            found, miss = spec.path.find(record)
            if found or miss is None:
                self._seen.add(spec.name)
            return found
        raw, miss = spec.path.first(record)
        if miss is not None:
            if spec.required:
                raise mismatch(self.where, spec, spec.name, miss.describe(), record)
            return None
        self._seen.add(spec.name)
        value = convert(spec, raw, record, self.where)
        if value is None and spec.required:
            raise mismatch(self.where, spec, spec.name, "it is empty", record)
        return value

    def finish(self) -> None:
        """After the last record: a mapped, non-optional path that matched no record at all."""
        if self._first is _MISSING:
            return
        for name, spec in self.fields.items():
            if spec.path is not None and not spec.optional and not spec.required and name not in self._seen:
                _, miss = spec.path.first(self._first)
                why = miss.describe() if miss is not None else "it matched no record"
                raise mismatch(self.where, spec, name, f"{why} (in every record)", self._first)


def convert(spec: FieldSpec, raw: Any, record: Any, where: Where) -> Any:
    if raw is None:
        return False if spec.kind == "flag" and spec.truthy == "nonempty" else None
    if isinstance(raw, Mapping | list):
        if spec.kind == "flag" and spec.truthy == "nonempty":
            return bool(raw)
        raise mismatch(
            where,
            spec,
            spec.name,
            f"it is {'an object' if isinstance(raw, Mapping) else 'a list'}, not a value",
            record,
        )
    text = str(raw).strip()
    if spec.kind == "text":
        return text or None
    if spec.kind == "flag":
        if spec.truthy == "nonempty":
            return bool(text)
        return text.casefold() in TRUE_WORDS if text else None
    if not text:
        return None
    if spec.kind == "decimal":
        return number(spec, text, record, where)
    if spec.kind == "date":
        return moment(spec, text, record, where)
    if spec.kind == "status":
        key = text.casefold()
        if key in spec.values:
            return InvoiceStatus(spec.values[key])
        if not spec.values and key in STATUSES:
            return InvoiceStatus(key)
        known = ", ".join(sorted(spec.values)) or ", ".join(STATUSES)
        raise mismatch(where, spec, spec.name, f"the value {text!r} is not one of {known}: map it under values", record)
    return text


def number(spec: FieldSpec, text: str, record: Any, where: Where) -> Decimal:
    cleaned = text.replace(",", "").replace(" ", "").lstrip("£$€¥")
    negative = cleaned.startswith("(") and cleaned.endswith(")")  # accounting exports write (12.50)
    try:
        value = Decimal(cleaned.strip("()"))
    except InvalidOperation:
        raise mismatch(where, spec, spec.name, f"the value {text!r} is not a number", record) from None
    return -value if negative else value


def moment(spec: FieldSpec, text: str, record: Any, where: Where) -> date | datetime:
    try:
        if spec.format:
            parsed = datetime.strptime(text, spec.format)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        how = f"the format {spec.format!r}" if spec.format else "ISO 8601 (or set format)"
        raise mismatch(where, spec, spec.name, f"the value {text!r} does not read as {how}", record) from None
    if spec.name == "updated_at":
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed.date()


class FeedMapper:
    """Applies one feed's mapping to the records of its invoices, contacts and items."""

    def __init__(self, feed: FeedConfig, app: str = "") -> None:
        self.feed = feed
        self.app = app  # display name, for messages

    def invoices(self, records: Sequence[Any], *, grouped: bool = False) -> list[Invoice]:
        """``records`` are invoice records, or (``grouped``) lists of line rows of one invoice."""
        system = self.feed.system
        head = FieldReader(self.feed.fields("invoice"), Where(system, "invoices", "invoice", self.app))
        lines = FieldReader(self.feed.fields("line"), Where(system, "invoices", "line", self.app))
        lines_spec = self.feed.fields("invoice").get("lines")
        found: list[Invoice] = []
        for record in records:
            rows = list(record) if grouped else [record]
            values = head.read(rows[0])
            if grouped and lines_spec is not None and lines_spec.path is not None:
                line_records = [r for row in rows for r in lines_spec.path.find(row)[0]]
            else:
                line_records = list(values.get("lines") or [])
            found.append(self._invoice(values, [lines.read(r) for r in line_records]))
        head.finish()
        lines.finish()
        return found

    def _invoice(self, v: Mapping[str, Any], lines: Iterable[Mapping[str, Any]]) -> Invoice:
        number = v.get("number") or v.get("id")
        return Invoice(
            id=str(v.get("id") or number),
            number=str(number) if number else None,
            status=v["status"],
            currency=str(v["currency"]).upper(),
            total=v["total"],
            raw_status=None,
            contact_id=v.get("contact_id"),
            contact_name=v.get("contact_name"),
            contact_email=v.get("contact_email"),
            issue_date=v.get("date"),
            due_date=v.get("due_date"),
            lines=tuple(line(row) for row in lines),
            subtotal=v.get("subtotal"),
            tax=v.get("tax"),
            amount_paid=v.get("amount_paid"),
            updated_at=v.get("updated_at"),
            reference=v.get("reference"),
            posted=v.get("posted"),
            job=v.get("job"),
        )

    def contacts(self, records: Sequence[Any]) -> list[Contact]:
        reader = FieldReader(self.feed.fields("contact"), Where(self.feed.system, "contacts", "contact", self.app))
        found = []
        for record in records:
            v = reader.read(record)
            found.append(
                Contact(
                    id=str(v["id"]),
                    name=str(v["name"]),
                    email=v.get("email"),
                    first_name=v.get("first_name"),
                    last_name=v.get("last_name"),
                    company=v.get("company"),
                )
            )
        reader.finish()
        return found

    def items(self, records: Sequence[Any]) -> list[Item]:
        reader = FieldReader(self.feed.fields("item"), Where(self.feed.system, "items", "item", self.app))
        found = []
        for record in records:
            v = reader.read(record)
            active = v.get("active")
            found.append(
                Item(
                    id=str(v["id"]),
                    code=v.get("code"),
                    name=str(v["name"]),
                    active=True if active is None else bool(active),
                    unit_price=v.get("price"),
                    account_code=v.get("account_code"),
                )
            )
        reader.finish()
        return found


def line(v: Mapping[str, Any]) -> InvoiceLine:
    """A line: quantity 1 when not given; the amount from quantity x unit price when not given,
    and the unit price from amount / quantity."""
    given = v.get("quantity")
    quantity = given if isinstance(given, Decimal) else Decimal(1)
    unit = v.get("unit_price")
    amount = v.get("amount")
    if amount is None:
        amount = (unit or Decimal(0)) * quantity
    if unit is None:
        unit = amount / quantity if quantity else amount
    return InvoiceLine(
        description=v.get("description"),
        sku=v.get("sku"),
        quantity=quantity,
        unit_amount=unit,
        amount=amount,
        account_code=v.get("account_code"),
        tax_code=v.get("tax_code"),
    )
