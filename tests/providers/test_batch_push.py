"""``push_invoices``: many invoices per request where the API serves batches (Xero's PUT
Invoices with ``summarizeErrors=false``, QuickBooks' ``/batch``), one outcome per invoice,
invoices already there adopted, repeats replayed; other systems push one at a time. Over real
HTTP against the emulators."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from providers.base import PushOutcome
from providers.errors import Rejected
from providers.records import Invoice, InvoiceLine, InvoiceStatus
from sandbox.server import Sandbox
from tests.providers.test_quickbooks import ACME as REALM
from tests.providers.test_quickbooks import Running
from tests.providers.test_quickbooks import world as qbo_world
from tests.providers.test_xero import ACME, _invoice, provider, world, xero_emulator

API = "/api.xro/2.0"


def key_for(invoice: Invoice) -> str:
    return f"resync-1:{invoice.number}"


def landed(outcomes: list[PushOutcome]) -> list[tuple[str | None, bool | None]]:
    return [(o.invoice.number, o.result.created if o.result else None) for o in outcomes]


# -- Xero ----------------------------------------------------------------------------------


@pytest.fixture
def xero_box() -> Iterator[Sandbox]:
    box = Sandbox(world()).start()
    yield box
    box.stop()


def puts(box: Sandbox) -> int:
    return box.emulators["xero"].requests[f"PUT {API}/Invoices"]


def test_xero_pushes_many_invoices_per_request_with_one_outcome_each(xero_box: Sandbox) -> None:
    p = provider(xero_box)
    bad = _invoice(number="NEW-2", lines=(InvoiceLine(description="x", sku="NO-SUCH-ITEM", quantity=Decimal(1)),))
    invoices = [_invoice(number="NEW-1"), bad, _invoice(number="INV-001"), _invoice(number="NEW-3")]
    outcomes = p.push_invoices(invoices, key_for)
    assert landed(outcomes) == [("NEW-1", True), ("NEW-2", None), ("INV-001", False), ("NEW-3", True)]
    assert isinstance(outcomes[1].error, Rejected) and outcomes[1].sent
    assert any("NO-SUCH-ITEM" in d for d in outcomes[1].error.details)
    assert puts(xero_box) == 1  # one request for the three not already in Xero
    numbers = [i["InvoiceNumber"] for i in xero_emulator(xero_box).org(ACME).invoices]
    assert numbers.count("NEW-1") == numbers.count("NEW-3") == 1 and "NEW-2" not in numbers


def test_xero_repeating_the_push_adopts_what_landed_and_creates_nothing_twice(xero_box: Sandbox) -> None:
    p = provider(xero_box)
    invoices = [_invoice(number=f"R-{i}") for i in range(3)]
    first = p.push_invoices(invoices, key_for)
    again = p.push_invoices(invoices, key_for)
    assert [o.result.id for o in first if o.result] == [o.result.id for o in again if o.result]
    assert landed(again) == [(f"R-{i}", False) for i in range(3)]
    assert puts(xero_box) == 1


def test_xero_a_number_given_twice_lands_once_and_both_point_at_it(xero_box: Sandbox) -> None:
    p = provider(xero_box)
    outcomes = p.push_invoices([_invoice(number="TWICE"), _invoice(number="TWICE")], key_for)
    first, second = outcomes
    assert first.result is not None and second.result is not None and first.result.id == second.result.id
    assert (first.result.created, second.result.created) == (True, False)  # "Invoice # must be unique." adopted
    numbers = [i["InvoiceNumber"] for i in xero_emulator(xero_box).org(ACME).invoices]
    assert numbers.count("TWICE") == 1


def test_xero_splits_a_large_push_into_batches_of_fifty(xero_box: Sandbox) -> None:
    xero_emulator(xero_box).minute_limit = 1000  # the test is about batching, not Xero's minute limit
    p = provider(xero_box)
    invoices = [_invoice(number=f"B-{i:03d}") for i in range(120)]
    outcomes = p.push_invoices(invoices, key_for)
    assert all(o.landed and o.result and o.result.created for o in outcomes)
    assert puts(xero_box) == 3  # 50 + 50 + 20
    sent = [h for m, path, h in xero_box.emulators["xero"].log if m == "PUT"]
    assert len({h["idempotency-key"] for h in sent}) == 3


def test_xero_a_batch_stopped_by_a_rate_limit_says_what_was_not_sent(xero_box: Sandbox) -> None:
    emulator = xero_box.emulators["xero"]
    p = provider(xero_box, attempts=0)
    p.find_invoices(["warm-up"])  # resolve the tenant before the storm
    emulator.faults.rate_limit = 5
    outcomes = p.push_invoices([_invoice(number="S-1"), _invoice(number="S-2")], key_for)
    assert all(o.error is not None and not o.sent for o in outcomes)  # throttled: push them again as they are


# -- QuickBooks ----------------------------------------------------------------------------


@pytest.fixture
def qbo() -> Iterator[Running]:
    running = Running(qbo_world())
    yield running
    running.server.stop()


def qbo_invoice(number: str, **changes: object) -> Invoice:
    base = Invoice(
        id="",
        number=number,
        status=InvoiceStatus.OPEN,
        currency="USD",
        total=Decimal(100),
        contact_id="10",
        issue_date=date(2024, 6, 1),
        lines=(InvoiceLine(sku="PROD-001", quantity=Decimal(2), unit_amount=Decimal(50), amount=Decimal(100)),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def batches(qbo: Running) -> list[dict[str, Any]]:
    return [body for method, path, _, body in qbo.emulator.received if method == "POST" and path.endswith("/batch")]


def test_quickbooks_pushes_through_the_batch_endpoint_with_one_outcome_each(qbo: Running) -> None:
    p = qbo.provider()
    closed = qbo_invoice("Q-OLD", issue_date=date(2024, 1, 15))  # on or before the books' closing date
    existing = qbo_invoice("INV-1001", contact_id="10")
    outcomes = p.push_invoices([qbo_invoice("Q-1"), closed, existing, qbo_invoice("Q-2")], key_for)
    assert [(o.invoice.number, o.landed) for o in outcomes] == [
        ("Q-1", True),
        ("Q-OLD", False),
        ("INV-1001", True),
        ("Q-2", True),
    ]
    assert outcomes[2].result is not None and not outcomes[2].result.created  # already there: adopted
    assert isinstance(outcomes[1].error, Rejected) and outcomes[1].error.code == "6210"
    [sent] = batches(qbo)
    assert len(sent["BatchItemRequest"]) == 3
    docs = [i.get("DocNumber") for i in qbo.emulator.realms[REALM].entities["Invoice"]]
    assert docs.count("Q-1") == docs.count("Q-2") == 1 and "Q-OLD" not in docs


def test_quickbooks_a_repeated_batch_replays_and_creates_nothing_twice(qbo: Running) -> None:
    p = qbo.provider()
    invoices = [qbo_invoice(f"QR-{i}") for i in range(3)]
    first = p.push_invoices(invoices, key_for)
    # The same batch sent again (its answer lost): the requestid replays the first answer.
    [body] = batches(qbo)
    requestid = next(q for m, path, q, _ in qbo.emulator.received if path.endswith("/batch"))["requestid"]
    assert len(requestid) <= 36
    replayed = p._batch(body["BatchItemRequest"], requestid)
    assert sorted(str(a["Invoice"]["Id"]) for a in replayed.values()) == sorted(o.result.id for o in first if o.result)
    docs = [i.get("DocNumber") for i in qbo.emulator.realms[REALM].entities["Invoice"]]
    assert all(docs.count(f"QR-{i}") == 1 for i in range(3))


def test_quickbooks_a_duplicate_number_of_this_customer_is_adopted(qbo: Running) -> None:
    p = qbo.provider()
    outcomes = p.push_invoices([qbo_invoice("DUP-1"), qbo_invoice("DUP-1")], key_for)
    first, second = outcomes
    assert first.result is not None and second.result is not None
    assert first.result.id == second.result.id and (first.result.created, second.result.created) == (True, False)


def test_quickbooks_splits_a_large_push_into_batches_of_thirty(qbo: Running) -> None:
    p = qbo.provider()
    outcomes = p.push_invoices([qbo_invoice(f"L-{i:02d}") for i in range(31)], key_for)
    assert all(o.landed for o in outcomes)
    assert [len(b["BatchItemRequest"]) for b in batches(qbo)] == [30, 1]


def test_quickbooks_refuses_a_batch_of_more_than_thirty(qbo: Running) -> None:
    items = [{"bId": str(i), "Query": "SELECT * FROM Item"} for i in range(31)]
    with httpx.Client(base_url=qbo.url) as raw:
        refused = raw.post(
            f"/v3/company/{REALM}/batch",
            params={"minorversion": "75"},
            content=json.dumps({"BatchItemRequest": items}),
            headers={"Authorization": "Bearer at-acme", "Content-Type": "application/json"},
        )
    assert refused.status_code == 400 and "at most 30" in refused.json()["Fault"]["Error"][0]["Detail"]


def test_quickbooks_reads_its_items_once_per_push_not_per_invoice(qbo: Running) -> None:
    p = qbo.provider(page_size=None)
    p.push_invoices([qbo_invoice(f"I-{i}") for i in range(5)], key_for)  # each line names its item by SKU
    item_queries = [q for q in qbo.emulator.queries if "FROM Item" in q]
    assert len(item_queries) == 1
