"""`python app.py worker` as a real process: it sweeps, and on SIGTERM in the middle of a sweep
it lets the running checks finish, releases what it had not started, exits 0, and leaves no
claim that another replica would have to wait out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from sqlalchemy import select

from app import build
from config.env import load_settings
from config.integrations import parse_config
from providers import PROVIDERS
from sandbox.server import Sandbox
from store.models import JobClaim, Run, SweepItem
from tests.conftest import REPO
from tests.scheduling import fleet

N = 40  # several pools full: the stop comes while most are still waiting (a run is one call per side)
WORKERS = 2  # each takes batches of 5 (scheduling.sweep.batch_size): the stop comes mid-batch


def test_worker_stops_cleanly_on_sigterm_mid_sweep(tmp_path: Path, env: dict[str, str]) -> None:
    sandbox = Sandbox(fleet.world(N, latency_ms=700)).start()  # each run takes seconds
    proc: subprocess.Popen[str] | None = None
    try:
        overrides = {s: sandbox.overrides(s) for s in ("hubspot", "xero")}
        data = fleet.config(N, overrides, schedules={"sweep": {"every": "10s", "workers": WORKERS}})
        Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump(data), encoding="utf-8")
        services = build(load_settings(env), parse_config(data, systems=PROVIDERS))
        fleet.connect(services, N)
        services.close()
        proc = subprocess.Popen(
            [sys.executable, "app.py", "worker"],
            cwd=REPO,
            env={"PATH": os.environ.get("PATH", ""), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        seen = []
        deadline = time.monotonic() + 60
        for line in proc.stdout:  # until the sweep is under way
            seen.append(line)
            if "running sweep" in line:
                break
            assert time.monotonic() < deadline, "".join(seen)
        time.sleep(1.0)  # each worker's second check of its batch on the wire
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=90)
        output = "".join(seen) + rest
        assert proc.returncode == 0, output
        assert "scheduler stopped" in output and "Traceback" not in output
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate()
        sandbox.stop()

    services = build(load_settings(env), parse_config(data, systems=PROVIDERS))
    try:
        with services.sessions() as session:
            unfinished = session.scalars(select(JobClaim).where(JobClaim.finished_at.is_(None))).all()
            held = session.scalars(
                select(SweepItem).where(SweepItem.done_at.is_(None), SweepItem.claimed_by.is_not(None))
            ).all()
            done = session.scalars(select(SweepItem).where(SweepItem.done_at.is_not(None))).all()
            stored = session.scalars(select(Run.integration)).all()
    finally:
        services.close()
    assert unfinished == [] and held == []
    # the checks that had started finished and were recorded (a batch's first two or three);
    # the rest of each batch was released (none held above) and waits for the next start
    assert 0 < len(done) < N and sorted(stored) == sorted(item.integration for item in done)
