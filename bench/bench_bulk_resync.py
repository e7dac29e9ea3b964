"""Bulk re-sync: 500 Stripe invoices into the Xero emulator, with Xero's real limits.

The emulator keeps Xero's limits per tenant (60 calls in any rolling minute, 5 requests in
flight; over either it answers 429) and adds ``--latency-ms`` (default 100) to every call.
The action is planned, approved and run through the action service as ``resync --approve-as``
does (the read-back and the checks after the run are left out: they are not the push).

Prints:
- calls to Xero during the run, by method, and per invoice;
- 429s Xero answered during the run (the client-side limiter should leave none);
- the run's wall time against the bound Xero's limits set for that many calls: the longer of
  ``floor((calls - 1) / 60)`` minutes (the rolling minute) and ``ceil(calls / 5)`` latencies (5
  in flight), and the ratio (target <= 1.2x);
- how Xero's ``push_invoices`` sends them: its own batch override (many invoices a request), or
  the protocol's default (one ``push_invoice`` per invoice: a look-up and a PUT each).

Run: python bench/bench_bulk_resync.py [--invoices 500] [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import build
from config.env import Settings
from config.integrations import AppConfig
from demo import DemoEnvironment
from providers.base import Provider
from providers.xero import Xero
from service.container import Services

TENANT = "b0b0b0b0-0000-4000-8000-00000000b011"
SKUS = [
    ("PIPE-15", "Copper pipe 15mm", 1250),
    ("CALLOUT", "Call-out fee", 9900),
    ("HWS-250", "Hot water system", 189900),
]
CUSTOMERS = 20


def days_ago(n: int) -> str:
    return (date.today() - timedelta(days=n)).isoformat()


def world(invoices: int, latency_ms: int) -> dict[str, Any]:
    customers = [
        {"id": f"cus_{n:03d}", "name": f"Customer {n:03d}", "email": f"c{n:03d}@example.com", "created": days_ago(200)}
        for n in range(CUSTOMERS)
    ]
    products = [
        {"id": f"prod_{sku}", "name": name, "metadata": {"sku": sku}, "created": days_ago(300)} for sku, name, _ in SKUS
    ]
    prices = [
        {
            "id": f"price_{sku}",
            "product": f"prod_{sku}",
            "unit_amount": cents,
            "currency": "aud",
            "created": days_ago(300),
        }
        for sku, _, cents in SKUS
    ]
    stripe_invoices = [
        {
            "id": f"in_{n:04d}",
            "number": f"BK-{n:04d}",
            "customer": f"cus_{n % CUSTOMERS:03d}",
            "status": "open",
            "currency": "aud",
            "created": days_ago(3),
            "lines": [{"price": f"price_{SKUS[n % 3][0]}", "quantity": 1 + n % 4}],
        }
        for n in range(invoices)
    ]
    scopes = ["offline_access", "accounting.transactions", "accounting.contacts", "accounting.settings"]
    return {
        "stripe": {
            "api_keys": [{"key": "rk_live_bulk0001", "account": "acct_bulk"}],
            "accounts": {
                "acct_bulk": {
                    "business_name": "Bulk Plumbing",
                    "country": "AU",
                    "default_currency": "aud",
                    "customers": customers,
                    "products": products,
                    "prices": prices,
                    "invoices": stripe_invoices,
                }
            },
        },
        "xero": {
            "grants": [
                {
                    "access_token": "at-bulk",
                    "refresh_token": "rt-bulk",
                    "expires_in": 1800,
                    "scopes": scopes,
                    "principal": [TENANT],
                }
            ],
            "faults": {"latency_ms": latency_ms},
            "tenants": [
                {
                    "id": TENANT,
                    "name": "Bulk Plumbing",
                    "organisation": {"Class": "STANDARD", "BaseCurrency": "AUD", "CountryCode": "AU"},
                    "currencies": ["AUD"],
                    "accounts": [
                        {"Code": "200", "Name": "Sales", "Type": "REVENUE", "Status": "ACTIVE", "TaxType": "OUTPUT"}
                    ],
                    "contacts": [{"Name": c["name"], "EmailAddress": c["email"]} for c in customers],
                    "items": [
                        {"Code": sku, "Name": name, "SalesDetails": {"UnitPrice": cents / 100, "AccountCode": "200"}}
                        for sku, name, cents in SKUS
                    ],
                }
            ],
        },
        "demo": {
            "slack": {"admins": ["U0ADMIN1"]},
            "integrations": {
                "bulk": {
                    "source": {
                        "system": "stripe",
                        "tenant": "acct_bulk",
                        "environment": "live",
                        "base_url": "{url:stripe}",
                    },
                    "destination": {
                        "system": "xero",
                        "tenant": TENANT,
                        "base_url": "{url:xero}",
                        "identity_url": "{url:xero}",
                        "token_url": "{token:xero}",
                    },
                    "mappings": {"default_account": "200"},
                }
            },
            "credentials": {
                "bulk": {
                    "source": {"api_key": "rk_live_bulk0001"},
                    "destination": {
                        "access_token": "at-bulk",
                        "refresh_token": "rt-bulk",
                        "expires_in": 1800,
                        "tenant": TENANT,
                        "scopes": scopes,
                    },
                }
            },
        },
    }


class Counting(httpx.BaseTransport):
    """Every request the providers send, counted by (host port, method) and status."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.calls: Counter[tuple[int | None, str]] = Counter()
        self.statuses: Counter[tuple[int | None, int]] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.calls[(request.url.port, request.method)] += 1
        self.statuses[(request.url.port, response.status_code)] += 1
        return response

    def reset(self) -> None:
        self.calls.clear()
        self.statuses.clear()


def bound_seconds(calls: int, latency: float) -> float:
    minute = 60.0 * math.floor((calls - 1) / 60) if calls else 0.0
    return max(minute, math.ceil(calls / 5) * latency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=100)
    args = parser.parse_args()
    transport = Counting()

    def make(settings: Settings, config: AppConfig) -> Services:
        return build(settings, config, transport=transport)

    numbers = [f"BK-{n:04d}" for n in range(args.invoices)]
    with DemoEnvironment({"LOG_LEVEL": "WARNING"}, make, world=world(args.invoices, args.latency_ms)) as demo:
        assert demo.sandbox is not None
        xero_port = int(demo.sandbox.url("xero").rsplit(":", 1)[1])
        actions = demo.services.actions
        started = time.perf_counter()
        action = actions.request("bulk", "resync", {"numbers": numbers}, requested_by="bench")
        planned = time.perf_counter() - started
        actions.approve(action.id, user="U0ADMIN1", is_admin=True)
        transport.reset()
        started = time.perf_counter()
        outcome = actions.run(action.id, verify=False)
        took = time.perf_counter() - started
        emulator: Any = demo.sandbox.emulators["xero"]
        landed = sum(1 for i in emulator.org(TENANT).invoices if i["InvoiceNumber"] in set(numbers))
    calls = {method: n for (port, method), n in transport.calls.items() if port == xero_port}
    total = sum(calls.values())
    throttled = transport.statuses[(xero_port, 429)]
    bound = bound_seconds(total, args.latency_ms / 1000)
    batching = (
        "its own batch override"
        if Xero.push_invoices is not Provider.push_invoices
        else ("the protocol default: one push_invoice (look-up + PUT) per invoice")
    )
    print(f"invoices: {args.invoices}, latency {args.latency_ms} ms per call, Xero limits 60/min and 5 in flight")
    print(f"planned in {planned:.2f}s; run: {outcome.action.state}, {landed} invoices in Xero")
    print(
        f"calls to Xero during the run: {total} {dict(sorted(calls.items()))}; per invoice {total / args.invoices:.3f}"
    )
    print(f"429s answered by Xero: {throttled}")
    print(
        f"run wall time {took:.1f}s; bound set by the limits {bound:.1f}s; ratio {took / bound:.2f}x (target <= 1.2x)"
    )
    print(f"Xero push_invoices: {batching}")


if __name__ == "__main__":
    main()
