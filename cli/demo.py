"""``demo``: every check on the bundled demo world."""

from __future__ import annotations

import argparse
import json

from cli.base import EXIT_FINDINGS, EXIT_OK, Command
from config.logging import setup_logging


def cmd_demo(args: argparse.Namespace, command: Command) -> int:
    from cli import render

    if not command.environ.get("LOG_LEVEL"):
        setup_logging("WARNING")  # the report is the output; per-call INFO lines would bury it
    with command.root.demo(command.environ) as demo:
        checks = demo.services.checks
        results = [checks.run(i.name, trigger="demo") for i in checks.integrations()]
        if args.json:
            print(json.dumps({"integrations": [r.to_json() for r in results]}, indent=2, default=str))
        else:
            print(demo.banner())
            for result in results:
                print()
                print(render.run_report(result))
    return EXIT_FINDINGS if any(r.failing for r in results) else EXIT_OK
