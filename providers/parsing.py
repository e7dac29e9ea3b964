"""Reading loosely typed JSON values into records' types, the same way for every provider."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def to_decimal(value: Any) -> Decimal | None:
    """A JSON number or numeric string as a Decimal (via ``str``, so 0.1 stays 0.1); None when
    absent, blank or not a number."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def to_money(value: Any) -> Decimal:
    """An amount where absent means zero (a total the system left out)."""
    return to_decimal(value) or Decimal(0)
