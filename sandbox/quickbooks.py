"""QuickBooks Online emulator: Intuit's v3 paths, JSON shapes, query language and Fault envelopes.

Serves ``/v3/company/{realmId}/{query, companyinfo/{id}, preferences, <entity>, <entity>/{id}}``,
``/manage/entitlements/v3/{realmId}`` (XML, per EntitlementsResponse.xsd) and the token endpoint
``/oauth2/v1/tokens/bearer`` (answers carry ``x_refresh_token_expires_in``). Facts from
specs/PROVIDERS.md section 2; entity fields follow specs/quickbooks/Finance.xsd.

World section (on top of the keys every emulator shares, see ``sandbox/base.py``)::

    quickbooks:
      grants: [{access_token, refresh_token, expires_in, scopes, principal: "<realmId>"}]
      access_token_ttl: 3600            # Intuit: 1 h
      refresh_token_ttl: 8640000        # x_refresh_token_expires_in (100 days, rolling)
      max_results: 1000                 # MAXRESULTS cap; the default page is 100
      duplicate_doc_number_check: true  # refuse a DocNumber already used (6140)
      wrong_realm_fault: {status: 403, code: "120", type: AuthorizationFault}
      validation_codes:                 # codes Intuit does not document (UNCONFIRMED), overridable
        closed_period: "6210"           # TxnDate on/before BookCloseDate (Workato's reading of 6210)
        currency: "6000"                # currency not enabled / not the home currency
        required: "6000"                # a required field is missing
        invalid_name: "6000"            # ":" in a DisplayName
        query: "4000"                   # the query cannot be parsed / names an unknown entity
        request: "6000"                 # the body is not a JSON object
      scripted_faults:                  # answered, in order, to the next authorised API calls
        - {status: 400, code: "6190", message: "Invalid Company Status", detail: "...", type: ValidationFault}
      realms:
        "9130350000000001":
          company_status_invalid: false # every call answers 6190 (subscription ended) [QT]
          entitlements_fault: null      # {status, code, message}: the entitlements service refuses
          CompanyInfo: {CompanyName: Acme, Country: US, SampleFile: false,
                        NameValue: [{Name: OfferingSku, Value: QuickBooks Online Plus},
                                    {Name: SubscriptionStatus, Value: PAID}]}
          Preferences: {CurrencyPrefs: {MultiCurrencyEnabled: false, HomeCurrency: {value: USD}},
                        AccountingInfoPrefs: {ClassTrackingPerTxnLine: true, BookCloseDate: "2024-01-31"},
                        SalesFormsPrefs: {CustomTxnNumbers: true}}
          Entitlements: {QboCompany: true, PlanName: QBWEBPLUS, MaxUsers: 5, CurrentUsers: 1,
                         DaysRemainingTrial: 0, Entitlement: [{id: "27", name: Class Tracking, term: "On"}]}
          Customer: [...]  Item: [...]  Invoice: [...]  Account: [...]  TaxCode: [...]
          TaxRate: [...]   Class: [...] Payment: [...]  CompanyCurrency: [...]

Entities are written in Intuit's JSON (keys are XSD element names); the emulator fills what
Intuit computes (Id, SyncToken, MetaData, FullyQualifiedName, line Amount, TotalAmt, Balance,
reference names). A name-list query (Customer, Item, Account, ...) returns active rows only
unless its WHERE mentions ``Active``, as QuickBooks does.
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Mapping
from copy import deepcopy
from datetime import UTC, date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from common.types import JSON
from sandbox.base import Emulator, Grant, SandboxClock

logger = logging.getLogger(__name__)


ENTITIES = (
    "Customer",
    "Item",
    "Invoice",
    "Account",
    "TaxCode",
    "TaxRate",
    "Class",
    "Payment",
    "CompanyCurrency",
)
NAME_LISTS = frozenset({"Customer", "Item", "Account", "TaxCode", "TaxRate", "Class", "CompanyCurrency"})
CREATABLE = frozenset({"Customer", "Item", "Invoice"})
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
FINANCE_NS = "http://schema.intuit.com/finance/v3"
DEFAULT_CODES = {
    "closed_period": "6210",
    "currency": "6000",
    "required": "6000",
    "invalid_name": "6000",
    "query": "4000",
    "request": "6000",
}
NOT_FOUND_DETAIL = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)


class Fault(Exception):
    """A refusal in Intuit's words, raised inside a handler and answered as a Fault envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: str = "",
        *,
        type: str = "ValidationFault",
        element: str = "",
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.detail, self.type, self.element = (
            status,
            code,
            message,
            detail,
            type,
            element,
        )


class Realm:
    """One company: its settings and entity lists, in Intuit's JSON."""

    def __init__(self, realm_id: str, data: Mapping[str, Any], now: str) -> None:
        self.id = realm_id
        self.status_invalid = bool(data.get("company_status_invalid", False))
        self.company_info: JSON = {
            "Id": realm_id,
            "CompanyName": f"Company {realm_id}",
            **deepcopy(data.get("CompanyInfo") or {}),
        }
        self.preferences: JSON = deepcopy(data.get("Preferences") or {})
        self.entitlements: JSON = {"QboCompany": True, **deepcopy(data.get("Entitlements") or {})}
        self.entitlements_fault: Mapping[str, Any] | None = data.get("entitlements_fault")  # {status, code, message}
        self.entities: dict[str, list[JSON]] = {name: deepcopy(list(data.get(name) or [])) for name in ENTITIES}
        given = [str(r["Id"]) for rows in self.entities.values() for r in rows if r.get("Id")]
        self._next_id = max((int(i) for i in given if i.isdigit()), default=0) + 1
        for name in ENTITIES:  # ids first: invoices' references are filled from them below
            for row in self.entities[name]:
                row["Id"] = str(row.get("Id") or self.new_id())
        for name in sorted(ENTITIES, key=lambda e: e in ("Invoice", "Payment")):  # name lists first
            for row in self.entities[name]:
                self.complete(name, row, now)

    @property
    def home_currency(self) -> str:
        home = ((self.preferences.get("CurrencyPrefs") or {}).get("HomeCurrency") or {}).get("value")
        return str(home or "USD")

    @property
    def multicurrency(self) -> bool:
        return bool((self.preferences.get("CurrencyPrefs") or {}).get("MultiCurrencyEnabled"))

    def new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id - 1)

    def find(self, entity: str, entity_id: Any) -> JSON | None:
        return next((r for r in self.entities[entity] if r["Id"] == str(entity_id)), None)

    def complete(self, entity: str, row: JSON, now: str) -> None:
        """Fill what QuickBooks computes or echoes on every entity it returns."""
        row.setdefault("SyncToken", "0")
        row.setdefault("domain", "QBO")
        row.setdefault("sparse", False)
        row.setdefault("MetaData", {"CreateTime": now, "LastUpdatedTime": now})
        if entity in NAME_LISTS:
            row.setdefault("Active", True)
        if entity == "Customer":
            row.setdefault("FullyQualifiedName", row.get("DisplayName"))
            row.setdefault("CurrencyRef", self._currency_ref(self.home_currency))
        elif entity in ("Item", "Account", "Class"):
            row.setdefault("FullyQualifiedName", row.get("Name"))
        if entity == "Item":
            self._name_ref(row.get("IncomeAccountRef"), "Account", "Name")
        if entity in ("Invoice", "Payment"):
            row.setdefault("CurrencyRef", self._currency_ref(self.home_currency))
            self._name_ref(row.get("CustomerRef"), "Customer", "DisplayName")
        if entity == "Invoice":
            subtotal = 0.0
            for line in row.get("Line") or []:
                detail = line.get("SalesItemLineDetail")
                if detail is None:
                    continue
                if "Amount" not in line:
                    line["Amount"] = round(float(detail.get("Qty", 1)) * float(detail.get("UnitPrice", 0)), 2)
                subtotal += float(line["Amount"])
                self._name_ref(detail.get("ItemRef"), "Item", "Name")
                self._name_ref(detail.get("ClassRef"), "Class", "FullyQualifiedName")
            self._name_ref(row.get("ClassRef"), "Class", "FullyQualifiedName")
            tax = float((row.get("TxnTaxDetail") or {}).get("TotalTax", 0))
            row.setdefault("TotalAmt", round(subtotal + tax, 2))
            row.setdefault("Balance", row["TotalAmt"])

    def _currency_ref(self, code: str) -> JSON:
        return {"value": code}

    def _name_ref(self, ref: Any, entity: str, field: str) -> None:
        if isinstance(ref, dict) and "name" not in ref:
            target = self.find(entity, ref.get("value"))
            if target is not None and target.get(field):
                ref["name"] = target[field]


class QuickBooksEmulator(Emulator):
    system = "quickbooks"
    token_path = "/oauth2/v1/tokens/bearer"

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock | None = None) -> None:
        section = {"access_token_ttl": 3600, **section}
        super().__init__(section, clock)
        self.refresh_ttl = int(section.get("refresh_token_ttl", 100 * 86400))
        self.max_results = int(section.get("max_results", 1000))
        self.check_doc_numbers = bool(section.get("duplicate_doc_number_check", True))
        self.codes = {
            **DEFAULT_CODES,
            **{k: str(v) for k, v in (section.get("validation_codes") or {}).items()},
        }
        self.wrong_realm_fault = {
            "status": 403,
            "code": "120",
            "type": "AuthorizationFault",
            **(section.get("wrong_realm_fault") or {}),
        }
        self.scripted: deque[Mapping[str, Any]] = deque(section.get("scripted_faults") or [])
        now = self.now_iso()
        self.realms = {str(k): Realm(str(k), v or {}, now) for k, v in (section.get("realms") or {}).items()}
        self._replays: dict[tuple[str, str], tuple[int, JSON]] = {}
        self.received: list[tuple[str, str, dict[str, str], Any]] = []  # (method, path, query, JSON body)
        self.queries: list[str] = []  # every query statement received, in order

    # -- hooks of the base ------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v3/company/{realm}/query", self._query, methods=["GET", "POST"]),
            Route("/v3/company/{realm}/companyinfo/{cid}", self._company_info, methods=["GET"]),
            Route("/v3/company/{realm}/preferences", self._preferences, methods=["GET"]),
            Route("/v3/company/{realm}/{entity}", self._create, methods=["POST"]),
            Route("/v3/company/{realm}/{entity}/{eid}", self._read_one, methods=["GET"]),
            Route("/manage/entitlements/v3/{realm}", self._entitlements, methods=["GET"]),
        ]

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        kind = "SystemFault" if status >= 500 else "ValidationFault"
        return self.fault_response(Fault(status, code, message, type=kind))

    def rate_limit_response(self) -> Response:
        # Intuit documents only "HTTP 429, wait 60 seconds" [QL]; a Retry-After is sent so tests
        # can set the wait (whether Intuit sends one is UNCONFIRMED).
        response = self.fault_response(Fault(429, "3001", "ThrottleExceeded", "Too many requests", type="SystemFault"))
        response.headers["Retry-After"] = (
            str(int(self.faults.retry_after))
            if float(self.faults.retry_after).is_integer()
            else str(self.faults.retry_after)
        )
        return response

    def token_response(self, grant: Grant) -> dict[str, Any]:
        body = super().token_response(grant)
        body["x_refresh_token_expires_in"] = self.refresh_ttl  # rolling: reset on each refresh [QB1]
        return body

    # -- shared handling --------------------------------------------------------------------

    def now_iso(self) -> str:
        return datetime.fromtimestamp(self.clock.now(), UTC).isoformat(timespec="milliseconds")

    def fault_body(self, fault: Fault) -> JSON:
        error = {
            "Message": fault.message,
            "Detail": fault.detail or fault.message,
            "code": fault.code,
            "element": fault.element,
        }
        return {"Fault": {"Error": [error], "type": fault.type}, "time": self.now_iso()}

    def fault_response(self, fault: Fault) -> Response:
        return JSONResponse(self.fault_body(fault), status_code=fault.status)

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
            return self.fault_response(fault)
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
            return 200, {"CompanyInfo": self._stamped(realm.company_info), "time": self.now_iso()}

        return await self._answer(request, work)

    async def _preferences(self, request: Request) -> Response:
        async def work(realm: Realm) -> tuple[int, JSON]:
            return 200, {"Preferences": self._stamped(realm.preferences), "time": self.now_iso()}

        return await self._answer(request, work)

    async def _read_one(self, request: Request) -> Response:
        async def work(realm: Realm) -> tuple[int, JSON]:
            entity = _entity_name(request.path_params["entity"])
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
            entity = _entity_name(request.path_params["entity"])
            if entity not in CREATABLE:
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
                row = getattr(self, f"_new_{entity.lower()}")(realm, body)
                row["Id"] = realm.new_id()
                realm.complete(entity, row, self.now_iso())
                realm.entities[entity].append(row)
                answer: tuple[int, JSON] = (200, {entity: row, "time": self.now_iso()})
            except Fault as fault:
                answer = (fault.status, self.fault_body(fault))
            if requestid:
                self._replays[key] = answer
            return answer

        return await self._answer(request, work)

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
            return Response(self.xml_fault(fault), status_code=fault.status, media_type="application/xml")
        return Response(self.entitlements_xml(realm), media_type="application/xml")

    # -- validation of creates --------------------------------------------------------------

    def _new_customer(self, realm: Realm, body: JSON) -> JSON:
        name = str(
            body.get("DisplayName")
            or " ".join(str(body.get(k)) for k in ("GivenName", "FamilyName") if body.get(k))
            or body.get("CompanyName")
            or ""
        ).strip()
        if not name:
            raise Fault(
                400,
                self.codes["required"],
                "Required param missing, need to supply the required value for the API",
                "DisplayName",
                element="DisplayName",
            )
        if ":" in name:  # ":" separates parent and child in FullyQualifiedName [QW, QR customer]
            raise Fault(
                400,
                self.codes["invalid_name"],
                "Invalid Display Name",
                f"{name!r}: a display name cannot contain ':'",
                element="DisplayName",
            )
        if any(
            str(c.get("DisplayName", "")).casefold() == name.casefold()
            for c in realm.entities["Customer"]
            if c.get("Active", True)
        ):
            raise Fault(
                400,
                "6240",
                "Duplicate Name Exists Error",
                "The name supplied already exists. : Another customer is already using this name. Please use a different name.",
            )
        currency = (body.get("CurrencyRef") or {}).get("value")
        if currency:
            self._check_currency(realm, str(currency))
        return {**body, "DisplayName": name, "Active": body.get("Active", True), "Balance": 0}

    def _new_item(self, realm: Realm, body: JSON) -> JSON:
        name = str(body.get("Name") or "").strip()
        if not name:
            raise Fault(
                400,
                self.codes["required"],
                "Required param missing, need to supply the required value for the API",
                "Name",
                element="Name",
            )
        if any(
            str(i.get("Name", "")).casefold() == name.casefold()
            for i in realm.entities["Item"]
            if i.get("Active", True)
        ):
            raise Fault(
                400,
                "6240",
                "Duplicate Name Exists Error",
                "The name supplied already exists. : Another product or service is already using this name. Please use a different name.",
            )
        kind = body.get("Type", "Service")
        if kind in ("Service", "NonInventory", "Inventory"):
            account = (body.get("IncomeAccountRef") or {}).get("value")
            if not account:
                raise Fault(
                    400,
                    self.codes["required"],
                    "Required param missing, need to supply the required value for the API",
                    "IncomeAccountRef",
                    element="IncomeAccountRef",
                )
            self._require_active(realm, "Account", account, "IncomeAccountRef")
        return {**body, "Name": name, "Type": kind}

    def _new_invoice(self, realm: Realm, body: JSON) -> JSON:
        customer = (body.get("CustomerRef") or {}).get("value")
        if not customer:
            raise Fault(
                400,
                self.codes["required"],
                "Required param missing, need to supply the required value for the API",
                "CustomerRef",
                element="CustomerRef",
            )
        self._require_active(realm, "Customer", customer, "CustomerRef")
        lines = body.get("Line") or []
        if not lines:
            raise Fault(
                400,
                self.codes["required"],
                "Required param missing, need to supply the required value for the API",
                "Line",
                element="Line",
            )
        for line in lines:
            detail = line.get("SalesItemLineDetail") or {}
            if (detail.get("ItemRef") or {}).get("value"):
                self._require_active(realm, "Item", detail["ItemRef"]["value"], "ItemRef")
            if (detail.get("ClassRef") or {}).get("value"):
                self._require_active(realm, "Class", detail["ClassRef"]["value"], "ClassRef")
            tax = (detail.get("TaxCodeRef") or {}).get("value")
            if tax and tax not in ("TAX", "NON") and realm.entities["TaxCode"]:  # US lines use TAX / NON
                self._require_active(realm, "TaxCode", tax, "TaxCodeRef")
        currency = str((body.get("CurrencyRef") or {}).get("value") or realm.home_currency)
        self._check_currency(realm, currency)
        txn_date = str(body.get("TxnDate") or datetime.fromtimestamp(self.clock.now(), UTC).date().isoformat())
        closed = (realm.preferences.get("AccountingInfoPrefs") or {}).get("BookCloseDate")
        if closed and date.fromisoformat(txn_date[:10]) <= date.fromisoformat(str(closed)[:10]):
            raise Fault(
                400,
                self.codes["closed_period"],
                "Account Period Closed",
                f"Account period closed, cannot update through API: TxnDate {txn_date} is on or before the closing date {closed}",
                element="TxnDate",
            )
        number = body.get("DocNumber")
        invoices = realm.entities["Invoice"]
        if number and self.check_doc_numbers:
            clash = next(
                (i for i in invoices if str(i.get("DocNumber", "")).casefold() == str(number).casefold()),
                None,
            )
            if clash is not None:
                raise Fault(
                    400,
                    "6140",
                    "Duplicate Document Number Error",
                    "Duplicate Document Number Error : You must specify a different number. This number has already been used. "
                    f"DocNumber={number} is assigned to TxnType=Invoice with TxnId={clash['Id']}",
                )
        if not number:  # Custom Transaction Numbers off: QuickBooks sequences [QX Transaction.DocNumber]
            numeric = [int(i["DocNumber"]) for i in invoices if str(i.get("DocNumber", "")).isdigit()]
            number = str(max(numeric, default=1000) + 1)
        row = deepcopy(body)
        for key in ("TotalAmt", "Balance"):
            row.pop(key, None)  # read-only: computed by QuickBooks
        return {**row, "DocNumber": number, "TxnDate": txn_date, "CurrencyRef": {"value": currency}}

    def _require_active(self, realm: Realm, entity: str, entity_id: Any, element: str) -> None:
        row = realm.find(entity, entity_id)
        if row is None or not row.get("Active", True):
            raise Fault(400, "610", "Object Not Found", NOT_FOUND_DETAIL, element=element)

    def _check_currency(self, realm: Realm, currency: str) -> None:
        if currency.upper() == realm.home_currency.upper():
            return
        enabled = {str(c.get("Code", "")).upper() for c in realm.entities["CompanyCurrency"] if c.get("Active", True)}
        if not realm.multicurrency or currency.upper() not in enabled:
            raise Fault(
                400,
                self.codes["currency"],
                "A business validation error has occurred while processing your request",
                f"Currency {currency} is not enabled for this company",
                element="CurrencyRef",
            )

    def _stamped(self, row: JSON) -> JSON:
        return {"domain": "QBO", "sparse": False, "SyncToken": "0", **row}

    # -- query language ---------------------------------------------------------------------

    def run_query(self, realm: Realm, text: str) -> JSON:
        """Run one statement of Intuit's query language; the QueryResponse object it answers."""
        try:
            query = parse_query(text)
        except QuerySyntaxError as e:
            raise Fault(400, self.codes["query"], "Error parsing query", f"QueryParserError: {e}") from None
        entity = _entity_name(query.entity)
        if entity is None:
            raise Fault(
                400,
                self.codes["query"],
                "Error parsing query",
                f"QueryValidationError: Invalid entity {query.entity}",
            )
        rows = list(realm.entities[entity])
        conditions = list(query.where)
        if entity in NAME_LISTS and not any(c[0].lower() == "active" for c in conditions):
            conditions.append(("Active", "=", True))
        rows = [r for r in rows if all(_matches(_field(r, f), op, v) for f, op, v in conditions)]
        if query.count:
            return {"totalCount": len(rows)}
        rows.sort(key=lambda r: int(r["Id"]) if r["Id"].isdigit() else 0)
        for field, descending in reversed(query.order):
            present = [r for r in rows if _field(r, field) is not None]
            missing = [r for r in rows if _field(r, field) is None]
            rows = sorted(present, key=lambda r: _sort_key(_field(r, field)), reverse=descending) + missing
        start = max(query.start or 1, 1)
        size = min(query.max or 100, self.max_results)
        page = rows[start - 1 : start - 1 + size]
        if not page:
            return {}
        return {entity: page, "startPosition": start, "maxResults": len(page)}

    # -- XML --------------------------------------------------------------------------------

    def entitlements_xml(self, realm: Realm) -> bytes:
        """EntitlementsResponse (no namespace) in the XSD's element order."""
        data = realm.entitlements
        root = ET.Element("EntitlementsResponse")
        for key in ("QboCompany", "PlanName", "MaxUsers", "CurrentUsers", "DaysRemainingTrial"):
            if data.get(key) is not None:
                value = data[key]
                ET.SubElement(root, key).text = str(value).lower() if isinstance(value, bool) else str(value)
        for entry in data.get("Entitlement") or []:
            node = ET.SubElement(root, "Entitlement", {"id": str(entry.get("id", ""))})
            ET.SubElement(node, "name").text = str(entry["name"])
            ET.SubElement(node, "term").text = str(entry.get("term", "On"))
        xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        return xml

    def xml_fault(self, fault: Fault) -> bytes:
        root = ET.Element(f"{{{FINANCE_NS}}}IntuitResponse", {"time": self.now_iso()})
        node = ET.SubElement(root, f"{{{FINANCE_NS}}}Fault", {"type": fault.type})
        error = ET.SubElement(node, f"{{{FINANCE_NS}}}Error", {"code": fault.code})
        ET.SubElement(error, f"{{{FINANCE_NS}}}Message").text = fault.message
        ET.SubElement(error, f"{{{FINANCE_NS}}}Detail").text = fault.detail or fault.message
        ET.register_namespace("", FINANCE_NS)
        xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        return xml


# -- the query language, small: what clients send ------------------------------------------


class QuerySyntaxError(ValueError):
    pass


class Query:
    def __init__(self) -> None:
        self.entity = ""
        self.count = False
        self.where: list[tuple[str, str, Any]] = []
        self.order: list[tuple[str, bool]] = []
        self.start: int | None = None
        self.max: int | None = None


_TOKEN = re.compile(
    r"\s*(?:('(?:\\.|[^'\\])*')|(<=|>=|!=|=|<|>|\(|\)|,|\*)|(-?\d+(?:\.\d+)?)(?![\w.])|([A-Za-z_][\w.]*))"
)
_OPERATORS = {"=", "<", ">", "<=", ">=", "!=", "IN", "LIKE"}


def _tokens(text: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise QuerySyntaxError(f"unexpected text at {pos}: {text[pos : pos + 20]!r}")
        pos = m.end()
        quoted, symbol, number, word = m.groups()
        if quoted is not None:
            found.append(("value", re.sub(r"\\(.)", r"\1", quoted[1:-1])))
        elif symbol is not None:
            found.append(("sym", symbol))
        elif number is not None:
            found.append(("value", number))
        else:
            found.append(("word", word))
    return found


def parse_query(text: str) -> Query:
    """``SELECT * | COUNT(*) FROM Entity [WHERE f op v [AND ...]] [ORDERBY f [ASC|DESC], ...]
    [STARTPOSITION n] [MAXRESULTS m]``; keywords and names are case-insensitive [QR data-queries]."""
    tokens = _tokens(text)
    q = Query()
    i = 0

    def peek_word() -> str:
        return str(tokens[i][1]).upper() if i < len(tokens) and tokens[i][0] == "word" else ""

    def take(kind: str | None = None, value: str | None = None) -> Any:
        nonlocal i
        if i >= len(tokens):
            raise QuerySyntaxError("the statement ends too early")
        tk, tv = tokens[i]
        if (kind and tk != kind) or (value and str(tv).upper() != value):
            raise QuerySyntaxError(f"expected {value or kind}, found {tv!r}")
        i += 1
        return tv

    take("word", "SELECT")
    if i < len(tokens) and tokens[i] == ("sym", "*"):
        take()
    else:
        for kind, value in (("word", "COUNT"), ("sym", "("), ("sym", "*"), ("sym", ")")):
            take(kind, value)
        q.count = True
    take("word", "FROM")
    q.entity = take("word")
    if peek_word() == "WHERE":
        take()
        while True:
            field = take("word")
            op = str(take()).upper()
            if op not in _OPERATORS:
                raise QuerySyntaxError(f"unknown operator {op!r}")
            if op == "IN":
                take("sym", "(")
                values = []
                while True:
                    values.append(_literal(tokens, i))
                    i += 1
                    if take("sym") == ")":
                        break
                q.where.append((field, op, values))
            else:
                q.where.append((field, op, _literal(tokens, i)))
                i += 1
            if peek_word() != "AND":
                break
            take()
    if peek_word() == "ORDERBY":
        take()
        while True:
            field = take("word")
            descending = False
            if peek_word() in ("ASC", "DESC"):
                descending = take().upper() == "DESC"
            q.order.append((field, descending))
            if i < len(tokens) and tokens[i] == ("sym", ","):
                take()
                continue
            break
    for keyword in ("STARTPOSITION", "MAXRESULTS"):
        if peek_word() == keyword:
            take()
            number = str(take("value"))
            if not number.isdigit():
                raise QuerySyntaxError(f"{keyword} needs a whole number")
            setattr(q, "start" if keyword == "STARTPOSITION" else "max", int(number))
    if i != len(tokens):
        raise QuerySyntaxError(f"unexpected {tokens[i][1]!r}")
    return q


def _literal(tokens: list[tuple[str, Any]], i: int) -> Any:
    if i >= len(tokens):
        raise QuerySyntaxError("a value is missing")
    kind, value = tokens[i]
    if kind == "value":
        return value
    if kind == "word" and str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise QuerySyntaxError(f"expected a value, found {value!r}")


def _entity_name(name: str) -> str | None:
    return next((e for e in ENTITIES if e.lower() == name.lower()), None)


def _field(row: Mapping[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    if isinstance(value, Mapping) and "value" in value:  # CustomerRef = '1' compares the reference's value
        value = value["value"]
    return value


def _when(value: Any) -> datetime | None:
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _sort_key(value: Any) -> tuple[int, Any]:
    when = _when(value)
    if when is not None:
        return (0, when.timestamp())
    if isinstance(value, bool):
        return (1, int(value))
    try:
        return (1, float(value))
    except (TypeError, ValueError):
        return (2, str(value).casefold())


def _matches(actual: Any, op: str, expected: Any) -> bool:
    """Compare as QuickBooks does: names and values are not case sensitive [QR data-queries]."""
    if op == "IN":
        return any(_matches(actual, "=", v) for v in expected)
    if isinstance(expected, bool):
        flag = actual if isinstance(actual, bool) else str(actual).lower() == "true"
        return flag == expected if op == "=" else flag != expected if op == "!=" else False
    if actual is None:
        return False
    if op == "LIKE":
        pattern = "".join(".*" if ch == "%" else re.escape(ch) for ch in str(expected).casefold())
        return re.fullmatch(pattern, str(actual).casefold(), re.DOTALL) is not None
    a, b = _sort_key(actual), _sort_key(expected)
    if a[0] != b[0]:
        a, b = (2, str(actual).casefold()), (2, str(expected).casefold())
    return {
        "=": a == b,
        "!=": a != b,
        "<": a < b,
        ">": a > b,
        "<=": a <= b,
        ">=": a >= b,
    }[op]


def generated_realm(customers: int, items: int, invoices: int, *, currency: str = "USD") -> JSON:
    """A realm section of the given size (benchmarks, demos): every invoice references one
    customer and two items; one invoice in three is paid, one in seven partly paid."""
    section: JSON = {
        "CompanyInfo": {
            "CompanyName": "Generated Co",
            "Country": "US",
            "NameValue": [
                {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
                {"Name": "SubscriptionStatus", "Value": "PAID"},
            ],
        },
        "Preferences": {"CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": currency}}},
        "Account": [{"Id": "1", "Name": "Sales", "AcctNum": "4000", "AccountType": "Income"}],
        "Customer": [
            {
                "Id": str(10 + n),
                "DisplayName": f"Customer {n:05d}",
                "PrimaryEmailAddr": {"Address": f"billing{n}@example.com"},
            }
            for n in range(customers)
        ],
        "Item": [
            {
                "Id": str(10 + customers + n),
                "Name": f"Product {n:05d}",
                "Sku": f"PROD-{n:05d}",
                "Type": "Service",
                "UnitPrice": 10 + n % 90,
                "IncomeAccountRef": {"value": "1"},
            }
            for n in range(items)
        ],
    }
    first_invoice = 10 + customers + items
    rows = []
    for n in range(invoices):
        lines = [
            {
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": str(10 + customers + (n + k) % max(items, 1))},
                    "Qty": 1 + k,
                    "UnitPrice": 25,
                },
            }
            for k in range(2 if items else 0)
        ]
        total = 75.0 if items else 0.0
        balance = 0.0 if n % 3 == 0 else (25.0 if n % 7 == 0 else total)
        rows.append(
            {
                "Id": str(first_invoice + n),
                "DocNumber": f"INV-{n:06d}",
                "TxnDate": "2024-03-01",
                "CustomerRef": {"value": str(10 + n % max(customers, 1))},
                "Line": lines,
                "TotalAmt": total,
                "Balance": balance,
            }
        )
    section["Invoice"] = rows
    return section
