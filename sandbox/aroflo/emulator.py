"""The AroFlo emulator: the zone API's reads of invoices and clients, with AroFlo's HMAC-SHA512
request signature verified for real, WHERE clauses, joins, paging, the default 30-day filter,
per-minute and per-day limits, and statuses in a 200 body."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.base import Emulator
from sandbox.clock import SandboxClock
from sandbox.limits import RollingWindow

logger = logging.getLogger(__name__)

ZONES = ("invoices", "clients")
MAX_PAGE = 500
DEFAULT_FILTER = "Login OK. No WHERE clause found, default filter applied."
OPS = ("=", "!=", "<", ">")


class Refused(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _money(value: Decimal, places: int = 2) -> str:
    return f"{value:.{places}f}"


def _day(text: str) -> date | None:
    for fmt in ("%Y/%m/%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(text[:10], fmt).date()
        except ValueError:
            continue
    return None


def load_invoice(raw: Mapping[str, Any], index: int) -> dict[str, Any]:
    """An invoice as AroFlo answers it: every value a string, totals from the lines."""
    lines = []
    ex = gst = Decimal(0)
    for i, line in enumerate(raw.get("lines") or []):
        qty, price = Decimal(str(line.get("qtybilled", 1))), Decimal(str(line.get("price", 0)))
        total = qty * price
        rate = Decimal(str(line.get("taxrate", "10.00")))
        tax = (total * rate / 100).quantize(Decimal("0.01"))
        ex, gst = ex + total, gst + tax
        lines.append(
            {
                "lineid": str(line.get("lineid") or f"L{index:03d}{i:02d}"),
                "itemid": "",
                "ordercode": str(line.get("ordercode", "")),
                "description": str(line.get("description", "")),
                "itemtype": str(line.get("itemtype", "Material")),
                "qtyused": _money(qty, 4),
                "qtybilled": _money(qty, 4),
                "price": _money(price, 4),
                "total": _money(total, 4),
                "taxcode": str(line.get("taxcode", "GST")),
                "taxrate": _money(rate),
                "taxamount": _money(tax),
                "accountcode": str(line.get("accountcode", "")),
                "transactioncode": "00",
                "task": {"taskid": "", "jobnumber": "", "webappEncodedID": ""},
            }
        )
    client = dict(raw.get("client") or {})
    task = dict(raw.get("task") or {})
    invoice = {
        "invoiceid": str(raw.get("invoiceid") or f"INV{index:04d}=="),
        "invoicenumber": str(raw["invoicenumber"]),
        "status": str(raw.get("status", "approved")).lower(),
        "dateinvoiced": str(raw.get("dateinvoiced", "")).replace("-", "/"),
        "duedate": str(raw.get("duedate") or raw.get("dateinvoiced", "")).replace("-", "/"),
        "createdutc": str(raw.get("createdutc") or raw.get("dateinvoiced", "")).replace("-", "/"),
        "lastupdateddatetimeutc": str(raw.get("lastupdateddatetimeutc") or f"{raw.get('dateinvoiced', '')} 09:00:00")
        .replace("-", "/")
        .replace("T", " ")
        .rstrip("Z"),
        "description": str(raw.get("description", "")),
        "custon": str(raw.get("custon", "")),
        "client": {"orgid": str(client.get("orgid", "")), "orgname": str(client.get("orgname", ""))},
        "totalex": str(raw.get("totalex") or _money(ex)),
        "totalgst": str(raw.get("totalgst") or _money(gst)),
        "totalinc": str(raw.get("totalinc") or _money(ex + gst)),
        "isTaxInclusive": "false",
        "partinvoice": str(raw.get("partinvoice", "false")).lower(),
        "linkprocesseddate": str(raw.get("linkprocesseddate") or "").replace("-", "/"),
        "link": {"orgid": "", "orgname": "", "externalid": str(raw.get("externalid", ""))},
        "task": {"taskid": str(task.get("taskid", "")), "jobnumber": str(task.get("jobnumber", ""))} if task else {},
        "deliverystatus": "To be Printed",
    }
    return {**invoice, "_lines": lines}


def load_client(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "clientid": str(raw["clientid"]),
        "clientname": str(raw.get("clientname", "")),
        "firstname": str(raw.get("firstname", "")),
        "surname": str(raw.get("surname", "")),
        "email": str(raw.get("email", "")),
        "phone": str(raw.get("phone", "")),
        "archived": str(raw.get("archived", "false")).lower(),
        "postable": str(raw.get("postable", "false")).upper(),
        "datecreated": str(raw.get("datecreated", "2024-01-01")) + " 00:00:00.0",
        "link": {"orgid": "", "orgname": "", "externalid": str(raw.get("externalid", ""))},
    }


class AroFloEmulator(Emulator):
    """AroFlo over loopback. World: see the package docstring."""

    system: ClassVar[str] = "aroflo"
    token_path: ClassVar[str | None] = None

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        super().__init__(section, clock)
        self.credentials = [dict(c) for c in section.get("credentials") or []]
        self.skew = float(section.get("clock_skew_seconds", 300))
        self.per_minute = int(section.get("per_minute", 60))
        self.per_day = int(section.get("per_day", 2000))
        self.http_status = int(section.get("error_http_status", 200))
        self.default_days = int(section.get("default_filter_days", 30))
        self.invoices = [load_invoice(raw, i) for i, raw in enumerate(section.get("invoices") or [])]
        self.clients = [load_client(raw) for raw in section.get("clients") or []]
        self._minute = RollingWindow(60)
        self._day_used = 0
        self.signed: list[str] = []  # payloads verified, for tests of the recipe

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        return JSONResponse({"status": code, "statusmessage": message}, status)

    def rate_limit_response(self) -> Response:
        return self._status("6", "Exceeded Rate Limit - Too many requests per minute")

    def routes(self) -> list[BaseRoute]:
        return [Route("/", self._zone)]

    def _status(self, status: str, message: str) -> Response:
        return JSONResponse({"status": status, "statusmessage": message}, self.http_status)

    # -- the one endpoint -------------------------------------------------------------------

    async def _zone(self, request: Request) -> Response:
        raw_query = request.scope.get("query_string", b"").decode()
        try:
            self._verify(request, raw_query)
            headers = self._count()
            if not raw_query:
                raise Refused("1", "Login Failed - Invalid Request string")
            params = parse_qsl(raw_query, keep_blank_values=True)
            zone = next((v.lower() for k, v in params if k == "zone"), None)
            if zone is None:
                raise Refused("6", "No Zone Specified")
            if zone not in ZONES:
                raise Refused("1", f"Invalid Request String - unknown zone {zone}")
            body = self._answer(zone, params)
        except Refused as refused:
            return self._status(refused.status, refused.message)
        return JSONResponse(body, headers=headers)

    def _verify(self, request: Request, raw_query: str) -> None:
        h = request.headers
        authorization, authentication, stamp = h.get("authorization"), h.get("authentication"), h.get("afdatetimeutc")
        if not authorization or not authentication or not stamp:
            raise Refused("-99999", "Authentication Failed - Required headers are missing")
        given = {k.lower(): unquote(v) for k, v in (p.partition("=")[::2] for p in authorization.split("&"))}
        cred = next(
            (
                c
                for c in self.credentials
                if (given.get("uencoded"), given.get("pencoded"), given.get("orgencoded"))
                == (c.get("uencoded"), c.get("pencoded"), c.get("orgencoded"))
            ),
            None,
        )
        if cred is None:
            raise Refused("-99999", "Authentication Failed - AroFlo API setup is invalid")
        host_ip = h.get("hostip")
        if cred.get("host_ip") and host_ip != cred["host_ip"]:
            raise Refused("-99999", "Authentication Failed - AroFlo API setup is invalid")
        payload = [
            request.method,
            *([host_ip] if host_ip else []),
            "",
            h.get("accept", ""),
            authorization,
            stamp,
            raw_query,
        ]
        expected = hmac.new(str(cred["secret_key"]).encode(), "+".join(payload).encode(), hashlib.sha512).hexdigest()
        if not hmac.compare_digest(authentication.removeprefix("HMAC ").strip(), expected):
            raise Refused("-99999", "Authentication Failed - Signatures do not match")
        try:
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise Refused("-99999", "Authentication Failed - Payload has expired") from None
        if abs((self.clock.moment() - at).total_seconds()) > self.skew:
            raise Refused("-99999", "Authentication Failed - Payload has expired")
        if h.get("accept") != "text/json":
            raise Refused("1", "This emulator answers Accept: text/json only")
        self.signed.append("+".join(payload))

    def _count(self) -> dict[str, str]:
        now = self.clock.now()
        with self.lock:
            if self._day_used >= self.per_day:
                raise Refused("7", "Exceeded Daily Rate Limit")
            if self._minute.used(now) >= self.per_minute:
                raise Refused("6", "Exceeded Rate Limit - Too many requests per minute")
            self._minute.add(now)
            self._day_used += 1
            minute_left, day_left = self.per_minute - len(self._minute), self.per_day - self._day_used
        return {
            "X-RateLimit-Limit": str(self.per_minute),
            "X-RateLimit-Remaining": str(minute_left),
            "X-RateLimit-Daily-Limit": str(self.per_day),
            "X-RateLimit-Daily-Remaining": str(day_left),
        }

    def _answer(self, zone: str, params: list[tuple[str, str]]) -> dict[str, Any]:
        wheres = [v for k, v in params if k == "where"]
        joins = {j.strip().lower() for k, v in params if k == "join" for j in v.split(",")}
        page = int(next((v for k, v in params if k == "page"), "1") or 1)
        size = min(int(next((v for k, v in params if k == "pageSize"), str(MAX_PAGE)) or MAX_PAGE), MAX_PAGE)
        rows = self.invoices if zone == "invoices" else self.clients
        message = "Login OK"
        if wheres:
            for clause in wheres:
                rows = [r for r in rows if self._matches(zone, r, clause)]
        else:
            cutoff = self.clock.moment().date() - timedelta(days=self.default_days)
            created = "createdutc" if zone == "invoices" else "datecreated"
            rows = [r for r in rows if (_day(str(r.get(created, ""))) or date.min) > cutoff]
            message = DEFAULT_FILTER
        chunk = rows[(page - 1) * size : page * size]
        out = []
        for row in chunk:
            item = {k: v for k, v in row.items() if k != "_lines"}
            if zone == "invoices" and "lineitems" in joins:
                item["lines"] = row["_lines"]
            out.append(item)
        return {
            "status": "0",
            "statusmessage": message,
            "zoneresponse": {
                "maxpageresults": size,
                "pagenumber": str(page),
                "generatedisplayresponsetime": 0,
                "currentpageresults": len(out),
                zone: out,
            },
        }

    def _matches(self, zone: str, row: Mapping[str, Any], clause: str) -> bool:
        parts = clause.split("|")
        if len(parts) != 4 or parts[0].lower() not in ("and", "or") or parts[2] not in OPS:
            raise Refused("1", f"Invalid Request String - cannot read WHERE {clause!r}")
        _, fieldname, op, value = parts
        actual: Any
        if fieldname == "linkprocessed":
            actual, value = str(bool(row.get("linkprocesseddate"))).lower(), value.lower()
        elif fieldname == "taskid":
            actual = dict(row.get("task") or {}).get("taskid", "")
        elif fieldname in row:
            actual = row[fieldname]
        else:
            raise Refused("1", f"Invalid Request String - {fieldname} is not a WHERE field of {zone}")
        left, right = _day(str(actual)), _day(value)
        if left is not None and right is not None:
            pair: tuple[Any, Any] = (left, right)
        else:
            pair = (str(actual).lower(), value.lower())
        if op == "=":
            return bool(pair[0] == pair[1])
        if op == "!=":
            return bool(pair[0] != pair[1])
        return bool(pair[0] < pair[1]) if op == "<" else bool(pair[0] > pair[1])
