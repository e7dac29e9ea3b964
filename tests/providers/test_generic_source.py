"""The generic job-app source against the generic job-app emulator, over real HTTP on loopback:
every authentication (the HMAC signature recomputed by the app), every paging style, exports,
and a mapping that does not fit reported with the field and a record, never as an empty list."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from config.integrations import SideConfig, parse_config
from providers import get_provider
from providers.base import Capability, Provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import CredentialsMissing, FeedMismatch, NotFound, TokenRevoked
from providers.http import CallStats, RetryPolicy
from providers.records import InvoiceStatus
from sandbox.jobapp import JobAppEmulator
from sandbox.server import LoopbackServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
TODAY = date.today()


def record(i: int) -> dict[str, Any]:
    return {
        "number": f"J-{1000 + i}",
        "issued": (TODAY - timedelta(days=i % 20)).isoformat(),
        "state": "settled" if i % 3 == 0 else "sent",
        "total": f"{100 + i}.50",
        "customer": {"id": f"c{i % 4}", "name": f"Customer {i % 4}"},
        "lines": [{"code": "LAB", "qty": "1", "amount": f"{100 + i}.50", "nominal": "4000"}],
    }


RECORDS = [record(i) for i in range(23)]
FEED: dict[str, Any] = {
    "auth": {"kind": "bearer"},
    "paging": {"kind": "page_number", "size_param": "per_page", "size": 5},
    "endpoints": {
        "invoices": {"path": "/api/v1/invoices", "records": "$.data[*]", "query": {"issued_since": "{since}"}},
        "contacts": {"path": "/api/v1/customers", "records": "$.data[*]"},
    },
    "mapping": {
        "invoice": {
            "number": "$.number",
            "date": "$.issued",
            "status": {"path": "$.state", "values": {"sent": "open", "settled": "paid"}},
            "total": "$.total",
            "currency": {"const": "NZD"},
            "contact_id": "$.customer.id",
            "contact_name": "$.customer.name",
            "lines": "$.lines[*]",
        },
        "line": {"sku": "$.code", "quantity": "$.qty", "amount": "$.amount", "account_code": "$.nominal"},
        "contact": {"id": "$.id", "name": "$.name", "email": "$.email"},
    },
}
APP: dict[str, Any] = {
    "auth": {"kind": "bearer", "secret": "tok-1"},
    "paging": {"kind": "page_number", "page_param": "page", "size_param": "per_page", "default_size": 10},
    "endpoints": {
        "/api/v1/invoices": {"records": RECORDS, "since_param": "issued_since", "since_field": "issued"},
        "/api/v1/customers": {
            "records": [{"id": f"c{i}", "name": f"Customer {i}", "email": f"c{i}@x.test"} for i in range(4)]
        },
    },
    "exports": {
        "/exports/invoices.json": {"format": "json", "body": {"invoices": RECORDS[:3]}},
        "/exports/sales.csv": {
            "format": "csv",
            "columns": ["Date", "Customer", "Invoice #", "Description", "Category", "Net", "VAT", "Gross", "Status"],
            "date_columns": ["Date"],
            "date_format": "%d/%m/%Y",
            "rows": [
                {
                    "Date": TODAY.isoformat(),
                    "Customer": "Tom",
                    "Invoice #": "TM-9",
                    "Description": "Tyres",
                    "Category": "Tyres",
                    "Net": "100.00",
                    "VAT": "20.00",
                    "Gross": "120.00",
                    "Status": "Unpaid",
                },
            ],
        },
    },
}


@pytest.fixture
def app() -> Iterator[tuple[JobAppEmulator, str]]:
    servers: list[LoopbackServer] = []

    def start(**changes: Any) -> tuple[JobAppEmulator, str]:
        emulator = JobAppEmulator({**copy.deepcopy(APP), **changes})
        servers.append(LoopbackServer(emulator.app).start())
        return emulator, servers[-1].url

    yield start  # type: ignore[misc]
    for server in servers:
        server.stop()


def side(system: str, feed: dict[str, Any], url: str | None = None) -> SideConfig:
    body: dict[str, Any] = {"system": system, "feed": feed}
    if url:
        body["base_url"] = url
    return (
        parse_config({"integrations": {"a": {"source": body, "destination": {"system": "xero"}}}})
        .integrations["a"]
        .source
    )


def source(cfg: SideConfig, secret: str | None = "tok-1") -> Provider:
    creds = Credentials(kind="api_key", api_key=secret) if secret else None
    return get_provider(
        cfg.system,
        tenant=None,
        credentials=MemoryCredentialStore("src", creds),
        stats=CallStats(),
        overrides=cfg.urls,
        feed=cfg.feed,
        retry=RetryPolicy(attempts=0),
    )


def test_invoices_and_contacts_through_the_mapping_every_page(app: Any) -> None:
    emulator, url = app()
    reader = source(side("generic", FEED, url))
    invoices = reader.invoices(since=TODAY - timedelta(days=30))
    assert len(invoices) == 23 and emulator.requests["GET /api/v1/invoices"] == 5  # 5 a page, the last short
    first = invoices[0]
    assert (first.number, first.status, first.currency, first.total, first.issue_date) == (
        "J-1000",
        InvoiceStatus.PAID,
        "NZD",
        Decimal("100.50"),
        TODAY,
    )
    assert (first.lines[0].sku, first.lines[0].account_code, first.lines[0].amount) == (
        "LAB",
        "4000",
        Decimal("100.50"),
    )
    assert [c.email for c in reader.contacts()] == [f"c{i}@x.test" for i in range(4)]
    assert reader.supports(Capability.CONTACTS) and not reader.supports(Capability.ITEMS)
    # {since} in the query reached the app, which filtered on it
    assert len(reader.invoices(since=TODAY - timedelta(days=4))) == len(
        [r for r in RECORDS if r["issued"] >= (TODAY - timedelta(days=4)).isoformat()]
    )


@pytest.mark.parametrize(
    ("app_paging", "feed_paging", "pages"),
    [
        ({"kind": "offset", "default_size": 10}, {"kind": "offset", "size": 10}, 3),
        (
            {"kind": "cursor", "size_param": "n", "default_size": 10},
            {"kind": "cursor", "size_param": "n", "size": 10, "next_path": "$.meta.next_cursor"},
            3,
        ),
        (
            {"kind": "cursor", "size_param": "n", "next_header": "X-Next-Cursor", "default_size": 10},
            {"kind": "cursor", "size_param": "n", "size": 10, "next_header": "X-Next-Cursor", "first_cursor": "0"},
            3,
        ),
        (
            {"kind": "link_header", "size_param": "per_page"},
            {"kind": "link_header", "size_param": "per_page", "size": 10},
            3,
        ),
        ({"kind": "none"}, {"kind": "none"}, 1),
    ],
)
def test_every_paging_style_reads_every_record(
    app: Any, app_paging: dict[str, Any], feed_paging: dict[str, Any], pages: int
) -> None:
    emulator, url = app(paging=app_paging)
    feed = {**FEED, "paging": feed_paging}
    invoices = source(side("generic", feed, url)).invoices()
    assert sorted(str(i.number) for i in invoices) == sorted(r["number"] for r in RECORDS)
    assert emulator.requests["GET /api/v1/invoices"] == pages


@pytest.mark.parametrize(
    ("app_auth", "feed_auth", "secret"),
    [
        ({"kind": "basic", "user": "ann", "password": "pw"}, {"kind": "basic"}, "ann:pw"),
        (
            {"kind": "api_key_header", "header": "X-API-Key", "secret": "k-9"},
            {"kind": "api_key_header", "header": "X-API-Key"},
            "k-9",
        ),
        (
            {
                "kind": "hmac",
                "secret": "s3cret",
                "header": "X-Signature",
                "timestamp_header": "X-Timestamp",
                "algorithm": "sha512",
                "encoding": "base64",
            },
            {
                "kind": "hmac",
                "header": "X-Signature",
                "timestamp_header": "X-Timestamp",
                "algorithm": "sha512",
                "encoding": "base64",
            },
            "s3cret",
        ),
    ],
)
def test_every_authentication_is_accepted_and_a_wrong_secret_refused(
    app: Any, app_auth: dict[str, Any], feed_auth: dict[str, Any], secret: str
) -> None:
    _, url = app(auth=app_auth)
    feed = {**FEED, "auth": feed_auth}
    assert len(source(side("generic", feed, url), secret).invoices()) == 23
    wrong = "ann:nope" if feed_auth["kind"] == "basic" else "nope"
    with pytest.raises(TokenRevoked):
        source(side("generic", feed, url), wrong).invoices()


def test_an_hmac_signature_outside_the_time_window_is_refused(app: Any) -> None:
    auth = {"kind": "hmac", "secret": "s", "header": "X-Signature", "timestamp_header": "X-Timestamp"}
    emulator, url = app(auth=auth)
    emulator.clock.advance(3600)
    with pytest.raises(TokenRevoked, match="outside the allowed window"):
        source(
            side(
                "generic",
                {**FEED, "auth": {"kind": "hmac", "header": "X-Signature", "timestamp_header": "X-Timestamp"}},
                url,
            ),
            "s",
        ).invoices()


def test_a_records_path_that_does_not_fit_names_it_and_shows_the_body(app: Any) -> None:
    _, url = app()
    feed = {**FEED, "endpoints": {"invoices": {"path": "/api/v1/invoices", "records": "$.invoices[*]"}}}
    with pytest.raises(FeedMismatch) as raised:
        source(side("generic", feed, url)).invoices()
    assert raised.value.field == "feed.endpoints.invoices.records"
    assert "no key 'invoices' at $ (keys there: data, meta)" in raised.value.message
    assert raised.value.sample.startswith('{"data": [{"number": "J-1000"')


def test_a_required_field_missing_names_the_field_and_shows_the_record(app: Any) -> None:
    _, url = app()
    mapping = {**FEED["mapping"], "invoice": {**FEED["mapping"]["invoice"], "total": "$.amount_due"}}
    with pytest.raises(FeedMismatch) as raised:
        source(side("generic", {**FEED, "mapping": mapping}, url)).invoices()
    assert raised.value.field == "feed.mapping.invoice.total" and raised.value.path == "$.amount_due"
    assert (
        "no key 'amount_due' at $ (keys there: number, issued, state, total, customer, lines)" in raised.value.message
    )
    assert '"number": "J-1000"' in raised.value.sample


def test_an_optional_path_that_never_matches_is_a_typo_not_an_empty_field(app: Any) -> None:
    _, url = app()
    mapping = {**FEED["mapping"], "invoice": {**FEED["mapping"]["invoice"], "contact_email": "$.customer.mail"}}
    with pytest.raises(FeedMismatch, match=r"contact_email \(\$.customer.mail\).*\(in every record\)"):
        source(side("generic", {**FEED, "mapping": mapping}, url)).invoices()
    optional = {
        **mapping,
        "invoice": {**mapping["invoice"], "contact_email": {"path": "$.customer.mail", "optional": True}},
    }
    assert source(side("generic", {**FEED, "mapping": optional}, url)).invoices()[0].contact_email is None


def test_a_status_no_mapping_covers_is_reported(app: Any) -> None:
    _, url = app()
    mapping = {
        **FEED["mapping"],
        "invoice": {**FEED["mapping"]["invoice"], "status": {"path": "$.state", "values": {"sent": "open"}}},
    }
    with pytest.raises(FeedMismatch, match="the value 'settled' is not one of sent: map it under values"):
        source(side("generic", {**FEED, "mapping": mapping}, url)).invoices()


def test_no_secret_stored_for_a_feed_that_needs_one(app: Any) -> None:
    _, url = app()
    with pytest.raises(CredentialsMissing):
        source(side("generic", FEED, url), None).invoices()


def test_a_json_export_published_at_a_url(app: Any) -> None:
    _, url = app(auth={"kind": "none"})
    feed = {
        "export": {"format": "json", "url": url + "/exports/invoices.json", "records": "$.invoices[*]"},
        "mapping": FEED["mapping"],
    }
    reader = source(side("generic", feed), None)
    assert [i.number for i in reader.invoices()] == ["J-1000", "J-1001", "J-1002"]
    assert not reader.supports(Capability.CONTACTS)


def test_torqueflows_csv_export_at_a_url(app: Any) -> None:
    _, url = app(auth={"kind": "none"})
    [inv] = source(side("torqueflow", {"export": {"url": url + "/exports/sales.csv"}}), None).invoices()
    assert (inv.number, inv.issue_date, inv.total, inv.currency, inv.status) == (
        "TM-9",
        TODAY,
        Decimal("120.00"),
        "GBP",
        InvoiceStatus.OPEN,
    )
    assert [(line.account_code, line.amount) for line in inv.lines] == [("Tyres", Decimal("100.00"))]


def test_torqueflow_export_file_and_its_blind_spots() -> None:
    reader = source(side("torqueflow", {"export": {"file": str(FIXTURES / "torqueflow-sales.csv")}}), None)
    invoices = reader.invoices()
    assert [i.number for i in invoices] == ["TF-2001", "TF-2002", "TF-2003"]
    assert invoices[2].lines[0].account_code == "Tyres" and invoices[2].status is InvoiceStatus.OPEN
    assert invoices[0].status is InvoiceStatus.PAID and invoices[0].contact_name == "Priya Shah"
    spots = reader.blind_spots()
    assert any("Sync now" in s for s in spots) and any("email" in s for s in spots)


def test_a_torqueflow_export_with_other_columns_shows_its_header_row(tmp_path: Path) -> None:
    odd = tmp_path / "sales.csv"
    odd.write_text("Date,Client,Inv No,Net,VAT,Gross,Status\n03/12/2026,Tom,TF-1,100,20,120,Paid\n", encoding="utf-8")
    with pytest.raises(FeedMismatch) as raised:
        source(side("torqueflow", {"export": {"file": str(odd)}}), None).invoices()
    assert raised.value.field == "feed.mapping.invoice.number"
    assert "no key 'Invoice #' at $ (keys there: Date, Client, Inv No, Net, VAT, Gross, Status)" in raised.value.message


def test_workshop_softwares_line_export_is_grouped_into_invoices() -> None:
    reader = source(
        side("workshop_software", {"export": {"file": str(FIXTURES / "workshop-software-invoices.csv")}}), None
    )
    invoices = reader.invoices()
    assert [(i.number, len(i.lines)) for i in invoices] == [("WS-501", 2), ("WS-502", 1)]
    assert [line.sku for line in invoices[0].lines] == ["OIL-5W30", "LAB"]
    assert invoices[0].contact_email == "jo@example.com" and invoices[0].total == Decimal("187.00")


def test_a_missing_export_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist: export the invoices again"):
        source(side("torqueflow", {"export": {"file": str(tmp_path / "nope.csv")}}), None).invoices()
