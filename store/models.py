"""Database models (SQLAlchemy 2 declarative). Schema changes go through Alembic migrations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Connection(Base):
    """Credentials and state of one side of one integration. ``secret`` is encrypted."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("integration", "side", name="uq_connection_side"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration: Mapped[str] = mapped_column(String(100))
    side: Mapped[str] = mapped_column(String(20))  # source | destination
    system: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))  # oauth2 | api_key
    secret: Mapped[bytes] = mapped_column(LargeBinary)  # Fernet token of the JSON secrets
    tenant_id: Mapped[str | None] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refresh_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refresh_issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(30), default="active")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_integration_started", "integration", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(30))  # cli | slack | schedule | demo
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_s: Mapped[float] = mapped_column(Float)
    fail_count: Mapped[int] = mapped_column(Integer, default=0)
    warn_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    blocked_invoices: Mapped[int] = mapped_column(Integer, default=0)
    blocked_amounts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    api_calls: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    timings: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    resolved: Mapped[list[list[str]]] = mapped_column(JSON, default=list)  # [[code, subject], ...]
    last_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    findings: Mapped[list[FindingRow]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="FindingRow.position"
    )


class FindingRow(Base):
    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_run", "run_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(60))
    severity: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(500))
    system: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    impact: Mapped[dict[str, Any]] = mapped_column(JSON)
    action: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    run: Mapped[Run] = relationship(back_populates="findings")


class Action(Base):
    """A change to the outside world requested from a finding; approved before it runs.

    The state machine (``actions.states``): requested -> approved | denied | expired ->
    running -> succeeded | failed | partly_succeeded. ``plan`` is what the approver saw and
    what runs; ``claimed_by`` / ``lease_expires_at`` say which process runs it, so a resume
    never takes an action a live process is still running. One ``ActionStep`` per invoice,
    item, contact or consent link."""

    __tablename__ = "actions"
    __table_args__ = (
        Index("ix_actions_integration_state", "integration", "state"),
        Index("uq_actions_request_key", "request_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))
    # A random nonce per action: step idempotency keys derive from it, so two databases (a demo,
    # a restored backup) never send the same key to the same tenant.
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    requested_by: Mapped[str | None] = mapped_column(String(100))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # runs started (a resume is one more)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    label: Mapped[str | None] = mapped_column(String(300))
    requested_via: Mapped[str | None] = mapped_column(String(20))  # slack | cli | demo
    request_key: Mapped[str | None] = mapped_column(String(128))  # a repeated request is the same action
    finding_code: Mapped[str | None] = mapped_column(String(60))  # the finding that proposed it
    finding_subject: Mapped[str | None] = mapped_column(String(500))
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)  # why it was denied
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # host:pid:token of the running process
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # counts, verification, resolved findings
    surface: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # where surfaces showed it (Slack message refs)

    steps: Mapped[list[ActionStep]] = relationship(order_by="ActionStep.position", back_populates="action")


class AuditEvent(Base):
    """Append-only (database triggers refuse UPDATE and DELETE, migration 0003): what happened,
    who did it, when. Action transitions carry ``before`` / ``after`` states and their step."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_integration_at", "integration", "at"),
        Index("ix_audit_action", "action_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    integration: Mapped[str | None] = mapped_column(String(100))
    actor: Mapped[str] = mapped_column(String(100))  # slack user id, "cli", "scheduler", "system"
    event: Mapped[str] = mapped_column(String(60))  # e.g. connection.saved, token.refreshed, run.finished
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    step_id: Mapped[int | None] = mapped_column(Integer)  # the action step a transition concerns
    before: Mapped[str | None] = mapped_column(String(30))  # state before the transition
    after: Mapped[str | None] = mapped_column(String(30))  # state after it


class Alert(Base):
    """An alert posted for a failing code; edited when the code clears."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_open", "integration", "code", "resolved_at"),
        # At most one open alert per problem, even with replicas inserting at the same instant
        # (migration 0005): the loser's insert fails and it posts nothing.
        Index(
            "uq_alerts_open_code",
            "integration",
            "code",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str | None] = mapped_column(String(40))
    message_ts: Mapped[str | None] = mapped_column(String(40))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A snooze silences re-alerts (growth replies, re-posts) until then, never the resolution.
    snoozed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    snoozed_by: Mapped[str | None] = mapped_column(String(100))  # Slack user id
    # Whoever posts the message holds this lease (set by the claim, or by a conditional UPDATE
    # to retry a failed post), so two replicas never post one alert twice; NULL after a failure.
    post_lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OAuthConsent(Base):
    """One OAuth consent Sync Doctor started: the signed link it issued (``link_hash``), then
    the ``state`` it sent to the provider (``state_hash``) with its PKCE verifier (encrypted).

    Only hashes of the link and the state are kept, so the table alone opens nothing. Each is
    spent once: ``started_at`` when the link was opened, ``finished_at`` when the provider's
    redirect came back with the state (``actions/consent.py``)."""

    __tablename__ = "oauth_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # None: started without a link (CLI)
    state_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # set when the consent starts
    integration: Mapped[str] = mapped_column(String(100))
    side: Mapped[str] = mapped_column(String(20))
    system: Mapped[str] = mapped_column(String(40))
    issued_to: Mapped[str] = mapped_column(String(100))  # a Slack user id, or "cli"
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    link_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verifier: Mapped[bytes | None] = mapped_column(LargeBinary)  # Fernet token of the PKCE code verifier
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SeenRequest(Base):
    """A signed Slack request already accepted, kept until its timestamp leaves the window in
    which its signature would still verify, so that a replay is refused on any replica."""

    __tablename__ = "seen_requests"
    __table_args__ = (Index("ix_seen_requests_expires", "expires_at"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # the request signature (hex)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ActionStep(Base):
    """One invoice, item, contact or consent link of an action. ``idempotency_key`` derives
    from (action, step) and is stored before the first request is sent; ``attempts`` counts
    requests sent. States (``actions.states.StepState``): pending -> sending -> succeeded |
    adopted (already in the destination) | failed | skipped."""

    __tablename__ = "action_steps"
    __table_args__ = (UniqueConstraint("action_id", "position", name="uq_action_step_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # invoice | item | contact | link
    ref: Mapped[str] = mapped_column(String(300))  # invoice number, SKU, contact name, connection side
    state: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    destination_id: Mapped[str | None] = mapped_column(String(200))
    link: Mapped[str | None] = mapped_column(Text)  # where to see it in the destination
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(100))  # the system's own code
    finding_code: Mapped[str | None] = mapped_column(String(60))  # the finding that explains a failure
    reply: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the system's reply ids
    verified: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what re-reading it showed
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    action: Mapped[Action] = relationship(back_populates="steps")


class IntegrationDay(Base):
    """Counters of one integration for one local day (the configured time zone), upserted for
    every run, stored or not (``store/counters.py``). Quarterly digests read these: full runs
    are pruned after 90 days and an unchanged sweep stores no run row, but a day's counters
    are kept for two years."""

    __tablename__ = "integration_days"
    __table_args__ = (UniqueConstraint("integration", "day", name="uq_integration_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration: Mapped[str] = mapped_column(String(100))
    day: Mapped[date] = mapped_column(Date)
    runs: Mapped[int] = mapped_column(Integer, default=0)  # every trigger
    sweeps: Mapped[int] = mapped_column(Integer, default=0)  # trigger "schedule"
    diagnoses: Mapped[int] = mapped_column(Integer, default=0)  # any other trigger: someone asked
    healthy_sweeps: Mapped[int] = mapped_column(Integer, default=0)  # nothing fail or error
    connected_sweeps: Mapped[int] = mapped_column(Integer, default=0)  # no connection / token / key failure
    healthy_runs: Mapped[int] = mapped_column(Integer, default=0)
    connected_runs: Mapped[int] = mapped_column(Integer, default=0)
    checks_run: Mapped[int] = mapped_column(Integer, default=0)
    findings_by_code: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # runs each code was warn or worse
    new_by_code: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # times each code started to fail
    invoices_blocked_max: Mapped[int] = mapped_column(Integer, default=0)
    invoices_blocked_last: Mapped[int] = mapped_column(Integer, default=0)
    blocked_amounts_last: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    blocked: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)  # number -> [currency, total], any run
    blocked_last: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)  # the day's last run
    first_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_failing: Mapped[bool] = mapped_column(Boolean, default=False)  # the day's last run was failing
    last_healthy_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_failing_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # healthy -> failing transitions seen this day: [{"failing_at": iso, "healthy_before": iso | None}]
    detections: Mapped[list[dict[str, str | None]]] = mapped_column(JSON, default=list)


class DigestRow(Base):
    """A quarterly digest: its numbers as generated, and whether it reached Slack. A digest not
    posted (the bot is not in the channel) stays pending and is retried; a posted one never
    posts again. ``claimed_at``: a process is posting it now (so two replicas do not)."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[str] = mapped_column(String(7), unique=True)  # e.g. 2026Q3
    generated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str | None] = mapped_column(String(100))
    message_ts: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class JobClaim(Base):
    """One period of one scheduled job, claimed by the process that runs it (``scheduling/``).

    The unique key is what makes N replicas run each period once: every replica tries to insert
    the same row and only one insert lands. ``scope`` is ``*`` (the whole process's job) or an
    integration's name (a per-integration job). A claim whose lease expired without
    ``finished_at`` belonged to a process that died: another takes it over."""

    __tablename__ = "job_claims"
    __table_args__ = (UniqueConstraint("job", "scope", "period_key", name="uq_job_claim_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(100))
    period_key: Mapped[str] = mapped_column(String(40))
    claimed_by: Mapped[str] = mapped_column(String(200))  # host:pid:token
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class SweepItem(Base):
    """One integration of one monitoring sweep: workers of every replica take the next one
    (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) until none is left; a lease lets another take
    over the item of a worker that died."""

    __tablename__ = "sweep_items"
    __table_args__ = (
        UniqueConstraint("period_key", "integration", name="uq_sweep_item"),
        Index("ix_sweep_items_open", "period_key", "done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_key: Mapped[str] = mapped_column(String(40))
    integration: Mapped[str] = mapped_column(String(100))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
