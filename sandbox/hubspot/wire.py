"""HubSpot's wire format: ISO times with milliseconds, every property a string, objects as the
CRM answers them (the properties asked for plus the ones always sent), the error and rate-limit
envelopes and the batch answer (207 when some inputs failed)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from common.types import JSON

logger = logging.getLogger(__name__)

DEFAULT_LIST_PROPERTIES = {
    "contacts": ("firstname", "lastname", "email"),
    "products": ("name", "price", "hs_sku"),
}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_moment(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    text = str(value)
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    parsed = datetime.fromisoformat(text)  # 3.11 reads a trailing Z
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def prop(value: Any) -> Any:
    """HubSpot answers every property value as a string (or null)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def modified_key(object_type: str) -> str:
    """Contacts carry ``lastmodifieddate``; the other objects ``hs_lastmodifieddate``."""
    return "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"


def render(obj: JSON, properties: Sequence[str] | None, object_type: str) -> JSON:
    """An object as answered: the properties asked for (else the type's defaults), and always
    its id, creation and modification dates."""
    stored = obj["properties"]
    defaults: Sequence[str] = DEFAULT_LIST_PROPERTIES.get(object_type) or list(stored)
    wanted = list(properties) if properties else list(defaults)
    shown = {p: stored.get(p) for p in wanted}
    for always in ("hs_object_id", "createdate", modified_key(object_type)):
        shown[always] = stored.get(always)
    return {**{k: v for k, v in obj.items() if k != "properties"}, "properties": shown}


def error_response(status: int, category: str, message: str, **extra: Any) -> Response:
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    return JSONResponse(body, status_code=status)


def rate_limited_response(policy: str, message: str, **extra: Any) -> Response:
    """A 429 naming the policy that refused (without ``Retry-After``: the emulator adds it)."""
    body = {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
        **extra,
    }
    return JSONResponse(body, status_code=429)


def batch_response(
    results: list[JSON], started: str, completed: str, missing: list[str], category: str, message: str
) -> Response:
    """A batch's answer: 200 when every input was found, else 207 with one error naming them."""
    body: JSON = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": completed,
    }
    if missing:
        body["numErrors"] = 1
        body["errors"] = [
            {
                "status": "error",
                "category": category,
                "message": message,
                "context": {"ids": missing},
            }
        ]
        return JSONResponse(body, status_code=207)
    return JSONResponse(body)
