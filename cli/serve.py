"""``serve``: the Slack bot, and the scheduled jobs beside it (``--no-scheduler``: not here)."""

from __future__ import annotations

import argparse
import errno
import socket
from typing import TYPE_CHECKING

from cli import actions as action_commands
from cli.base import EXIT_OK, Command, UsageError
from config.env import load_settings

if TYPE_CHECKING:
    from service.container import Services

HOST = "0.0.0.0"


def check_port_free(port: int, host: str = HOST) -> None:
    """Refuse a port another process listens on, before anything starts: the server would
    otherwise build everything, then fail inside uvicorn with its own message and exit code.
    (The server binds the port itself moments later; a race with another process there is
    still reported by uvicorn.)"""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        probe.bind((host, port))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} is in use by another process: stop it, or choose another with --port or PORT"
            ) from None
        raise UsageError(f"cannot listen on port {port}: {e.strerror}") from None
    finally:
        probe.close()


def cmd_serve(args: argparse.Namespace, command: Command) -> int:
    environ = command.environ
    if args.port:
        environ = {**environ, "PORT": str(args.port)}
    settings = load_settings(environ)
    check_port_free(settings.port)  # Socket Mode too: it still serves /healthz and OAuth on PORT
    if args.demo:
        # No Slack token: the demo plays Slack too, and says how to send it a command.
        with command.root.demo(environ, slack=not environ.get("SLACK_BOT_TOKEN")) as demo:
            if demo.slack is not None:
                print(demo.slack.instructions(f"http://127.0.0.1:{demo.services.settings.port}"), flush=True)
            action_commands.resume_in_background(demo.services)
            _serve_with_scheduler(command, demo.services, scheduled=not args.no_scheduler, demo=True)
        return EXIT_OK
    services = command.root.services(settings)
    try:
        action_commands.resume_in_background(services)  # what a previous process left running
        _serve_with_scheduler(command, services, scheduled=not args.no_scheduler)
    finally:
        services.close()
    return EXIT_OK


def _serve_with_scheduler(command: Command, services: Services, *, scheduled: bool, demo: bool = False) -> None:
    """Serve; the scheduled jobs run beside the bot unless ``--no-scheduler``. After SIGTERM the
    server drains first, then the scheduler finishes or releases what it runs."""
    from cli.worker import STOP_SECONDS, start_scheduler

    scheduler = start_scheduler(services) if scheduled else None
    try:
        command.root.serve(services, demo=demo)
    finally:
        if scheduler is not None:
            scheduler.stop(STOP_SECONDS)
