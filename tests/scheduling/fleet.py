"""Many small integrations for sweeps (tests and bench/bench_sweep.py): integration ``fNNNN`` is
HubSpot portal ``2NNNN`` -> its own Xero organisation, each with its own key and tokens, so each
pays its own per-tenant limits as a real fleet would."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from service.container import Services
from store import claims
from tests.bot.world import HUBSPOT_SCOPES, XERO_SCOPES, _portal, _xero_tenant


def name(i: int) -> str:
    return f"f{i:04d}"


def tenant(i: int) -> str:
    return f"6a1c0e4e-0000-4000-8000-{i:012d}"


def portal(i: int) -> str:
    return str(20000 + i)


def world(n: int, *, latency_ms: int = 0) -> dict[str, Any]:
    faults = {"retry_after": 0, "latency_ms": latency_ms}
    return {
        "hubspot": {
            "api_keys": [
                {"token": f"pat-na1-{name(i)}", "portal": portal(i), "scopes": HUBSPOT_SCOPES} for i in range(n)
            ],
            "portals": {portal(i): _portal(f"Co{i}", f"ada@{name(i)}.example", []) for i in range(n)},
            "faults": dict(faults),
        },
        "xero": {
            "grants": [
                {
                    "access_token": f"at-{name(i)}",
                    "refresh_token": f"rt-{name(i)}",
                    "scopes": XERO_SCOPES,
                    "principal": [tenant(i)],
                }
                for i in range(n)
            ],
            "clients": {"xero-client": "xero-secret"},
            "tenants": [_xero_tenant(tenant(i), f"Co{i}", f"ada@{name(i)}.example", []) for i in range(n)],
            "faults": dict(faults),
        },
    }


def config(n: int, overrides: Mapping[str, Mapping[str, object]], **top: Any) -> dict[str, Any]:
    return {
        **top,
        "integrations": {
            name(i): {
                "source": {"system": "hubspot", "tenant": portal(i), **overrides["hubspot"]},
                "destination": {"system": "xero", "tenant": tenant(i), "name": f"Co{i}", **overrides["xero"]},
            }
            for i in range(n)
        },
    }


def connect(services: Services, n: int) -> None:
    for i in range(n):
        services.connect.save_api_key(name(i), "source", f"pat-na1-{name(i)}", actor="test")
        services.connect.save_tokens(
            name(i),
            "destination",
            access_token=f"at-{name(i)}",
            refresh_token=f"rt-{name(i)}",
            expires_in=86400,
            tenant=tenant(i),
            scopes=tuple(XERO_SCOPES),
            actor="test",
        )


def ran_before(services: Services, *jobs: str, at: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
    """This database ran ``jobs`` before (a finished claim ``at``): a set-time job whose period
    is overdue is then a missed run, caught up, not a first start."""
    with services.sessions.begin() as session:
        for job in jobs:
            claims.claim_job(session, job, "*", "earlier", owner="earlier-process", now=at, lease=60)
            claims.finish_job(session, job, "*", "earlier", owner="earlier-process", now=at, error=None)
