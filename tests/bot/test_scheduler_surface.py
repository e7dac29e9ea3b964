"""What operators see of the scheduler over HTTP: /healthz reports the last sweep, its lag,
the jobs whose latest period failed and the digests a channel refused; /metrics is Prometheus text with the sweep, checks,
findings, provider calls and 429s, actions by state and alert posts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scheduling.base import JobContext, ScheduledJob
from scheduling.jobs import JOBS
from scheduling.runner import Scheduler
from service import metrics
from service.digests import Quarter, run_quarterly_digest
from tests.bot.conftest import Harness
from tests.bot.world import ACME_KEY
from tests.scheduling.fleet import ran_before


def boom(ctx: JobContext) -> None:
    raise RuntimeError("the keep-alive endpoint answered 500")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_healthz_and_metrics_report_the_scheduler(make_harness: Callable[..., Harness], database_url: str) -> None:
    h = make_harness(database_url)
    metrics.install(h.services)  # as serve does
    before = metrics.REGISTRY.get_sample_value("sync_doctor_checks_run_total", {"trigger": "schedule"}) or 0.0
    health = httpx.get(f"{h.url}/healthz").json()
    assert health["scheduler"]["last_sweep_end"] is None and health["scheduler"]["jobs_failing"] == {}

    h.sandbox.emulators["hubspot"].faults.rate_limit = 1  # one 429, retried
    cast(Any, h.sandbox.emulators["hubspot"]).api_keys[ACME_KEY]["revoked"] = True  # a finding to count
    failing = ScheduledJob("keep_alive", "keep_alive", False, boom)
    Scheduler(h.services, [*[j for j in JOBS if j.name == "sweep"], failing]).run_due(60)
    assert h.services.notifier.flush(30)

    health = httpx.get(f"{h.url}/healthz").json()
    scheduler = health["scheduler"]
    assert health["status"] == "ok" and scheduler["last_sweep_end"] is not None
    assert scheduler["lag_s"] == 0.0
    assert scheduler["status"] == "failing"
    assert scheduler["jobs_failing"]["keep_alive"]["error"] == "RuntimeError: the keep-alive endpoint answered 500"
    assert set(scheduler["jobs"]) == {"sweep", "keep_alive"}

    answer = httpx.get(f"{h.url}/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    got = samples(answer.text)
    assert got[("sync_doctor_checks_run_total", (("trigger", "schedule"),))] == before + 3
    assert got[("sync_doctor_sweep_duration_seconds_count", ())] >= 1
    assert got[("sync_doctor_provider_calls_total", (("system", "hubspot"),))] >= 3
    assert got[("sync_doctor_provider_calls_total", (("system", "xero"),))] >= 3
    assert got[("sync_doctor_provider_throttled_total", (("system", "hubspot"),))] >= 1
    assert got[("sync_doctor_job_runs_total", (("job", "keep_alive"), ("outcome", "error")))] >= 1
    revoked = [
        value
        for (name, labels), value in got.items()
        if name == "sync_doctor_findings_total"
        and dict(labels).get("code") in ("apikey.invalid", "token.revoked")
        and dict(labels)["severity"] == "fail"
    ]
    assert revoked and revoked[0] >= 1
    assert "# TYPE sync_doctor_alert_posts_total counter" in answer.text
    assert "# TYPE sync_doctor_actions gauge" in answer.text
    assert "xoxb" not in answer.text


def test_healthz_shows_a_digest_the_channel_refused_until_it_is_sent(
    make_harness: Callable[..., Harness], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    h = make_harness(database_url, slack={"digest_channel": "C0DIGEST"})
    h.fake.not_in_channel.add("C0DIGEST")  # nobody invited the bot
    quarter_day = datetime(2026, 10, 1, 9, 0, 30, tzinfo=UTC)  # the digest of 2026Q3 is due
    digest_job = [j for j in JOBS if j.name == "digest"]
    ran_before(h.services, "digest")  # a quarter's digest due at a restart, not a first start
    with caplog.at_level(logging.ERROR, logger="service.digests"):
        Scheduler(h.services, digest_job, clock=lambda: quarter_day).run_due(60)
    assert any("2026Q3" in r.getMessage() and "not_in_channel" in r.getMessage() for r in caplog.records)

    scheduler = httpx.get(f"{h.url}/healthz").json()["scheduler"]
    assert scheduler["jobs_failing"] == {}  # the job did its part: the digest is kept
    assert scheduler["status"] == "failing"
    (pending,) = scheduler["digests_pending"]
    assert pending["quarter"] == "2026Q3" and pending["attempts"] == 1
    assert pending["error"].startswith("not_in_channel") and "/invite" in pending["error"]
    assert pending["retry"] == "sync-doctor digest --post --quarter 2026Q3"

    again = run_quarterly_digest(h.services, quarter=Quarter(2026, 3))  # tried again, still refused
    assert again.pending
    (pending,) = httpx.get(f"{h.url}/healthz").json()["scheduler"]["digests_pending"]
    assert pending["attempts"] == 2

    h.fake.not_in_channel.discard("C0DIGEST")  # invited: the daily retry sends it
    retry = [j for j in JOBS if j.name == "digest_retry"]
    Scheduler(h.services, retry, clock=lambda: quarter_day + timedelta(days=1)).run_due(60)
    # the digest once, and its chart beside it (the upload's file share)
    assert [m.text for m in h.fake.channel_messages("C0DIGEST")] == ["Sync health, Q3 2026: no data this quarter.", ""]
    scheduler = httpx.get(f"{h.url}/healthz").json()["scheduler"]
    assert scheduler["digests_pending"] == [] and scheduler["status"] == "ok"
