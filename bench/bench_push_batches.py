"""Benchmark: push 500 invoices with ``push_invoices`` into the Xero and QuickBooks emulators.

Xero keeps its real limits (60 calls a minute and 5 at once per organisation) and answers each
call after ``--latency-ms``; QuickBooks likewise. Prints the calls made, calls per invoice and
wall time, against the fewest calls the batch sizes allow (a look-up per 50 numbers plus one
request per batch: 50 invoices for Xero, 30 for QuickBooks). Figures, not pass/fail.

    .venv/bin/python bench/bench_push_batches.py [--invoices 500] [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from providers import get_provider
from providers.base import Provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.http import CallStats, RetryPolicy, reset_limiters
from providers.records import Invoice, InvoiceLine, InvoiceStatus
from sandbox.server import Sandbox

logger = logging.getLogger(__name__)

XERO_TENANT = "6a1c0e4e-0000-4000-8000-0000000000b1"
REALM = "9130350000000001"


def world(latency_ms: int) -> dict[str, Any]:
    faults = {"latency_ms": latency_ms}
    return {
        "xero": {
            "grants": [{"access_token": "at-x", "refresh_token": "rt-x", "principal": [XERO_TENANT]}],
            "tenants": [
                {
                    "id": XERO_TENANT,
                    "name": "Bench Ltd",
                    "organisation": {"BaseCurrency": "NZD"},
                    "contacts": [{"Name": "Customer 1"}],
                }
            ],
            "faults": faults,
        },
        "quickbooks": {
            "grants": [{"access_token": "at-q", "refresh_token": "rt-q", "principal": REALM}],
            "realms": {
                REALM: {
                    "Preferences": {"CurrencyPrefs": {"HomeCurrency": {"value": "USD"}}},
                    "Account": [{"Id": "1", "Name": "Sales", "AcctNum": "4000", "AccountType": "Income"}],
                    "Customer": [{"Id": "10", "DisplayName": "Customer 1"}],
                    "Item": [{"Id": "20", "Name": "Widget", "Sku": "W-1", "IncomeAccountRef": {"value": "1"}}],
                }
            },
            "faults": faults,
        },
    }


def invoices(system: str, n: int) -> list[Invoice]:
    line = (
        InvoiceLine(description="Widget", quantity=Decimal(2), unit_amount=Decimal(10), account_code="200")
        if system == "xero"
        else InvoiceLine(sku="W-1", quantity=Decimal(2), unit_amount=Decimal(10), amount=Decimal(20))
    )
    return [
        Invoice(
            id=f"src-{i}",
            number=f"BENCH-{i:04d}",
            status=InvoiceStatus.OPEN,
            currency="NZD" if system == "xero" else "USD",
            total=Decimal(20),
            contact_name="Customer 1",
            contact_id=None if system == "xero" else "10",
            issue_date=date(2024, 6, 1),
            lines=(line,),
        )
        for i in range(n)
    ]


def provider(box: Sandbox, system: str, stats: CallStats) -> Provider:
    token = "at-x" if system == "xero" else "at-q"
    creds = Credentials(
        kind="oauth2", access_token=token, refresh_token="r", expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    return get_provider(
        system,
        tenant=XERO_TENANT if system == "xero" else REALM,
        credentials=MemoryCredentialStore(f"bench/{system}", creds),
        stats=stats,
        overrides=box.overrides(system),
        retry=RetryPolicy(backoff=0.05),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=100)
    args = parser.parse_args(argv)
    print(f"{args.invoices} invoices per system, {args.latency_ms} ms per API call; client-side limits as shipped")
    print(f"\n{'system':<12}{'calls':>7}{'minimum':>9}{'per invoice':>13}{'landed':>8}{'429s':>6}{'wall':>9}")
    box = Sandbox(world(args.latency_ms)).start()
    try:
        for system, batch in (("xero", 50), ("quickbooks", 30)):
            reset_limiters()
            stats = CallStats()
            p = provider(box, system, stats)
            started = time.perf_counter()
            outcomes = p.push_invoices(invoices(system, args.invoices), lambda inv: f"bench:{inv.number}")
            wall = time.perf_counter() - started
            calls = stats.snapshot().get(system, 0)
            minimum = math.ceil(args.invoices / 50) + math.ceil(args.invoices / batch)
            landed = sum(o.landed for o in outcomes)
            throttled = stats.rate_status(system).throttled
            print(
                f"{system:<12}{calls:>7}{minimum:>9}{calls / args.invoices:>13.3f}{landed:>8}{throttled:>6}{wall:>8.2f}s"
            )
    finally:
        box.stop()
        reset_limiters()
    print(
        "\nnotes: QuickBooks also reads its items once (a line names its item by Id), and with them the"
        "\nchart of accounts (items carry their income account); Xero resolves nothing extra."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
