"""``sandbox``: serve a world's emulators until stopped."""

from __future__ import annotations

import argparse
import signal
import threading

from cli.base import EXIT_OK, Command


def cmd_sandbox(args: argparse.Namespace, command: Command) -> int:
    from demo import DEMO_WORLD
    from sandbox.server import Sandbox, load_world

    world = load_world(args.world or DEMO_WORLD)
    systems = sorted(k for k in world if k not in ("demo", "integrations") and not k.startswith("_"))
    ports = {system: (args.port + i if args.port else 0) for i, system in enumerate(systems)}
    sandbox = Sandbox(world, ports=ports).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        for system, url in sorted(sandbox.urls.items()):
            print(f"{system:<12} {url}")
        print("Serving the sandbox; Ctrl-C to stop.", flush=True)
        stop.wait()
    finally:
        sandbox.stop()
    return EXIT_OK
