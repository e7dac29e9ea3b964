"""The monitoring sweep at fleet size: N integrations (HubSpot portal -> Xero organisation, each
with its own key and tokens; tests/scheduling/fleet.py) over the emulators, every call delayed
by --latency-ms, the emulators enforcing their real limits (Xero 60/min and 5 in flight per
tenant, 10,000/min per app; HubSpot's ten-second window per portal).

Prints, for the first sweep (every run new, so every run stored) and the ones after it:
- wall time, calls per system, and the bound the limits set: for each system, calls divided by
  its per-app rate (the tightest limit a sweep of many tenants meets), and the bound the pool
  sets (N x the mean run's wall time / workers);
- 429s received (must be 0: the client-side limiters keep inside the limits);
- memory of the sweep process: its peak (ru_maxrss; with --processes, of the largest replica)
  and its resident size after the sweep, and the emulators' peak when they run apart;
- database growth: rows and bytes the later sweeps added (a run stored only when something
  changed: --churn of the integrations flip a revoked key each sweep), scaled to 96 sweeps a day.

The emulators run in a process of their own by default (``--emulators process``), so the figure
is Sync Doctor's, not Sync Doctor's and the emulators' sharing one interpreter lock;
``--emulators inline`` serves them from this process, as the tests do.

Run: python bench/bench_sweep.py [--integrations 1000] [--latency-ms 50] [--sweeps 3] [--workers 16]
     python bench/bench_sweep.py --processes 3 --database postgresql+psycopg://postgres@127.0.0.1/test_x
     python bench/bench_sweep.py --tracemalloc   # what this process allocated between sweeps
(--processes: that many replicas, real processes, share each sweep; each integration is checked
exactly once per sweep, which the script verifies. A PostgreSQL database given is emptied.)
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml
from sqlalchemy import func, select, text

from app import build
from checks.runner import RunResult
from config.env import load_settings
from config.integrations import parse_config
from providers import PROVIDERS
from providers.http import add_call_listener
from sandbox.server import Sandbox
from scheduling.jobs import JOBS
from scheduling.runner import Scheduler
from service.container import Services
from store.models import FindingRow, JobClaim, Run, SweepItem
from tests.scheduling import fleet

APP_PER_MINUTE = {"xero": 10000}  # per-app limits a sweep of many tenants meets (providers/)
TABLES = (Run, FindingRow, SweepItem, JobClaim)
START = datetime(2026, 12, 7, 0, 0, 30, tzinfo=UTC)


class Calls:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()

    def __call__(self, system: str, status: int | None, throttled: bool) -> None:
        with self.lock:
            self.calls[system] += 1
            if throttled:
                self.throttled[system] += 1

    def take(self) -> tuple[Counter[str], Counter[str]]:
        with self.lock:
            out = (Counter(self.calls), Counter(self.throttled))
            self.calls.clear()
            self.throttled.clear()
            return out


def db_size(services: Services) -> tuple[dict[str, int], int]:
    rows: dict[str, int] = {}
    with services.sessions() as session:
        for model in TABLES:
            rows[model.__tablename__] = int(session.scalar(select(func.count()).select_from(model)) or 0)
        if services.engine.dialect.name == "postgresql":
            size = sum(
                int(session.scalar(text(f"SELECT pg_total_relation_size('{m.__tablename__}')")) or 0) for m in TABLES
            )
        else:
            session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            pages = int(session.scalar(text("PRAGMA page_count")) or 0) - int(
                session.scalar(text("PRAGMA freelist_count")) or 0
            )
            size = pages * int(session.scalar(text("PRAGMA page_size")) or 0)
    return rows, size


def heard(durations: list[float], result: RunResult) -> None:
    durations.append(result.duration_s)


def fixed(at: datetime) -> datetime:
    return at


def flip(sandbox: Sandbox, n: int, churn: float, sweep_no: int) -> None:
    """Revoke (or restore) the HubSpot key of ``churn`` of the fleet: those runs change."""
    hubspot: Any = sandbox.emulators["hubspot"]
    count = max(1, int(n * churn)) if churn > 0 else 0
    for i in range(count):
        key = hubspot.api_keys[f"pat-na1-{fleet.name((i * 7919) % n)}"]
        key["revoked"] = sweep_no % 2 == 1


def take_requests(sandbox: Sandbox) -> tuple[dict[str, int], int]:
    """Requests each emulator answered since the last call, and the 429s they gave for going
    over a concurrency limit; both counters start again. (Their request log, kept for contract
    tests, is left as it is: it grows by every request's headers, in the emulators' memory.)"""
    made = {s: sum(e.requests.values()) for s, e in sandbox.emulators.items()}
    refused = sum(e.concurrency_refused for e in sandbox.emulators.values())
    for e in sandbox.emulators.values():
        e.requests.clear()
        e.concurrency_refused = 0
    return made, refused


class Emulators(Protocol):
    overrides: dict[str, dict[str, str]]

    def flip(self, n: int, churn: float, sweep_no: int) -> None: ...
    def take_requests(self) -> tuple[dict[str, int], int]: ...
    def peak_kib(self) -> int | None: ...
    def cpu_s(self) -> float | None: ...
    def stop(self) -> None: ...


class InlineEmulators:
    """The emulators in this process (they share its interpreter lock and its memory)."""

    def __init__(self, n: int, latency_ms: int) -> None:
        self.sandbox = Sandbox(fleet.world(n, latency_ms=latency_ms)).start()
        self.overrides = {s: self.sandbox.overrides(s) for s in ("hubspot", "xero")}

    def flip(self, n: int, churn: float, sweep_no: int) -> None:
        flip(self.sandbox, n, churn, sweep_no)

    def take_requests(self) -> tuple[dict[str, int], int]:
        return take_requests(self.sandbox)

    def peak_kib(self) -> int | None:
        return None  # counted in this process's figure

    def cpu_s(self) -> float | None:
        return None  # likewise

    def stop(self) -> None:
        self.sandbox.stop()


def serve_emulators(conn: Connection, n: int, latency_ms: int) -> None:
    """The emulator process: start the fleet's sandbox, send its URLs, then answer commands."""
    sandbox = Sandbox(fleet.world(n, latency_ms=latency_ms)).start()
    try:
        conn.send({s: sandbox.overrides(s) for s in ("hubspot", "xero")})
        while True:
            try:
                command, *args = conn.recv()
            except EOFError:  # the bench is gone: so are we
                break
            if command == "flip":
                flip(sandbox, *args)
                conn.send(None)
            elif command == "take":
                conn.send(take_requests(sandbox))
            elif command == "peak":
                conn.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            elif command == "cpu":
                conn.send(cpu_s())
            else:
                break
    finally:
        sandbox.stop()
        conn.close()


class ProcessEmulators:
    """The emulators in a child process of their own, driven over a pipe."""

    def __init__(self, n: int, latency_ms: int) -> None:
        context = multiprocessing.get_context("spawn")  # nothing of this process's threads or state
        self._conn, child = context.Pipe()
        self._proc = context.Process(target=serve_emulators, args=(child, n, latency_ms), daemon=True)
        self._proc.start()
        child.close()
        self.overrides: dict[str, dict[str, str]] = self._conn.recv()

    def _ask(self, *command: Any) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def flip(self, n: int, churn: float, sweep_no: int) -> None:
        self._ask("flip", n, churn, sweep_no)

    def take_requests(self) -> tuple[dict[str, int], int]:
        made, refused = self._ask("take")
        return dict(made), int(refused)

    def peak_kib(self) -> int | None:
        return int(self._ask("peak"))

    def cpu_s(self) -> float | None:
        return float(self._ask("cpu"))

    def stop(self) -> None:
        try:
            self._conn.send(("stop",))
        except OSError:
            pass
        self._proc.join(timeout=30)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=10)


def cpu_s() -> float:
    """CPU seconds this process has used (user and system, every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_kib() -> int:
    """This process's resident size now (Linux), KiB."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def sweep_in_processes(env: dict[str, str], at: datetime, processes: int) -> tuple[float, int]:
    """``processes`` replicas sweep period ``at``; wall time and the largest replica's ru_maxrss (KiB)."""
    repo = Path(__file__).resolve().parent.parent
    child_env = {**os.environ, **env, "PYTHONPATH": str(repo)}
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import resource, sys; from tests.scheduling.sweep_worker import main; main(sys.argv[1]); "
                "print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
                at.isoformat(),
            ],
            cwd=repo,
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    peak = 0
    for proc in procs:
        out, err = proc.communicate(timeout=3600)
        if proc.returncode != 0:
            raise SystemExit(f"a replica failed:\n{err[-3000:]}")
        for line in out.splitlines():
            if line.startswith("maxrss "):
                peak = max(peak, int(line.split()[1]))
    return time.perf_counter() - started, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--integrations", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--sweeps", type=int, default=3, help="sweeps after the first (for the growth figure)")
    parser.add_argument("--churn", type=float, default=0.01, help="share of integrations that change each sweep")
    parser.add_argument(
        "--workers", type=int, help="schedules.sweep.workers, the pool per replica (default: the config's default)"
    )
    parser.add_argument("--processes", type=int, default=0, help="replicas as processes (0: this process)")
    parser.add_argument("--emulators", choices=("process", "inline"), default="process")
    parser.add_argument("--tracemalloc", action="store_true", help="print what this process kept between sweeps")
    parser.add_argument("--database", help="a database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    n = args.integrations

    tmp = tempfile.mkdtemp(prefix="bench-sweep-")
    url = args.database or f"sqlite:///{tmp}/sweep.db"
    if url.startswith("postgresql"):
        from sqlalchemy import create_engine

        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    env = {"DATABASE_URL": url, "SYNC_DOCTOR_SECRET_KEY": "bench-key", "SYNC_DOCTOR_CONFIG": f"{tmp}/sync-doctor.yml"}

    emulators: Emulators = (
        ProcessEmulators(n, args.latency_ms) if args.emulators == "process" else InlineEmulators(n, args.latency_ms)
    )
    calls = Calls()
    add_call_listener(calls)
    try:
        schedules: dict[str, Any] = {"sweep": {"every": "15m"}}
        if args.workers is not None:
            schedules["sweep"]["workers"] = args.workers
        data = fleet.config(n, emulators.overrides, schedules=schedules)
        Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump(data), encoding="utf-8")
        services = build(load_settings(env), parse_config(data, systems=PROVIDERS))
        workers = services.config.schedules.sweep.workers
        t = time.perf_counter()
        fleet.connect(services, n)
        emulators.take_requests()  # the set-up's calls are not the sweep's
        calls.take()
        print(
            f"{n} integrations, {args.latency_ms} ms per call, {workers} workers per replica, "
            f"{max(args.processes, 1)} replica(s), emulators {args.emulators}, {services.engine.dialect.name}, "
            f"{os.cpu_count()} CPUs; set up in {time.perf_counter() - t:.0f} s"
        )
        jobs = [j for j in JOBS if j.name == "sweep"]
        before_rows, before_bytes = db_size(services)
        growth_start: tuple[dict[str, int], int] | None = None
        print(
            f"{'sweep':>5} {'wall s':>7} {'limit bound s':>13} {'pool bound s':>12} {'ratio':>5} {'429s':>5} "
            f"{'calls':>24} {'runs stored':>11} {'CPU s':>6} {'peak MiB':>8} {'RSS MiB':>7} {'emulators MiB':>13} "
            f"{'emulators CPU s':>15}"
        )
        if args.tracemalloc:
            tracemalloc.start(4)
        previous: tracemalloc.Snapshot | None = None
        for k in range(args.sweeps + 1):
            at = START + timedelta(minutes=15 * k)
            if k > 0:
                emulators.flip(n, args.churn, k)
            runs_before = db_size(services)[0]["runs"]
            cpu_before, emulators_cpu_before = cpu_s(), emulators.cpu_s()
            if args.processes:
                wall, peak_kib = sweep_in_processes(env, at, args.processes)
                durations: list[float] = []
            else:
                durations = []
                unsubscribe = services.notifier.subscribe(partial(heard, durations))
                started = time.perf_counter()
                Scheduler(services, jobs, clock=partial(fixed, at)).run_due(timeout=3600)
                wall = time.perf_counter() - started
                services.notifier.flush(60)
                unsubscribe()
                peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            cpu = cpu_s() - cpu_before  # this process only (with --processes, not the replicas)
            emulators_cpu_after = emulators.cpu_s()
            emulators_cpu = (
                emulators_cpu_after - emulators_cpu_before
                if emulators_cpu_after is not None and emulators_cpu_before is not None
                else None
            )
            made, throttled = calls.take()
            served, refused = emulators.take_requests()
            if args.processes:  # the replicas' calls are not heard here: count at the emulators
                made = Counter(served)
            limit_bound = max((made[s] / per_min * 60 for s, per_min in APP_PER_MINUTE.items()), default=0.0)
            pool_bound = n * (sum(durations) / len(durations)) / workers if durations else float("nan")
            rows, _ = db_size(services)
            with services.sessions() as session:
                done = Counter(
                    session.scalars(
                        select(SweepItem.integration).where(
                            SweepItem.period_key.like(f"%:{int(at.timestamp()) // 900}")
                        )
                    )
                )
            assert len(done) == n and set(done.values()) == {1}, "an integration was not checked exactly once"
            # 429s: those the clients heard (this process) or, with --processes, those the
            # emulators gave for concurrency (the replicas' clients are not heard here).
            too_many = refused if args.processes else sum(throttled.values())
            emulator_kib = emulators.peak_kib()
            print(
                f"{k + 1:>5} {wall:>7.1f} {limit_bound:>13.1f} {pool_bound:>12.1f} "
                f"{wall / limit_bound if limit_bound else float('nan'):>5.2f} {too_many:>5} "
                f"{', '.join(f'{s} {c}' for s, c in sorted(made.items())):>24} {rows['runs'] - runs_before:>11} "
                f"{cpu:>6.0f} {peak_kib / 1024:>8.0f} {rss_kib() / 1024:>7.0f} "
                f"{(f'{emulator_kib / 1024:.0f}' if emulator_kib is not None else 'here'):>13} "
                f"{(f'{emulators_cpu:.1f}' if emulators_cpu is not None else 'here'):>15}"
            )
            if k == 0:
                growth_start = db_size(services)
            if args.tracemalloc:
                snapshot = tracemalloc.take_snapshot()
                if previous is not None:
                    kept = sum(t.size for t in snapshot.traces) - sum(t.size for t in previous.traces)
                    print(f"  Python objects kept by this process since sweep {k}: {kept / 1e6:+.1f} MB; by where:")
                    for stat in snapshot.compare_to(previous, "traceback")[:8]:
                        print(f"    {stat.size_diff / 1e6:+.1f} MB in {stat.count_diff:+d} blocks:")
                        for line in stat.traceback.format()[-6:]:
                            print(f"      {line}")
                previous = snapshot
        assert growth_start is not None
        after_rows, after_bytes = db_size(services)
        sweeps = max(args.sweeps, 1)
        print(
            f"database after the first sweep: {growth_start[1] / 1e6:.1f} MB "
            f"(from {before_bytes / 1e6:.1f} MB; runs {growth_start[0]['runs']}, findings {growth_start[0]['findings']})"
        )
        per_day = {t: (after_rows[t] - growth_start[0][t]) / sweeps * 96 for t in after_rows}
        print(
            "growth per simulated day (96 sweeps), rows: "
            + ", ".join(f"{t} {v:.0f}" for t, v in per_day.items())
            + f"; bytes: {(after_bytes - growth_start[1]) / sweeps * 96 / 1e6:.1f} MB"
            + " (each sweep's claim deletes the earlier sweeps' items; job_claims go after runs_days)"
        )
        del before_rows
        services.close()
    finally:
        emulators.stop()


if __name__ == "__main__":
    main()
