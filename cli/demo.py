"""``demo``: every check on the bundled demo world."""

from __future__ import annotations

import argparse
import json

from cli import actions as action_commands
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
            # What an admin would be asked to approve for each finding, planned from fresh data.
            plans = [action_commands.proposed_plans(demo.services, r) for r in results]
            banner = demo.banner()
    if args.json:
        runs = [
            {**r.to_json(), "proposed_actions": action_commands.proposed_json(p)}
            for r, p in zip(results, plans, strict=True)
        ]
        print(json.dumps({"integrations": runs}, indent=2, default=str))
        return EXIT_OK
    out.line(banner)
    for result, proposed in zip(results, plans, strict=True):
        out.line()
        out.run_report(result)
        if proposed:
            out.line()
            out.line(action_commands.proposed_text(proposed))
    return EXIT_OK
