"""Run by test_crash in its own OS process: runs one approved action with the services the
composition root builds, and stops dead (waits to be killed) at the progress phase it is told,
after printing ``AT <phase>``. With phase ``none`` it never stops on its own (the test parks
its request in the emulator instead)."""

from __future__ import annotations

import os
import sys
import threading

from actions.engine import Progress
from app import build
from config.env import load_settings
from config.integrations import load_config


def main(action_id: int, phase: str) -> None:
    settings = load_settings(os.environ)
    services = build(settings, load_config(settings.config_path))

    def on_progress(progress: Progress) -> None:
        if progress.phase == phase:
            print(f"AT {phase} {','.join(progress.refs)}", flush=True)
            threading.Event().wait()  # until SIGKILL

    print("STARTED", flush=True)
    services.actions.run(action_id, on_progress=on_progress, verify=False)
    print("FINISHED", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
