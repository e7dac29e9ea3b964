"""The OAuth consent round trip through the server, from a link Sync Doctor issued: the link
opens the provider's consent once, the state it starts works once, a consent that reached
another organisation is refused with the stored connection kept, and every bad link gets the
same answer. Xero is the emulator's, over real HTTP; pages never echo a token."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
from sqlalchemy import update

from store import repositories as repo
from store.connections import decode
from store.models import AuditEvent, OAuthConsent
from tests.bot.conftest import Harness
from tests.bot.world import ACME_TENANT


def open_link(link: str, h: Harness) -> httpx.Response:
    """What the admin's browser does with the link (the server is on loopback, not the public URL)."""
    parts = urlparse(link)
    return httpx.get(f"{h.url}{parts.path}?{parts.query}")


def consent_state(start: httpx.Response) -> str:
    return parse_qs(urlparse(start.headers["location"]).query)["state"][0]


def stored(h: Harness, name: str = "acme", side: str = "destination") -> tuple[str | None, str | None, object]:
    with h.services.sessions() as session:
        row = repo.connections_for(session, name)[side]
        creds = decode(row, h.services.vault)
        return creds.access_token, row.tenant_id, row.updated_at


def test_a_link_opens_the_consent_once_and_its_state_stores_the_connection(
    make_harness: Callable[..., Harness],
    database_url: str,
) -> None:
    h = make_harness(database_url=database_url)
    link = h.services.consent.issue_link("acme", "destination", issued_to="U0ADMIN")
    assert link.startswith("http://localhost:") and "/oauth/xero/start?link=" in link

    start = open_link(link, h)
    assert start.status_code == 302
    consent = urlparse(start.headers["location"])
    assert consent.geturl().startswith(h.sandbox.url("xero") + "/authorize")
    query = parse_qs(consent.query)
    assert query["client_id"] == ["xero-client"] and query["redirect_uri"][0].endswith("/oauth/xero/callback")
    assert query["code_challenge_method"] == ["S256"]
    state = consent_state(start)

    again = open_link(link, h)  # the link is spent
    assert again.status_code == 404 and "not valid" in again.text

    # the user approves; Xero redirects back with a code
    done = httpx.get(f"{h.url}/oauth/xero/callback", params={"code": "code-acme", "state": state})
    assert done.status_code == 200, done.text
    assert "Xero" in done.text and "is now connected as the destination of acme" in done.text
    assert "at-" not in done.text and "rt-" not in done.text and state not in done.text
    token, tenant, saved_at = stored(h)
    assert token not in (None, "at-acme") and tenant == ACME_TENANT  # the consent's new tokens
    assert not h.services.checks.run("acme").failing  # and they work

    # the same redirect again (a replayed callback): refused, nothing stored
    replay = httpx.get(f"{h.url}/oauth/xero/callback", params={"code": "code-acme", "state": state})
    assert replay.status_code == 400 and "not valid" in replay.text
    assert stored(h)[2] == saved_at
    with h.services.sessions() as session:
        events = [e.event for e in session.query(AuditEvent).filter(AuditEvent.event.like("oauth.%"))]
        assert events == ["oauth.link_issued", "oauth.link_opened"]
        issued_to = session.query(OAuthConsent.issued_to).scalar()
        assert issued_to == "U0ADMIN"


def test_every_bad_start_gets_the_same_answer(make_harness: Callable[..., Harness], database_url: str) -> None:
    """No enumeration: the old unsigned form, unknown integrations and systems, forged,
    expired and used links all answer the same status and page."""
    h = make_harness(database_url=database_url)
    used = h.services.consent.issue_link("acme", "destination", issued_to="U0ADMIN")
    assert open_link(used, h).status_code == 302
    expired = h.services.consent.issue_link("globex", "destination", issued_to="U0ADMIN")
    with h.services.sessions.begin() as session:  # issued 16 minutes ago
        session.execute(
            update(OAuthConsent)
            .where(OAuthConsent.integration == "globex")
            .values(link_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    good = h.services.consent.issue_link("initech", "destination", issued_to="U0ADMIN")
    token = parse_qs(urlparse(good).query)["link"][0]
    secret, _, signature = token.partition(".")
    attempts: dict[str, tuple[str, dict[str, str]]] = {
        "unsigned, known name": ("/oauth/xero/start", {"integration": "acme", "side": "destination"}),
        "unsigned, unknown name": ("/oauth/xero/start", {"integration": "nope", "side": "destination"}),
        "unknown system": ("/oauth/sage/start", {"link": token}),
        "another system's path": ("/oauth/hubspot/start", {"link": token}),
        "forged signature": ("/oauth/xero/start", {"link": f"{secret}.{'A' * len(signature)}"}),
        "signature of another link": ("/oauth/xero/start", {"link": f"{'x' * len(secret)}.{signature}"}),
        "no link": ("/oauth/xero/start", {}),
        "used": (urlparse(used).path, {"link": parse_qs(urlparse(used).query)["link"][0]}),
        "expired": (urlparse(expired).path, {"link": parse_qs(urlparse(expired).query)["link"][0]}),
    }
    answers = {what: httpx.get(f"{h.url}{path}", params=params) for what, (path, params) in attempts.items()}
    first = answers["unsigned, known name"]
    assert first.status_code == 404 and "not valid" in first.text
    for what, answer in answers.items():
        assert (answer.status_code, answer.text) == (first.status_code, first.text), what
    # none of those spent the good link
    assert open_link(good, h).status_code == 302


def test_a_consent_reaching_another_organisation_is_refused_and_the_connection_kept(
    make_harness: Callable[..., Harness],
    database_url: str,
) -> None:
    h = make_harness(database_url=database_url)
    before = stored(h)
    link = h.services.consent.issue_link("acme", "destination", issued_to="U0ADMIN")
    state = consent_state(open_link(link, h))
    # On Xero's screen the user picked Globex, not Acme Ltd
    done = httpx.get(f"{h.url}/oauth/xero/callback", params={"code": "code-globex", "state": state})
    assert done.status_code == 409
    assert "another organisation" in done.text and "Globex" in done.text
    assert "the stored connection of acme&#x27;s destination is kept" in done.text
    assert "Acme Ltd" in done.text  # what to choose instead
    assert stored(h) == before  # token, tenant, even the update time: untouched
    assert not h.services.checks.run("acme").failing
    with h.services.sessions() as session:
        refused = session.query(AuditEvent).filter(AuditEvent.event == "oauth.wrong_organisation").one()
        assert json.dumps(refused.detail).count(ACME_TENANT) == 1


def test_callback_errors_are_plain_pages(make_harness: Callable[..., Harness], database_url: str) -> None:
    h = make_harness(database_url=database_url)
    denied = httpx.get(f"{h.url}/oauth/xero/callback", params={"error": "access_denied", "state": "x"})
    assert denied.status_code == 400 and "refused consent" in denied.text
    forged = httpx.get(f"{h.url}/oauth/xero/callback", params={"code": "code-acme", "state": "forged"})
    assert forged.status_code == 400 and "not valid" in forged.text
    missing = httpx.get(f"{h.url}/oauth/xero/callback", params={"code": "code-acme"})
    assert (missing.status_code, missing.text) == (forged.status_code, forged.text)


def test_a_refused_code_says_so_without_the_code(make_harness: Callable[..., Harness], database_url: str) -> None:
    h = make_harness(database_url=database_url)
    link = h.services.consent.issue_link("acme", "destination", issued_to="U0ADMIN")
    state = consent_state(open_link(link, h))
    bad = httpx.get(f"{h.url}/oauth/xero/callback", params={"code": "code-unknown-123", "state": state})
    assert bad.status_code == 400 and "refused the code" in bad.text
    assert "code-unknown-123" not in bad.text


def test_a_denied_consent_spends_its_state(make_harness: Callable[..., Harness], database_url: str) -> None:
    h = make_harness(database_url=database_url)
    link = h.services.consent.issue_link("acme", "destination", issued_to="U0ADMIN")
    state = consent_state(open_link(link, h))
    denied = httpx.get(f"{h.url}/oauth/xero/callback", params={"error": "access_denied", "state": state})
    assert denied.status_code == 400
    late = httpx.get(f"{h.url}/oauth/xero/callback", params={"code": "code-acme", "state": state})
    assert late.status_code == 400 and "not valid" in late.text


def test_a_state_older_than_15_minutes_is_refused(make_harness: Callable[..., Harness], database_url: str) -> None:
    h = make_harness(database_url=database_url)
    link = h.services.consent.issue_link("acme", "destination", issued_to="U0ADMIN")
    state = consent_state(open_link(link, h))
    with h.services.sessions.begin() as session:  # the consent screen was left open too long
        session.execute(update(OAuthConsent).values(state_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    late = httpx.get(f"{h.url}/oauth/xero/callback", params={"code": "code-acme", "state": state})
    assert late.status_code == 400 and "not valid" in late.text
