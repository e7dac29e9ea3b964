"""Run every check of one integration and contain whatever goes wrong.

All checks start at once on threads; :class:`checks.context.SideData` makes sure each resource
is fetched once and shared. The runner owns the run's one fan-out executor: it prefetches
every resource some check reads on it, and lends it to the providers
(:class:`providers.fanout.FanOut`) for the reads they can send side by side. The threads are
the process's (:data:`common.threads.SHARED`), kept between runs; each run works through its
own :class:`common.threads.RunExecutor`, shut down when the run ends.

A ``ProviderError`` becomes the matching finding (``checks.errors.finding_for_error``) once per
system, however many checks hit it; any other exception is logged with its traceback and
reported as ``internal.check_failed`` without details a user should not see. Nothing
propagates: a run always ends in a result.

A slow system ends a run early, with one finding naming it: a request it does not answer within
the side's timeout (``timeout_seconds``, default 30 s) is a ``TimedOut`` that
``providers.http`` does not repeat and that fails every later request to that system in the
run at once, so each check waiting on it stops with the same ``connection.slow``. If checks are
still running at the run's time limit while requests to a system are on the wire, that system
is named (one ``connection.slow`` each) instead of one ``internal.check_timeout`` per check; a
check over the limit with nothing on the wire is still ``internal.check_timeout``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from checks.base import Check
from checks.catalog import entry
from checks.context import (
    MIDDLEWARE_CAPABILITIES,
    RESOURCE_CAPABILITIES,
    RUNS_LOOKBACK,
    ConnectionState,
    History,
    MiddlewareSide,
    RunContext,
    SideData,
)
from checks.errors import finding_for_error
from checks.findings import Finding, Impact, Severity, blocked_invoices, dedupe, worst_first
from checks.middleware import middleware_blind_spots
from checks.polling import flow_step
from checks.remediation import render
from common.threads import SHARED, RunExecutor
from config.integrations import IntegrationConfig, SideConfig
from providers.base import Provider
from providers.errors import ProviderError, TimedOut
from providers.fanout import FanOut
from providers.http import CallStats

logger = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT = 60.0  # seconds per check; providers time out each request at 30 s
# Families whose findings come from provider errors as much as from checks: they are
# "resolved" whenever they are absent, since every check touching a system would re-raise them.
ERROR_FAMILIES = frozenset({"connection", "token", "apikey", "rate"})

ProviderFactory = Callable[[str, SideConfig, CallStats], Provider]

# Every resource some check reads, fetched all at once as the run starts. Checks read their
# resources one after another; without this, a check's second read would wait for its first,
# and the run would take the sum of those waits instead of the longest single fetch.
PREFETCH: dict[str, tuple[str, ...]] = {
    "source": ("probe", "org", "invoices", "contacts", "items"),
    "destination": ("probe", "org", "invoices", "contacts", "items", "accounts", "tax_rates", "tracking"),
}

# What the cheap checks (``Check.cheap``) always read: one probe per side. The organisation is
# read only where the probe does not name the tenant (QuickBooks, Stripe); fetched ahead for
# every system, Xero's three organisation calls were mostly still in flight when the run ended,
# spending the app's per-minute allowance for nothing.
CHEAP_PREFETCH: dict[str, tuple[str, ...]] = {"source": ("probe",), "destination": ("probe",)}


@dataclass(frozen=True)
class RunResult:
    integration: str
    source: str  # system keys
    destination: str
    trigger: str
    started_at: datetime
    duration_s: float
    findings: tuple[Finding, ...]  # worst first; each with status new / ongoing
    resolved: tuple[tuple[str, str], ...]  # (code, subject) present last run, cleared now
    api_calls: dict[str, int]
    timings: dict[str, float]
    remediation: dict[tuple[str, str], str]
    ref: str  # short id users quote to operators; logs carry it
    cannot_tell: tuple[str, ...] = ()  # what a system does not expose, so no check could judge it
    run_id: int | None = None  # database id once stored
    last_synced_at: datetime | None = None
    context: RunContext | None = field(default=None, repr=False, compare=False)
    middleware: str | None = None  # system key of the Make scenario / Zap in between, if any
    middleware_note: str | None = None  # its state in one line ("Make scenario 'X': switched off ...")
    # Families whose checks ran to the end (None: not known). A run of a few checks (the
    # monitoring sweep's cheap ones) proves nothing about the families it did not run.
    completed_families: frozenset[str] | None = None

    @property
    def blocked(self) -> Impact:
        return blocked_invoices(self.findings)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def failing(self) -> bool:
        return any(f.severity >= Severity.FAIL for f in self.findings)

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0

    def remediation_for(self, finding: Finding) -> str:
        return self.remediation.get(finding.key, "")

    def to_json(self) -> dict[str, Any]:
        return {
            "integration": self.integration,
            "middleware": self.middleware,
            "middleware_note": self.middleware_note,
            "run": self.ref,
            "started_at": self.started_at.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "api_calls": dict(sorted(self.api_calls.items())),
            "summary": {
                "fail": self.count(Severity.FAIL),
                "warn": self.count(Severity.WARN),
                "error": self.count(Severity.ERROR),
                "blocked": self.blocked.to_json(),
            },
            "findings": [
                {
                    "code": f.code,
                    "severity": f.severity.label,
                    "title": entry(f.code).title,
                    "subject": f.subject,
                    "system": f.system,
                    "evidence": f.evidence,
                    "impact": f.impact.to_json(),
                    "remediation": self.remediation_for(f),
                    "status": f.status,
                    "action": f.action.to_json() if f.action else None,
                }
                for f in self.findings
            ],
            "resolved": sorted({code for code, _ in self.resolved}),
            "cannot_tell": list(self.cannot_tell),
        }


@dataclass(frozen=True, slots=True)
class PreviousRun:
    keys: frozenset[tuple[str, str]]
    last_synced_at: datetime | None = None


def fetch_since(integration: IntegrationConfig, today: date) -> date:
    """How far back to read invoices: the whole window, and far enough to see the filter's edge."""
    window = today - timedelta(days=integration.settings.window_days)
    since = integration.settings.since
    return min(since, window) if since else window


def run_integration(
    integration: IntegrationConfig,
    checks: Sequence[Check],
    make_provider: ProviderFactory,
    *,
    previous: PreviousRun | None = None,
    connections: dict[str, ConnectionState] | None = None,
    history: History | None = None,
    trigger: str = "cli",
    time_limit: float = DEFAULT_TIME_LIMIT,
    now: datetime | None = None,
) -> RunResult:
    started = now or datetime.now(UTC)
    ref = uuid.uuid4().hex[:8]
    clock = time.perf_counter()
    stats = CallStats(run=True)  # a system that times out is not asked again this run
    since = fetch_since(integration, started.date())
    connections = connections or {}
    fetches = RunExecutor(SHARED)
    fan_out = FanOut(fetches)
    sides: dict[str, SideData] = {}
    setup_errors: list[Finding] = []
    for name in ("source", "destination"):
        config = integration.side(name)
        provider: Provider | None = None
        failure: ProviderError | None = None
        try:
            provider = make_provider(name, config, stats)
            provider.fan_out = fan_out  # the run's executor; the side lends its memo below
        except ProviderError as e:
            failure = e
        sides[name] = SideData(name, config, provider, since=since, connection=connections.get(name))
        if failure is not None:
            setup_errors.append(finding_for_error(failure, sides[name]))
    ctx = RunContext(
        integration=integration,
        source=sides["source"],
        destination=sides["destination"],
        now=started,
        history=history or History(last_synced_at=previous.last_synced_at if previous else None),
        middleware=_middleware_side(integration, make_provider, stats, fan_out, connections, started),
    )
    # A side that could not even be set up (no credentials stored) is reported once, above;
    # running the checks would only repeat it.
    runnable = list(checks) if not setup_errors else []
    # The sweep runs only the cheap checks: fetching lists they never read would make every
    # sweep cost as much as a full run (the checks still fetch, once, what they do read).
    cheap_only = all(c.cheap for c in runnable)
    if runnable:
        for side_name, names in (CHEAP_PREFETCH if cheap_only else PREFETCH).items():
            for name in names:
                fetches.submit(sides[side_name].warm, name)
        if ctx.middleware is not None and ctx.middleware.provider is not None and not cheap_only:
            for name in MIDDLEWARE_CAPABILITIES:
                fetches.submit(ctx.middleware.warm, name)
    findings, errors, timings, completed = _run_checks(
        ctx, [c for c in runnable if not c.final], time_limit, ref, stats
    )
    finals = [c for c in runnable if c.final]
    if finals:
        more, more_errors, more_timings, more_completed = _run_checks(ctx, finals, time_limit, ref, stats)
        findings += more
        errors += more_errors
        timings.update(more_timings)
        completed |= more_completed
    # A check's own finding carries richer evidence than the same code derived from an error
    # (token.expired from the token check vs from a 401): dedupe keeps the first, so checks first.
    findings = setup_errors + findings + errors
    for side in ctx.all_sides():
        if side.provider is not None:
            side.provider.close()
    # A fetch still running belongs to a timed-out check: its HTTP timeout ends it.
    fetches.shutdown(wait=False, cancel_futures=True)
    merged = dedupe(findings)
    marked, resolved = compare(merged, previous, completed)
    ordered = worst_first(marked)
    remediation = {f.key: _render_safely(f, integration, ref) for f in ordered}
    return RunResult(
        integration=integration.name,
        source=integration.source.system,
        destination=integration.destination.system,
        trigger=trigger,
        started_at=started,
        duration_s=time.perf_counter() - clock,
        findings=tuple(ordered),
        resolved=resolved,
        api_calls=stats.snapshot(),
        timings=timings,
        remediation=remediation,
        ref=ref,
        cannot_tell=_cannot_tell(ctx) if runnable else (),
        last_synced_at=_last_synced(ctx, previous),
        context=ctx,
        middleware=integration.middleware.system if integration.middleware is not None else None,
        middleware_note=_middleware_note(ctx) if runnable and not cheap_only else None,
        completed_families=frozenset(completed),
    )


def _middleware_note(ctx: RunContext) -> str | None:
    """The middleware's state in one line, from what the run already read."""
    step = flow_step(ctx)
    return f"{step[0]}: {step[2]}" if step is not None else None


def _middleware_side(
    integration: IntegrationConfig,
    make_provider: ProviderFactory,
    stats: CallStats,
    fan_out: FanOut,
    connections: dict[str, ConnectionState],
    started: datetime,
) -> MiddlewareSide | None:
    """The third side, when configured. A middleware that cannot be read (nothing connected)
    does not stop the run: the middleware check reports why (``setup_error``)."""
    if integration.middleware is None:
        return None
    config = integration.middleware.side_config()
    provider: Provider | None = None
    failure: ProviderError | None = None
    try:
        provider = make_provider("middleware", config, stats)
        provider.fan_out = fan_out
    except ProviderError as e:
        failure = e
    return MiddlewareSide(
        "middleware",
        config,
        provider,
        connection=connections.get("middleware"),
        runs_since=started - RUNS_LOOKBACK,
        setup_error=failure,
    )


def _run_checks(
    ctx: RunContext, checks: Sequence[Check], time_limit: float, ref: str, stats: CallStats
) -> tuple[list[Finding], list[Finding], dict[str, float], set[str]]:
    findings: list[Finding] = []
    errors: list[Finding] = []  # findings derived from provider errors
    timings: dict[str, float] = {}
    completed: set[str] = set()
    pool = RunExecutor(SHARED)
    started: dict[Future[tuple[list[Finding], float]], Check] = {
        pool.submit(_timed, check, ctx): check for check in checks
    }
    _done, pending = wait(started, timeout=time_limit)
    late = [check for future, check in started.items() if future in pending]
    waiting_on = stats.waiting_on() if late else []
    if waiting_on:
        errors.extend(_slow_systems(ctx, waiting_on, late, time_limit, ref))
    for future, check in started.items():
        if future in pending:
            future.cancel()
            timings[check.name] = time_limit
            if not waiting_on:
                findings.append(
                    Finding(
                        code="internal.check_timeout",
                        severity=Severity.ERROR,
                        subject=f"check:{check.name}",
                        evidence={"check": check.name, "limit_s": round(time_limit, 1), "run_ref": ref},
                    )
                )
                logger.warning("run %s: check %s did not finish within %ss", ref, check.name, time_limit)
            continue
        try:
            produced, elapsed = future.result()
        except ProviderError as e:
            timings[check.name] = 0.0
            errors.append(finding_for_error(e, _side_of(ctx, e.system)))
            logger.info("run %s: check %s stopped on %s", ref, check.name, e)
        except Exception as e:  # the runner contains every failure; the log has the traceback
            logger.exception("run %s: check %s crashed", ref, check.name)
            findings.append(
                Finding(
                    code="internal.check_failed",
                    severity=Severity.ERROR,
                    subject=f"check:{check.name}",
                    evidence={"check": check.name, "error_type": type(e).__name__, "run_ref": ref},
                )
            )
        else:
            timings[check.name] = round(elapsed, 4)
            findings.extend(produced)
            completed.add(check.family)
    # Don't wait for a timed-out check: its thread ends when its HTTP timeout fires.
    pool.shutdown(wait=False, cancel_futures=True)
    return findings, errors, timings, completed


def _slow_systems(
    ctx: RunContext, systems: Sequence[str], late: Sequence[Check], time_limit: float, ref: str
) -> list[Finding]:
    """One ``connection.slow`` per system still holding requests when the time limit struck."""
    names = ", ".join(sorted(check.name for check in late))
    found = []
    for system in systems:
        side = _side_of(ctx, system)
        logger.warning("run %s: %s had not answered after %ss; checks left waiting: %s", ref, system, time_limit, names)
        error = TimedOut(
            f"{side.display_name} had not answered when the run's time limit of {time_limit:g} s was reached"
            f" (checks left waiting: {names})",
            system=system,
            code="run_time_limit",
            timeout_s=time_limit,
        )
        found.append(finding_for_error(error, side))
    return found


def _timed(check: Check, ctx: RunContext) -> tuple[list[Finding], float]:
    t0 = time.perf_counter()
    produced = check(ctx)
    return produced, time.perf_counter() - t0


def _side_of(ctx: RunContext, system: str) -> SideData:
    for side in ctx.all_sides():
        if side.system == system:
            return side
    return ctx.destination


def compare(
    findings: Sequence[Finding], previous: PreviousRun | None, completed_families: set[str]
) -> tuple[list[Finding], tuple[tuple[str, str], ...]]:
    """Mark each finding new or ongoing; list previous findings that cleared.

    A previous finding counts as resolved only if the family that reports it ran to the end
    this time: a check stopped by a revoked token proves nothing about SKUs.
    """
    if previous is None:
        return list(findings), ()
    current_keys = {f.key for f in findings}
    marked = [replace(f, status="ongoing" if f.key in previous.keys else "new") for f in findings]
    resolved = tuple(
        sorted(
            key
            for key in previous.keys
            if key not in current_keys
            and (entry(key[0]).family in ERROR_FAMILIES or entry(key[0]).family in completed_families)
        )
    )
    return marked, resolved


# What each missing capability keeps the checks from judging, in the report's words.
_BLIND_SPOTS: dict[str, str] = {
    "contacts": "contacts (contact checks)",
    "items": "items (SKU checks)",
    "invoices": "invoices (sync state)",
    "accounts": "accounts (account-code mapping)",
    "tax_rates": "tax rates (tax-code mapping)",
    "tracking": "tracking categories (tracking mapping)",
}


def _cannot_tell(ctx: RunContext) -> tuple[str, ...]:
    """Derived from declared capabilities: what a side does not expose that a check needs."""
    notes: list[str] = []
    for side_name, names in PREFETCH.items():
        side = ctx.side(side_name)
        missing = [_BLIND_SPOTS[n] for n in names if n in _BLIND_SPOTS and not side.supports(RESOURCE_CAPABILITIES[n])]
        if missing:
            notes.append(f"{side.display_name} ({side_name}) does not expose {', '.join(missing)}")
    org = ctx.destination.fetched().get("org")
    if org is not None and not org.features_known:
        notes.append(f"{ctx.destination.display_name} does not say which features its plan includes")
    for side in ctx.sides():
        if side.provider is not None:
            notes.extend(
                f"{side.display_name} ({side.side}) does not say {spot}" for spot in side.provider.blind_spots()
            )
    notes.extend(middleware_blind_spots(ctx))
    return tuple(notes)


def _render_safely(finding: Finding, integration: IntegrationConfig, ref: str) -> str:
    try:
        return render(
            finding,
            integration=integration.name,
            source=integration.source.system,
            destination=integration.destination.system,
            middleware=integration.middleware.system if integration.middleware is not None else None,
        )
    except Exception:
        # A template bug must not hide the finding itself; tests render every template.
        logger.exception("run %s: remediation template for %s failed", ref, finding.code)
        return ""


def _last_synced(ctx: RunContext, previous: PreviousRun | None) -> datetime | None:
    """Newest destination invoice seen in this run (or carried from the last run)."""
    newest = previous.last_synced_at if previous else None
    fetched = ctx.destination.fetched().get("invoices") or []
    for invoice in fetched:
        stamp = invoice.updated_at
        if stamp is None and invoice.issue_date is not None:
            stamp = datetime.combine(invoice.issue_date, datetime.min.time(), tzinfo=UTC)
        if stamp is not None and stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        if stamp is not None and (newest is None or stamp > newest):
            newest = stamp
    return newest
