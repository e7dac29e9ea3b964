"""An alert's Snooze buttons, clicked through the running bot (signed request, Bolt, the fake
Slack over loopback HTTP): the alert message is redrawn ("Snoozed until … by @user"), the
snooze is stored and audited, the clicker told; a snoozed alert still clears when the cause is
fixed; a tampered button value is refused and audited."""

from __future__ import annotations

from collections.abc import Callable

from bot.blocks.common import iter_text
from sandbox.slack import MESSAGE_BLOCKS, Posted, validate_blocks
from store import actions_repo, alerts_repo
from tests.bot.conftest import Harness
from tests.bot.test_e2e_alerts_home import create_item_in_xero


def sku_alert(h: Harness) -> Posted:
    h.services.checks.run("globex", trigger="schedule")
    assert h.services.notifier.flush(30)
    return next(m for m in h.fake.channel_messages("C0GLOBEX", top_level=True) if "Item (SKU)" in m.text)


def told(h: Harness, url: str) -> str:
    entry = h.fake.response(url)
    h.fake.wait_for(lambda: entry.posts, 20)
    return "\n".join(iter_text(entry.posts[0]["blocks"]))


def test_snooze_click_redraws_the_alert_and_is_audited(make_harness: Callable[..., Harness], database_url: str) -> None:
    h = make_harness(database_url)
    alert = sku_alert(h)
    assert validate_blocks(alert.blocks, MESSAGE_BLOCKS) == []
    labels = [e["text"]["text"] for b in alert.blocks if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Snooze 1 hour", "Snooze 1 day", "Snooze 1 week"]

    response, url = h.click_posted(alert, "sd:snooze:1", user="U0SUPPORT")  # 1 day
    assert response.status_code == 200
    assert "Snoozed until" in told(h, url)
    h.fake.wait_for(lambda: alert.edits == 1)
    body = "\n".join(iter_text(alert.blocks))
    assert "Snoozed until " in body and "by <@U0SUPPORT>" in body
    assert validate_blocks(alert.blocks, MESSAGE_BLOCKS) == []
    with h.services.sessions() as session:
        row = next(r for r in alerts_repo.alerts_for(session, "globex") if r.code == "sku.missing")
        assert row.snoozed_by == "U0SUPPORT" and row.snoozed_until is not None
        [event] = [e for e in actions_repo.audit_for(session, "globex") if e.event == "alert.snoozed"]
        assert event.actor == "U0SUPPORT" and event.detail["alert"] == row.id

    # snoozed, it still clears when the item is created in Xero: the message is edited
    create_item_in_xero(h, "PROD-404")
    h.services.checks.run("globex", trigger="schedule")
    assert h.services.notifier.flush(30)
    assert alert.edits == 2 and "resolved" in alert.text
    assert not any(b["type"] == "actions" for b in alert.blocks)  # resolved: nothing left to snooze
    assert h.fake.rejected == []


def test_a_tampered_snooze_value_is_refused(make_harness: Callable[..., Harness], database_url: str) -> None:
    h = make_harness(database_url)
    alert = sku_alert(h)
    _, url = h.click_posted(alert, "sd:snooze:2", user="U0SUPPORT", value="eyJhbCI6MSwiaCI6OTk5fQ.forged")
    assert "did not come from Sync Doctor" in told(h, url)
    with h.services.sessions() as session:
        row = next(r for r in alerts_repo.alerts_for(session, "globex") if r.code == "sku.missing")
        assert row.snoozed_until is None
        refusals = [e for e in actions_repo.audit_for(session) if "tampered" in str(e.detail)]
        assert refusals
    assert alert.edits == 0
