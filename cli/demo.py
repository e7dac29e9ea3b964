"""``demo``: every check on the bundled demo world."""

from __future__ import annotations

import argparse
import json

from cli.base import EXIT_OK, Command
from cli.output import Output, progress


def cmd_demo(args: argparse.Namespace, command: Command) -> int:
    """Exit 0 when the demo ran: its integrations fail by design, and that is the show, not an
    error of the command. Slack variables are left out: the demo's alerts are not for a real
    workspace (``serve --demo`` is the way to see them in Slack)."""
    environ = {k: v for k, v in command.environ.items() if not k.startswith("SLACK_")}
    out = Output.for_stdout(command.environ)
    with progress("Starting the demo's emulators and checking its integrations"):
        with command.root.demo(environ) as demo:
            checks = demo.services.checks
            results = [checks.run(i.name, trigger="demo") for i in checks.integrations()]
            banner = demo.banner()
    if args.json:
        print(json.dumps({"integrations": [r.to_json() for r in results]}, indent=2, default=str))
        return EXIT_OK
    out.line(banner)
    for result in results:
        out.line()
        out.run_report(result)
    return EXIT_OK
