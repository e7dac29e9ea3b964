"""Loading a Make world section: tokens, organisations, scenarios with their executions and
incomplete executions, connections. See the package docstring for the keys."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

logger = logging.getLogger(__name__)

# Requests per minute per organisation plan (Make's rate-limiting page).
PLAN_API_LIMITS = {"free": 60, "core": 60, "pro": 120, "teams": 240, "enterprise": 1000}
LOG_STATUS = {"running": 0, "success": 1, "warning": 2, "error": 3}


@dataclass
class Token:
    token: str
    user: int
    scopes: frozenset[str]
    organizations: tuple[int, ...]
    scheme: str  # "Token" for an API token (UUIDv4), "Bearer" for an OAuth access token


@dataclass
class Organization:
    id: int
    raw: dict[str, Any]
    zone: str
    api_limit: int


@dataclass
class Execution:
    id: str
    at: datetime
    status: str  # running | success | warning | error
    operations: int = 0
    error: dict[str, Any] | None = None  # {name, message, module: {name, app}}
    scenario_id: int = 0

    @property
    def imt_id(self) -> str:
        return f"{int(self.at.timestamp() * 1000)}_scenario.{self.scenario_id}.auto.{self.id}"


@dataclass
class Scenario:
    id: int
    organization: int
    team: int
    raw: dict[str, Any]
    executions: list[Execution] = field(default_factory=list)  # newest first
    dlqs: list[dict[str, Any]] = field(default_factory=list)
    connections: list[int] = field(default_factory=list)  # named in its blueprint


def moment(value: Any, now: datetime, *, minutes_ago: Any = None) -> datetime:
    """A world time: ISO text (``{datetime:-1}`` resolves to one) or ``minutes_ago``."""
    if minutes_ago is not None:
        return now - timedelta(minutes=float(minutes_ago))
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return now


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def load_tokens(section: Mapping[str, Any]) -> dict[str, Token]:
    tokens: dict[str, Token] = {}
    for raw in section.get("tokens") or []:
        token = str(raw["token"])
        tokens[token] = Token(
            token=token,
            user=int(raw.get("user", 1)),
            scopes=frozenset(raw.get("scopes") or ()),
            organizations=tuple(int(o) for o in raw.get("organizations") or ()),
            scheme=str(raw.get("scheme") or ("Token" if len(token) == 36 and token.count("-") == 4 else "Bearer")),
        )
    return tokens


def load_organization(raw: Mapping[str, Any], default_zone: str, now: datetime) -> Organization:
    plan = str(raw.get("plan", "core")).lower()
    license_ = {"operations": 10000, "apiLimit": PLAN_API_LIMITS.get(plan, 60), "interval": 15, "users": 1}
    license_.update(dict(raw.get("license") or {}))
    reset = raw.get("next_reset")
    body = {
        "id": int(raw["id"]),
        "name": str(raw.get("name", f"Organization {raw['id']}")),
        "serviceName": plan,
        "productName": str(raw.get("product_name", plan.title())),
        # Make sends these counters as strings.
        "operations": str(raw.get("operations", 0)),
        "operationsExt": str(raw.get("operations_ext", 0)),
        "transfer": "0",
        "isPaused": bool(raw.get("paused", False)),
        "autoPurchasingActivated": bool(raw.get("auto_purchase", False)),
        "nextReset": iso(moment(reset, now)) if reset else None,
        "license": license_,
        "zone": str(raw.get("zone", default_zone)),
        "teams": list(raw.get("teams") or [{"id": int(raw["id"]) * 10, "name": "My Team"}]),
    }
    return Organization(int(raw["id"]), body, str(body["zone"]), int(license_["apiLimit"]))


def load_scenario(raw: Mapping[str, Any], now: datetime, deactivate_after: int | None) -> Scenario:
    sid = int(raw["id"])
    executions = [
        Execution(
            id=str(e.get("id") or f"{sid:04d}{i:06d}"),
            at=moment(e.get("at"), now, minutes_ago=e.get("minutes_ago")),
            status=str(e.get("status", "success")),
            operations=int(e.get("operations", 1)),
            error=dict(e["error"]) if e.get("error") else None,
            scenario_id=sid,
        )
        for i, e in enumerate(raw.get("executions") or [])
    ]
    executions.sort(key=lambda e: e.at, reverse=True)
    dlqs = [
        {
            "id": str(d.get("id") or f"dlq{sid}{i}"),
            "scenarioId": sid,
            "reason": str(d.get("reason", "")),
            "created": iso(moment(d.get("created"), now, minutes_ago=d.get("minutes_ago"))),
            "size": int(d.get("size", 1)),
            "resolved": bool(d.get("resolved", False)),
            "retry": bool(d.get("retry", True)),
            "attempts": int(d.get("attempts", 1)),
        }
        for i, d in enumerate(raw.get("incomplete") or [])
    ]
    active = bool(raw.get("active", True))
    invalid = bool(raw.get("invalid", False))
    # Make disables scheduling after the scenario's set number of consecutive errors.
    if deactivate_after and len(executions) >= deactivate_after:
        if all(e.status == "error" for e in executions[:deactivate_after]):
            active, invalid = False, True
    scheduling = dict(raw.get("scheduling") or {"type": "indefinitely", "interval": 900})
    next_exec = None
    if active and scheduling.get("type") == "indefinitely":
        last = executions[0].at if executions else now
        next_exec = iso(last + timedelta(seconds=int(scheduling.get("interval", 900))))
    body = {
        "id": sid,
        "name": str(raw.get("name", f"Scenario {sid}")),
        "teamId": int(raw.get("team", 0)),
        "hookId": raw.get("hook_id"),
        "isinvalid": invalid,
        "islinked": True,
        "isActive": active,
        "islocked": bool(raw.get("locked", False)),
        "isPaused": bool(raw.get("paused", False)),
        "usedPackages": list(raw.get("packages") or []),
        "lastEdit": iso(moment(raw.get("last_edit"), now - timedelta(days=30))),
        "scheduling": scheduling,
        "iswaiting": False,
        "dlqCount": sum(1 for d in dlqs if not d["resolved"]),
        "nextExec": next_exec,
        "created": iso(now - timedelta(days=90)),
    }
    return Scenario(
        id=sid,
        organization=int(raw["organization"]),
        team=int(raw.get("team", 0)),
        raw=body,
        executions=executions,
        dlqs=dlqs,
        connections=[int(c) for c in raw.get("connections") or []],
    )


def load_connection(raw: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    expire = raw.get("expire")
    return {
        "id": int(raw["id"]),
        "name": str(raw.get("name", f"Connection {raw['id']}")),
        "accountName": str(raw.get("app", "xero")),
        "accountLabel": str(raw.get("label", raw.get("app", "Xero"))),
        "packageName": None,
        "expire": iso(moment(expire, now)) if expire else None,
        "metadata": {"value": raw.get("account", "accounts@example.com"), "type": "email"},
        "teamId": int(raw.get("team", 0)),
        "upgradeable": False,
        "scopesCnt": 1,
        "scoped": True,
        "accountType": "oauth",
        "editable": False,
        "uid": int(raw["id"]) * 1000,
        "verified": bool(raw.get("verified", True)),  # what POST /connections/{id}/test answers
    }
