"""The Stripe emulator's responses and the Stripe client's requests against Stripe's own spec.

``specs/stripe/spec3.yaml`` (official, API version 2023-08-16) is 4 MB: it is loaded once per
module with the C YAML loader, and exchanges are checked with openapi-schema-validator against
the operation's own schemas rather than through openapi-core over the whole document (which
spends most of its time indexing paths we never call). What is checked, for every request the
client really sent during a scripted session (reads, writes, idempotent replays, failures):

- the path matches a templated path of ``paths`` and the method exists there;
- every query parameter is declared by the operation, and its value (after Stripe's bracket
  notation is unfolded and strings are coerced to the declared types) matches its schema;
- the form body validates against the operation's ``requestBody`` schema, whose
  ``additionalProperties: false`` also rejects any parameter Stripe does not know;
- the response validates against the operation's schema for its status (``200`` or the
  ``default`` error envelope).

What cannot be validated here, and why:

- The basil (2025-03-31) invoice and line shape is newer than this spec, so those responses
  are compared with the official example objects in ``fixtures3.json`` instead: every field
  the emulator sends must exist there, with the same discriminating ``type`` values.
- Stripe's spec writes nullable references as ``anyOf: [$ref]`` + ``nullable: true`` without
  a ``type``, which OpenAPI 3.0 validators ignore; the loader below adds an explicit null
  alternative (and ``null`` to nullable enums) so that Stripe's intent, null allowed, is
  what gets checked.
- Headers (``Stripe-Version``, ``Idempotency-Key``) are not described as parameters in the
  spec; the test asserts them directly.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from providers.errors import ProviderError
from providers.http import reset_limiters
from providers.records import Address, Contact, Invoice, InvoiceLine, InvoiceStatus, Item
from sandbox.server import LoopbackServer
from sandbox.stripe import StripeEmulator, parse_form
from tests.contract.specs import SPECS as SPECS_ROOT
from tests.providers.test_stripe import WORLD, client

SPECS = SPECS_ROOT / "stripe"
URI = "urn:stripe-spec3"


def _allow_null(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("nullable") and "anyOf" in node and "type" not in node:
            node["anyOf"] = [*node["anyOf"], {"enum": [None]}]
        if node.get("nullable") and "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        for value in node.values():
            _allow_null(value)
    elif isinstance(node, list):
        for value in node:
            _allow_null(value)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with (SPECS / "spec3.yaml").open(encoding="utf-8") as f:
        loaded: dict[str, Any] = yaml.load(f, Loader=yaml.CSafeLoader)
    assert loaded["info"]["version"] == "2023-08-16"
    _allow_null(loaded)
    return loaded


@pytest.fixture(scope="module")
def registry(spec: dict[str, Any]) -> Registry:
    return Registry().with_resource(URI, Resource.from_contents(spec, default_specification=DRAFT4))


class Recorder:
    """Network-edge tap: keeps each request and the response the emulator sent back."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.exchanges: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        record: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "query": parse_qsl(scope["query_string"].decode(), keep_blank_values=True),
            "form": parse_qsl(body.decode(), keep_blank_values=True),
            "headers": {k.decode().lower(): v.decode() for k, v in scope["headers"]},
            "response": b"",
        }
        self.exchanges.append(record)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def tap(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                record["status"] = message["status"]
            elif message["type"] == "http.response.body":
                record["response"] += message.get("body", b"")
            await send(message)

        await self.app(scope, replay, tap)


def _session(shape: str) -> tuple[StripeEmulator, Recorder]:
    """Drive the client through everything it does, recording the wire."""
    reset_limiters()
    section = copy.deepcopy(WORLD)
    section["invoice_line_shape"] = shape
    emulator = StripeEmulator(section)
    recorder = Recorder(emulator.app)
    server = LoopbackServer(recorder).start()
    try:
        provider = client(server.url)
        provider.probe()
        provider.org_info()
        provider.contacts()
        provider.items()
        provider.invoices()
        provider.invoices(since=date(2023, 11, 20))
        provider.tax_rates()
        provider.api.get_json("/v1/invoices/in_1")
        provider.api.get_json("/v1/invoiceitems", params={"limit": 2})
        provider.create_contact(
            Contact(id="", name="New Co", email="ap@new.test", address=Address("1 Rd", "Perth", "WA", "6000", "AU")),
            idempotency_key="c-1",
        )
        provider.create_contact(
            Contact(id="", name="New Co", email="ap@new.test", address=Address("1 Rd", "Perth", "WA", "6000", "AU")),
            idempotency_key="c-1",
        )
        provider.create_item(
            Item(id="", code="PROD-009", name="Bolt", unit_price=Decimal("3.30")), idempotency_key="i-1"
        )
        provider.push_invoice(
            Invoice(
                id="s",
                number="HS-1",
                status=InvoiceStatus.OPEN,
                currency="AUD",
                total=Decimal(25),
                contact_id="cus_2",
                due_date=date(2024, 1, 31),
                lines=(
                    InvoiceLine(
                        description="Widget",
                        quantity=Decimal(2),
                        unit_amount=Decimal("12.50"),
                        amount=Decimal(25),
                        tax_code="txr_gst",
                    ),
                    InvoiceLine(
                        description="Hours", quantity=Decimal("1.5"), unit_amount=Decimal(10), amount=Decimal(15)
                    ),
                ),
            ),
            idempotency_key="p-1",
        )
        assert provider.find_invoice("HS-1") is not None  # the Search API, one call
        failures = [
            lambda: provider.create_contact(Contact(id="", name="Other"), idempotency_key="c-1"),  # idempotency_error
            lambda: client(server.url, "sk_test_gone0003").probe(),  # 401
            lambda: client(server.url, "rk_test_ltd00004").invoices(),  # 403
            lambda: provider.api.get_json("/v1/invoices/in_missing"),  # 404
        ]
        for call in failures:
            with pytest.raises(ProviderError):
                call()
        emulator.faults.rate_limit = 1
        provider.tax_rates()  # 429, then the retry
    finally:
        server.stop()
    return emulator, recorder


@pytest.fixture(scope="module")
def session_2023() -> Iterator[tuple[StripeEmulator, Recorder]]:
    yield _session("2023-08-16")


def _operation(spec: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    literal = spec["paths"].get(path)
    if literal and method.lower() in literal:
        return path, literal[method.lower()]
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path} is not an operation of spec3.yaml")


def _coerce(value: Any, schema: dict[str, Any]) -> Any:
    """Form and query values are strings: give them the type the schema declares."""
    for alternative in schema.get("anyOf", ()):
        candidate = _coerce(value, alternative)
        if candidate is not value or not isinstance(value, str):
            return candidate
    kind = schema.get("type")
    if isinstance(value, str):
        if kind == "integer" and re.fullmatch(r"-?\d+", value):
            return int(value)
        if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return float(value)
        if kind == "boolean" and value in ("true", "false"):
            return value == "true"
        return value
    if isinstance(value, dict) and (kind == "object" or "properties" in schema):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {k: _coerce(v, props.get(k) or (extra if isinstance(extra, dict) else {})) for k, v in value.items()}
    if isinstance(value, list) and kind == "array":
        return [_coerce(v, schema.get("items", {})) for v in value]
    return value


def _errors(registry: Registry, schema: dict[str, Any], instance: Any) -> list[str]:
    validator = OAS30Validator(_rebase(schema), registry=registry)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(instance)]


def _rebase(node: Any) -> Any:
    """Schemas inlined in ``paths`` point at components with "#/...": anchor them in the spec."""
    if isinstance(node, dict):
        return {
            k: (URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rebase(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def _check_request(spec: dict[str, Any], registry: Registry, ex: dict[str, Any]) -> list[str]:
    template, op = _operation(spec, ex["method"], ex["path"])
    problems: list[str] = []
    declared = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
    for name, value in parse_form(ex["query"]).items():
        if name not in declared:
            problems.append(f"{ex['method']} {template}: query parameter {name!r} is not in the spec")
            continue
        schema = declared[name]["schema"]
        problems += [f"{template} ?{name}: {e}" for e in _errors(registry, schema, _coerce(value, schema))]
    if ex["method"] == "POST":
        body_schema = op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
        form = _coerce(parse_form(ex["form"]), body_schema)
        problems += [f"POST {template} body: {e}" for e in _errors(registry, body_schema, form)]
    return problems


def _check_response(spec: dict[str, Any], registry: Registry, ex: dict[str, Any]) -> list[str]:
    template, op = _operation(spec, ex["method"], ex["path"])
    status = str(ex["status"])
    declared = op["responses"].get(status) or op["responses"]["default"]
    schema = declared["content"]["application/json"]["schema"]
    body = json.loads(ex["response"])
    return [f"{ex['method']} {template} -> {status}: {e}" for e in _errors(registry, schema, body)]


def test_client_requests_match_the_spec(spec: dict[str, Any], registry: Registry, session_2023: Any) -> None:
    _, recorder = session_2023
    problems = [p for ex in recorder.exchanges for p in _check_request(spec, registry, ex)]
    assert problems == []
    for ex in recorder.exchanges:
        assert ex["headers"]["stripe-version"] == spec["info"]["version"]
        assert ex["headers"]["authorization"].startswith("Bearer ")
        if ex["method"] == "POST":
            assert 0 < len(ex["headers"]["idempotency-key"]) <= 255


def test_emulator_responses_match_the_spec(spec: dict[str, Any], registry: Registry, session_2023: Any) -> None:
    _, recorder = session_2023
    problems = [p for ex in recorder.exchanges for p in _check_response(spec, registry, ex)]
    assert problems == []
    statuses = {ex["status"] for ex in recorder.exchanges}
    assert {200, 400, 401, 403, 404, 429} <= statuses  # successes and every error envelope were checked


def test_session_covered_every_emulated_path(spec: dict[str, Any], session_2023: Any) -> None:
    _, recorder = session_2023
    used = {(_operation(spec, ex["method"], ex["path"])[0], ex["method"]) for ex in recorder.exchanges}
    assert used >= {
        ("/v1/account", "GET"),
        ("/v1/customers", "GET"),
        ("/v1/customers", "POST"),
        ("/v1/products", "GET"),
        ("/v1/products", "POST"),
        ("/v1/prices", "GET"),
        ("/v1/invoices", "GET"),
        ("/v1/invoices", "POST"),
        ("/v1/invoices/{invoice}", "GET"),
        ("/v1/invoices/search", "GET"),
        ("/v1/invoices/{invoice}/lines", "GET"),
        ("/v1/invoiceitems", "GET"),
        ("/v1/invoiceitems", "POST"),
        ("/v1/tax_rates", "GET"),
    }


def test_unrecognized_url_uses_the_error_envelope(spec: dict[str, Any], registry: Registry) -> None:
    import httpx

    emulator = StripeEmulator(copy.deepcopy(WORLD))
    server = LoopbackServer(emulator.app).start()
    try:
        response = httpx.get(server.url + "/v1/nothing_here", headers={"Authorization": "Bearer sk_test_acme0001"})
    finally:
        server.stop()
    assert response.status_code == 404
    assert _errors(registry, {"$ref": "#/components/schemas/error"}, response.json()) == []


def test_basil_shape_matches_the_official_examples() -> None:
    """The 2025 shape is newer than spec3.yaml: compare with fixtures3.json's examples instead."""
    examples = json.loads((SPECS / "fixtures3.json").read_text(encoding="utf-8"))["resources"]
    _, recorder = _session("basil")
    invoices = [
        json.loads(ex["response"])
        for ex in recorder.exchanges
        if ex["method"] == "GET" and ex["path"] == "/v1/invoices" and ex["status"] == 200
    ]
    bodies = [inv for page in invoices for inv in page["data"]]
    line_pages = [
        json.loads(ex["response"])["data"]
        for ex in recorder.exchanges
        if ex["path"].endswith("/lines") and ex["status"] == 200
    ]
    lines = [line for inv in bodies for line in inv["lines"]["data"]] + [line for page in line_pages for line in page]
    assert bodies and lines
    for inv in bodies:
        assert set(inv) <= set(examples["invoice"]), set(inv) - set(examples["invoice"])
        assert inv["lines"]["object"] == "list" and inv["lines"]["url"].endswith("/lines")
        for tax in inv["total_taxes"]:
            assert tax["type"] == "tax_rate_details" and set(tax["tax_rate_details"]) == {"tax_rate"}
    example = examples["line_item"]
    for line in lines:
        assert set(line) <= set(example), set(line) - set(example)
        assert line["pricing"]["type"] == example["pricing"]["type"] == "price_details"
        assert line["parent"]["type"] in {"invoice_item_details", "subscription_item_details"}
        assert set(line["parent"]) <= set(example["parent"])
        assert set(line["parent"]["invoice_item_details"]) <= set(example["parent"]["invoice_item_details"])
        assert "price" not in line and "tax_rates" not in line and "tax_amounts" not in line
