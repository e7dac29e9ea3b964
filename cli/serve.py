"""``serve``: the Slack bot."""

from __future__ import annotations

import argparse

from cli.base import EXIT_OK, Command
from config.env import load_settings


def cmd_serve(args: argparse.Namespace, command: Command) -> int:
    environ = command.environ
    if args.port:
        environ = {**environ, "PORT": str(args.port)}
    if args.demo:
        with command.root.demo(environ) as demo:
            command.root.serve(demo.services, demo=True)
        return EXIT_OK
    services = command.root.services(load_settings(environ))
    try:
        command.root.serve(services)
    finally:
        services.close()
    return EXIT_OK
