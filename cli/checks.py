"""``list`` and ``check``: the integrations' health, one integration's run or one invoice's trace."""

from __future__ import annotations

import argparse
import json
import sys

from cli.base import EXIT_OK, Command


def cmd_list(args: argparse.Namespace, command: Command) -> int:
    services = command.services()  # first: it imports the checks with the collector paused (app.build)
    try:
        from cli import render

        rows = services.checks.overview()
        if not rows:
            print(f"No integrations configured in {services.config.path}.")
        else:
            print(render.health_table(rows))
    finally:
        services.close()
    return EXIT_OK


def cmd_check(args: argparse.Namespace, command: Command) -> int:
    services = command.services()  # first: it imports the checks with the collector paused (app.build)
    try:
        from cli import render

        if args.invoice:
            result, trace = services.checks.trace(args.name, args.invoice)
            if args.json:
                print(json.dumps({**result.to_json(), "trace": trace.to_json()}, indent=2, default=str))
            else:
                print(render.trace_report(trace))
            return result.exit_code
        result = services.checks.run(args.name, trigger="cli")
        print(json.dumps(result.to_json(), indent=2, default=str) if args.json else render.run_report(result))
        return result.exit_code
    finally:
        # The report is out before closing waits for this run's alerts to post.
        sys.stdout.flush()
        services.close()
