"""Benchmark: read a large AroFlo site (signed zone queries) and a generic job app (cursor paging,
HMAC-signed) through the feed source, against the emulators on loopback.

    .venv/bin/python bench/read_jobapps.py [--invoices 5000] [--latency-ms 50]

Prints the API calls and the wall time next to the minimum: one page per 500 invoices for AroFlo
(its largest ``pageSize``) and per 100 for the generic app, one round trip of latency each (a
page number or cursor follows the page before it), plus the time the mapping takes per invoice.
Client-side limits are lifted for the bench (AroFlo's 60 a minute would measure the limiter,
not the reading). Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.integrations import parse_config
from providers import get_provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.http import CallStats, reset_limiters
from sandbox.aroflo import AroFloEmulator
from sandbox.jobapp import JobAppEmulator
from sandbox.server import LoopbackServer

logger = logging.getLogger(__name__)

TODAY = date.today()
AROFLO_SECRET = "uencoded=U&pencoded=P&orgencoded=O&secret_key=bench"
UNLIMITED: dict[str, int | None] = {"per_minute": None, "concurrent": None}


def aroflo_world(invoices: int, latency_ms: int) -> dict[str, Any]:
    return {
        "credentials": [{"uencoded": "U", "pencoded": "P", "orgencoded": "O", "secret_key": "bench"}],
        "per_minute": 10**6,
        "per_day": 10**6,
        "faults": {"latency_ms": latency_ms},
        "invoices": [
            {
                "invoicenumber": f"{10000 + i}",
                "status": "approved",
                "dateinvoiced": (TODAY - timedelta(days=i % 25)).isoformat(),
                "client": {"orgid": f"C{i % 300}", "orgname": f"Client {i % 300}"},
                "task": {"taskid": f"T{i}", "jobnumber": f"J-{i}"},
                "lines": [
                    {
                        "ordercode": f"SKU-{(i + n) % 800}",
                        "description": "Part",
                        "qtybilled": 1 + n,
                        "price": 20 + n,
                        "accountcode": "4-1010",
                    }
                    for n in range(3)
                ],
            }
            for i in range(invoices)
        ],
    }


def generic_world(invoices: int, latency_ms: int) -> dict[str, Any]:
    return {
        "auth": {"kind": "hmac", "secret": "bench", "header": "X-Signature", "timestamp_header": "X-Timestamp"},
        "paging": {"kind": "cursor", "size_param": "limit", "default_size": 100},
        "faults": {"latency_ms": latency_ms},
        "endpoints": {
            "/v1/invoices": {
                "records": [
                    {
                        "no": f"G-{i}",
                        "on": (TODAY - timedelta(days=i % 25)).isoformat(),
                        "state": "open",
                        "sum": "60.00",
                        "items": [{"sku": f"SKU-{i % 800}", "amount": "60.00"}],
                    }
                    for i in range(invoices)
                ]
            }
        },
    }


GENERIC_FEED: dict[str, Any] = {
    "auth": {"kind": "hmac", "header": "X-Signature", "timestamp_header": "X-Timestamp"},
    "paging": {"kind": "cursor", "size_param": "limit", "size": 100, "next_path": "$.meta.next_cursor"},
    "endpoints": {"invoices": {"path": "/v1/invoices", "records": "$.data[*]"}},
    "mapping": {
        "invoice": {
            "number": "$.no",
            "date": "$.on",
            "status": "$.state",
            "total": "$.sum",
            "currency": {"const": "AUD"},
            "lines": "$.items[*]",
        },
        "line": {"sku": "$.sku", "amount": "$.amount"},
    },
}


def measure(
    label: str,
    system: str,
    source: dict[str, Any],
    secret: str,
    emulator: Any,
    invoices: int,
    page: int,
    latency_ms: int,
    *,
    cursor: bool = False,
) -> None:
    server = LoopbackServer(emulator.app).start()
    try:
        source = {**source, "base_url": server.url}
        cfg = (
            parse_config({"integrations": {"b": {"source": source, "destination": {"system": "xero"}}}})
            .integrations["b"]
            .source
        )
        stats = CallStats()
        reader = get_provider(
            system,
            tenant=None,
            credentials=MemoryCredentialStore("bench", Credentials(kind="api_key", api_key=secret)),
            stats=stats,
            overrides=cfg.urls,
            limits=UNLIMITED,
            feed=cfg.feed,
        )
        started = time.perf_counter()
        found = reader.invoices(since=TODAY - timedelta(days=30))
        wall = time.perf_counter() - started
        reader.close()
    finally:
        server.stop()
    # A page number ends on a short page (an empty one when the last was full); a cursor ends
    # when the page carries none.
    pages = math.ceil(invoices / page) + (1 if invoices % page == 0 and not cursor else 0)
    floor = pages * latency_ms / 1000
    calls = stats.snapshot().get(system, 0)
    print(
        f"{label:<34} {len(found):>6} invoices  {calls:>3} calls (minimum {pages:>3})  "
        f"{wall:6.2f} s (latency floor {floor:5.2f} s, {1000 * max(wall - floor, 0) / max(len(found), 1):.3f} ms/invoice above it)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    reset_limiters()
    measure(
        "AroFlo (zone API, HMAC-SHA512, 500/page)",
        "aroflo",
        {"system": "aroflo"},
        AROFLO_SECRET,
        AroFloEmulator(aroflo_world(args.invoices, args.latency_ms)),
        args.invoices,
        500,
        args.latency_ms,
    )
    reset_limiters()
    measure(
        "generic (cursor, HMAC-SHA256, 100/page)",
        "generic",
        {"system": "generic", "feed": GENERIC_FEED},
        "bench",
        JobAppEmulator(generic_world(args.invoices, args.latency_ms)),
        args.invoices,
        100,
        args.latency_ms,
        cursor=True,
    )


if __name__ == "__main__":
    main()
