"""Slash-command ack latency and time to the full answer: ``python bench/bench_slack_ack.py``.

Everything runs for real on loopback: the bot's ASGI app under uvicorn, the HubSpot and Xero
emulators (the bot tests' world: ``acme`` healthy, ``globex`` with a missing item) and the
fake Slack Web API. Sends 200 signed ``/sync-check`` commands from 10 concurrent clients and
prints, per scenario, the HTTP ack latency (p50 / p99 / max: Slack's limit is 3 s) and the
time from sending the command to the answer arriving at its ``response_url`` (p50 / p99 /
max). Scenarios: one command at a time (the answer time of a lone command), then 10
clients with providers answering at once, and with HubSpot answering each request after
``--slow-ms`` (default 500): the ack must not move while the answer does. The providers'
client-side rate limiters are lifted (see ``run_scenario``): with the vendors' real quotas
two tenants cannot serve 200 runs in a few seconds, whatever the bot does. Figures, not
pass/fail. Options: ``--commands N``, ``--clients N``, ``--slow-ms MS``. The database is a
fresh SQLite file; ``BENCH_DATABASE_URL`` (a throwaway PostgreSQL database) measures on that
instead: every accepted request is written to ``seen_requests`` (replay protection), so the
database is on the ack's path.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from slack_sdk.signature import SignatureVerifier

import app as sync_doctor
from bot.server import make_asgi_app
from bot.slack_app import create_app
from config.env import load_settings
from config.integrations import parse_config
from providers.http import reset_limiters
from sandbox.server import LoopbackServer, Sandbox
from sandbox.slack import FakeSlack
from tests.bot.world import build_world, connect_all, integrations_config

TOKEN, SECRET = "xoxb-bench-token", "bench-signing-secret"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def figures(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{label:<28} p50 {percentile(ms, 50):8.1f} ms   p99 {percentile(ms, 99):8.1f} ms   "
        f"max {max(ms):8.1f} ms   (n={len(ms)})"
    )


def run_scenario(name: str, commands: int, clients: int, slow_ms: int) -> None:
    reset_limiters()
    fake = FakeSlack(tokens=(TOKEN,)).start()
    world = build_world()
    # The Xero emulator enforces Xero's 60 calls a minute per organisation (429 + Retry-After):
    # lifted too, for the same reason as the client-side limiters below.
    world["xero"]["minute_limit"] = 1_000_000
    sandbox = Sandbox(world).start()
    tmp = tempfile.mkdtemp(prefix="bench-slack-")
    settings = load_settings(
        {
            "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db",
            "SYNC_DOCTOR_SECRET_KEY": "bench",
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
        }
    )
    # The client-side limiters pace each portal / organisation to the vendors' real limits
    # (HubSpot: 100 requests per 10 s), which 200 runs against two tenants would hit within
    # seconds: lifted here so the figures are the bot's own, not the vendors' quotas.
    unlimited = {"limits": {"per_minute": 1_000_000, "app_per_minute": 1_000_000, "concurrent": 100}}
    overrides = {s: {**sandbox.overrides(s), **unlimited} for s in ("hubspot", "xero")}
    # no per-integration channel: the bench measures commands, not alert posts
    config = parse_config(integrations_config(overrides, acme_slack={}, globex_slack={}, initech_slack={}))
    services = sync_doctor.build(settings, config)
    connect_all(services)
    bot = create_app(services)
    server = LoopbackServer(make_asgi_app(services, bot)).start()
    sandbox.emulators["hubspot"].faults.latency_ms = slow_ms
    verifier = SignatureVerifier(SECRET)
    client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=clients))
    sent: dict[str, float] = {}
    acks: list[float] = []
    failures = 0

    def one(i: int) -> None:
        nonlocal failures
        url = fake.new_response_url()
        # different integrations: commands for one integration while it runs share that run
        text = ("acme", "globex", "initech")[i % 3]
        body = (
            f"token=x&team_id=T0TEST&channel_id=C0BENCH&channel_name=bench&user_id=U{i:05d}"
            f"&command=%2Fsync-check&text={text}&api_app_id=A0&response_url={url}&trigger_id=1.2.3"
        )
        ts = str(int(time.time()))
        signature = verifier.generate_signature(timestamp=ts, body=body)
        assert signature is not None  # None only without a timestamp or body
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        }
        t0 = time.monotonic()
        sent[url.rsplit("/", 1)[1]] = t0
        response = client.post(f"{server.url}/slack/events", content=body, headers=headers)
        acks.append(time.monotonic() - t0)
        if response.status_code != 200:
            failures += 1

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(one, range(commands)))
        fake.wait_for(lambda: all(fake.response_urls[k].posts for k in sent), timeout=600)
        answered = {c.url_id: c.at for c in fake.calls_to("response_url") if c.url_id in sent}
        totals = [answered[k] - t for k, t in sent.items() if k in answered]
        wall = time.monotonic() - started
        print(f"\n{name}  ({commands} commands, {clients} concurrent clients, HubSpot latency {slow_ms} ms)")
        print(figures("ack (HTTP 200)", acks))
        print(figures("command -> answer posted", totals))
        print(
            f"{'acks over 3 s':<28} {sum(1 for a in acks if a > 3)}   non-200: {failures}   "
            f"wall {wall:.1f} s   answers {len(totals)}"
        )
    finally:
        client.close()
        server.stop()
        bot.shutdown(30)
        services.close()
        sandbox.stop()
        fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--slow-ms", type=int, default=500)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    run_scenario("one at a time", max(args.commands // 10, 5), 1, 0)
    run_scenario("fast providers", args.commands, args.clients, 0)
    run_scenario("slow HubSpot", args.commands, args.clients, args.slow_ms)


if __name__ == "__main__":
    main()
