"""``connect``: store an integration side's credentials, or run the OAuth consent.

Secrets can come from a file or standard input (``--api-key-file -``), so they need not sit in
the process list, where any user of the machine can read a command line while it runs. An
empty secret is refused wherever it comes from: stored, it would replace a working credential.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from cli.base import EXIT_OK, Command, UsageError

COMPANY_FILE_PASSWORD = "SYNC_DOCTOR_COMPANY_FILE_PASSWORD"  # MYOB company-file password, never an argument
ON_COMMAND_LINE_NOTE = (
    "note: {what} given on the command line can be read by other users in the process list while the command "
    "runs; {option}-file - reads it from standard input instead."
)


def read_secret(what: str, path: str, stdin: Callable[[], str] = lambda: sys.stdin.read()) -> str:
    """The secret in the file at ``path`` (``-``: standard input), without surrounding blanks."""
    if path == "-":
        text = stdin()
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"the {what} file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"cannot read the {what} file {path}: {getattr(e, 'strerror', None) or e}") from None
    return text.strip()


def secret(args: argparse.Namespace, name: str, what: str) -> str | None:
    """The secret given as ``--NAME`` or ``--NAME-file`` (None when neither); empty is refused."""
    given: str | None = getattr(args, name)
    from_file: str | None = getattr(args, f"{name}_file")
    option = "--" + name.replace("_", "-")
    if from_file is not None:
        value = read_secret(what, from_file)
        where = "standard input" if from_file == "-" else from_file
        if not value:
            raise UsageError(f"the {what} read from {where} is empty")
        return value
    if given is None:
        return None
    if not given.strip():
        raise UsageError(f"the {what} is empty ({option} '')")
    print(ON_COMMAND_LINE_NOTE.format(what=f"A {what}", option=option), file=sys.stderr)
    return given.strip()


def cmd_connect(args: argparse.Namespace, command: Command) -> int:
    stdin_readers = [f for f in ("api_key_file", "access_token_file", "refresh_token_file") if getattr(args, f) == "-"]
    if len(stdin_readers) > 1:
        raise UsageError("only one secret can come from standard input (-); give the others as files")
    api_key = secret(args, "api_key", "API key")
    access_token = secret(args, "access_token", "access token")
    refresh_token = secret(args, "refresh_token", "refresh token")
    if refresh_token is not None and access_token is None:
        raise UsageError("--refresh-token goes with --access-token (or --access-token-file)")
    services = command.services()
    try:
        connect = services.connect
        if args.oauth:
            if command.settings.public_url:
                link = services.consent.issue_link(args.name, args.side, issued_to="cli")
                print("Open this link in a browser within 15 minutes (it works once), approve access, and")
                print("`sync-doctor serve` at SYNC_DOCTOR_PUBLIC_URL stores the connection:\n")
                print(link)
                return EXIT_OK
            url = services.consent.begin(args.name, args.side, issued_to="cli")
            print("Open this URL within 15 minutes, approve access, then run this command again with")
            print("  --redirect-url '<the URL your browser was sent back to>'\n")
            print(url)
            return EXIT_OK
        if args.redirect_url:
            system = services.checks.get(args.name).side(args.side).system
            done = services.consent.finish(system, args.redirect_url, actor="cli")
        elif args.company_file_user:
            # The password never goes on the command line (shell history, the process list).
            password = command.environ.get(COMPANY_FILE_PASSWORD, "")
            done = connect.save_tenant_login(args.name, args.side, args.company_file_user, password, actor="cli")
        elif api_key is not None:
            done = connect.save_api_key(args.name, args.side, api_key, actor="cli")
        elif access_token is not None:
            done = connect.save_tokens(
                args.name,
                args.side,
                access_token=access_token,
                refresh_token=refresh_token,
                expires_in=args.expires_in,
                tenant=args.tenant,
                actor="cli",
            )
        else:  # argparse requires one of the group: unreachable unless the grammar changes
            raise UsageError(
                "give --api-key(-file), --access-token(-file), --oauth, --redirect-url or --company-file-user"
            )
        tenant = f" (tenant {done.tenant})" if done.tenant else ""
        print(f"Connected {done.integration} {done.side}: {done.system}{tenant}, {done.kind} stored encrypted.")
        return EXIT_OK
    finally:
        services.close()
