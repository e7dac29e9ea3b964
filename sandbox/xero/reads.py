"""Xero's read endpoints: each takes the request and the organisation and answers the records
to put in the envelope, filtered by ``where``, ``searchTerm`` (Contacts, Invoices),
``If-Modified-Since``, ids and statuses, paged with ``page`` / ``pageSize`` where Xero pages
(Contacts, Invoices, Payments). Invoice unit amounts come to two decimals unless ``unitdp=4``.

``where`` strings have no escape character, as in Xero: ``"`` ends the string wherever it
stands and a backslash is an ordinary character, so ``Name=="O\"Brien"`` is refused and
``Code=="a\\b"`` looks for two backslashes."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from starlette.requests import Request

from sandbox.xero.messages import MESSAGES
from sandbox.xero.org import Org, Record
from sandbox.xero.wire import BadRequest, parse_when

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 1000  # Xero's maximum pageSize (2ry)
DEFAULT_PAGE_SIZE = 100
_CLAUSE = re.compile(r'^\s*([A-Za-z][\w.]*)\s*==\s*(?:"([^"]*)"|(true|false|-?\d+(?:\.\d+)?))\s*$')


@dataclass(frozen=True)
class Listing:
    """What a read answers: the envelope key, the records, the pagination object if paged."""

    key: str
    records: list[Record]
    pagination: dict[str, int] | None = None


Reader = Callable[[Request, Org], Listing]


def parse_where(where: str | None) -> list[tuple[str, Any]]:
    """The small subset of Xero's ``where`` filter Sync Doctor sends: ``A=="x" AND B==true``."""
    if not where:
        return []
    clauses: list[tuple[str, Any]] = []
    for part in re.split(r"\s+(?:AND|and)\s+|\s*&&\s*", where):
        match = _CLAUSE.match(part)
        if not match:
            raise BadRequest(MESSAGES["bad_where"].format(where=where))
        name, text, literal = match.groups()
        if text is not None:
            clauses.append((name, text))
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


def _parse_since(value: str) -> datetime | None:
    """``If-Modified-Since``: Xero's spec shows ISO 8601; an RFC 7231 HTTP-date works too."""
    try:
        return parse_when(value)
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise BadRequest(f"If-Modified-Since '{value}' is not a valid date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _filter(
    request: Request,
    records: Iterable[Record],
    *,
    ids_param: str | None = None,
    id_key: str = "",
) -> list[Record]:
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


def _paged(request: Request, key: str, records: list[Record]) -> Listing:
    q = request.query_params
    if "page" not in q:
        return Listing(key, records)
    try:
        page = max(int(q["page"]), 1)
        size = min(max(int(q.get("pageSize", DEFAULT_PAGE_SIZE)), 1), MAX_PAGE_SIZE)
    except ValueError as e:
        raise BadRequest("page and pageSize must be whole numbers") from e
    chunk = records[(page - 1) * size : page * size]
    pagination = {
        "page": page,
        "pageSize": size,
        "pageCount": math.ceil(len(records) / size),
        "itemCount": len(records),
    }
    return Listing(key, chunk, pagination)


def _in_list(request: Request, param: str) -> set[str] | None:
    """A comma-separated filter parameter (``Statuses=DRAFT,AUTHORISED``), None when absent."""
    value = request.query_params.get(param)
    return {n.strip() for n in value.split(",")} if value else None


def organisation(request: Request, org: Org) -> Listing:
    return Listing("Organisations", [org.organisation])


def actions(request: Request, org: Org) -> Listing:
    return Listing("Actions", org.actions)


def currencies(request: Request, org: Org) -> Listing:
    return Listing("Currencies", _filter(request, org.currencies))


def accounts(request: Request, org: Org) -> Listing:
    return Listing("Accounts", _filter(request, org.accounts))


def tax_rates(request: Request, org: Org) -> Listing:
    return Listing("TaxRates", _filter(request, org.tax_rates))


def tracking_categories(request: Request, org: Org) -> Listing:
    archived = request.query_params.get("includeArchived", "").lower() == "true"
    found = []
    for cat in _filter(request, org.tracking):
        if cat.get("Status") == "DELETED" or (cat.get("Status") == "ARCHIVED" and not archived):
            continue
        options = [
            o for o in cat["Options"] if o.get("Status") == "ACTIVE" or (archived and o.get("Status") == "ARCHIVED")
        ]
        found.append({**cat, "Options": options})
    return Listing("TrackingCategories", found)


def items(request: Request, org: Org) -> Listing:
    return Listing("Items", _filter(request, org.items))


def _search(request: Request, records: list[Record], fields: tuple[str, ...]) -> list[Record]:
    """``searchTerm``: a case-insensitive contains-search over ``fields`` [XS]."""
    term = request.query_params.get("searchTerm")
    if not term:
        return records
    wanted = term.casefold()
    return [r for r in records if any(wanted in str(r.get(f) or "").casefold() for f in fields)]


def _unit_places(request: Request, records: list[Record]) -> list[Record]:
    """Unit amounts to two decimals unless the caller opted in to four (``unitdp=4``)."""
    if request.query_params.get("unitdp") == "4":
        return records
    return [
        {**r, "LineItems": [{**line, "UnitAmount": _two(line.get("UnitAmount"))} for line in r.get("LineItems") or []]}
        for r in records
    ]


def _two(value: Any) -> Any:
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def contacts(request: Request, org: Org) -> Listing:
    records = _filter(request, org.contacts, ids_param="IDs", id_key="ContactID")
    records = _search(request, records, ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress"))
    if request.query_params.get("includeArchived", "").lower() != "true":
        records = [c for c in records if c.get("ContactStatus") != "ARCHIVED"]
    return _paged(request, "Contacts", records)


def invoices(request: Request, org: Org) -> Listing:
    records = _filter(request, org.invoices, ids_param="IDs", id_key="InvoiceID")
    records = _search(request, records, ("InvoiceNumber", "Reference"))
    numbers = _in_list(request, "InvoiceNumbers")
    if numbers is not None:
        records = [r for r in records if r.get("InvoiceNumber") in numbers]
    contact_ids = _in_list(request, "ContactIDs")
    if contact_ids is not None:
        records = [r for r in records if r["Contact"].get("ContactID") in contact_ids]
    statuses = _in_list(request, "Statuses")
    if statuses is not None:
        records = [r for r in records if r.get("Status") in statuses]
    listing = _paged(request, "Invoices", records)
    return Listing(listing.key, _unit_places(request, listing.records), listing.pagination)


def payments(request: Request, org: Org) -> Listing:
    return _paged(request, "Payments", _filter(request, org.payments))


# Accounting API path (after /api.xro/2.0/) -> reader
READS: dict[str, Reader] = {
    "Organisation": organisation,
    "Organisation/Actions": actions,
    "Currencies": currencies,
    "Contacts": contacts,
    "Items": items,
    "Invoices": invoices,
    "Accounts": accounts,
    "TaxRates": tax_rates,
    "TrackingCategories": tracking_categories,
    "Payments": payments,
}
