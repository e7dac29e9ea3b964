"""Everything one process uses, built once by the composition root (``app.build``) and handed
to the command line, the Slack bot and the demo. Closing it announces the runs still queued
(alerts from a CLI run post before the process exits), then releases the database."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from actions.connect import ConnectService
from actions.consent import ConsentService
from config.env import Settings
from config.integrations import AppConfig
from service.actions import ActionService
from service.notify import RunNotifier
from service.replays import ReplayGuard
from service.runs import CheckService
from store.crypto import Vault

if TYPE_CHECKING:
    from reports.digest.publish import DigestPublisher
    from service.action_views import ActionView

logger = logging.getLogger(__name__)

CLOSE_SECONDS = 30.0  # how long closing waits for queued alert posts (Slack retries included)


@dataclass
class Services:
    settings: Settings
    config: AppConfig
    engine: Engine
    sessions: sessionmaker[Session]
    vault: Vault
    notifier: RunNotifier
    checks: CheckService
    connect: ConnectService
    actions: ActionService
    consent: ConsentService  # OAuth: signed links, single-use states, the organisation check
    replays: ReplayGuard  # signed requests seen, shared by every replica through the database
    # What start-up did that the person running a command should hear of (a generated key file):
    # the CLI prints these; the server has already logged them.
    notices: tuple[str, ...] = ()
    # Where quarterly digests post (bot/publish.py's SlackDigestPublisher when SLACK_BOT_TOKEN is set).
    digest_publisher: DigestPublisher | None = None
    # Posts an approval request nobody clicked for (the nightly reconciliation's) to the
    # approvals channel; set with Slack (app.py), None without: the request is listed, not posted.
    announce_request: Callable[[ActionView], object] | None = None

    def database_problem(self) -> str | None:
        """None when the database answers; else what failed, safe to show (no URL, no secret)."""
        try:
            with self.sessions() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError as e:
            return type(e).__name__
        return None

    def scheduler_report(self) -> dict[str, Any]:
        """The scheduler's state for /healthz (``service/health.py``), read from the database."""
        from datetime import UTC, datetime

        from service.health import scheduler_report

        sweep = self.config.schedules.sweep
        with self.sessions() as session:
            return scheduler_report(session, sweep.every if sweep.enabled else None, datetime.now(UTC))

    def close(self, timeout: float = CLOSE_SECONDS) -> None:
        self.notifier.close(timeout)
        self.engine.dispose()
