"""Zapier (Workflow API): the Zap carrying the invoices, its runs, the app accounts it uses
(the client; :mod:`providers.zapier_wire` maps).

Facts this client relies on (``/work/notes/middleware_jobapps.md`` section 2, from Zapier's
Workflow API reference and its published schema ``https://api.zapier.com/schema``):

- Base ``https://api.zapier.com``; ``Authorization: Bearer <user access token>`` from Zapier's
  OAuth (authorize ``https://api.zapier.com/v2/authorize``, token
  ``https://zapier.com/oauth/token/``). **Zapier issues client credentials only to integrations
  published in its App Directory**: there is no personal API key that reads Zaps, so without a
  token from such an integration Sync Doctor cannot look at a Zap at all, and says so.
- Scopes: ``zap:all`` (every Zap of the user; plain ``zap`` lists only Zaps using the token's own
  integration, so an AroFlo -> Xero Zap would be invisible), ``zap:runs``, ``authentication``.
- ``GET /v2/zaps`` (``limit``/``offset``, ``expand=steps.action``): ``is_enabled``,
  ``last_successful_run_date`` (null: never ran successfully), ``links.html_editor``,
  ``steps[] {action {app, is_instant}, authentication}``. No single-Zap read is documented:
  the list is paged until the configured id appears.
- ``GET /v2/zap-runs`` ("experimental"; ``zap_id`` an integer, ``from_date``, ``limit``,
  ``offset``): ``status`` in delayed / scheduled / pending / error / error_handled / halted /
  throttled / held / filtered / skipped / success. **A run carries no error message and no
  failing step**; the Zap id in ``/v2/zaps`` (a string) and the run's integer ``zap_id`` are not
  documented to be derivable from each other.
- ``GET /v2/authentications?app=`` (``app`` required): ``is_expired`` per app account.
- Not exposed: why a Zap is off (errors, its owner, the plan), task usage against the plan, the
  polling interval (by plan: Free 15 min, Professional 2, Team and Enterprise 1; instant
  triggers run as data arrives).
- Limits: 60 requests a minute per IP and 150 per partner, then 429 and a 60-second cooldown.
- Errors: ``{"errors": [{status, code, title, detail}]}`` (JSON:API).
- The token endpoint's client authentication (form fields or Basic) is UNCONFIRMED: form
  fields, as most of Zapier's OAuth examples show.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import httpx

from providers import zapier_wire as wire
from providers.base import Capability, Endpoints
from providers.errors import (
    NotFound,
    ProviderError,
    RateLimited,
    Rejected,
    ScopeMissing,
    TokenRevoked,
    Unavailable,
    UnexpectedResponse,
)
from providers.flows import Flow, FlowConnection, FlowRun
from providers.http import Limits, not_json, parse_retry_after
from providers.middleware import Middleware

logger = logging.getLogger(__name__)

PAGE = 100
MAX_PAGES = 20
MAX_RUNS = 200
SCOPES = ("zap:all", "zap:runs", "authentication")


class Zapier(Middleware):
    system = "zapier"
    display_name = "Zapier"
    auth_kind = "oauth2"
    client_auth = "post"
    default_endpoints = Endpoints(
        base_url="https://api.zapier.com",
        token_url="https://zapier.com/oauth/token/",
        authorize_url="https://api.zapier.com/v2/authorize",
    )
    default_limits = Limits(concurrent=4, per_minute=60, app_per_minute=150)
    scopes_needed = SCOPES
    capabilities = frozenset({Capability.FLOW, Capability.FLOW_RUNS, Capability.FLOW_CONNECTIONS})

    @property
    def zap_id(self) -> str:
        return self.options.extra.get("zap_id", "")

    @property
    def runs_zap_id(self) -> str | None:
        """The integer id ``/v2/zap-runs`` filters on: configured, or an all-digit ``zap_id``."""
        configured = self.options.extra.get("runs_zap_id")
        if configured:
            return configured
        return self.zap_id if self.zap_id.isdigit() else None

    def supports(self, capability: Capability) -> bool:
        if capability is Capability.FLOW_RUNS and self.runs_zap_id is None:
            return False
        return super().supports(capability)

    def error_for(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            return not_json(response, self.system)
        message, code = wire.error_envelope(body)
        message = message or f"HTTP {status}"
        kw: dict[str, Any] = {"system": self.system, "code": code, "status": status}
        if status == 401:
            return TokenRevoked(message, **kw)
        if status == 403:
            return ScopeMissing(message, needed=self._scope_for(response), **kw)
        if status == 404:
            return NotFound(message, **kw)
        if status == 429:
            return RateLimited(message, retry_after=parse_retry_after(response.headers.get("Retry-After")), **kw)
        if status >= 500:
            return Unavailable(message, **kw)
        return Rejected(message, **kw)

    @staticmethod
    def _scope_for(response: httpx.Response) -> tuple[str, ...]:
        path = response.request.url.path
        if path.startswith("/v2/zap-runs"):
            return ("zap:runs",)
        if path.startswith("/v2/authentications"):
            return ("authentication",)
        return ("zap:all",)

    def _pages(self, path: str, params: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        """Every object of a list, following ``links.next`` (absolute URLs) until null."""
        url: str | None = path
        query: Mapping[str, Any] | None = params
        for _ in range(MAX_PAGES):
            if url is None:
                return
            body = self.api.get_json(url, params=query)
            data = body.get("data") if isinstance(body, Mapping) else None
            if not isinstance(data, list):
                raise UnexpectedResponse(f"GET {path} answered without a data list", system=self.system)
            yield from (item for item in data if isinstance(item, Mapping))
            links = body.get("links") if isinstance(body.get("links"), Mapping) else {}
            nxt = links.get("next")
            url, query = (str(nxt), None) if nxt else (None, None)

    def _zap(self) -> Mapping[str, Any] | None:
        def load() -> Mapping[str, Any] | None:
            for zap in self._pages("/v2/zaps", {"limit": PAGE, "offset": 0, "expand": "steps.action"}):
                if str(zap.get("id")) == self.zap_id:
                    return zap
            return None

        return self.memo.once("zapier.zap", load)

    # -- reads ----------------------------------------------------------------------------

    def flow(self) -> Flow | None:
        zap = self._zap()
        if zap is None:
            return None
        poll = self.options.extra.get("poll_minutes")
        return wire.flow(zap, self.options.extra.get("plan"), int(poll) if poll else None)

    def flow_runs(self, since: datetime) -> list[FlowRun]:
        zap_id = self.runs_zap_id
        if zap_id is None:
            return []
        params = {"zap_id": zap_id, "from_date": since.isoformat(), "limit": PAGE, "offset": 0}
        runs = [wire.run(raw) for _, raw in zip(range(MAX_RUNS), self._pages("/v2/zap-runs", params), strict=False)]
        return sorted(runs, key=lambda r: r.started_at or since, reverse=True)

    def flow_connections(self) -> list[FlowConnection]:
        """The app accounts the Zap's steps use, looked up per app (the endpoint needs one)."""
        zap = self._zap()
        if zap is None:
            return []
        wanted: dict[str, set[str]] = {}
        for step in wire.steps(zap):
            app, auth = wire.step_app(step), wire.step_authentication(step)
            if app and auth:
                wanted.setdefault(app, set()).add(auth)
        per_app = self.fan_out.map(
            lambda app: list(self._pages("/v2/authentications", {"app": app, "limit": PAGE})), wanted
        )
        return [
            wire.connection(raw)
            for app, found in zip(wanted, per_app, strict=True)
            for raw in found
            if str(raw.get("id")) in wanted[app]
        ]

    def blind_spots(self) -> tuple[str, ...]:
        notes = [
            "why a Zap was turned off (its owner, repeated errors or the plan: Zapier's API says only on or off)",
            "the error message and failing step of a Zap run (Zapier's run history gives statuses only)",
        ]
        if self.runs_zap_id is None:
            notes.append("the Zap's runs: Zapier's run history needs the Zap's numeric id (middleware.runs_zap_id)")
        if not self.options.extra.get("plan") and not self.options.extra.get("poll_minutes"):
            notes.append("how often the Zap polls (set middleware.plan or poll_minutes; instant triggers excepted)")
        return tuple(notes)
