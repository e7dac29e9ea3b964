"""Fixing from Slack, end to end: a finding's button asks, the request posts to the approvals
channel with its plan, an admin approves (or denies, with a reason, in a modal), the action
runs once against the Xero emulator, and both messages and the thread follow it. Signed
requests to the running server, the fake Slack Web API, the emulators: all real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.blocks.common import iter_text
from store.models import AuditEvent
from tests.bot.conftest import Harness
from tests.fakes.slack_api import MESSAGE_BLOCKS, Posted, validate_blocks

APPROVALS = "C0APPROVALS"
ADMIN, OTHER_ADMIN, SUPPORT = "U0ADMIN", "U0ADMIN2", "U0SUPPORT"
SLACK = {"admins": [ADMIN, "S0ADMINS"], "approvals_channel": APPROVALS}


def text_of(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(iter_text(blocks))


def answer_blocks(h: Harness, name: str) -> list[dict[str, Any]]:
    """Run ``/sync-check name`` and return the answer's blocks."""
    response, url = h.command(name)
    assert response.status_code == 200
    answer = h.final_response(url)
    assert validate_blocks(answer["blocks"], MESSAGE_BLOCKS) == []
    blocks: list[dict[str, Any]] = answer["blocks"]
    return blocks


def approval_posts(h: Harness) -> list[Posted]:
    return h.fake.channel_messages(APPROVALS, top_level=True)


def ask_from_finding(h: Harness, blocks: list[dict[str, Any]], label: str, user: str = SUPPORT) -> Posted:
    """Click the finding button labelled ``label``; the approval request it posts."""
    button_blocks = [b for b in blocks if b.get("type") == "actions" and label in text_of([b])]
    assert button_blocks, f"no button {label!r}"
    before = len(approval_posts(h))
    response, url = h.click(button_blocks, "sd:request", user=user)
    assert response.status_code == 200
    h.fake.wait_for(lambda: len(approval_posts(h)) > before and h.fake.response(url).posts)
    return approval_posts(h)[-1]


def ephemeral_reply(h: Harness, url: str) -> str:
    entry = h.fake.response(url)
    h.fake.wait_for(lambda: entry.posts)
    post = entry.posts[-1]
    assert post["response_type"] == "ephemeral" and post["replace_original"] is False
    return text_of(post["blocks"])


def thread(h: Harness, message: Posted) -> list[Posted]:
    return h.fake.channel_messages(message.channel, thread_ts=message.ts)


def audited(h: Harness, event: str) -> list[AuditEvent]:
    with h.services.sessions() as session:
        return list(session.query(AuditEvent).filter(AuditEvent.event == event).order_by(AuditEvent.id))


def test_create_item_from_the_finding_button_then_resync_lands_the_invoice(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack=SLACK)
    blocks = answer_blocks(h, "globex")
    labels = [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Create item PROD-404 in Xero", "Re-sync INV-2001 to Xero"]

    request = ask_from_finding(h, blocks, "Create item PROD-404")
    body = text_of(request.blocks)
    assert "Approval needed: Create item PROD-404 in Xero" in body and "`PROD-404`" in body and "Gadget" in body
    assert f"asked by <@{SUPPORT}>" in body and "from `sku.missing`" in body
    assert validate_blocks(request.blocks, MESSAGE_BLOCKS) == []
    # the requester hears by DM (the result was an in-channel answer Slack posted, not one the bot can edit)
    h.fake.wait_for(lambda: h.fake.dm_messages(SUPPORT))
    assert "Waiting for an admin" in text_of(h.fake.dm_messages(SUPPORT)[0].blocks)

    response, _ = h.click_posted(request, "sd:approve", user=ADMIN)
    assert response.status_code == 200
    h.fake.wait_for(lambda: any("Done" in text_of(m.blocks) for m in thread(h, request)), 30)
    assert "Done" in text_of(request.blocks) and not any(b["type"] == "actions" for b in request.blocks)
    assert "written" in text_of(request.blocks)
    outcome = text_of(thread(h, request)[-1].blocks)
    assert "The finding `sku.missing` cleared" in outcome
    h.fake.wait_for(lambda: "Done" in text_of(h.fake.dm_messages(SUPPORT)[0].blocks))

    # the item is there now: the invoice's re-sync plans and lands
    blocks = answer_blocks(h, "globex")
    request = ask_from_finding(h, blocks, "Re-sync INV-2001")
    body = text_of(request.blocks)
    assert "*INV-2001*" in body and "NZD 40.00" in body and "`PROD-404`" in body and "1 x" in body
    assert "contact: Ada Lovelace" in body and "account" in body and "tax" in body
    h.click_posted(request, "sd:approve", user=ADMIN)
    h.fake.wait_for(lambda: any("Done" in text_of(m.blocks) for m in thread(h, request)), 30)
    assert "The finding `sync.unsynced` cleared" in text_of(thread(h, request)[-1].blocks)
    assert not h.services.checks.run("globex").failing
    # the only refusals: replies under answers Slack posted itself (the fake knows no ts for them)
    assert {error for _, error in h.fake.rejected} == {"thread_not_found"}
