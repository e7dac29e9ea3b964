"""Make (make.com API v2): the scenario carrying the invoices, its runs, incomplete executions,
connections and the organisation's operations (the client; :mod:`providers.make_wire` maps).

Facts this client relies on (``shared/specs/PROVIDERS.md`` section 7 and
``/work/notes/middleware_jobapps.md`` section 1, from Make's API reference and official SDK):

- Base ``https://{zone}/api/v2`` where the zone is the organisation's host (``eu1.make.com``);
  an organisation in another zone answers 400 "User has no organization in the zone".
- ``Authorization: Token <api token>`` (tokens are UUIDv4s); OAuth access tokens go as Bearer.
  Scopes are ``<resource>:read``; this client needs ``scenarios:read``, ``dlqs:read``,
  ``connections:read``, ``organizations:read`` (and ``connections:write`` only to have Make
  re-check a connection, ``verify_connections``).
- Every error has one envelope ``{"detail", "message", "code"}`` (``suberrors`` on validation).
- ``GET /scenarios/{id}``: ``isActive``, ``isinvalid`` (stopped because of an error),
  ``isPaused`` (a subscription problem), ``dlqCount``, ``scheduling {type, interval (s)}``,
  ``nextExec``. Make disables a scenario's scheduling after its set number of consecutive
  errors, and after the last of the exponential-backoff reruns of a connection error.
- ``GET /scenarios/{id}/logs``: newest first, cursor ``pg[last]``, ``from``/``to`` in ms; a row
  has no error text. ``GET /scenarios/{id}/executions/{executionId}`` has
  ``error {name, message, causeModule {name, appName}}``.
- ``GET /dlqs?scenarioId=``: incomplete executions with Make's ``reason``.
- ``GET /connections/{id}``: ``expire`` (null when the credentials do not expire);
  ``POST /connections/{id}/test`` -> ``{"verified": bool}``.
- ``GET /organizations/{id}``: ``operations`` (a string) against ``license.operations``,
  ``operationsExt``, ``nextReset``, ``isPaused``, ``license.apiLimit`` (requests per minute:
  Core 60, Pro 120, Teams 240, Enterprise 1,000; over it: 429 "Requests limit for organization
  exceeded, please try again later.").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from providers import make_wire as wire
from providers.base import Capability, Endpoints
from providers.errors import (
    NotFound,
    ProviderError,
    RateLimited,
    Rejected,
    ScopeMissing,
    TenantError,
    TokenRevoked,
    Unavailable,
    UnexpectedResponse,
)
from providers.flows import Flow, FlowConnection, FlowRun, IncompleteRun, RunStatus, Usage
from providers.http import Limits, not_json, parse_retry_after
from providers.middleware import Middleware
from providers.records import ConnectionInfo

logger = logging.getLogger(__name__)

API = "/api/v2"
LOG_PAGE = 50
MAX_RUNS = 200  # log rows read per run: more than a day of a 15-minute schedule with retries
DETAILS = 5  # failed executions whose detail (the error) is fetched, newest first
# The scope each read needs (Make's SDK tool table): a 403 names it in the finding.
SCOPES: dict[str, str] = {
    "/scenarios": "scenarios:read",
    "/dlqs": "dlqs:read",
    "/connections": "connections:read",
    "/organizations": "organizations:read",
}
WRONG_ZONE = "no organization in the zone"


class Make(Middleware):
    system = "make"
    display_name = "Make"
    auth_kind = "api_key"
    default_endpoints = Endpoints(base_url="https://eu1.make.com")
    # The lowest plan's API limit (Core, 60/min): the organisation's own is license.apiLimit.
    default_limits = Limits(concurrent=4, per_minute=60)
    scopes_needed = tuple(SCOPES.values())
    capabilities = frozenset(
        {
            Capability.FLOW,
            Capability.FLOW_RUNS,
            Capability.INCOMPLETE_RUNS,
            Capability.FLOW_CONNECTIONS,
            Capability.USAGE,
        }
    )

    @property
    def scenario_id(self) -> str:
        return self.options.extra.get("scenario_id", "")

    @property
    def organization_id(self) -> str:
        return self.options.tenant or ""

    def auth_headers(self) -> Mapping[str, str]:
        token = self.tokens.access_token()
        scheme = "Token" if wire.is_api_token(token) else "Bearer"
        return {"Authorization": f"{scheme} {token}", "Accept": "application/json"}

    def error_for(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            return not_json(response, self.system)
        message, code, details = wire.error_envelope(body)
        message = message or f"HTTP {status}"
        kw: dict[str, Any] = {"system": self.system, "code": code, "status": status}
        if status == 401:
            return TokenRevoked(message, **kw)
        if status == 403:
            return ScopeMissing(message, needed=self._scope_for(response), **kw)
        if status == 400 and WRONG_ZONE in message.casefold():
            zone = self.options.extra.get("zone") or self.options.endpoints.base_url
            return TenantError(
                f"{message}: organisation {self.organization_id} is not in {zone}",
                system=self.system,
                code=code or "zone",
            )
        if status == 404:
            return NotFound(message, **kw)
        if status == 429:
            return RateLimited(message, retry_after=parse_retry_after(response.headers.get("Retry-After")), **kw)
        if status >= 500:
            return Unavailable(message, **kw)
        return Rejected(message, details=details, **kw)

    def _scope_for(self, response: httpx.Response) -> tuple[str, ...]:
        path = response.request.url.path.split(API, 1)[-1]
        if response.request.method == "POST" and path.endswith("/test"):
            return ("connections:write",)
        return tuple(scope for prefix, scope in SCOPES.items() if path.startswith(prefix))

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.api.get_json(API + path, params=params)

    def _scenario(self) -> Mapping[str, Any] | None:
        def load() -> Mapping[str, Any] | None:
            try:
                body = self._get(f"/scenarios/{self.scenario_id}")
            except NotFound:
                return None
            scenario = body.get("scenario") if isinstance(body, Mapping) else None
            if not isinstance(scenario, Mapping):
                raise UnexpectedResponse("GET /scenarios/{id} answered without a scenario", system=self.system)
            return scenario

        return self.memo.once("make.scenario", load)

    def _organization(self) -> Mapping[str, Any]:
        def load() -> Mapping[str, Any]:
            body = self._get(f"/organizations/{self.organization_id}")
            org = body.get("organization") if isinstance(body, Mapping) else None
            if not isinstance(org, Mapping):
                raise UnexpectedResponse("GET /organizations/{id} answered without an organization", system=self.system)
            return org

        return self.memo.once("make.organization", load)

    # -- reads ----------------------------------------------------------------------------

    def probe(self) -> ConnectionInfo:
        org = self._organization()
        return ConnectionInfo(tenant_id=str(org.get("id")), tenant_name=str(org.get("name") or "") or None)

    def flow(self) -> Flow | None:
        scenario = self._scenario()
        return wire.flow(scenario) if scenario is not None else None

    def flow_runs(self, since: datetime) -> list[FlowRun]:
        """Execution logs since ``since`` (newest first, ``pg[last]`` cursor); the newest
        failed ones completed with their execution detail (Make's error and failing module)."""
        if self._scenario() is None:
            return []
        rows: list[Mapping[str, Any]] = []
        params: dict[str, Any] = {"from": int(since.timestamp() * 1000), "pg[limit]": LOG_PAGE}
        while len(rows) < MAX_RUNS:
            body = self._get(f"/scenarios/{self.scenario_id}/logs", params)
            page = body.get("scenarioLogs") if isinstance(body, Mapping) else None
            if not isinstance(page, list):
                raise UnexpectedResponse("GET /scenarios/{id}/logs answered without scenarioLogs", system=self.system)
            rows.extend(page)
            if len(page) < LOG_PAGE:
                break
            params["pg[last]"] = page[-1].get("imtId")
        runs = [wire.run(row) for row in rows[:MAX_RUNS]]
        failed = [r for r in runs if r.status in (RunStatus.ERROR, RunStatus.WARNING)][:DETAILS]
        detailed = {r.id: r for r in self.fan_out.map(self._detailed, failed)}
        return [detailed.get(r.id, r) for r in runs]

    def _detailed(self, run: FlowRun) -> FlowRun:
        try:
            detail = self._get(f"/scenarios/{self.scenario_id}/executions/{run.id}")
        except NotFound:
            return run  # Make keeps details for a limited time: the row still says it failed
        return wire.with_detail(run, detail) if isinstance(detail, Mapping) else run

    def incomplete_runs(self) -> list[IncompleteRun]:
        scenario = self._scenario()
        if scenario is None or wire.count(scenario.get("dlqCount")) == 0:
            return []  # dlqCount says there are none: no need to list them
        body = self._get("/dlqs", {"scenarioId": self.scenario_id})
        items = body.get("dlqs") if isinstance(body, Mapping) else None
        if not isinstance(items, list):
            raise UnexpectedResponse("GET /dlqs answered without dlqs", system=self.system)
        return [wire.incomplete(item) for item in items if not item.get("resolved")]

    def flow_connections(self) -> list[FlowConnection]:
        """The connections the scenario's modules use (configured ids, else its blueprint's)."""
        if self._scenario() is None:
            return []
        configured = tuple(c for c in self.options.extra.get("connection_ids", "").split(",") if c)
        ids = configured or self._blueprint_connections()
        return self.fan_out.map(self._connection, ids)

    def _blueprint_connections(self) -> tuple[str, ...]:
        body = self._get(f"/scenarios/{self.scenario_id}/blueprint")
        response = body.get("response") if isinstance(body, Mapping) else None
        blueprint = response.get("blueprint") if isinstance(response, Mapping) else None
        return wire.blueprint_connections(blueprint)

    def _connection(self, connection_id: str) -> FlowConnection:
        body = self._get(f"/connections/{connection_id}")
        raw = body.get("connection") if isinstance(body, Mapping) else None
        if not isinstance(raw, Mapping):
            raise UnexpectedResponse("GET /connections/{id} answered without a connection", system=self.system)
        verified: bool | None = None
        if self.options.extra.get("verify_connections") == "true":
            tested = self.api.json(
                self.api.request("POST", f"{API}/connections/{connection_id}/test", retry_unsafe=True)
            )
            verified = bool(tested.get("verified")) if isinstance(tested, Mapping) else None
        return wire.connection(raw, verified)

    def usage(self) -> Usage:
        return wire.usage(self._organization())

    def blind_spots(self) -> tuple[str, ...]:
        if self.options.extra.get("verify_connections") == "true":
            return ()
        return (
            "whether Make's connections still log in (only their expiry dates are read; "
            "middleware.verify_connections has Make re-check them, with a connections:write token)",
        )
