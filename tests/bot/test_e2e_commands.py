"""/sync-check end to end: signed requests to the running server, answers read back from the
fake Slack Web API, providers served by the emulators, all over real HTTP on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from bot.blocks.common import iter_text
from sandbox.slack import MESSAGE_BLOCKS, validate_blocks
from tests.bot.conftest import SIGNING_SECRET, Harness
from tests.bot.world import MANY


def text_of(payload: dict[str, Any]) -> str:
    return "\n".join(iter_text(payload.get("blocks") or [])) + "\n" + str(payload.get("text", ""))


def assert_valid(payload: dict[str, Any]) -> None:
    assert payload.get("text"), "text is always sent with blocks"
    assert validate_blocks(payload.get("blocks") or [], MESSAGE_BLOCKS) == []


def test_healthy_integration(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    response, url = h.command("acme")
    assert response.status_code == 200
    ack = response.json()
    assert ack["response_type"] == "in_channel"
    assert "Checking *acme* (HubSpot → Xero)" in text_of(ack)
    answer = h.final_response(url)
    assert answer["replace_original"] is True and answer["response_type"] == "in_channel"
    assert_valid(answer)
    assert answer["text"] == "acme: all checks passed"
    assert "All checks passed" in text_of(answer)
    assert h.fake.rejected == []
    assert h.fake.calls_to("chat.postMessage") == []  # healthy: no alert


def test_failing_integration_shows_the_finding_with_evidence(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    response, url = h.command("globex")
    assert response.status_code == 200
    answer = h.final_response(url)
    assert_valid(answer)
    body = text_of(answer)
    # INV-2001 is blocked by the missing item and missing in Xero: one invoice, counted once
    assert answer["text"] == "globex: 2 fail, 0 warn; 1 invoice blocked"
    assert "Item (SKU) missing in the destination" in body and "`PROD-404`" in body
    assert "INV-2001" in body and "NZD 40.00" in body
    assert "suggestions: `PROD-001`" in body
    # each finding that proposes a fix has its button (tests/bot/test_e2e_approvals.py clicks them)
    buttons = [e["text"]["text"] for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["Create item PROD-404 in Xero", "Re-sync INV-2001 to Xero"]
    assert h.fake.rejected == []


def test_trace_one_invoice(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    response, url = h.command("globex invoice INV-2001")
    assert response.status_code == 200
    assert "Tracing invoice `INV-2001` through *globex*" in text_of(response.json())
    answer = h.final_response(url)
    assert_valid(answer)
    body = text_of(answer)
    assert answer["text"].startswith("globex invoice INV-2001: INV-2001 is not in Xero because")
    assert ":white_check_mark: *Found in HubSpot*" in body and ":x: *In Xero*" in body


def test_unknown_integration_suggests_close_names_without_running(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    response, url = h.command("acmee")
    assert response.status_code == 200
    ack = response.json()
    assert ack["response_type"] == "ephemeral"
    assert ack["text"] == "No integration named acmee. Did you mean acme?"
    assert_valid(ack)
    # Once the listener has returned, any run it started would be in the pool or done.
    h.listeners.wait_for(1)
    assert h.bot.pool.active == 0
    assert h.fake.response(url).posts == [] and h.runs == []


def test_help_and_malformed_commands_answer_with_usage(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    help_ack = h.command("")[0].json()
    assert "`/sync-check NAME invoice NUMBER`" in text_of(help_ack)
    assert "`acme`, `globex`, `initech`" in text_of(help_ack)
    response, _ = h.command("acme invoice")
    body = text_of(response.json())
    assert "I did not understand `acme invoice`: an invoice number is missing after 'invoice'." in body
    assert "`/sync-check list`" in body
    assert h.runs == []


def test_list_answers_through_the_response_url(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    h.services.checks.run("globex")
    response, url = h.command("list")
    assert response.status_code == 200
    answer = h.final_response(url)
    assert_valid(answer)
    body = text_of(answer)
    assert ":red_circle: *globex*" in body and "2 fail, 0 warn" in body
    assert ":white_circle: *acme*" in body and "checked never" in body


def test_allow_lists_refuse_with_an_ephemeral_explanation(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(slack={"allowed_users": ["U0SUPPORT"], "allowed_channels": ["C0SUPPORT"]})
    refused_user = h.command("acme", user="U0STRANGER")[0].json()
    assert refused_user["response_type"] == "ephemeral"
    assert "U0STRANGER" in refused_user["text"] and "slack.allowed_users" in refused_user["text"]
    refused_channel = h.command("acme", channel="C0RANDOM", channel_name="random")[0].json()
    assert "#random" in refused_channel["text"] and "slack.allowed_channels" in refused_channel["text"]
    _, url = h.command("acme")
    assert h.final_response(url)["text"] == "acme: all checks passed"
    assert h.services.notifier.flush(30)  # runs are announced to listeners after the answer
    assert [r.integration for r in h.runs] == ["acme"]


def test_signature_is_verified(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    body, url = h.command_body("acme")
    assert h.post(body, "application/x-www-form-urlencoded", secret="not-the-secret").status_code == 401
    assert h.post(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64).status_code == 401
    stale = int(time.time()) - 6 * 60
    assert h.post(body, "application/x-www-form-urlencoded", timestamp=stale, secret=SIGNING_SECRET).status_code == 401
    tampered = body.replace("text=acme", "text=globex")
    ts = int(time.time())
    from slack_sdk.signature import SignatureVerifier

    sig = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=str(ts), body=body)
    assert h.post(tampered, "application/x-www-form-urlencoded", timestamp=ts, signature=sig).status_code == 401
    # A refused request is answered 401 before any listener is dispatched, so it started
    # nothing: the signed request that follows is the only run.
    _, signed_url = h.command("acme")
    assert h.final_response(signed_url)["text"] == "acme: all checks passed"
    # The notifier hears of the run off the answer's path: wait for it before counting runs.
    assert h.run_done.wait(30)
    assert [r.integration for r in h.runs] == ["acme"] and h.fake.response(url).posts == []


def test_ack_comes_before_a_slow_run_finishes(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    hubspot = h.sandbox.emulators["hubspot"]
    hubspot.faults.latency_ms = 5000  # every HubSpot answer takes 5 s
    response, url = h.command("acme")
    # the HTTP ack is back while the run is still waiting on HubSpot
    assert response.status_code == 200
    assert not h.run_done.is_set()
    assert h.fake.response(url).posts == []
    assert "Checking *acme*" in text_of(response.json())
    # keep the test short: once the first HubSpot requests are in flight (each held 5 s),
    # later ones answer at once
    deadline = time.monotonic() + 30
    while not hubspot.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    hubspot.faults.latency_ms = 0
    assert h.run_done.wait(60)
    answer = h.final_response(url)
    assert answer["replace_original"] is True
    assert answer["text"] == "acme: all checks passed"
    assert h.runs[0].duration_s >= 5  # the run really did wait on the slow provider


def test_a_crash_in_the_run_still_ends_in_a_message_with_a_ref(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    # the database disappears under the running bot: the run itself cannot even start
    h.services.engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        h.db_path.with_name(h.db_path.name + suffix).unlink(missing_ok=True)
    h.db_path.mkdir()  # a directory where the file was: SQLite cannot open it
    response, url = h.command("acme")
    assert response.status_code == 200 and "Checking *acme*" in text_of(response.json())
    answer = h.final_response(url)
    assert_valid(answer)
    assert answer["replace_original"] is True
    assert "internal error" in answer["text"]
    ref = answer["text"].split("(ref ")[1].rstrip(").")
    assert len(ref) == 8 and f"`{ref}`" in text_of(answer)


def test_a_long_answer_goes_to_a_thread(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    h.fake.rate_limit["chat.postMessage"] = 1  # one 429 on the way: retried after Retry-After
    response, url = h.command("initech", channel="C0SUPPORT")
    assert response.status_code == 200
    fake = h.fake
    fake.wait_for(lambda: fake.response(url).deleted)
    [main] = fake.channel_messages("C0SUPPORT", top_level=True)
    replies = fake.channel_messages("C0SUPPORT", thread_ts=main.ts)
    assert replies, "overflow goes to thread replies"
    assert main.text.startswith("initech: ") and " fail" in main.text
    everything = "\n".join("\n".join(iter_text(m.blocks)) for m in [main, *replies])
    for i in range(MANY):
        assert everything.count(f"* · `PART-{i:03}`") == 1
    assert all(validate_blocks(m.blocks, MESSAGE_BLOCKS) == [] for m in [main, *replies])
    assert [r for r in fake.rejected if r[0] != "chat.postMessage" or r[1] is not None] == []


def test_a_long_ephemeral_answer_uses_the_response_url_pages(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(initech_slack={"channel": "C0INITECH", "ephemeral": True})
    response, url = h.command("initech")
    assert response.json()["response_type"] == "ephemeral"
    entry = h.fake.response(url)
    assert h.run_done.wait(30)
    assert h.bot.pool.drain(30)  # the answer has been posted, every page of it
    assert len(entry.posts) >= 2
    assert entry.posts[0]["replace_original"] is True
    assert all(
        p["response_type"] == "ephemeral" and p["replace_original"] is (i == 0) for i, p in enumerate(entry.posts)
    )
    assert len(entry.posts) <= 5
    assert h.fake.channel_messages("C0SUPPORT") == []  # nothing posted in the channel itself


def test_healthz(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    report = httpx.get(f"{h.url}/healthz").json()
    assert report["status"] == "ok" and report["database"] == "ok"
    assert report["integrations"] == 3 and report["mode"] == "http"
    assert json.dumps(report).count("xoxb") == 0


def test_a_second_command_during_a_run_shares_its_answer(make_harness: Callable[..., Harness]) -> None:
    h = make_harness()
    hubspot = h.sandbox.emulators["hubspot"]
    hubspot.faults.latency_ms = 1000  # keeps the first run busy while the retry arrives
    _, first = h.command("acme")
    _, second = h.command("acme", user="U0OTHER")
    hubspot.faults.latency_ms = 0
    answers = [h.final_response(first), h.final_response(second)]
    assert [a["text"] for a in answers] == ["acme: all checks passed"] * 2
    assert all(a["replace_original"] is True for a in answers)
    assert h.services.notifier.flush(30)
    assert len(h.runs) == 1  # one run, two answers: the tenant's API quota spent once
