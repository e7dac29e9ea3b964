"""Write-path fidelity (issue 10, item 9) and the look-ups that make pushes exactly-once: each
emulator refuses what its real API refuses, and each client sends what the API accepts. Over
real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from providers.errors import ScopeMissing
from providers.records import Contact, Invoice, InvoiceLine, InvoiceStatus, Item
from sandbox.server import Sandbox
from sandbox.stripe import StripeEmulator
from tests.providers import test_hubspot as hs
from tests.providers.test_quickbooks import ACME as REALM
from tests.providers.test_quickbooks import Running
from tests.providers.test_quickbooks import world as qbo_world
from tests.providers.test_stripe import client, serve
from tests.providers.test_xero import ACME, _invoice, provider, tenant, world, xero_emulator

API = "/api.xro/2.0"


# -- Stripe: a due date in the past ---------------------------------------------------------


@pytest.fixture
def stripe() -> Iterator[tuple[StripeEmulator, str]]:
    emulator, server = serve()
    yield emulator, server.url
    server.stop()


def stripe_invoice(number: str, due: date | None) -> Invoice:
    return Invoice(
        id="src",
        number=number,
        status=InvoiceStatus.OPEN,
        currency="AUD",
        total=Decimal("25.00"),
        contact_id="cus_2",
        due_date=due,
        lines=(
            InvoiceLine(description="Widget", quantity=Decimal(2), unit_amount=Decimal("12.50"), amount=Decimal(25)),
        ),
    )


def test_stripe_refuses_a_past_due_date_and_the_client_never_sends_one(stripe: tuple[StripeEmulator, str]) -> None:
    emulator, url = stripe
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    past = int(datetime(yesterday.year, yesterday.month, yesterday.day, tzinfo=UTC).timestamp())
    refused = httpx.post(
        url + "/v1/invoices",
        data={"customer": "cus_2", "collection_method": "send_invoice", "due_date": str(past)},
        headers={"Authorization": "Bearer sk_test_acme0001"},
    )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "due_date"

    provider = client(url)
    overdue = provider.push_invoice(stripe_invoice("HS-OVERDUE", yesterday), idempotency_key="overdue")
    later = datetime.now(UTC).date() + timedelta(days=20)
    on_time = provider.push_invoice(stripe_invoice("HS-LATER", later), idempotency_key="later")
    store = emulator.accounts["acct_acme"].store["invoices"]
    assert store[overdue.id]["due_date"] is not None  # made due as soon as Stripe allows
    sent = [dict(r.form) for r in emulator.received if r.method == "POST" and r.path == "/v1/invoices"][1:]
    assert sent[0].get("days_until_due") == "1" and "due_date" not in sent[0]
    assert sent[1]["due_date"] == str(int(datetime(later.year, later.month, later.day, tzinfo=UTC).timestamp()))
    assert store[on_time.id]["due_date"] == int(sent[1]["due_date"])


def test_stripe_finds_an_invoice_with_one_search_call(stripe: tuple[StripeEmulator, str]) -> None:
    emulator, url = stripe
    provider = client(url)
    pushed = provider.push_invoice(stripe_invoice('HS-"7"', None), idempotency_key="search-1")
    before = len(emulator.received)
    found = provider.find_invoice('HS-"7"')
    searches = [r for r in emulator.received[before:] if r.path == "/v1/invoices/search"]
    assert found is not None and found.id == pushed.id and found.reference == 'HS-"7"'
    assert len(searches) == 1 and not [r for r in emulator.received[before:] if r.path == "/v1/invoices"]
    assert provider.find_invoice("HS-7") is None and provider.find_invoice('hs-"7"') is None  # exact


def test_stripe_search_lags_and_the_idempotency_key_covers_the_gap(stripe: tuple[StripeEmulator, str]) -> None:
    emulator, url = stripe
    emulator.search_lag = 3600  # a just-created invoice is not searchable yet
    provider = client(url)
    first = provider.push_invoice(stripe_invoice("HS-LAG", None), idempotency_key="lag-1")
    assert provider.find_invoice("HS-LAG") is None
    again = provider.push_invoice(stripe_invoice("HS-LAG", None), idempotency_key="lag-1")
    assert again.id == first.id  # replayed, not duplicated
    numbered = [
        i
        for i in emulator.accounts["acct_acme"].store["invoices"].values()
        if i.get("metadata", {}).get("reference") == "HS-LAG"
    ]
    assert len(numbered) == 1


# -- QuickBooks: a line's Amount must be Qty x UnitPrice ------------------------------------


@pytest.fixture
def qbo() -> Iterator[Running]:
    running = Running(qbo_world())
    yield running
    running.server.stop()


def discounted(number: str | None = None) -> Invoice:
    # Three widgets at 10.00 less a 10% discount: the source's line amount is 27.00.
    line = InvoiceLine(sku="PROD-001", quantity=Decimal(3), unit_amount=Decimal(10), amount=Decimal(27))
    return Invoice(
        id="",
        number=number,
        status=InvoiceStatus.OPEN,
        currency="USD",
        total=Decimal(27),
        contact_id="10",
        issue_date=date(2024, 6, 1),
        lines=(line,),
    )


def test_quickbooks_refuses_an_inconsistent_line_and_the_client_sends_a_consistent_one(qbo: Running) -> None:
    with httpx.Client(base_url=qbo.url) as raw:
        refused = raw.post(
            f"/v3/company/{REALM}/invoice",
            params={"minorversion": "75"},
            json={
                "CustomerRef": {"value": "10"},
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "Amount": 27,
                        "SalesItemLineDetail": {"ItemRef": {"value": "20"}, "Qty": 3, "UnitPrice": 10},
                    }
                ],
            },
            headers={"Authorization": "Bearer at-acme"},
        )
    assert refused.status_code == 400
    assert refused.json()["Fault"]["Error"][0]["Detail"].startswith("Amount is not equal to UnitPrice * Qty")

    created = qbo.provider().push_invoice(discounted(), idempotency_key="discount-1")
    row = next(i for i in qbo.emulator.realms[REALM].entities["Invoice"] if i["Id"] == created.id)
    line = row["Line"][0]
    assert (line["Amount"], line["SalesItemLineDetail"]["Qty"], line["SalesItemLineDetail"]["UnitPrice"]) == (27, 3, 9)
    assert row["TotalAmt"] == 27


def test_odd_amounts_get_a_unit_price_that_multiplies_back_to_them(qbo: Running) -> None:
    lines = (
        InvoiceLine(sku="PROD-001", quantity=Decimal(3), unit_amount=Decimal(10), amount=Decimal("10.01")),
        InvoiceLine(sku="PROD-001", quantity=Decimal(0), unit_amount=Decimal(0), amount=Decimal(5)),  # a fee
    )
    created = qbo.provider().push_invoice(replace(discounted(), lines=lines), idempotency_key="odd-1")
    row = next(i for i in qbo.emulator.realms[REALM].entities["Invoice"] if i["Id"] == created.id)
    sent = [
        (ln["Amount"], ln["SalesItemLineDetail"]["Qty"], ln["SalesItemLineDetail"]["UnitPrice"]) for ln in row["Line"]
    ]
    assert sent == [(10.01, 3, 3.3366667), (5, 1, 5)]  # 3 x 3.3366667 = 10.01 to the cent


# -- HubSpot: creating a contact needs crm.objects.contacts.write ----------------------------


@pytest.fixture
def hubspot_boxes() -> Iterator[Callable[..., Sandbox]]:
    started: list[Sandbox] = []

    def start(section: dict[str, Any]) -> Sandbox:
        box = Sandbox(section).start()
        started.append(box)
        return box

    yield start
    for box in started:
        box.stop()


def test_hubspot_creating_a_contact_without_the_write_scope_names_it(hubspot_boxes: Callable[..., Sandbox]) -> None:
    box = hubspot_boxes(hs.make_world())  # the grant reads, it does not write
    client_, _, _ = hs.connect(box)
    with pytest.raises(ScopeMissing) as caught:
        client_.create_contact(Contact(id="", name="Ada", email="ada@example.com"), idempotency_key="c-1")
    assert caught.value.needed == ("crm.objects.contacts.write",)
    writer = hubspot_boxes(hs.make_world(scopes=[*hs.READ_SCOPES, "crm.objects.contacts.write"]))
    client_, _, _ = hs.connect(writer)
    assert client_.create_contact(Contact(id="", name="Ada", email="ada@example.com"), idempotency_key="c-1").id


# -- Xero: where has no escapes --------------------------------------------------------------

ODD_NAMES = ['O"Brien & Sons', "Back\\slash Ltd"]


@pytest.fixture
def odd_xero() -> Iterator[Sandbox]:
    section = tenant()
    section["contacts"] += [{"Name": name} for name in ODD_NAMES]
    section["items"] += [{"Code": 'Q"1', "Name": "Quoted"}, {"Code": "B\\1", "Name": "Backslashed"}]
    box = Sandbox(world(tenants=[section])).start()
    yield box
    box.stop()


def test_xero_refuses_a_backslash_escape_in_where(odd_xero: Sandbox) -> None:
    headers = {"Authorization": "Bearer at-acme", "xero-tenant-id": ACME}
    url = odd_xero.url("xero") + f"{API}/Contacts"
    escaped = httpx.get(url, params={"where": 'Name=="O\\"Brien & Sons"'}, headers=headers)
    assert escaped.status_code == 400 and escaped.json()["Type"] == "ValidationException"
    literal = httpx.get(url, params={"where": 'Name=="Back\\\\slash Ltd"'}, headers=headers)
    assert literal.status_code == 200 and literal.json()["Contacts"] == []  # two backslashes, literally


def test_xero_contacts_and_items_with_quotes_or_backslashes_are_found_not_duplicated(odd_xero: Sandbox) -> None:
    p = provider(odd_xero)
    org = xero_emulator(odd_xero).org(ACME)
    before = (len(org.contacts), len(org.items))
    for name in ODD_NAMES:
        assert not p.create_contact(Contact(id="", name=name), idempotency_key=f"c-{name}").created
    for code in ('Q"1', "B\\1"):
        assert not p.create_item(Item(id="", code=code, name="x"), idempotency_key=f"i-{code}").created
    assert (len(org.contacts), len(org.items)) == before
    sent = [path for method, path, _ in odd_xero.emulators["xero"].log if method == "PUT"]
    assert sent == []


def test_xero_finds_invoice_numbers_with_commas_and_quotes(odd_xero: Sandbox) -> None:
    p = provider(odd_xero)
    for number in ('A,"1"', "B,2", "C3"):
        p.push_invoice(_invoice(number=number), idempotency_key=number)
    log = odd_xero.emulators["xero"].log
    before = len(log)
    found = p.find_invoices(['A,"1"', "B,2", "C3", "nope"])
    assert set(found) == {'A,"1"', "B,2", "C3"} and found["B,2"].number == "B,2"
    # One InvoiceNumbers call for the plain numbers, an exact where for "B,2", and a
    # searchTerm for the one a where cannot hold.
    assert [(m, p_) for m, p_, _ in log[before:]] == [("GET", f"{API}/Invoices")] * 3
