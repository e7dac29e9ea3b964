"""Alert decisions and persistence (reports/alerts.py) with a recording publisher and a real
database: opened once, quiet while failing, a reply when impact grows, resolved when cleared,
and not resolved by a run that could not look."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from checks.findings import Severity
from config.integrations import parse_config
from reports.alerts import AlertNotice, AlertService, alertable, cleared
from store import alerts_repo
from tests.bot.builders import blocked, finding, result

CONFIG = parse_config(
    {
        "slack": {"alert_channel": "C0OPS"},
        "integrations": {
            "acme": {
                "source": {"system": "hubspot"},
                "destination": {"system": "xero"},
                "slack": {"channel": "C0ACME"},
            },
            "globex": {"source": {"system": "hubspot"}, "destination": {"system": "xero"}},
        },
    }
)


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, AlertNotice, str | None]] = []
        self.fail_next = 0
        self.n = 0

    def opened(self, notice: AlertNotice) -> tuple[str, str]:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("channel_not_found")
        self.n += 1
        self.events.append(("opened", notice, None))
        return notice.channel.replace("#", "C"), f"1.{self.n}"

    def grew(self, notice: AlertNotice, message_ts: str) -> None:
        self.events.append(("grew", notice, message_ts))

    def resolved(self, notice: AlertNotice, message_ts: str) -> None:
        self.events.append(("resolved", notice, message_ts))

    def kinds(self) -> list[tuple[str, str]]:
        return [(kind, n.code) for kind, n, _ in self.events]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def service(sessions: sessionmaker[Session], recorder: Recorder) -> AlertService:
    return AlertService(CONFIG, sessions, recorder)


def rows(sessions: sessionmaker[Session], integration: str = "acme") -> list[Any]:
    with sessions() as session:
        return alerts_repo.alerts_for(session, integration)


SKU = finding("sku.missing", "PROD-404", impact=blocked(("INV-1", "NZD", "40")))


def test_opened_once_then_quiet_then_resolved(
    service: AlertService, recorder: Recorder, sessions: sessionmaker[Session]
) -> None:
    first = service.on_run(result([SKU]))
    assert first.opened == ["sku.missing"]
    [row] = rows(sessions)
    assert (row.channel, row.message_ts, row.resolved_at) == ("C0ACME", "1.1", None)
    assert row.detail["blocked"] == 1 and row.detail["subjects"] == ["PROD-404"]

    again = service.on_run(result([replace(SKU, status="ongoing")]))
    assert (again.opened, again.grew, again.resolved) == ([], [], [])

    done = service.on_run(result([], resolved=(("sku.missing", "PROD-404"),)))
    assert done.resolved == ["sku.missing"]
    assert recorder.kinds() == [("opened", "sku.missing"), ("resolved", "sku.missing")]
    _, notice, ts = recorder.events[-1]
    assert ts == "1.1" and notice.resolved_at is not None and notice.title.startswith("Item (SKU) missing")
    [row] = rows(sessions)
    assert row.resolved_at is not None

    # failing again after it cleared is a new alert
    assert service.on_run(result([SKU])).opened == ["sku.missing"]
    assert len(rows(sessions)) == 2


def test_impact_growth_gets_one_thread_reply(
    service: AlertService, recorder: Recorder, sessions: sessionmaker[Session]
) -> None:
    service.on_run(result([SKU]))
    bigger = replace(SKU, impact=blocked(("INV-1", "NZD", "40"), ("INV-2", "NZD", "60")), status="ongoing")
    assert service.on_run(result([bigger])).grew == ["sku.missing"]
    assert service.on_run(result([bigger])).grew == []  # same size: nothing
    assert service.on_run(result([SKU])).grew == []  # smaller: nothing
    kind, notice, ts = recorder.events[1]
    assert (kind, notice.blocked_invoices, notice.previous_blocked, ts) == ("grew", 2, 1, "1.1")


def test_warnings_do_not_alert_except_a_dying_token(service: AlertService, recorder: Recorder) -> None:
    warn = finding("contact.missing_email", "Ada", Severity.WARN)
    expiring = finding("token.expiring", "xero", Severity.WARN)
    outcome = service.on_run(result([warn, expiring]))
    assert outcome.opened == ["token.expiring"]
    assert set(alertable([warn, expiring])) == {"token.expiring"}


def test_a_run_stopped_by_a_revoked_token_does_not_resolve_other_alerts(
    service: AlertService, recorder: Recorder, sessions: sessionmaker[Session]
) -> None:
    service.on_run(result([SKU]))
    revoked = finding("token.revoked", "xero", evidence={"message": "revoked"})
    blind = result([revoked])
    assert not cleared("sku.missing", blind)
    outcome = service.on_run(blind)
    assert outcome.opened == ["token.revoked"] and outcome.resolved == []
    # reconnected: the token alert clears (its family is resolved whenever absent) and,
    # the run being conclusive, so does the SKU alert, though the previous run never saw it
    outcome = service.on_run(result([]))
    assert sorted(outcome.resolved) == ["sku.missing", "token.revoked"]
    assert all(row.resolved_at is not None for row in rows(sessions))


def test_an_error_finding_makes_the_run_inconclusive(service: AlertService) -> None:
    service.on_run(result([SKU]))
    unreachable = finding("connection.unreachable", "xero", Severity.ERROR)
    assert service.on_run(result([unreachable])).resolved == []


def test_channel_fallback_and_no_channel(sessions: sessionmaker[Session], recorder: Recorder) -> None:
    service = AlertService(CONFIG, sessions, recorder)
    assert service.on_run(result([SKU], integration="globex")).opened == ["sku.missing"]
    assert recorder.events[0][1].channel == "C0OPS"
    quiet = AlertService(
        parse_config({"integrations": {"acme": {"source": {"system": "hubspot"}, "destination": {"system": "xero"}}}}),
        sessions,
        recorder,
    )
    assert quiet.on_run(result([SKU], integration="acme")).opened == []
    assert rows(sessions, "acme") == []


def test_a_failed_post_is_retried_by_the_next_run_never_duplicated(
    service: AlertService, recorder: Recorder, sessions: sessionmaker[Session]
) -> None:
    recorder.fail_next = 1
    outcome = service.on_run(result([SKU]))
    assert outcome.failed == ["sku.missing"] and outcome.opened == []
    [row] = rows(sessions)
    assert row.message_ts is None
    assert service.on_run(result([SKU])).opened == ["sku.missing"]
    [row] = rows(sessions)
    assert row.message_ts == "1.1"
    assert service.on_run(result([SKU])).opened == []
