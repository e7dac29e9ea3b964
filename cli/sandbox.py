"""``sandbox``: serve a world's emulators until stopped, or check a world file."""

from __future__ import annotations

import argparse
import signal
import threading

from cli.base import EXIT_OK, Command, UsageError

URL_ORDER = ("base_url", "identity_url", "token_url", "authorize_url")


def side_snippet(system: str, urls: dict[str, str]) -> str:
    """One integration side as YAML flow mapping, every URL a config needs spelled out."""
    parts = [f"system: {system}"] + [f'{key}: "{urls[key]}"' for key in URL_ORDER if key in urls]
    return "{" + ", ".join(parts) + "}"


def cmd_sandbox(args: argparse.Namespace, command: Command) -> int:
    from demo import DEMO_WORLD
    from sandbox.server import PortUnavailable, Sandbox, WorldError, load_world, world_systems

    path = args.world or DEMO_WORLD
    try:
        world = load_world(path)
        systems = world_systems(world)
        if not systems:
            raise WorldError(f"{path}: no system sections (xero, quickbooks, hubspot, stripe): nothing to serve")
        if args.port and args.port + len(systems) - 1 > 65535:
            raise UsageError(
                f"--port {args.port}: {len(systems)} systems need ports up to {args.port + len(systems) - 1}"
            )
        ports = {system: (args.port + i if args.port else 0) for i, system in enumerate(systems)}
        sandbox = Sandbox(world, ports=ports, source=str(path))
        if args.check:
            print(f"{path}: a world of {', '.join(systems)}; it loads.")
            return EXIT_OK
        sandbox.start()
    except (WorldError, PortUnavailable) as e:
        hint = " Choose another --port, or leave it out for free ports." if isinstance(e, PortUnavailable) else ""
        raise UsageError(f"{e}{hint}") from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        for system, url in sorted(sandbox.urls.items()):
            print(f"{system:<12} {url}")
        print("An integration side served by the sandbox (paste under source: or destination:, add its tenant):")
        for system in sorted(sandbox.urls):
            print(f"  {system + ':':<12} {side_snippet(system, sandbox.overrides(system))}")
        print("Serving the sandbox; Ctrl-C to stop.", flush=True)
        stop.wait()
    finally:
        sandbox.stop()
    return EXIT_OK
