"""The Zapier emulator: ``/v2/zaps``, ``/v2/zap-runs`` and ``/v2/authentications`` behind OAuth
user access tokens with scopes, Zapier's per-IP rate limit with its cooldown, and JSON:API
error bodies."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.base import Emulator
from sandbox.clock import SandboxClock
from sandbox.limits import RollingWindow
from sandbox.tokens import Grant

logger = logging.getLogger(__name__)

RUN_STATUSES = (
    "delayed",
    "scheduled",
    "pending",
    "error",
    "error_handled",
    "halted",
    "throttled",
    "held",
    "filtered",
    "skipped",
    "success",
)


@dataclass
class Zap:
    id: str
    run_id: int
    title: str
    enabled: bool
    owner: Any
    steps: list[dict[str, Any]]
    last_success: datetime | None
    updated_at: datetime
    runs: list[dict[str, Any]] = field(default_factory=list)  # newest first


def _moment(raw: Mapping[str, Any], key: str, now: datetime) -> datetime | None:
    if raw.get(f"{key}_minutes_ago") is not None:
        return now - timedelta(minutes=float(raw[f"{key}_minutes_ago"]))
    value = raw.get(key)
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


class ZapierEmulator(Emulator):
    """Zapier over loopback. World: see the package docstring."""

    system: ClassVar[str] = "zapier"
    token_path: ClassVar[str | None] = "/oauth/token/"

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        super().__init__(section, clock)
        now = self.clock.moment()
        self.partner_app = str(section.get("partner_app", ""))
        self.per_minute = int(section.get("requests_per_minute", 60))
        self.cooldown = float(section.get("cooldown_seconds", 60))
        self.status_as_string = bool(section.get("error_status_as_string", True))
        self._window = RollingWindow(60)
        self._cool_until = 0.0
        self.apps = {str(a["id"]): dict(a) for a in section.get("apps") or []}
        self.authentications = [dict(a) for a in section.get("authentications") or []]
        self.zaps: list[Zap] = []
        for raw in section.get("zaps") or []:
            runs: list[dict[str, Any]] = [
                {
                    "id": str(r.get("id") or f"{raw['id']}-run-{i}"),
                    "start": _moment(r, "start", now) or now,
                    "status": str(r.get("status", "success")),
                }
                for i, r in enumerate(raw.get("runs") or [])
            ]
            runs.sort(key=lambda r: r["start"], reverse=True)
            self.zaps.append(
                Zap(
                    id=str(raw["id"]),
                    run_id=int(raw.get("run_id", 0)),
                    title=str(raw.get("title", "My Zap")),
                    enabled=bool(raw.get("enabled", True)),
                    owner=raw.get("owner"),
                    steps=[dict(s) for s in raw.get("steps") or []],
                    last_success=_moment(raw, "last_success", now),
                    updated_at=_moment(raw, "updated", now) or now - timedelta(days=10),
                    runs=runs,
                )
            )

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        title = str(extra.get("title") or code.replace("_", " ").title().replace(" ", ""))
        item = {
            "status": str(status) if self.status_as_string else status,
            "code": code,
            "title": title,
            "detail": message,
        }
        return JSONResponse({"errors": [item]}, status)

    def rate_limit_response(self) -> Response:
        response = self.error(429, "throttled", "Request was throttled.", title="Throttled")
        response.headers["Retry-After"] = str(int(self.cooldown))
        response.headers["X-RateLimit-Limit"] = str(self.per_minute)
        response.headers["X-RateLimit-Remaining"] = "0"
        response.headers["X-RateLimit-Reset"] = str(int(self.clock.now() + self.cooldown))
        return response

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v2/zaps", self._zaps),
            Route("/v2/zap-runs", self._runs),
            Route("/v2/authentications", self._authentications),
        ]

    # -- plumbing ---------------------------------------------------------------------------

    def _caller(self, request: Request, scope: tuple[str, ...]) -> Grant | Response:
        limited = self._throttle()
        if limited is not None:
            return limited
        grant, problem = self.tokens.check_access(self.bearer(request))
        if grant is None or problem is not None:
            return self.error(401, "not_authenticated", "Authentication credentials were not provided or are invalid.")
        if not set(scope) & set(grant.scopes):
            needed = " or ".join(scope)
            return self.error(
                403, "permission_denied", f"You do not have permission to perform this action ({needed})."
            )
        return grant

    def _throttle(self) -> Response | None:
        """60 requests a minute per IP, then 429 for a 60-second cooldown."""
        now = self.clock.now()
        with self.lock:
            if now < self._cool_until:
                return self.rate_limit_response()
            if self._window.used(now) >= self.per_minute:
                self._cool_until = now + self.cooldown
                return self.rate_limit_response()
            self._window.add(now)
        return None

    def _page(self, request: Request, rows: list[dict[str, Any]]) -> Response:
        try:
            limit = int(request.query_params.get("limit", 10))
            offset = int(request.query_params.get("offset", 0))
        except ValueError:
            return self.error(400, "parse_error", "Malformed request.", title="ParseError")
        chunk = rows[offset : offset + limit]
        base = str(request.url.replace(query=""))
        kept = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}

        def link(at: int) -> str:
            return f"{base}?{urlencode({**kept, 'offset': at, 'limit': limit})}"

        return JSONResponse(
            {
                "links": {
                    "next": link(offset + limit) if offset + limit < len(rows) else None,
                    "prev": link(max(offset - limit, 0)) if offset > 0 else None,
                },
                "meta": {"count": len(rows), "limit": limit, "offset": offset},
                "data": chunk,
            }
        )

    # -- handlers ---------------------------------------------------------------------------

    async def _zaps(self, request: Request) -> Response:
        caller = self._caller(request, ("zap", "zap:all", "zap:account:all"))
        if isinstance(caller, Response):
            return caller
        everything = bool({"zap:all", "zap:account:all"} & set(caller.scopes))
        expand = "steps.action" in request.query_params.get("expand", "")
        rows = [
            self._zap_json(z, expand)
            for z in self.zaps
            if (z.owner is None or z.owner == caller.principal)
            and (everything or any(s.get("app") == self.partner_app for s in z.steps))
        ]
        return self._page(request, rows)

    def _zap_json(self, zap: Zap, expand: bool) -> dict[str, Any]:
        steps = []
        for step in zap.steps:
            app = str(step.get("app", ""))
            action: Any = str(step.get("action", f"uag:{app}"))
            if expand:
                action = {
                    "id": action,
                    "key": str(step.get("key", "new_invoice")),
                    "app": app,
                    "type": "action",
                    "action_type": str(step.get("action_type", "WRITE")),
                    "is_instant": bool(step.get("instant", False)),
                    "title": str(step.get("title", "")),
                    "description": "",
                }
            steps.append({"action": action, "authentication": step.get("authentication"), "inputs": {}, "title": None})
        return {
            "type": "zap",
            "id": zap.id,
            "is_enabled": zap.enabled,
            "last_successful_run_date": _iso(zap.last_success),
            "updated_at": _iso(zap.updated_at),
            "title": zap.title,
            "links": {"html_editor": f"https://zapier.com/webintent/edit-zap/{zap.id}"},
            "steps": steps,
        }

    async def _runs(self, request: Request) -> Response:
        caller = self._caller(request, ("zap:runs",))
        if isinstance(caller, Response):
            return caller
        q = request.query_params
        since = datetime.fromisoformat(q["from_date"].replace("Z", "+00:00")) if q.get("from_date") else None
        since = since or self.clock.moment() - timedelta(days=30)  # Zapier's default: the last 30 days
        statuses = set(q.get("statuses", "").split(",")) - {""}
        if statuses - set(RUN_STATUSES):
            return self.error(400, "invalid", f"Unknown status: {sorted(statuses - set(RUN_STATUSES))[0]}")
        rows = []
        for zap in self.zaps:
            if q.get("zap_id") and str(zap.run_id) != q["zap_id"]:
                continue
            for run in zap.runs:
                if run["start"] < since or (statuses and run["status"] not in statuses):
                    continue
                rows.append(
                    {
                        "id": run["id"],
                        "zap_id": zap.run_id,
                        "start_time": _iso(run["start"]),
                        "end_time": _iso(run["start"] + timedelta(seconds=2)),
                        "status": run["status"],
                        "zap_title": zap.title,
                        "steps": [{"status": run["status"], "start_time": _iso(run["start"])}],
                        "data_in": "",
                        "data_out": "",
                    }
                )
        return self._page(request, rows)

    async def _authentications(self, request: Request) -> Response:
        caller = self._caller(request, ("authentication",))
        if isinstance(caller, Response):
            return caller
        app = request.query_params.get("app")
        if not app:
            return self.error(400, "invalid", "This field is required.", title="ValidationError")
        rows = [
            {
                "type": "authentication",
                "id": str(a["id"]),
                "app": str(a["app"]),
                "is_expired": bool(a.get("expired", False)),
                "title": str(a.get("title", "")),
            }
            for a in self.authentications
            if str(a.get("app")) == app
        ]
        return self._page(request, rows)
