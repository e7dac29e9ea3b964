"""A quarter's digest as numbers: what the JSON, the Markdown, the Slack message and the chart
are all drawn from. Money stays per currency, as decimal text (never summed across currencies)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Cause:
    code: str
    title: str
    appeared: int  # times it started failing (new in a run, fail or error)
    days: int  # days on which some run saw it (warn or worse)


@dataclass(frozen=True, slots=True)
class ActionCounts:
    requested: int = 0
    approved: int = 0
    denied: int = 0
    expired: int = 0
    succeeded: int = 0  # every invoice / item / contact landed
    partly_succeeded: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class Week:
    start: date
    end: date  # exclusive
    health: float | None  # share of checks (sweeps when there were any) with nothing failing; None: no data
    checks: int


@dataclass(frozen=True, slots=True)
class Trend:
    """The same numbers for the previous quarter, for comparison (None where it had no data)."""

    quarter: str
    days_with_data: int
    uptime: float | None
    invoices_failed: int | None
    median_fix_minutes: float | None
    diagnoses: int


@dataclass(frozen=True, slots=True)
class IntegrationDigest:
    name: str
    days_with_data: int
    first_day: date | None
    last_day: date | None
    sweeps: int
    diagnoses: int
    checks_run: int
    uptime: float | None  # share of sweeps (else of all runs) without a connection failure
    uptime_basis: str  # "sweeps" | "runs" | "none"
    health: float | None  # share of sweeps (else runs) with nothing failing
    invoices_failed: int  # distinct invoices blocked by a failing finding at some run
    failed_amounts: dict[str, str]
    invoices_still_unsynced: int  # blocked at the quarter's last run
    still_amounts: dict[str, str]
    invoices_cleared: int  # blocked at some run, no longer at the last one
    cleared_amounts: dict[str, str]
    incidents: int  # healthy -> failing transitions
    median_detect_minutes: float | None  # last healthy run -> first failing run (an upper bound)
    fixes: int  # alerts resolved in the quarter
    median_fix_minutes: float | None  # alert opened -> resolved
    alerts_open: int  # alerts still open at the quarter's end
    top_causes: list[Cause]
    actions: ActionCounts
    hours_saved: float
    weeks: list[Week]
    previous: Trend | None = None


@dataclass(frozen=True, slots=True)
class Digest:
    quarter: str
    label: str  # "Q3 2026"
    timezone: str
    first_day: date
    last_day: date
    days_in_quarter: int
    generated_at: datetime
    minutes_per_diagnosis: int
    days_with_data: int  # days on which any integration was checked
    coverage: str  # one plain sentence about how much data there is
    integrations: list[IntegrationDigest] = field(default_factory=list)

    @property
    def diagnoses(self) -> int:
        return sum(i.diagnoses for i in self.integrations)

    @property
    def hours_saved(self) -> float:
        return round(sum(i.hours_saved for i in self.integrations), 1)

    @property
    def empty(self) -> bool:
        return self.days_with_data == 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["diagnoses"] = self.diagnoses
        data["hours_saved"] = self.hours_saved
        return _jsonable(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    return value
