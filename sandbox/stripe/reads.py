"""Stripe's reads: the account, the lists (newest first, filtered as each list's parameters
say, paged by cursor) and one invoice with its lines. A handler takes the request, the caller
and the parsed query, and answers the payload."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request

from sandbox.stripe.params import LIST_PARAMS, PAGING
from sandbox.stripe.render import Renderer
from sandbox.stripe.store import Ctx, Obj
from sandbox.stripe.wire import StripeFailure, flag

logger = logging.getLogger(__name__)


class Reads:
    def __init__(self, render: Renderer) -> None:
        self.render = render

    def account(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        """``GET /v1/account``: the key's own account."""
        raw = ctx.account.raw
        return {
            "id": ctx.account.id,
            "object": "account",
            "business_profile": {
                "mcc": None,
                "name": raw.get("business_name"),
                "product_description": None,
                "support_address": None,
                "support_email": None,
                "support_phone": None,
                "support_url": None,
                "url": None,
            },
            "business_type": raw.get("business_type", "company"),
            "capabilities": {"card_payments": "active", "transfers": "active"},
            "charges_enabled": flag(raw.get("charges_enabled", True)),
            "country": raw.get("country", "US"),
            "created": ctx.account.created,
            "default_currency": str(raw.get("default_currency", "usd")).lower(),
            "details_submitted": True,
            "email": raw.get("email"),
            "metadata": {},
            "payouts_enabled": flag(raw.get("payouts_enabled", True)),
            "settings": {
                "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
                "card_payments": {
                    "decline_on": {"avs_failure": False, "cvc_failure": False},
                    "statement_descriptor_prefix": None,
                    "statement_descriptor_prefix_kana": None,
                    "statement_descriptor_prefix_kanji": None,
                },
                "dashboard": {"display_name": raw.get("display_name"), "timezone": raw.get("timezone", "Etc/UTC")},
                "payments": {
                    "statement_descriptor": None,
                    "statement_descriptor_kana": None,
                    "statement_descriptor_kanji": None,
                },
            },
            "type": "standard",
        }

    def customers(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        # Stripe's customer list never returns deleted customers.
        found = [c for c in ctx.account.newest_first("customers") if not c["_deleted"]]
        if params.get("email"):
            found = [c for c in found if c.get("email") == params["email"]]
        return self._list(found, params, ctx, "customers")

    def products(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        found = _active(ctx.account.newest_first("products"), params)
        return self._list(found, params, ctx, "products")

    def prices(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        found = _active(ctx.account.newest_first("prices"), params)
        if params.get("product"):
            found = [p for p in found if p["product"] == params["product"]]
        if params.get("currency"):
            found = [p for p in found if p["currency"] == str(params["currency"]).lower()]
        return self._list(found, params, ctx, "prices")

    def tax_rates(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        found = _active(ctx.account.newest_first("tax_rates"), params)
        if "inclusive" in params:
            found = [t for t in found if t["inclusive"] == flag(params["inclusive"])]
        return _page(found, params, "/v1/tax_rates", "tax_rates", lambda o: self.render.plain(o, ctx))

    def invoices(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        found = ctx.account.newest_first("invoices")
        for name in ("customer", "status", "collection_method"):
            if params.get(name):
                found = [i for i in found if i.get(name) == params[name]]
        found = _created(found, params.get("created"))
        return _page(found, params, "/v1/invoices", "invoices", lambda o: self.render.invoice(o, ctx))

    def invoice(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        return self.render.invoice(find_invoice(ctx, request.path_params["invoice"]), ctx)

    def search_invoices(self, request: Request, ctx: Ctx, params: Mapping[str, Any], *, now: float, lag: float) -> Obj:
        """``GET /v1/invoices/search``: Stripe's search query language, the part clients send
        (``field:"value"`` clauses on number, status, customer, currency and
        ``metadata["key"]``, joined by AND or by OR), ``limit`` and a ``page`` cursor. Search is
        eventually consistent: objects created less than ``lag`` seconds ago are not found yet."""
        for name in params:
            if name not in ("query", "limit", "page", "expand"):
                raise StripeFailure(400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)
        clauses, joiner = parse_search(str(params.get("query") or ""))
        limit = _search_limit(params.get("limit", "10"))
        combine = all if joiner == "AND" else any
        found = [
            invoice
            for invoice in ctx.account.newest_first("invoices")
            if now - float(invoice.get("created") or 0) >= lag
            and combine(_search_value(invoice, field) == value for field, value in clauses)
        ]
        offset = int(str(params.get("page") or "0")) if str(params.get("page") or "0").isdigit() else 0
        page = found[offset : offset + limit]
        more = offset + limit < len(found)
        return {
            "object": "search_result",
            "url": "/v1/invoices/search",
            "has_more": more,
            "next_page": str(offset + limit) if more else None,
            "data": [self.render.invoice(invoice, ctx) for invoice in page],
        }

    def invoice_lines(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        invoice = find_invoice(ctx, request.path_params["invoice"])
        url = f"/v1/invoices/{invoice['id']}/lines"
        return _page(list(invoice["_lines"]), params, url, "lines", lambda line: self.render.line(line, invoice, ctx))

    def invoiceitems(self, request: Request, ctx: Ctx, params: Mapping[str, Any]) -> Obj:
        found = ctx.account.newest_first("invoiceitems")
        if params.get("customer"):
            found = [i for i in found if i["customer"] == params["customer"]]
        if params.get("invoice"):
            found = [i for i in found if i["invoice"] == params["invoice"]]
        if "pending" in params:
            found = [i for i in found if (i["invoice"] is None) == flag(params["pending"])]
        return _page(found, params, "/v1/invoiceitems", "invoiceitems", lambda o: self.render.invoiceitem(o, ctx))

    def _list(self, found: list[Obj], params: Mapping[str, Any], ctx: Ctx, kind: str) -> Obj:
        """A plain list filtered by ``created``, then paged."""
        found = _created(found, params.get("created"))
        return _page(found, params, f"/v1/{kind}", kind, lambda o: self.render.plain(o, ctx))


_SEARCH_CLAUSE = re.compile(
    r"""\s*(number|status|customer|currency|metadata\[(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\])"""
    r"""\s*:\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*"""
)


def parse_search(query: str) -> tuple[list[tuple[str, str]], str]:
    """([(field, value)], "AND" | "OR"); values compared without regard to case, as Stripe's
    exact-match ``:`` does for strings. Quotes inside a value are escaped with a backslash."""
    clauses: list[tuple[str, str]] = []
    joiners: set[str] = set()
    pos = 0
    while True:
        match = _SEARCH_CLAUSE.match(query, pos)
        if match is None:
            raise StripeFailure(400, f"Invalid search query: {query!r}", code="parameter_invalid_string", param="query")
        field, key_dq, key_sq, value_dq, value_sq = match.groups()
        if field.startswith("metadata"):
            field = "metadata:" + _unescape(key_dq if key_dq is not None else key_sq)
        clauses.append((field, _unescape(value_dq if value_dq is not None else value_sq).casefold()))
        pos = match.end()
        if pos >= len(query):
            break
        joiner = re.match(r"(AND|OR)\s+", query[pos:])
        if joiner is None:
            raise StripeFailure(400, f"Invalid search query: {query!r}", code="parameter_invalid_string", param="query")
        joiners.add(joiner.group(1))
        pos += joiner.end()
    if len(joiners) > 1:
        raise StripeFailure(
            400, "A search query cannot mix AND and OR.", code="parameter_invalid_string", param="query"
        )
    return clauses, joiners.pop() if joiners else "AND"


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _search_value(invoice: Obj, field: str) -> str:
    if field.startswith("metadata:"):
        value = (invoice.get("metadata") or {}).get(field.removeprefix("metadata:"))
    else:
        value = invoice.get(field)
    return str(value).casefold() if value is not None else "\0"


def _search_limit(raw: Any) -> int:
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise StripeFailure(400, f"Invalid integer: {raw}", code="parameter_invalid_integer", param="limit") from None
    if not 1 <= limit <= 100:
        raise StripeFailure(
            400,
            "This value must be greater than or equal to 1 and less than or equal to 100.",
            code="parameter_invalid_integer",
            param="limit",
        )
    return limit


def find_invoice(ctx: Ctx, invoice_id: str, *, param: str | None = None, status: int = 404) -> Obj:
    invoice = ctx.account.store["invoices"].get(invoice_id)
    if invoice is None:
        raise StripeFailure(status, f"No such invoice: '{invoice_id}'", code="resource_missing", param=param or "id")
    return invoice


def _active(found: list[Obj], params: Mapping[str, Any]) -> list[Obj]:
    if "active" in params:
        return [o for o in found if o["active"] == flag(params["active"])]
    return found


def _page(objects: list[Obj], query: Mapping[str, Any], url: str, kind: str, render: Callable[[Obj], Obj]) -> Obj:
    """One page of Stripe's list envelope: ``limit`` 1-100 from ``starting_after`` or back from
    ``ending_before``; a query parameter the list does not take is refused."""
    allowed = LIST_PARAMS[kind] | PAGING
    for name in query:
        if name not in allowed:
            raise StripeFailure(400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)
    limit_raw = query.get("limit", "10")
    try:
        limit = int(limit_raw)
    except (TypeError, ValueError):
        raise StripeFailure(
            400, "Invalid integer: " + str(limit_raw), code="parameter_invalid_integer", param="limit"
        ) from None
    if not 1 <= limit <= 100:
        raise StripeFailure(
            400,
            "This value must be greater than or equal to 1 and less than or equal to 100.",
            code="parameter_invalid_integer",
            param="limit",
        )
    ids = [o["id"] for o in objects]
    start, stop = 0, len(objects)
    if query.get("starting_after"):
        cursor = str(query["starting_after"])
        if cursor not in ids:
            raise StripeFailure(400, f"No such object: '{cursor}'", code="resource_missing", param="starting_after")
        start = ids.index(cursor) + 1
        stop = min(start + limit, len(objects))
    elif query.get("ending_before"):
        cursor = str(query["ending_before"])
        if cursor not in ids:
            raise StripeFailure(400, f"No such object: '{cursor}'", code="resource_missing", param="ending_before")
        stop = ids.index(cursor)
        start = max(stop - limit, 0)
    else:
        stop = min(limit, len(objects))
    chunk = objects[start:stop]
    has_more = stop < len(objects) if not query.get("ending_before") else start > 0
    return {"object": "list", "data": [render(o) for o in chunk], "has_more": has_more, "url": url}


def _created(objects: list[Obj], created: Any) -> list[Obj]:
    """``created=<ts>`` or ``created[gte|gt|lte|lt]=<ts>`` (Stripe's range query)."""
    if created is None:
        return objects
    if not isinstance(created, dict):
        return [o for o in objects if o["created"] == int(created)]
    tests = {
        "gte": lambda v, b: v >= b,
        "gt": lambda v, b: v > b,
        "lte": lambda v, b: v <= b,
        "lt": lambda v, b: v < b,
    }
    for op, bound in created.items():
        if op not in tests:
            raise StripeFailure(
                400, f"Received unknown parameter: created[{op}]", code="parameter_unknown", param=f"created[{op}]"
            )
        objects = [o for o in objects if tests[op](o["created"], int(bound))]
    return objects
