"""MYOB's reads: collections paged with OData ``$top`` (400 by default, at most 1000) and
``$skip``, filtered with ``$filter``, ordered with ``$orderby`` [M-RD], answered as
``{"Items", "NextPageLink", "Count"}`` [SDK]; single entities by UID; Company and Preferences.

``/Sale/Invoice`` lists every layout with its ``InvoiceType`` and without lines (the generic
invoice has none in the SDK); each layout's own collection carries the lines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from sandbox.myob.wire import FilterError, MyobError, parse_filter
from sandbox.myob.world import CompanyFile, Record

logger = logging.getLogger(__name__)

GENERIC_INVOICE_KEYS = (
    "UID", "Number", "Date", "CustomerPurchaseOrderNumber", "Customer", "PromisedDate", "BalanceDueAmount", "Status",
    "Subtotal", "TotalTax", "TotalAmount", "InvoiceType", "LastModified", "RowVersion", "URI",
)  # fmt: skip


@dataclass(frozen=True)
class Paging:
    default_top: int = 400  # [M-RD]
    max_top: int = 1000
    next_page_link: bool = True  # the link's exact form is UNCONFIRMED
    count: bool = True


def _int(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        raise MyobError("serialization", value=f"{name} to an integer") from None


def collection(request: Request, rows: list[Record], paging: Paging) -> dict[str, Any]:
    q = request.query_params
    try:
        predicate = parse_filter(q.get("$filter"))
    except FilterError as e:
        raise MyobError("serialization", value=f"$filter: {e}") from None
    found = [r for r in rows if predicate(r)]
    order = q.get("$orderby")
    if order:
        field, _, direction = order.partition(" ")
        found.sort(key=lambda r: str(r.get(field) or ""), reverse=direction.strip().lower() == "desc")
    top = min(max(_int(request, "$top", paging.default_top), 1), paging.max_top)
    skip = max(_int(request, "$skip", 0), 0)
    chunk = found[skip : skip + top]
    next_link = None
    if paging.next_page_link and skip + top < len(found):
        params = {k: v for k, v in q.items() if k not in ("$top", "$skip")}
        params.update({"$top": str(top), "$skip": str(skip + top)})
        next_link = f"{str(request.url).split('?', 1)[0]}?{urlencode(params)}"
    return {"Items": chunk, "NextPageLink": next_link, "Count": len(found) if paging.count else None}


def generic_invoices(cf: CompanyFile) -> list[Record]:
    rows = cf.lists["Sale/Invoice/Item"] + cf.lists["Sale/Invoice/Service"]
    return [{k: r.get(k) for k in GENERIC_INVOICE_KEYS} for r in rows]


def company_file(request: Request, cf: CompanyFile) -> dict[str, Any]:
    """``GET {cf_uri}``: the file and its resources [SDK]; Subscription only with ``$expand``."""
    expand = "Subscription" in (request.query_params.get("$expand") or "")
    record = {**cf.record, "Subscription": cf.record.get("Subscription") if expand else None}
    return {"CompanyFile": record, "Resources": [f"{cf.record['Uri']}/{c}" for c in ("Company", "Contact", "Sale")]}
