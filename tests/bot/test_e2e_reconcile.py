"""Nightly reconciliation over the emulators: the full checks over 7 days as a stored run,
then ONE re-sync request per integration for the invoices that can be pushed, posted for
approval through the bot's own request message; run again (the same night or the next) it adds
none while that request awaits a decision; a healthy integration gets none; invoices that
cannot be pushed are not requested."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from scheduling.jobs import JOBS
from scheduling.runner import Scheduler
from service.action_views import ActionView
from service.reconcile import reconcile
from store import repositories as repo
from store.models import Run
from tests.bot.conftest import Harness
from tests.bot.test_e2e_alerts_home import create_item_in_xero
from tests.scheduling.fleet import ran_before


def announcer(h: Harness) -> Callable[[ActionView], object]:
    """What the composition root wired (app.py): the request posted as a finding's button posts it."""
    assert h.services.announce_request is not None
    return h.services.announce_request


def resyncs(h: Harness, name: str) -> list[ActionView]:
    return [a for a in h.services.actions.list(name) if a.kind == "resync"]


def test_unsynced_invoices_become_one_request_run_twice_still_one(
    make_harness: Callable[..., Harness], database_url: str
) -> None:
    h = make_harness(database_url)
    create_item_in_xero(h, "PROD-404")  # INV-2001 can now be pushed: only its sync is missing
    now = datetime.now(UTC)
    report = reconcile(h.services, "globex", now=now, announce=announcer(h))
    assert report.proposed == ["INV-2001"]
    assert report.requested is not None and report.pending is None and report.refused is None
    assert report.requested.params["numbers"] == "INV-2001"
    assert (report.requested.requested_by, report.requested.requested_via) == ("scheduler", "schedule")
    with h.services.sessions() as session:
        run = repo.latest_run(session, "globex")
        assert run is not None and run.trigger == "reconcile"
    approvals = [m for m in h.fake.channel_messages("C0GLOBEX", top_level=True) if "Re-sync" in m.text]
    assert len(approvals) == 1 and any(b["type"] == "actions" for b in approvals[0].blocks)

    again = reconcile(h.services, "globex", now=now, announce=announcer(h))
    tomorrow = reconcile(h.services, "globex", now=now + timedelta(days=1), announce=announcer(h))
    assert again.requested is None and tomorrow.requested is None
    assert again.pending is not None and again.pending.id == report.requested.id
    assert [a.id for a in resyncs(h, "globex")] == [report.requested.id]
    assert len([m for m in h.fake.channel_messages("C0GLOBEX", top_level=True) if "Re-sync" in m.text]) == 1


def test_a_clean_world_gets_no_request(make_harness: Callable[..., Harness], database_url: str) -> None:
    h = make_harness(database_url)
    report = reconcile(h.services, "acme", now=datetime.now(UTC), announce=announcer(h))
    assert report.proposed == [] and report.requested is None
    assert resyncs(h, "acme") == []
    assert h.fake.calls_to("chat.postMessage") == []


def test_invoices_that_cannot_be_pushed_are_not_requested(
    make_harness: Callable[..., Harness], database_url: str
) -> None:
    h = make_harness(database_url)  # INV-2001 sells PROD-404, which Globex's Xero lacks: the plan blocks it
    report = reconcile(h.services, "globex", now=datetime.now(UTC), announce=announcer(h))
    assert report.proposed == ["INV-2001"] and report.requested is None
    assert report.refused is not None or report.left_out == {"INV-2001": "blocked"}
    assert resyncs(h, "globex") == []


def test_the_scheduler_runs_it_per_integration_and_posts_the_request(
    make_harness: Callable[..., Harness], database_url: str
) -> None:
    h = make_harness(database_url)
    create_item_in_xero(h, "PROD-404")
    nightly = [job for job in JOBS if job.name == "reconcile"]
    ran_before(h.services, "reconcile")  # so the night due before this start is caught up, once
    Scheduler(h.services, nightly).run_due(120)
    with h.services.sessions() as session:
        runs = {r.integration for r in session.scalars(select(Run).where(Run.trigger == "reconcile"))}
    assert runs == set(h.services.config.integrations)
    (request,) = resyncs(h, "globex")
    assert request.params["numbers"] == "INV-2001" and request.requested_by == "scheduler"
    approvals = [m for m in h.fake.channel_messages("C0GLOBEX", top_level=True) if "Re-sync" in m.text]
    assert len(approvals) == 1
    Scheduler(h.services, nightly).run_due(120)  # the same night again: claimed, nothing runs
    assert len(resyncs(h, "globex")) == 1
