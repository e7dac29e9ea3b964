"""``db``: database maintenance."""

from __future__ import annotations

import argparse

from cli.base import EXIT_OK, Command


def cmd_db(args: argparse.Namespace, command: Command) -> int:
    print(f"Database at revision {command.root.upgrade_database(command.settings)}.")
    return EXIT_OK
