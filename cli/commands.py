"""The command line: ``python app.py COMMAND`` (same as ``sync-doctor COMMAND``).

Exit codes: 0 all good, 1 a check found a ``fail`` or ``error``, 2 a usage or configuration
error (the message names what is wrong and what to do).

What a command works with comes from the composition root (``app.py``) as a :class:`Root`.
This module imports only what parsing and error messages need; each command (one module per
group: ``checks``, ``connect``, ``demo``, ``sandbox``, ``db``, ``serve``) imports the rest when
it runs, so ``--help`` starts in a fraction of the time a check takes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from actions.errors import ConnectError
from cli import checks, connect, db, demo, sandbox, serve
from cli.base import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Command, Root, UsageError
from config.env import load_settings
from config.integrations import ConfigError
from config.logging import setup_logging
from service.lookup import UnknownIntegration

logger = logging.getLogger(__name__)

__all__ = ["EXIT_FINDINGS", "EXIT_OK", "EXIT_USAGE", "Root", "parser", "run_cli"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 by itself; keep one path for messages
        raise UsageError(f"{self.prog}: {message}")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="sync-doctor", description="Find, explain and fix broken invoice syncs.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("list", help="the configured integrations and their last known health")

    check = sub.add_parser("check", help="run every check on one integration")
    check.add_argument("name")
    check.add_argument("--json", action="store_true", help="print one JSON document")
    check.add_argument("--invoice", metavar="NUMBER", help="trace one invoice: why isn't it in the destination?")

    connect = sub.add_parser("connect", help="store credentials for one side of an integration")
    connect.add_argument("name")
    connect.add_argument("side", choices=["source", "destination"])
    how = connect.add_mutually_exclusive_group(required=True)
    how.add_argument("--api-key", metavar="KEY", help="API key / private-app token (Stripe, HubSpot)")
    how.add_argument("--access-token", metavar="TOKEN", help="an OAuth access token you already have")
    how.add_argument("--oauth", action="store_true", help="print the consent URL (then --redirect-url)")
    how.add_argument("--redirect-url", metavar="URL", help="finish OAuth with the URL the provider redirected to")
    connect.add_argument("--refresh-token", metavar="TOKEN")
    connect.add_argument("--expires-in", metavar="SECONDS", type=int)
    connect.add_argument("--tenant", metavar="ID", help="tenant / realm / portal / account id")

    demo = sub.add_parser("demo", help="run every check on the bundled demo world (no setup needed)")
    demo.add_argument("--json", action="store_true")

    sandbox = sub.add_parser("sandbox", help="serve the emulators until stopped")
    sandbox.add_argument("--world", metavar="FILE", help="world file (default: the demo world)")
    sandbox.add_argument("--port", type=int, default=0, help="first port; systems take consecutive ports")

    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])

    serve = sub.add_parser("serve", help="serve the Slack bot (HTTP, or Socket Mode with SLACK_APP_TOKEN)")
    serve.add_argument("--demo", action="store_true", help="against the bundled demo world")
    serve.add_argument("--port", type=int, help="overrides PORT")
    return p


def run_cli(argv: Sequence[str], env: Mapping[str, str] | None = None, *, root: Root) -> int:
    environ = dict(os.environ if env is None else env)
    try:
        args = parser().parse_args(argv)
    except UsageError as e:
        print(str(e), file=sys.stderr)
        print("Run `sync-doctor --help` for the commands.", file=sys.stderr)
        return EXIT_USAGE
    try:
        settings = load_settings(environ)
        setup_logging(settings.log_level)
        handler = _COMMANDS[args.command]
        return handler(args, Command(root, settings, environ))
    except (ConfigError, UnknownIntegration, ConnectError, UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE


_COMMANDS: dict[str, Callable[[argparse.Namespace, Command], int]] = {
    "list": checks.cmd_list,
    "check": checks.cmd_check,
    "connect": connect.cmd_connect,
    "demo": demo.cmd_demo,
    "sandbox": sandbox.cmd_sandbox,
    "db": db.cmd_db,
    "serve": serve.cmd_serve,
}
