"""The ``schedules:`` block: when each scheduled job runs, at the top level and per integration.

    schedules:
      sweep: {every: 15m, workers: 16}     # the cheap checks on every integration
      reconcile: {at: "02:00", window_days: 7}
      keep_alive: {every: 1d}              # token keep-alive
      digest: {at: "09:00", minutes_per_diagnosis: 30}   # first day of each quarter
      retention: {at: "03:30", runs_days: 90, counters_days: 730}

Every key has a default, so a file without the block schedules everything. A job runs either
``every`` an interval (``10s``, ``15m``, ``2h``, ``1d``; at least 10 s) or ``at`` a local time
``HH:MM`` in the file's ``timezone:``; ``enabled: false`` stops it. An integration may override
the per-integration jobs (``sweep``, ``reconcile``) under ``integrations.<name>.schedules:``;
the others are one job for the whole process and are set at the top level only, as is
``sweep.workers`` (integrations checked at once per replica: the pool of ``scheduling/sweep.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.integrations import _Reader

MIN_INTERVAL_S = 10
MAX_INTERVAL_S = 366 * 86400
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
RETENTION_DAYS_MAX = 36600
SWEEP_WORKERS_DEFAULT = 16  # the fastest 1,000-integration sweep measured (bench/bench_sweep.py; README)
SWEEP_WORKERS_MAX = 64

JOBS = ("sweep", "reconcile", "keep_alive", "digest", "retention")
PER_INTEGRATION = ("sweep", "reconcile")  # the jobs an integration may override


@dataclass(frozen=True, slots=True)
class JobSchedule:
    """When one job runs: ``every`` seconds, or ``at`` a local time (exactly one is set)."""

    every: int | None = None
    at: time | None = None
    enabled: bool = True

    def describe(self) -> str:
        if self.every is not None:
            return f"every {interval_text(self.every)}"
        assert self.at is not None
        return f"at {self.at.strftime('%H:%M')}"


@dataclass(frozen=True, slots=True)
class SweepSchedule(JobSchedule):
    # Integrations checked at once per replica. Each worker runs one integration at a time and
    # every request pays the shared per-tenant and per-app limiters (providers/http.py), so a
    # larger pool cannot break a system's limits, only reach them sooner.
    workers: int = SWEEP_WORKERS_DEFAULT


@dataclass(frozen=True, slots=True)
class ReconcileSchedule(JobSchedule):
    window_days: int = 7


@dataclass(frozen=True, slots=True)
class DigestSchedule(JobSchedule):
    minutes_per_diagnosis: int = 30  # the digest's "time saved" figure per diagnosis


@dataclass(frozen=True, slots=True)
class RetentionSchedule(JobSchedule):
    runs_days: int = 90  # full runs (with their findings) older than this are deleted
    counters_days: int = 730  # daily counters (integration_days) older than this are deleted


@dataclass(frozen=True, slots=True)
class Schedules:
    sweep: SweepSchedule = SweepSchedule(every=15 * 60)
    reconcile: ReconcileSchedule = ReconcileSchedule(at=time(2, 0))
    keep_alive: JobSchedule = JobSchedule(every=86400)
    digest: DigestSchedule = DigestSchedule(at=time(9, 0))
    retention: RetentionSchedule = RetentionSchedule(at=time(3, 30))
    # integration name -> its overrides of the per-integration jobs (already merged over these)
    overrides: Mapping[str, Mapping[str, JobSchedule]] = field(default_factory=dict)

    def job(self, name: str) -> JobSchedule:
        value: JobSchedule = getattr(self, name)
        return value

    def for_integration(self, name: str, job: str) -> JobSchedule:
        """The schedule of ``job`` for integration ``name`` (its override, else the top level)."""
        return self.overrides.get(name, {}).get(job) or self.job(job)


def interval_text(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_interval(value: Any) -> int | None:
    """Seconds of ``10s`` / ``15m`` / ``2h`` / ``1d`` (None when it is not such a text)."""
    if isinstance(value, bool) or not isinstance(value, str):
        return None
    match = _INTERVAL.match(value)
    if match is None:
        return None
    return int(match.group(1)) * UNITS[match.group(2)]


def parse_clock(value: Any) -> time | None:
    """``HH:MM`` on a 24-hour clock (None when it is not)."""
    if not isinstance(value, str):
        return None
    match = _CLOCK.match(value)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


_KEYS: dict[str, set[str]] = {
    "sweep": {"every", "at", "enabled", "workers"},
    "reconcile": {"every", "at", "enabled", "window_days"},
    "keep_alive": {"every", "at", "enabled"},
    "digest": {"at", "enabled", "minutes_per_diagnosis"},
    "retention": {"every", "at", "enabled", "runs_days", "counters_days"},
}


def parse_schedules(r: _Reader, value: Any, path: str) -> Schedules:
    """The top-level ``schedules:`` block, over the defaults."""
    m = r.mapping(value, path, set(JOBS))
    defaults = Schedules()
    jobs: dict[str, Any] = {
        name: _job(r, m[name], f"{path}.{name}", name, defaults.job(name)) for name in JOBS if name in m
    }
    return replace(defaults, **jobs)


def parse_overrides(r: _Reader, value: Any, path: str, base: Schedules) -> dict[str, JobSchedule]:
    """An integration's ``schedules:``: the per-integration jobs it sets, over ``base``'s."""
    if isinstance(value, Mapping):
        for key in value:
            if key in JOBS and key not in PER_INTEGRATION:
                r.fail(f"{path}.{key}", "is one job for every integration: set it under the top-level schedules:")
        sweep = value.get("sweep")
        if isinstance(sweep, Mapping) and "workers" in sweep:
            r.fail(f"{path}.sweep.workers", "is one pool for every integration: set it under the top-level schedules:")
    m = r.mapping(value, path, set(PER_INTEGRATION))
    return {name: _job(r, m[name], f"{path}.{name}", name, base.job(name)) for name in PER_INTEGRATION if name in m}


def _job(r: _Reader, value: Any, path: str, name: str, default: JobSchedule) -> JobSchedule:
    m = r.mapping(value, path, _KEYS[name])
    if "every" in m and "at" in m:
        r.fail(path, "give either every (an interval) or at (a time of day), not both")
    every, at = default.every, default.at
    if "every" in m:
        every, at = _every(r, m["every"], f"{path}.every"), None
    if "at" in m:
        every, at = None, _at(r, m["at"], f"{path}.at")
    extra: dict[str, Any] = {}
    if "window_days" in m:
        extra["window_days"] = r.integer(m["window_days"], f"{path}.window_days", 7, minimum=1, maximum=366)
    if "minutes_per_diagnosis" in m:
        extra["minutes_per_diagnosis"] = r.integer(
            m["minutes_per_diagnosis"], f"{path}.minutes_per_diagnosis", 30, minimum=0, maximum=10_000
        )
    if "workers" in m:
        extra["workers"] = r.integer(
            m["workers"], f"{path}.workers", SWEEP_WORKERS_DEFAULT, minimum=1, maximum=SWEEP_WORKERS_MAX
        )
    for key in ("runs_days", "counters_days"):
        if key in m:
            extra[key] = r.integer(m[key], f"{path}.{key}", 0, minimum=1, maximum=RETENTION_DAYS_MAX)
    return replace(
        default, every=every, at=at, enabled=r.boolean(m.get("enabled"), f"{path}.enabled", default.enabled), **extra
    )


def _every(r: _Reader, value: Any, path: str) -> int:
    seconds = parse_interval(value)
    if seconds is None:
        r.fail(path, f"{value!r} is not an interval like 10s, 15m, 2h, 1d")
    if seconds < MIN_INTERVAL_S:
        r.fail(path, f"{value!r} is too short: the shortest interval is {MIN_INTERVAL_S}s")
    if seconds > MAX_INTERVAL_S:
        r.fail(path, f"{value!r} is too long: at most 366d")
    return seconds


def _at(r: _Reader, value: Any, path: str) -> time:
    clock = parse_clock(value)
    if clock is None:
        hint = " (quote it: YAML reads an unquoted 02:00 as a number)" if isinstance(value, int) else ""
        r.fail(path, f'{value!r} is not a time of day HH:MM (24-hour, e.g. "02:00"){hint}')
    return clock
