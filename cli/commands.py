"""The command line: ``python app.py COMMAND`` (same as ``sync-doctor COMMAND``).

Exit codes (``--help`` lists them too): 0 done and nothing failing, 1 a check found a ``fail``
or ``error`` (or a traced invoice is not synced), 2 a usage, configuration or environment error
whose message names what is wrong and what to do, 3 an internal error (a bug), 130 interrupted.
A mistake a user can make never ends in a traceback: errors the operator can fix (the
database, the credentials' key) are put into words by :func:`service.errors.explain`.

What a command works with comes from the composition root (``app.py``) as a :class:`Root`.
This module imports only what parsing and error messages need; each command (one module per
group: ``checks``, ``connect``, ``demo``, ``sandbox``, ``db``, ``serve``, ``worker``, ``digest``) imports the rest when
it runs, so ``--help`` starts in a fraction of the time a check takes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence

from actions.errors import ConnectError
from cli import actions as action_commands
from cli import checks, connect, db, demo, digest, sandbox, serve, worker
from cli.base import EXIT_FINDINGS, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, Command, Root, UsageError
from cli.parser import parser
from config.env import Settings, load_settings
from config.integrations import ConfigError
from config.logging import setup_logging
from service.errors import RunNotStored
from service.lookup import UnknownIntegration

logger = logging.getLogger(__name__)

__all__ = ["EXIT_FINDINGS", "EXIT_OK", "EXIT_USAGE", "Root", "parser", "run_cli"]

EXIT_INTERRUPTED = 130
# Commands whose output is a log (a server's); the others print a report, and their logs stay
# out of it unless LOG_LEVEL asks for them.
LOGGING_COMMANDS = frozenset({"serve", "worker"})


def run_cli(argv: Sequence[str], env: Mapping[str, str] | None = None, *, root: Root) -> int:
    environ = dict(os.environ if env is None else env)
    try:
        args = parser().parse_args(argv)
    except UsageError as e:
        print(str(e), file=sys.stderr)
        print("Run `sync-doctor --help` for the commands.", file=sys.stderr)
        return EXIT_USAGE
    settings: Settings | None = None
    try:
        settings = load_settings(environ)
        wanted = environ.get("LOG_LEVEL") or args.command in LOGGING_COMMANDS
        setup_logging(settings.log_level if wanted else "ERROR")
        handler = _COMMANDS[args.command]
        return handler(args, Command(root, settings, environ))
    except (ConfigError, UnknownIntegration, ConnectError, UsageError) as e:
        return _refuse(str(e))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:
        from service.errors import explain

        message = explain(e, settings.database_url if settings else "")
        if message is None:
            logger.critical("internal error, a bug in Sync Doctor (please report it)", exc_info=e)
            return EXIT_INTERNAL
        if isinstance(e, RunNotStored):
            message = f"the run above was not stored: {message}"
        return _refuse(message)


def _refuse(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


_COMMANDS: dict[str, Callable[[argparse.Namespace, Command], int]] = {
    "list": checks.cmd_list,
    "check": checks.cmd_check,
    "connect": connect.cmd_connect,
    "demo": demo.cmd_demo,
    "sandbox": sandbox.cmd_sandbox,
    "db": db.cmd_db,
    "serve": serve.cmd_serve,
    "digest": digest.cmd_digest,
    "worker": worker.cmd_worker,
    **action_commands.COMMANDS,
}
