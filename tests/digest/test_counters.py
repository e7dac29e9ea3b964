"""Daily counters: one row per integration and local day, upserted by every run (SQLite and
PostgreSQL, concurrent runs included), with the day taken in the configured time zone."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import cast

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from checks.findings import Severity
from store.counters import days_between, record_runs_counters
from store.models import IntegrationDay
from tests.digest.seeding import finding, ongoing, record, run

T0 = datetime(2026, 7, 10, 2, 0, tzinfo=UTC)


def rows(sessions: sessionmaker[Session]) -> list[IntegrationDay]:
    with sessions() as session:
        return list(session.scalars(select(IntegrationDay).order_by(IntegrationDay.integration, IntegrationDay.day)))


def test_runs_of_a_day_add_up_in_one_row(sessions: sessionmaker[Session]) -> None:
    failing = finding("sku.missing", blocked=(("INV-1", "AUD", "100.50"), ("INV-2", "AUD", "20")))
    with sessions.begin() as session:
        record(session, run("acme", T0, finding("token.expiring", Severity.WARN)), "UTC")
        record(session, run("acme", T0 + timedelta(hours=1), failing), "UTC")
        record(session, run("acme", T0 + timedelta(hours=2), failing, trigger="slack"), "UTC")
    (row,) = rows(sessions)
    assert (row.day, row.runs, row.sweeps, row.diagnoses) == (date(2026, 7, 10), 3, 2, 1)
    assert (row.healthy_sweeps, row.connected_sweeps, row.healthy_runs) == (1, 2, 1)
    assert row.checks_run == 6
    assert row.findings_by_code == {"token.expiring": 1, "sku.missing": 2}
    assert row.new_by_code == {"sku.missing": 2}  # warnings are not causes of failure
    assert row.blocked == {"INV-1": ["AUD", "100.50"], "INV-2": ["AUD", "20"]}
    assert (row.invoices_blocked_last, row.blocked_amounts_last) == (2, {"AUD": "120.50"})
    assert row.last_failing is True


def test_a_connection_failure_is_downtime(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        record(session, run("acme", T0, finding("token.revoked")), "UTC")
        record(session, run("acme", T0 + timedelta(hours=1), finding("connection.unreachable", Severity.ERROR)), "UTC")
        record(session, run("acme", T0 + timedelta(hours=2), finding("sku.missing")), "UTC")
    (row,) = rows(sessions)
    assert (row.sweeps, row.connected_sweeps, row.healthy_sweeps) == (3, 1, 0)


def test_the_day_is_the_local_day_of_the_configured_time_zone(sessions: sessionmaker[Session]) -> None:
    late = datetime(2026, 7, 1, 13, 30, tzinfo=UTC)  # 23:30 in Sydney (AEST), 09:30 in New York
    with sessions.begin() as session:
        record(session, run("acme", late), "Australia/Sydney")
        record(session, run("acme", late + timedelta(hours=1)), "Australia/Sydney")  # 00:30 the next day
        record(session, run("globex", late + timedelta(hours=1)), "America/New_York")
    assert [(r.integration, r.day, r.runs) for r in rows(sessions)] == [
        ("acme", date(2026, 7, 1), 1),
        ("acme", date(2026, 7, 2), 1),
        ("globex", date(2026, 7, 1), 1),
    ]


def test_a_dst_change_keeps_each_run_on_its_wall_clock_day(sessions: sessionmaker[Session]) -> None:
    # New York, 1 November 2026: 01:00-02:00 happens twice; 23:30 local on the 1st is 04:30Z on the 2nd
    with sessions.begin() as session:
        record(session, run("acme", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)), "America/New_York")  # 01:30 EDT
        record(session, run("acme", datetime(2026, 11, 1, 6, 30, tzinfo=UTC)), "America/New_York")  # 01:30 EST
        record(session, run("acme", datetime(2026, 11, 2, 4, 30, tzinfo=UTC)), "America/New_York")  # 23:30 EST
        record(session, run("acme", datetime(2026, 11, 2, 5, 30, tzinfo=UTC)), "America/New_York")  # 00:30 the 2nd
    assert [(r.day, r.runs) for r in rows(sessions)] == [(date(2026, 11, 1), 3), (date(2026, 11, 2), 1)]


def test_each_healthy_to_failing_change_is_one_detection(sessions: sessionmaker[Session]) -> None:
    failing = run("acme", T0, finding("sku.missing"))
    with sessions.begin() as session:
        record(session, run("acme", T0 - timedelta(days=1)), "UTC")  # healthy the day before
        record(session, failing, "UTC")
        record(session, ongoing(run("acme", T0 + timedelta(hours=1), finding("sku.missing"))), "UTC")
        record(session, run("acme", T0 + timedelta(hours=2)), "UTC")
        record(session, run("acme", T0 + timedelta(hours=3), finding("mapping.tax_code")), "UTC")
    day_before, day = rows(sessions)
    assert day_before.detections == []
    assert day.detections == [
        {"failing_at": T0.isoformat(), "healthy_before": (T0 - timedelta(days=1)).isoformat()},
        {"failing_at": (T0 + timedelta(hours=3)).isoformat(), "healthy_before": (T0 + timedelta(hours=2)).isoformat()},
    ]


def test_a_run_reported_late_does_not_rewrite_the_days_last_state(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        record(session, run("acme", T0 + timedelta(hours=2)), "UTC")
        record(session, run("acme", T0, finding("sku.missing", blocked=(("INV-9", "NZD", "5"),))), "UTC")
    (row,) = rows(sessions)
    assert (row.runs, row.last_failing, row.invoices_blocked_last, row.blocked) == (
        2,
        False,
        0,
        {"INV-9": ["NZD", "5"]},
    )
    assert row.first_run_at is not None and row.first_run_at.replace(tzinfo=UTC) == T0


def test_concurrent_runs_are_all_counted(sessions: sessionmaker[Session]) -> None:
    """Two writers upserting the same row at once (the row does not exist yet): none lost."""
    per_thread, threads = 15, 4
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                code = "sku.missing" if i % 2 else "mapping.tax_code"
                result = run(
                    "acme", T0 + timedelta(seconds=n * 100 + i), finding(code, blocked=((f"INV-{n}-{i}", "AUD", "1"),))
                )
                with sessions.begin() as session:
                    record(session, result, "UTC")
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    (row,) = rows(sessions)
    assert row.runs == per_thread * threads
    assert sum(row.findings_by_code.values()) == per_thread * threads
    assert len(row.blocked) == per_thread * threads  # every JSON merge kept, none overwritten


def test_days_between_reads_a_range(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        for d in range(5):
            record(session, run("acme", T0 + timedelta(days=d)), "UTC")
        record(session, run("globex", T0), "UTC")
    with sessions() as session:
        got = days_between(session, date(2026, 7, 11), date(2026, 7, 13), ["acme"])
    assert [r.day for r in got] == [date(2026, 7, 11), date(2026, 7, 12)]


def columns(row: IntegrationDay) -> dict[str, object]:
    return {c.name: getattr(row, c.name) for c in IntegrationDay.__table__.columns if c.name != "id"}


def test_a_batch_of_runs_counts_as_the_same_runs_one_by_one(sessions: sessionmaker[Session]) -> None:
    """A sweep stores its batch with ``record_runs_counters``: the rows must be the ones the
    runs would have written one at a time (two runs of one integration in a batch included)."""
    failing = finding("sku.missing", blocked=(("INV-1", "AUD", "100.50"),))
    batch = [
        run("acme", T0, finding("token.expiring", Severity.WARN)),
        run("globex", T0, failing),
        run("acme", T0 + timedelta(hours=1), failing),
        run("initech", T0 + timedelta(hours=23)),  # the next day in Sydney
    ]
    with sessions.begin() as session:
        record(session, run("globex", T0 - timedelta(days=1)), "Australia/Sydney")  # healthy the day before
        record_runs_counters(session, [(r, r.trigger, r.started_at) for r in batch], "Australia/Sydney")
    batched = [columns(r) for r in rows(sessions)]
    with sessions.begin() as session:
        session.execute(delete(IntegrationDay))
        record(session, run("globex", T0 - timedelta(days=1)), "Australia/Sydney")
        for r in batch:
            record(session, r, "Australia/Sydney")
    assert batched == [columns(r) for r in rows(sessions)]
    assert [(r["integration"], r["runs"]) for r in batched] == [
        ("acme", 2),
        ("globex", 1),
        ("globex", 1),
        ("initech", 1),
    ]
    (detection,) = cast(list[dict[str, str | None]], batched[2]["detections"])  # globex broke on its second day
    assert detection["healthy_before"] is not None
