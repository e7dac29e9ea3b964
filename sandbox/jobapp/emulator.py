"""The generic job-app emulator: an app that gives its records as JSON over HTTP (any of four
authentications, any of four paging styles) and publishes invoice exports at URLs."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.base import Emulator
from sandbox.clock import SandboxClock

logger = logging.getLogger(__name__)

PAGING = ("none", "page_number", "offset", "cursor", "link_header")


class JobAppEmulator(Emulator):
    """A JSON-over-HTTP job app over loopback. World: see the package docstring."""

    system: ClassVar[str] = "jobapp"
    token_path: ClassVar[str | None] = None

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        super().__init__(section, clock)
        self.auth = dict(section.get("auth") or {"kind": "none"})
        self.paging = dict(section.get("paging") or {"kind": "none"})
        if self.paging.get("kind", "none") not in PAGING:
            raise ValueError(f"jobapp paging kind must be one of {', '.join(PAGING)}")
        self.skew = float(self.auth.get("clock_skew_seconds", 300))
        self.endpoints = {str(path): dict(body) for path, body in (section.get("endpoints") or {}).items()}
        self.exports = {str(path): dict(body) for path, body in (section.get("exports") or {}).items()}

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        return JSONResponse({"error": {"code": code, "message": message}}, status)

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [Route(path, self._list) for path in self.endpoints]
        routes += [Route(path, self._export) for path in self.exports]
        return routes

    # -- authentication -----------------------------------------------------------------------

    def _refusal(self, request: Request) -> Response | None:
        kind = self.auth.get("kind", "none")
        h = request.headers
        if kind == "none":
            return None
        if kind == "bearer":
            ok = h.get("authorization") == f"Bearer {self.auth['secret']}"
        elif kind == "basic":
            pair = f"{self.auth['user']}:{self.auth['password']}".encode()
            ok = h.get("authorization") == "Basic " + base64.b64encode(pair).decode()
        elif kind == "api_key_header":
            ok = h.get(str(self.auth["header"])) == f"{self.auth.get('prefix', '')}{self.auth['secret']}"
        elif kind == "hmac":
            return self._hmac_refusal(request)
        else:
            raise ValueError(f"unknown jobapp auth kind {kind!r}")
        return None if ok else self.error(401, "unauthorized", "Invalid or missing credentials")

    def _hmac_refusal(self, request: Request) -> Response | None:
        """Recompute the signature over the request as sent (method, path, raw query, stamp)."""
        auth, h = self.auth, request.headers
        stamp = h.get(str(auth.get("timestamp_header", "X-Timestamp")), "")
        given = h.get(str(auth["header"]), "")
        if not given or not stamp:
            return self.error(401, "unauthorized", "Signature or timestamp header missing")
        try:
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            return self.error(401, "unauthorized", "Timestamp is not ISO 8601")
        if abs((self.clock.moment() - at).total_seconds()) > self.skew:
            return self.error(401, "unauthorized", "Request timestamp is outside the allowed window")
        template = str(auth.get("message", "{method}\n{path}\n{query}\n{timestamp}"))
        message = template.format(
            method=request.method,
            path=request.url.path,
            query=request.scope.get("query_string", b"").decode(),
            timestamp=stamp,
            body="",
        )
        digest = hmac.new(
            str(auth["secret"]).encode(), message.encode(), getattr(hashlib, auth.get("algorithm", "sha256"))
        )
        raw = digest.digest()
        expected = raw.hex() if auth.get("encoding", "hex") == "hex" else base64.b64encode(raw).decode()
        if not hmac.compare_digest(given, f"{auth.get('prefix', '')}{expected}"):
            return self.error(401, "bad_signature", "Signature does not match")
        return None

    # -- lists ----------------------------------------------------------------------------------

    async def _list(self, request: Request) -> Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        body = self.endpoints[request.url.path]
        rows = [dict(r) for r in body.get("records") or []]
        since_param, since_field = body.get("since_param"), body.get("since_field")
        if since_param and since_field and request.query_params.get(str(since_param)):
            since = request.query_params[str(since_param)]
            rows = [r for r in rows if str(r.get(str(since_field), "")) >= since]
        return self._paged(request, rows, str(body.get("records_key", "data")))

    def _paged(self, request: Request, rows: list[dict[str, Any]], key: str) -> Response:
        p, q = self.paging, request.query_params
        kind = p.get("kind", "none")
        size = int(q.get(str(p.get("size_param", "per_page")), p.get("default_size", 25)))
        if kind == "none":
            return JSONResponse({key: rows})
        if kind == "page_number":
            page = int(q.get(str(p.get("page_param", "page")), 1))
            return JSONResponse({key: rows[(page - 1) * size : page * size], "meta": {"page": page, "per_page": size}})
        if kind == "offset":
            limit = int(q.get(str(p.get("limit_param", "limit")), p.get("default_size", 25)))
            offset = int(q.get(str(p.get("offset_param", "offset")), 0))
            return JSONResponse({key: rows[offset : offset + limit], "meta": {"offset": offset, "total": len(rows)}})
        if kind == "cursor":
            start = int(q.get(str(p.get("cursor_param", "cursor")), "0") or 0)
            chunk = rows[start : start + size]
            nxt = str(start + size) if start + size < len(rows) else None
            if p.get("next_header"):
                response = JSONResponse({key: chunk})
                if nxt is not None:
                    response.headers[str(p["next_header"])] = nxt
                return response
            return JSONResponse({key: chunk, "meta": {"next_cursor": nxt}})
        page = int(q.get("page", 1))  # link_header: the app names the next page's URL itself
        chunk = rows[(page - 1) * size : page * size]
        response = JSONResponse({key: chunk})
        if page * size < len(rows):
            kept = {k: v for k, v in q.items() if k != "page"}
            nxt = f"{request.url.replace(query='')}?{urlencode({**kept, 'page': page + 1})}"
            response.headers["Link"] = f'<{nxt}>; rel="next"'
        return response

    # -- exports --------------------------------------------------------------------------------

    async def _export(self, request: Request) -> Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        body = self.exports[request.url.path]
        if body.get("format", "csv") == "json":
            return JSONResponse(body.get("body"))
        columns = [str(c) for c in body.get("columns") or []]
        dated = {str(c) for c in body.get("date_columns") or []}
        fmt = str(body.get("date_format", "%Y-%m-%d"))
        out = io.StringIO()
        writer = csv.writer(out, delimiter=str(body.get("delimiter", ",")), lineterminator="\r\n")
        writer.writerow(columns)
        for row in body.get("rows") or []:
            values = [row.get(c, "") for c in columns] if isinstance(row, Mapping) else list(row)
            writer.writerow([_dated(v, fmt) if c in dated else v for c, v in zip(columns, values, strict=False)])
        return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8")


def _dated(value: Any, fmt: str) -> str:
    """An ISO date of the world written the way the app writes dates (Torqueflow: 03/12/2026)."""
    try:
        return date.fromisoformat(str(value)).strftime(fmt)
    except ValueError:
        return str(value)
