"""Fixing from Slack, end to end: a finding's button asks, the request posts to the approvals
channel with its plan, an admin approves (or denies, with a reason, in a modal), the action
runs once against the Xero emulator, and both messages and the thread follow it. Signed
requests to the running server, the fake Slack Web API, the emulators: all real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from bot.blocks.common import iter_text
from sandbox.slack import MESSAGE_BLOCKS, Posted, validate_blocks
from store.models import Action, AuditEvent
from tests.bot.conftest import Harness

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


def test_create_item_from_the_finding_button_then_resync_lands_the_invoice(
    make_harness: Callable[..., Harness],
) -> None:
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


def requested(h: Harness) -> tuple[list[dict[str, Any]], Posted]:
    """globex's answer, and the approval request its "Create item" button posted."""
    blocks = answer_blocks(h, "globex")
    return blocks, ask_from_finding(h, blocks, "Create item PROD-404")


def test_a_second_click_on_the_finding_asks_once(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack=SLACK)
    blocks, _ = requested(h)
    button = [b for b in blocks if b.get("type") == "actions" and "Create item" in text_of([b])]
    response, url = h.click(button, "sd:request", user="U0SOMEONE")
    assert response.status_code == 200
    assert "Already asked" in ephemeral_reply(h, url) and f"<#{APPROVALS}>" in ephemeral_reply(h, url)
    assert len(approval_posts(h)) == 1


def test_tampered_values_do_nothing_but_explain_and_are_audited(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack=SLACK)
    blocks, request = requested(h)
    button = [b for b in blocks if b.get("type") == "actions" and "Create item" in text_of([b])]
    real = button[0]["elements"][0]["value"]
    payload, signature = real.split(".")
    forged = {
        "an edited payload": ("x" + payload[1:]) + "." + signature,
        "made up": "eyJyIjoxLCJpIjowfQ.AAAAAAAAAAAAAAAAAAAAAA",
        "empty": "",
    }
    for what, value in forged.items():
        response, url = h.click(button, "sd:request", user=SUPPORT, value=value)
        assert response.status_code == 200, what
        assert "did not come from Sync Doctor as it is" in ephemeral_reply(h, url), what
    # an Approve value on the Deny button (each is bound to what its button does)
    approve_value = next(e["value"] for b in request.blocks if b["type"] == "actions" for e in b["elements"])
    _, url = h.click_posted(request, "sd:deny", user=ADMIN, value=approve_value)
    assert "did not come from Sync Doctor as it is" in ephemeral_reply(h, url)
    h.fake.wait_for(lambda: len(audited(h, "action.refused")) == 4)
    refused = audited(h, "action.refused")
    assert all(e.detail["by"] == "surface" and "tampered payload" in e.detail["message"] for e in refused)
    assert len(approval_posts(h)) == 1 and h.fake.opened == []
    assert h.services.actions.list("globex")[0].state == "requested"


def test_a_non_admin_click_is_refused_and_audited(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack=SLACK)
    _, request = requested(h)
    _, url = h.click_posted(request, "sd:approve", user="U0NOBODY")
    assert "only an admin may approve" in ephemeral_reply(h, url)
    h.fake.wait_for(lambda: len(audited(h, "action.refused")) == 1)
    assert audited(h, "action.refused")[0].detail["reason"] == "not_approver"
    assert h.services.actions.list("globex")[0].state == "requested"
    assert "Waiting for an admin" in text_of(request.blocks)


def test_an_admin_cannot_approve_their_own_request_unless_allowed(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack=SLACK)
    blocks = answer_blocks(h, "globex")
    request = ask_from_finding(h, blocks, "Create item PROD-404", user=ADMIN)
    _, url = h.click_posted(request, "sd:approve", user=ADMIN)
    assert "another admin must approve it" in ephemeral_reply(h, url)
    assert h.services.actions.list("globex")[0].state == "requested"

    allowed = make_harness(slack={**SLACK, "allow_self_approval": True})
    blocks = answer_blocks(allowed, "globex")
    request = ask_from_finding(allowed, blocks, "Create item PROD-404", user=ADMIN)
    allowed.click_posted(request, "sd:approve", user=ADMIN)
    allowed.fake.wait_for(lambda: any("Done" in text_of(m.blocks) for m in thread(allowed, request)), 30)


def test_a_user_group_member_approves_and_the_group_is_asked_once(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack=SLACK)
    h.fake.usergroups["S0ADMINS"] = [OTHER_ADMIN]
    _, request = requested(h)
    _, url = h.click_posted(request, "sd:approve", user="U0NOBODY")  # not in the group
    assert "only an admin may approve" in ephemeral_reply(h, url)
    h.click_posted(request, "sd:approve", user=OTHER_ADMIN)
    h.fake.wait_for(lambda: any("Done" in text_of(m.blocks) for m in thread(h, request)), 30)
    assert f"approved by <@{OTHER_ADMIN}>" in text_of(request.blocks)
    assert len(h.fake.calls_to("usergroups.users.list")) == 1  # the second click read the cache


def test_second_click_expired_and_finished_requests_explain(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack=SLACK)
    _, request = requested(h)
    h.click_posted(request, "sd:approve", user=ADMIN)
    h.fake.wait_for(lambda: any("Done" in text_of(m.blocks) for m in thread(h, request)), 30)
    # a stale copy of the message (its buttons) clicked again by another admin
    h.fake.usergroups["S0ADMINS"] = [OTHER_ADMIN]
    stale = Posted(request.channel, request.ts, "", approval_blocks_of(h, request))
    _, url = h.click_posted(stale, "sd:approve", user=OTHER_ADMIN)
    assert "already succeeded" in ephemeral_reply(h, url)
    _, url = h.click_posted(stale, "sd:deny", user=OTHER_ADMIN)
    assert "already succeeded" in ephemeral_reply(h, url) and h.fake.opened == []
    h.fake.wait_for(lambda: len(audited(h, "action.refused")) == 2)
    assert {e.detail["reason"] for e in audited(h, "action.refused")} == {"already_decided"}


def approval_blocks_of(h: Harness, request: Posted) -> list[dict[str, Any]]:
    """The blocks the approval message was first posted with (its buttons)."""
    first = next(c for c in h.fake.calls_to("chat.postMessage") if c.params.get("channel") == APPROVALS)
    blocks: list[dict[str, Any]] = json_field(first.params["blocks"])
    return blocks


def json_field(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def test_an_expired_request_explains(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack=SLACK)
    _, request = requested(h)
    with h.services.sessions.begin() as session:  # asked 25 hours ago (slack.approval_ttl_hours: 24)
        session.execute(update(Action).values(expires_at=datetime.now(UTC) - timedelta(hours=1)))
    _, url = h.click_posted(request, "sd:approve", user=ADMIN)
    assert "this request expired" in ephemeral_reply(h, url)
    assert h.services.actions.list("globex")[0].state == "expired"
    assert [e.detail["reason"] for e in audited(h, "action.refused")] == ["expired"]


def test_two_admins_approving_at_the_same_instant_run_it_once(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack=SLACK)
    h.fake.usergroups["S0ADMINS"] = [OTHER_ADMIN]
    _, request = requested(h)
    xero = h.sandbox.emulators["xero"]
    before = xero.requests["PUT /api.xro/2.0/Items"] + xero.requests["POST /api.xro/2.0/Items"]
    go = threading.Barrier(2)
    urls: list[str] = []

    def click(user: str) -> None:
        go.wait()
        urls.append(h.click_posted(request, "sd:approve", user=user)[1])

    clicks = [threading.Thread(target=click, args=(u,)) for u in (ADMIN, OTHER_ADMIN)]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()
    h.fake.wait_for(lambda: any("Done" in text_of(m.blocks) for m in thread(h, request)), 30)
    h.fake.wait_for(lambda: any(h.fake.response(u).posts for u in urls))
    # the loser alone hears, ephemerally, that it was decided a moment ago
    answers = [text_of(h.fake.response(u).posts[-1]["blocks"]) for u in urls if h.fake.response(u).posts]
    assert len(answers) == 1 and "already" in answers[0]
    after = xero.requests["PUT /api.xro/2.0/Items"] + xero.requests["POST /api.xro/2.0/Items"]
    assert after - before == 1  # one item written
    assert len([m for m in thread(h, request) if "Done" in text_of(m.blocks)]) == 1
    assert len(audited(h, "action.approved")) == 1 and len(audited(h, "action.running")) == 1


def test_deny_asks_why_in_a_modal_and_both_messages_say_so(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack=SLACK)
    _, request = requested(h)
    response, _ = h.click_posted(request, "sd:deny", user=ADMIN)
    assert response.status_code == 200
    h.fake.wait_for(lambda: h.fake.opened)
    modal = h.fake.opened[0]
    assert modal["callback_id"] == "sd:deny" and "Create item PROD-404" in text_of(modal["blocks"])
    # no reason: the modal says so and stays open
    empty = h.submit_view(modal, user=ADMIN, values={"reason": {"reason_text": "  "}})
    assert empty.status_code == 200 and empty.json()["response_action"] == "errors"
    # a tampered form
    forged = h.submit_view(
        {**modal, "private_metadata": "x" + modal["private_metadata"]},
        user=ADMIN,
        values={"reason": {"reason_text": "no"}},
    )
    assert forged.json()["response_action"] == "errors"
    done = h.submit_view(modal, user=ADMIN, values={"reason": {"reason_text": "We fix items by hand this month"}})
    assert done.status_code == 200 and not done.content  # closes the modal
    h.fake.wait_for(lambda: "Denied" in text_of(request.blocks) and thread(h, request))
    assert "We fix items by hand this month" in text_of(request.blocks)
    assert not any(b["type"] == "actions" for b in request.blocks)
    assert "We fix items by hand this month" in text_of(thread(h, request)[-1].blocks)
    h.fake.wait_for(lambda: "Denied" in text_of(h.fake.dm_messages(SUPPORT)[0].blocks))
    [denied] = audited(h, "action.denied")
    assert denied.actor == ADMIN and denied.detail["note"] == "We fix items by hand this month"
    assert h.services.actions.list("globex")[0].state == "denied"


def test_a_non_admin_deny_click_opens_no_modal(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack={**SLACK, "admins": [ADMIN]})
    _, request = requested(h)
    _, url = h.click_posted(request, "sd:deny", user="U0NOBODY")
    assert "only an admin may deny" in ephemeral_reply(h, url)
    assert h.fake.opened == [] and h.services.actions.list("globex")[0].state == "requested"
    # the requester may withdraw their own request
    _, url = h.click_posted(request, "sd:deny", user=SUPPORT)
    h.fake.wait_for(lambda: h.fake.opened)
    h.submit_view(h.fake.opened[0], user=SUPPORT, values={"reason": {"reason_text": "asked by mistake"}})
    h.fake.wait_for(lambda: "withdrawn by" in text_of(request.blocks))


def test_slash_resync_posts_the_plan_or_says_what_blocks_it(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack=SLACK)
    response, url = h.command("globex resync INV-2001")
    assert response.status_code == 200 and "Planning a re-sync of 1 invoice" in text_of(response.json()["blocks"])
    answer = h.final_response(url)
    assert answer["replace_original"] is True
    assert "Not requested" in text_of(answer["blocks"]) and "PROD-404" in text_of(answer["blocks"])
    assert approval_posts(h) == []
    response, url = h.command("globex resync INV-2000 INV-2000")
    answer = h.final_response(url)
    assert "Asked for approval" in text_of(answer["blocks"])
    [request] = approval_posts(h)
    assert "INV-2000" in text_of(request.blocks) and "already there" in text_of(request.blocks)
    assert "asked more than once" in text_of(request.blocks)
    h.fake.wait_for(lambda: h.fake.dm_messages(SUPPORT))  # the requester's editable message
    response, url = h.command("globex resync INV-9999")
    assert "no invoice numbered INV-9999" in text_of(h.final_response(url)["blocks"])


def test_slash_audit_lists_requests_decisions_and_refusals(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack=SLACK)
    _, request = requested(h)
    _, url = h.click_posted(request, "sd:approve", user="U0NOBODY")
    ephemeral_reply(h, url)
    response, url = h.command("globex audit")
    assert response.status_code == 200
    body = text_of(h.final_response(url)["blocks"])
    assert "Audit trail: globex" in body and "action.refused" in body and "<@U0NOBODY>" in body
    assert "only an admin may approve" in body
