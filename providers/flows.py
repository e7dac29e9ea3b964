"""Typed records of the middle of the pipe: a Make scenario or a Zapier Zap and what it did.

Middleware providers (:class:`providers.middleware.Middleware`) translate their JSON into
these, so the middleware checks read one shape whichever system carries the invoices. As in
:mod:`providers.records`, what a system does not tell stays ``None``: "unknown" is never
faked as "fine".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class RunStatus(StrEnum):
    """A run's outcome, normalised; ``FlowRun.raw_status`` keeps the system's own word."""

    SUCCESS = "success"
    WARNING = "warning"  # Make: finished with a warning (a handled error, a retried connection error)
    ERROR = "error"
    HELD = "held"  # Zapier: waiting for the account (task limit, disconnected app, payment)
    HALTED = "halted"  # Zapier: stopped on purpose by a step; not counted towards auto turn-off
    FILTERED = "filtered"  # a filter step let nothing through
    RUNNING = "running"
    WAITING = "waiting"  # delayed, scheduled for an autoreplay, pending
    OTHER = "other"


class ScheduleKind(StrEnum):
    INTERVAL = "interval"  # every N seconds (Make "indefinitely", a Zapier polling trigger)
    INSTANT = "instant"  # a webhook / instant trigger: runs as data arrives
    CALENDAR = "calendar"  # daily, weekly, monthly, yearly at set times
    ON_DEMAND = "on_demand"  # only when someone runs it
    ONCE = "once"


@dataclass(frozen=True, slots=True)
class Schedule:
    kind: ScheduleKind
    # The longest an invoice may wait before the next run picks it up; None when the system
    # does not say (and no plan was configured to derive it from).
    interval: timedelta | None = None
    derived_from: str = "api"  # "api": the system said; "plan": the configured plan's polling interval
    detail: str | None = None  # the system's own words ("daily at 06:00", "indefinitely")


@dataclass(frozen=True, slots=True)
class Flow:
    """A Make scenario or a Zap, as configured and as the system last saw it."""

    id: str
    name: str
    enabled: bool
    stopped_by_errors: bool | None = None  # Make ``isinvalid``; None: the system does not say why
    paused_for_billing: bool | None = None  # Make ``isPaused`` (a subscription problem)
    schedule: Schedule | None = None
    next_run_at: datetime | None = None
    last_success_at: datetime | None = None  # Zapier ``last_successful_run_date``
    incomplete_count: int | None = None  # Make ``dlqCount``
    url: str | None = None  # where a person opens it
    connection_ids: tuple[str, ...] = ()  # connections its modules / steps use, when known
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FlowRun:
    """One execution (Make) or Zap run (Zapier)."""

    id: str
    started_at: datetime | None
    status: RunStatus
    raw_status: str | None = None
    error: str | None = None  # the system's own message; None where the API gives none (Zapier)
    error_kind: str | None = None  # Make ``error.name`` (ConnectionError, DataError, ...)
    failing_step: str | None = None  # Make ``causeModule.name``
    failing_app: str | None = None  # Make ``causeModule.appName``
    operations: int | None = None


@dataclass(frozen=True, slots=True)
class IncompleteRun:
    """A run stored for someone to resolve (Make's incomplete executions)."""

    id: str
    created_at: datetime | None
    reason: str | None  # Make's error message
    attempts: int | None = None
    resolved: bool = False


@dataclass(frozen=True, slots=True)
class FlowConnection:
    """An app account the flow logs in with (a Make connection, a Zapier authentication)."""

    id: str
    name: str
    app: str | None = None
    expires_at: datetime | None = None  # Make ``expire``
    expired: bool | None = None  # Zapier ``is_expired``
    verified: bool | None = None  # Make's own re-check of the credentials; None when not asked


@dataclass(frozen=True, slots=True)
class Usage:
    """What the middleware account has used of its plan this period."""

    unit: str  # "operations" (Make)
    used: int
    limit: int | None
    extra: int = 0  # extra units bought on top of the plan this period
    resets_at: datetime | None = None
    paused: bool = False  # the whole organisation is paused (Make ``isPaused``)
    plan: str | None = None
    auto_purchase: bool | None = None  # Make buys extra operations when the plan runs out
    api_per_minute: int | None = None

    @property
    def allowance(self) -> int | None:
        return None if self.limit is None else self.limit + self.extra
