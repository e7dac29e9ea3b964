"""Connection, token, plan, settings and rate checks against the Xero emulator over real
HTTP on loopback (the source side is given as records)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from checks.connection import check_destination_connection, check_source_connection
from checks.context import ConnectionState, RunContext, SideData
from checks.errors import finding_for_error
from checks.findings import Severity
from checks.plan import check_plan
from checks.platform import check_rate
from checks.remediation import render
from checks.settings import check_settings
from checks.tokens import check_tokens
from config.integrations import IntegrationConfig, SideConfig, SyncSettings
from providers import get_provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import ProviderError
from providers.http import CallStats, RetryPolicy, reset_limiters
from sandbox.server import Sandbox
from tests.checks.records import invoice

ACME = "6a1c0e4e-0000-4000-8000-000000000001"
GLOBEX = "6a1c0e4e-0000-4000-8000-000000000002"
SCOPES = ["accounting.transactions", "accounting.contacts", "accounting.settings", "offline_access"]
NOW = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)


def check_connection(ctx):  # both sides, as the runner runs them
    return [*check_source_connection(ctx), *check_destination_connection(ctx)]


def tenant(tenant_id: str = ACME, name: str = "Acme Ltd", **extra: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "id": tenant_id,
        "name": name,
        "organisation": {
            "BaseCurrency": "NZD",
            "CountryCode": "NZ",
            "Class": "STANDARD",
            "PeriodLockDate": "2024-01-31",
        },
        "currencies": ["AUD"],
        "invoices": [
            {
                "InvoiceNumber": "INV-001",
                "Contact": {"Name": "Customer 1"},
                "Date": "2024-05-02",
                "Status": "AUTHORISED",
                "LineItems": [{"Description": "Labour", "Quantity": 1, "UnitAmount": 50, "AccountCode": "200"}],
            },
        ],
    }
    section.update(extra)
    return section


def world(
    tenants: list[dict[str, Any]] | None = None, principal: list[str] | None = None, **grant: Any
) -> dict[str, Any]:
    return {
        "xero": {
            "grants": [
                {
                    "access_token": "at-acme",
                    "refresh_token": "rt-acme",
                    "scopes": SCOPES,
                    "principal": principal or [ACME],
                    **grant,
                }
            ],
            "tenants": tenants or [tenant()],
            "faults": {"retry_after": 0},
        }
    }


@pytest.fixture(autouse=True)
def _fresh_limiters() -> Iterator[None]:
    reset_limiters()
    yield
    reset_limiters()


@pytest.fixture
def start() -> Iterator[Any]:
    started: list[Sandbox] = []

    def _start(w: dict[str, Any]) -> Sandbox:
        sb = Sandbox(w).start()
        started.append(sb)
        return sb

    yield _start
    for sb in started:
        sb.stop()


def run_ctx(
    sb: Sandbox,
    *,
    tenant_id: str | None = ACME,
    name: str | None = "Acme Ltd",
    refresh_age: timedelta = timedelta(days=1),
    scopes: list[str] = SCOPES,
    source_invoices: list[Any] | None = None,
    settings: SyncSettings | None = None,
    requires: tuple[str, ...] = (),
    expires_in: timedelta = timedelta(minutes=30),
    client: tuple[str, str] | None = None,  # the app's id and secret (the token endpoint checks them)
) -> RunContext:
    creds = Credentials(
        kind="oauth2",
        access_token="at-acme",
        refresh_token="rt-acme",
        expires_at=datetime.now(UTC) + expires_in,
        refresh_issued_at=NOW - refresh_age,
        scopes=tuple(scopes),
    )
    store = MemoryCredentialStore("acme/xero", creds)
    provider = get_provider(
        "xero",
        tenant=tenant_id,
        credentials=store,
        stats=CallStats(),
        overrides=sb.overrides("xero"),
        client_id=client[0] if client else None,
        client_secret=client[1] if client else None,
        retry=RetryPolicy(attempts=1, backoff=0.01),
    )
    integration = IntegrationConfig(
        name="acme",
        source=SideConfig(system="hubspot"),
        destination=SideConfig(system="xero", tenant=tenant_id, name=name),
        settings=settings or SyncSettings(),
        requires=requires,
    )
    source = SideData.preloaded(
        "source",
        integration.source,
        invoices=source_invoices or [],
        connection=ConnectionState(credentials=Credentials(kind="api_key", api_key="pat-x")),
    )
    destination = SideData(
        "destination",
        integration.destination,
        provider,
        since=date(2024, 1, 1),
        connection=ConnectionState(credentials=creds),
    )
    return RunContext(integration=integration, source=source, destination=destination, now=NOW)


def problems(findings: list[Any]) -> list[Any]:
    return [f for f in findings if f.severity >= Severity.WARN]


def test_healthy_xero_organisation(start: Any) -> None:
    sb = start(world())
    ctx = run_ctx(sb, source_invoices=[invoice("INV-001", currency="NZD", day=date(2024, 5, 2))])
    for check in (check_connection, check_tokens, check_plan, check_settings, check_rate):
        assert problems(list(check(ctx))) == [], check.__name__


def test_renamed_organisation_warns_with_both_names(start: Any) -> None:
    sb = start(world())
    [f] = check_connection(run_ctx(sb, name="Acme Limited"))
    assert f.code == "connection.wrong_tenant" and f.severity is Severity.WARN
    assert (f.evidence["configured_name"], f.evidence["connected_name"]) == ("Acme Limited", "Acme Ltd")
    assert f.evidence["tenants_available"] == [{"id": ACME, "name": "Acme Ltd"}]


def test_configured_organisation_not_reached_maps_to_wrong_tenant(start: Any) -> None:
    sb = start(world(tenants=[tenant(), tenant(GLOBEX, "Globex")], principal=[GLOBEX]))
    ctx = run_ctx(sb)
    with pytest.raises(ProviderError) as caught:
        list(check_connection(ctx))
    f = finding_for_error(caught.value, ctx.destination)
    assert f.code == "connection.wrong_tenant"
    assert "Globex" in f.evidence["message"]
    assert f.evidence["configured_tenant"] == ACME
    assert f.action is not None and f.action.kind == "reauthorise"


def test_revoked_grant_becomes_a_reauthorise_finding(start: Any) -> None:
    sb = start(world(revoked=True))
    ctx = run_ctx(sb)
    with pytest.raises(ProviderError) as caught:
        list(check_connection(ctx))
    f = finding_for_error(caught.value, ctx.destination)
    assert f.code in ("token.revoked", "token.refresh_failed")
    assert f.subject == "xero" and f.severity is Severity.FAIL
    assert f.evidence["message"] == caught.value.message
    assert f.action is not None


def test_a_wrong_app_secret_is_the_operators_finding_not_a_reauthorisation(start: Any) -> None:
    sb = start({"xero": {**world()["xero"], "clients": {"xero-client": "xero-secret"}}})
    ctx = run_ctx(
        sb,
        expires_in=timedelta(minutes=-1),  # a refresh is due
        client=("xero-client", "a-secret-regenerated-in-the-portal"),
    )
    assert ctx.destination.provider is not None
    store = ctx.destination.provider.tokens.store
    assert isinstance(store, MemoryCredentialStore)
    with pytest.raises(ProviderError) as caught:
        list(check_connection(ctx))
    f = finding_for_error(caught.value, ctx.destination)
    assert (f.code, f.severity, f.evidence["provider_code"]) == (
        "token.client_rejected",
        Severity.FAIL,
        "invalid_client",
    )
    assert f.action is None  # a new consent would not help
    assert store.reauth_reason is None and store.saves == 0  # the connection itself is fine: nobody re-authorises
    text = render(f, integration="acme", source="hubspot", destination="xero")
    assert "XERO_CLIENT_SECRET" in text and "a-secret-regenerated" not in text


def test_refresh_token_unused_for_50_days_is_expiring(start: Any) -> None:
    sb = start(world())
    [f] = check_tokens(run_ctx(sb, refresh_age=timedelta(days=50)))
    assert f.code == "token.expiring"
    assert f.evidence["days_remaining"] == 10
    assert f.evidence["lifetime_days"] == 60
    assert f.evidence["reasons"] == ["days_left", "lifetime_used"]


def test_missing_scope_is_named(start: Any) -> None:
    sb = start(world())
    [f] = check_tokens(run_ctx(sb, scopes=["accounting.transactions", "accounting.settings", "offline_access"]))
    assert f.code == "token.scope_missing"
    assert f.evidence["missing"] == ["accounting.contacts"]  # the default (granular) set needs it read-write


def test_multicurrency_not_allowed_and_starter_cap(start: Any) -> None:
    invoices = [
        {
            "InvoiceNumber": f"INV-{i:03d}",
            "Contact": {"Name": "C"},
            "Date": f"2024-05-{i + 1:02d}",
            "Status": "AUTHORISED",
            "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200"}],
        }
        for i in range(14)
    ]
    org = {"BaseCurrency": "NZD", "CountryCode": "NZ", "Class": "STARTER"}
    sb = start(
        world(tenants=[tenant(organisation=org, actions={"UseMulticurrency": "NOT-ALLOWED"}, invoices=invoices)])
    )
    source = [invoice("INV-500", currency="USD", total="300.00", day=date(2024, 5, 18))]
    findings = {f.code: f for f in check_plan(run_ctx(sb, source_invoices=source))}
    assert set(findings) == {"plan.feature_missing", "plan.limit"}
    fm = findings["plan.feature_missing"]
    assert (fm.subject, fm.evidence["currencies"], fm.evidence["invoices"]) == ("multicurrency", ["USD"], ["INV-500"])
    assert fm.evidence["plan"] == "STARTER"
    limit = findings["plan.limit"]
    assert (limit.evidence["limit"], limit.evidence["used"], limit.evidence["projected_date"]) == (20, 14, "2024-05-29")


def test_invoice_dated_inside_the_lock_date(start: Any) -> None:
    sb = start(world())
    source = [
        invoice("INV-001", currency="NZD", day=date(2024, 5, 2)),
        invoice("INV-OLD", currency="NZD", day=date(2024, 1, 15)),
    ]
    [f] = check_settings(run_ctx(sb, source_invoices=source))
    assert f.code == "settings.period_locked"
    assert f.evidence["lock_date"] == "2024-01-31"
    assert f.evidence["invoices"] == [{"number": "INV-OLD", "issue_date": "2024-01-15"}]


def test_daily_quota_nearly_spent(start: Any) -> None:
    sb = start(world(tenants=[tenant(day_limit=60)]))
    ctx = run_ctx(sb)
    ctx.destination.org()  # a few Accounting calls, each answering X-DayLimit-Remaining
    [f] = check_rate(ctx)
    assert f.code == "rate.limited" and f.subject == "xero"
    assert f.evidence["reasons"] == ["day_quota"]
    assert f.evidence["day_remaining"] < 60 and f.evidence["day_threshold"] == 100
