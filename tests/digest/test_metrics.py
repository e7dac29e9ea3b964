"""A quarter's numbers from a seeded database: counters written by ``record_run_counters``,
alerts and actions through their repositories; then the words, the message and the chart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.digest import MAX_INTEGRATIONS, digest_message
from checks.catalog import title
from checks.findings import Severity
from reports.digest.chart import render_chart
from reports.digest.metrics import build_digest
from reports.digest.model import Digest
from reports.digest.periods import Quarter
from reports.digest.render import json_text, markdown
from sandbox.slack.blocks import MESSAGE_BLOCKS, validate_blocks
from tests.digest.seeding import action, alert, finding, ongoing, record, run

TZ = "Australia/Sydney"
Q3 = Quarter(2026, 3)
START = Q3.bounds(TZ)[0]  # 1 July 00:00 in Sydney
AFTER = datetime(2026, 10, 2, tzinfo=UTC)


def seed_q3(session: Session) -> None:
    """acme: sweeps every 6 hours for 30 days; one incident (sku.missing blocking two invoices,
    detected 6 h after the last healthy sweep, fixed after 18 h; INV-3 still blocked at the end);
    a connection failure for one sweep. globex: nothing."""
    blocked = (("INV-1", "AUD", "100.00"), ("INV-2", "NZD", "50.25"))
    for i in range(30 * 4):
        at = START + timedelta(hours=6 * i)
        if 40 <= i < 43:  # failing for three sweeps
            result = run("acme", at, finding("sku.missing", blocked=blocked))
            record(session, result if i == 40 else ongoing(result), TZ)
        elif i == 60:
            record(session, run("acme", at, finding("token.revoked")), TZ)
        elif i == 119:
            record(session, run("acme", at, finding("contact.missing_email", blocked=(("INV-3", "AUD", "10"),))), TZ)
        else:
            record(session, run("acme", at, finding("token.expiring", Severity.WARN, status="ongoing")), TZ)
    for i in range(6):  # six diagnoses someone asked for
        record(session, run("acme", START + timedelta(days=i, hours=3), trigger="slack"), TZ)
    alert(session, "acme", "sku.missing", START + timedelta(hours=240), START + timedelta(hours=258))
    alert(session, "acme", "token.revoked", START + timedelta(hours=360), START + timedelta(hours=366))
    alert(session, "acme", "contact.missing_email", START + timedelta(hours=714), None)
    action(session, "acme", START + timedelta(hours=241), decision="approved", outcome="succeeded")
    action(session, "acme", START + timedelta(hours=242), decision="denied")
    action(session, "acme", START + timedelta(hours=243), decision="approved", outcome="failed")
    action(session, "acme", START + timedelta(hours=244), decision=None)


def seed_q2(session: Session) -> None:
    start = Quarter(2026, 2).bounds(TZ)[0]
    for i in range(10):
        at = start + timedelta(days=i)
        code = "token.revoked" if i % 2 else "sku.missing"
        record(
            session,
            run("acme", at, finding(code, blocked=((f"OLD-{i}", "AUD", "1"),))) if i < 4 else run("acme", at),
            TZ,
        )
    alert(session, "acme", "sku.missing", start, start + timedelta(hours=48))


def digest(sessions: sessionmaker[Session], **kwargs: object) -> Digest:
    with sessions() as session:
        return build_digest(session, ["acme", "globex"], Q3, tz=TZ, now=AFTER, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def seeded(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with sessions.begin() as session:
        seed_q3(session)
        seed_q2(session)
    return sessions


def test_the_quarters_numbers(seeded: sessionmaker[Session]) -> None:
    d = digest(seeded)
    acme, globex = d.integrations
    assert (acme.name, acme.sweeps, acme.diagnoses, acme.days_with_data) == ("acme", 120, 6, 30)
    assert acme.uptime == pytest.approx(119 / 120) and acme.uptime_basis == "sweeps"
    assert acme.health == pytest.approx(115 / 120)
    assert (acme.invoices_failed, acme.failed_amounts) == (3, {"AUD": "110.00", "NZD": "50.25"})
    assert (acme.invoices_still_unsynced, acme.still_amounts) == (1, {"AUD": "10.00"})
    assert (acme.invoices_cleared, acme.cleared_amounts) == (2, {"AUD": "100.00", "NZD": "50.25"})
    assert acme.incidents == 3
    assert acme.median_detect_minutes == 360.0  # every failure came 6 h after a healthy sweep
    assert (acme.fixes, acme.median_fix_minutes, acme.alerts_open) == (2, 720.0, 1)  # median of 18 h and 6 h
    assert [(c.code, c.title, c.appeared) for c in acme.top_causes] == [
        ("contact.missing_email", title("contact.missing_email"), 1),
        ("sku.missing", title("sku.missing"), 1),
        ("token.revoked", title("token.revoked"), 1),
    ]
    assert acme.top_causes[1].days == 1  # seen on one day
    a = acme.actions
    assert (a.requested, a.approved, a.denied, a.succeeded, a.failed) == (4, 2, 1, 1, 1)
    assert acme.hours_saved == 3.0  # 6 diagnoses x 30 minutes
    assert acme.previous is not None and acme.previous.quarter == "2026Q2"
    assert (acme.previous.invoices_failed, acme.previous.median_fix_minutes) == (4, 2880.0)
    assert acme.previous.uptime == pytest.approx(8 / 10)
    assert globex.days_with_data == 0 and globex.uptime is None and globex.previous is None
    assert d.days_with_data == 30 and d.coverage.startswith("Data on 30 of the quarter's 92 days")


def test_minutes_per_diagnosis_is_a_parameter(seeded: sessionmaker[Session]) -> None:
    assert digest(seeded, minutes_per_diagnosis=45).integrations[0].hours_saved == 4.5


def test_weeks_follow_the_quarter(seeded: sessionmaker[Session]) -> None:
    weeks = digest(seeded).integrations[0].weeks
    assert weeks[0].start == date(2026, 7, 1) and weeks[0].checks == 20  # Wed-Sun: 5 days x 4 sweeps
    assert [w.health for w in weeks[5:]] == [None] * (len(weeks) - 5)  # no data after 30 July


def test_an_empty_quarter_says_so(sessions: sessionmaker[Session]) -> None:
    d = digest(sessions)
    assert d.empty
    assert d.coverage.startswith(
        "No data this quarter: Sync Doctor recorded no checks between 1 Jul 2026 and 30 Sep 2026"
    )
    text = markdown(d)
    assert "No data this quarter" in text and "## acme" not in text
    message = digest_message(d)
    assert validate_blocks(message.blocks, MESSAGE_BLOCKS) == []
    assert "no data" in message.text
    chart = render_chart(d)
    assert chart.png.startswith(b"\x89PNG") and "no checks were recorded" in chart.alt


def test_a_few_days_of_data_are_called_a_few_days(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        for day in (28, 29, 30):
            record(session, run("acme", datetime(2026, 9, day, 2, tzinfo=UTC)), TZ)
    d = digest(sessions)
    assert d.coverage == (
        "Only 3 days of data this quarter (28 Sep 2026 to 30 Sep 2026): the numbers describe those days, not the "
        "whole quarter."
    )
    with sessions() as session:
        running = build_digest(session, ["acme"], Q3, tz=TZ, now=datetime(2026, 9, 30, 3, tzinfo=UTC))
    assert "(the quarter is not over yet)" in running.coverage


def test_the_words_and_the_message(seeded: sessionmaker[Session]) -> None:
    d = digest(seeded)
    text = markdown(d, chart="digest.png", alt="the chart")
    assert "![the chart](digest.png)" in text
    assert "| Connection uptime | 99.2% (share of scheduled sweeps with the connection up) |" in text
    assert "| Invoices that failed to sync | 3 (AUD 110.00, NZD 50.25) |" in text
    assert "| Median time to fix | 12.0 h (2 alerts resolved, 1 still open) |" in text
    assert "Trend: Uptime up 19.2 points on 2026Q2 (80%); 1 fewer failed invoices (4 then); fixes faster" in text
    assert "No checks of globex were recorded this quarter." in text
    assert '"quarter": "2026Q3"' in json_text(d)
    message = digest_message(d)
    assert validate_blocks(message.blocks, MESSAGE_BLOCKS) == []
    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Sync health, Q3 2026", "emoji": True},
    }


def test_many_integrations_stay_inside_one_message(seeded: sessionmaker[Session]) -> None:
    names = [f"shop{n:02d}" for n in range(MAX_INTEGRATIONS + 7)]
    with seeded.begin() as session:
        for name in names:
            record(session, run(name, START + timedelta(days=1), finding("sku.missing")), TZ)
    with seeded() as session:
        d = build_digest(session, names, Q3, tz=TZ, now=AFTER)
    message = digest_message(d)
    assert validate_blocks(message.blocks, MESSAGE_BLOCKS) == []
    assert "7 more integrations" in str(message.blocks[-2])
    chart = render_chart(d)
    assert "more integrations not drawn" in chart.alt


def test_the_chart_is_a_png_with_alt_text(seeded: sessionmaker[Session]) -> None:
    chart = render_chart(digest(seeded))
    assert chart.png.startswith(b"\x89PNG\r\n\x1a\n")
    assert chart.alt.startswith("Line chart of weekly sync health") and "acme 95.8% overall" in chart.alt
