"""How HubSpot's CRM search compares and sorts property values: dates as instants, numbers as
numbers, the rest as text; a filter's operator (EQ, NEQ, GT, ..., HAS_PROPERTY) against one
object."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from common.types import JSON
from sandbox.hubspot.wire import parse_moment

logger = logging.getLogger(__name__)

DATE_PROPERTIES = frozenset({"hs_lastmodifieddate", "lastmodifieddate", "createdate"})


def _sort_key(prop: str, value: Any) -> tuple[int, Any]:
    """(kind, value): dates as epoch ms, numbers as Decimal, else text; None sorts last."""
    if value is None:
        return (3, "")
    if prop in DATE_PROPERTIES:
        try:
            moment = parse_moment(value)
        except ValueError:
            return (2, str(value))
        return (0, moment.timestamp()) if moment else (3, "")
    try:
        return (1, Decimal(str(value)))
    except InvalidOperation:
        return (2, str(value))


def same_key(id_property: str, stored: Any, key: str) -> bool:
    """Emails are case-insensitive in HubSpot; other unique values compare exactly."""
    if id_property == "email":
        return str(stored or "").lower() == key.lower()
    return str(stored or "") == key


def id_key(value: str) -> tuple[int, Any]:
    return (0, int(value)) if value.isdigit() else (1, value)


def _value(obj: JSON, prop: str) -> Any:
    if prop in ("hs_object_id", "id"):
        return obj["id"]
    return obj["properties"].get(prop)


def sorter(prop: str) -> Callable[[JSON], tuple[int, Any]]:
    return lambda obj: _sort_key(prop, _value(obj, prop))


def matches(obj: JSON, flt: Mapping[str, Any]) -> bool:
    prop = str(flt.get("propertyName"))
    operator = str(flt.get("operator", "EQ"))
    value = _value(obj, prop)
    if operator == "HAS_PROPERTY":
        return value not in (None, "")
    if operator == "NOT_HAS_PROPERTY":
        return value in (None, "")
    if value is None:
        return operator == "NEQ"
    left, right = _sort_key(prop, value), _sort_key(prop, flt.get("value"))
    if left[0] != right[0]:  # compare as text when the kinds differ
        left, right = (2, str(value)), (2, str(flt.get("value")))
    if operator == "EQ":
        return bool(left == right)
    if operator == "NEQ":
        return bool(left != right)
    if operator == "GT":
        return bool(left > right)
    if operator == "GTE":
        return bool(left >= right)
    if operator == "LT":
        return bool(left < right)
    if operator == "LTE":
        return bool(left <= right)
    return False
