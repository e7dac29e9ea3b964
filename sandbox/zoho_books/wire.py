"""Zoho Books' wire format: the ``{"code", "message"}`` envelope (``code: 0`` on success), the
error table, numeric ids, two-decimal amounts and Zoho's ``2018-11-18T02:02:51-0800`` times.

Error codes and messages: 57, 1002 (``<X> does not exist.``), 1000 (``Internal error``) are
from Zoho's pages or widely observed (2ry); 6024 / 9017 / 1038 are 2ry; the duplicate, unknown
reference, lock and throttle codes are this emulator's (UNCONFIRMED). A world overrides any
row with ``errors: {name: {status, code, message}}``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.responses import JSONResponse, Response

logger = logging.getLogger(__name__)

TWO = Decimal("0.01")


@dataclass(frozen=True)
class ErrorRow:
    status: int
    code: int
    message: str


ERRORS: dict[str, ErrorRow] = {
    "unauthorized": ErrorRow(401, 57, "You are not authorized to perform this operation"),
    "wrong_org": ErrorRow(401, 57, "You are not authorized to perform this operation"),  # 2ry
    "multiple_orgs": ErrorRow(400, 6024, "This user belongs to multiple organizations"),
    "no_org": ErrorRow(400, 9017, "This user is not associated with any organization."),
    "not_found": ErrorRow(404, 1002, "{what} does not exist."),
    "invalid_json": ErrorRow(400, 1038, "JSON is not well formed"),
    "server_error": ErrorRow(500, 1000, "Internal error"),
    # UNCONFIRMED below: Zoho documents none of these codes or words for Books.
    "rate_limited": ErrorRow(429, 44, "You have made too many requests. Please try again after some time."),
    "daily_limit": ErrorRow(429, 45, "You have reached the maximum number of API calls allowed for today."),
    "duplicate_invoice_number": ErrorRow(400, 1001, 'Invoice "{number}" already exists.'),
    "duplicate_item_name": ErrorRow(400, 1001, "The item name already exists."),
    "duplicate_sku": ErrorRow(400, 1001, "The SKU {sku} already exists."),
    "duplicate_contact": ErrorRow(400, 3062, "The contact name already exists."),
    "unknown_customer": ErrorRow(400, 3004, "The Customer field can neither be blank nor incorrect."),
    "unknown_item": ErrorRow(400, 2006, "Item does not exist."),
    "unknown_tax": ErrorRow(400, 1002, "Tax does not exist."),
    "unknown_account": ErrorRow(400, 1002, "Account does not exist."),
    "unknown_tag": ErrorRow(400, 1002, "Reporting tag option does not exist."),
    "currency_not_enabled": ErrorRow(400, 1002, "Currency does not exist."),
    "period_locked": ErrorRow(400, 4082, "Transactions dated on or before {lock} are locked."),
    "required": ErrorRow(400, 15, "{field} is required."),
    "inactive_item": ErrorRow(400, 2007, "The item {name} is inactive."),
}


class ZohoError(Exception):
    """Raised inside a handler: answered in Zoho's envelope with the world's wording."""

    def __init__(self, error: str, /, **values: Any) -> None:
        super().__init__(error)
        self.name = error
        self.values = values


def error_table(overrides: Mapping[str, Any] | None) -> dict[str, ErrorRow]:
    table = dict(ERRORS)
    for name, raw in dict(overrides or {}).items():
        if name not in table:
            raise ValueError(f"zoho_books world: unknown error {name!r}; known: {sorted(table)}")
        row = table[name]
        table[name] = ErrorRow(
            int(raw.get("status", row.status)), int(raw.get("code", row.code)), str(raw.get("message", row.message))
        )
    return table


def error_body(row: ErrorRow, values: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": row.code, "message": row.message.format(**values) if values else row.message}


def answer(body: Mapping[str, Any], status: int = 200) -> Response:
    """A success answer: ``code: 0`` and a message beside the resource [Z-ERR]."""
    return JSONResponse({"code": 0, "message": "success", **body}, status_code=status)


def numeric_id(*parts: object) -> str:
    """A 15-digit id like Zoho's, the same every time a world loads."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()
    return str(460000000000000 + int(digest[:12], 16) % 100000000000000)


def money(value: Any, default: str = "0") -> Decimal:
    if value is None or value == "":
        return Decimal(default)
    return Decimal(str(value))


def num(value: Decimal) -> float:
    return float(value.quantize(TWO, rounding=ROUND_HALF_UP))


def zoho_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def parse_time(value: str) -> datetime:
    """``2018-11-18T02:02:51-0800`` (or with a colon in the offset); ValueError otherwise."""
    for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            continue
    raise ValueError(value)
