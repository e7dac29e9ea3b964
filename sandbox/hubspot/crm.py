"""HubSpot's CRM endpoints: object lists, search, batch read and upsert, and association batch
reads, each answering for one authenticated caller's portal."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from common.types import JSON
from sandbox.clock import SandboxClock
from sandbox.hubspot.filters import id_key, matches, same_key, sorter
from sandbox.hubspot.wire import batch_response, error_response, iso, prop, render
from sandbox.hubspot.world import Caller, Portal

logger = logging.getLogger(__name__)


class Crm:
    """The CRM handlers, with the world's page and batch limits; ``lock`` guards the portals."""

    def __init__(self, section: Mapping[str, Any], clock: SandboxClock, lock: Any) -> None:
        self.clock = clock
        self.lock = lock
        self.list_page_max = int(section.get("list_page_max", 100))
        self.search_page_max = int(section.get("search_page_max", 200))
        self.search_max_results = int(section.get("search_max_results", 10_000))
        self.batch_max = int(section.get("batch_max", 100))

    async def objects(self, request: Request, caller: Caller, portal: Portal) -> Response:
        """``GET /crm/v3/objects/{type}``: by id, ``limit`` and ``after`` (an offset here)."""
        object_type = request.path_params["object_type"]
        query = request.query_params
        try:
            limit = int(query.get("limit", 10))
            offset = int(query.get("after", 0))
        except ValueError:
            return error_response(400, "VALIDATION_ERROR", "limit and after must be integers")
        if limit > self.list_page_max or limit < 1:
            return error_response(400, "VALIDATION_ERROR", f"limit must be between 1 and {self.list_page_max}")
        archived = query.get("archived", "false").lower() == "true"
        properties = [p for value in query.getlist("properties") for p in value.split(",") if p]
        with self.lock:
            matching = sorted(
                (o for o in portal.objects[object_type].values() if o["archived"] == archived),
                key=lambda o: id_key(o["id"]),
            )
            page = [render(o, properties, object_type) for o in matching[offset : offset + limit]]
        body: JSON = {"results": page}
        if offset + limit < len(matching):
            body["paging"] = {
                "next": {
                    "after": str(offset + limit),
                    "link": f"{request.url.path}?after={offset + limit}",
                }
            }
        return JSONResponse(body)

    async def search(self, request: Request, caller: Caller, portal: Portal) -> Response:
        """``POST .../search``: filter groups (OR of ANDs), sorts, paging up to the result cap."""
        object_type = request.path_params["object_type"]
        body = await json_body(request)
        if body is None:
            return error_response(400, "VALIDATION_ERROR", "Invalid input JSON")
        limit = int(body.get("limit", 10))
        offset = int(body.get("after") or 0)
        if limit > self.search_page_max or limit < 1:
            return error_response(400, "VALIDATION_ERROR", f"limit must be between 1 and {self.search_page_max}")
        if offset >= self.search_max_results:
            return error_response(
                400,
                "VALIDATION_ERROR",
                f"Search results are limited to {self.search_max_results}; narrow the filters",
            )
        groups = body.get("filterGroups") or []
        with self.lock:
            matching = [
                o
                for o in portal.objects[object_type].values()
                if not o["archived"]
                and (not groups or any(all(matches(o, f) for f in g.get("filters", [])) for g in groups))
            ]
        matching.sort(key=lambda o: id_key(o["id"]))
        for sort in reversed(body.get("sorts") or []):
            name = sort if isinstance(sort, str) else sort.get("propertyName")
            descending = isinstance(sort, dict) and sort.get("direction") == "DESCENDING"
            matching.sort(key=sorter(str(name)), reverse=descending)
        end = min(offset + limit, self.search_max_results)
        answer: JSON = {
            "total": len(matching),
            "results": [render(o, body.get("properties"), object_type) for o in matching[offset:end]],
        }
        if end < len(matching):
            answer["paging"] = {"next": {"after": str(end)}}
        return JSONResponse(answer)

    async def batch_read(self, request: Request, caller: Caller, portal: Portal) -> Response:
        object_type = request.path_params["object_type"]
        body = await json_body(request)
        inputs = self._inputs(body, allow_empty=True)
        if isinstance(inputs, Response):
            return inputs
        started = iso(self.clock.moment())
        found, missing = [], []
        with self.lock:
            for entry in inputs:
                obj = portal.objects[object_type].get(str(entry.get("id")))
                if obj is None or obj["archived"]:
                    missing.append(str(entry.get("id")))
                else:
                    found.append(render(obj, (body or {}).get("properties"), object_type))
        return self._answer(
            found,
            started,
            missing,
            "OBJECT_NOT_FOUND",
            "Could not get some objects, they may be deleted or not exist.",
        )

    async def association_read(self, request: Request, caller: Caller, portal: Portal) -> Response:
        """``POST /crm/v4/associations/{from}/{to}/batch/read``."""
        from_type, to_type = request.path_params["from_type"], request.path_params["to_type"]
        body = await json_body(request)
        inputs = self._inputs(body, allow_empty=True)
        if isinstance(inputs, Response):
            return inputs
        started = iso(self.clock.moment())
        links = portal.associations.get((from_type, to_type), {})
        rows, none = [], []
        for entry in inputs:
            source = str(entry.get("id"))
            targets = links.get(source, [])
            if not targets:
                none.append(source)
                continue
            rows.append(
                {
                    "from": {"id": source},
                    "to": [
                        {
                            "toObjectId": int(t) if t.isdigit() else t,
                            "associationTypes": [{"category": "HUBSPOT_DEFINED", "label": None}],
                        }
                        for t in targets
                    ],
                }
            )
        return self._answer(
            rows,
            started,
            none,
            "NO_ASSOCIATIONS_FOUND",
            f"No {to_type} is associated with some {from_type}.",
        )

    async def batch_upsert(self, request: Request, caller: Caller, portal: Portal) -> Response:
        """Create or update by a unique property (``idProperty``); emails match whatever their case."""
        object_type = request.path_params["object_type"]
        body = await json_body(request)
        inputs = self._inputs(body, allow_empty=False)
        if isinstance(inputs, Response):
            return inputs
        started = iso(self.clock.moment())
        results = []
        with self.lock:
            for entry in inputs:
                id_property, key = entry.get("idProperty"), str(entry.get("id", ""))
                if not id_property or not key:
                    return error_response(400, "VALIDATION_ERROR", "idProperty and id are required for an upsert")
                existing = next(
                    (
                        o
                        for o in portal.objects[object_type].values()
                        if not o["archived"] and same_key(id_property, o["properties"].get(id_property), key)
                    ),
                    None,
                )
                props = {k: prop(v) for k, v in (entry.get("properties") or {}).items()}
                if object_type == "contacts" and props.get("email"):
                    props["email"] = str(props["email"]).lower()  # HubSpot stores emails lower-cased
                if existing is not None:
                    existing["properties"].update(props)
                    existing["updatedAt"] = iso(self.clock.moment())
                    results.append({**render(existing, list(props), object_type), "new": False})
                else:
                    portal.next_id += 1
                    obj = portal.store(
                        object_type, str(portal.next_id), {id_property: key, **props}, False, self.clock.moment()
                    )
                    results.append({**render(obj, list(props), object_type), "new": True})
        return self._answer(results, started, [], "", "")

    def _inputs(self, body: JSON | None, *, allow_empty: bool) -> list[Any] | Response:
        """A batch's ``inputs``, or the 400 HubSpot answers for a missing or oversized one."""
        inputs = (body or {}).get("inputs")
        if not isinstance(inputs, list) or (not inputs and not allow_empty):
            return error_response(400, "VALIDATION_ERROR", "inputs is required")
        if len(inputs) > self.batch_max:
            return error_response(400, "VALIDATION_ERROR", f"Batch input limit is {self.batch_max}")
        return inputs

    def _answer(self, results: list[JSON], started: str, missing: list[str], category: str, message: str) -> Response:
        return batch_response(results, started, iso(self.clock.moment()), missing, category, message)


async def json_body(request: Request) -> JSON | None:
    """The request's JSON object, or None when the body is not one."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
