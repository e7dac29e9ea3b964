"""A scheduled job and what it is handed when it runs (the table itself: ``jobs.py``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from config.integrations import IntegrationConfig
from config.schedules import JobSchedule
from scheduling.periods import Period

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from service.container import Services


@dataclass(frozen=True)
class JobContext:
    services: Services
    now: datetime
    period: Period
    scope: str  # "*", a group of integrations sharing an override ("every=600"), or an integration
    integrations: tuple[IntegrationConfig, ...]
    schedule: JobSchedule
    owner: str  # host:pid:token of this process
    stopping: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # the time now, for leases

    @property
    def period_key(self) -> str:
        return self.period.key

    @property
    def integration(self) -> IntegrationConfig:
        """The integration of a per-integration job."""
        if len(self.integrations) != 1:
            raise ValueError("ctx.integration is for per-integration jobs")
        return self.integrations[0]


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    schedule_key: str  # the schedules: block that times it
    per_integration: bool
    run: Callable[[JobContext], object]
    # Inside the transaction that won the claim (the sweep enqueues its items there, so the
    # replicas that lost the claim see them as soon as they see the claim).
    on_claim: Callable[[Session, JobContext], None] | None = None
    # Run by a replica that lost the claim while the winner is still at it (the sweep's workers
    # help); None: a lost claim means nothing to do.
    join: Callable[[JobContext], object] | None = None
    # Asked when the job returns while the process is stopping: did it do everything (finish
    # the claim) or stop half way (release it, to be claimed again)? None: half way.
    done: Callable[[JobContext], bool] | None = None
    quarterly: bool = False  # ``at`` means the first day of each quarter (the digest)
    lease_seconds: float = 300.0  # renewed while it runs; a claim this stale is taken over
