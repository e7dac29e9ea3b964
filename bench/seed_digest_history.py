"""A quarter of simulated history for the demo world, then its digest (docs/digest-example.*).

    python bench/seed_digest_history.py [--out docs] [--database-url URL]

Reproducible (a fixed random seed, explicit timestamps). Each demo integration is checked once
for real, through the CheckService over the demo's emulators: that run's findings are what a
failing sweep finds, and the same run without its fail / error findings is what a healthy one
finds. Then 2026Q2's last month and all of 2026Q3 are replayed: a sweep every 3 hours, people's
own checks a few times a week, incidents (the integration fails from a break until someone
fixes it), an alert opened at each detection and resolved at each fix, and actions requested
and decided during incidents. Every row goes in through the store's own functions
(``record_run_counters``, ``add_alert`` / ``resolve_alert``, ``add_action`` / ``decide``).
Prints what it seeded and where the digest went.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import build
from checks.findings import Severity
from checks.runner import RunResult
from demo import DemoEnvironment
from reports.digest.periods import Quarter
from service.container import Services
from service.digests import json_text, make_digest, markdown
from store import actions_repo, alerts_repo
from store import repositories as repo
from store.counters import record_run_counters

TZ = "Australia/Sydney"
QUARTER = Quarter(2026, 3)
SEED = 20260930
SWEEP_EVERY = timedelta(hours=3)
# integration -> incidents in Q3 as (day of quarter, hour it breaks, hours until fixed)
INCIDENTS = {
    "acme": [(9, 7, 30), (41, 22, 6), (70, 10, 52)],
    "bluegum": [(23, 14, 11)],
    "tasman": [],
    "umbrella": [(5, 9, 4), (62, 11, 28)],
    "sparky": [(15, 3, 20), (33, 12, 3), (58, 9, 72), (80, 16, 8)],
}
# 2026Q2's last month, lighter and worse, so the digest has a trend to show
PREVIOUS = {
    "acme": [(70, 9, 80)],
    "bluegum": [(66, 11, 40), (80, 8, 30)],
    "tasman": [(75, 12, 10)],
    "umbrella": [(71, 10, 120)],
    "sparky": [],
}


def healthy(result: RunResult) -> RunResult:
    """The run without its failures; its warnings are old news (ongoing)."""
    kept = tuple(replace(f, status="ongoing") for f in result.findings if f.severity < Severity.FAIL)
    return replace(result, findings=kept)


def ongoing(result: RunResult) -> RunResult:
    return replace(result, findings=tuple(replace(f, status="ongoing") for f in result.findings))


def seed(
    services: Services,
    real: dict[str, RunResult],
    quarter: Quarter,
    incidents: dict[str, list[tuple[int, int, int]]],
    *,
    from_day: int,
    rng: random.Random,
) -> dict[str, int]:
    sessions = services.sessions
    start, end = quarter.bounds(TZ)
    counts = {"sweeps": 0, "diagnoses": 0, "alerts": 0, "actions": 0}
    for name, spans in incidents.items():
        failing = real[name]
        windows = [
            (start + timedelta(days=d - 1, hours=h), start + timedelta(days=d - 1, hours=h + length))
            for d, h, length in spans
        ]
        broken_before = False
        alert_id: int | None = None
        at = start + timedelta(days=from_day - 1, minutes=rng.randrange(0, 180))
        while at < end:
            window = next((w for w in windows if w[0] <= at < w[1]), None)
            broken = window is not None
            with sessions.begin() as session:
                result = (failing if not broken_before else ongoing(failing)) if broken else healthy(failing)
                record_run_counters(session, result, "schedule", at, TZ)
                if broken and not broken_before:
                    alert = repo.add_alert(
                        session,
                        integration=name,
                        code=failing.findings[0].code,
                        channel="C0ALERTS",
                        run_id=None,
                        detail={},
                    )
                    alert.opened_at = at
                    alert_id = alert.id
                    counts["alerts"] += 1
                if not broken and broken_before and alert_id is not None:
                    alerts_repo.resolve_alert(session, alert_id, run_id=None, at=at)
                    alert_id = None
            counts["sweeps"] += 1
            if broken and not broken_before:
                # someone looks into it in Slack within the hour, and asks for a fix
                look = at + timedelta(minutes=rng.randrange(10, 60))
                with sessions.begin() as session:
                    record_run_counters(session, ongoing(failing), "slack", look, TZ)
                    action = actions_repo.add_action(
                        session,
                        integration=name,
                        kind="resync",
                        params={"numbers": "INV-1"},
                        plan={},
                        label="Re-sync invoices",
                        requested_by="U0SUPPORT",
                        via="slack",
                        request_key=None,
                        finding=(failing.findings[0].code, failing.findings[0].subject),
                        expires_at=look + timedelta(hours=24),
                        steps=[("invoice", "INV-1")],
                        now=look,
                    )
                    approve = rng.random() < 0.8
                    actions_repo.decide(
                        session,
                        action.id,
                        to="approved" if approve else "denied",
                        user="U0ADMIN",
                        note=None if approve else "fix the mapping first",
                        now=look + timedelta(minutes=20),
                    )
                    if approve:  # it ran: claimed, then finished (the engine's own transitions)
                        ran = look + timedelta(minutes=21)
                        actions_repo.claim(
                            session,
                            action.id,
                            owner="seed",
                            lease_until=ran + timedelta(minutes=5),
                            now=ran,
                            state="approved",
                            previous_owner=None,
                        )
                        actions_repo.finish(
                            session,
                            action.id,
                            owner="seed",
                            state="succeeded" if rng.random() < 0.85 else "failed",
                            summary={},
                            error=None,
                            now=ran + timedelta(minutes=1),
                        )
                counts["diagnoses"] += 1
                counts["actions"] += 1
            if rng.random() < 0.05:  # a few checks a week that nobody needed to make
                with sessions.begin() as session:
                    record_run_counters(
                        session, ongoing(failing) if broken else healthy(failing), "cli", at + timedelta(minutes=7), TZ
                    )
                counts["diagnoses"] += 1
            broken_before = broken
            at += SWEEP_EVERY
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="docs", help="folder for digest-example.md / .png / .json")
    parser.add_argument("--database-url", help="seed this database instead of a temporary one")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    with DemoEnvironment({}, build, database_url=args.database_url) as demo:
        services = demo.services
        real: dict[str, RunResult] = {}
        for name in INCIDENTS:
            result = services.checks.run(name, trigger="demo")
            if not result.failing:
                raise SystemExit(f"the demo world's {name} has nothing failing: pick another integration")
            real[name] = result
        # only the replayed history counts: the real runs above happened today, outside both quarters
        previous = seed(services, real, QUARTER.previous(), PREVIOUS, from_day=62, rng=rng)
        current = seed(services, real, QUARTER, INCIDENTS, from_day=1, rng=rng)
        services.config = replace(services.config, timezone=TZ)
        services.config = replace(services.config, integrations={k: services.config.integrations[k] for k in INCIDENTS})
        digest, chart = make_digest(services, QUARTER, now=datetime(2026, 10, 1, 9, tzinfo=UTC))
    (out / "digest-example.png").write_bytes(chart.png)
    (out / "digest-example.md").write_text(
        markdown(digest, chart="digest-example.png", alt=chart.alt), encoding="utf-8"
    )
    (out / "digest-example.json").write_text(json_text(digest), encoding="utf-8")
    print(f"seeded {QUARTER.previous()} (last month): {previous}")
    print(f"seeded {QUARTER}: {current}")
    print(f"wrote {out}/digest-example.md, .png ({len(chart.png)} bytes), .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
