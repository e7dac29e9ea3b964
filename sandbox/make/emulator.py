"""The Make emulator: API v2 reads of scenarios, execution logs and details, incomplete
executions, connections and organisations; tokens with scopes; zones; the per-organisation
rate limit; Make's one error envelope."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.base import Emulator, Handler
from sandbox.clock import SandboxClock
from sandbox.limits import RollingWindow
from sandbox.make.world import (
    LOG_STATUS,
    Organization,
    Scenario,
    Token,
    iso,
    load_connection,
    load_organization,
    load_scenario,
    load_tokens,
)

logger = logging.getLogger(__name__)

API = "/api/v2"
RATE_MESSAGE = "Requests limit for organization exceeded, please try again later."
ZONE_MESSAGE = "User has no organization in the zone"
DETAIL_STATUS = {"running": "RUNNING", "success": "SUCCESS", "warning": "WARNING", "error": "ERROR"}

Action = Callable[[Request, Token, Organization], Awaitable[Response]]


class Refusal(Exception):
    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class MakeEmulator(Emulator):
    """Make over loopback. World: see the package docstring."""

    system: ClassVar[str] = "make"
    token_path: ClassVar[str | None] = None

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        super().__init__(section, clock)
        now = self.clock.moment()
        self.zone = str(section.get("zone", "eu1.make.com"))
        self.tokens_by_value = load_tokens(section)
        self.organizations = {
            o.id: o for o in (load_organization(raw, self.zone, now) for raw in section.get("organizations") or [])
        }
        rule = section.get("deactivate_after_errors", 3)
        self.scenarios = {
            s.id: s
            for s in (load_scenario(raw, now, int(rule) if rule else None) for raw in section.get("scenarios") or [])
        }
        self.connections = {c["id"]: c for c in (load_connection(raw, now) for raw in section.get("connections") or [])}
        self.forbidden: dict[str, Any] = dict(
            section.get("forbidden_body")
            or {"detail": "Access denied.", "message": "Permission denied", "code": "SC403"}
        )
        self.zone_code = str(section.get("zone_error_code", "SC400"))
        self.retry_after: float | None = section.get("retry_after")  # Make does not document one
        self.details_for_scheduled = bool(section.get("details_for_scheduled_runs", True))
        self._windows: dict[int, RollingWindow] = {}

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        return JSONResponse({"detail": extra.get("detail", message), "message": message, "code": code}, status)

    def rate_limit_response(self) -> Response:
        response = JSONResponse({"message": RATE_MESSAGE}, 429)
        if self.retry_after is not None:
            response.headers["Retry-After"] = str(int(self.retry_after))
        return response

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{API}/organizations/{{org:int}}", self._api("organizations:read", self._organization)),
            Route(f"{API}/scenarios", self._api("scenarios:read", self._scenarios)),
            Route(f"{API}/scenarios/{{sid:int}}", self._api("scenarios:read", self._scenario)),
            Route(f"{API}/scenarios/{{sid:int}}/logs", self._api("scenarios:read", self._logs)),
            Route(f"{API}/scenarios/{{sid:int}}/executions/{{eid}}", self._api("scenarios:read", self._execution)),
            Route(f"{API}/scenarios/{{sid:int}}/blueprint", self._api("scenarios:read", self._blueprint)),
            Route(f"{API}/dlqs", self._api("dlqs:read", self._dlqs)),
            Route(f"{API}/connections/{{cid:int}}", self._api("connections:read", self._connection)),
            Route(
                f"{API}/connections/{{cid:int}}/test",
                self._api("connections:write", self._test_connection),
                methods=["POST"],
            ),
        ]

    # -- plumbing ---------------------------------------------------------------------------

    def _api(self, scope: str, action: Action) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                token = self._authenticate(request)
                if scope not in token.scopes:
                    raise Refusal(403, self.forbidden)
                org = self._home(token)
                limited = self._count(org)
                if limited is not None:
                    return limited
                return await action(request, token, org)
            except Refusal as refusal:
                return JSONResponse(dict(refusal.body), refusal.status)

        return endpoint

    def _authenticate(self, request: Request) -> Token:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        token = self.tokens_by_value.get(value.strip())
        if token is None or scheme.lower() != token.scheme.lower():
            raise Refusal(401, {"detail": "Invalid credentials.", "message": "Access denied", "code": "SC401"})
        return token

    def _home(self, token: Token) -> Organization:
        """The token's organisation in this zone; none at all is Make's zone error."""
        here = [self.organizations[o] for o in token.organizations if o in self.organizations]
        here = [o for o in here if o.zone == self.zone]
        if not here:
            raise Refusal(400, {"detail": ZONE_MESSAGE, "message": ZONE_MESSAGE, "code": self.zone_code})
        return here[0]

    def _count(self, org: Organization) -> Response | None:
        now = self.clock.now()
        with self.lock:
            window = self._windows.setdefault(org.id, RollingWindow(60))
            if window.used(now) >= org.api_limit:
                return self.rate_limit_response()
            window.add(now)
        return None

    def _owned(self, token: Token, org_id: int) -> Organization:
        org = self.organizations.get(org_id)
        if org is None or org_id not in token.organizations:
            raise Refusal(403, self.forbidden)
        if org.zone != self.zone:
            raise Refusal(400, {"detail": ZONE_MESSAGE, "message": ZONE_MESSAGE, "code": self.zone_code})
        return org

    def _scenario_of(self, request: Request, token: Token) -> Scenario:
        scenario = self.scenarios.get(int(request.path_params["sid"]))
        if scenario is None:
            raise Refusal(404, {"detail": "Scenario not found.", "message": "Not found", "code": "SC404"})
        self._owned(token, scenario.organization)
        return scenario

    # -- handlers ---------------------------------------------------------------------------

    async def _organization(self, request: Request, token: Token, org: Organization) -> Response:
        found = self._owned(token, int(request.path_params["org"]))
        return JSONResponse({"organization": found.raw})

    async def _scenarios(self, request: Request, token: Token, org: Organization) -> Response:
        team, org_id = request.query_params.get("teamId"), request.query_params.get("organizationId")
        if team and org_id:
            return self.error(400, "SC400", "teamId and organizationId cannot be used together")
        if not team and not org_id:
            return self.error(400, "SC400", "Missing required parameter teamId or organizationId")
        rows = [
            s.raw
            for s in self.scenarios.values()
            if (team and s.team == int(team)) or (org_id and s.organization == int(org_id))
        ]
        return JSONResponse(
            {"scenarios": rows, "pg": {"sortBy": "name", "sortDir": "asc", "limit": 10000, "offset": 0}}
        )

    async def _scenario(self, request: Request, token: Token, org: Organization) -> Response:
        return JSONResponse({"scenario": self._scenario_of(request, token).raw})

    async def _logs(self, request: Request, token: Token, org: Organization) -> Response:
        """Newest first by imtId; ``pg[last]`` continues after that row; ``from``/``to`` in ms."""
        scenario = self._scenario_of(request, token)
        q = request.query_params
        limit = min(int(q.get("pg[limit]", 50)), 100)
        rows = scenario.executions
        if q.get("from"):
            rows = [e for e in rows if e.at.timestamp() * 1000 >= int(q["from"])]
        if q.get("to"):
            rows = [e for e in rows if e.at.timestamp() * 1000 <= int(q["to"])]
        if q.get("status"):
            rows = [e for e in rows if LOG_STATUS.get(e.status) == int(q["status"])]
        if q.get("pg[last]"):
            ids = [e.imt_id for e in rows]
            rows = rows[ids.index(q["pg[last]"]) + 1 :] if q["pg[last]"] in ids else []
        page = rows[:limit]
        body = {
            "scenarioLogs": [self._log_row(e, scenario, org) for e in page],
            "pg": {
                "sortBy": "imtId",
                "sortDir": "desc",
                "last": page[-1].imt_id if page else None,
                "showLast": False,
                "limit": limit,
            },
        }
        return JSONResponse(body)

    def _log_row(self, e: Any, scenario: Scenario, org: Organization) -> dict[str, Any]:
        return {
            "imtId": e.imt_id,
            "duration": 1200,
            "operations": e.operations,
            "centicredits": e.operations * 100,
            "transfer": 512,
            "organizationId": org.id,
            "teamId": scenario.team,
            "id": e.id,
            "type": "auto",
            "authorId": None,
            "instant": False,
            "timestamp": iso(e.at),
            "status": LOG_STATUS.get(e.status, 1),
        }

    async def _execution(self, request: Request, token: Token, org: Organization) -> Response:
        scenario = self._scenario_of(request, token)
        found = next((e for e in scenario.executions if e.id == request.path_params["eid"]), None)
        if found is None or not self.details_for_scheduled:
            return self.error(404, "SC404", "Execution not found.")
        body: dict[str, Any] = {"status": DETAIL_STATUS.get(found.status, "SUCCESS"), "outputs": {}}
        if found.error and found.status in ("error", "warning"):
            module = dict(found.error.get("module") or {})
            body["error"] = {
                "name": found.error.get("name", "RuntimeError"),
                "message": found.error.get("message", ""),
                "causeModule": {"name": module.get("name", ""), "appName": module.get("app", "")},
            }
        return JSONResponse(body)

    async def _blueprint(self, request: Request, token: Token, org: Organization) -> Response:
        scenario = self._scenario_of(request, token)
        flow = [
            {"id": i + 1, "module": "app:module", "version": 1, "parameters": {"__IMTCONN__": cid}, "mapper": {}}
            for i, cid in enumerate(scenario.connections)
        ]
        blueprint = {"name": scenario.raw["name"], "flow": flow, "metadata": {"scenario": {"maxErrors": 3}}}
        return JSONResponse(
            {"code": "OK", "response": {"blueprint": blueprint, "scheduling": scenario.raw["scheduling"]}}
        )

    async def _dlqs(self, request: Request, token: Token, org: Organization) -> Response:
        sid = request.query_params.get("scenarioId")
        if not sid:
            return self.error(400, "SC400", "Missing value of required parameter 'scenarioId'")
        scenario = self.scenarios.get(int(sid))
        if scenario is None:
            return JSONResponse({"dlqs": []})
        self._owned(token, scenario.organization)
        return JSONResponse({"dlqs": scenario.dlqs})

    async def _connection(self, request: Request, token: Token, org: Organization) -> Response:
        found = self.connections.get(int(request.path_params["cid"]))
        if found is None:
            return self.error(404, "SC404", "Connection not found.")
        return JSONResponse({"connection": {k: v for k, v in found.items() if k != "verified"}})

    async def _test_connection(self, request: Request, token: Token, org: Organization) -> Response:
        found = self.connections.get(int(request.path_params["cid"]))
        if found is None:
            return self.error(404, "SC404", "Connection not found.")
        return JSONResponse({"verified": bool(found["verified"])})
