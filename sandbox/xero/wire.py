"""Xero's wire format: ``/Date()/`` dates, two-decimal amounts, stable ids, the response
envelope and the two error envelopes (400 ``ValidationException``, the 401/403/429/5xx problem)."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.responses import JSONResponse, Response

logger = logging.getLogger(__name__)

API = "/api.xro/2.0"
PROVIDER_NAME = "Sync Doctor Xero sandbox"
TWO = Decimal("0.01")
_NS = uuid.UUID("5f0c2d4e-8a4b-4c1e-9d7a-2b6f3e1a9c00")
_MSDATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_TITLES = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 429: "TooManyRequests"}


class BadRequest(Exception):
    """A request Xero refuses with a ``ValidationException`` (raised inside a handler)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def msdate(moment: datetime | date, *, offset: bool = True) -> str:
    """``/Date(1539993600000+0000)/``: milliseconds since the epoch, as Xero's JSON carries dates."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    ms = int(moment.timestamp() * 1000)
    return f"/Date({ms}+0000)/" if offset else f"/Date({ms})/"


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


def required_when(value: Any) -> datetime:
    """``parse_when`` for a value the world must have given: a missing one is the world's error."""
    moment = parse_when(value)
    if moment is None:
        raise ValueError(f"expected a date, got {value!r}")
    return moment


def money(value: Any, default: str = "0") -> Decimal:
    if value is None or value == "":
        return Decimal(default)
    return Decimal(str(value))


def num(value: Decimal) -> float:
    """An amount as Xero's JSON carries it: a number rounded half up to the cent."""
    return float(value.quantize(TWO, rounding=ROUND_HALF_UP))


def stable_id(*parts: object) -> str:
    """A UUID derived from ``parts``: a world loads with the same ids every time."""
    return str(uuid.uuid5(_NS, ":".join(str(p) for p in parts)))


def envelope(
    key: str, records: list[dict[str, Any]], now: datetime, pagination: dict[str, int] | None = None
) -> dict[str, Any]:
    """The Accounting API's response envelope around ``records``."""
    body: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": msdate(now, offset=False),
    }
    if pagination is not None:
        body["pagination"] = pagination
    body[key] = records
    return body


def error_response(status: int, message: str, elements: list[dict[str, Any]] | None = None) -> Response:
    """A 400 in the ``ValidationException`` envelope, anything else in the problem envelope."""
    if status == 400:
        body: dict[str, Any] = {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": message,
        }
        if elements is not None:
            body["Elements"] = elements
        return JSONResponse(body, status_code=400)
    body = {
        "Type": None,
        "Title": _TITLES.get(status, "ServiceUnavailable" if status >= 500 else "Error"),
        "Status": status,
        "Detail": message,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }
    return JSONResponse(body, status_code=status)


def validation(message: str, elements: list[dict[str, Any]] | None = None) -> Response:
    """A ``ValidationException``: with elements (a batch's failed records) the message is Xero's
    generic one."""
    return error_response(400, "A validation exception occurred" if elements else message, elements or [])
