"""The sweep checks ``schedules.sweep.workers`` integrations at once, no more: seen at the
HubSpot emulator, where each integration's first request is parked until the test lets it go."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import yaml

from app import build
from config.env import load_settings
from config.integrations import parse_config
from providers import PROVIDERS
from sandbox.server import Sandbox
from scheduling.jobs import JOBS
from scheduling.runner import Scheduler
from scheduling.sweep import BATCH, batch_size
from tests.scheduling import fleet

N = 6
WORKERS = 3
AT = datetime(2026, 12, 7, 10, 0, 3, tzinfo=UTC)
DETAILS = "/account-info/v3/details"  # each integration's one HubSpot call in a sweep


def at() -> datetime:
    return AT


def test_the_pool_holds_as_many_integrations_as_workers(env: dict[str, str]) -> None:
    sandbox = Sandbox(fleet.world(N)).start()
    try:
        hubspot = sandbox.emulators["hubspot"]
        overrides = {s: sandbox.overrides(s) for s in ("hubspot", "xero")}
        data = fleet.config(N, overrides, schedules={"sweep": {"every": "15m", "workers": WORKERS}})
        Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump(data), encoding="utf-8")
        services = build(load_settings(env), parse_config(data, systems=PROVIDERS))
        try:
            fleet.connect(services, N)
            hubspot.requests.clear()
            holds = [hubspot.hold("GET", DETAILS) for _ in range(WORKERS + 1)]
            jobs = [j for j in JOBS if j.name == "sweep"]
            sweep = threading.Thread(target=lambda: Scheduler(services, jobs, clock=at).run_due(timeout=120))
            sweep.start()
            try:
                for hold in holds[:WORKERS]:
                    assert hold.arrived.wait(60), "fewer integrations in flight than workers"
                # Every worker is parked on an integration: the next one's request cannot come.
                assert not holds[WORKERS].arrived.wait(2)
                assert hubspot.requests[f"GET {DETAILS}"] == WORKERS
            finally:
                for hold in holds:
                    hold.release()
                sweep.join(120)
            assert not sweep.is_alive()
            assert holds[WORKERS].arrived.is_set()  # released once a worker was free
            assert hubspot.requests[f"GET {DETAILS}"] == N  # and every integration was checked
        finally:
            services.close()
    finally:
        sandbox.stop()


def test_workers_take_batches_but_a_small_fleet_is_spread_over_every_worker() -> None:
    assert batch_size(10_000, 16) == BATCH
    assert batch_size(1000, 16) == 15  # a quarter of 1,000 / 16
    assert batch_size(40, 2) == 5  # a quarter of each worker's share
    assert batch_size(N, WORKERS) == 1  # the fleet above: one at a time, every worker busy
    assert batch_size(0, 16) == 1
