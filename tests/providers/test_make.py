"""The Make client against the Make emulator, over real HTTP on loopback: the scenario's state and
schedule, execution logs across pages with their errors, incomplete executions, connections,
operations, and Make's errors (zones, scopes, the per-organisation rate limit)."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from providers import get_provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import RateLimited, ScopeMissing, TenantError, TokenRevoked
from providers.flows import RunStatus, ScheduleKind
from providers.http import CallStats, RetryPolicy
from providers.make import Make
from sandbox.make import MakeEmulator
from sandbox.server import LoopbackServer

TOKEN = "5b0c1f8e-1234-4abc-8def-1234567890ab"
READ = ["scenarios:read", "dlqs:read", "connections:read", "organizations:read"]
ERROR = {
    "name": "DataError",
    "message": "Contact name <Jane> is already assigned",
    "module": {"name": "Create invoice", "app": "xero"},
}
WORLD: dict[str, Any] = {
    "zone": "eu1.make.com",
    "tokens": [
        {"token": TOKEN, "scopes": READ, "organizations": [21]},
        {
            "token": "6c1d2e3f-1234-4abc-8def-1234567890ab",
            "scopes": [*READ, "connections:write"],
            "organizations": [21],
        },
        {"token": "7e2f3a4b-1234-4abc-8def-1234567890ab", "scopes": ["organizations:read"], "organizations": [21]},
        {"token": "8f3a4b5c-1234-4abc-8def-1234567890ab", "scopes": READ, "organizations": [31]},
        {"token": "oauth-access-token-1", "scopes": READ, "organizations": [21]},
    ],
    "organizations": [
        {
            "id": 21,
            "name": "Sparky",
            "plan": "core",
            "operations": 9990,
            "operations_ext": 0,
            "auto_purchase": False,
            "next_reset": "2026-06-01T00:00:00Z",
            "license": {"operations": 10000},
        },
        {"id": 31, "name": "Far Away", "zone": "us1.make.com"},
    ],
    "scenarios": [
        {
            "id": 1229,
            "organization": 21,
            "team": 55,
            "name": "AroFlo to Xero",
            "scheduling": {"type": "indefinitely", "interval": 900},
            "connections": [93, 94],
            # 60 runs, every 15 minutes: the newest three failed.
            "executions": [
                {
                    "minutes_ago": 15 * i + 5,
                    "status": "error" if i < 3 else "success",
                    "operations": 3,
                    "error": ERROR if i < 3 else None,
                }
                for i in range(60)
            ],
            "incomplete": [{"reason": "Contact name <Jane> is already assigned", "minutes_ago": 20, "attempts": 2}],
        },
        {
            "id": 1300,
            "organization": 21,
            "team": 55,
            "name": "Daily digest",
            "scheduling": {"type": "daily", "time": "06:00"},
            "executions": [{"minutes_ago": 60, "status": "success"}],
        },
    ],
    "connections": [
        {"id": 93, "name": "Xero (Sparky)", "app": "xero", "expire": "2026-01-01T00:00:00Z", "verified": False},
        {"id": 94, "name": "AroFlo API", "app": "aroflo"},
    ],
}


@pytest.fixture
def make() -> Iterator[tuple[MakeEmulator, str]]:
    emulator = MakeEmulator(copy.deepcopy(WORLD))
    server = LoopbackServer(emulator.app).start()
    try:
        yield emulator, server.url
    finally:
        server.stop()


def client(url: str, token: str = TOKEN, scenario: int = 1229, **options: str) -> Make:
    provider = get_provider(
        "make",
        tenant=options.pop("organization", "21"),
        credentials=MemoryCredentialStore("mw", Credentials(kind="api_key", api_key=token)),
        stats=CallStats(),
        overrides={"base_url": url},
        extra={"scenario_id": str(scenario), "zone": "eu1.make.com", **options},
        retry=RetryPolicy(attempts=0),
    )
    assert isinstance(provider, Make)
    return provider


def test_the_scenario_is_read_off_after_three_errors_with_its_schedule(make: tuple[MakeEmulator, str]) -> None:
    flow = client(make[1]).flow()
    assert flow is not None and flow.name == "AroFlo to Xero"
    assert (flow.enabled, flow.stopped_by_errors, flow.paused_for_billing, flow.incomplete_count) == (
        False,
        True,
        False,
        1,
    )
    assert flow.schedule is not None and flow.schedule.kind is ScheduleKind.INTERVAL
    assert flow.schedule.interval == timedelta(minutes=15) and flow.schedule.detail == "every 15 minutes"
    daily = client(make[1], scenario=1300).flow()
    assert daily is not None and daily.enabled and daily.schedule is not None
    assert (daily.schedule.kind, daily.schedule.interval, daily.schedule.detail) == (
        ScheduleKind.CALENDAR,
        timedelta(days=1),
        "daily at 06:00",
    )


def test_a_scenario_that_is_not_there_is_none(make: tuple[MakeEmulator, str]) -> None:
    assert client(make[1], scenario=4040).flow() is None


def test_runs_follow_the_log_cursor_and_carry_the_failed_ones_errors(make: tuple[MakeEmulator, str]) -> None:
    emulator, url = make
    runs = client(url).flow_runs(datetime.now(UTC) - timedelta(days=1))
    assert len(runs) == 60  # two pages of 50 and 10
    assert emulator.requests["GET /api/v2/scenarios/1229/logs"] == 2
    assert [r.status for r in runs[:4]] == [RunStatus.ERROR] * 3 + [RunStatus.SUCCESS]
    newest = runs[0]
    assert (newest.error, newest.error_kind, newest.failing_step, newest.failing_app) == (
        "Contact name <Jane> is already assigned",
        "DataError",
        "Create invoice",
        "xero",
    )
    assert runs[3].error is None  # a success: no detail fetched
    assert sum(n for key, n in emulator.requests.items() if "/executions/" in key) == 3


def test_runs_since_a_time_stop_there(make: tuple[MakeEmulator, str]) -> None:
    runs = client(make[1]).flow_runs(datetime.now(UTC) - timedelta(minutes=61))
    assert len(runs) == 4


def test_incomplete_executions_and_connections_from_the_blueprint(make: tuple[MakeEmulator, str]) -> None:
    emulator, url = make
    make_ = client(url)
    [item] = make_.incomplete_runs()
    assert (item.reason, item.attempts, item.resolved) == ("Contact name <Jane> is already assigned", 2, False)
    connections = make_.flow_connections()
    assert [(c.id, c.app, c.verified) for c in connections] == [("93", "xero", None), ("94", "aroflo", None)]
    assert connections[0].expires_at == datetime(2026, 1, 1, tzinfo=UTC) and connections[1].expires_at is None
    assert emulator.requests["GET /api/v2/scenarios/1229/blueprint"] == 1
    # A scenario whose dlqCount is 0 is not listed: no call.
    assert client(url, scenario=1300).incomplete_runs() == [] and emulator.requests["GET /api/v2/dlqs"] == 1


def test_configured_connections_can_be_verified_with_a_write_token(make: tuple[MakeEmulator, str]) -> None:
    url = make[1]
    verified = client(url, token="6c1d2e3f-1234-4abc-8def-1234567890ab", connection_ids="93", verify_connections="true")
    [conn] = verified.flow_connections()
    assert conn.verified is False
    read_only = client(url, connection_ids="93", verify_connections="true")
    with pytest.raises(ScopeMissing) as refused:
        read_only.flow_connections()
    assert refused.value.needed == ("connections:write",) and refused.value.message == "Access denied."


def test_operations_are_strings_against_the_licence(make: tuple[MakeEmulator, str]) -> None:
    usage = client(make[1]).usage()
    assert (usage.used, usage.limit, usage.allowance, usage.plan, usage.auto_purchase, usage.api_per_minute) == (
        9990,
        10000,
        10000,
        "Core",
        False,
        60,
    )


def test_an_oauth_token_goes_as_bearer(make: tuple[MakeEmulator, str]) -> None:
    emulator, url = make
    assert client(url, token="oauth-access-token-1").flow() is not None
    assert emulator.log[-1][2]["authorization"] == "Bearer oauth-access-token-1"
    client(url).flow()
    assert emulator.log[-1][2]["authorization"] == f"Token {TOKEN}"


def test_a_missing_scope_names_it(make: tuple[MakeEmulator, str]) -> None:
    with pytest.raises(ScopeMissing) as refused:
        client(make[1], token="7e2f3a4b-1234-4abc-8def-1234567890ab").flow()
    assert refused.value.needed == ("scenarios:read",) and refused.value.code == "SC403"


def test_an_organisation_in_another_zone_is_a_tenant_error(make: tuple[MakeEmulator, str]) -> None:
    with pytest.raises(
        TenantError, match=re.escape("User has no organization in the zone: organisation 31 is not in eu1.make.com")
    ):
        client(make[1], token="8f3a4b5c-1234-4abc-8def-1234567890ab", organization="31").usage()


def test_an_unknown_token_is_revoked(make: tuple[MakeEmulator, str]) -> None:
    with pytest.raises(TokenRevoked, match=re.escape("Invalid credentials.")):
        client(make[1], token="00000000-0000-4000-8000-000000000000").flow()


def test_the_organisation_plan_limit_answers_429_with_makes_message(make: tuple[MakeEmulator, str]) -> None:
    emulator, url = make
    emulator.organizations[21].api_limit = 2
    make_ = client(url, scenario=1300)
    make_.flow()
    make_.usage()
    with pytest.raises(
        RateLimited, match=re.escape("Requests limit for organization exceeded, please try again later.")
    ):
        make_.flow_runs(datetime.now(UTC) - timedelta(hours=2))
    assert make_.stats.throttled["make"] == 1
