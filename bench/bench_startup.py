"""How fast the command line starts: ``python app.py --help`` and ``python app.py check acme``.

Both are timed as a user sees them: wall time of a fresh ``python`` process (real subprocesses,
median of several runs after one warm-up). The CPU time the process used (user + system) is
printed beside it: on a machine shared with other work, wall time varies with the load, CPU
time much less. For ``check``, this process starts the emulators of
``demo/world.yml`` on loopback (as ``demo/__init__.py`` does), stores the demo credentials in a
SQLite file, writes a config pointing at the emulators, and runs ``check acme`` against them;
the warm-up run leaves the database schema at head, as it is on any machine after the first run.

Targets (issue 8): ``--help`` under 0.3 s, ``check`` on the demo world under 0.6 s.

Run: python bench/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app import build  # noqa: E402
from demo import DEMO_SECRET_KEY, DEMO_WORLD, DemoEnvironment, fill_placeholders, without_operator_settings  # noqa: E402
from sandbox.server import load_world  # noqa: E402

INTEGRATION = "acme"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(
    argv: Sequence[str], env: Mapping[str, str], runs: int, ok_codes: Sequence[int] = (0,)
) -> tuple[list[float], list[float]]:
    """Wall and CPU times of ``python app.py ARGV`` in a fresh process, ``runs`` times after one
    warm-up."""
    command = [sys.executable, str(REPO / "app.py"), *argv]
    walls, cpus = [], []
    for i in range(runs + 1):
        cpu = children_cpu()
        started = time.perf_counter()
        done = subprocess.run(command, env=dict(env), cwd=REPO, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode not in ok_codes:
            raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
        if i:  # the first run warms the OS file cache and brings the schema to head
            walls.append(elapsed)
            cpus.append(children_cpu() - cpu)
    return walls, cpus


def describe(label: str, walls: list[float], cpus: list[float], target: float) -> str:
    median = statistics.median(walls)
    verdict = "under" if median < target else "OVER"
    return (
        f"{label:<26} wall median {median:.3f} s (min {min(walls):.3f}, max {max(walls):.3f}), "
        f"CPU median {statistics.median(cpus):.3f} s, {len(walls)} runs; target {target:.1f} s: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "SYNC_DOCTOR_"))}
    base_env["LOG_LEVEL"] = "WARNING"
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        help_walls, help_cpus = timed(["--help"], {**base_env, "DATABASE_URL": f"sqlite:///{tmp}/unused.db"}, args.runs)

        world = load_world(DEMO_WORLD)
        spec = world["demo"]
        env = {
            **base_env,
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "SYNC_DOCTOR_SECRET_KEY": DEMO_SECRET_KEY,  # the demo stores its credentials under its own key
            "SYNC_DOCTOR_CONFIG": f"{tmp}/sync-doctor.yml",
        }
        for system, client in (spec.get("oauth_clients") or {}).items():
            env[f"{system.upper()}_CLIENT_ID"] = client["client_id"]
            env[f"{system.upper()}_CLIENT_SECRET"] = client["client_secret"]
        demo_env = without_operator_settings(env)
        with DemoEnvironment(demo_env, build, world=copy.deepcopy(world), database_url=env["DATABASE_URL"]) as demo:
            assert demo.sandbox is not None
            filled = fill_placeholders(copy.deepcopy(spec), demo.sandbox)
            config = {"integrations": filled["integrations"]}
            Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump(config), encoding="utf-8")
            # acme fails some checks by design (exit 1); exit 2 or a traceback would be a bench error
            check_walls, check_cpus = timed(["check", INTEGRATION], env, args.runs, ok_codes=(0, 1))

    print(describe("python app.py --help", help_walls, help_cpus, 0.3))
    print(describe(f"python app.py check {INTEGRATION}", check_walls, check_cpus, 0.6))
    print()
    print("A fresh interpreter each run: imports, settings, database, the checks' API calls to the")
    print("emulators on loopback (they run in this process, so their work is not in the CPU figure),")
    print(f"the report. Load average while measuring: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs.")


if __name__ == "__main__":
    main()
