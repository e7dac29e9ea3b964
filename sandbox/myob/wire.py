"""MYOB's wire format: the ``{"Errors": [...], "Information": ...}`` envelope and its error
items, stable GUIDs, two-decimal amounts, ``2024-05-01T00:00:00`` dates, and the small part of
OData's ``$filter`` that clients send (``Number eq 'X'``, ``Date ge datetime'...'``, booleans,
numbers, ``and`` / ``or``).

Error names, codes and messages of the generic table are MYOB's [M-ERR] (CONFIRMED);
``OAuthTokenIsInvalid`` (31001) is 2ry; ``AccessDenied`` is [M-AD]'s wording with its status
UNCONFIRMED; the duplicate and locked-period names are this emulator's (UNCONFIRMED). A world
overrides any row with ``errors: {key: {status, name, message, code}}``.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.responses import JSONResponse, Response

logger = logging.getLogger(__name__)

TWO = Decimal("0.01")
_NS = uuid.UUID("7b1d8c2e-3f4a-4e5b-9c6d-0a1b2c3d4e5f")
LEARN_MORE = "https://developer.myob.com/api/myob-business-api/api-overview/error-messages"
INFORMATION = "Warning, error messages have not been finalised in this release and may change"


@dataclass(frozen=True)
class ErrorRow:
    status: int
    name: str
    message: str
    code: int | None = None
    details: str | None = None


ERRORS: dict[str, ErrorRow] = {
    "gateway_timeout": ErrorRow(504, "GatewayTimeout", "Connection to the API has timed out", None,
                                "Maximum call time is 120 seconds"),
    "daily_limit": ErrorRow(403, "RateLimitError", "API key has exceeded the daily rate limit", None,
                            "Header: x-myobapi-key"),
    "per_second": ErrorRow(403, "RateLimitError", "API key has exceeded the per-second rate limit", None,
                           "Header: x-myobapi-key"),
    "developer_inactive": ErrorRow(403, "DeveloperInactive", "API key is missing or inactive"),
    "serialization": ErrorRow(400, "SerializationError", "Error converting value {value}", 50),
    "required": ErrorRow(400, "Required", "{field} is required", 100),
    "not_found": ErrorRow(400, "NotFound", "{what} with UID {uid} was not found", 150),
    "token_invalid": ErrorRow(401, "OAuthTokenIsInvalid", "The supplied OAuth token (Bearer) is not valid", 31001,
                              "Header: Authorization"),
    "access_denied": ErrorRow(401, "AccessDenied", "Access denied"),  # cftoken refused; 401 vs 403 UNCONFIRMED
    "file_not_granted": ErrorRow(403, "AccessDenied", "Access denied"),
    "no_such_file": ErrorRow(404, "NotFound", "The company file was not found"),
    "resource_not_found": ErrorRow(404, "NotFound", "Resource not found"),
    "version": ErrorRow(400, "InvalidApiVersion", "x-myobapi-version must be v2"),
    # UNCONFIRMED below (names, codes and words are this emulator's)
    "duplicate_invoice_number": ErrorRow(400, "DuplicateInvoiceNumber", "Invoice number {number} already exists"),
    "duplicate_item_number": ErrorRow(400, "DuplicateItemNumber", "Item number {number} already exists"),
    "duplicate_display_id": ErrorRow(400, "DuplicateCardId", "Card ID {number} already exists"),
    "too_long": ErrorRow(400, "SerializationError", "{field} must be {max} characters or less", 50),
    "locked_period": ErrorRow(400, "DateInLockedPeriod", "Date is in a locked period (before {lock})"),
    "no_multicurrency": ErrorRow(400, "MultiCurrencyNotEnabled", "This company file does not use multiple currencies"),
    "category_required": ErrorRow(400, "Required", "Category is required", 100),
    "method": ErrorRow(405, "MethodNotAllowed", "The requested resource does not support http method '{method}'"),
}  # fmt: skip


class MyobError(Exception):
    """Raised inside a handler: answered in MYOB's envelope with the world's wording."""

    def __init__(self, error: str, /, **values: Any) -> None:
        super().__init__(error)
        self.name = error
        self.values = values


def error_table(overrides: Mapping[str, Any] | None) -> dict[str, ErrorRow]:
    table = dict(ERRORS)
    for key, raw in dict(overrides or {}).items():
        if key not in table:
            raise ValueError(f"myob world: unknown error {key!r}; known: {sorted(table)}")
        row = table[key]
        table[key] = ErrorRow(
            int(raw.get("status", row.status)),
            str(raw.get("name", row.name)),
            str(raw.get("message", row.message)),
            raw.get("code", row.code),
            raw.get("details", row.details),
        )
    return table


def error_response(row: ErrorRow, values: Mapping[str, Any], *, style: str = "json") -> Response:
    """``{"Errors": [item], "Information": ...}``; ``style: bare`` answers ``[{"Message": ...}]``
    as [M-AD] shows for refused company-file credentials."""
    message = row.message.format(**values) if values else row.message
    if style == "bare":
        return JSONResponse([{"Message": message}], status_code=row.status)
    item = {
        "Name": row.name,
        "Message": message,
        "AdditionalDetails": row.details,
        "ErrorCode": row.code,
        "Severity": "Error",
        "LearnMore": LEARN_MORE,
    }
    return JSONResponse({"Errors": [item], "Information": INFORMATION}, status_code=row.status)


def guid(*parts: object) -> str:
    """A GUID derived from ``parts``: a world loads with the same UIDs every time."""
    return str(uuid.uuid5(_NS, ":".join(str(p) for p in parts)))


def money(value: Any, default: str = "0") -> Decimal:
    if value is None or value == "":
        return Decimal(default)
    return Decimal(str(value))


def num(value: Decimal) -> float:
    return float(value.quantize(TWO, rounding=ROUND_HALF_UP))


def myob_date(value: Any) -> str:
    """``2024-05-01T00:00:00`` from a date, a datetime or an ISO string."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00"
    text = str(value)
    return text if "T" in text else f"{text}T00:00:00"


def parse_date(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- OData $filter ----------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<dt>datetime'[^']*')|(?P<word>[A-Za-z_][\w/]*)|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<open>\()|(?P<close>\)))"
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


class FilterError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise FilterError(f"cannot read the filter at {text[pos:]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            found.append(("value", value[1:-1].replace("''", "'")))
        elif kind == "dt":
            found.append(("value", parse_date(value[len("datetime'") : -1])))
        elif kind == "num":
            found.append(("value", Decimal(value)))
        elif kind == "word" and value in ("true", "false", "null"):
            found.append(("value", {"true": True, "false": False, "null": None}[value]))
        else:
            found.append((kind, value))
    return found


def parse_filter(text: str | None) -> Any:
    """A tiny OData ``$filter``: comparisons joined by ``and`` / ``or`` (``and`` binds tighter),
    with parentheses. The result is a predicate over a record."""
    if not text:
        return lambda record: True
    tokens = _tokens(text)
    pos = 0

    def peek() -> tuple[str, Any] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, Any]:
        nonlocal pos
        if pos >= len(tokens):
            raise FilterError("the filter ends too early")
        pos += 1
        return tokens[pos - 1]

    def comparison() -> Any:
        kind, value = take()
        if kind == "open":
            inner = disjunction()
            if take()[0] != "close":
                raise FilterError("a parenthesis is not closed")
            return inner
        if kind != "word":
            raise FilterError(f"expected a field name, got {value!r}")
        op = take()
        if op[0] != "word" or op[1] not in _OPS:
            raise FilterError(f"expected an operator after {value}, got {op[1]!r}")
        literal = take()
        if literal[0] != "value":
            raise FilterError(f"expected a value after {value} {op[1]}")
        return _compare(value, op[1], literal[1])

    def conjunction() -> Any:
        parts = [comparison()]
        while (nxt := peek()) is not None and nxt == ("word", "and"):
            take()
            parts.append(comparison())
        return lambda record: all(p(record) for p in parts)

    def disjunction() -> Any:
        parts = [conjunction()]
        while (nxt := peek()) is not None and nxt == ("word", "or"):
            take()
            parts.append(conjunction())
        return lambda record: any(p(record) for p in parts)

    predicate = disjunction()
    if pos != len(tokens):
        raise FilterError(f"unexpected {tokens[pos][1]!r} in the filter")
    return predicate


def _field(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("/"):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _compare(path: str, op: str, wanted: Any) -> Any:
    def test(record: Mapping[str, Any]) -> bool:
        value = _field(record, path)
        if isinstance(wanted, datetime):
            value = parse_date(value) if value else None
        elif isinstance(wanted, Decimal):
            value = Decimal(str(value)) if value is not None else None
        elif isinstance(wanted, str) and value is not None:
            value = str(value)
        if op == "eq":
            return bool(value == wanted)
        if op == "ne":
            return bool(value != wanted)
        if value is None or wanted is None:
            return False
        return bool({"gt": value > wanted, "ge": value >= wanted, "lt": value < wanted, "le": value <= wanted}[op])

    return test
