"""A sync breaking in the emulator -> its Slack alert: ``python bench/bench_alert_latency.py``.

Issue 11's figure: "time from a sync breaking in the emulator to the Slack alert: at most one
sweep interval". Everything runs for real on loopback: ``--integrations`` HubSpot portal ->
Xero organisation integrations (each with its own key and tokens, the fleet of
``tests/scheduling/fleet.py``) on the emulators, every call delayed by ``--latency-ms``; the fake
Slack Web API (``sandbox/slack``) the bot token points at; a config whose sweep runs
``every: --interval`` with an ``alert_channel``; and the real :class:`scheduling.runner.Scheduler`
started as ``worker`` starts it (its APScheduler tick loop, every job of ``JOBS``). Alerts are
posted by the change-alert listener ``app.build`` registers (reports/alerts.py -> bot/publish.py).

Each repeat: wait for a clean sweep to finish, then sleep a random fraction of the interval and
break one integration (chosen at random) in the emulator in a way the cheap checks see
(``--fault``):

- ``disconnect``: the Xero organisation is removed from the integration's connection (its grant
  no longer reaches the tenant: Xero answers 403 and ``GET /connections`` leaves it out);
- ``revoke``: the Xero grant (access and refresh token) is revoked;
- ``apikey``: the HubSpot private-app key is revoked.

The instant of the break is recorded, and the latency is the moment the fake Slack receives the
alert's ``chat.postMessage`` for that integration minus that instant. Then the world is
restored (the fault undone; for ``revoke`` the integration is reconnected, as an admin would),
and the repeat ends once the sweep has resolved the alert (its ``chat.update``), so the next
break opens a new alert.

Printed: each latency with where the break fell (seconds into its period); p50 / max; max / interval (the figure: at most 1.0 plus a sweep's own duration over the
interval, since an integration is checked once a sweep, anywhere in it); the sweeps' durations
(claim to finish, from ``job_claims``) and the tick lag (period due -> claimed: the scheduler
ticks every ``TICK_SECONDS``, so a sweep starts up to that late, the same lag every period).
Options: ``--interval 10s``, ``--repeats 5``, ``--integrations 10``, ``--latency-ms 50``,
``--fault``, ``--seed``.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from app import build
from config.env import load_settings
from config.integrations import parse_config
from config.schedules import MIN_INTERVAL_S, parse_interval
from providers import PROVIDERS
from sandbox.server import Sandbox
from sandbox.slack import Call, FakeSlack
from sandbox.tokens import Grant
from scheduling.runner import Scheduler
from service.container import Services
from store.models import JobClaim
from tests.scheduling import fleet

TOKEN = "xoxb-bench-alerts"
ALERTS = "C0ALERTS"
FAULTS = ("disconnect", "revoke", "apikey")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


@dataclass(frozen=True)
class Sweep:
    period_key: str
    due_at: datetime
    claimed_at: datetime
    finished_at: datetime

    @property
    def lag_s(self) -> float:
        return (self.claimed_at - self.due_at).total_seconds()

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.claimed_at).total_seconds()


class Alerts:
    """What the fake Slack receives in the alert channel, as it arrives (``Call.at``: monotonic)."""

    def __init__(self, fake: FakeSlack) -> None:
        self.cond = threading.Condition()
        self.opened: list[tuple[str, float]] = []  # (message text, arrived)
        self.updated: list[tuple[str, float]] = []
        fake.listeners.append(self.heard)

    def heard(self, call: Call) -> None:
        if call.params.get("channel") != ALERTS:
            return
        text = str(call.params.get("text") or "")
        with self.cond:
            if call.method == "chat.postMessage" and not call.params.get("thread_ts"):
                self.opened.append((text, call.at))
            elif call.method == "chat.update":
                self.updated.append((text, call.at))
            self.cond.notify_all()

    def wait(self, kind: str, integration: str, after: float, timeout: float) -> float:
        """When the first ``kind`` ("opened" / "updated") message of ``integration`` arrived after ``after``."""

        def found() -> float | None:
            for text, at in getattr(self, kind):
                if at >= after and text.startswith((f"{integration}:", f"{integration} ")):
                    return at
            return None

        with self.cond:
            if not self.cond.wait_for(lambda: found() is not None, timeout=timeout):
                raise SystemExit(f"no alert {kind} for {integration} within {timeout:.0f} s")
            at = found()
            assert at is not None
            return at


class Bench:
    def __init__(self, n: int, interval: int, latency_ms: int) -> None:
        self.n, self.interval = n, interval
        self.fake = FakeSlack(tokens=(TOKEN,)).start()
        self.alerts = Alerts(self.fake)
        self.sandbox = Sandbox(fleet.world(n, latency_ms=latency_ms)).start()
        tmp = tempfile.mkdtemp(prefix="bench-alerts-")
        settings = load_settings(
            {
                "DATABASE_URL": f"sqlite:///{tmp}/alerts.db",
                "SYNC_DOCTOR_SECRET_KEY": "bench-key",
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": "bench-signing-secret",
                "SLACK_API_URL": self.fake.api_url,
                # the fleet world's OAuth client: a refresh with the wrong one is invalid_client
                "XERO_CLIENT_ID": "xero-client",
                "XERO_CLIENT_SECRET": "xero-secret",
            }
        )
        overrides = {s: self.sandbox.overrides(s) for s in ("hubspot", "xero")}
        data = fleet.config(
            n, overrides, schedules={"sweep": {"every": f"{interval}s"}}, slack={"alert_channel": ALERTS}
        )
        self.services: Services = build(settings, parse_config(data, systems=PROVIDERS))
        fleet.connect(self.services, n)
        # each integration's live Xero refresh token (a revoked grant is replaced on restore)
        self.refresh = {i: f"rt-{fleet.name(i)}" for i in range(n)}
        self.scheduler = Scheduler(self.services)  # every job, as `worker` runs them

    @property
    def xero(self) -> Any:
        return self.sandbox.emulators["xero"]

    @property
    def hubspot(self) -> Any:
        return self.sandbox.emulators["hubspot"]

    def sweeps(self) -> list[Sweep]:
        """The sweeps finished so far, oldest first."""
        with self.services.sessions() as session:
            rows = session.scalars(
                select(JobClaim).where(JobClaim.job == "sweep", JobClaim.finished_at.is_not(None)).order_by(JobClaim.id)
            ).all()
        out = []
        for row in rows:
            assert row.finished_at is not None
            slot = int(row.period_key.split(":")[1])
            out.append(
                Sweep(
                    row.period_key,
                    datetime.fromtimestamp(slot * self.interval, UTC),
                    _utc(row.claimed_at),
                    _utc(row.finished_at),
                )
            )
        return out

    def wait_for_sweep(self, after: int, timeout: float) -> Sweep:
        """The first sweep finished beyond the ``after`` already seen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.sweeps()
            if len(done) > after:
                return done[after]
            time.sleep(0.05)
        raise SystemExit(f"no sweep finished within {timeout:.0f} s")

    def grant(self, i: int) -> Grant:
        grant = self.xero.tokens.find_refresh(self.refresh[i])
        if grant is None:  # the bot refreshed it (rotation): the bench lost track of it
            raise SystemExit(f"{fleet.name(i)}: its Xero grant was rotated; run fewer repeats or a shorter interval")
        return cast(Grant, grant)

    def break_(self, fault: str, i: int) -> None:
        if fault == "disconnect":
            self.grant(i).principal = []
        elif fault == "revoke":
            self.xero.tokens.revoke(self.grant(i).refresh_token)
        else:
            self.hubspot.api_keys[f"pat-na1-{fleet.name(i)}"]["revoked"] = True

    def restore(self, fault: str, i: int) -> None:
        if fault == "disconnect":
            self.grant(i).principal = [fleet.tenant(i)]
        elif fault == "revoke":
            # A revoked grant stays revoked: the admin reconnects, which mints a new one.
            fresh = f"{fleet.name(i)}-{time.monotonic_ns()}"
            grant = Grant(
                access_token=f"at-{fresh}",
                refresh_token=f"rt-{fresh}",
                expires_at=time.time() + 86400,
                scopes=tuple(fleet.XERO_SCOPES),
                principal=[fleet.tenant(i)],
            )
            self.xero.tokens.add(grant)
            self.refresh[i] = f"rt-{fresh}"
            self.services.connect.save_tokens(
                fleet.name(i),
                "destination",
                access_token=f"at-{fresh}",
                refresh_token=f"rt-{fresh}",
                expires_in=86400,
                tenant=fleet.tenant(i),
                scopes=tuple(fleet.XERO_SCOPES),
                actor="bench",
            )
        else:
            self.hubspot.api_keys[f"pat-na1-{fleet.name(i)}"]["revoked"] = False

    def close(self) -> None:
        self.scheduler.stop(60)
        self.services.close()
        self.sandbox.stop()
        self.fake.stop()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", default="10s", help="the sweep's `every:` (10s, 1m, ...; at least 10s)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--integrations", type=int, default=10)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--fault", choices=FAULTS, default="revoke")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    interval = parse_interval(args.interval)
    if interval is None or interval < MIN_INTERVAL_S:
        parser.error(
            f"--interval {args.interval!r}: give a duration such as 10s, 30s or 1m, at least {MIN_INTERVAL_S}s"
        )
    if args.repeats < 1 or args.integrations < 1:
        parser.error("--repeats and --integrations must be at least 1")
    rng = random.Random(args.seed)

    bench = Bench(args.integrations, interval, args.latency_ms)
    latencies: list[float] = []
    try:
        bench.scheduler.start()
        first = bench.wait_for_sweep(0, 3 * interval + 60)  # the clean sweep at start
        assert not bench.alerts.opened, f"the clean sweep alerted: {bench.alerts.opened}"
        print(
            f"{args.integrations} integrations, {args.latency_ms} ms per call, sweep every {interval} s, "
            f"fault {args.fault}; first (clean) sweep {first.duration_s:.2f} s"
        )
        print(f"{'#':>2} {'integration':>11} {'into period s':>13} {'latency s':>9} {'/ interval':>10}")
        for k in range(args.repeats):
            i = rng.randrange(args.integrations)
            name = fleet.name(i)
            time.sleep(rng.uniform(0, interval))
            bench.break_(args.fault, i)
            broke = time.monotonic()
            into = time.time() % interval
            alerted = bench.alerts.wait("opened", name, broke, 3 * interval + 120)
            latency = alerted - broke
            latencies.append(latency)
            print(f"{k + 1:>2} {name:>11} {into:>13.2f} {latency:>9.2f} {latency / interval:>10.2f}")
            bench.restore(args.fault, i)
            restored = time.monotonic()
            bench.alerts.wait("updated", name, restored, 3 * interval + 120)
        sweeps = bench.sweeps()[1:]
        print(
            f"latency: p50 {percentile(latencies, 50):.2f} s   max {max(latencies):.2f} s   (n={len(latencies)}); "
            f"max / interval {max(latencies) / interval:.2f}"
        )
        if sweeps:
            durations = [s.duration_s for s in sweeps]
            lags = [s.lag_s for s in sweeps]
            print(
                f"sweeps: {len(sweeps)}, duration p50 {percentile(durations, 50):.2f} s max {max(durations):.2f} s; "
                f"tick lag (period due -> claimed) p50 {percentile(lags, 50):.2f} s max {max(lags):.2f} s"
            )
            # Between two checks of one integration lies one interval, give or take where it fell in
            # each sweep (at most a sweep's duration); the tick lag is the same every period.
            target = 1 + max(durations) / interval
            print(
                f"target: max / interval <= 1 + sweep max / interval = {target:.2f}; "
                f"met: {max(latencies) / interval <= target}"
            )
    finally:
        bench.close()


if __name__ == "__main__":
    main()
