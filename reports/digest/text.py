"""Numbers into words, shared by the Markdown, the Slack message and the chart (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.money import amounts_text
from reports.digest.model import IntegrationDigest

UPTIME_BASIS = {
    "sweeps": "share of scheduled sweeps with the connection up",
    "runs": "no scheduled sweeps this quarter: share of the checks people ran with the connection up",
    "none": "no checks this quarter",
}


def pct(share: float | None) -> str:
    if share is None:
        return "no data"
    value = share * 100
    if 99.95 <= value < 100:  # never round a single failure up to a perfect score
        return "99.9%"
    return f"{value:.1f}%" if value % 1 else f"{value:.0f}%"


def duration(minutes: float | None) -> str:
    if minutes is None:
        return "no data"
    if minutes < 1:
        return "under a minute"
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def money(amounts: Mapping[str, Any]) -> str:
    return amounts_text(amounts, empty="nothing")


def hours(value: float) -> str:
    return f"{value:.1f} h" if value % 1 else f"{value:.0f} h"


def _points(now: float, before: float) -> str:
    diff = (now - before) * 100
    if abs(diff) < 0.05:
        return "same as"
    return f"{'up' if diff > 0 else 'down'} {abs(diff):.1f} points on"


def trend_line(part: IntegrationDigest) -> str:
    """One sentence against the previous quarter."""
    prev = part.previous
    if prev is None:
        return "No data for the previous quarter to compare with."
    bits: list[str] = []
    if part.uptime is not None and prev.uptime is not None:
        bits.append(f"uptime {_points(part.uptime, prev.uptime)} {prev.quarter} ({pct(prev.uptime)})")
    if prev.invoices_failed is not None:
        diff = part.invoices_failed - prev.invoices_failed
        change = "the same number of" if diff == 0 else (f"{abs(diff)} {'more' if diff > 0 else 'fewer'}")
        bits.append(f"{change} failed invoices ({prev.invoices_failed} then)")
    if prev.median_fix_minutes is not None and part.median_fix_minutes is not None:
        faster = part.median_fix_minutes < prev.median_fix_minutes
        same = part.median_fix_minutes == prev.median_fix_minutes
        word = "as fast as" if same else ("faster than" if faster else "slower than")
        bits.append(f"fixes {word} then ({duration(prev.median_fix_minutes)})")
    if not bits:
        return f"{prev.quarter} had data, but none of these numbers can be compared."
    text = "; ".join(bits)
    return text[0].upper() + text[1:] + "."
