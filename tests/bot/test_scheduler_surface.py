"""What operators see of the scheduler over HTTP: /healthz reports the last sweep, its lag and
the jobs whose latest period failed; /metrics is Prometheus text with the sweep, checks,
findings, provider calls and 429s, actions by state and alert posts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import httpx
from prometheus_client.parser import text_string_to_metric_families

from scheduling.base import JobContext, ScheduledJob
from scheduling.jobs import JOBS
from scheduling.runner import Scheduler
from service import metrics
from tests.bot.conftest import Harness
from tests.bot.world import ACME_KEY


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
