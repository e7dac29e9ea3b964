"""Stripe's wire format: ids with their prefixes, unix times, the headers of every answer, the
``{"error": {...}}`` envelope, and how a key is echoed in messages."""

from __future__ import annotations

import logging
import secrets
import string
from datetime import UTC, date, datetime
from typing import Any

from starlette.responses import JSONResponse, Response

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
API_VERSION = "2023-08-16"  # what the official spec here describes (specs/stripe/README.md)

ID_PREFIX = {
    "customers": "cus_",
    "products": "prod_",
    "prices": "price_",
    "invoices": "in_",
    "invoiceitems": "ii_",
    "tax_rates": "txr_",
    "lines": "il_",
}
_ALPHABET = string.ascii_letters + string.digits


def new_id(kind: str) -> str:
    return ID_PREFIX[kind] + "".join(secrets.choice(_ALPHABET) for _ in range(14))


def timestamp(value: Any, default: int) -> int:
    """A unix time from a world (a number, a date, an ISO date) or a form value."""
    if value is None:
        return default
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())
    text = str(value)
    if text.isdigit():
        return int(text)
    parsed = date.fromisoformat(text[:10])
    return int(datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC).timestamp())


def redact(key: str) -> str:
    """How Stripe echoes a key in error messages: the prefix, stars, the last four."""
    head = key[:8] if key[:3] in ("sk_", "rk_", "pk_") else key[:3]
    return head + "*" * max(len(key) - len(head) - 4, 4) + key[-4:]


class StripeFailure(Exception):
    """Raised inside a handler; rendered as Stripe's error envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param


def request_id() -> str:
    return "req_" + secrets.token_hex(7)


def json_response(payload: Any, status: int = 200) -> Response:
    """A successful answer, with the headers Stripe sends on every one."""
    response = JSONResponse(payload, status_code=status)
    response.headers["Request-Id"] = request_id()
    response.headers["Stripe-Version"] = API_VERSION
    return response


def error_response(
    status: int, code: str, message: str, *, type_: str | None = None, param: str | None = None
) -> Response:
    """Stripe's envelope: ``{"error": {"type", "code", "message", "param", "doc_url"}}``."""
    body: dict[str, Any] = {
        "type": type_ or ("api_error" if status >= 500 else "invalid_request_error"),
        "message": message,
    }
    if code and code != "server_error":
        body["code"] = code
    if param:
        body["param"] = param
    if body.get("code"):
        body["doc_url"] = f"https://stripe.com/docs/error-codes/{str(body['code']).replace('_', '-')}"
    response = JSONResponse({"error": body}, status_code=status)
    response.headers["Request-Id"] = request_id()
    return response


def failure_body(failure: StripeFailure) -> Obj:
    """The envelope of a refusal saved for an idempotent replay (no doc_url, as first answered)."""
    fields = (("type", failure.type), ("code", failure.code), ("message", failure.message), ("param", failure.param))
    return {"error": {k: v for k, v in fields if v}}


def flag(value: Any) -> bool:
    """A boolean from a form value (``true`` / ``1`` / ``yes``) or a world's YAML."""
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "yes")
