"""A quarter's numbers from what the database keeps: the daily counters (``integration_days``),
the alerts and the actions. How each number is derived (the digest says so where it matters):

- uptime: share of scheduled sweeps with no connection, token or API-key failure; with no
  sweeps in the quarter, of all runs (then people's own checks, which lean towards bad days);
- health (the chart): the same share with nothing failing at all;
- invoices failed: distinct invoices a failing finding blocked at some run of the quarter;
  still unsynced: those blocked at the quarter's last run; cleared: the difference. Invoices
  that synced without trouble are not counted: Sync Doctor records problems, not every invoice;
- time to detect: from the last run that saw the integration healthy to the first that saw it
  failing, per incident (an upper bound: the break came somewhere in between);
- time to fix: from an alert opening to its resolution, for alerts resolved in the quarter;
- hours saved: diagnoses (runs someone asked for) x minutes per diagnosis, an estimate.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from checks.catalog import UnknownCode, title
from reports.digest.model import ActionCounts, Cause, Digest, IntegrationDigest, Trend, Week
from reports.digest.periods import Quarter
from store import digests_repo
from store.counters import days_between
from store.models import Action, Alert, IntegrationDay

DEFAULT_MINUTES_PER_DIAGNOSIS = 30
TOP_CAUSES = 5
FEW_DAYS = 14  # fewer days of data than this: the digest says "only N days"


def build_digest(
    session: Session,
    integrations: Sequence[str],
    quarter: Quarter,
    *,
    tz: str,
    minutes_per_diagnosis: int = DEFAULT_MINUTES_PER_DIAGNOSIS,
    now: datetime | None = None,
) -> Digest:
    """The digest of ``quarter`` for ``integrations`` (names as configured)."""
    now = now or datetime.now(UTC)
    names = sorted(integrations)
    start, end = quarter.bounds(tz)
    days = days_between(session, quarter.first_day, quarter.end_day, names)
    alerts = digests_repo.alerts_between(session, start, end, names)
    actions = digests_repo.actions_between(session, start, end, names)
    prev = quarter.previous()
    prev_start, prev_end = prev.bounds(tz)
    prev_days = days_between(session, prev.first_day, prev.end_day, names)
    prev_alerts = digests_repo.alerts_between(session, prev_start, prev_end, names)

    parts: list[IntegrationDigest] = []
    for name in names:
        mine = [d for d in days if d.integration == name]
        previous_rows = [d for d in prev_days if d.integration == name]
        parts.append(
            _integration(
                name,
                quarter,
                mine,
                [a for a in alerts if a.integration == name],
                [a for a in actions if a.integration == name],
                start=start,
                end=end,
                minutes_per_diagnosis=minutes_per_diagnosis,
                previous=_trend(
                    prev, previous_rows, [a for a in prev_alerts if a.integration == name], prev_start, prev_end
                ),
            )
        )
    data_days = len({d.day for d in days})
    return Digest(
        quarter=str(quarter),
        label=quarter.label,
        timezone=tz,
        first_day=quarter.first_day,
        last_day=quarter.last_day,
        days_in_quarter=quarter.days,
        generated_at=now,
        minutes_per_diagnosis=minutes_per_diagnosis,
        days_with_data=data_days,
        coverage=coverage(quarter, sorted({d.day for d in days}), ended=quarter.has_ended(now, tz)),
        integrations=parts,
    )


def coverage(quarter: Quarter, days: Sequence[date], *, ended: bool = True) -> str:
    """One plain sentence on how much of the quarter the numbers cover."""
    so_far = "" if ended else " (the quarter is not over yet)"
    if not days:
        return (
            f"No data this quarter: Sync Doctor recorded no checks between {_d(quarter.first_day)} and "
            f"{_d(quarter.last_day)}{so_far}, so there is nothing to report."
        )
    span = f"{_d(days[0])} to {_d(days[-1])}" if len(days) > 1 else _d(days[0])
    if len(days) < FEW_DAYS:
        word = "day" if len(days) == 1 else "days"
        return (
            f"Only {len(days)} {word} of data this quarter ({span}){so_far}: the numbers describe those days, "
            "not the whole quarter."
        )
    if len(days) < quarter.days:
        return f"Data on {len(days)} of the quarter's {quarter.days} days ({span}){so_far}."
    return f"Data on every day of the quarter{so_far}."


def _d(day: date) -> str:
    return f"{day.day} {day.strftime('%b %Y')}"


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _uptime(rows: Sequence[IntegrationDay]) -> tuple[float | None, float | None, str]:
    sweeps = sum(r.sweeps for r in rows)
    if sweeps:
        return (
            _share(sum(r.connected_sweeps for r in rows), sweeps),
            _share(sum(r.healthy_sweeps for r in rows), sweeps),
            "sweeps",
        )
    runs = sum(r.runs for r in rows)
    if runs:
        return (
            _share(sum(r.connected_runs for r in rows), runs),
            _share(sum(r.healthy_runs for r in rows), runs),
            "runs",
        )
    return None, None, "none"


def _amounts(rows: Iterable[Sequence[str]]) -> dict[str, str]:
    totals: dict[str, Decimal] = {}
    for currency, total in rows:
        totals[currency] = totals.get(currency, Decimal(0)) + Decimal(total)
    return {c: str(v.quantize(Decimal("0.01"))) for c, v in sorted(totals.items())}


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _median_minutes(spans: Sequence[float]) -> float | None:
    return round(statistics.median(spans) / 60, 1) if spans else None


def _detect_spans(rows: Sequence[IntegrationDay]) -> tuple[int, list[float]]:
    incidents = 0
    spans: list[float] = []
    for row in rows:
        for detection in row.detections or []:
            incidents += 1
            failing, healthy = detection.get("failing_at"), detection.get("healthy_before")
            if failing and healthy:
                spans.append((datetime.fromisoformat(failing) - datetime.fromisoformat(healthy)).total_seconds())
    return incidents, spans


def _fix_spans(alerts: Sequence[Alert], start: datetime, end: datetime) -> list[float]:
    spans: list[float] = []
    for alert in alerts:
        opened, resolved = _aware(alert.opened_at), _aware(alert.resolved_at)
        if opened is not None and resolved is not None and start <= resolved < end:
            spans.append((resolved - opened).total_seconds())
    return spans


def _open_at(alert: Alert, end: datetime) -> bool:
    resolved = _aware(alert.resolved_at)
    return resolved is None or resolved >= end


def _actions(actions: Sequence[Action]) -> ActionCounts:
    states = [a.state for a in actions]
    return ActionCounts(
        requested=len(states),
        # approved: every action an admin let run, whatever happened after
        approved=sum(1 for s in states if s in ("approved", "running", "succeeded", "failed", "partly_succeeded")),
        denied=states.count("denied"),
        expired=states.count("expired"),
        succeeded=states.count("succeeded"),
        partly_succeeded=states.count("partly_succeeded"),
        failed=states.count("failed"),
    )


def _causes(rows: Sequence[IntegrationDay]) -> list[Cause]:
    appeared: dict[str, int] = {}
    seen_days: dict[str, int] = {}
    for row in rows:
        for code, n in (row.new_by_code or {}).items():
            appeared[code] = appeared.get(code, 0) + int(n)
        for code in row.findings_by_code or {}:
            seen_days[code] = seen_days.get(code, 0) + 1
    # causes of failure only: a code that never failed (a warning) is not why invoices did not sync
    ranked = sorted(appeared, key=lambda c: (-appeared[c], -seen_days.get(c, 0), c))
    return [Cause(code, _title(code), appeared[code], seen_days.get(code, 0)) for code in ranked[:TOP_CAUSES]]


def _title(code: str) -> str:
    try:
        return title(code)
    except UnknownCode:  # a code a later version retired: still counted, named by its code
        return code


def _weeks(quarter: Quarter, rows: Sequence[IntegrationDay]) -> list[Week]:
    out: list[Week] = []
    for start, end in quarter.weeks():
        inside = [r for r in rows if start <= r.day < end]
        sweeps = sum(r.sweeps for r in inside)
        if sweeps:
            health, checks = _share(sum(r.healthy_sweeps for r in inside), sweeps), sweeps
        else:
            runs = sum(r.runs for r in inside)
            health, checks = _share(sum(r.healthy_runs for r in inside), runs), runs
        out.append(Week(start, end, health, checks))
    return out


def _integration(
    name: str,
    quarter: Quarter,
    rows: Sequence[IntegrationDay],
    alerts: Sequence[Alert],
    actions: Sequence[Action],
    *,
    start: datetime,
    end: datetime,
    minutes_per_diagnosis: int,
    previous: Trend | None,
) -> IntegrationDigest:
    uptime, health, basis = _uptime(rows)
    failed: dict[str, list[str]] = {}
    for row in rows:
        failed.update(row.blocked or {})
    last = max((r for r in rows if r.last_run_at is not None), key=lambda r: r.day, default=None)
    still = dict(last.blocked_last or {}) if last is not None else {}
    cleared = {n: v for n, v in failed.items() if n not in still}
    incidents, detect = _detect_spans(rows)
    fix = _fix_spans(alerts, start, end)
    diagnoses = sum(r.diagnoses for r in rows)
    return IntegrationDigest(
        name=name,
        days_with_data=len(rows),
        first_day=rows[0].day if rows else None,
        last_day=rows[-1].day if rows else None,
        sweeps=sum(r.sweeps for r in rows),
        diagnoses=diagnoses,
        checks_run=sum(r.checks_run for r in rows),
        uptime=uptime,
        uptime_basis=basis,
        health=health,
        invoices_failed=len(failed),
        failed_amounts=_amounts(failed.values()),
        invoices_still_unsynced=len(still),
        still_amounts=_amounts(still.values()),
        invoices_cleared=len(cleared),
        cleared_amounts=_amounts(cleared.values()),
        incidents=incidents,
        median_detect_minutes=_median_minutes(detect),
        fixes=len(fix),
        median_fix_minutes=_median_minutes(fix),
        alerts_open=sum(1 for a in alerts if _open_at(a, end)),
        top_causes=_causes(rows),
        actions=_actions(actions),
        hours_saved=round(diagnoses * minutes_per_diagnosis / 60, 1),
        weeks=_weeks(quarter, rows),
        previous=previous,
    )


def _trend(
    quarter: Quarter, rows: Sequence[IntegrationDay], alerts: Sequence[Alert], start: datetime, end: datetime
) -> Trend | None:
    if not rows:
        return None
    uptime, _, _ = _uptime(rows)
    failed: set[str] = set()
    for row in rows:
        failed.update((row.blocked or {}).keys())
    return Trend(
        quarter=str(quarter),
        days_with_data=len(rows),
        uptime=uptime,
        invoices_failed=len(failed),
        median_fix_minutes=_median_minutes(_fix_spans(alerts, start, end)),
        diagnoses=sum(r.diagnoses for r in rows),
    )
