"""The AroFlo preset against the AroFlo emulator, over real HTTP on loopback: every request signed
and verified for real, a WHERE clause always sent (AroFlo's default filter would hide older
invoices), pages of at most 500, AroFlo's statuses in a 200 body as errors."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from config.integrations import SideConfig, parse_config
from providers import get_provider
from providers.base import Provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import CredentialsMissing, RateLimited, TokenRevoked
from providers.http import CallStats, RetryPolicy
from providers.records import InvoiceStatus
from sandbox.aroflo import AroFloEmulator
from sandbox.server import LoopbackServer

TODAY = date.today()
SECRET = "uencoded=U+1/x==&pencoded=P1&orgencoded=JCdKUyZRMCAgCg==&secret_key=s3cret"


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


WORLD: dict[str, Any] = {
    "credentials": [
        {"uencoded": "U+1/x==", "pencoded": "P1", "orgencoded": "JCdKUyZRMCAgCg==", "secret_key": "s3cret"}
    ],
    "clients": [
        {"clientid": "C1", "clientname": "ABC Building", "email": "ap@abc.example"},
        {"clientid": "C2", "clientname": "Old Client", "archived": "true"},
    ],
    "invoices": [
        {
            "invoicenumber": str(1000 + i),
            "status": "approved",
            "dateinvoiced": day(-i),
            "createdutc": day(-i),
            "client": {"orgid": "C1", "orgname": "ABC Building"},
            "task": {"taskid": f"T{i}", "jobnumber": f"J-{i}"},
            "linkprocesseddate": day(-i) if i % 2 else "",
            "lines": [
                {
                    "ordercode": "PJ151510",
                    "description": "Power point",
                    "qtybilled": 2,
                    "price": 83,
                    "accountcode": "4-1010",
                }
            ],
        }
        for i in range(7)
    ]
    # Created 45 days ago: AroFlo's default 30-day filter would hide it.
    + [
        {
            "invoicenumber": "0900",
            "status": "processed",
            "dateinvoiced": day(-45),
            "createdutc": day(-45),
            "client": {"orgid": "C1", "orgname": "ABC Building"},
            "lines": [{"ordercode": "NT", "qtybilled": 1, "price": 50}],
        }
    ],
}


@pytest.fixture
def aroflo() -> Iterator[tuple[AroFloEmulator, str]]:
    emulator = AroFloEmulator(copy.deepcopy(WORLD))
    server = LoopbackServer(emulator.app).start()
    try:
        yield emulator, server.url
    finally:
        server.stop()


def side(url: str, feed: dict[str, Any] | None = None) -> SideConfig:
    body: dict[str, Any] = {"system": "aroflo", "base_url": url}
    if feed:
        body["feed"] = feed
    return (
        parse_config({"integrations": {"a": {"source": body, "destination": {"system": "xero"}}}})
        .integrations["a"]
        .source
    )


def source(cfg: SideConfig, secret: str = SECRET) -> Provider:
    return get_provider(
        "aroflo",
        tenant=None,
        credentials=MemoryCredentialStore("src", Credentials(kind="api_key", api_key=secret)),
        stats=CallStats(),
        overrides=cfg.urls,
        feed=cfg.feed,
        retry=RetryPolicy(attempts=0),
    )


def test_invoices_are_read_signed_with_a_where_clause_and_their_lines(aroflo: tuple[AroFloEmulator, str]) -> None:
    emulator, url = aroflo
    invoices = source(side(url)).invoices(since=TODAY - timedelta(days=60))
    assert [i.number for i in invoices] == [*(str(1000 + i) for i in range(7)), "0900"]  # 45 days old, still there
    first = invoices[0]
    assert (first.status, first.currency, first.total, first.subtotal, first.tax) == (
        InvoiceStatus.OPEN,
        "AUD",
        Decimal("182.60"),
        Decimal("166.00"),
        Decimal("16.60"),
    )
    assert (first.job, first.posted, invoices[1].posted) == ("J-0", False, True)
    assert [(ln.sku, ln.quantity, ln.unit_amount, ln.account_code) for ln in first.lines] == [
        ("PJ151510", Decimal("2.0000"), Decimal("83.0000"), "4-1010")
    ]
    [signed] = emulator.signed
    assert signed.startswith("GET++text/json+uencoded=U%2B1%2Fx%3D%3D&pencoded=P1&orgEncoded=JCdKUyZRMCAgCg%3D%3D+")
    expected_where = f"and%7Cdateinvoiced%7C%3E%7C{(TODAY - timedelta(days=61)):%Y%%2F%m%%2F%d}"
    assert signed.endswith(f"+zone=invoices&join=lineitems&where={expected_where}&page=1&pageSize=500")


def test_clients_are_the_contacts_with_their_emails(aroflo: tuple[AroFloEmulator, str]) -> None:
    contacts = source(side(aroflo[1])).contacts()
    assert [(c.id, c.name, c.email) for c in contacts] == [
        ("C1", "ABC Building", "ap@abc.example")
    ]  # archived left out


def test_pages_follow_until_a_short_one(aroflo: tuple[AroFloEmulator, str]) -> None:
    emulator, url = aroflo
    invoices = source(side(url, {"paging": {"size": 3}})).invoices(since=TODAY - timedelta(days=60))
    assert len(invoices) == 8 and emulator.requests["GET /"] == 3  # 3 + 3 + 2


def test_a_wrong_secret_is_refused_by_signature(aroflo: tuple[AroFloEmulator, str]) -> None:
    with pytest.raises(TokenRevoked, match="Authentication Failed - Signatures do not match") as refused:
        source(side(aroflo[1]), SECRET.replace("s3cret", "guess")).invoices()
    assert refused.value.code == "-99999"


def test_a_clock_far_off_makes_the_payload_expire(aroflo: tuple[AroFloEmulator, str]) -> None:
    emulator, url = aroflo
    emulator.clock.advance(-3600)
    with pytest.raises(TokenRevoked, match="Payload has expired"):
        source(side(url)).invoices()


def test_credentials_missing_a_part_say_which(aroflo: tuple[AroFloEmulator, str]) -> None:
    with pytest.raises(CredentialsMissing, match="lack secret_key"):
        source(side(aroflo[1]), "uencoded=U&pencoded=P&orgencoded=O").invoices()


def test_aroflos_rate_limit_status_in_a_200_body_is_a_rate_limit(aroflo: tuple[AroFloEmulator, str]) -> None:
    emulator, url = aroflo
    emulator.per_minute = 1
    reader = source(side(url))
    reader.contacts()
    with pytest.raises(RateLimited, match="Exceeded Rate Limit") as refused:
        reader.invoices()
    assert refused.value.code == "6"
    # the first answer's X-RateLimit-* headers: the day's quota as AroFlo counts it
    assert reader.stats.rate_status("aroflo").day_remaining == 1999
