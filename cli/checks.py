"""``list`` and ``check``: the integrations' health, one integration's run or one invoice's trace."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from cli.base import EXIT_FINDINGS, EXIT_OK, Command
from cli.output import Output, progress
from service.errors import RunNotStored

if TYPE_CHECKING:
    from checks.runner import RunResult
    from checks.trace import InvoiceTrace


def cmd_list(args: argparse.Namespace, command: Command) -> int:
    services = command.services()  # first: it imports the checks with the collector paused (app.build)
    try:
        rows = services.checks.overview()
        if not rows:
            print(f"No integrations configured in {services.config.path}.")
        else:
            Output.for_stdout(command.environ).health_table(rows)
    finally:
        services.close()
    return EXIT_OK


def cmd_check(args: argparse.Namespace, command: Command) -> int:
    services = command.services()  # first: it imports the checks with the collector paused (app.build)
    out = Output.for_stdout(command.environ)
    try:
        integration = services.checks.get(args.name)
        label = f"Checking {integration.name} ({integration.source.system} -> {integration.destination.system})"
        try:
            with progress(label):
                if args.invoice is not None:
                    result, trace = services.checks.trace(integration.name, args.invoice)
                else:
                    result, trace = services.checks.run(integration.name, trigger="cli"), None
        except RunNotStored as e:
            # Every API call was made: show what they found, then say why it was not stored.
            _show(out, args, e.result, e.trace)
            raise
        _show(out, args, result, trace)
        if trace is not None:
            return EXIT_OK if trace.synced else EXIT_FINDINGS
        return result.exit_code
    finally:
        # The report is out before closing waits for this run's alerts to post.
        sys.stdout.flush()
        services.close()


def _show(out: Output, args: argparse.Namespace, result: RunResult, trace: InvoiceTrace | None) -> None:
    if args.json:
        document: dict[str, Any] = result.to_json()
        if trace is not None:
            document["trace"] = trace.to_json()
        print(json.dumps(document, indent=2, default=str))
    elif args.invoice is not None and trace is not None:
        out.trace_report(trace)
    else:
        out.run_report(result)
