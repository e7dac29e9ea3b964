"""Benchmark: read a large Zoho Books organisation through the emulator over loopback HTTP.

10,000 invoices, 5,000 contacts and 2,000 items, 50 ms added to every API response, Zoho's own
limits kept client-side (100 calls a minute per organisation, 5 at a time). Prints the API
calls and wall time of each read against the minimum: one list page per 200 rows (Zoho's page
size) and, for invoice lines, one ``GET /invoices/{id}`` per invoice (list rows carry no lines).
Figures, not pass/fail.

    .venv/bin/python bench/read_zoho_books.py [--latency-ms 50] [--lines 90]
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from checks.context import SideData
from config.integrations import SideConfig
from providers import get_provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import RateLimited
from providers.fanout import FanOut
from providers.http import CallStats, RetryPolicy, reset_limiters
from providers.zoho_books import MAX_PAGE, ZohoBooks
from sandbox.server import LoopbackServer
from sandbox.zoho_books import ZohoBooksEmulator
from sandbox.zoho_books.generated import generated_organization

logger = logging.getLogger(__name__)

ORG = "9000000001"
INVOICES, CONTACTS, ITEMS = 10_000, 5_000, 2_000
PER_MINUTE = 100  # per organisation (2ry)
TOP_DAILY = 10_000  # the highest plan's daily quota (2ry)


def provider(url: str, org: str, stats: CallStats, fan_out: FanOut) -> ZohoBooks:
    store = MemoryCredentialStore(
        "bench/zoho_books",
        Credentials(
            kind="oauth2",
            access_token="at-bench",
            refresh_token="rt-bench",
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        ),
    )
    found = get_provider(
        "zoho_books",
        tenant=org,
        credentials=store,
        stats=stats,
        overrides={"base_url": url, "token_url": url + "/oauth/v2/token"},
        retry=RetryPolicy(backoff=0.05),
        fan_out=fan_out,
    )
    assert isinstance(found, ZohoBooks)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--lines", type=int, default=90, help="invoices whose lines are read (a run's window)")
    args = parser.parse_args(argv)

    build_started = time.perf_counter()
    big = generated_organization(ORG, CONTACTS, ITEMS, INVOICES, daily_limit=TOP_DAILY)
    window = generated_organization("9000000002", 50, 50, args.lines, daily_limit=TOP_DAILY)
    emulator = ZohoBooksEmulator(
        {
            "grants": [{"access_token": "at-bench", "refresh_token": "rt-bench", "principal": [ORG, "9000000002"]}],
            "faults": {"latency_ms": args.latency_ms},
            "minute_limit": 10**6,  # the bench reads more than a minute's worth: the client keeps the pace
            "organizations": [big, window],
        }
    )
    server = LoopbackServer(emulator.app).start()
    executor = ThreadPoolExecutor(8)  # what a check run lends its providers
    fan_out = FanOut(executor)
    print(
        f"world: {INVOICES:,} invoices, {CONTACTS:,} contacts, {ITEMS:,} items "
        f"(built in {time.perf_counter() - build_started:.1f}s); {args.latency_ms} ms latency per API call"
    )
    print(f"client-side limits: Zoho's own ({PER_MINUTE}/min per organisation, 5 concurrent)")
    try:
        reset_limiters()
        stats = CallStats()
        zoho = provider(server.url, ORG, stats, fan_out)
        side = SideData("destination", SideConfig("zoho_books", tenant=ORG), zoho)
        side.probe()  # the organisation check every run makes first (not counted by Zoho's quota)
        print(f"\n{'read':<22}{'rows':>8}{'calls':>8}{'minimum':>9}{'wall':>9}")
        total_calls = total_minimum = 0
        for name, rows_expected, read in (
            ("contacts", CONTACTS, side.contacts),
            ("items", ITEMS, side.items),
            ("invoices (list only)", INVOICES, zoho.invoice_list),
        ):
            before = stats.snapshot().get("zoho_books", 0)
            started = time.perf_counter()
            rows = read()
            wall = time.perf_counter() - started
            calls = stats.snapshot().get("zoho_books", 0) - before
            minimum = math.ceil(rows_expected / MAX_PAGE)
            total_calls += calls
            total_minimum += minimum
            print(f"{name:<22}{len(rows):>8,}{calls:>8}{minimum:>9}{wall:>8.2f}s")
        print(f"{'total':<22}{'':>8}{total_calls:>8}{total_minimum:>9}")

        # Lines: one detail read per invoice. The whole organisation's would take 10,000 calls,
        # i.e. 100 minutes at 100/min and every call of the top plan's day: Sync Doctor refuses
        # (the list above is the run's: it is not read again).
        started = time.perf_counter()
        try:
            side.invoices()
            refused = "read (!)"
        except RateLimited as e:
            refused = f"refused in {time.perf_counter() - started:.2f}s: {e.message}"
        print(f"\nlines of all {INVOICES:,} invoices: {refused}")

        reset_limiters()
        window_stats = CallStats()
        windowed = provider(server.url, "9000000002", window_stats, fan_out)
        started = time.perf_counter()
        invoices = windowed.invoices()
        wall = time.perf_counter() - started
        calls = window_stats.snapshot().get("zoho_books", 0)
        minimum = 1 + math.ceil(args.lines / MAX_PAGE) + args.lines  # organisations, list pages, one per invoice
        print(
            f"lines of a {args.lines}-invoice window: {len(invoices)} invoices, {calls} calls "
            f"(minimum {minimum + 1} with the item list for SKUs), {wall:.2f}s"
        )
        print(
            f"\ncost of lines: one call per invoice. {INVOICES:,} invoices = {INVOICES:,} calls = "
            f"{INVOICES / PER_MINUTE:.0f} min at {PER_MINUTE}/min, the whole day's quota of the top plan "
            f"({TOP_DAILY:,}); the list alone is {math.ceil(INVOICES / MAX_PAGE)} pages "
            f"({math.ceil(INVOICES / MAX_PAGE) / PER_MINUTE:.1f} min of the minute limit)."
        )
    finally:
        executor.shutdown()
        server.stop()
        reset_limiters()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
