"""Zoho Books' read endpoints: lists paged with ``page`` / ``per_page`` and answered with a
``page_context`` [Z-PAGE], the filters Sync Doctor and syncs send [Z-INV], single records.

Invoice list rows carry no ``line_items`` (the official list example has none); the single
invoice read does. Contact list rows carry no addresses; the single contact does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from sandbox.zoho_books.wire import ZohoError, parse_time
from sandbox.zoho_books.world import Org, Record

logger = logging.getLogger(__name__)

INVOICE_LIST_KEYS = (
    "invoice_id", "invoice_number", "reference_number", "date", "due_date", "status", "customer_id",
    "customer_name", "currency_id", "currency_code", "exchange_rate", "total", "balance",
    "created_time", "last_modified_time",
)  # fmt: skip
CONTACT_LIST_KEYS = (
    "contact_id", "contact_name", "company_name", "contact_type", "status", "currency_id", "currency_code",
    "email", "first_name", "last_name", "created_time", "last_modified_time",
)  # fmt: skip
INVOICE_STATUSES = {
    "Status.All": None, "Status.Sent": {"sent"}, "Status.Draft": {"draft"}, "Status.OverDue": {"overdue"},
    "Status.Paid": {"paid"}, "Status.Void": {"void"}, "Status.Unpaid": {"sent", "overdue", "unpaid", "viewed"},
    "Status.PartiallyPaid": {"partially_paid"}, "Status.Viewed": {"viewed"},
}  # fmt: skip


@dataclass(frozen=True)
class Paging:
    max_per_page: int = 200
    over_max: str = "clamp"  # clamp | reject: what a larger per_page gets (UNCONFIRMED)


def _int(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ZohoError("required", field=name) from None


def page(request: Request, key: str, records: list[Record], paging: Paging) -> dict[str, Any]:
    number = max(_int(request, "page", 1), 1)
    size = _int(request, "per_page", paging.max_per_page)
    if size > paging.max_per_page and paging.over_max == "reject":
        raise ZohoError("required", field=f"per_page (at most {paging.max_per_page})")
    size = min(max(size, 1), paging.max_per_page)
    chunk = records[(number - 1) * size : number * size]
    return {
        key: chunk,
        "page_context": {"page": number, "per_page": size, "has_more_page": number * size < len(records)},
    }


def _status_filter(
    request: Request, statuses: Mapping[str, set[str] | None], records: Iterable[Record]
) -> list[Record]:
    wanted = statuses.get(request.query_params.get("filter_by", "Status.All"))
    single = request.query_params.get("status")
    return [r for r in records if (wanted is None or r["status"] in wanted) and (not single or r["status"] == single)]


def invoices(request: Request, org: Org, paging: Paging) -> dict[str, Any]:
    q = request.query_params
    found = _status_filter(request, INVOICE_STATUSES, org.invoices)
    if q.get("invoice_number"):
        found = [r for r in found if r["invoice_number"] == q["invoice_number"]]
    if q.get("customer_id"):
        found = [r for r in found if r["customer_id"] == q["customer_id"]]
    if q.get("date_start"):
        found = [r for r in found if r["date"] >= q["date_start"]]
    if q.get("last_modified_time"):
        try:
            after = parse_time(q["last_modified_time"])
        except ValueError:
            raise ZohoError("required", field="last_modified_time in the form 2018-11-18T02:02:51-0800") from None
        found = [r for r in found if parse_time(r["last_modified_time"]) > after]
    rows = [{k: r[k] for k in INVOICE_LIST_KEYS if k in r} for r in found]
    return page(request, "invoices", rows, paging)


def contacts(request: Request, org: Org, paging: Paging) -> dict[str, Any]:
    q = request.query_params
    statuses = {"Status.All": None, "Status.Active": {"active"}, "Status.Inactive": {"inactive"}}
    found = _status_filter(request, statuses, org.contacts)
    if q.get("contact_name"):
        found = [c for c in found if c["contact_name"] == q["contact_name"]]
    if q.get("search_text"):
        text = q["search_text"].casefold()
        found = [c for c in found if text in c["contact_name"].casefold() or text in str(c.get("email")).casefold()]
    rows = [{k: c[k] for k in CONTACT_LIST_KEYS if k in c} for c in found]
    return page(request, "contacts", rows, paging)


def items(request: Request, org: Org, paging: Paging) -> dict[str, Any]:
    q = request.query_params
    statuses = {"Status.All": None, "Status.Active": {"active"}, "Status.Inactive": {"inactive"}}
    # Without a filter Zoho lists active items (the UI's default view; UNCONFIRMED for the API).
    found = [i for i in org.items if i["status"] == "active"] if "filter_by" not in q else org.items
    found = _status_filter(request, statuses, found)
    if q.get("search_text"):
        text = q["search_text"].casefold()
        found = [i for i in found if text in i["name"].casefold() or text in str(i.get("sku")).casefold()]
    return page(request, "items", found, paging)


def chartofaccounts(request: Request, org: Org, paging: Paging) -> dict[str, Any]:
    wanted = request.query_params.get("filter_by", "AccountType.Active")
    found = org.accounts if wanted == "AccountType.All" else [a for a in org.accounts if a.get("is_active", True)]
    return page(request, "chartofaccounts", found, paging)


def customerpayments(request: Request, org: Org, paging: Paging) -> dict[str, Any]:
    return page(request, "customerpayments", org.payments, paging)


def one(records: list[Record], key: str, wanted: str, what: str) -> Record:
    found = next((r for r in records if r[key] == wanted), None)
    if found is None:
        raise ZohoError("not_found", what=what)
    return found


Lister = Callable[[Request, Org, Paging], dict[str, Any]]
LISTS: dict[str, Lister] = {
    "invoices": invoices,
    "contacts": contacts,
    "items": items,
    "chartofaccounts": chartofaccounts,
    "customerpayments": customerpayments,
}
