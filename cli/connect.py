"""``connect``: store an integration side's credentials, or run the OAuth consent."""

from __future__ import annotations

import argparse

from cli.base import EXIT_OK, Command


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
