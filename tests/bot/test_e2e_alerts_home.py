"""Change alerts and App Home end to end: opened once, not repeated, edited when the cause is
fixed (here: someone creates the missing item in Xero through Xero's API), for Slack and
non-Slack runs alike; the Home tab published on open and after each run."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date, timedelta

import httpx

from bot.blocks.common import iter_text
from store import alerts_repo
from tests.bot.conftest import Harness
from tests.bot.world import GLOBEX_TENANT
from tests.fakes.slack_api import VIEW_BLOCKS, validate_blocks


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
    assert sorted(alerts_in(h, "C0GLOBEX")) == sorted(OPENED)
    assert h.fake.calls_to("chat.update") == []

    # the item is created in Xero: that alert clears, the invoice is still missing
    create_item_in_xero(h, "PROD-404")
    result = h.services.checks.run("globex", trigger="cli")
    assert ("sku.missing", "PROD-404") in result.resolved
    assert sku_alert.edits == 1 and "resolved" in sku_alert.text
    assert "*resolved*" in "\n".join(iter_text(sku_alert.blocks))
    [reply] = h.fake.channel_messages("C0GLOBEX", thread_ts=sku_alert.ts)
    assert f"Cleared by run `{result.ref}`" in "\n".join(iter_text(reply.blocks))
    assert len(h.fake.calls_to("chat.update")) == 1

    # the invoice is re-synced: the other alert clears too, and nothing is posted anew
    push_invoice_to_xero(h)
    result = h.services.checks.run("globex", trigger="cli")
    assert not result.failing, [f.code for f in result.findings]
    assert len(h.fake.calls_to("chat.update")) == 2
    assert sorted(alerts_in(h, "C0GLOBEX")) == sorted(m.replace(" started failing:", ":") + " resolved" for m in OPENED)
    with h.services.sessions() as session:
        rows = alerts_repo.alerts_for(session, "globex")
    assert len(rows) == 2
    assert all(row.channel == "C0GLOBEX" and row.message_ts and row.resolved_at is not None for row in rows)
    assert h.fake.rejected == []


def test_healthy_runs_post_no_alert(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    h.services.checks.run("acme")
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
    h.fake.wait_for(lambda: len(h.fake.views["U0SUPPORT"]) >= 2)
    assert len(h.fake.views["U0STRANGER"]) == 1  # not remembered: no refresh after runs
