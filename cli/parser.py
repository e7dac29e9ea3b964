"""The command line's grammar and its help: every option, the environment variables, the exit
codes. Standard library only, so ``--help`` costs nothing else."""

from __future__ import annotations

import argparse
from typing import Any

from cli.base import UsageError

ENVIRONMENT = """\
environment variables:
  DATABASE_URL            the database (default sqlite:///sync-doctor.db; postgresql://user@host/db
                          for PostgreSQL; SQLite waits 30 s for a lock, ?timeout=SECONDS changes it)
  SYNC_DOCTOR_CONFIG      the integrations file (default ./sync-doctor.yml)
  SYNC_DOCTOR_SECRET_KEY  encrypts stored credentials (a Fernet key or any passphrase); "new,old"
                          rotates: new encrypts, both decrypt, `db rotate-key` moves everything to new.
                          Unset: a key file sync-doctor.key is generated beside the SQLite database
  SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET
                          the Slack app (serve; alerts after any check when the bot token is set)
  SLACK_APP_TOKEN         an xapp- token: serve uses Socket Mode
  SLACK_API_URL           Slack's Web API (default https://slack.com/api/)
  PORT                    serve's HTTP port (default 3000)
  SYNC_DOCTOR_PUBLIC_URL  serve's public base URL: OAuth callbacks and signed connection links (default
                          http://localhost:PORT)
  SYNC_DOCTOR_COMPANY_FILE_PASSWORD  connect --company-file-user: the MYOB company file user's password
  XERO_CLIENT_ID, XERO_CLIENT_SECRET, QUICKBOOKS_..., HUBSPOT_..., ZOHO_BOOKS_..., MYOB_...
                          each OAuth app's credentials
  LOG_LEVEL               DEBUG, INFO, WARNING or ERROR. Unset: serve logs INFO, other commands only
                          errors (their output is the report)
  NO_COLOR                any value: no colour or tables, even on a terminal
  Any secret may instead be read from a file named by NAME_FILE, e.g. SLACK_BOT_TOKEN_FILE.

exit codes:
  0    done, nothing failing
  1    check: a finding is fail or error; check --invoice: the invoice is not synced
  2    a usage, configuration or environment error; the message says what to fix
  3    an internal error: a bug in Sync Doctor (please report it with the message)
  130  interrupted (Ctrl-C)
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 by itself; keep one path for messages
        raise UsageError(f"{self.prog}: {message}")


def port(text: str) -> int:
    """A TCP port, 1-65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is a whole number, not {text!r}") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"a port is between 1 and 65535, not {value}")
    return value


def seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of seconds, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a number of seconds >= 0, not {value}")
    return value


def invoice_number(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("the invoice number is empty")
    return text.strip()


def _digest_quarter(text: str) -> str:
    from cli.digest import quarter_text

    return quarter_text(text)


def _digest_out(text: str) -> Any:
    from cli.digest import out_file

    return out_file(text)


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="sync-doctor",
        description="Find, explain and fix broken invoice syncs. `sync-doctor demo` tries it with nothing to set up.",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def command(name: str, summary: str, description: str | None = None) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=description or summary[0].upper() + summary[1:] + ".",
            epilog="Environment variables and exit codes: sync-doctor --help.",
        )

    command("list", "the configured integrations and their last known health")

    check = command(
        "check",
        "run every check on one integration",
        "Run every check on one integration and print what is wrong, worst first, with the evidence and what to "
        "do. Exit 1 when a finding is fail or error.",
    )
    check.add_argument("name", help="the integration, as named in the integrations file")
    check.add_argument("--json", action="store_true", help="print one JSON document instead of the report")
    check.add_argument(
        "--invoice",
        metavar="NUMBER",
        type=invoice_number,
        help="trace one invoice: why isn't it in the destination? Exit 0 when it is synced, 1 when not",
    )

    connect = command(
        "connect",
        "store credentials for one side of an integration",
        "Store credentials for one side of an integration, encrypted with SYNC_DOCTOR_SECRET_KEY. A secret given "
        "on the command line is visible to other users in the process list while the command runs: prefer the "
        '--*-file options, where - reads standard input (printf %s "$KEY" | sync-doctor connect acme source '
        "--api-key-file -).",
    )
    connect.add_argument("name", help="the integration")
    connect.add_argument(
        "side", choices=["source", "destination", "middleware"], help="which side of it (or its Make scenario / Zap)"
    )
    how = connect.add_mutually_exclusive_group(required=True)
    how.add_argument(
        "--api-key",
        metavar="KEY",
        help="an API key or private-app token (Stripe, HubSpot, a Make API token, a job app's secret)",
    )
    how.add_argument("--api-key-file", metavar="FILE", help="read the API key from FILE (- for standard input)")
    how.add_argument("--access-token", metavar="TOKEN", help="an OAuth access token you already have")
    how.add_argument("--access-token-file", metavar="FILE", help="read the access token from FILE (- for stdin)")
    how.add_argument(
        "--oauth",
        action="store_true",
        help="with SYNC_DOCTOR_PUBLIC_URL set: print a signed link that opens the consent once within 15 minutes, "
        "for serve to finish; else print the consent URL (then --redirect-url)",
    )
    how.add_argument("--redirect-url", metavar="URL", help="finish OAuth with the URL the provider redirected to")
    how.add_argument(
        "--company-file-user",
        metavar="USER",
        help="MYOB: the company file's own user, stored beside its tokens "
        "(password from SYNC_DOCTOR_COMPANY_FILE_PASSWORD, blank if unset; never an argument)",
    )
    refresh = connect.add_mutually_exclusive_group()
    refresh.add_argument("--refresh-token", metavar="TOKEN", help="with --access-token*: its refresh token")
    refresh.add_argument("--refresh-token-file", metavar="FILE", help="read the refresh token from FILE (- for stdin)")
    connect.add_argument(
        "--expires-in", metavar="SECONDS", type=seconds, help="with --access-token*: seconds until it expires"
    )
    connect.add_argument(
        "--tenant", metavar="ID", help="the tenant / realm / portal / account id (default: the integration's)"
    )

    demo = command(
        "demo",
        "run every check on the bundled demo world (no setup needed)",
        "Start the emulators of the bundled demo world on loopback and run every check on its integrations. "
        "Uses its own temporary database, whatever DATABASE_URL says; nothing is left behind. Exit 0 when it ran.",
    )
    demo.add_argument("--json", action="store_true", help="print one JSON document instead of the reports")

    sandbox = command(
        "sandbox",
        "serve the emulators until stopped",
        "Serve the emulators of a world file on loopback until Ctrl-C or SIGTERM, printing each system's URLs "
        "and a config snippet that points an integration's side at them.",
    )
    sandbox.add_argument("--world", metavar="FILE", help="the world file (default: the demo world)")
    sandbox.add_argument(
        "--port", type=port, default=None, help="the first port; systems take consecutive ports (default: free ports)"
    )
    sandbox.add_argument("--check", action="store_true", help="only check the world file, then exit (0 when it loads)")

    db = command("db", "database maintenance")
    db.add_argument(
        "action",
        choices=["upgrade", "rotate-key"],
        help="upgrade: apply the migrations (any start also does); rotate-key: re-encrypt stored credentials under "
        "the first key of SYNC_DOCTOR_SECRET_KEY, after which the other keys can be removed",
    )

    serve = command(
        "serve",
        "serve the Slack bot (HTTP, or Socket Mode with SLACK_APP_TOKEN)",
        "Serve the Slack bot until SIGTERM: /slack/events, /healthz and the OAuth callbacks over HTTP on PORT, "
        "or Socket Mode when SLACK_APP_TOKEN is set.",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="against the bundled demo world; without SLACK_BOT_TOKEN, with a fake Slack and a ready curl command",
    )
    serve.add_argument("--port", type=port, help="listen on this port instead of PORT")
    serve.add_argument(
        "--no-scheduler",
        action="store_true",
        help="do not run the scheduled jobs in this process (run `sync-doctor worker` elsewhere)",
    )

    worker = command(
        "worker",
        "run the scheduled jobs (monitoring sweep, retention, ...) until SIGTERM, without Slack's front end",
        "Run the scheduled jobs of the schedules: block until SIGTERM: the monitoring sweep (the cheap checks on "
        "every integration), retention, and the others. Any number of workers and servers may share one "
        "PostgreSQL database: each period of each job runs once. A period missed while none ran runs once at start.",
    )
    worker.add_argument(
        "--once", action="store_true", help="run what is due now (missed periods included), wait for it, and exit"
    )

    resync = command(
        "resync",
        "re-sync invoices to the destination, approved by an admin",
        "Plan a re-sync of the given invoices from fresh data, record the approval of USER (an admin by "
        "slack.admins), run it exactly once and print the outcome; or, with --plan, print the plan only. "
        "Exit 0 when every invoice landed (or was already there), 1 when any did not, 2 on bad input.",
    )
    resync.add_argument("name", help="the integration")
    resync.add_argument("numbers", nargs="+", metavar="NUMBER", help="invoice numbers in the source (at most 500)")
    how_resync = resync.add_mutually_exclusive_group(required=True)
    how_resync.add_argument("--approve-as", metavar="USER", help="an admin's Slack user id (from slack.admins)")
    how_resync.add_argument("--plan", action="store_true", help="print the plan only; nothing is written")
    resync.add_argument("--json", action="store_true", help="print one JSON document")

    actions = command(
        "actions",
        "actions and their states; `actions resume` finishes unfinished ones",
        "List the actions (re-syncs, items and contacts created, re-authorisations) of every integration or "
        "of NAME, with their states; `actions resume` finishes actions a stopped process left running "
        "(serve does it at start).",
    )
    actions.add_argument("name", nargs="?", help="an integration, or `resume`")
    actions.add_argument("--json", action="store_true", help="print one JSON document")

    digest = command(
        "digest",
        "a quarter's health digest: uptime, failed invoices, time to fix, causes, trend, a chart",
        "Make the health digest of a quarter (default: the last complete one, in the integrations file's time "
        "zone) for every integration. Without --out or --post, print it as Markdown. --post sends it to "
        "slack.digest_channel once: a quarter already posted is not posted again, and one whose post failed is kept "
        "and posted by the next try. Exit 2 when it was not posted.",
    )
    digest.add_argument("--quarter", metavar="YYYYQN", type=_digest_quarter, help="e.g. 2026Q3")
    digest.add_argument("--post", action="store_true", help="post it to slack.digest_channel (once per quarter)")
    digest.add_argument(
        "--out",
        metavar="FILE",
        action="append",
        type=_digest_out,
        help="write FILE, by its extension: .md the report, .png the chart, .json the numbers (repeat for several)",
    )

    audit = command("audit", "the audit trail of one integration (every action transition, who, when)")
    audit.add_argument("name", help="the integration")
    audit.add_argument("--json", action="store_true", help="print one JSON document")
    return p
