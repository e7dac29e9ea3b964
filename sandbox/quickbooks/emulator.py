"""The QuickBooks Online emulator: its routes, who may call them (token, realm, scope, the
company's status, scripted faults), the query endpoint, reads of one entity, creates with
``requestid`` replay, and the XML entitlements service."""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from common.types import JSON
from sandbox.base import Emulator
from sandbox.clock import SandboxClock
from sandbox.consent import ConsentScreen
from sandbox.quickbooks.query import entity_name, run_query
from sandbox.quickbooks.wire import (
    ACCOUNTING_SCOPE,
    BATCH_MAX,
    CREATABLE,
    DEFAULT_CODES,
    NOT_FOUND_DETAIL,
    Fault,
    entitlements_xml,
    fault_body,
    fault_response,
    stamped,
    xml_fault,
)
from sandbox.quickbooks.world import Realm
from sandbox.quickbooks.writes import Creates
from sandbox.tokens import Grant

logger = logging.getLogger(__name__)


class QuickBooksEmulator(Emulator):
    """QuickBooks Online over loopback. World: see the package docstring."""

    system = "quickbooks"
    token_path = "/oauth2/v1/tokens/bearer"
    load_errors = (Fault,)

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        section = {"access_token_ttl": 3600, **section}
        super().__init__(section, clock)
        self.refresh_ttl = int(section.get("refresh_token_ttl", 100 * 86400))
        self.max_results = int(section.get("max_results", 1000))
        self.codes = {
            **DEFAULT_CODES,
            **{k: str(v) for k, v in (section.get("validation_codes") or {}).items()},
        }
        # Intuit answers a realm the token does not reach, or a user who lost access, with 401
        # and code 120 AuthorizationFailure [QE]: the code, not the status, tells it apart.
        self.wrong_realm_fault = {
            "status": 401,
            "code": "120",
            "type": "AuthorizationFault",
            **(section.get("wrong_realm_fault") or {}),
        }
        self.scripted: deque[Mapping[str, Any]] = deque(section.get("scripted_faults") or [])
        now = self.now_iso()
        self.realms = {str(k): Realm(str(k), v or {}, now) for k, v in (section.get("realms") or {}).items()}
        self.creates = Creates(
            self.codes, self.clock, check_doc_numbers=bool(section.get("duplicate_doc_number_check", True))
        )
        self._replays: dict[tuple[str, str], tuple[int, JSON]] = {}
        self.received: list[tuple[str, str, dict[str, str], Any]] = []  # (method, path, query, JSON body)
        self.queries: list[str] = []  # every query statement received, in order
        # Intuit's consent screen: the person picks a company; its realmId comes back in the redirect.
        self.consent = ConsentScreen(
            "QuickBooks Online",
            dict(section.get("clients") or {}),
            lambda: [(r.id, str(r.company_info.get("CompanyName") or r.id)) for r in self.realms.values()],
            lambda chosen: chosen,
            realm_in_redirect=True,
        )

    # -- hooks of the base ------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/authorize", self.consent.page, methods=["GET"]),
            Route("/authorize", self.consent.decide, methods=["POST"]),
            Route("/v3/company/{realm}/query", self._query, methods=["GET", "POST"]),
            Route("/v3/company/{realm}/companyinfo/{cid}", self._company_info, methods=["GET"]),
            Route("/v3/company/{realm}/preferences", self._preferences, methods=["GET"]),
            Route("/v3/company/{realm}/batch", self._batch, methods=["POST"]),
            Route("/v3/company/{realm}/{entity}", self._create, methods=["POST"]),
            Route("/v3/company/{realm}/{entity}/{eid}", self._read_one, methods=["GET"]),
            Route("/manage/entitlements/v3/{realm}", self._entitlements, methods=["GET"]),
        ]

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        kind = "SystemFault" if status >= 500 else "ValidationFault"
        return fault_response(Fault(status, code, message, type=kind), self.now_iso())

    def rate_limit_response(self) -> Response:
        # Intuit documents only "HTTP 429, wait 60 seconds" [QL]; a Retry-After is sent so tests
        # can set the wait (whether Intuit sends one is UNCONFIRMED).
        fault = Fault(429, "3001", "ThrottleExceeded", "Too many requests", type="SystemFault")
        return self.with_retry_after(fault_response(fault, self.now_iso()))

    def token_response(self, grant: Grant) -> dict[str, Any]:
        body = super().token_response(grant)
        body["x_refresh_token_expires_in"] = self.refresh_ttl  # rolling: reset on each refresh [QB1]
        return body

    # -- shared handling --------------------------------------------------------------------

    def now_iso(self) -> str:
        """Now as QuickBooks stamps answers (``time``) and entities (``MetaData``)."""
        return self.clock.moment().isoformat(timespec="milliseconds")

    def run_query(self, realm: Realm, text: str) -> JSON:
        """One query statement against ``realm``: the QueryResponse object it answers."""
        return run_query(realm, text, max_results=self.max_results, error_code=self.codes["query"])

    def push_fault(self, status: int, code: str, message: str, detail: str = "", type: str = "ValidationFault") -> None:
        """Answer the next authorised API call with this Fault (tests: codes Intuit sends rarely)."""
        self.scripted.append({"status": status, "code": code, "message": message, "detail": detail, "type": type})

    def _authorise(self, request: Request, realm_id: str) -> Realm:
        grant, problem = self.tokens.check_access(self.bearer(request))
        if problem is not None or grant is None:
            # Intuit answers every refused token alike (observed): 401, code 3200.
            raise Fault(
                401,
                "3200",
                "message=ApplicationAuthenticationFailed; errorCode=003200; statusCode=401",
                f"Token {problem or 'invalid'}",
                type="AUTHENTICATION",
            )
        realm = self.realms.get(realm_id)
        if realm is None or str(grant.principal) != realm_id or self.faults.wrong_tenant:
            f = self.wrong_realm_fault
            raise Fault(
                int(f["status"]),
                str(f["code"]),
                "AuthorizationFailure",
                f"Authorization Failure: the access token does not grant access to company {realm_id}",
                type=str(f["type"]),
            )
        if grant.scopes and ACCOUNTING_SCOPE not in grant.scopes:
            raise Fault(
                403,
                "120",
                "AuthorizationFailure",
                f"Authorization Failure: scope {ACCOUNTING_SCOPE} not granted",
                type="AuthorizationFault",
            )
        if self.scripted:
            s = self.scripted.popleft()
            raise Fault(
                int(s["status"]),
                str(s["code"]),
                str(s["message"]),
                str(s.get("detail", "")),
                type=str(s.get("type", "ValidationFault")),
            )
        if realm.status_invalid:
            raise Fault(
                400,
                "6190",
                "Invalid Company Status",
                "The subscription of this company has ended, was cancelled or has a billing problem",
            )
        return realm

    async def _answer(self, request: Request, work: Any) -> Response:
        body: Any = None
        if request.method == "POST" and request.headers.get("content-type", "").startswith("application/json"):
            try:
                body = json.loads(await request.body() or b"null")
            except ValueError:
                body = "<not JSON>"
        self.received.append((request.method, request.url.path, dict(request.query_params), body))
        try:
            realm = self._authorise(request, request.path_params["realm"])
            with self.lock:
                status, body = await work(realm)
        except Fault as fault:
            return fault_response(fault, self.now_iso())
        return JSONResponse(body, status_code=status)

    # -- routes -----------------------------------------------------------------------------

    async def _query(self, request: Request) -> Response:
        async def work(realm: Realm) -> tuple[int, JSON]:
            text = request.query_params.get("query")
            if text is None and request.method == "POST":
                text = (await request.body()).decode()
            self.queries.append(text or "")
            return 200, {"QueryResponse": self.run_query(realm, text or ""), "time": self.now_iso()}

        return await self._answer(request, work)

    async def _company_info(self, request: Request) -> Response:
        async def work(realm: Realm) -> tuple[int, JSON]:
            if request.path_params["cid"] != realm.id:
                raise Fault(400, "610", "Object Not Found", NOT_FOUND_DETAIL)
            return 200, {"CompanyInfo": stamped(realm.company_info), "time": self.now_iso()}

        return await self._answer(request, work)

    async def _preferences(self, request: Request) -> Response:
        async def work(realm: Realm) -> tuple[int, JSON]:
            return 200, {"Preferences": stamped(realm.preferences), "time": self.now_iso()}

        return await self._answer(request, work)

    async def _read_one(self, request: Request) -> Response:
        async def work(realm: Realm) -> tuple[int, JSON]:
            entity = entity_name(request.path_params["entity"])
            row = realm.find(entity, request.path_params["eid"]) if entity else None
            if entity is None or row is None:
                raise Fault(400, "610", "Object Not Found", NOT_FOUND_DETAIL)
            return 200, {entity: row, "time": self.now_iso()}

        return await self._answer(request, work)

    async def _create(self, request: Request) -> Response:
        async def work(realm: Realm) -> tuple[int, JSON]:
            raw = await request.body()
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                body = None
            entity = entity_name(request.path_params["entity"])
            if entity is None or entity not in CREATABLE:
                raise Fault(
                    400,
                    self.codes["request"],
                    "Unsupported Operation",
                    f"{request.path_params['entity']} cannot be created here",
                )
            requestid = request.query_params.get("requestid")
            key = (realm.id, requestid or "")
            if requestid and key in self._replays:  # Intuit: a repeat gets the original response
                return self._replays[key]
            try:
                if not isinstance(body, dict):
                    raise Fault(
                        400,
                        self.codes["request"],
                        "Request has invalid or unsupported property",
                        "The body is not a JSON object",
                    )
                row = self.creates.row(realm, entity, body)
                row["Id"] = realm.new_id()
                realm.complete(entity, row, self.now_iso())
                realm.entities[entity].append(row)
                answer: tuple[int, JSON] = (200, {entity: row, "time": self.now_iso()})
            except Fault as fault:
                answer = (fault.status, fault_body(fault, self.now_iso()))
            if requestid:
                self._replays[key] = answer
            return answer

        return await self._answer(request, work)

    async def _batch(self, request: Request) -> Response:
        """``POST /batch``: up to 30 ``BatchItemRequest`` items (creates and queries), each
        answered in its own ``BatchItemResponse`` by ``bId``, a failed one with its own Fault
        while the rest go through; a repeated ``requestid`` replays the first answer."""

        async def work(realm: Realm) -> tuple[int, JSON]:
            try:
                body = json.loads(await request.body() or b"null")
            except ValueError:
                body = None
            items = body.get("BatchItemRequest") if isinstance(body, dict) else None
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise Fault(
                    400, self.codes["request"], "Request has invalid or unsupported property", "BatchItemRequest"
                )
            if len(items) > BATCH_MAX:
                raise Fault(
                    400,
                    self.codes["batch_size"],
                    "Batch size exceeds the limit",
                    f"A batch holds at most {BATCH_MAX} items; this one has {len(items)}",
                )
            requestid = request.query_params.get("requestid")
            key = (realm.id, f"batch:{requestid}")
            if requestid and key in self._replays:
                return self._replays[key]
            answer: tuple[int, JSON] = (
                200,
                {"BatchItemResponse": [self._batch_item(realm, item) for item in items], "time": self.now_iso()},
            )
            if requestid:
                self._replays[key] = answer
            return answer

        return await self._answer(request, work)

    def _batch_item(self, realm: Realm, item: JSON) -> JSON:
        bid = str(item.get("bId") or "")
        try:
            if "Query" in item:
                return {"bId": bid, "QueryResponse": self.run_query(realm, str(item["Query"]))}
            entity = next((e for e in CREATABLE if isinstance(item.get(e), dict)), None)
            if entity is None or str(item.get("operation") or "").lower() != "create":
                raise Fault(
                    400,
                    self.codes["request"],
                    "Unsupported Operation",
                    f"batch item {bid}: only create (Customer, Item, Invoice) and Query are served here",
                )
            row = self.creates.row(realm, entity, item[entity])
            row["Id"] = realm.new_id()
            realm.complete(entity, row, self.now_iso())
            realm.entities[entity].append(row)
            return {"bId": bid, entity: row}
        except Fault as fault:
            return {"bId": bid, "Fault": fault_body(fault, self.now_iso())["Fault"]}

    async def _entitlements(self, request: Request) -> Response:
        # This service speaks XML only (Accept application/xml) [QR entitlements].
        try:
            realm = self._authorise(request, request.path_params["realm"])
            if realm.entitlements_fault:
                f = realm.entitlements_fault
                raise Fault(
                    int(f.get("status", 503)),
                    str(f.get("code", "10000")),
                    str(f.get("message", "Service unavailable")),
                    type="SystemFault" if int(f.get("status", 503)) >= 500 else "ValidationFault",
                )
        except Fault as fault:
            return Response(xml_fault(fault, self.now_iso()), status_code=fault.status, media_type="application/xml")
        return Response(entitlements_xml(realm.entitlements), media_type="application/xml")
