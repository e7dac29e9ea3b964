"""Benchmark: read a large HubSpot portal from the emulator over loopback HTTP.

    .venv/bin/python bench/read_hubspot.py [--invoices 10000 --contacts 5000 --products 2000 --latency-ms 50]

Prints API calls per endpoint and wall time for contacts(), items() and invoices(), next to the
fewest calls the page sizes allow (lists: 100 per page; search: 200 per page; batch reads: 100
inputs). Client-side limits are RAISED for the run (per-tenant per-minute and 10-second windows
off, concurrency 10, search pacing 1000/s instead of HubSpot's 4/s), because the emulator does
not enforce HubSpot's limits here and the figure wanted is the client's own cost in calls and
round trips; with the real limits, search alone would take at least pages / 4 seconds.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from providers import get_provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.fanout import FanOut
from providers.http import CallStats, RetryPolicy, reset_limiters
from providers.hubspot import HubSpot
from sandbox.server import Sandbox

logger = logging.getLogger(__name__)

PORTAL = "4711"
TOKEN = "pat-na1-bench"
SCOPES = [
    "crm.objects.contacts.read",
    "crm.objects.products.read",
    "crm.objects.line_items.read",
    "crm.objects.invoices.read",
    "oauth",
]


class BenchHubSpot(HubSpot):
    SEARCH_PER_SECOND = 1000  # raised for the bench (HubSpot: 4/s per token)


def build_world(invoices: int, contacts: int, products: int, latency_ms: int) -> dict[str, Any]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    statuses = ("draft", "open", "paid", "voided")
    portal = {
        "account": {
            "accountType": "STANDARD",
            "companyCurrency": "USD",
            "additionalCurrencies": [],
        },
        "contacts": [
            {
                "id": str(i),
                "firstname": f"F{i}",
                "lastname": f"L{i}",
                "email": f"c{i}@example.com",
                "company": f"Co {i}",
            }
            for i in range(1, contacts + 1)
        ],
        "products": [
            {
                "id": str(100_000 + i),
                "name": f"Product {i}",
                "price": "10.00",
                "hs_sku": f"SKU-{i:05d}",
            }
            for i in range(products)
        ],
        "invoices": [
            {
                "id": str(1_000_000 + i),
                "number": f"INV-{i:06d}",
                "status": statuses[i % 4],
                "currency": "USD",
                "modified": (start + timedelta(minutes=i)).isoformat(),
                "contact": str(1 + i % contacts),
                "lines": [
                    {
                        "product": str(100_000 + i % products),
                        "quantity": 1,
                        "price": "10.00",
                        "name": "Product",
                    },
                    {"hs_sku": "FREIGHT", "quantity": 1, "price": "5.00", "name": "Freight"},
                ],
            }
            for i in range(invoices)
        ],
    }
    return {
        "hubspot": {
            "api_keys": [{"token": TOKEN, "portal": PORTAL, "scopes": SCOPES}],
            "faults": {"latency_ms": latency_ms},
            "portals": {PORTAL: portal},
        }
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args(argv)

    reset_limiters()
    world = build_world(args.invoices, args.contacts, args.products, args.latency_ms)
    sandbox = Sandbox(world)
    # The emulator's world (tens of thousands of objects) lives in this process; freezing it
    # keeps the garbage collector from rescanning it on every request, which would otherwise
    # dominate the figures (the client, not the collector, is what is measured).
    gc.collect()
    gc.freeze()
    with sandbox as box:
        emulator = box.emulators["hubspot"]
        provider = get_provider(
            "hubspot",
            tenant=PORTAL,
            credentials=MemoryCredentialStore("bench/hubspot", Credentials(kind="api_key", api_key=TOKEN)),
            stats=CallStats(),
            overrides=box.overrides("hubspot"),
            limits={"concurrent": 10, "per_minute": None, "app_per_minute": None},
            retry=RetryPolicy(backoff=0.05),
        )
        # Lists, association chunks and batch reads go side by side, as on a check run's executor.
        fan_out = FanOut(ThreadPoolExecutor(max_workers=16, thread_name_prefix="bench-fan-out"))
        provider = BenchHubSpot(provider.options, provider.tokens, provider.stats, fan_out=fan_out)
        print(
            f"HubSpot read benchmark: {args.invoices} invoices, {args.contacts} contacts, "
            f"{args.products} products, {args.latency_ms} ms latency per call"
        )
        print("client-side limits RAISED: concurrency 10, no per-minute / 10-second window, search 1000/s")
        invoice_lines = 2 * args.invoices
        linked_products = min(args.products, args.invoices)
        distinct_contacts = min(args.contacts, args.invoices)
        batch = HubSpot.BATCH_LIMIT
        runs = (
            (
                "contacts()",
                provider.contacts,
                {"GET /crm/v3/objects/contacts": math.ceil(args.contacts / HubSpot.LIST_PAGE_MAX) + 1},
            ),
            (
                "items()",
                provider.items,
                {"GET /crm/v3/objects/products": math.ceil(args.products / HubSpot.LIST_PAGE_MAX) + 1},
            ),
            (
                "invoices()",
                provider.invoices,
                {
                    "POST /crm/v3/objects/invoices/search": math.ceil(args.invoices / HubSpot.SEARCH_PAGE_MAX),
                    "POST /crm/v4/associations/invoices/line_items/batch/read": math.ceil(args.invoices / batch),
                    "POST /crm/v4/associations/invoices/contacts/batch/read": math.ceil(args.invoices / batch),
                    "POST /crm/v3/objects/line_items/batch/read": math.ceil(invoice_lines / batch),
                    "POST /crm/v3/objects/products/batch/read": math.ceil(linked_products / batch),
                    "POST /crm/v3/objects/contacts/batch/read": math.ceil(distinct_contacts / batch),
                },
            ),
        )
        total_calls = total_minimum = 0
        total_time = 0.0
        for label, read, minimum in runs:
            before = dict(emulator.requests)
            started = time.perf_counter()
            records = read()
            elapsed = time.perf_counter() - started
            made = {
                k: emulator.requests[k] - before.get(k, 0)
                for k in emulator.requests
                if emulator.requests[k] != before.get(k, 0)
            }
            calls, least = sum(made.values()), sum(minimum.values())
            total_calls, total_minimum, total_time = (
                total_calls + calls,
                total_minimum + least,
                total_time + elapsed,
            )
            print(
                f"\n{label}: {len(records)} records, {calls} API calls (minimum {least}), {elapsed:.2f} s wall, "
                f"{elapsed / max(calls, 1) * 1000:.0f} ms per call on average"
            )
            for endpoint in sorted(set(made) | set(minimum)):
                print(f"  {endpoint:<60} {made.get(endpoint, 0):>6}  (minimum {minimum.get(endpoint, 0)})")
        print(
            f"\ntotal: {total_calls} API calls (minimum {total_minimum}), {total_time:.2f} s wall; "
            f"sequential at {args.latency_ms} ms would be >= {total_minimum * args.latency_ms / 1000:.1f} s"
        )
        provider.close()


if __name__ == "__main__":
    main()
