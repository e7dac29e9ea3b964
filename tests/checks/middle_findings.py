"""Scenarios in which the real checks find each middleware and job-app code (see
``tests/checks/produced_findings.py``): a Make scenario or a Zap given as the records its
provider returns (``MiddlewareSide.preloaded``), job-app invoices as the feed reads them.
Provider values with ``<``, ``>`` or ``&`` show that templates escape what they print."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from checks.context import MIDDLEWARE_CAPABILITIES, History, MiddlewareSide, RunContext
from checks.errors import finding_for_error
from checks.jobapps import JOBAPPS
from checks.middleware import MIDDLEWARE
from config.integrations import IntegrationConfig, SyncSettings
from config.middleware import MiddlewareConfig
from providers.errors import CredentialsMissing, FeedMismatch, TokenRevoked
from providers.flows import (
    Flow,
    FlowConnection,
    FlowRun,
    IncompleteRun,
    RunStatus,
    Schedule,
    ScheduleKind,
    Usage,
)
from providers.records import InvoiceStatus
from tests.checks.contexts import config, side
from tests.checks.produced_findings import Produced, Registry
from tests.checks.records import NOW, api_key, invoice, line

MIDDLE = Registry()

MAKE = MiddlewareConfig(system="make", scenario_id="1229", organization_id="21", zone="eu1.make.com")
ZAPIER = MiddlewareConfig(system="zapier", zap_id="00000000-0000-c000-8000-000000012345", plan="free")
EVERY_15 = Schedule(ScheduleKind.INTERVAL, timedelta(minutes=15), detail="every 15 minutes")
WAITING = [invoice("1011", day=date(2026, 5, 18)), invoice("1012", day=date(2026, 5, 19))]


def integration(
    middle: MiddlewareConfig | None, source: str = "aroflo", destination: str = "xero"
) -> IntegrationConfig:
    base = config(source, destination)
    return IntegrationConfig(base.name, base.source, base.destination, SyncSettings(), middleware=middle)


def scenario(**kw: Any) -> Flow:
    base: dict[str, Any] = {"id": "1229", "name": "AroFlo <invoices> to Xero", "enabled": True, "schedule": EVERY_15}
    base.update(kw)
    return Flow(**base)


def failed(minutes: int, message: str | None = "Account code '4-1010' is not valid & archived") -> FlowRun:
    return FlowRun(
        id=f"e{minutes}",
        started_at=NOW - timedelta(minutes=minutes),
        status=RunStatus.ERROR,
        raw_status="ERROR" if message else "error",
        error=message,
        error_kind="DataError" if message else None,
        failing_step="Create an invoice" if message else None,
        failing_app="xero" if message else None,
    )


def succeeded(minutes: int) -> FlowRun:
    return FlowRun(id=f"s{minutes}", started_at=NOW - timedelta(minutes=minutes), status=RunStatus.SUCCESS)


def run_middle(
    middle: MiddlewareConfig, *, setup_error: Any = None, capabilities: Any = None, **resources: Any
) -> Produced:
    """The middleware check on one world: job-app invoices waiting, none in Xero yet."""
    cfg = integration(middle)
    caps = capabilities if capabilities is not None else frozenset(MIDDLEWARE_CAPABILITIES[n] for n in resources)
    middle_side = MiddlewareSide.preloaded("middleware", middle.side_config(), capabilities=caps, **resources)
    middle_side.setup_error = setup_error
    middle_side.runs_since = NOW - timedelta(days=2)
    context = RunContext(
        cfg,
        side("source", cfg, invoices=WAITING),
        side("destination", cfg, invoices=[]),
        now=NOW,
        history=History(),
        middleware=middle_side,
    )
    return Produced(cfg, tuple(MIDDLEWARE(context)))


@MIDDLE.add
def make_token_not_connected() -> Produced:
    return run_middle(MAKE, setup_error=CredentialsMissing("Make (middleware) is not connected", system="make"))


@MIDDLE.add
def zapier_without_a_published_integration() -> Produced:
    return run_middle(ZAPIER, setup_error=CredentialsMissing("Zapier (middleware) is not connected", system="zapier"))


@MIDDLE.add
def make_scenario_deleted() -> Produced:
    return run_middle(MAKE, flow=None)


@MIDDLE.add
def make_scenario_stopped_after_errors() -> Produced:
    runs = [failed(10), failed(25), failed(40)]
    return run_middle(MAKE, flow=scenario(enabled=False, stopped_by_errors=True), flow_runs=runs)


@MIDDLE.add
def make_scenario_paused_for_billing() -> Produced:
    return run_middle(MAKE, flow=scenario(paused_for_billing=True), flow_runs=[])


@MIDDLE.add
def zap_turned_off_nobody_says_why() -> Produced:
    zap = scenario(id="z1", name="ServiceM8 to Xero", enabled=False, stopped_by_errors=None, url="https://zapier.com/x")
    return run_middle(ZAPIER, flow=zap, flow_runs=[failed(30, None)])


@MIDDLE.add
def make_scenario_failing_now() -> Produced:
    return run_middle(MAKE, flow=scenario(), flow_runs=[failed(10), succeeded(25), failed(40)])


@MIDDLE.add
def zap_failed_then_recovered() -> Produced:
    zap = scenario(id="z1", name="ServiceM8 to Xero")
    return run_middle(ZAPIER, flow=zap, flow_runs=[succeeded(5), failed(30, None)])


@MIDDLE.add
def zap_runs_held() -> Produced:
    zap = scenario(id="z1", name="ServiceM8 to Xero")
    held = FlowRun(id="h1", started_at=NOW - timedelta(minutes=20), status=RunStatus.HELD, raw_status="held")
    return run_middle(ZAPIER, flow=zap, flow_runs=[held])


@MIDDLE.add
def make_incomplete_executions() -> Produced:
    items = [
        IncompleteRun("d1", NOW - timedelta(hours=3), "Contact name <Jane> is already assigned", attempts=3),
        IncompleteRun("d2", NOW - timedelta(hours=1), "Contact name <Jane> is already assigned", attempts=1),
    ]
    return run_middle(MAKE, flow=scenario(incomplete_count=2), flow_runs=[succeeded(5)], incomplete_runs=items)


@MIDDLE.add
def make_connections_expired_failing_and_expiring() -> Produced:
    conns = [
        FlowConnection("93", "Xero <Sparky>", app="xero", expires_at=NOW - timedelta(days=1)),
        FlowConnection("94", "AroFlo", app="aroflo", verified=False),
        FlowConnection("95", "Google Sheets", app="google", expires_at=NOW + timedelta(days=3)),
    ]
    return run_middle(MAKE, flow=scenario(), flow_runs=[succeeded(5)], flow_connections=conns)


@MIDDLE.add
def zapier_authentication_expired() -> Produced:
    zap = scenario(id="z1", name="ServiceM8 to Xero")
    conns = [FlowConnection("auth-xero", "Xero (Sparky)", app="Xero", expired=True)]
    return run_middle(ZAPIER, flow=zap, flow_runs=[succeeded(5)], flow_connections=conns)


@MIDDLE.add
def make_operations_used_up() -> Produced:
    usage = Usage(
        "operations", used=10000, limit=10000, resets_at=NOW + timedelta(days=9), plan="Core", auto_purchase=False
    )
    return run_middle(MAKE, flow=scenario(), flow_runs=[succeeded(5)], usage=usage)


@MIDDLE.add
def make_operations_nearly_used_with_auto_purchase() -> Produced:
    usage = Usage("operations", used=9500, limit=10000, plan="Core", auto_purchase=True)
    return run_middle(MAKE, flow=scenario(), flow_runs=[succeeded(5)], usage=usage)


@MIDDLE.add
def make_organisation_paused() -> Produced:
    usage = Usage("operations", used=100, limit=10000, paused=True, plan="Pro")
    return run_middle(MAKE, flow=scenario(), flow_runs=[succeeded(5)], usage=usage)


@MIDDLE.add
def zap_silent_for_days() -> Produced:
    zap = scenario(id="z1", name="ServiceM8 to Xero", last_success_at=NOW - timedelta(days=4))
    return run_middle(ZAPIER, flow=zap, flow_runs=[])


@MIDDLE.add
def make_scenario_never_ran() -> Produced:
    return run_middle(
        MAKE,
        flow=scenario(schedule=Schedule(ScheduleKind.CALENDAR, timedelta(days=1), detail="daily at 06:00")),
        flow_runs=[],
    )


# -- job apps ------------------------------------------------------------------------------


def run_jobapp(source: list[Any], destination: list[Any], system: str = "aroflo", books: str = "xero") -> Produced:
    cfg = integration(None, system, books)
    context = RunContext(
        cfg, side("source", cfg, invoices=source), side("destination", cfg, invoices=destination), now=NOW
    )
    return Produced(cfg, tuple(JOBAPPS(context)))


@MIDDLE.add
def aroflo_invoices_never_posted() -> Produced:
    stamp = datetime(2026, 5, 12, 9, 0, tzinfo=NOW.tzinfo)
    source = [
        invoice("1011", posted=False, updated_at=stamp, contact_name="ABC <Building>"),
        invoice("1012", posted=True, updated_at=stamp),
        invoice("1013", posted=False, status=InvoiceStatus.DRAFT, updated_at=stamp),
    ]
    return run_jobapp(source, [])


@MIDDLE.add
def generic_app_invoices_never_posted() -> Produced:
    stamp = datetime(2026, 5, 12, 9, 0, tzinfo=NOW.tzinfo)
    return run_jobapp([invoice("J-1", posted=False, updated_at=stamp)], [], system="generic")


@MIDDLE.add
def aroflo_job_reinvoiced_under_a_new_number() -> Produced:
    old = invoice("1020", line(amount="480.00"), job="J-<88>", status=InvoiceStatus.VOID)
    new = invoice("1031", line(amount="480.00"), job="J-<88>")
    copy = invoice("1020", line(amount="480.00"), id="xero-1020", day=date(2026, 5, 9))
    return run_jobapp([old, new], [copy])


@MIDDLE.add
def aroflo_job_referenced_in_quickbooks() -> Produced:
    copy = invoice("QB-77", line(amount="250.00"), id="qb-77", reference="J-91")
    return run_jobapp([invoice("1044", line(amount="250.00"), job="J-91")], [copy], books="quickbooks")


@MIDDLE.add
def aroflo_mapping_does_not_fit() -> Produced:
    cfg = integration(None)
    error = FeedMismatch(
        "feed.mapping.invoice.total ($.totalinc) does not fit the invoices aroflo returned: no key 'totalinc' at $ "
        "(keys there: invoiceid, invoicenumber, total_inc)",
        field="feed.mapping.invoice.total",
        path="$.totalinc",
        sample='{"invoiceid": "X1", "invoicenumber": "1011", "total_inc": "<1307.35>"}',
        system="aroflo",
        code="feed_mismatch",
    )
    source = side("source", cfg, invoices=[])
    return Produced(cfg, (finding_for_error(error, source),))


@MIDDLE.add
def aroflo_secret_key_regenerated() -> Produced:
    cfg = integration(None)
    error = TokenRevoked("Authentication Failed - Signatures do not match", system="aroflo", code="-99999")
    source = side("source", cfg, credentials=api_key("uencoded=U&pencoded=P&orgencoded=O&secret_key=old"))
    return Produced(cfg, (finding_for_error(error, source),))
