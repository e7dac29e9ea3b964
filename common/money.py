"""Money as people read it. Amounts are ``Decimal`` end to end; currencies are never summed
together, so a total is always a mapping ``{currency: amount}``."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

CENTS = Decimal("0.01")


def decimal_text(amount: Decimal) -> str:
    """At least two decimals ("90.0" from a JSON float reads "90.00"); more are kept as given
    (a unit price of 12.3456 stays exact). No thousands separators: this is for evidence and
    storage, where values are compared and copied."""
    exponent = amount.as_tuple().exponent
    return str(amount.quantize(CENTS) if isinstance(exponent, int) and exponent > -2 else amount)


def cents_text(amount: Decimal | None) -> str | None:
    """An invoice total as evidence: exactly two decimals, None stays None."""
    return None if amount is None else str(amount.quantize(CENTS))


def amounts_text(amounts: Mapping[str, Any], *, empty: str = "") -> str:
    """``{"NZD": "1234.5", "AUD": 10}`` -> ``AUD 10.00, NZD 1,234.50`` (sorted by currency).

    A value that is not a number is shown as given rather than dropped."""
    parts = []
    for currency, amount in sorted(amounts.items()):
        try:
            parts.append(f"{currency} {Decimal(str(amount)):,.2f}")
        except (InvalidOperation, ValueError):
            parts.append(f"{currency} {amount}")
    return ", ".join(parts) or empty
