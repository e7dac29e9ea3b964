"""Three replicas (real processes) on one PostgreSQL database sweep the same period of 30
integrations: each integration is checked exactly once, and the sweep's claim is finished once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
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

N = 30


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="replicas share a PostgreSQL database")
def test_three_replicas_check_each_integration_exactly_once(tmp_path: Path, env: dict[str, str]) -> None:
    sandbox = Sandbox(fleet.world(N, latency_ms=100)).start()  # slow enough that all three take part
    try:
        overrides = {s: sandbox.overrides(s) for s in ("hubspot", "xero")}
        # two workers a replica, taking batches of three (scheduling.sweep.batch_size)
        data = fleet.config(N, overrides, schedules={"sweep": {"every": "15m", "workers": 2}})
        Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump(data), encoding="utf-8")
        services = build(load_settings(env), parse_config(data, systems=PROVIDERS))
        fleet.connect(services, N)
        services.close()

        at = datetime(2026, 12, 7, 10, 5, tzinfo=UTC).isoformat()
        child_env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.scheduling.sweep_worker", at],
                cwd=REPO,
                env=child_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        owners = []
        for proc in procs:
            out, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err[-3000:]
            owners.append(out.strip().splitlines()[-1])
    finally:
        sandbox.stop()

    services = build(load_settings(env), parse_config(data, systems=PROVIDERS))
    try:
        with services.sessions() as session:
            runs = Counter(session.scalars(select(Run.integration)))
            items = session.execute(select(SweepItem.integration, SweepItem.claimed_by, SweepItem.done_at)).all()
            sweeps = session.scalars(select(JobClaim).where(JobClaim.job == "sweep")).all()
    finally:
        services.close()
    assert runs == Counter({fleet.name(i): 1 for i in range(N)})  # every one, exactly once
    assert len(items) == N and all(done is not None for _, _, done in items)
    assert {by for _, by, _ in items} <= set(owners)
    assert len(sweeps) == 1 and sweeps[0].finished_at is not None and sweeps[0].claimed_by in owners
    print("items per replica:", Counter(by for _, by, _ in items))
