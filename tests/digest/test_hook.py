"""Every run the CheckService stores counts in the daily counters: real runs over the demo
world's emulators (loopback HTTP), whatever triggered them."""

from __future__ import annotations

from sqlalchemy import select

from app import build
from demo import DemoEnvironment
from store.counters import local_day
from store.models import IntegrationDay


def test_runs_of_every_trigger_are_counted(env: dict[str, str]) -> None:
    with DemoEnvironment({}, build, database_url=env["DATABASE_URL"]) as demo:
        services = demo.services
        first = services.checks.run("acme", trigger="slack")
        second = services.checks.run("acme", trigger="schedule")
        with services.sessions() as session:
            (row,) = session.scalars(select(IntegrationDay).where(IntegrationDay.integration == "acme")).all()
    assert row.day == local_day(second.started_at, "UTC")  # the demo's time zone is UTC
    assert (row.runs, row.diagnoses, row.sweeps) == (2, 1, 1)
    assert row.checks_run == len(first.timings) + len(second.timings)
    failing = {f.code for f in first.findings if f.severity >= 2}
    assert failing and set(row.findings_by_code) >= failing
    assert set(row.new_by_code) == failing  # new in the first run, ongoing in the second
    assert row.invoices_blocked_last == len(second.blocked.blocked)
    assert (row.healthy_sweeps, row.last_failing) == (0, True)
