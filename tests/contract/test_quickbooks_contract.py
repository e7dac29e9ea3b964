"""QuickBooks Online contract: the emulator's JSON and the client's request bodies against
Intuit's XSDs (specs/quickbooks/), the only machine-readable contract Intuit publishes.

Intuit's JSON uses the XSD's element names as keys, so each JSON entity is rebuilt as XML in
the ``http://schema.intuit.com/finance/v3`` namespace, following the schema's own types:
keys that are XSD attributes (``domain``, ``sparse``, ``code``, ``startPosition``...) become
attributes, a reference's ``value`` becomes its text, children are put in the content
model's order, and a key the schema does not declare fails the test. The envelope is
validated as the schema's ``IntuitResponse`` (entity, ``QueryResponse`` or ``Fault``).

What the XSD cannot check, and where it is covered instead:
- paths, HTTP methods and statuses, ``minorversion`` / ``requestid`` query parameters, and the
  ``Retry-After`` on 429s: tests/providers/test_quickbooks.py, against PROVIDERS.md;
- the query grammar (``SELECT ... STARTPOSITION n MAXRESULTS m``, case-insensitive names and
  values) and paging: the same file's query tests;
- JSON-only shape: arrays vs single objects (the XSD's maxOccurs is checked, JSON array-ness
  is not), ``time`` as a top-level JSON key, and the lower-case ``fault`` keys some 401s use;
- ``Fault/@type`` is a free string in the XSD, so its spelling is not checked;
- values the XSD leaves as strings (currency codes, DocNumber length rules beyond the type).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import xmlschema

from providers.http import make_httpx_client, reset_limiters
from providers.records import Contact, Invoice, InvoiceLine, InvoiceStatus, Item, TrackingRef
from sandbox.quickbooks import ENTITIES, generated_realm
from tests.contract.specs import SPECS as SPECS_ROOT
from tests.providers.test_quickbooks import ACME, Running, world

SPECS = SPECS_ROOT / "quickbooks"
NS = "http://schema.intuit.com/finance/v3"


@pytest.fixture(scope="module")
def finance() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SPECS / "IntuitRestServiceDef.xsd"))


@pytest.fixture(scope="module")
def entitlements_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SPECS / "EntitlementsResponse.xsd"))


@pytest.fixture
def qbo() -> Iterator[Running]:
    reset_limiters()
    section = world()
    section["realms"]["777"] = generated_realm(3, 2, 4)
    section["grants"].append(
        {
            "access_token": "at-gen",
            "principal": "777",
            "scopes": ["com.intuit.quickbooks.accounting"],
        }
    )
    running = Running(section)
    yield running
    running.server.stop()
    reset_limiters()


# -- JSON -> XML by the schema's own types ---------------------------------------------------


class NotInSchema(AssertionError):
    pass


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return str(value)


def _children(schema: xmlschema.XMLSchema, xsd_type: Any) -> dict[str, tuple[int, Any]]:
    found: dict[str, tuple[int, Any]] = {}
    for index, element in enumerate(xsd_type.content.iter_elements()):
        substitutes = schema.maps.substitution_groups.get(element.name) if element.name else None
        for candidate in [element, *(substitutes or ())]:
            found.setdefault(candidate.local_name, (index, candidate))
    return found


def build(schema: xmlschema.XMLSchema, name: str, xsd_type: Any, value: Any, path: str) -> ET.Element:
    node = ET.Element(f"{{{NS}}}{name}")
    if xsd_type.is_simple():
        node.text = _text(value)
        return node
    if not isinstance(value, dict):
        raise NotInSchema(f"{path}: {name} is a complex type but JSON gave {value!r}")
    attributes = {a.rsplit("}", 1)[-1] for a in xsd_type.attributes if a}
    children = {} if xsd_type.has_simple_content() else _children(schema, xsd_type)
    placed: list[tuple[int, ET.Element]] = []
    for key, item in value.items():
        if key in attributes:
            node.set(key, _text(item))
        elif xsd_type.has_simple_content() and key == "value":
            node.text = _text(item)
        elif key in children:
            index, element = children[key]
            for one in item if isinstance(item, list) else [item]:
                placed.append((index, build(schema, key, element.type, one, f"{path}.{key}")))
        else:
            raise NotInSchema(f"{path}.{key} is not declared for {xsd_type.local_name or name} in the XSD")
    for _, child in sorted(placed, key=lambda pair: pair[0]):
        node.append(child)
    return node


def envelope(schema: xmlschema.XMLSchema, body: dict[str, Any]) -> ET.Element:
    """An Intuit JSON answer as the XSD's IntuitResponse."""
    return build(schema, "IntuitResponse", schema.types["IntuitResponse"], body, "$")


def validate(schema: xmlschema.XMLSchema, body: dict[str, Any]) -> None:
    schema.validate(envelope(schema, body))


def entity(schema: xmlschema.XMLSchema, name: str, body: dict[str, Any]) -> None:
    schema.validate(build(schema, name, schema.elements[name].type, body, name))


# -- the converter can fail ------------------------------------------------------------------


def test_the_conversion_rejects_undeclared_fields_and_bad_values(
    finance: xmlschema.XMLSchema,
) -> None:
    with pytest.raises(NotInSchema, match=r"Invoice\.Status"):
        entity(finance, "Invoice", {"DocNumber": "1", "Status": "PAID"})
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        entity(finance, "Invoice", {"EmailStatus": "Whatever"})
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        entity(finance, "Item", {"Name": "x", "Type": "Gizmo"})
    entity(
        finance,
        "Invoice",
        {"DocNumber": "1", "CustomerRef": {"value": "1", "name": "A"}, "TotalAmt": 1.5},
    )


# -- emulator answers ------------------------------------------------------------------------


@pytest.mark.parametrize("realm", [ACME, "9130350000000002", "777"])
def test_every_query_answer_is_an_intuit_response(qbo: Running, finance: xmlschema.XMLSchema, realm: str) -> None:
    emulator = qbo.emulator
    served = 0
    for name in ENTITIES:
        answer: dict[str, Any] = {
            "QueryResponse": emulator.run_query(
                emulator.realms[realm],
                f"SELECT * FROM {name} WHERE Active IN (true, false)"
                if name not in ("Invoice", "Payment")
                else f"SELECT * FROM {name}",
            ),
            "time": emulator.now_iso(),
        }
        validate(finance, answer)
        served += len(answer["QueryResponse"].get(name, []))
    assert served > 0


def test_company_info_and_preferences_over_http(qbo: Running, finance: xmlschema.XMLSchema) -> None:
    provider = qbo.provider()
    for tail in (f"companyinfo/{ACME}", "preferences"):
        body = provider.api.get_json(f"/v3/company/{ACME}/{tail}", params={"minorversion": "75"})
        validate(finance, body)


def test_fault_envelopes(qbo: Running, finance: xmlschema.XMLSchema) -> None:
    qbo.emulator.push_fault(400, "6240", "Duplicate Name Exists Error", "The name supplied already exists.")
    with make_httpx_client(qbo.url) as raw:
        refused = raw.get(
            f"/v3/company/{ACME}/query",
            params={"query": "SELECT * FROM Item"},
            headers={"Authorization": "Bearer at-acme"},
        )
        unauthorised = raw.get(f"/v3/company/{ACME}/preferences", headers={"Authorization": "Bearer nope"})
        unparsable = raw.get(
            f"/v3/company/{ACME}/query",
            params={"query": "SELECT Name FROM Item"},
            headers={"Authorization": "Bearer at-acme"},
        )
    assert (refused.status_code, unauthorised.status_code, unparsable.status_code) == (
        400,
        401,
        400,
    )
    for response in (refused, unauthorised, unparsable):
        validate(finance, response.json())
    throttled = qbo.emulator.rate_limit_response()
    assert throttled.status_code == 429
    validate(finance, json.loads(bytes(throttled.body)))


def test_created_entities_and_the_clients_request_bodies(qbo: Running, finance: xmlschema.XMLSchema) -> None:
    provider = qbo.provider()
    provider.create_item(
        Item(
            id="",
            code="PROD-777",
            name="Valve",
            account_code="4000",
            unit_price=Decimal("12.50"),
            tax_code="5",
        ),
        idempotency_key="i-1",
    )
    provider.create_contact(
        Contact(
            id="",
            name="Wayne Enterprises",
            email="ap@wayne.test",
            first_name="Bruce",
            last_name="Wayne",
            company="Wayne Enterprises",
            currency="USD",
        ),
        idempotency_key="c-1",
    )
    provider.push_invoice(
        Invoice(
            id="",
            number="INV-7001",
            status=InvoiceStatus.OPEN,
            currency="USD",
            total=Decimal(25),
            contact_id="10",
            issue_date=date(2024, 6, 1),
            due_date=date(2024, 7, 1),
            reference="HubSpot deal 42",
            lines=(
                InvoiceLine(
                    description="Valve fit",
                    sku="PROD-001",
                    quantity=Decimal("0.5"),
                    unit_amount=Decimal(50),
                    amount=Decimal(25),
                    tax_code="5",
                    tracking=(TrackingRef("Class", "North"),),
                ),
            ),
        ),
        idempotency_key="inv-1",
    )
    posts = [r for r in qbo.emulator.received if r[0] == "POST"]
    assert [p[1].rsplit("/", 1)[-1] for p in posts] == ["item", "customer", "invoice"]
    for _, path, _, body in posts:
        name = {"item": "Item", "customer": "Customer", "invoice": "Invoice"}[path.rsplit("/", 1)[-1]]
        entity(finance, name, body)  # what the client sends
        stored = qbo.emulator.realms[ACME].entities[name][-1]
        validate(finance, {name: stored, "time": qbo.emulator.now_iso()})  # what QuickBooks answers


def test_batch_requests_and_answers(qbo: Running, finance: xmlschema.XMLSchema) -> None:
    """``POST /batch``: the client's body is an ``IntuitBatchRequest`` and the emulator's answer an
    ``IntuitResponse`` of ``BatchItemResponse`` items, a created invoice or a Fault each."""
    provider = qbo.provider()
    good = Invoice(
        id="",
        number="B-1",
        status=InvoiceStatus.OPEN,
        currency="USD",
        total=Decimal(27),
        contact_id="10",
        issue_date=date(2024, 6, 1),
        lines=(InvoiceLine(sku="PROD-001", quantity=Decimal(3), unit_amount=Decimal(10), amount=Decimal(27)),),
    )
    refused = Invoice(
        id="",
        number="B-2",
        status=InvoiceStatus.OPEN,
        currency="USD",
        total=Decimal(27),
        contact_id="10",
        issue_date=date(2024, 1, 1),  # inside the closed books: a Fault for this item only
        lines=good.lines,
    )
    outcomes = provider.push_invoices([good, refused], lambda inv: f"contract:{inv.number}")
    assert [o.landed for o in outcomes] == [True, False]
    [(_, path, query, body)] = [r for r in qbo.emulator.received if r[0] == "POST" and r[1].endswith("/batch")]
    assert len(query["requestid"]) <= 36 and query["minorversion"] == "75"
    finance.validate(build(finance, "IntuitBatchRequest", finance.types["IntuitBatchRequest"], body, "$"))
    with make_httpx_client(qbo.url) as raw:
        answer = raw.post(
            path,
            params={"minorversion": "75"},
            content=json.dumps(body),
            headers={"Authorization": "Bearer at-acme", "Content-Type": "application/json"},
        ).json()
    kinds = sorted(next(k for k in item if k != "bId") for item in answer["BatchItemResponse"])
    assert kinds == ["Fault", "Fault"]  # B-1 exists now (6140) and B-2 is still closed
    validate(finance, answer)
    create = body["BatchItemRequest"][0]
    fresh = {
        "BatchItemRequest": [
            {"bId": "q", "Query": "SELECT * FROM Item WHERE Active = true"},
            {**create, "Invoice": {**create["Invoice"], "DocNumber": "B-3"}},
        ]
    }
    with make_httpx_client(qbo.url) as raw:
        mixed = raw.post(
            path,
            params={"minorversion": "75"},
            content=json.dumps(fresh),
            headers={"Authorization": "Bearer at-acme", "Content-Type": "application/json"},
        ).json()
    assert sorted(next(k for k in item if k != "bId") for item in mixed["BatchItemResponse"]) == [
        "Invoice",
        "QueryResponse",
    ]
    validate(finance, mixed)


def test_entitlements_xml(qbo: Running, entitlements_schema: xmlschema.XMLSchema, finance: xmlschema.XMLSchema) -> None:
    provider = qbo.provider()
    response = provider.identity.request(
        "GET", f"/manage/entitlements/v3/{ACME}", headers={"Accept": "application/xml"}
    )
    assert response.headers["content-type"].startswith("application/xml")
    entitlements_schema.validate(response.text)
    root = ET.fromstring(response.content)
    assert root.findtext("PlanName") == "QBWEBPLUS" and root.find("Entitlement/term") is not None

    with make_httpx_client(qbo.url) as raw:
        refused = raw.get("/manage/entitlements/v3/9130350000000002", headers={"Authorization": "Bearer at-acme"})
    assert refused.status_code == 401  # code 120, AuthorizationFailure [QE]
    finance.validate(refused.text)  # an XML Fault is an IntuitResponse too
