"""Read a large Xero organisation through the provider and report calls and wall time.

    python bench/read_xero.py [--latency-ms 50] [--invoices 10000] [--contacts 5000] [--items 2000]

Builds a world of 10,000 invoices / 5,000 contacts / 2,000 items, serves it from the Xero
emulator on loopback with 50 ms added to every API response, and reads each resource through
``providers.xero.Xero``. For each it prints the API calls made, the fewest calls Xero's maximum
page size (1000) allows, and the wall time. Figures, not pass/fail.

The client-side limits (Xero's 60 calls/min and 5 concurrent per tenant) are lifted for the
run, as are the emulator's per-minute limit, so the figures show paging cost and latency, not
waiting for the minute window; the output says so.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from providers import get_provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.http import CallStats, reset_limiters
from providers.xero import MAX_PAGE_SIZE, Xero
from sandbox.server import Sandbox

logger = logging.getLogger(__name__)

TENANT = "6a1c0e4e-0000-4000-8000-00000000be0c"


def build_world(invoices: int, contacts: int, items: int, latency_ms: int) -> dict[str, Any]:
    start = date(2024, 1, 1)
    section = {
        "id": TENANT,
        "name": "Bench Ltd",
        "organisation": {"BaseCurrency": "NZD", "CountryCode": "NZ", "Class": "PREMIUM"},
        "contacts": [
            {
                "Name": f"Customer {i:05d}",
                "EmailAddress": f"c{i}@example.com",
                "ContactStatus": "ARCHIVED" if i % 50 == 0 else "ACTIVE",
            }
            for i in range(contacts)
        ],
        "items": [
            {
                "Code": f"SKU-{i:05d}",
                "Name": f"Item {i}",
                "SalesDetails": {
                    "UnitPrice": 5 + i % 40,
                    "AccountCode": "200",
                    "TaxType": "OUTPUT",
                },
            }
            for i in range(items)
        ],
        "invoices": [
            {
                "InvoiceNumber": f"INV-{i:06d}",
                "Contact": {"Name": f"Customer {i % contacts:05d}"},
                "Date": (start + timedelta(days=i % 365)).isoformat(),
                "Status": "AUTHORISED",
                "LineItems": [
                    {
                        "ItemCode": f"SKU-{(i * 7 + n) % items:05d}",
                        "Quantity": 1 + n,
                        "AccountCode": "200",
                    }
                    for n in range(2)
                ],
            }
            for i in range(invoices)
        ],
    }
    return {
        "xero": {
            "grants": [{"access_token": "at-bench", "refresh_token": "rt-bench", "principal": [TENANT]}],
            "minute_limit": 100_000,  # lifted, like the client-side limits
            "faults": {"latency_ms": latency_ms},
            "tenants": [section],
        }
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args(argv)

    built = time.perf_counter()
    sandbox = Sandbox(build_world(args.invoices, args.contacts, args.items, args.latency_ms))
    print(
        f"world built in {time.perf_counter() - built:.1f}s: {args.invoices} invoices, "
        f"{args.contacts} contacts, {args.items} items; emulator latency {args.latency_ms} ms per API call"
    )
    print(
        "client-side limits lifted for the bench: per_minute=None, concurrent=None, app_per_minute=None "
        "(Xero's documented 60/min per tenant would otherwise pace these calls); emulator minute limit lifted too"
    )
    reset_limiters()
    sandbox.start()
    try:
        store = MemoryCredentialStore(
            "bench/xero",
            Credentials(
                kind="oauth2",
                access_token="at-bench",
                refresh_token="rt-bench",
                expires_at=datetime.now(UTC) + timedelta(minutes=30),
            ),
        )
        stats = CallStats()
        xero = get_provider(
            "xero",
            tenant=TENANT,
            credentials=store,
            stats=stats,
            overrides=sandbox.overrides("xero"),
            limits={"per_minute": None, "concurrent": None, "app_per_minute": None},
        )
        assert isinstance(xero, Xero)
        # Items are not paged in the Accounting API: one call whatever the count.
        reads: list[tuple[str, Callable[[], list[Any]], int]] = [
            ("invoices", xero.invoices, math.ceil(args.invoices / MAX_PAGE_SIZE)),
            ("contacts", xero.contacts, math.ceil(args.contacts / MAX_PAGE_SIZE)),
            ("items", xero.items, 1),
        ]
        print(f"\n{'resource':<10} {'records':>8} {'calls':>6} {'minimum':>8} {'wall s':>8} {'s/call':>7}")
        total_calls = 0
        total_time = 0.0
        for name, read, minimum in reads:
            before = stats.snapshot().get("xero", 0)
            started = time.perf_counter()
            records = read()
            elapsed = time.perf_counter() - started
            made = stats.snapshot().get("xero", 0) - before
            total_calls += made
            total_time += elapsed
            print(f"{name:<10} {len(records):>8} {made:>6} {minimum:>8} {elapsed:>8.2f} {elapsed / max(made, 1):>7.3f}")
        print(f"{'total':<10} {'':>8} {total_calls:>6} {sum(m for _, _, m in reads):>8} {total_time:>8.2f}")
        rate = stats.rate_status("xero")
        print(f"\nX-DayLimit-Remaining after the run: {rate.day_remaining}; 429s: {rate.throttled}")
        at_default = math.ceil(args.invoices / 100) + math.ceil(args.contacts / 100) + 1
        print(
            f"at Xero's default pageSize of 100 the same reads would take {at_default} calls "
            f"(over {math.ceil(at_default / 60)} minute(s) at 60 calls/min per tenant)"
        )
        xero.close()
    finally:
        sandbox.stop()
        reset_limiters()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
