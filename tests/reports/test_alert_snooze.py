"""Snooze silences re-alerts, never checks: while snoozed no "now blocks more" reply and no
re-post of a failed post, but the alert still resolves; after it ends, the alert behaves as
any open alert. Audited; only open alerts; only the offered spans. Time is frozen."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy.orm import Session, sessionmaker

from reports.alerts import AlertService, snooze
from store import actions_repo, alerts_repo
from tests.bot.builders import blocked, finding, result
from tests.bot.test_alerts import CONFIG, Recorder

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SKU = finding("sku.missing", "PROD-404", impact=blocked(("INV-1", "NZD", "40")))
BIGGER = replace(SKU, impact=blocked(("INV-1", "NZD", "40"), ("INV-2", "NZD", "60")), status="ongoing")
BIGGEST = replace(SKU, impact=blocked(("INV-1", "NZD", "40"), ("INV-2", "NZD", "60"), ("INV-3", "NZD", "1")))


def only_alert(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        [row] = alerts_repo.alerts_for(session, "acme")
        return row.id


def test_snooze_silences_growth_replies_until_it_ends(sessions: sessionmaker[Session]) -> None:
    recorder = Recorder()
    service = AlertService(CONFIG, sessions, recorder)
    with freeze_time(T0):
        service.on_run(result([SKU]))
    notice = snooze(sessions, only_alert(sessions), user="U0ADA", hours=1, now=T0)
    assert notice is not None and notice.snoozed_until == T0 + timedelta(hours=1) and notice.snoozed_by == "U0ADA"
    with freeze_time(T0 + timedelta(minutes=30)):
        outcome = service.on_run(result([BIGGER]))
    assert (outcome.grew, outcome.silenced) == ([], ["sku.missing"])
    with freeze_time(T0 + timedelta(hours=2)):  # the snooze is over: it grew while snoozed, say so now
        assert service.on_run(result([BIGGER])).grew == ["sku.missing"]
        assert service.on_run(result([BIGGEST])).grew == ["sku.missing"]
    assert recorder.kinds() == [("opened", "sku.missing"), ("grew", "sku.missing"), ("grew", "sku.missing")]


def test_a_snoozed_alert_still_resolves(sessions: sessionmaker[Session]) -> None:
    recorder = Recorder()
    service = AlertService(CONFIG, sessions, recorder)
    with freeze_time(T0):
        service.on_run(result([SKU]))
    snooze(sessions, only_alert(sessions), user="U0ADA", hours=24 * 7, now=T0)
    with freeze_time(T0 + timedelta(hours=3)):
        assert service.on_run(result([], resolved=(("sku.missing", "PROD-404"),))).resolved == ["sku.missing"]
    assert recorder.kinds() == [("opened", "sku.missing"), ("resolved", "sku.missing")]
    # a resolved alert cannot be snoozed any more
    assert snooze(sessions, only_alert(sessions), user="U0ADA", hours=1, now=T0 + timedelta(hours=4)) is None


def test_snooze_holds_back_the_repost_of_a_failed_post(sessions: sessionmaker[Session]) -> None:
    recorder = Recorder()
    recorder.fail_next = 1
    service = AlertService(CONFIG, sessions, recorder)
    with freeze_time(T0):
        assert service.on_run(result([SKU])).failed == ["sku.missing"]
    snooze(sessions, only_alert(sessions), user="U0ADA", hours=24, now=T0)
    with freeze_time(T0 + timedelta(hours=1)):
        assert service.on_run(result([SKU])).silenced == ["sku.missing"]
    assert recorder.events == []
    with freeze_time(T0 + timedelta(days=1, minutes=1)):
        assert service.on_run(result([SKU])).opened == ["sku.missing"]


def test_a_snooze_is_audited_and_only_for_the_offered_spans(sessions: sessionmaker[Session]) -> None:
    service = AlertService(CONFIG, sessions, Recorder())
    with freeze_time(T0):
        service.on_run(result([SKU]))
    alert_id = only_alert(sessions)
    with pytest.raises(ValueError, match="1 hour, 1 day or 1 week"):
        snooze(sessions, alert_id, user="U0ADA", hours=5, now=T0)
    snooze(sessions, alert_id, user="U0ADA", hours=24, now=T0)
    assert snooze(sessions, alert_id + 100, user="U0ADA", hours=24, now=T0) is None
    with sessions() as session:
        [event] = [e for e in actions_repo.audit_for(session, "acme") if e.event == "alert.snoozed"]
        assert event.actor == "U0ADA"
        assert event.detail == {"alert": alert_id, "code": "sku.missing", "until": (T0 + timedelta(days=1)).isoformat()}
        assert event.at.replace(tzinfo=UTC) == T0
