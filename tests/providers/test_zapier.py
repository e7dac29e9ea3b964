"""The Zapier client against the Zapier emulator, over real HTTP on loopback: finding the Zap in
the paged list, its runs, the app accounts it uses, what its scopes let it see, JSON:API errors,
the per-IP limit, and an expired access token refreshed through Zapier's token endpoint."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from providers import get_provider
from providers.base import Capability
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import RateLimited, RefreshFailed, ScopeMissing, TokenExpired
from providers.flows import RunStatus, ScheduleKind
from providers.http import CallStats, RetryPolicy
from providers.zapier import Zapier
from sandbox.server import LoopbackServer
from sandbox.zapier import ZapierEmulator

SM8, XERO, PARTNER = "app-servicem8", "app-xero", "app-partner"
ZAP_ID = "00000000-0000-c000-8000-000000012345"
WORLD: dict[str, Any] = {
    "partner_app": PARTNER,
    "clients": {"zap-client": "zap-secret"},
    "grants": [
        {
            "access_token": "zat-all",
            "refresh_token": "zrt-all",
            "scopes": ["zap:all", "zap:runs", "authentication"],
            "principal": 1,
        },
        {"access_token": "zat-own", "scopes": ["zap"], "principal": 1},
        {
            "access_token": "zat-old",
            "refresh_token": "zrt-old",
            "expires_in": -60,
            "scopes": ["zap:all"],
            "principal": 1,
        },
    ],
    "authentications": [
        {"id": "auth-sm8", "app": SM8, "title": "ServiceM8 (Sparky)"},
        {"id": "auth-xero", "app": XERO, "title": "Xero (Sparky)", "expired": True},
        {"id": "auth-xero-other", "app": XERO, "title": "Xero (someone else)"},
    ],
    "zaps": [
        {"id": f"other-{i}", "title": f"Other Zap {i}", "owner": 1, "steps": [{"app": "app-gmail"}]} for i in range(120)
    ]
    + [
        {
            "id": ZAP_ID,
            "run_id": 104445735,
            "title": "ServiceM8 invoices to Xero",
            "enabled": False,
            "owner": 1,
            "last_success_minutes_ago": 3000,
            "steps": [
                {"app": SM8, "instant": False, "title": "New invoice", "authentication": "auth-sm8"},
                {"app": XERO, "title": "Create invoice", "authentication": "auth-xero"},
            ],
            "runs": [
                {"start_minutes_ago": 10 * i + 3, "status": "error" if i < 2 else "held" if i < 4 else "success"}
                for i in range(8)
            ],
        },
    ],
}


@pytest.fixture
def zapier() -> Iterator[tuple[ZapierEmulator, str]]:
    emulator = ZapierEmulator(copy.deepcopy(WORLD))
    server = LoopbackServer(emulator.app).start()
    try:
        yield emulator, server.url
    finally:
        server.stop()


def client(url: str, token: str = "zat-all", refresh: str | None = None, **options: str) -> Zapier:
    credentials = Credentials(kind="oauth2", access_token=token, refresh_token=refresh)
    provider = get_provider(
        "zapier",
        tenant=ZAP_ID,
        credentials=MemoryCredentialStore("mw", credentials),
        stats=CallStats(),
        overrides={"base_url": url, "token_url": url + "/oauth/token/"},
        client_id="zap-client",
        client_secret="zap-secret",
        extra={"zap_id": ZAP_ID, "runs_zap_id": "104445735", **options},
        retry=RetryPolicy(attempts=0),
    )
    assert isinstance(provider, Zapier)
    return provider


def test_the_zap_is_found_across_pages_with_its_plans_polling(zapier: tuple[ZapierEmulator, str]) -> None:
    emulator, url = zapier
    flow = client(url, plan="free").flow()
    assert emulator.requests["GET /v2/zaps"] == 2  # 121 Zaps, 100 a page
    assert flow is not None and (flow.name, flow.enabled, flow.stopped_by_errors) == (
        "ServiceM8 invoices to Xero",
        False,
        None,
    )
    assert flow.url == f"https://zapier.com/webintent/edit-zap/{ZAP_ID}"
    assert flow.last_success_at is not None and flow.connection_ids == ("auth-sm8", "auth-xero")
    assert flow.schedule is not None and (flow.schedule.kind, flow.schedule.interval, flow.schedule.derived_from) == (
        ScheduleKind.INTERVAL,
        timedelta(minutes=15),
        "plan",
    )
    assert client(url).flow().schedule is None  # type: ignore[union-attr]  # no plan: unknown, not guessed


def test_plain_zap_scope_sees_only_the_partners_zaps(zapier: tuple[ZapierEmulator, str]) -> None:
    assert client(zapier[1], token="zat-own").flow() is None


def test_runs_have_statuses_and_no_messages(zapier: tuple[ZapierEmulator, str]) -> None:
    runs = client(zapier[1]).flow_runs(datetime.now(UTC) - timedelta(days=1))
    assert [r.status for r in runs] == [RunStatus.ERROR] * 2 + [RunStatus.HELD] * 2 + [RunStatus.SUCCESS] * 4
    assert all(r.error is None for r in runs) and runs[2].raw_status == "held"


def test_without_a_numeric_id_runs_are_not_read_and_the_report_says_why(zapier: tuple[ZapierEmulator, str]) -> None:
    provider = get_provider(
        "zapier",
        tenant=ZAP_ID,
        credentials=MemoryCredentialStore("mw", Credentials(kind="oauth2", access_token="zat-all")),
        stats=CallStats(),
        overrides={"base_url": zapier[1]},
        extra={"zap_id": ZAP_ID},
    )
    assert not provider.supports(Capability.FLOW_RUNS) and provider.supports(Capability.FLOW)
    assert any("runs_zap_id" in note for note in provider.blind_spots())
    assert any("error message" in note for note in provider.blind_spots())


def test_the_zaps_app_accounts_come_with_their_expiry(zapier: tuple[ZapierEmulator, str]) -> None:
    emulator, url = zapier
    connections = client(url).flow_connections()
    assert sorted((c.id, c.expired) for c in connections) == [("auth-sm8", False), ("auth-xero", True)]
    assert emulator.requests["GET /v2/authentications"] == 2  # one per app: the endpoint needs `app`


def test_a_missing_scope_is_a_json_api_403_naming_it(zapier: tuple[ZapierEmulator, str]) -> None:
    with pytest.raises(ScopeMissing) as refused:
        client(zapier[1], token="zat-own").flow_runs(datetime.now(UTC) - timedelta(days=1))
    assert refused.value.needed == ("zap:runs",) and refused.value.code == "permission_denied"


def test_an_expired_token_is_refreshed_at_zapiers_token_endpoint(zapier: tuple[ZapierEmulator, str]) -> None:
    emulator, url = zapier
    provider = client(url, token="zat-old", refresh="zrt-old")
    provider.tokens.store.save(
        provider.tokens.credentials().with_tokens(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    assert provider.flow() is not None
    assert emulator.tokens.refresh_calls == 1


def test_a_refused_token_is_refreshed_once_then_reported(zapier: tuple[ZapierEmulator, str]) -> None:
    # A 401 with nothing to refresh with: the token has expired for good (token.expired).
    with pytest.raises(TokenExpired, match="re-authorise"):
        client(zapier[1], token="zat-nope").flow()
    # With a refresh token Zapier refuses too: a dead refresh token (token.refresh_failed).
    with pytest.raises(RefreshFailed):
        client(zapier[1], token="zat-nope", refresh="zrt-nope").flow()


def test_past_the_per_ip_limit_everything_waits_out_the_cooldown(zapier: tuple[ZapierEmulator, str]) -> None:
    emulator, url = zapier
    emulator.per_minute = 3
    provider = client(url)
    provider.flow()  # 2 requests (two pages)
    provider.flow_runs(datetime.now(UTC) - timedelta(days=1))  # 1
    with pytest.raises(RateLimited) as refused:
        provider.flow_connections()
    assert refused.value.retry_after == 60 and refused.value.message == "Request was throttled."
