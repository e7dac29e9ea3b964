"""The middleware checks on a Make scenario or a Zap given as its provider's records: exact
evidence, severity and what each finding holds up; no alarm where the middle is healthy."""

from __future__ import annotations

from datetime import timedelta

from checks.context import MIDDLEWARE_CAPABILITIES, MiddlewareSide, RunContext
from checks.findings import Severity
from checks.middleware import MIDDLEWARE, middleware_blind_spots
from providers.errors import CredentialsMissing
from providers.flows import FlowConnection, Usage
from tests.checks.contexts import side
from tests.checks.middle_findings import (
    MAKE,
    ZAPIER,
    aroflo_secret_key_regenerated,
    failed,
    integration,
    make_connections_expired_failing_and_expiring,
    make_incomplete_executions,
    make_operations_nearly_used_with_auto_purchase,
    make_operations_used_up,
    make_scenario_failing_now,
    make_scenario_stopped_after_errors,
    run_middle,
    scenario,
    succeeded,
    zap_failed_then_recovered,
    zap_runs_held,
    zap_turned_off_nobody_says_why,
)
from tests.checks.records import NOW, invoice

WAITING = ["1011", "1012"]


def codes(produced: object) -> list[tuple[str, str, str]]:
    return [(f.code, f.subject, f.severity.label) for f in produced.findings]  # type: ignore[attr-defined]


def test_a_healthy_scenario_says_nothing() -> None:
    usage = Usage("operations", used=1200, limit=10000)
    conn = FlowConnection("93", "Xero", app="xero", expires_at=NOW + timedelta(days=60))
    produced = run_middle(
        MAKE, flow=scenario(), flow_runs=[succeeded(5), succeeded(20)], usage=usage, flow_connections=[conn]
    )
    assert produced.findings == ()


def test_a_scenario_make_stopped_after_errors_holds_up_the_waiting_invoices() -> None:
    [finding] = make_scenario_stopped_after_errors().findings
    assert (finding.code, finding.severity, finding.system) == ("middleware.disabled", Severity.FAIL, "make")
    ev = finding.evidence
    assert (ev["reason"], ev["consecutive_errors"], ev["error_messages_available"], ev["waiting"]) == (
        "errors",
        3,
        True,
        2,
    )
    assert ev["last_errors"][0] == {
        "at": (NOW - timedelta(minutes=10)).isoformat(),
        "message": "Account code '4-1010' is not valid & archived",
        "kind": "DataError",
        "module": "Create an invoice",
        "app": "xero",
        "status": "ERROR",
    }
    assert finding.impact.invoices == tuple(WAITING)


def test_zapier_says_only_off_and_its_runs_carry_no_message() -> None:
    [finding] = zap_turned_off_nobody_says_why().findings
    assert finding.evidence["reason"] == "unknown" and finding.evidence["error_messages_available"] is False
    assert finding.evidence["url"] == "https://zapier.com/x"


def test_failing_now_fails_recovered_warns_without_impact() -> None:
    [now] = make_scenario_failing_now().findings
    assert (now.code, now.severity, now.evidence["errors"], now.evidence["runs"], now.evidence["failing_now"]) == (
        "middleware.errors",
        Severity.FAIL,
        2,
        3,
        True,
    )
    assert now.impact.invoices == tuple(WAITING)
    [recovered] = zap_failed_then_recovered().findings
    assert recovered.severity is Severity.WARN and recovered.impact.invoices == ()


def test_held_zap_runs() -> None:
    [held] = zap_runs_held().findings
    assert (held.code, held.evidence["held"], held.impact.invoices) == ("middleware.held", 1, tuple(WAITING))


def test_incomplete_executions_are_counted_by_reason_oldest_first() -> None:
    [found] = make_incomplete_executions().findings
    assert found.code == "middleware.incomplete" and found.severity is Severity.WARN
    assert found.evidence["reasons"] == {"Contact name <Jane> is already assigned": 2}
    assert [i["id"] for i in found.evidence["items"]] == ["d1", "d2"]


def test_connections_expired_failing_and_expiring() -> None:
    assert codes(make_connections_expired_failing_and_expiring()) == [
        ("middleware.connection_expired", "Xero <Sparky>", "fail"),
        ("middleware.connection_expired", "AroFlo", "fail"),
        ("middleware.connection_expired", "Google Sheets", "warn"),
    ]
    reasons = [f.evidence["reason"] for f in make_connections_expired_failing_and_expiring().findings]
    assert reasons == ["expired", "failed_verification", "expiring"]


def test_operations_used_up_stop_the_scenarios_unless_bought_automatically() -> None:
    [used_up] = make_operations_used_up().findings
    assert (used_up.severity, used_up.evidence["exhausted"], used_up.evidence["percent"]) == (Severity.FAIL, True, 100)
    assert used_up.impact.invoices == tuple(WAITING)
    [near] = make_operations_nearly_used_with_auto_purchase().findings
    assert (near.severity, near.evidence["exhausted"], near.evidence["percent"], near.impact.invoices) == (
        Severity.WARN,
        False,
        95,
        (),
    )


def test_a_silent_zap_is_stale_but_a_recent_success_is_not() -> None:
    zap = scenario(id="z1", name="Z", last_success_at=NOW - timedelta(hours=47))
    assert run_middle(ZAPIER, flow=zap, flow_runs=[]).findings == ()
    old = scenario(id="z1", name="Z", last_success_at=NOW - timedelta(hours=49))
    [stale] = run_middle(ZAPIER, flow=old, flow_runs=[]).findings
    assert (stale.code, stale.evidence["hours_since"], stale.evidence["threshold_hours"]) == (
        "middleware.stale",
        49,
        48,
    )


def test_a_weekly_schedule_stretches_the_dead_mans_switch() -> None:
    from providers.flows import Schedule, ScheduleKind

    weekly = Schedule(ScheduleKind.CALENDAR, timedelta(days=7), detail="weekly")
    flow = scenario(schedule=weekly, last_success_at=NOW - timedelta(days=6))
    assert run_middle(MAKE, flow=flow, flow_runs=[]).findings == ()


def test_errors_are_not_reported_twice_when_the_scenario_is_off() -> None:
    produced = run_middle(MAKE, flow=scenario(enabled=False, stopped_by_errors=True), flow_runs=[failed(5)])
    assert [f.code for f in produced.findings] == ["middleware.disabled"]


def test_nothing_connected_is_a_warning_and_zapier_says_why_it_is_hard() -> None:
    produced = run_middle(ZAPIER, setup_error=CredentialsMissing("not connected", system="zapier"))
    [finding] = produced.findings
    assert (finding.code, finding.severity, finding.evidence["public_integration_needed"]) == (
        "middleware.not_connected",
        Severity.WARN,
        True,
    )
    cfg = integration(ZAPIER)
    middle = MiddlewareSide.preloaded("middleware", ZAPIER.side_config())
    middle.setup_error = CredentialsMissing("not connected", system="zapier")
    ctx = RunContext(cfg, side("source", cfg), side("destination", cfg), now=NOW, middleware=middle)
    [note] = middleware_blind_spots(ctx)
    assert "Zapier issues API tokens only to integrations published in its App Directory" in note
    assert "sync-doctor connect acme middleware --access-token" in note


def test_what_a_middleware_does_not_expose_is_not_read() -> None:
    # Zapier has no usage or incomplete-run endpoint: the check reads only what is declared.
    cfg = integration(ZAPIER)
    caps = frozenset({MIDDLEWARE_CAPABILITIES["flow"], MIDDLEWARE_CAPABILITIES["flow_runs"]})
    middle = MiddlewareSide.preloaded(
        "middleware", ZAPIER.side_config(), capabilities=caps, flow=scenario(), flow_runs=[succeeded(5)]
    )
    ctx = RunContext(cfg, side("source", cfg), side("destination", cfg), now=NOW, middleware=middle)
    assert list(MIDDLEWARE(ctx)) == []


def test_the_middle_holds_up_only_invoices_not_yet_in_the_destination() -> None:
    cfg = integration(MAKE)
    middle = MiddlewareSide.preloaded(
        "middleware", MAKE.side_config(), flow=scenario(enabled=False, stopped_by_errors=True), flow_runs=[]
    )
    ctx = RunContext(
        cfg,
        side("source", cfg, invoices=[invoice("1011"), invoice("1012")]),
        side("destination", cfg, invoices=[invoice("1011")]),
        now=NOW,
        middleware=middle,
    )
    [finding] = MIDDLEWARE(ctx)
    assert finding.impact.invoices == ("1012",)


def remediation(produced: object, code: str) -> str:
    from checks.remediation import render

    cfg = produced.integration  # type: ignore[attr-defined]
    [finding] = [f for f in produced.findings if f.code == code][:1]  # type: ignore[attr-defined]
    middle = cfg.middleware.system if cfg.middleware else None
    return render(
        finding, integration="acme", source=cfg.source.system, destination=cfg.destination.system, middleware=middle
    )


def test_the_remediation_names_makes_and_zapiers_own_screens() -> None:
    stopped = remediation(make_scenario_stopped_after_errors(), "middleware.disabled")
    assert "*Scenarios → AroFlo &lt;invoices&gt; to Xero → History*" in stopped and "*ON*" in stopped
    assert "Make turned it off after it failed 3 time(s) in a row" in stopped
    zap = remediation(zap_turned_off_nobody_says_why(), "middleware.disabled")
    assert "*Zap history*" in zap and "95% of the time over more than 20 runs in 7 days" in zap
    assert "Zapier's API does not say whether its owner, repeated errors or the plan turned it off" in zap
    expired = remediation(make_connections_expired_failing_and_expiring(), "middleware.connection_expired")
    assert "open *Connections*, find *Xero &lt;Sparky&gt;* and choose *Reauthorize*" in expired
    used = remediation(make_operations_used_up(), "middleware.operations_exhausted")
    assert "*Organization → Subscription*" in used and "stop until the allowance resets" in used
    recovered = remediation(zap_failed_then_recovered(), "middleware.errors")
    assert "gives each run's status but not its error message" in recovered
    aroflo = remediation(aroflo_secret_key_regenerated(), "apikey.invalid")
    assert "*Site Administration → Settings → General → AroFlo API*" in aroflo
