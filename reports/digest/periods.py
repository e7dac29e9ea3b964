"""Quarters in the configured time zone (pure; tested under freezegun).

A quarter starts at local midnight on 1 January, April, July or October. Its bounds in UTC
come from ``zoneinfo``, so a quarter that spans a DST change (Sydney's April and October,
New York's March and November) is as long as the wall clock says, not 92 x 24 hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


class BadQuarter(ValueError):
    """A quarter that cannot be read; the message says what to write instead."""


@dataclass(frozen=True, slots=True, order=True)
class Quarter:
    year: int
    number: int  # 1..4

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = _QUARTER.match(text or "")
        if not match:
            raise BadQuarter(f"{text!r} is not a quarter: write the year and the quarter, e.g. 2026Q3")
        year = int(match.group(1))
        if not 2000 <= year <= 2999:
            raise BadQuarter(f"{text!r}: the year must be between 2000 and 2999")
        return cls(year, int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def containing(cls, moment: datetime, tz: str | ZoneInfo) -> Quarter:
        return cls.of(_local(moment, tz).date())

    @classmethod
    def last_complete(cls, now: datetime, tz: str | ZoneInfo) -> Quarter:
        """The newest quarter that has ended by ``now`` in ``tz``."""
        return cls.containing(now, tz).previous()

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def label(self) -> str:
        return f"Q{self.number} {self.year}"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end_day(self) -> date:
        """The day after the quarter (exclusive)."""
        return self.next().first_day

    @property
    def last_day(self) -> date:
        return self.end_day - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end_day - self.first_day).days

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def bounds(self, tz: str | ZoneInfo) -> tuple[datetime, datetime]:
        """``[start, end)`` in UTC: local midnight of the first day to that of the next quarter."""
        return local_midnight(self.first_day, tz), local_midnight(self.end_day, tz)

    def has_ended(self, now: datetime, tz: str | ZoneInfo) -> bool:
        return _aware(now) >= self.bounds(tz)[1]

    def weeks(self) -> list[tuple[date, date]]:
        """The quarter cut into weeks starting on Mondays, ``[start, end)`` each; the first and
        last are clipped to the quarter (so they may be short)."""
        start = self.first_day
        out: list[tuple[date, date]] = []
        while start < self.end_day:
            end = min(start + timedelta(days=7 - start.weekday()), self.end_day)
            out.append((start, end))
            start = end
        return out


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _local(moment: datetime, tz: str | ZoneInfo) -> datetime:
    return _aware(moment).astimezone(_zone(tz))


def local_midnight(day: date, tz: str | ZoneInfo) -> datetime:
    """00:00 of ``day`` in ``tz``, in UTC. (No zone Sync Doctor knows skips midnight itself in
    a DST change; if one did, zoneinfo's fold=0 gives the offset before the change.)"""
    return datetime.combine(day, time(0), tzinfo=_zone(tz)).astimezone(UTC)
