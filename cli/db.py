"""``db``: database maintenance."""

from __future__ import annotations

import argparse

from cli.base import EXIT_OK, Command


def cmd_db(args: argparse.Namespace, command: Command) -> int:
    if args.action == "rotate-key":
        done = command.root.rotate_key(command.settings)
        print(
            f"Re-encrypted {done} stored credential(s) under the first key of SYNC_DOCTOR_SECRET_KEY; "
            "the keys after it can now be removed."
        )
        return EXIT_OK
    print(f"Database at revision {command.root.upgrade_database(command.settings)}.")
    return EXIT_OK
