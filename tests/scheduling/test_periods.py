"""Period keys (scheduling/periods.py): the same key on every replica for the same instant,
DST-correct in the configured time zone, and the latest due occurrence (catch-up runs once)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from config.schedules import DigestSchedule, JobSchedule
from scheduling.periods import period_for, quarter_before

SYDNEY = ZoneInfo("Australia/Sydney")
NEW_YORK = ZoneInfo("America/New_York")
DAILY_2 = JobSchedule(at=time(2, 0))
DAILY_230 = JobSchedule(at=time(2, 30))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_every_periods_are_floor_of_epoch_over_interval() -> None:
    every = JobSchedule(every=900)
    a = period_for(every, utc("2026-12-07 10:00:00"), SYDNEY)
    b = period_for(every, utc("2026-12-07 10:14:59"), NEW_YORK)  # the time zone plays no part
    c = period_for(every, utc("2026-12-07 10:15:00"), SYDNEY)
    assert a.key == b.key != c.key
    assert a.key == f"900s:{int(utc('2026-12-07 10:00:00').timestamp()) // 900}"
    assert a.due_at == utc("2026-12-07 10:00:00") and c.due_at == utc("2026-12-07 10:15:00")


@pytest.mark.parametrize(
    ("tz", "now", "key", "due"),
    [
        # Sydney, AEDT (+11): 02:00 local on the 7th is 15:00 UTC on the 6th
        (SYDNEY, "2026-12-06 14:59:59", "2026-12-06", "2026-12-05 15:00"),
        (SYDNEY, "2026-12-06 15:00:00", "2026-12-07", "2026-12-06 15:00"),
        # New York, EST (-5): 02:00 local is 07:00 UTC
        (NEW_YORK, "2026-12-07 06:59:00", "2026-12-06", "2026-12-06 07:00"),
        (NEW_YORK, "2026-12-07 07:00:00", "2026-12-07", "2026-12-07 07:00"),
    ],
)
def test_daily_period_is_the_local_day_whose_time_has_passed(tz: ZoneInfo, now: str, key: str, due: str) -> None:
    period = period_for(DAILY_2, utc(now), tz)
    assert period.key == key and period.due_at == utc(due)


def test_daily_period_across_new_york_spring_forward() -> None:
    # 2027-03-14: clocks jump from 02:00 EST to 03:00 EDT; 02:30 does not exist that day.
    before = period_for(DAILY_230, utc("2027-03-14 07:29:00"), NEW_YORK)
    at = period_for(DAILY_230, utc("2027-03-14 07:30:00"), NEW_YORK)
    assert before.key == "2027-03-13" and at.key == "2027-03-14"
    assert at.due_at == utc("2027-03-14 07:30")  # 03:30 EDT, just after the jump
    # the day after, 02:30 EDT is 06:30 UTC: the offset changed, the wall time did not
    assert period_for(DAILY_230, utc("2027-03-15 06:30:00"), NEW_YORK).key == "2027-03-15"
    assert period_for(DAILY_230, utc("2027-03-15 06:29:00"), NEW_YORK).key == "2027-03-14"


def test_daily_period_across_new_york_fall_back_runs_once() -> None:
    # 2026-11-01: 01:30 happens twice (EDT, then EST). The day's period starts at the first.
    at_one_thirty = JobSchedule(at=time(1, 30))
    first = period_for(at_one_thirty, utc("2026-11-01 05:30:00"), NEW_YORK)  # 01:30 EDT
    second = period_for(at_one_thirty, utc("2026-11-01 06:30:00"), NEW_YORK)  # 01:30 EST
    assert first.key == second.key == "2026-11-01"
    assert first.due_at == second.due_at == utc("2026-11-01 05:30")


def test_daily_period_across_sydney_dst_changes() -> None:
    # 2026-10-04: Sydney jumps from 02:00 AEST (+10) to 03:00 AEDT (+11); 02:30 does not exist.
    due = period_for(DAILY_230, utc("2026-10-03 16:30:00"), SYDNEY)
    assert due.key == "2026-10-04" and due.due_at == utc("2026-10-03 16:30")  # 03:30 AEDT
    assert period_for(DAILY_230, utc("2026-10-03 16:29:00"), SYDNEY).key == "2026-10-03"
    # 2027-04-04: back from 03:00 AEDT to 02:00 AEST; 02:30 happens twice, the first counts.
    first = period_for(DAILY_230, utc("2027-04-03 15:30:00"), SYDNEY)  # 02:30 AEDT
    again = period_for(DAILY_230, utc("2027-04-03 16:30:00"), SYDNEY)  # 02:30 AEST
    assert first.key == again.key == "2027-04-04"


def test_quarterly_digest_period() -> None:
    digest = DigestSchedule(at=time(9, 0))
    # Sydney, 1 January 2027 09:00 AEDT = 31 December 22:00 UTC
    assert period_for(digest, utc("2026-12-31 21:59:00"), SYDNEY, quarterly=True).key == "2026-Q4"
    q1 = period_for(digest, utc("2026-12-31 22:00:00"), SYDNEY, quarterly=True)
    assert q1.key == "2027-Q1" and q1.due_at == utc("2026-12-31 22:00")
    assert period_for(digest, utc("2027-03-31 12:00:00"), SYDNEY, quarterly=True).key == "2027-Q1"
    assert period_for(digest, utc("2027-07-01 13:00:00"), NEW_YORK, quarterly=True).key == "2027-Q3"
    assert quarter_before("2027-Q1") == "2026-Q4" and quarter_before("2027-Q3") == "2027-Q2"


def test_a_long_downtime_gives_only_the_latest_period() -> None:
    """Days later, the current period is the latest missed one: catch-up runs it alone."""
    with freeze_time("2026-12-10 08:00:00"):
        now = datetime.now(UTC)
    assert period_for(DAILY_2, now, NEW_YORK).key == "2026-12-10"
    assert period_for(JobSchedule(every=900), now, NEW_YORK).due_at == now


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        period_for(DAILY_2, datetime(2026, 12, 7, 2, 0), SYDNEY)
