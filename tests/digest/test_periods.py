"""Quarters in the configured time zone: parsing, bounds across DST changes, the last complete
quarter at the boundary instant in two time zones (freezegun)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from freezegun import freeze_time

from reports.digest.periods import BadQuarter, Quarter


@pytest.mark.parametrize("text", ["2026Q3", "2026q3", " 2026-Q3 ", "2026 Q3"])
def test_quarters_parse(text: str) -> None:
    assert Quarter.parse(text) == Quarter(2026, 3)
    assert str(Quarter.parse(text)) == "2026Q3"


@pytest.mark.parametrize("text", ["2026Q5", "2026Q0", "Q3 2026", "26Q3", "2026", "", "1999Q1"])
def test_bad_quarters_say_what_to_write(text: str) -> None:
    with pytest.raises(BadQuarter, match=r"e\.g\. 2026Q3|between 2000 and 2999"):
        Quarter.parse(text)


def test_neighbours_wrap_years() -> None:
    assert Quarter(2026, 1).previous() == Quarter(2025, 4)
    assert Quarter(2026, 4).next() == Quarter(2027, 1)
    assert Quarter(2026, 3).first_day == date(2026, 7, 1) and Quarter(2026, 3).last_day == date(2026, 9, 30)
    assert Quarter(2024, 1).days == 91 and Quarter(2026, 1).days == 90  # leap year


@pytest.mark.parametrize(
    ("tz", "quarter", "hours"),
    [
        ("Australia/Sydney", Quarter(2026, 2), 91 * 24 + 1),  # DST ends 5 April: one hour longer
        ("Australia/Sydney", Quarter(2026, 4), 92 * 24 - 1),  # DST starts 4 October: one hour shorter
        ("America/New_York", Quarter(2026, 1), 90 * 24 - 1),  # DST starts 8 March
        ("America/New_York", Quarter(2026, 4), 92 * 24 + 1),  # DST ends 1 November
        ("UTC", Quarter(2026, 3), 92 * 24),
    ],
)
def test_bounds_follow_the_wall_clock_across_dst(tz: str, quarter: Quarter, hours: int) -> None:
    start, end = quarter.bounds(tz)
    assert end - start == timedelta(hours=hours)


def test_bounds_are_local_midnight_in_utc() -> None:
    assert Quarter(2026, 3).bounds("Australia/Sydney")[0] == datetime(2026, 6, 30, 14, tzinfo=UTC)  # AEST +10
    assert Quarter(2026, 4).bounds("Australia/Sydney")[1] == datetime(2026, 12, 31, 13, tzinfo=UTC)  # AEDT +11
    assert Quarter(2026, 2).bounds("America/New_York")[0] == datetime(2026, 4, 1, 4, tzinfo=UTC)  # EDT -4


def test_the_last_complete_quarter_changes_at_local_midnight_in_each_zone() -> None:
    # 1 July 2026, 00:30 in Sydney is still 30 June, 10:30 in New York
    with freeze_time("2026-06-30T14:30:00Z"):
        now = datetime.now(UTC)
        assert Quarter.last_complete(now, "Australia/Sydney") == Quarter(2026, 2)
        assert Quarter.last_complete(now, "America/New_York") == Quarter(2026, 1)
        assert Quarter(2026, 2).has_ended(now, "Australia/Sydney")
        assert not Quarter(2026, 2).has_ended(now, "America/New_York")
    with freeze_time("2026-06-30T13:59:59Z"):  # one second before Sydney's midnight
        assert Quarter.last_complete(datetime.now(UTC), "Australia/Sydney") == Quarter(2026, 1)
    with freeze_time("2027-01-01T05:00:00Z"):  # New Year in New York (EST, -5)
        assert Quarter.last_complete(datetime.now(UTC), "America/New_York") == Quarter(2026, 4)
        assert Quarter.last_complete(datetime.now(UTC), "UTC") == Quarter(2026, 4)


def test_weeks_start_on_mondays_and_are_clipped_to_the_quarter() -> None:
    weeks = Quarter(2026, 3).weeks()
    assert weeks[0] == (date(2026, 7, 1), date(2026, 7, 6))  # a Wednesday to the next Monday
    assert all(start.weekday() == 0 for start, _ in weeks[1:])
    assert weeks[-1][1] == date(2026, 10, 1)
    assert sum((end - start).days for start, end in weeks) == 92
