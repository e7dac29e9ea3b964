"""Quarterly digests: the numbers of a quarter (``reports.digest``), kept in the ``digests``
table, posted once to ``slack.digest_channel``.

The scheduler's quarterly job and ``sync-doctor digest --post`` both call
:func:`run_quarterly_digest`. It is idempotent: a quarter posted once is never posted again;
a quarter whose post failed (the bot is not in the channel, Slack is down) stays pending with
the reason and is posted by the next call. Posting is claimed first (one conditional UPDATE),
so two replicas, or the job and a command, never post the same quarter twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from reports.digest.chart import Chart, render_chart
from reports.digest.metrics import DEFAULT_MINUTES_PER_DIAGNOSIS, build_digest
from reports.digest.model import Digest
from reports.digest.periods import BadQuarter, Quarter
from reports.digest.publish import DigestNotPosted
from reports.digest.render import json_text, markdown
from service.container import Services
from store import digests_repo

logger = logging.getLogger(__name__)

# What surfaces need besides the job (the command line may not import reports/ itself).
__all__ = [
    "BadQuarter",
    "DigestOutcome",
    "Quarter",
    "json_text",
    "last_complete_quarter",
    "make_digest",
    "markdown",
    "run_quarterly_digest",
]


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    quarter: Quarter
    digest: Digest
    chart: Chart
    posted: bool = False  # posted by this call
    already_posted: bool = False  # posted before: nothing sent now
    pending: bool = False  # asked to post, not posted: kept, retried next time
    channel: str | None = None
    message_ts: str | None = None
    error: str | None = None  # why it is pending, or what went wrong with the chart

    @property
    def done(self) -> bool:
        return self.posted or self.already_posted


def make_digest(
    services: Services,
    quarter: Quarter,
    *,
    minutes_per_diagnosis: int = DEFAULT_MINUTES_PER_DIAGNOSIS,
    now: datetime | None = None,
) -> tuple[Digest, Chart]:
    """The digest of ``quarter`` for every configured integration, and its chart."""
    with services.sessions() as session:
        digest = build_digest(
            session,
            list(services.config.integrations),
            quarter,
            tz=services.config.timezone,
            minutes_per_diagnosis=minutes_per_diagnosis,
            now=now,
        )
    return digest, render_chart(digest)


def last_complete_quarter(services: Services) -> Quarter:
    return Quarter.last_complete(datetime.now(UTC), services.config.timezone)


def run_quarterly_digest(
    services: Services,
    *,
    quarter: Quarter | None = None,
    post: bool = True,
    minutes_per_diagnosis: int = DEFAULT_MINUTES_PER_DIAGNOSIS,
) -> DigestOutcome:
    """Make the digest of ``quarter`` (default: the last complete one), keep it, and with
    ``post`` send it to ``slack.digest_channel`` unless it was sent already."""
    now = datetime.now(UTC)
    tz = services.config.timezone
    quarter = quarter or Quarter.last_complete(now, tz)
    digest, chart = make_digest(services, quarter, minutes_per_diagnosis=minutes_per_diagnosis, now=now)
    with services.sessions.begin() as session:
        row = digests_repo.save_digest(session, str(quarter), digest.to_json(), at=now)
        posted_before = row.posted_at is not None
        channel_before, ts_before = row.channel, row.message_ts
    outcome = DigestOutcome(quarter, digest, chart)
    if posted_before:
        return replace(outcome, already_posted=True, channel=channel_before, message_ts=ts_before)
    if not post:
        return outcome
    channel = services.config.slack.digest_channel
    refusal = _cannot_post(services, quarter, now, channel)
    if refusal is not None:
        logger.error("the digest of %s was not posted: %s", quarter, refusal)
        with services.sessions.begin() as session:
            digests_repo.mark_failed(session, str(quarter), error=refusal)
        return replace(outcome, pending=True, error=refusal, channel=channel)
    assert channel is not None and services.digest_publisher is not None
    with services.sessions.begin() as session:
        claimed = digests_repo.claim_post(session, str(quarter), now=now)
    if not claimed:  # another process is posting it, or just did
        return replace(outcome, already_posted=True, channel=channel)
    try:
        ts, chart_problem = services.digest_publisher.post(channel, digest, chart)
    except DigestNotPosted as e:
        logger.error("the digest of %s was not posted to %s: %s (kept; retried next time)", quarter, channel, e)
        with services.sessions.begin() as session:
            digests_repo.mark_failed(session, str(quarter), error=str(e))
        return replace(outcome, pending=True, error=str(e), channel=channel)
    except Exception as e:
        with services.sessions.begin() as session:
            digests_repo.mark_failed(session, str(quarter), error=f"{type(e).__name__}: posting failed")
        raise
    with services.sessions.begin() as session:
        digests_repo.mark_posted(session, str(quarter), channel=channel, message_ts=ts, at=datetime.now(UTC))
        if chart_problem:
            digests_repo.mark_failed(session, str(quarter), error=chart_problem)
    return replace(outcome, posted=True, channel=channel, message_ts=ts, error=chart_problem)


def _cannot_post(services: Services, quarter: Quarter, now: datetime, channel: str | None) -> str | None:
    if not quarter.has_ended(now, services.config.timezone):
        return f"{quarter} is not over yet: a digest is posted once, for a whole quarter"
    if not channel:
        return "slack.digest_channel is not set in the integrations file: name the channel digests go to"
    if services.digest_publisher is None:
        return "SLACK_BOT_TOKEN is not set: there is no Slack to post to"
    return None


def retry_pending_digests(
    services: Services, *, minutes_per_diagnosis: int = DEFAULT_MINUTES_PER_DIAGNOSIS
) -> list[DigestOutcome]:
    """Post again each digest a channel refused (the bot not invited, the channel gone), oldest
    first: once a day from the scheduler, so an invitation is all it takes."""
    with services.sessions() as session:
        quarters = [row.quarter for row in digests_repo.pending_digests(session)]
    return [
        run_quarterly_digest(
            services, quarter=Quarter.parse(quarter), post=True, minutes_per_diagnosis=minutes_per_diagnosis
        )
        for quarter in quarters
    ]
