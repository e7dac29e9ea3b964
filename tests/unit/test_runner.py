"""The runner: checks run concurrently with a time limit; failures become findings, once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from checks.base import Check
from checks.context import RunContext
from checks.findings import Finding, Severity
from checks.runner import PreviousRun, run_integration
from config.integrations import parse_config
from providers.base import Endpoints, Provider, ProviderOptions
from providers.credentials import MemoryCredentialStore
from providers.errors import RateLimited, TokenRevoked, Unavailable
from providers.http import CallStats, Limits
from providers.oauth import TokenManager

CONFIG = parse_config(
    {
        "integrations": {
            "acme": {
                "source": {"system": "hubspot", "tenant": "4411"},
                "destination": {"system": "xero", "tenant": "t-1"},
            }
        }
    }
)
ACME = CONFIG.integrations["acme"]


class QuietSystem(Provider):
    """A system with no capabilities: these tests' checks never call out."""

    display_name = "Quiet"
    default_endpoints = Endpoints("http://127.0.0.1:9")


def make_provider(side: str, cfg, stats: CallStats) -> Provider:
    cls = type(f"Quiet_{cfg.system}", (QuietSystem,), {"system": cfg.system})
    options = ProviderOptions(tenant=cfg.tenant, endpoints=QuietSystem.default_endpoints, limits=Limits())
    return cls(options, TokenManager(MemoryCredentialStore(side), None), stats)


def finding(code: str, subject: str, severity: Severity = Severity.FAIL) -> Finding:
    return Finding(code=code, severity=severity, subject=subject, evidence={"sku": subject})


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # lets a deliberately stuck check end once the test is over


def test_checks_run_concurrently() -> None:
    barrier = threading.Barrier(3, timeout=5)  # only passes if all three are running at once

    def waits(ctx: RunContext) -> list[Finding]:
        barrier.wait()
        return []

    checks = [Check(f"c{i}", "sku", waits) for i in range(3)]
    result = run_integration(ACME, checks, make_provider)
    assert result.findings == ()
    assert set(result.timings) == {"c0", "c1", "c2"}


def test_the_run_lends_its_executor_and_each_side_its_memo_to_the_providers() -> None:
    lent: list[tuple[bool, bool]] = []

    def inspect(ctx: RunContext) -> list[Finding]:
        for side in ctx.sides():
            assert side.provider is not None
            lent.append((side.provider.fan_out.parallel, side.provider.memo is side))
        return []

    run_integration(ACME, [Check("inspect", "sku", inspect)], make_provider)
    assert lent == [(True, True), (True, True)]


def test_a_check_over_its_time_limit_becomes_an_error_finding(release: threading.Event) -> None:
    def stuck(ctx: RunContext) -> list[Finding]:
        release.wait(10)
        return []

    def quick(ctx: RunContext) -> list[Finding]:
        return [finding("sku.missing", "PROD-1")]

    result = run_integration(
        ACME, [Check("stuck", "sku", stuck), Check("quick", "sku", quick)], make_provider, time_limit=0.3
    )
    codes = {(f.code, f.subject) for f in result.findings}
    assert codes == {("internal.check_timeout", "check:stuck"), ("sku.missing", "PROD-1")}
    timeout = next(f for f in result.findings if f.code == "internal.check_timeout")
    assert timeout.severity is Severity.ERROR and timeout.evidence["limit_s"] == 0.3
    assert "stuck" in result.remediation_for(timeout)


def test_provider_errors_become_one_finding_per_system_with_the_providers_message() -> None:
    def revoked(ctx: RunContext) -> list[Finding]:
        raise TokenRevoked("The access token has been revoked", system="xero", code="401", status=401)

    checks = [Check(f"c{i}", "sku", revoked) for i in range(4)]
    result = run_integration(ACME, checks, make_provider)
    assert [(f.code, f.subject) for f in result.findings] == [("token.revoked", "xero")]
    only = result.findings[0]
    assert "The access token has been revoked" in str(only.evidence)
    assert result.exit_code == 1


def test_a_crash_is_contained_and_logged_without_leaking_its_message(caplog: pytest.LogCaptureFixture) -> None:
    def crashes(ctx: RunContext) -> list[Finding]:
        raise KeyError("secret-internal-detail")

    result = run_integration(ACME, [Check("crashes", "sku", crashes)], make_provider)
    (only,) = result.findings
    assert only.code == "internal.check_failed" and only.evidence["error_type"] == "KeyError"
    assert "secret-internal-detail" not in str(result.to_json())
    assert "crashes" in caplog.text and result.ref in caplog.text


def test_errors_of_different_kinds_and_systems_stay_separate() -> None:
    def unavailable(ctx: RunContext) -> list[Finding]:
        raise Unavailable("503 Service Unavailable", system="hubspot", status=503)

    def limited(ctx: RunContext) -> list[Finding]:
        raise RateLimited("Rate limit exceeded", system="xero", retry_after=120, limit="day")

    result = run_integration(ACME, [Check("a", "sku", unavailable), Check("b", "sku", limited)], make_provider)
    assert {(f.code, f.subject) for f in result.findings} == {
        ("connection.unreachable", "hubspot"),
        ("rate.limited", "xero"),
    }


def test_findings_are_new_ongoing_or_resolved_against_the_previous_run() -> None:
    def skus(ctx: RunContext) -> list[Finding]:
        return [finding("sku.missing", "PROD-1"), finding("sku.missing", "PROD-3")]

    def revoked(ctx: RunContext) -> list[Finding]:
        raise TokenRevoked("revoked", system="xero")

    previous = PreviousRun(
        keys=frozenset(
            {
                ("sku.missing", "PROD-1"),
                ("sku.missing", "PROD-2"),
                ("contact.missing_email", "Bob"),
                ("token.expired", "xero"),
            }
        )
    )
    result = run_integration(
        ACME, [Check("skus", "sku", skus), Check("contacts", "contact", revoked)], make_provider, previous=previous
    )
    status = {f.subject: f.status for f in result.findings if f.code == "sku.missing"}
    assert status == {"PROD-1": "ongoing", "PROD-3": "new"}
    # PROD-2 cleared (the SKU check ran to the end); the contact check was stopped by the revoked
    # token, so its finding is not claimed resolved; token.expired is gone.
    assert result.resolved == (("sku.missing", "PROD-2"), ("token.expired", "xero"))


def test_worst_first_then_money() -> None:
    from datetime import date
    from decimal import Decimal

    from checks.findings import Impact
    from providers.records import Invoice, InvoiceStatus

    def inv(n: str, total: str) -> Invoice:
        return Invoice(
            id=n,
            number=n,
            status=InvoiceStatus.OPEN,
            currency="NZD",
            total=Decimal(total),
            issue_date=date(2026, 11, 1),
        )

    def many(ctx: RunContext) -> list[Finding]:
        return [
            Finding("contact.missing_email", Severity.WARN, "Bob", {}),
            Finding("sku.missing", Severity.FAIL, "small", {}, Impact.of([inv("INV-1", "10")])),
            Finding("sku.missing", Severity.FAIL, "big", {}, Impact.of([inv("INV-1", "10"), inv("INV-2", "990")])),
        ]

    result = run_integration(ACME, [Check("many", "sku", many)], make_provider)
    assert [f.subject for f in result.findings] == ["big", "small", "Bob"]
    assert result.blocked.invoices == ("INV-1", "INV-2")  # INV-1 blocked twice, counted once
    assert result.blocked.amounts == {"NZD": Decimal(1000)}


def test_the_report_says_what_the_systems_cannot_tell() -> None:
    def nothing(ctx: RunContext) -> list[Finding]:
        return []

    result = run_integration(ACME, [Check("nothing", "sku", nothing)], make_provider)
    assert result.cannot_tell == (
        "HubSpot (source) does not expose invoices (sync state), contacts (contact checks), items (SKU checks)",
        "Xero (destination) does not expose invoices (sync state), contacts (contact checks), items (SKU checks), "
        "accounts (account-code mapping), tax rates (tax-code mapping), tracking categories (tracking mapping)",
    )
    assert result.to_json()["cannot_tell"] == list(result.cannot_tell)
