"""A full check of each demo integration against the emulators with 100 ms added to every call.

Prints, per integration:
- wall time with no added latency (our own work: database, threads, parsing, the emulators);
- wall time with 100 ms added to every call;
- round trips on the critical path: (wall@100ms - wall@0ms) / 100 ms;
- the minimum chain of dependent calls the APIs impose on this data (MIN_CHAIN below), and the
  ratio of the two (target: within 1.5x);
- API calls used per system, against the minimum the checks need (one call per resource page,
  plus each API's unavoidable extras).

MIN_CHAIN, per system, for the demo world (one page per resource):
  hubspot     4: invoice search -> associations -> line items -> products (lines without hs_sku)
  quickbooks  1: every read is independent
  xero        2: ten independent reads under Xero's 5-concurrent-per-tenant limit
  stripe      1: every read is independent
An integration's minimum is the longer of its two sides.

Run: python bench/bench_full_check.py
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import build
from demo import DEMO_WORLD, DemoEnvironment
from sandbox.server import load_world

INTEGRATIONS = ("acme", "bluegum", "initech")  # umbrella stops at its dead token: nothing to measure
MIN_CHAIN = {"hubspot": 4, "quickbooks": 1, "xero": 2, "stripe": 1}


def timed_run(world: dict[str, Any], latency_ms: int, name: str) -> tuple[float, dict[str, int]]:
    world = copy.deepcopy(world)
    for system, section in world.items():
        if system != "demo":
            section.setdefault("faults", {})["latency_ms"] = latency_ms
            section["minute_limit"] = 100000  # Xero emulator: don't let its per-minute cap skew timing
    with DemoEnvironment({}, build, world=world) as demo:
        started = time.perf_counter()
        result = demo.services.checks.run(name, trigger="bench")
        return time.perf_counter() - started, result.api_calls


def main() -> None:
    world = load_world(DEMO_WORLD)
    config = world["demo"]["integrations"]
    print(
        f"{'integration':<10} {'wall@0ms':>9} {'wall@100ms':>11} {'round trips':>12} {'min chain':>10} {'ratio':>6}  api calls"
    )
    for name in INTEGRATIONS:
        wall_0 = min(timed_run(world, 0, name)[0] for _ in range(3))
        wall_100, calls = min((timed_run(world, 100, name) for _ in range(3)), key=lambda r: r[0])
        trips = (wall_100 - wall_0) / 0.1
        minimum = max(MIN_CHAIN[config[name][side]["system"]] for side in ("source", "destination"))
        print(
            f"{name:<10} {wall_0:>8.2f}s {wall_100:>10.2f}s {trips:>12.1f} {minimum:>10} {trips / minimum:>5.2f}x"
            f"  {dict(sorted(calls.items()))}"
        )
    print()
    print("round trips = 100 ms latencies on the critical path (best of 3 runs); ratio = round trips /")
    print("the minimum chain the APIs impose (target <= 1.5x). Calls include Stripe's restricted-key")
    print("permission probes (5) and Xero's /connections.")


if __name__ == "__main__":
    main()
