"""Platform checks: API rate-limit headroom of each side, from this run's responses.

Reads ``SideData.rate_status()`` (the ApiClient records every 429 and the latest quota headers:
Xero's ``X-DayLimit-Remaining`` of 5,000/day per tenant, HubSpot's daily usage; PROVIDERS.md
§1, §4), so it makes no API call of its own and belongs at the end of a run, after the other
checks have talked to the systems.

``rate.limited`` when the run met 429s, or the day's quota is nearly spent: below 10% of the
day limit, or below a small absolute floor when the system sends a remaining count without
the limit. A day quota at zero fails (nothing syncs until it resets); the rest warns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from checks.base import Check
from checks.catalog import entry
from checks.connection import side_evidence
from checks.context import RunContext, SideData
from checks.findings import Finding, Severity

logger = logging.getLogger(__name__)

DAY_FRACTION = 0.10
DAY_FLOOR = 100  # calls left when the limit is unknown: fewer than one full check of a busy org


def rate_finding(side: SideData) -> Finding | None:
    status = side.rate_status()
    reasons: list[str] = []
    if status.throttled > 0:
        reasons.append("throttled")
    threshold: int | None = None
    if status.day_remaining is not None:
        threshold = int(status.day_limit * DAY_FRACTION) if status.day_limit else DAY_FLOOR
        if status.day_remaining < threshold:
            reasons.append("day_quota")
    if not reasons:
        return None
    exhausted = status.day_remaining is not None and status.day_remaining <= 0
    return Finding(
        code="rate.limited",
        severity=Severity.FAIL if exhausted else entry("rate.limited").severity,
        subject=side.system,
        evidence={
            **side_evidence(side),
            "reasons": reasons,
            "throttled": status.throttled,
            "day_remaining": status.day_remaining,
            "day_limit": status.day_limit,
            "day_threshold": threshold,
            "minute_remaining": status.minute_remaining,
            "last_problem": status.last_problem,
            "exhausted": exhausted,
        },
        system=side.system,
    )


def check_rate(ctx: RunContext) -> Iterator[Finding]:
    """429s met and daily quota left on each side, the middleware's too (no API calls of its own)."""
    for side in ctx.all_sides():
        finding = rate_finding(side)
        if finding is not None:
            yield finding


# final: it reads the 429s and quota headers the other checks' calls collected in this run.
RATE = Check("rate", "rate", check_rate, cheap=True, final=True)
