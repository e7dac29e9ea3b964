"""Contact and SKU matching at scale: ``python bench/bench_matching.py``.

Builds synthetic worlds of 10,000 and 100,000 source invoices / contacts against as many
destination contacts, with 50,000 destination SKUs, and times ``check_contacts`` and
``check_skus`` end to end (index building, matching, fuzzy suggestions for the misses).
About 1% of contacts and SKUs are broken in each of the ways the checks look for, so the
fuzzy path runs too. Prints wall time, peak traced memory (tracemalloc, measured in a second
pass because tracing slows Python down) and the 100k/10k time ratio: linear scaling gives
about 10. Target: under 2 s and 500 MB at 100k on a 2-core machine. Figures, not pass/fail.
"""

from __future__ import annotations

import gc
import random
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checks.contacts import check_contacts
from checks.context import RunContext, SideData
from checks.skus import check_skus
from config.integrations import IntegrationConfig, SideConfig, SyncSettings
from providers.base import Capability
from providers.records import Contact, Invoice, InvoiceLine, InvoiceStatus, Item

SKUS = 50_000
NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)


def world(n: int, seed: int = 7) -> RunContext:
    rng = random.Random(seed)
    items = [Item(id=f"i{k}", code=f"PROD-{k:05d}", name=f"Product {k}", unit_price=Decimal(10)) for k in range(SKUS)]
    dest_contacts: list[Contact] = []
    src_contacts: list[Contact] = []
    invoices: list[Invoice] = []
    for k in range(n):
        name, email = f"Customer {k} Pty Ltd", f"billing{k}@customer{k}.example"
        roll = rng.random()
        src_email: str | None = email
        src_name = name
        if roll < 0.01:
            src_email = email.upper()  # email_mismatch
        elif roll < 0.02:
            src_name = name.upper()  # name_mismatch
        elif roll < 0.03:
            src_email = None  # missing_email
        elif roll < 0.04:
            src_email = f"new{k}@else.example"  # not in the destination: created by the sync
        dest_contacts.append(Contact(id=f"d{k}", name=name, email=email, archived=roll > 0.995))
        src = Contact(id=f"s{k}", name=src_name, email=src_email)
        src_contacts.append(src)
        lines = []
        for _ in range(3):
            code = f"PROD-{rng.randrange(SKUS):05d}"
            miss = rng.random()
            if miss < 0.003:
                code = code.replace("0", "O", 1)  # look-alike typo
            elif miss < 0.006:
                code = code.lower()  # case mismatch
            elif miss < 0.008:
                code = f"NEW-{rng.randrange(10**6):06d}"  # genuinely missing
            lines.append(InvoiceLine(sku=code, quantity=Decimal(1), unit_amount=Decimal(10), amount=Decimal(10)))
        invoices.append(
            Invoice(
                id=f"inv{k}",
                number=f"INV-{k:06d}",
                status=InvoiceStatus.OPEN,
                currency="AUD",
                total=Decimal(30),
                contact_id=src.id,
                contact_name=src.name,
                contact_email=src.email,
                issue_date=date(2026, 5, 10),
                lines=tuple(lines),
            )
        )
    config = IntegrationConfig("bench", SideConfig("hubspot"), SideConfig("xero"), SyncSettings())
    caps = frozenset({Capability.CONTACTS, Capability.ITEMS, Capability.CREATE_ITEM, Capability.CREATE_CONTACT})
    return RunContext(
        integration=config,
        source=SideData.preloaded("source", config.source, invoices=invoices, contacts=src_contacts),
        destination=SideData.preloaded(
            "destination", config.destination, capabilities=caps, contacts=dest_contacts, items=items
        ),
        now=NOW,
    )


def run_checks(ctx: RunContext) -> tuple[int, int]:
    return len(check_contacts(ctx)), len(check_skus(ctx))


def measure(n: int) -> tuple[float, float, tuple[int, int]]:
    ctx = world(n)
    gc.collect()
    start = time.perf_counter()
    counts = run_checks(ctx)
    elapsed = time.perf_counter() - start
    ctx = world(n)  # fresh memo-free copy for the memory pass
    gc.collect()
    tracemalloc.start()
    run_checks(ctx)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak / 1e6, counts


def main() -> None:
    results: dict[int, float] = {}
    print(
        f"{'source contacts':>16} {'dest contacts':>14} {'dest SKUs':>10} {'time s':>8} {'peak MB':>8}  findings (contact, sku)"
    )
    for n in (10_000, 100_000):
        elapsed, peak, counts = measure(n)
        results[n] = elapsed
        print(f"{n:>16,} {n:>14,} {SKUS:>10,} {elapsed:>8.2f} {peak:>8.1f}  {counts}")
    print(f"100k/10k time ratio: {results[100_000] / results[10_000]:.1f} (10 = linear)")


if __name__ == "__main__":
    main()
