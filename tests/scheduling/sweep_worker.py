"""One replica's part in one sweep, as a process of its own (test_multiprocess.py, the bench):
``python -m tests.scheduling.sweep_worker AT_ISO`` with DATABASE_URL, SYNC_DOCTOR_CONFIG and the
key in the environment. Every process given the same AT works on the same sweep period."""

from __future__ import annotations

import sys
from datetime import datetime

from app import build
from config.env import load_settings
from config.integrations import load_config
from providers import PROVIDERS
from scheduling.jobs import JOBS
from scheduling.runner import Scheduler


def main(at: str) -> int:
    now = datetime.fromisoformat(at)
    settings = load_settings()
    services = build(settings, load_config(settings.config_path, systems=PROVIDERS))
    try:
        scheduler = Scheduler(services, [j for j in JOBS if j.name == "sweep"], clock=lambda: now)
        scheduler.run_due(timeout=300)
        print(scheduler.owner, flush=True)
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
