"""The command line: ``python app.py COMMAND`` (same as ``sync-doctor COMMAND``).

Exit codes: 0 all good, 1 a check found a ``fail`` or ``error``, 2 a usage or configuration
error (the message names what is wrong and what to do).

What a command works with comes from the composition root (``app.py``) as a :class:`Root`.
This module imports only what parsing and error messages need; each command imports the
rest when it runs, so ``--help`` starts in a fraction of the time a check takes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from actions.errors import ConnectError
from cli import actions as action_commands
from config.env import Settings, load_settings
from config.integrations import ConfigError
from config.logging import setup_logging
from service.lookup import UnknownIntegration

if TYPE_CHECKING:
    from demo import DemoEnvironment
    from service.container import Services

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class Root(Protocol):
    """What the composition root builds for a command, on demand."""

    def services(self, settings: Settings) -> Services:
        """Services for the configured integrations (the caller closes them)."""

    def demo(self, environ: Mapping[str, str]) -> DemoEnvironment:
        """The bundled demo world, to be entered with ``with``."""

    def serve(self, services: Services, *, demo: bool = False) -> None:
        """Serve the Slack bot until stopped."""

    def upgrade_database(self, settings: Settings) -> str | None:
        """Apply every migration; the revision the database is at."""


class UsageError(Exception):
    pass


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
    action_commands.add_parsers(sub)
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


class Command:
    """One command's view of the process: the root, the settings, the environment."""

    def __init__(self, root: Root, settings: Settings, environ: Mapping[str, str]) -> None:
        self.root = root
        self.settings = settings
        self.environ = environ

    def services(self) -> Services:
        return self.root.services(self.settings)


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


def cmd_connect(args: argparse.Namespace, command: Command) -> int:
    services = command.services()
    try:
        connect = services.connect
        if args.oauth:
            url = connect.start_oauth(args.name, args.side)
            print("Open this URL, approve access, then run this command again with")
            print("  --redirect-url '<the URL your browser was sent back to>'")
            print("(or let `sync-doctor serve` receive the callback):\n")
            print(url)
            return EXIT_OK
        if args.redirect_url:
            system = services.checks.get(args.name).side(args.side).system
            done = connect.finish_oauth(system, args.redirect_url, actor="cli")
        elif args.api_key:
            done = connect.save_api_key(args.name, args.side, args.api_key, actor="cli")
        else:
            done = connect.save_tokens(
                args.name,
                args.side,
                access_token=args.access_token,
                refresh_token=args.refresh_token,
                expires_in=args.expires_in,
                tenant=args.tenant,
                actor="cli",
            )
        tenant = f" (tenant {done.tenant})" if done.tenant else ""
        print(f"Connected {done.integration} {done.side}: {done.system}{tenant}, {done.kind} stored encrypted.")
        return EXIT_OK
    finally:
        services.close()


def cmd_demo(args: argparse.Namespace, command: Command) -> int:
    from cli import render

    if not command.environ.get("LOG_LEVEL"):
        setup_logging("WARNING")  # the report is the output; per-call INFO lines would bury it
    with command.root.demo(command.environ) as demo:
        checks = demo.services.checks
        results = [checks.run(i.name, trigger="demo") for i in checks.integrations()]
        # What an admin would be asked to approve for each finding, planned from fresh data.
        plans = [action_commands.proposed_plans(demo.services, r) for r in results]
        if args.json:
            runs = [
                {**r.to_json(), "proposed_actions": action_commands.proposed_json(p)}
                for r, p in zip(results, plans, strict=True)
            ]
            print(json.dumps({"integrations": runs}, indent=2, default=str))
        else:
            print(demo.banner())
            for result, proposed in zip(results, plans, strict=True):
                print()
                print(render.run_report(result))
                if proposed:
                    print()
                    print(action_commands.proposed_text(proposed))
    return EXIT_FINDINGS if any(r.failing for r in results) else EXIT_OK


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


def cmd_db(args: argparse.Namespace, command: Command) -> int:
    print(f"Database at revision {command.root.upgrade_database(command.settings)}.")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, command: Command) -> int:
    environ = command.environ
    if args.port:
        environ = {**environ, "PORT": str(args.port)}
    if args.demo:
        with command.root.demo(environ) as demo:
            action_commands.resume_in_background(demo.services)
            command.root.serve(demo.services, demo=True)
        return EXIT_OK
    services = command.root.services(load_settings(environ))
    try:
        action_commands.resume_in_background(services)  # what a previous process left running
        command.root.serve(services)
    finally:
        services.close()
    return EXIT_OK


_COMMANDS = {
    "list": cmd_list,
    "check": cmd_check,
    "connect": cmd_connect,
    "demo": cmd_demo,
    "sandbox": cmd_sandbox,
    "db": cmd_db,
    "serve": cmd_serve,
    **action_commands.COMMANDS,
}
