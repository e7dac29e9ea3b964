"""Prometheus metrics (``GET /metrics``): the counters every part of the service increments, and
the text exposition.

Counters live on one registry of this module, so any module of the service layer can import
and increment them (the alert publisher: ``ALERT_POSTS.labels(kind="opened").inc()``). Calls to
the outside world are counted at the one HTTP door (``providers/http.py``) through its call
listener, which :func:`install` subscribes; providers know nothing of this module. Actions by
state are read from the database when scraped, so every replica reports the same figures.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from checks.runner import RunResult
from providers.http import add_call_listener
from service.notify import RunNotifier
from store.models import Action

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client.metrics_core import Metric

    from service.container import Services

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REGISTRY = CollectorRegistry(auto_describe=True)

SWEEP_DURATION = Histogram(
    "sync_doctor_sweep_duration_seconds",
    "Wall time of this replica's part of one monitoring sweep.",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 900, 1800),
    registry=REGISTRY,
)
SWEEP_LAST_END = Gauge(
    "sync_doctor_sweep_last_end_timestamp_seconds",
    "When this replica last finished its part of a sweep (Unix time).",
    registry=REGISTRY,
)
CHECKS_RUN = Counter(
    "sync_doctor_checks_run_total",
    "Check runs of one integration, by trigger (schedule, cli, slack, demo).",
    ["trigger"],
    registry=REGISTRY,
)
FINDINGS = Counter(
    "sync_doctor_findings_total",
    "Findings reported by check runs, by code and severity.",
    ["code", "severity"],
    registry=REGISTRY,
)
PROVIDER_CALLS = Counter(
    "sync_doctor_provider_calls_total",
    "Requests to external systems that went over the wire, by system.",
    ["system"],
    registry=REGISTRY,
)
PROVIDER_THROTTLED = Counter(
    "sync_doctor_provider_throttled_total",
    "Requests an external system answered with a rate limit (429), by system.",
    ["system"],
    registry=REGISTRY,
)
JOB_RUNS = Counter(
    "sync_doctor_job_runs_total",
    "Scheduled job periods this replica ran, by job and outcome (ok, error).",
    ["job", "outcome"],
    registry=REGISTRY,
)
ALERT_POSTS = Counter(
    "sync_doctor_alert_posts_total",
    "Alert messages posted to Slack, by kind (opened, grew, resolved) - incremented by the alert publisher.",
    ["kind"],
    registry=REGISTRY,
)


def observe_run(result: RunResult) -> None:
    """A run listener (``RunNotifier.subscribe``): every run, whoever started it."""
    CHECKS_RUN.labels(trigger=result.trigger).inc()
    for finding in result.findings:
        FINDINGS.labels(code=finding.code, severity=finding.severity.label).inc()


def observe_call(system: str, status: int | None, throttled: bool) -> None:
    """The HTTP door's call listener."""
    PROVIDER_CALLS.labels(system=system).inc()
    if throttled:
        PROVIDER_THROTTLED.labels(system=system).inc()


class ActionsCollector(Collector):
    """Actions by state, counted in the database at scrape time."""

    def __init__(self) -> None:
        self.sessions: sessionmaker[Session] | None = None

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("sync_doctor_actions", "Actions in the database, by state.", labels=["state"])
        if self.sessions is not None:
            with self.sessions() as session:
                rows = session.execute(select(Action.state, func.count()).group_by(Action.state)).all()
            for state, count in rows:
                family.add_metric([str(state)], float(count))
        yield family


_ACTIONS = ActionsCollector()
REGISTRY.register(_ACTIONS)
_installed = threading.Lock()
_calls_listening = False
_counted: weakref.WeakSet[RunNotifier] = weakref.WeakSet()


def install(services: Services) -> None:
    """Count this process's runs and calls, and read actions from its database. Idempotent: a
    notifier is listened to once, and the call listener is one per process (the HTTP door is
    process-wide)."""
    global _calls_listening
    with _installed:
        if services.notifier not in _counted:  # serve and its scheduler both install: count once
            services.notifier.subscribe(observe_run)
            _counted.add(services.notifier)
        _ACTIONS.sessions = services.sessions
        if not _calls_listening:
            add_call_listener(observe_call)
            _calls_listening = True


def render() -> bytes:
    """The Prometheus text exposition of every metric above."""
    return generate_latest(REGISTRY)
