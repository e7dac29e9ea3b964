"""Period keys: which run of a job an instant belongs to.

A job runs once per period, and the key names the period, so every replica computes the same
key for the same instant and the database lets one of them claim it (``store/claims.py``):

- ``every`` jobs: ``floor(epoch / interval)``, e.g. ``900s:1987654`` (time-zone free);
- ``at`` jobs: the local day whose ``HH:MM`` has passed most recently, e.g. ``2026-12-07``;
- the digest: the quarter whose first day's ``HH:MM`` has passed most recently, ``2027-Q1``.

"Most recently passed" is what makes catch-up run once: after a downtime the current key is
that of the latest missed occurrence, and the ones before it are never asked for.

Local times are resolved in the configured time zone with ``zoneinfo`` and compared in UTC,
so daylight saving changes move the instant, never the day: a time that does not exist on a
spring-forward day (02:30 in a skipped hour) runs at the equivalent instant after the jump,
and one that occurs twice on a fall-back day runs at its first occurrence, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from config.schedules import JobSchedule


@dataclass(frozen=True, slots=True)
class Period:
    key: str
    due_at: datetime  # the instant (UTC) the period's run was due


def every_period(interval: int, now: datetime) -> Period:
    slot = int(now.timestamp()) // interval
    return Period(f"{interval}s:{slot}", datetime.fromtimestamp(slot * interval, UTC))


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """``day`` at ``at`` in ``tz``, in UTC. A wall time skipped by DST (fold=0 in a gap) maps
    to the instant after the jump; one that occurs twice maps to its first occurrence."""
    wall = datetime.combine(day, at).replace(tzinfo=tz, fold=0)
    instant = wall.astimezone(UTC)
    # In a gap, zoneinfo answers with the offset from before the jump: the UTC instant is then
    # the moment the clocks jumped over that wall time, which is what we want.
    return instant


def daily_period(at: time, now: datetime, tz: ZoneInfo) -> Period:
    today = now.astimezone(tz).date()
    for day in (today, today - timedelta(days=1)):
        due = local_instant(day, at, tz)
        if due <= now:
            return Period(day.isoformat(), due)
    # Unreachable for real zones (yesterday's time has always passed); kept total.
    day = today - timedelta(days=2)
    return Period(day.isoformat(), local_instant(day, at, tz))


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_key(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_period(at: time, now: datetime, tz: ZoneInfo) -> Period:
    start = quarter_start(now.astimezone(tz).date())
    due = local_instant(start, at, tz)
    if due > now:  # before 09:00 on the quarter's first day: the previous quarter's run
        start = quarter_start(start - timedelta(days=1))
        due = local_instant(start, at, tz)
    return Period(quarter_key(start), due)


def quarter_before(key: str) -> str:
    """The quarter before ``2027-Q1`` (``2026-Q4``): the one a digest run in ``key`` reports on."""
    year, quarter = int(key[:4]), int(key[-1])
    return f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"


def period_for(schedule: JobSchedule, now: datetime, tz: ZoneInfo, *, quarterly: bool = False) -> Period:
    """The period ``now`` falls in for ``schedule`` (``quarterly``: the digest's cadence)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if schedule.every is not None:
        return every_period(schedule.every, now)
    assert schedule.at is not None
    if quarterly:
        return quarter_period(schedule.at, now, tz)
    return daily_period(schedule.at, now, tz)
