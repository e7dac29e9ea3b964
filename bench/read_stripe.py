"""Benchmark: read a large Stripe account through the client, against the emulator on loopback.

    .venv/bin/python bench/read_stripe.py [--invoices 10000] [--customers 5000] [--products 2000]
                                          [--latency-ms 50] [--lines 3] [--shape 2023-08-16|basil]

Prints the API calls made per endpoint and the wall time, next to the minimum: one page per
100 objects (Stripe's largest ``limit``) and one round trip of latency per page, as the client
reads page after page (a cursor cannot be fetched ahead of the page that names it).

Client-side limits are raised for the bench (``limits={"per_minute": None, "concurrent":
None}``): with a test key the client would otherwise hold itself to Stripe's 25 requests/s
test-mode figure, which measures the limiter rather than the reading. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from providers import get_provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.fanout import FanOut
from providers.http import CallStats, reset_limiters
from sandbox.server import LoopbackServer
from sandbox.stripe import StripeEmulator

logger = logging.getLogger(__name__)

KEY = "sk_test_bench0001"
T0 = 1_700_000_000


def world(invoices: int, customers: int, products: int, lines: int, latency_ms: int, shape: str) -> dict[str, Any]:
    return {
        "api_keys": [{"key": KEY, "account": "acct_bench"}],
        "invoice_line_shape": shape,
        "faults": {"latency_ms": latency_ms},
        "accounts": {
            "acct_bench": {
                "business_name": "Bench Co",
                "default_currency": "usd",
                "customers": [
                    {"id": f"cus_{i:06d}", "name": f"Customer {i}", "email": f"c{i}@bench.test", "created": T0 + i}
                    for i in range(customers)
                ],
                "products": [
                    {
                        "id": f"prod_{i:06d}",
                        "name": f"Product {i}",
                        "metadata": {"sku": f"SKU-{i:05d}"},
                        "default_price": f"price_{i:06d}",
                        "created": T0 + i,
                    }
                    for i in range(products)
                ],
                "prices": [
                    {
                        "id": f"price_{i:06d}",
                        "product": f"prod_{i:06d}",
                        "unit_amount": 100 + i,
                        "currency": "usd",
                        "created": T0 + i,
                    }
                    for i in range(products)
                ],
                "invoices": [
                    {
                        "id": f"in_{i:06d}",
                        "number": f"BENCH-{i:06d}",
                        "customer": f"cus_{i % customers:06d}",
                        "status": "paid" if i % 3 else "open",
                        "created": T0 + i,
                        "lines": [
                            {"price": f"price_{(i + n) % products:06d}", "quantity": 1 + n} for n in range(lines)
                        ],
                    }
                    for i in range(invoices)
                ],
            }
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--lines", type=int, default=3, help="lines per invoice (more than 10 forces /lines paging)")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--shape", choices=("2023-08-16", "basil"), default="2023-08-16")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    emulator = StripeEmulator(
        world(args.invoices, args.customers, args.products, args.lines, args.latency_ms, args.shape)
    )
    server = LoopbackServer(emulator.app).start()
    print(f"world built and served in {time.perf_counter() - started:.1f}s")
    reset_limiters()
    stats = CallStats()
    provider = get_provider(
        "stripe",
        tenant="acct_bench",
        credentials=MemoryCredentialStore("bench/stripe", Credentials(kind="api_key", api_key=KEY)),
        stats=stats,
        overrides={"base_url": server.url},
        limits={"per_minute": None, "concurrent": None},  # raised for the bench: see the docstring
        environment="test",
        fan_out=FanOut(ThreadPoolExecutor(max_workers=4)),  # products beside prices / invoices, as in a run
    )
    try:
        timings: dict[str, tuple[float, int]] = {}
        for name, read in (("contacts", provider.contacts), ("items", provider.items), ("invoices", provider.invoices)):
            t = time.perf_counter()
            count = len(read())
            timings[name] = (time.perf_counter() - t, count)
    finally:
        provider.close()
        server.stop()

    extra_line_pages = sum(math.ceil(max(args.lines - 10, 0) / 100) for _ in range(args.invoices))
    minimum = {
        "GET /v1/customers": math.ceil(args.customers / 100),
        "GET /v1/products": math.ceil(args.products / 100),
        "GET /v1/prices": math.ceil(args.products / 100),
        "GET /v1/invoices": math.ceil(args.invoices / 100),
        "GET /v1/invoices/{id}/lines": extra_line_pages,
    }
    seen: dict[str, int] = {}
    for route, n in emulator.requests.items():
        key = "GET /v1/invoices/{id}/lines" if route.endswith("/lines") else route
        seen[key] = seen.get(key, 0) + n
    print(
        f"\n{args.invoices} invoices x {args.lines} lines, {args.customers} customers, {args.products} products; "
        f"latency {args.latency_ms} ms; line shape {args.shape}"
    )
    print(f"{'endpoint':32} {'calls':>7} {'minimum':>8}")
    for route in sorted(set(minimum) | set(seen)):
        print(f"{route:32} {seen.get(route, 0):>7} {minimum.get(route, 0):>8}")
    total_min = sum(minimum.values())
    print(f"{'total':32} {stats.calls['stripe']:>7} {total_min:>8}")
    for name, (seconds, count) in timings.items():
        print(f"{name:10} {count:>6} records in {seconds:6.2f}s")
    wall = sum(seconds for seconds, _ in timings.values())
    floor = total_min * args.latency_ms / 1000
    print(
        f"wall time {wall:.2f}s; latency floor {floor:.2f}s ({total_min} sequential pages x {args.latency_ms} ms); "
        f"overhead {wall - floor:.2f}s"
    )


if __name__ == "__main__":
    main()
