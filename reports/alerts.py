"""Change alerts: one message when an integration starts failing, an edit when it recovers.

Run after every stored run (a ``service.notify.RunNotifier`` listener, registered once by the
composition root), whoever triggered it: Slack, the CLI, a schedule. For each *alertable* code of the run (any ``fail`` finding, and ``token.expiring``, so a dying
refresh token is announced before it dies, as DESIGN.md asks; not ``error``: a system that did
not answer once is not yet an integration that fails):

- no open Alert row for the code -> claim one (insert), then post it to the integration's
  channel (``integrations.<name>.slack.channel``, else ``slack.alert_channel``) and record
  the message ``ts``. No channel configured -> no alert and no row.
- an open Alert row -> nothing, unless the code now blocks more invoices than the alert last
  reported: then one thread reply saying so (the chosen option; fewer invoices says nothing).
- an open Alert whose post failed earlier (no ``ts``) -> posted again now: a failed post is
  retried by the next run, never duplicated.
- an open Alert whose code no longer fails -> the original message is edited to say it
  cleared, a reply goes in its thread, and ``resolved_at`` is set. "No longer fails" needs
  proof: its family is one of the runner's ``ERROR_FAMILIES`` (resolved whenever absent,
  unless some system did not answer: an ``error`` finding), or the runner marked it resolved,
  or the run was conclusive (no side stopped
  by a connection / token / key failure and no ``error`` finding). A check stopped by a
  revoked token proves nothing about SKUs, so their alert stays open.

A run of some checks only (the monitoring sweep's cheap ones, a keep-alive's token check)
proves nothing about the families it did not run: ``RunResult.completed_families`` says which
ran, and an alert of another family stays open.

**Snooze** (:meth:`AlertService.snooze`, the Snooze buttons on the alert message): until
``snoozed_until`` an open alert's *re-alerts* are silent (no "now blocks more" reply, no
re-post of a post that failed); the checks still run and the alert still resolves (edited)
when the code clears. When the snooze ends, the alert behaves as any open alert. Each snooze is
audited (``audit_events``: who, until, when).

Posting goes through an :class:`AlertPublisher` (``bot/publish.py`` implements it with
Slack), so this module never imports Slack. Runs of one integration are serialised in this
process (the notifier delivers them in order on one thread, and a lock guards each
integration); across replicas, a unique partial index on open alerts (integration, code) makes
a second open alert impossible: each new alert is claimed by its own insert, and the replica
whose insert loses (IntegrityError) posts nothing. A problem failing for a day of sweeps is one
alert, not 96.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from checks.catalog import UnknownCode, entry
from checks.findings import Finding, Severity, blocked_invoices
from checks.runner import ERROR_FAMILIES, RunResult
from config.integrations import AppConfig
from store import alerts_repo
from store import repositories as repo
from store.models import Alert

logger = logging.getLogger(__name__)

# Codes alerted on below ``fail``: the refresh token's end is announced while it can be fixed.
WARN_ALERT_CODES = frozenset({"token.expiring"})
# How long a process that claimed an alert's post may take to post it before another may try
# (Slack's client retries a 429 up to 3 times, waiting what Retry-After says).
POST_LEASE = timedelta(minutes=5)
# Families whose failure stops the other checks of that side (checks/errors.py), so a run
# containing one says nothing about codes of other families.
_STOPPING_FAMILIES = ERROR_FAMILIES


@dataclass(frozen=True, slots=True)
class AlertNotice:
    """What a publisher needs to write (or rewrite) one alert message."""

    alert_id: int
    integration: str
    source: str  # system keys
    destination: str
    code: str
    title: str
    severity: Severity
    subjects: tuple[str, ...]
    blocked_invoices: int
    blocked_amounts: Mapping[str, str]
    remediation: str
    run_ref: str
    channel: str
    opened_at: datetime
    resolved_at: datetime | None = None
    previous_blocked: int | None = None  # for a "now blocks more" reply
    evidence: Mapping[str, Any] = field(default_factory=dict)
    snoozed_until: datetime | None = None  # shown on the message while it is in the future
    snoozed_by: str | None = None  # Slack user id

    def to_detail(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "severity": int(self.severity),
            "subjects": list(self.subjects[:20]),
            "blocked": self.blocked_invoices,
            "amounts": dict(self.blocked_amounts),
            "run_ref": self.run_ref,
            "source": self.source,
            "destination": self.destination,
            # kept so the message can be drawn again as posted (a snooze edits it)
            "remediation": self.remediation[:3000],
            "evidence": dict(self.evidence),
        }

    def snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and _utc(self.snoozed_until) > now


class AlertPublisher(Protocol):
    def opened(self, notice: AlertNotice) -> tuple[str, str]:
        """Post a new alert; return (channel id, message ``ts``): edits need the channel id
        even when the alert was posted to a channel name."""

    def grew(self, notice: AlertNotice, message_ts: str) -> None:
        """Reply in the alert's thread that it now blocks more invoices."""

    def resolved(self, notice: AlertNotice, message_ts: str) -> None:
        """Edit the alert to show it cleared and reply in its thread."""


@dataclass
class AlertOutcome:
    """What one run did (tests and logs read it)."""

    opened: list[str] = field(default_factory=list)
    grew: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    lost_claim: list[str] = field(default_factory=list)  # another replica opened it first
    silenced: list[str] = field(default_factory=list)  # a re-alert a snooze held back


def alertable(findings: Sequence[Finding]) -> dict[str, list[Finding]]:
    """Findings that warrant an alert, grouped by code (worst first as given)."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.severity == Severity.FAIL or finding.code in WARN_ALERT_CODES:
            groups.setdefault(finding.code, []).append(finding)
    return groups


def _family(code: str) -> str:
    try:
        return entry(code).family
    except UnknownCode:
        return code.split(".", 1)[0]


def cleared(code: str, result: RunResult) -> bool:
    """Does ``result`` prove that ``code`` no longer fails (given it is not alertable now)?"""
    answered = not any(f.severity == Severity.ERROR for f in result.findings)
    family = _family(code)
    if family in ERROR_FAMILIES:
        # Reported whenever it happens, so absent means cleared: unless a system did not
        # answer this time (a provider down for a sweep proves nothing about its token).
        return answered
    if any(c == code for c, _ in result.resolved):
        return True
    if result.completed_families is not None and family not in result.completed_families:
        return False  # its check did not run (or not to the end) this time
    return answered and not any(
        f.severity >= Severity.FAIL and _family(f.code) in _STOPPING_FAMILIES for f in result.findings
    )


class AlertService:
    """A run listener: decides, persists, and posts through ``publisher``."""

    def __init__(self, config: AppConfig, sessions: sessionmaker[Session], publisher: AlertPublisher) -> None:
        self.config = config
        self.sessions = sessions
        self.publisher = publisher
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def channel_for(self, integration: str) -> str | None:
        cfg = self.config.get(integration)
        if cfg is not None and cfg.slack.channel:
            return cfg.slack.channel
        return self.config.slack.alert_channel

    def _lock(self, integration: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(integration, threading.Lock())

    def __call__(self, result: RunResult) -> None:
        self.on_run(result)

    def on_run(self, result: RunResult) -> AlertOutcome:
        with self._lock(result.integration):
            return self._on_run(result)

    def _on_run(self, result: RunResult) -> AlertOutcome:
        outcome = AlertOutcome()
        groups = alertable(result.findings)
        now = datetime.now(UTC)
        to_claim: list[AlertNotice] = []
        to_retry: list[AlertNotice] = []
        to_open: list[AlertNotice] = []
        to_grow: list[tuple[AlertNotice, str]] = []
        to_resolve: list[tuple[AlertNotice, str | None]] = []
        with self.sessions() as session:
            open_rows = repo.open_alerts(session, result.integration)
            for code, findings in groups.items():
                row = open_rows.get(code)
                if row is None:
                    channel = self.channel_for(result.integration)
                    if channel is None:
                        continue
                    to_claim.append(self._notice(result, code, findings, channel=channel, opened_at=now, alert_id=0))
                    continue
                channel = row.channel or self.channel_for(result.integration)
                if channel is None:
                    continue
                notice = self._notice(
                    result, code, findings, channel=channel, opened_at=_utc(row.opened_at), alert_id=row.id
                )
                notice = replace(notice, snoozed_until=row.snoozed_until, snoozed_by=row.snoozed_by)
                reported = int((row.detail or {}).get("blocked", 0))
                again = row.message_ts is None or notice.blocked_invoices > reported
                if again and notice.snoozed(now):
                    outcome.silenced.append(code)  # a snooze holds re-alerts back, never the checks
                    continue
                if row.message_ts is None:
                    to_retry.append(notice)  # the earlier post failed (or is under way elsewhere)
                elif notice.blocked_invoices > reported:
                    to_grow.append((replace(notice, previous_blocked=reported), row.message_ts))
            for code, row in open_rows.items():
                if code in groups or not cleared(code, result):
                    continue
                to_resolve.append((self._stored_notice(row, result, now), row.message_ts))
        for notice in to_claim:
            alert_id = self._claim(result, notice, now)
            if alert_id is None:
                outcome.lost_claim.append(notice.code)
            else:
                to_open.append(replace(notice, alert_id=alert_id))
        for notice in to_retry:
            with self.sessions.begin() as session:
                mine = alerts_repo.claim_post(session, notice.alert_id, now=now, lease=POST_LEASE)
            if mine:
                to_open.append(notice)
            else:
                outcome.lost_claim.append(notice.code)  # being posted by another process right now

        for notice in to_open:
            try:
                channel, ts = self.publisher.opened(notice)
            except Exception:
                logger.exception("alert %s/%s: posting failed; the next run retries", notice.integration, notice.code)
                outcome.failed.append(notice.code)
                with self.sessions.begin() as session:
                    alerts_repo.release_post(session, notice.alert_id)
                continue
            with self.sessions.begin() as session:
                alerts_repo.set_alert_message(session, notice.alert_id, channel=channel, message_ts=ts)
            outcome.opened.append(notice.code)
        for notice, ts in to_grow:
            try:
                self.publisher.grew(notice, ts)
            except Exception:
                logger.exception("alert %s/%s: thread reply failed", notice.integration, notice.code)
                outcome.failed.append(notice.code)
                continue
            with self.sessions.begin() as session:
                alerts_repo.update_alert_detail(
                    session,
                    notice.alert_id,
                    {"blocked": notice.blocked_invoices, "amounts": dict(notice.blocked_amounts)},
                )
            outcome.grew.append(notice.code)
        for notice, maybe_ts in to_resolve:
            if maybe_ts is not None:
                try:
                    self.publisher.resolved(notice, maybe_ts)
                except Exception:
                    # left open: the next run that still sees it cleared edits the message then
                    logger.exception("alert %s/%s: marking resolved in Slack failed", notice.integration, notice.code)
                    outcome.failed.append(notice.code)
                    continue
            with self.sessions.begin() as session:
                alerts_repo.resolve_alert(session, notice.alert_id, run_id=result.run_id, at=now)
            outcome.resolved.append(notice.code)
        if outcome.opened or outcome.resolved or outcome.grew:
            logger.info(
                "run %s: alerts opened %s, grew %s, resolved %s",
                result.ref,
                outcome.opened,
                outcome.grew,
                outcome.resolved,
            )
        return outcome

    def _claim(self, result: RunResult, notice: AlertNotice, now: datetime) -> int | None:
        """Insert the open alert in its own transaction; None when another process holds the
        open alert for this code already (the unique index refused ours): it posts, we don't."""
        try:
            with self.sessions.begin() as session:
                return repo.add_alert(
                    session,
                    integration=result.integration,
                    code=notice.code,
                    channel=notice.channel,
                    run_id=result.run_id,
                    detail=notice.to_detail(),
                    post_lease_until=now + POST_LEASE,  # the claimer posts it
                ).id
        except IntegrityError:
            logger.info("alert %s/%s: already open (another replica claimed it)", notice.integration, notice.code)
            return None

    def _notice(
        self,
        result: RunResult,
        code: str,
        findings: Sequence[Finding],
        *,
        channel: str,
        opened_at: datetime,
        alert_id: int,
    ) -> AlertNotice:
        impact = blocked_invoices(findings) if any(f.severity >= Severity.FAIL for f in findings) else None
        worst = findings[0]
        return AlertNotice(
            alert_id=alert_id,
            integration=result.integration,
            source=result.source,
            destination=result.destination,
            code=code,
            title=_title(code),
            severity=max(f.severity for f in findings),
            subjects=tuple(f.subject for f in findings),
            blocked_invoices=len(impact.blocked) if impact else 0,
            blocked_amounts={c: str(v) for c, v in sorted(impact.amounts.items())} if impact else {},
            remediation=result.remediation_for(worst),
            run_ref=result.ref,
            channel=channel,
            opened_at=opened_at,
            evidence=dict(worst.evidence),
        )

    def _stored_notice(self, row: Alert, result: RunResult, now: datetime) -> AlertNotice:
        detail = row.detail or {}
        return replace(
            stored_notice(row),
            source=str(detail.get("source", result.source)),
            destination=str(detail.get("destination", result.destination)),
            remediation="",
            run_ref=result.ref,
            resolved_at=now,
        )


SNOOZE_HOURS = (1, 24, 24 * 7)  # the choices the alert message offers: an hour, a day, a week


def snooze(
    sessions: sessionmaker[Session], alert_id: int, *, user: str, hours: int, now: datetime | None = None
) -> AlertNotice | None:
    """Silence the re-alerts of an open alert for ``hours`` (one of :data:`SNOOZE_HOURS`);
    audited. Returns the alert as it now stands (to redraw its message), or None when it is
    unknown or already resolved."""
    if hours not in SNOOZE_HOURS:
        raise ValueError(f"an alert is snoozed for 1 hour, 1 day or 1 week, not {hours} hours")
    at = now or datetime.now(UTC)
    until = at + timedelta(hours=hours)
    with sessions.begin() as session:
        row = alerts_repo.snooze_alert(session, alert_id, until=until, by=user, at=at)
        if row is None:
            return None
        logger.info("alert %s/%s snoozed until %s by %s", row.integration, row.code, until.isoformat(), user)
        return stored_notice(row)


def stored_notice(row: Alert) -> AlertNotice:
    """An alert as stored: enough to draw its message again (a snooze edits it)."""
    detail = row.detail or {}
    return AlertNotice(
        alert_id=row.id,
        integration=row.integration,
        source=str(detail.get("source", "")),
        destination=str(detail.get("destination", "")),
        code=row.code,
        title=str(detail.get("title") or _title(row.code)),
        severity=Severity(int(detail.get("severity", int(Severity.FAIL)))),
        subjects=tuple(detail.get("subjects") or ()),
        blocked_invoices=int(detail.get("blocked", 0)),
        blocked_amounts=dict(detail.get("amounts") or {}),
        remediation=str(detail.get("remediation") or ""),
        run_ref=str(detail.get("run_ref", "")),
        channel=row.channel or "",
        opened_at=_utc(row.opened_at),
        resolved_at=_utc(row.resolved_at) if row.resolved_at is not None else None,
        evidence=dict(detail.get("evidence") or {}),
        snoozed_until=_utc(row.snoozed_until) if row.snoozed_until is not None else None,
        snoozed_by=row.snoozed_by,
    )


def _title(code: str) -> str:
    try:
        return entry(code).title
    except UnknownCode:
        return code


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def message_ts(sessions: sessionmaker[Session], alert_id: int) -> str | None:
    """Where an alert's message is (its ``ts``), if it was posted."""
    with sessions() as session:
        row = alerts_repo.get_alert(session, alert_id)
        return row.message_ts if row is not None else None
