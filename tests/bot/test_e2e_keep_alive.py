"""Token keep-alive over the emulators (Xero's token endpoint on loopback) and the fake Slack:
an idle connection is refreshed before its 60-day limit, through the provider's refresh path
(rotated token stored encrypted, audited), and only when due; a refused refresh is alerted at
once and once; nothing secret reaches the logs or the report. Tokens are aged with freezegun."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

import app as sync_doctor
from config.env import load_settings
from config.integrations import parse_config
from sandbox.server import Sandbox
from sandbox.slack import FakeSlack
from scheduling.jobs import JOBS
from scheduling.runner import Scheduler
from service.container import Services
from service.keep_alive import SAFE_SHARE, keep_alive
from store import actions_repo
from store import repositories as repo
from store.connections import decode
from store.models import Connection
from tests.bot.conftest import BOT_TOKEN
from tests.bot.world import GLOBEX_TENANT, XERO_SCOPES, connect_all, integrations_config


@pytest.fixture
def services(tmp_path: Path, database_url: str, fake_slack: FakeSlack, sandbox: Sandbox) -> Iterator[Services]:
    settings = load_settings(
        {
            "DATABASE_URL": database_url,
            "SYNC_DOCTOR_SECRET_KEY": "test-secret-key",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": fake_slack.api_url,
            "XERO_CLIENT_ID": "xero-client",
            "XERO_CLIENT_SECRET": "xero-secret",
        }
    )
    overrides = {system: sandbox.overrides(system) for system in ("hubspot", "xero")}
    built = sync_doctor.build(settings, parse_config(integrations_config(overrides)))
    connect_all(built)
    yield built
    built.close()


def age_globex_tokens(services: Services, days: int) -> None:
    """Globex's Xero tokens as stored ``days`` ago, unused since."""
    with freeze_time(datetime.now(UTC) - timedelta(days=days)):
        services.connect.save_tokens(
            "globex",
            "destination",
            access_token="at-globex",
            refresh_token="rt-globex",
            expires_in=1800,
            tenant=GLOBEX_TENANT,
            scopes=tuple(XERO_SCOPES),
            actor="test",
        )


def globex_row(services: Services) -> Connection:
    with services.sessions() as session:
        return repo.connections_for(session, "globex")["destination"]


def test_an_idle_xero_connection_is_refreshed_before_its_60_days(services: Services, sandbox: Sandbox) -> None:
    assert SAFE_SHARE * 60 < 40 < 60
    age_globex_tokens(services, 40)
    book = sandbox.emulators["xero"].tokens
    report = keep_alive(services, now=datetime.now(UTC))
    assert [(c.integration, c.side, c.system) for c in report.refreshed] == [("globex", "destination", "xero")]
    assert report.not_due == 2  # acme's and initech's Xero tokens are fresh; HubSpot uses keys
    assert (report.refused, report.failed, report.expiring) == ([], [], [])
    assert book.refresh_calls == 1

    row = globex_row(services)
    creds = decode(row, services.vault)
    assert creds.refresh_token and creds.refresh_token != "rt-globex"  # rotated, and kept
    assert creds.refresh_token.encode() not in row.secret  # stored encrypted
    assert creds.refresh_issued_at is not None and datetime.now(UTC) - creds.refresh_issued_at < timedelta(minutes=5)
    with services.sessions() as session:
        assert [e.detail for e in actions_repo.audit_for(session, "globex") if e.event == "token.refreshed"] == [
            {"side": "destination"}
        ]

    # done: the next keep-alive finds nothing due and calls nobody
    again = keep_alive(services, now=datetime.now(UTC))
    assert again.refreshed == [] and again.not_due == 3 and book.refresh_calls == 1


def test_a_connection_not_yet_due_is_left_alone(services: Services, sandbox: Sandbox) -> None:
    age_globex_tokens(services, 20)  # a third of Xero's 60 days
    report = keep_alive(services, now=datetime.now(UTC))
    assert report.refreshed == [] and report.not_due == 3
    assert sandbox.emulators["xero"].tokens.refresh_calls == 0


def test_a_refused_refresh_is_alerted_at_once_and_once(
    services: Services, sandbox: Sandbox, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    age_globex_tokens(services, 45)
    assert sandbox.emulators["xero"].tokens.revoke("rt-globex")  # the organisation disconnected the app
    report = keep_alive(services, now=datetime.now(UTC))
    [refused] = report.refused
    assert (refused.integration, refused.side, refused.system) == ("globex", "destination", "xero")
    assert refused.detail.startswith("invalid_grant")
    assert len(report.checked) == 1  # the cheap checks ran, stored, for the alert rules
    assert services.notifier.flush(30)
    [alert] = fake_slack.channel_messages("C0GLOBEX", top_level=True)
    assert alert.text.startswith("globex started failing")
    assert globex_row(services).state == "requires_reauth"

    # the next keep-alive leaves a connection waiting for consent alone; a sweep repeats nothing
    later = keep_alive(services, now=datetime.now(UTC) + timedelta(days=1))
    assert later.refused == [] and later.checked == []
    services.checks.run("globex", trigger="schedule", checks=[c for c in services.checks.checks if c.cheap])
    assert services.notifier.flush(30)
    assert len(fake_slack.channel_messages("C0GLOBEX", top_level=True)) == 1

    logged = "\n".join(r.getMessage() for r in caplog.records) + "\n".join(report.lines())
    assert "keep-alive" in logged
    for secret in ("rt-globex", "at-globex", "xero-secret", "test-secret-key"):
        assert secret not in logged


def test_the_scheduler_keeps_tokens_alive_once_a_period(services: Services, sandbox: Sandbox) -> None:
    age_globex_tokens(services, 40)
    keep_alive_job = [job for job in JOBS if job.name == "keep_alive"]
    Scheduler(services, keep_alive_job).run_due(120)
    Scheduler(services, keep_alive_job).run_due(120)  # another replica, the same day: claimed already
    assert sandbox.emulators["xero"].tokens.refresh_calls == 1
    assert decode(globex_row(services), services.vault).refresh_token != "rt-globex"
