"""Approval click to first push: ``python bench/bench_approval_latency.py``.

Everything runs for real on loopback: the bot's ASGI app under uvicorn, the HubSpot and Xero
emulators answering every API call after ``--latency-ms`` (default 100), and the fake Slack
Web API. The bot tests' world gets ``--requests`` extra HubSpot invoices for ``globex``, each
selling an item Xero has, none of them in Xero: each is a one-invoice re-sync that pushes.

For each invoice: ``/sync-check globex resync INV-x`` (signed) posts the approval request
(planned from fresh data, not timed); then the admin's signed Approve click is sent, and the
time from sending it to the Xero emulator receiving the invoice's ``PUT Invoices`` is
measured (the emulator parks that request with a ``Hold`` and the bench reads the moment it
arrived, then lets it through). The path measured: the HTTP ack, the listener handing off, the
approver check, the conditional UPDATE that approves, the run's claim, marking the step
``sending``, the lookup by number in Xero (one call: ``--latency-ms``), the attempt counted,
the PUT leaving. Prints p50 / p99 / max; figures, not pass/fail. Options: ``--requests N``,
``--latency-ms MS``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

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
from tests.bot.world import _hubspot_invoice, build_world, connect_all, integrations_config

TOKEN, SECRET = "xoxb-bench-token", "bench-signing-secret"
ADMIN, REQUESTER, APPROVALS = "U0ADMIN", "U0SUPPORT", "C0APPROVALS"
PUSH = ("PUT", "/api.xro/2.0/Invoices")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


class Bench:
    def __init__(self, requests: int, latency_ms: int) -> None:
        reset_limiters()
        self.fake = FakeSlack(tokens=(TOKEN,)).start()
        world = build_world()
        world["xero"]["minute_limit"] = 1_000_000  # many runs in a minute: the bot's figure, not Xero's quota
        portal = world["hubspot"]["portals"]["4712"]
        self.numbers = [f"INV-5{i:03}" for i in range(requests)]
        portal["invoices"] += [_hubspot_invoice(str(600 + i), n, 2) for i, n in enumerate(self.numbers)]
        self.sandbox = Sandbox(world).start()
        for system in ("hubspot", "xero"):
            self.sandbox.emulators[system].faults.latency_ms = latency_ms
        tmp = tempfile.mkdtemp(prefix="bench-approval-")
        settings = load_settings(
            {
                "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                "SYNC_DOCTOR_SECRET_KEY": "bench",
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": self.fake.api_url,
            }
        )
        unlimited = {"limits": {"per_minute": 1_000_000, "app_per_minute": 1_000_000, "concurrent": 100}}
        overrides = {s: {**self.sandbox.overrides(s), **unlimited} for s in ("hubspot", "xero")}
        spec = integrations_config(overrides, slack={"admins": [ADMIN], "approvals_channel": APPROVALS})
        self.services = sync_doctor.build(settings, parse_config(spec))
        connect_all(self.services)
        self.bot = create_app(self.services)
        self.server = LoopbackServer(make_asgi_app(self.services, self.bot)).start()
        self.verifier = SignatureVerifier(SECRET)
        self.client = httpx.Client(timeout=30)

    def post(self, body: str) -> None:
        ts = str(int(time.time()))
        signature = self.verifier.generate_signature(timestamp=ts, body=body)
        assert signature is not None
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        }
        response = self.client.post(f"{self.server.url}/slack/events", content=body, headers=headers)
        response.raise_for_status()

    def request(self, number: str) -> Any:
        """Ask for the re-sync by slash command; the approval message it posts."""
        before = len(self.fake.channel_messages(APPROVALS, top_level=True))
        body = (
            f"token=x&team_id=T0TEST&channel_id=C0SUPPORT&channel_name=support&user_id={REQUESTER}"
            f"&command=%2Fsync-check&text=globex+resync+{number}&api_app_id=A0"
            f"&response_url={quote(self.fake.new_response_url())}&trigger_id=1.2.3"
        )
        self.post(body)
        self.fake.wait_for(lambda: len(self.fake.channel_messages(APPROVALS, top_level=True)) > before, 60)
        return self.fake.channel_messages(APPROVALS, top_level=True)[-1]

    def approve(self, message: Any) -> float:
        """Click Approve; seconds until Xero receives the PUT."""
        button = next(
            e
            for b in message.blocks
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"].startswith("sd:approve")
        )
        payload = {
            "type": "block_actions",
            "user": {"id": ADMIN},
            "team": {"id": "T0TEST"},
            "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel},
            "trigger_id": self.fake.new_trigger(),
            "response_url": self.fake.new_response_url(),
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "value": button["value"],
                    "action_ts": str(time.time()),
                }
            ],
        }
        hold = self.sandbox.emulators["xero"].hold(*PUSH)
        started = time.monotonic()
        self.post("payload=" + quote(json.dumps(payload)))
        if not hold.arrived.wait(60):
            raise RuntimeError("the approved re-sync never reached Xero")
        elapsed = time.monotonic() - started
        hold.release()
        hold.done.wait(30)
        return elapsed

    def close(self) -> None:
        self.bot.desk.messages.drain()
        self.server.stop()
        self.bot.shutdown(10)
        self.services.close()
        self.sandbox.stop()
        self.fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--latency-ms", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    bench = Bench(args.requests, args.latency_ms)
    times: list[float] = []
    try:
        for number in bench.numbers:
            times.append(bench.approve(bench.request(number)))
        ms = [t * 1000 for t in times]
        print(
            f"approval click -> first push (emulators at {args.latency_ms} ms a call): "
            f"p50 {percentile(ms, 50):.0f} ms   p99 {percentile(ms, 99):.0f} ms   max {max(ms):.0f} ms   (n={len(ms)})"
        )
    finally:
        bench.close()


if __name__ == "__main__":
    main()
