"""Re-authorising from Slack, in a real browser: acme's Xero refresh token is dead, so the
check proposes a re-authorisation; the button asks, an admin approves, the bot DMs them the
consent link; headless Chromium (Debian's, driven by Playwright) opens it on the Xero
emulator's consent screen. Choosing another organisation is refused with the old connection
kept; choosing the configured one stores the new tokens, re-runs the checks and says so in the
request's thread."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from store import repositories as repo
from store.connections import decode
from tests.bot.conftest import Harness
from tests.bot.test_e2e_approvals import ADMIN, SLACK, answer_blocks, ask_from_finding, text_of, thread
from tests.bot.world import ACME_TENANT, XERO_SCOPES

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = os.environ.get("SYNC_DOCTOR_SCREENSHOTS")  # a directory to keep the screenshots in


@pytest.fixture
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium chromium-driver` (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def stored_token(h: Harness) -> str | None:
    with h.services.sessions() as session:
        return decode(repo.connections_for(session, "acme")["destination"], h.services.vault).access_token


def consent_link(h: Harness) -> tuple[str, Any]:
    """Ask from the finding's button, approve as an admin; the link the admin gets by DM."""
    before = len(h.fake.dm_messages(ADMIN))
    request = ask_from_finding(h, answer_blocks(h, "acme"), "Send re-authorise link")
    assert "Send re-authorise link for Xero (destination)" in text_of(request.blocks)
    h.click_posted(request, "sd:approve", user=ADMIN)
    h.fake.wait_for(lambda: len(h.fake.dm_messages(ADMIN)) > before, 30)
    dm = h.fake.dm_messages(ADMIN)[-1]
    assert "It works once, for 15 minutes" in text_of(dm.blocks)
    [button] = [e for b in dm.blocks if b["type"] == "actions" for e in b["elements"]]
    h.fake.wait_for(lambda: any("Consent link sent to" in text_of(m.blocks) for m in thread(h, request)))
    return str(button["url"]), request


def test_reauthorise_through_the_consent_screen(
    make_harness: Callable[..., Harness], browser: Any, tmp_path: Path
) -> None:
    h = make_harness(public_url=True, slack=SLACK)
    h.services.connect.save_tokens(
        "acme",
        "destination",
        access_token="at-dead",
        refresh_token="rt-dead",
        expires_in=-60,
        tenant=ACME_TENANT,
        scopes=tuple(XERO_SCOPES),
        actor="test",
    )
    shots = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    page = browser.new_page()

    # 1. the admin picks the wrong organisation: refused, the old connection kept
    link, _ = consent_link(h)
    page.goto(link)
    assert "wants access to your organisation" in page.inner_text("#ask")
    assert "offline_access" in page.inner_text("#scopes").split()  # what Sync Doctor asks for
    page.screenshot(path=str(shots / "consent-screen.png"))
    page.select_option("#organisation", label="Globex")
    with page.expect_navigation():
        page.click("#allow")
    assert page.url.startswith(h.url + "/oauth/xero/callback?")
    assert "another organisation" in page.inner_text("h1")
    assert "the stored connection of acme's destination is kept" in page.inner_text("body")
    assert "Acme Ltd" in page.inner_text("body")
    page.screenshot(path=str(shots / "wrong-organisation.png"))
    assert stored_token(h) == "at-dead"

    # 2. asked again; the configured organisation this time
    link, request = consent_link(h)
    page.goto(link)
    page.select_option("#organisation", label="Acme Ltd")
    with page.expect_navigation():
        page.click("#allow")
    assert page.inner_text("h1") == "Connected"
    assert "is now connected as the destination of acme" in page.inner_text("body")
    page.screenshot(path=str(shots / "connected.png"))
    assert stored_token(h) not in (None, "at-dead")
    # the checks re-run with the new tokens, and the request's thread says so
    h.fake.wait_for(lambda: any("connected again" in text_of(m.blocks) for m in thread(h, request)), 30)
    confirmation = next(m for m in thread(h, request) if "connected again" in text_of(m.blocks))
    assert "Xero is connected again as the destination of *acme*; checks re-run: all pass" in text_of(
        confirmation.blocks
    )
    assert "at-" not in page.content() and "rt-" not in page.content()
