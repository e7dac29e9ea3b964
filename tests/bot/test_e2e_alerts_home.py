"""Change alerts and App Home end to end: opened once, not repeated, edited when the cause is
fixed (here: someone creates the missing item in Xero through Xero's API), for Slack and
non-Slack runs alike, posted off the answer's path (a held Slack delays alerts, never the
answer) and before a CLI check exits; the Home tab published on open and after each run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import httpx
import yaml

import app as sync_doctor
from bot.blocks.common import iter_text
from config.env import load_settings
from config.integrations import parse_config
from reports.alerts import AlertService
from sandbox.server import Sandbox
from sandbox.slack import VIEW_BLOCKS, FakeSlack, validate_blocks
from store import alerts_repo
from tests.bot.conftest import BOT_TOKEN, Harness
from tests.bot.world import GLOBEX_TENANT, connect_all, integrations_config

REPO = Path(__file__).resolve().parents[2]


def create_item_in_xero(h: Harness, code: str) -> None:
    """What a Globex bookkeeper would do: add the item in Xero (through Xero's API)."""
    url = h.sandbox.url("xero") + "/api.xro/2.0/Items"
    response = httpx.put(
        url,
        json={"Items": [{"Code": code, "Name": "Gadget"}]},
        headers={"Authorization": "Bearer at-globex", "Xero-tenant-id": GLOBEX_TENANT, "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text


def push_invoice_to_xero(h: Harness) -> None:
    """The re-sync: INV-2001 created in Globex's Xero (through Xero's API)."""
    invoice = {
        "InvoiceNumber": "INV-2001",
        "Type": "ACCREC",
        "Contact": {"Name": "Ada Lovelace"},
        "Date": (date.today() - timedelta(days=4)).isoformat(),
        "DueDate": (date.today() + timedelta(days=10)).isoformat(),
        "Status": "AUTHORISED",
        "CurrencyCode": "NZD",
        "LineAmountTypes": "Exclusive",
        "LineItems": [
            {
                "Description": "Gadget",
                "Quantity": 1,
                "UnitAmount": 40,
                "ItemCode": "PROD-404",
                "AccountCode": "200",
                "TaxType": "NONE",
            }
        ],
    }
    response = httpx.put(
        h.sandbox.url("xero") + "/api.xro/2.0/Invoices",
        json={"Invoices": [invoice]},
        headers={"Authorization": "Bearer at-globex", "Xero-tenant-id": GLOBEX_TENANT, "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text


def alerts_in(h: Harness, channel: str) -> list[str]:
    return [m.text for m in h.fake.channel_messages(channel, top_level=True)]


OPENED = [
    "globex started failing: Item (SKU) missing in the destination",
    "globex started failing: Invoices in the source are missing in the destination",
]


def test_alert_opened_once_not_repeated_and_edited_when_cleared(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    _, url = h.command("globex")
    h.final_response(url)
    h.fake.wait_for(lambda: len(alerts_in(h, "C0GLOBEX")) == 2)
    assert sorted(alerts_in(h, "C0GLOBEX")) == sorted(OPENED)
    sku_alert = next(m for m in h.fake.channel_messages("C0GLOBEX") if "Item (SKU)" in m.text)
    body = "\n".join(iter_text(sku_alert.blocks))
    assert "`PROD-404`" in body and "Blocks 1 invoice (NZD 40.00)" in body

    # still failing, on a run nobody asked for in Slack (CLI / schedule): nothing new
    h.services.checks.run("globex", trigger="schedule")
    _, url = h.command("globex")
    h.final_response(url)
    assert h.services.notifier.flush(30)
    assert sorted(alerts_in(h, "C0GLOBEX")) == sorted(OPENED)
    assert h.fake.calls_to("chat.update") == []

    # the item is created in Xero: that alert clears, the invoice is still missing
    create_item_in_xero(h, "PROD-404")
    result = h.services.checks.run("globex", trigger="cli")
    assert h.services.notifier.flush(30)
    assert ("sku.missing", "PROD-404") in result.resolved
    assert sku_alert.edits == 1 and "resolved" in sku_alert.text
    assert "*resolved*" in "\n".join(iter_text(sku_alert.blocks))
    [reply] = h.fake.channel_messages("C0GLOBEX", thread_ts=sku_alert.ts)
    assert f"Cleared by run `{result.ref}`" in "\n".join(iter_text(reply.blocks))
    assert len(h.fake.calls_to("chat.update")) == 1

    # the invoice is re-synced: the other alert clears too, and nothing is posted anew
    push_invoice_to_xero(h)
    result = h.services.checks.run("globex", trigger="cli")
    assert h.services.notifier.flush(30)
    assert not result.failing, [f.code for f in result.findings]
    assert len(h.fake.calls_to("chat.update")) == 2
    assert sorted(alerts_in(h, "C0GLOBEX")) == sorted(m.replace(" started failing:", ":") + " resolved" for m in OPENED)
    with h.services.sessions() as session:
        rows = alerts_repo.alerts_for(session, "globex")
    assert len(rows) == 2
    assert all(row.channel == "C0GLOBEX" and row.message_ts and row.resolved_at is not None for row in rows)
    assert h.fake.rejected == []


def test_alerts_are_registered_once_for_the_whole_process(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()  # the composition root's services, and the bot built on them
    assert sum(isinstance(listener, AlertService) for listener in h.services.notifier.listeners) == 1


def test_the_answer_does_not_wait_for_alert_posts(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    held = h.fake.hold("chat.postMessage", channel="C0GLOBEX")  # Slack slow to take the alerts
    _, url = h.command("globex")
    assert held.arrived.wait(30)  # an alert post is in flight, and stays there...
    answer = h.final_response(url)  # ...while the user gets the answer
    assert answer["text"].startswith("globex: ") and " fail" in answer["text"]
    assert alerts_in(h, "C0GLOBEX") == [] and not held.released.is_set()
    held.release()
    h.fake.wait_for(lambda: len(alerts_in(h, "C0GLOBEX")) == 2)
    assert sorted(alerts_in(h, "C0GLOBEX")) == sorted(OPENED)


def test_a_cli_check_posts_its_alerts_before_it_exits(tmp_path: Path, fake_slack: FakeSlack, sandbox: Sandbox) -> None:
    overrides = {system: sandbox.overrides(system) for system in ("hubspot", "xero")}
    config_path = tmp_path / "sync-doctor.yml"
    config_path.write_text(yaml.safe_dump(integrations_config(overrides)), encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "SYNC_DOCTOR_SECRET_KEY": "test-secret-key",
        "SYNC_DOCTOR_CONFIG": str(config_path),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake_slack.api_url,
    }
    services = sync_doctor.build(load_settings(env), parse_config(integrations_config(overrides)))
    connect_all(services)
    services.close()
    done = subprocess.run(
        [sys.executable, "app.py", "check", "globex"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("globex: ")
    posted = [m.text for m in fake_slack.channel_messages("C0GLOBEX", top_level=True)]
    assert sorted(posted) == sorted(OPENED)


def test_healthy_runs_post_no_alert(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    h.services.checks.run("acme")
    assert h.services.notifier.flush(30)
    assert h.fake.calls_to("chat.postMessage") == []


def test_app_home_published_on_open_and_after_each_run(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    response = h.event(
        {
            "type": "app_home_opened",
            "user": "U0SUPPORT",
            "channel": "D0SUPPORT",
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
    )
    assert response.status_code == 200
    h.fake.wait_for(lambda: h.fake.views.get("U0SUPPORT"))
    [first] = h.fake.views["U0SUPPORT"]
    assert validate_blocks(first["blocks"], VIEW_BLOCKS) == []
    text = "\n".join(iter_text(first["blocks"]))
    for name in ("acme", "globex", "initech"):
        assert f"*{name}* · HubSpot → Xero" in text
    assert "checked never" in text

    _, url = h.command("globex")
    h.final_response(url)
    h.fake.wait_for(lambda: len(h.fake.views["U0SUPPORT"]) >= 2)
    latest = "\n".join(iter_text(h.fake.views["U0SUPPORT"][-1]["blocks"]))
    assert ":red_circle: *globex*" in latest and "2 fail" in latest and "1 invoice blocked (NZD 40.00)" in latest


def test_app_home_refuses_users_outside_the_allow_list(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack={"allowed_users": ["U0SUPPORT"]})
    h.event({"type": "app_home_opened", "user": "U0STRANGER", "channel": "D0X", "tab": "home", "event_ts": "1.0"})
    h.fake.wait_for(lambda: h.fake.views.get("U0STRANGER"))
    view = json.dumps(h.fake.views["U0STRANGER"][-1])
    assert "allowed_users" in view and "globex" not in view
    # An allowed user opens the tab after the stranger: a refresh after a run publishes to the
    # users it remembers in the order they came, so once this user's refresh has arrived, a
    # stranger's (had they been remembered) would have arrived before it.
    h.event({"type": "app_home_opened", "user": "U0SUPPORT", "channel": "D0S", "tab": "home", "event_ts": "2.0"})
    h.fake.wait_for(lambda: h.fake.views.get("U0SUPPORT"))
    h.services.checks.run("globex")
    assert h.services.notifier.flush(30)  # the tab heard of the run
    h.fake.wait_for(lambda: len(h.fake.views["U0SUPPORT"]) >= 2)  # and refreshed the allowed user's
    assert len(h.fake.views["U0STRANGER"]) == 1  # not remembered: no refresh after runs
