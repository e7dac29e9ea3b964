"""``worker``: the scheduled jobs alone (no Slack front end), until SIGTERM / SIGINT.

On the signal no new period or sweep item is started; the checks running finish (up to
``STOP_SECONDS``), what did not is released for another process to claim, and the process
exits 0. ``serve`` runs the same scheduler beside the bot (``serve --no-scheduler`` does not).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from cli.base import EXIT_OK, Command

if TYPE_CHECKING:
    from scheduling.runner import Scheduler
    from service.container import Services

logger = logging.getLogger(__name__)

STOP_SECONDS = 60.0  # running checks get this long to finish after SIGTERM


def start_scheduler(services: Services) -> Scheduler:
    from scheduling.runner import Scheduler

    return Scheduler(services).start()


def cmd_worker(args: argparse.Namespace, command: Command) -> int:
    services = command.services()
    try:
        if args.once:
            from scheduling.runner import Scheduler

            scheduler = Scheduler(services)
            scheduler.run_due()
            scheduler.stop(STOP_SECONDS)
            return EXIT_OK
        stop = threading.Event()
        restore = _on_signals(lambda signum: stop.set())
        scheduler = start_scheduler(services)
        try:
            while not stop.wait(1.0):
                pass
            logger.info("worker: stopping")
        finally:
            scheduler.stop(STOP_SECONDS)
            restore()
    finally:
        services.close()
    return EXIT_OK


def _on_signals(handler: Callable[[int], None]) -> Callable[[], None]:
    previous = {
        sig: signal.signal(sig, lambda signum, frame: handler(signum)) for sig in (signal.SIGTERM, signal.SIGINT)
    }

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
