"""QuickBooks Online provider against its emulator over real HTTP on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from checks.context import SideData
from config.integrations import SideConfig
from providers import get_provider
from providers.credentials import Credentials, MemoryCredentialStore
from providers.errors import (
    RateLimited,
    RefreshFailed,
    Rejected,
    ScopeMissing,
    TenantError,
    TokenExpired,
    Unavailable,
    UnexpectedResponse,
)
from providers.http import CallStats, RetryPolicy, reset_limiters
from providers.quickbooks import QuickBooks
from providers.records import (
    Contact,
    Feature,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Item,
    TrackingRef,
)
from sandbox.quickbooks import QuickBooksEmulator, parse_query
from sandbox.server import LoopbackServer

ACME = "9130350000000001"
GLOBEX = "9130350000000002"
SCOPE = "com.intuit.quickbooks.accounting"


def acme_realm() -> dict[str, Any]:
    return {
        "CompanyInfo": {
            "CompanyName": "Acme Plumbing",
            "Country": "US",
            "SampleFile": False,
            "NameValue": [
                {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
                {"Name": "SubscriptionStatus", "Value": "PAID"},
            ],
        },
        "Preferences": {
            "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
            "AccountingInfoPrefs": {"ClassTrackingPerTxnLine": True, "BookCloseDate": "2024-01-31"},
        },
        "Entitlements": {
            "QboCompany": True,
            "PlanName": "QBWEBPLUS",
            "MaxUsers": 5,
            "CurrentUsers": 2,
            "DaysRemainingTrial": 0,
            "Entitlement": [{"id": "27", "name": "Class Tracking", "term": "On"}],
        },
        "Account": [
            {"Id": "1", "Name": "Sales", "AcctNum": "4000", "AccountType": "Income"},
            {
                "Id": "2",
                "Name": "Old Sales",
                "AcctNum": "4100",
                "AccountType": "Income",
                "Active": False,
            },
            {"Id": "3", "Name": "Services", "AccountType": "Income"},
        ],
        "TaxRate": [{"Id": "6", "Name": "GST 10%", "RateValue": 10}],
        "TaxCode": [
            {
                "Id": "5",
                "Name": "GST",
                "SalesTaxRateList": {"TaxRateDetail": [{"TaxRateRef": {"value": "6"}}]},
            }
        ],
        "Class": [{"Id": "7", "Name": "North"}, {"Id": "8", "Name": "South", "Active": False}],
        "Customer": [
            {
                "Id": "10",
                "DisplayName": "Acme Corp",
                "PrimaryEmailAddr": {"Address": "ap@acme.test"},
                "BillAddr": {
                    "Line1": "1 Main St",
                    "City": "Springfield",
                    "PostalCode": "12345",
                    "Country": "US",
                },
            },
            {
                "Id": "11",
                "DisplayName": "Bob's Burgers",
                "GivenName": "Bob",
                "FamilyName": "Belcher",
            },
            {"Id": "12", "DisplayName": "Old Customer", "Active": False},
            {"Id": "13", "DisplayName": "Zed Ltd"},
            {"Id": "14", "DisplayName": "Yak Co"},
        ],
        "Item": [
            {
                "Id": "20",
                "Name": "Widget",
                "Sku": "PROD-001",
                "Type": "Service",
                "UnitPrice": 50,
                "IncomeAccountRef": {"value": "1"},
            },
            {
                "Id": "21",
                "Name": "Gadget",
                "Sku": "prod-002",
                "Type": "Service",
                "IncomeAccountRef": {"value": "3"},
            },
            {
                "Id": "22",
                "Name": "Retired",
                "Sku": "OLD-1",
                "Type": "Service",
                "Active": False,
                "IncomeAccountRef": {"value": "1"},
            },
        ],
        "Invoice": [
            {
                "Id": "30",
                "DocNumber": "INV-1001",
                "TxnDate": "2024-03-01",
                "CustomerRef": {"value": "10"},
                "BillEmail": {"Address": "ap@acme.test"},
                "TxnTaxDetail": {"TotalTax": 10},
                "Balance": 0,
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "Description": "Two widgets",
                        "SalesItemLineDetail": {
                            "ItemRef": {"value": "20"},
                            "Qty": 2,
                            "UnitPrice": 50,
                            "TaxCodeRef": {"value": "5"},
                            "ClassRef": {"value": "7"},
                        },
                    },
                    {"DetailType": "SubTotalLineDetail", "Amount": 100, "SubTotalLineDetail": {}},
                ],
            },
            {
                "Id": "31",
                "DocNumber": "INV-1002",
                "TxnDate": "2024-03-05",
                "CustomerRef": {"value": "11"},
                "Balance": 40,
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {
                            "ItemRef": {"value": "21"},
                            "Qty": 1,
                            "UnitPrice": 60,
                        },
                    }
                ],
            },
            {
                "Id": "32",
                "DocNumber": "INV-1003",
                "TxnDate": "2024-03-06",
                "CustomerRef": {"value": "13"},
                "PrivateNote": "Voided",
                "TotalAmt": 0,
                "Balance": 0,
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "Amount": 0,
                        "SalesItemLineDetail": {"ItemRef": {"value": "20"}, "Qty": 0},
                    }
                ],
            },
            {
                "Id": "33",
                "DocNumber": "INV-1004",
                "TxnDate": "2024-05-01",
                "CustomerRef": {"value": "14"},
                "ClassRef": {"value": "7"},
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {
                            "ItemRef": {"value": "20"},
                            "Qty": 1,
                            "UnitPrice": 50,
                        },
                    }
                ],
            },
            {
                "Id": "34",
                "DocNumber": "INV-1005",
                "TxnDate": "2024-05-02",
                "CustomerRef": {"value": "10"},
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {
                            "ItemRef": {"value": "22"},
                            "Qty": 3,
                            "UnitPrice": 10,
                        },
                    }
                ],
            },
            {
                "Id": "35",
                "DocNumber": "INV-1006",
                "TxnDate": "2024-01-15",
                "CustomerRef": {"value": "13"},
                "PrivateNote": "No charge: warranty visit",
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "Amount": 0,
                        "SalesItemLineDetail": {
                            "ItemRef": {"value": "21"},
                            "Qty": 1,
                            "UnitPrice": 0,
                        },
                    }
                ],
            },
        ],
        "Payment": [
            {
                "Id": "40",
                "TxnDate": "2024-03-10",
                "CustomerRef": {"value": "10"},
                "TotalAmt": 110,
                "Line": [{"Amount": 110, "LinkedTxn": [{"TxnId": "30", "TxnType": "Invoice"}]}],
            },
            {
                "Id": "41",
                "TxnDate": "2024-06-01",
                "CustomerRef": {"value": "11"},
                "TotalAmt": 20,
                "Line": [],
            },
        ],
    }


def globex_realm() -> dict[str, Any]:
    return {
        "CompanyInfo": {
            "CompanyName": "Globex Trial",
            "SampleFile": True,
            "NameValue": [{"Name": "SubscriptionStatus", "Value": "TRIAL"}],
        },
        "Preferences": {"CurrencyPrefs": {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "AUD"}}},
        "Entitlements": {
            "QboCompany": True,
            "PlanName": "QBWEBESSENTIALS",
            "DaysRemainingTrial": 12,
            "Entitlement": [{"id": "27", "name": "Class Tracking", "term": "Off"}],
        },
        "CompanyCurrency": [
            {"Id": "1", "Code": "NZD", "Name": "New Zealand Dollar"},
            {"Id": "2", "Code": "EUR", "Name": "Euro", "Active": False},
        ],
        "Customer": [{"Id": "1", "DisplayName": "Kiwi Ltd", "CurrencyRef": {"value": "NZD"}}],
        "Item": [{"Id": "2", "Name": "Thing", "Type": "NonInventory"}],
    }


def world(**extra: Any) -> dict[str, Any]:
    return {
        "grants": [
            {
                "access_token": "at-acme",
                "refresh_token": "rt-acme",
                "principal": ACME,
                "scopes": [SCOPE, "openid"],
            },
            {
                "access_token": "at-globex",
                "refresh_token": "rt-globex",
                "principal": GLOBEX,
                "scopes": [SCOPE],
            },
        ],
        "clients": {"client-id": "client-secret"},
        "faults": {"retry_after": 0},
        "realms": {ACME: acme_realm(), GLOBEX: globex_realm()},
        **extra,
    }


@pytest.fixture(autouse=True)
def _limiters() -> Iterator[None]:
    reset_limiters()
    yield
    reset_limiters()


class Running:
    def __init__(self, section: dict[str, Any]) -> None:
        self.emulator = QuickBooksEmulator(section)
        self.server = LoopbackServer(self.emulator.app).start()
        self.url = self.server.url

    def store(
        self,
        token: str = "at-acme",
        refresh: str = "rt-acme",
        *,
        expires_in: float = 3600,
        scopes: tuple[str, ...] = (SCOPE, "openid"),
    ) -> MemoryCredentialStore:
        return MemoryCredentialStore(
            "acme/quickbooks",
            Credentials(
                kind="oauth2",
                access_token=token,
                refresh_token=refresh,
                expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
                scopes=scopes,
                tenant_id=ACME,
            ),
        )

    def provider(
        self,
        store: MemoryCredentialStore | None = None,
        *,
        tenant: str = ACME,
        page_size: int | None = 2,
        stats: CallStats | None = None,
    ) -> QuickBooks:
        provider = get_provider(
            "quickbooks",
            tenant=tenant,
            credentials=store or self.store(),
            stats=stats or CallStats(),
            overrides={
                "base_url": self.url,
                "identity_url": self.url,
                "token_url": self.url + "/oauth2/v1/tokens/bearer",
            },
            client_id="client-id",
            client_secret="client-secret",
            retry=RetryPolicy(backoff=0.01),
            page_size=page_size,
        )
        assert isinstance(provider, QuickBooks)
        return provider

    def queries(self, realm: str = ACME) -> int:
        return self.emulator.requests[f"GET /v3/company/{realm}/query"]


@pytest.fixture
def qbo() -> Iterator[Running]:
    running = Running(world())
    yield running
    running.server.stop()


def test_contacts_include_inactive_and_page_through_every_page(qbo: Running) -> None:
    contacts = {c.id: c for c in qbo.provider().contacts()}

    assert set(contacts) == {"10", "11", "12", "13", "14"}
    assert qbo.queries() == 3  # 5 rows at 2 per page
    assert contacts["12"].archived and not contacts["10"].archived
    assert contacts["10"].email == "ap@acme.test" and contacts["10"].address and contacts["10"].address.is_complete()
    assert (contacts["11"].first_name, contacts["11"].last_name) == ("Bob", "Belcher")
    assert contacts["10"].currency == "USD"
    sent = [h for m, p, h in qbo.emulator.log if p.endswith("/query")]
    assert all(h["authorization"] == "Bearer at-acme" for h in sent)


def test_items_accounts_tax_and_classes(qbo: Running) -> None:
    provider = qbo.provider()
    items = {i.id: i for i in provider.items()}
    assert items["20"].code == "PROD-001" and items["20"].account_code == "4000" and items["20"].unit_price == 50
    assert items["21"].account_code == "Services"  # no AcctNum: QuickBooks identifies it by name
    assert not items["22"].active

    accounts = {a.id: a for a in provider.accounts()}
    assert accounts["2"].status == "archived" and accounts["2"].code == "4100" and accounts["3"].code is None

    (gst,) = provider.tax_rates()
    assert (gst.code, gst.name, gst.rate) == ("5", "GST", Decimal(10))

    (classes,) = provider.tracking_categories()
    assert classes.name == "Class"
    assert {(o.name, o.status) for o in classes.options} == {
        ("North", "active"),
        ("South", "archived"),
    }


def test_invoices_status_lines_and_resolution_fetch_items_once(qbo: Running) -> None:
    provider = qbo.provider()
    side = SideData("destination", SideConfig("quickbooks", tenant=ACME), provider)  # lends its run memo
    invoices = {i.number: i for i in side.invoices()}

    assert set(invoices) == {"INV-1001", "INV-1002", "INV-1003", "INV-1004", "INV-1005", "INV-1006"}
    paid, partial, void, open_, archived_item = (invoices[f"INV-100{n}"] for n in range(1, 6))
    assert paid.status is InvoiceStatus.PAID and paid.total == Decimal(110) and paid.tax == Decimal(10)
    assert partial.status is InvoiceStatus.OPEN and partial.raw_status == "Partially paid"
    assert partial.amount_due == Decimal(40) and partial.amount_paid == Decimal(20)
    assert void.status is InvoiceStatus.VOID
    no_charge = invoices["INV-1006"]  # zero total, not voided: nothing was ever owed or paid
    assert (no_charge.status, no_charge.raw_status, no_charge.total) == (
        InvoiceStatus.OPEN,
        "Open",
        0,
    )
    assert open_.status is InvoiceStatus.OPEN and open_.raw_status == "Open"

    (line,) = paid.lines  # the subtotal line carries no item
    assert (line.sku, line.item_id, line.quantity, line.amount) == (
        "PROD-001",
        "20",
        Decimal(2),
        Decimal(100),
    )
    assert (line.account_code, line.tax_code, line.tracking) == (
        "4000",
        "5",
        (TrackingRef("Class", "North"),),
    )
    assert open_.lines[0].tracking == (TrackingRef("Class", "North"),)  # invoice-level class applies to lines
    assert partial.lines[0].sku == "prod-002"
    assert archived_item.lines[0].sku == "OLD-1"
    assert paid.contact_name == "Acme Corp" and paid.contact_email == "ap@acme.test" and paid.currency == "USD"

    # Within one run, the items the lines were resolved with are the checks' items, and a
    # second read resolves through them again: one listing of items and of accounts in all.
    assert {i.code for i in side.items()} >= {"PROD-001", "prod-002", "OLD-1"}
    provider.invoices()
    item_queries = [q for q in _queries(qbo) if "FROM Item" in q]
    assert item_queries == [
        "SELECT * FROM Item WHERE Active IN (true,false) ORDERBY Id STARTPOSITION 1 MAXRESULTS 2",
        "SELECT * FROM Item WHERE Active IN (true,false) ORDERBY Id STARTPOSITION 3 MAXRESULTS 2",
    ]
    assert sum("FROM Account" in q for q in _queries(qbo)) == 2  # 3 accounts at 2 a page

    # Outside a run nothing is kept: a provider on its own reads what each call needs.
    qbo.provider().invoices()
    assert sum("FROM Item" in q for q in _queries(qbo)) == 4


def test_invoices_since_asks_for_dated_or_modified(qbo: Running) -> None:
    found = qbo.provider(page_size=None).invoices(since=date(2024, 4, 1))
    # Every invoice was "modified" when the emulator loaded them; the TxnDate statement is sent too.
    assert {i.number for i in found} == {f"INV-100{n}" for n in range(1, 7)}
    statements = sorted(q for q in _queries(qbo) if "FROM Invoice" in q)  # sent in parallel
    assert statements == sorted(
        [
            "SELECT * FROM Invoice WHERE TxnDate >= '2024-04-01' ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000",
            "SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= '2024-04-01' ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000",
        ]
    )


def test_payments_link_invoices_and_keep_unapplied(qbo: Running) -> None:
    payments = qbo.provider().payments()
    assert [(p.id, p.invoice_id, p.amount) for p in payments] == [
        ("40", "30", Decimal(110)),
        ("41", None, Decimal(20)),
    ]
    later = qbo.provider().payments(since=date(2024, 5, 1))
    assert [p.id for p in later] == ["41"]


def test_every_call_carries_minorversion_and_writes_a_requestid(qbo: Running) -> None:
    provider = qbo.provider()
    provider.contacts()
    provider.org_info()
    provider.create_contact(Contact(id="", name="New One"), idempotency_key="k-1")
    api_calls = [r for r in qbo.emulator.received if r[1].startswith("/v3/company/")]
    assert len(api_calls) >= 6 and all(params.get("minorversion") == "75" for _, _, params, _ in api_calls)
    (post,) = _posts(qbo)
    assert post[1] == f"/v3/company/{ACME}/customer" and post[2]["requestid"] == "k-1"


def test_probe_and_org_info(qbo: Running) -> None:
    provider = qbo.provider()
    probe = provider.probe()
    assert (probe.tenant_id, probe.tenant_name) == (ACME, "Acme Plumbing")
    assert probe.scopes == frozenset({SCOPE, "openid"})

    org = provider.org_info()
    assert (org.name, org.base_currency, org.currencies) == (
        "Acme Plumbing",
        "USD",
        frozenset({"USD"}),
    )
    assert org.plan == "QuickBooks Online Plus" and org.status == "PAID"
    assert org.features == frozenset({Feature.TRACKING}) and org.features_known
    assert not org.is_trial and org.trial_days_remaining == 0 and not org.is_demo
    assert org.lock_date == date(2024, 1, 31) and org.country == "US"


def test_org_info_of_a_multicurrency_trial(qbo: Running) -> None:
    store = qbo.store("at-globex", "rt-globex", scopes=(SCOPE,))
    org = qbo.provider(store, tenant=GLOBEX).org_info()
    assert org.currencies == frozenset({"AUD", "NZD"})  # EUR is switched off
    assert Feature.MULTICURRENCY in org.features and Feature.TRACKING not in org.features
    assert org.is_trial and org.trial_days_remaining == 12 and org.is_demo
    assert org.plan == "QBWEBESSENTIALS" and org.lock_date is None


def test_org_info_survives_unreadable_entitlements() -> None:
    section = world()
    section["realms"][ACME]["entitlements_fault"] = {
        "status": 503,
        "code": "10000",
        "message": "Service unavailable",
    }
    running = Running(section)
    try:
        org = running.provider().org_info()
        assert not org.features_known and org.name == "Acme Plumbing"
        assert org.features == frozenset({Feature.TRACKING})  # still known from Preferences
        assert org.plan == "QuickBooks Online Plus" and org.trial_days_remaining is None
    finally:
        running.server.stop()


def test_push_invoice_with_the_same_requestid_creates_one(qbo: Running) -> None:
    provider = qbo.provider()
    invoice = Invoice(
        id="",
        number=None,
        status=InvoiceStatus.OPEN,
        currency="USD",
        total=Decimal(150),
        contact_id="10",
        issue_date=date(2024, 6, 1),
        lines=(
            InvoiceLine(
                sku="PROD-001",
                quantity=Decimal(3),
                unit_amount=Decimal(50),
                amount=Decimal(150),
                tax_code="5",
                tracking=(TrackingRef("Class", "North"),),
            ),
        ),
    )
    first = provider.push_invoice(invoice, idempotency_key="resync-42")
    again = provider.push_invoice(invoice, idempotency_key="resync-42")

    assert first.id == again.id and first.number == again.number == "1001"  # QuickBooks sequenced it
    created = [i for i in qbo.emulator.realms[ACME].entities["Invoice"] if i["Id"] == first.id]
    assert len(created) == 1 and len(qbo.emulator.realms[ACME].entities["Invoice"]) == 7
    posts = _posts(qbo)
    assert len(posts) == 2  # both reached Intuit; the second was a replay
    body = posts[0][3]
    detail = body["Line"][0]["SalesItemLineDetail"]
    assert detail["ItemRef"] == {"value": "20"} and detail["ClassRef"] == {"value": "7"}
    assert created[0]["TotalAmt"] == 150


def test_push_invoice_with_a_number_already_there_is_not_sent_again(qbo: Running) -> None:
    provider = qbo.provider()
    invoice = Invoice(
        id="",
        number="INV-2001",
        status=InvoiceStatus.OPEN,
        currency="USD",
        total=Decimal(50),
        contact_id="10",
        issue_date=date(2024, 6, 1),
        lines=(InvoiceLine(item_id="20", amount=Decimal(50), unit_amount=Decimal(50)),),
    )
    first = provider.push_invoice(invoice, idempotency_key="a")
    second = provider.push_invoice(invoice, idempotency_key="b")
    assert first.created and not second.created and first.id == second.id
    assert len(_posts(qbo)) == 1


def test_push_invoice_refusals_carry_intuit_codes(qbo: Running) -> None:
    provider = qbo.provider()

    def push(**changes: Any) -> None:
        invoice = Invoice(
            id="",
            number="INV-3001",
            status=InvoiceStatus.OPEN,
            currency="USD",
            total=Decimal(50),
            contact_id="11",
            issue_date=date(2024, 6, 1),
            lines=(InvoiceLine(item_id="20", amount=Decimal(50)),),
        )
        provider.push_invoice(replace(invoice, **changes), idempotency_key=str(changes))

    with pytest.raises(Rejected) as duplicate:
        push(number="INV-1001")  # same number, another customer
    assert duplicate.value.code == "6140" and "DocNumber=INV-1001" in duplicate.value.message
    with pytest.raises(Rejected) as inactive:
        push(lines=(InvoiceLine(item_id="22", amount=Decimal(50)),))
    assert inactive.value.code == "610" and "Object Not Found" in inactive.value.message
    with pytest.raises(Rejected) as closed:
        push(issue_date=date(2024, 1, 15))
    assert closed.value.code == "6210" and "closed" in closed.value.message
    with pytest.raises(Rejected) as currency:
        push(currency="EUR")
    assert currency.value.code == "6000" and "EUR" in currency.value.message
    with pytest.raises(Rejected, match="no QuickBooks item"):
        push(lines=(InvoiceLine(sku="NOPE", amount=Decimal(1)),))


def test_closed_period_code_is_configurable() -> None:
    running = Running(world(validation_codes={"closed_period": "6200"}))
    try:
        with pytest.raises(Rejected) as closed:
            running.provider().push_invoice(
                Invoice(
                    id="",
                    number="X-1",
                    status=InvoiceStatus.OPEN,
                    currency="USD",
                    total=Decimal(1),
                    contact_id="10",
                    issue_date=date(2023, 12, 1),
                    lines=(InvoiceLine(item_id="20", amount=Decimal(1)),),
                ),
                idempotency_key="x",
            )
        assert closed.value.code == "6200"
    finally:
        running.server.stop()


def test_create_item_and_contact_are_idempotent(qbo: Running) -> None:
    provider = qbo.provider()
    made = provider.create_item(
        Item(id="", code="PROD-009", name="Sprocket", account_code="4000", unit_price=Decimal("9.5")),
        idempotency_key="item-1",
    )
    assert made.created
    again = provider.create_item(
        Item(id="", code="PROD-009", name="sprocket", account_code="4000"), idempotency_key="item-2"
    )
    assert not again.created and again.id == made.id
    assert any(i.code == "PROD-009" for i in provider.items())
    body = _posts(qbo)[0][3]
    assert body == {
        "Name": "Sprocket",
        "Type": "Service",
        "IncomeAccountRef": {"value": "1"},
        "Active": True,
        "Sku": "PROD-009",
        "UnitPrice": 9.5,
    }

    contact = provider.create_contact(Contact(id="", name="Newco", email="hi@newco.test"), idempotency_key="c-1")
    assert contact.created
    assert not provider.create_contact(Contact(id="", name="Acme Corp"), idempotency_key="c-2").created
    with pytest.raises(Rejected) as invalid:
        provider.create_contact(Contact(id="", name="Parent:Child"), idempotency_key="c-3")
    assert invalid.value.code == "6000"
    with pytest.raises(Rejected, match="income account"):
        provider.create_item(Item(id="", code="X", name="X", account_code="9999"), idempotency_key="i-3")


@pytest.mark.parametrize(
    ("status", "code", "message", "detail", "error"),
    [
        (
            400,
            "6240",
            "Duplicate Name Exists Error",
            "The name supplied already exists. : Another customer is already using this name.",
            Rejected,
        ),
        (
            400,
            "6140",
            "Duplicate Document Number Error",
            "DocNumber=18696 is assigned to TxnType=Invoice with TxnId=6575",
            Rejected,
        ),
        (
            400,
            "610",
            "Object Not Found",
            "Something you're trying to use has been made inactive.",
            Rejected,
        ),
        (400, "6190", "Invalid Company Status", "The subscription has ended", Rejected),
        (
            200,
            "6000",
            "A business validation error has occurred",
            "HTTP 200 still carries a Fault",
            Rejected,
        ),
        (
            403,
            "120",
            "AuthorizationFailure",
            "-11014-You do not have access to use QuickBooks Online Plus",
            TenantError,
        ),
    ],
)
def test_fault_codes_map_to_typed_errors_with_intuits_words(
    qbo: Running, status: int, code: str, message: str, detail: str, error: type[Exception]
) -> None:
    qbo.emulator.push_fault(status, code, message, detail)
    with pytest.raises(error) as raised:
        qbo.provider().contacts()
    assert raised.value.code == code  # type: ignore[attr-defined]
    assert message in raised.value.message and detail in raised.value.message  # type: ignore[attr-defined]


def test_company_with_an_ended_subscription_answers_6190() -> None:
    section = world()
    section["realms"][ACME]["company_status_invalid"] = True
    running = Running(section)
    try:
        with pytest.raises(Rejected) as raised:
            running.provider().probe()
        assert raised.value.code == "6190" and raised.value.status == 400
    finally:
        running.server.stop()


def test_3200_after_a_refresh_is_token_expired(qbo: Running) -> None:
    for _ in range(2):
        qbo.emulator.push_fault(
            401,
            "3200",
            "message=ApplicationAuthenticationFailed; errorCode=003200; statusCode=401",
            "Token invalid",
            type="AUTHENTICATION",
        )
    store = qbo.store()
    with pytest.raises(TokenExpired) as raised:
        qbo.provider(store).contacts()
    assert raised.value.code == "3200" and "ApplicationAuthenticationFailed" in raised.value.message
    assert qbo.emulator.tokens.refresh_calls == 1  # the client tried one refresh first


def test_token_dead_before_its_stated_expiry_is_refreshed_on_401(qbo: Running) -> None:
    store = qbo.store()  # the client believes the token is good for another hour
    qbo.emulator.clock.advance(7200)  # Intuit's side says it expired
    assert qbo.provider(store).probe().tenant_name == "Acme Plumbing"
    assert qbo.emulator.tokens.refresh_calls == 1 and store.saves == 1


def test_wrong_realm_is_a_tenant_error_read_by_its_code_before_its_status(qbo: Running) -> None:
    # Intuit answers 401 with code 120 (AuthorizationFailure) for a realm the token does not
    # reach or a user who lost access [QE]: not an expired token, so no refresh is spent on it.
    with pytest.raises(TenantError) as raised:
        qbo.provider(tenant=GLOBEX).probe()  # acme's token does not reach globex
    assert raised.value.status == 401 and raised.value.code == "120"
    assert GLOBEX in raised.value.message
    assert qbo.emulator.tokens.refresh_calls == 0
    assert qbo.emulator.requests[f"GET /v3/company/{GLOBEX}/companyinfo/{GLOBEX}"] == 1


def test_wrong_tenant_fault_and_missing_scope() -> None:
    running = Running(world(faults={"retry_after": 0, "wrong_tenant": True}))
    try:
        with pytest.raises(TenantError):
            running.provider().probe()
    finally:
        running.server.stop()
    section = world()
    section["grants"][0]["scopes"] = ["openid", "email"]
    running = Running(section)
    try:
        with pytest.raises(ScopeMissing) as raised:
            running.provider(running.store(scopes=("openid", "email"))).contacts()
        assert raised.value.needed == (SCOPE,)
    finally:
        running.server.stop()


def test_429_storm_and_5xx_do_not_lose_a_page(qbo: Running) -> None:
    stats = CallStats()
    provider = qbo.provider(stats=stats)
    qbo.emulator.faults.rate_limit = 2
    qbo.emulator.faults.server_errors = 1
    first = provider.contacts()
    qbo.emulator.faults.rate_limit_every = 3  # later pages get throttled too
    qbo.emulator.faults.server_errors = 1
    invoices = provider.invoices()
    assert len(first) == 5 and len(invoices) == 6
    assert stats.throttled["quickbooks"] >= 3


def test_a_throttle_longer_than_the_client_waits_is_surfaced(qbo: Running) -> None:
    qbo.emulator.faults.rate_limit = 1
    qbo.emulator.faults.retry_after = 600
    with pytest.raises(RateLimited) as raised:
        qbo.provider().contacts()
    assert raised.value.retry_after == 600 and raised.value.code == "3001"


def test_persistent_5xx_is_unavailable(qbo: Running) -> None:
    qbo.emulator.faults.server_errors = 10
    with pytest.raises(Unavailable):
        qbo.provider().contacts()


def test_garbage_body_is_an_unexpected_response(qbo: Running) -> None:
    qbo.emulator.faults.garbage = 1
    with pytest.raises(UnexpectedResponse, match="not JSON"):
        qbo.provider().contacts()


def test_twenty_concurrent_calls_on_an_expiring_token_refresh_once(qbo: Running) -> None:
    store = qbo.store(expires_in=30)  # inside the refresh margin: stale for the client
    provider = qbo.provider(store, page_size=None)
    results: list[Any] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            results.append(provider.probe().tenant_id)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors and results == [ACME] * 20
    assert qbo.emulator.tokens.refresh_calls == 1 and store.saves == 1
    saved = store.load()
    assert saved is not None and saved.refresh_token not in (
        None,
        "rt-acme",
    )  # rotated and persisted
    assert saved.refresh_expires_at is not None
    assert timedelta(days=99) < saved.refresh_expires_at - datetime.now(UTC) <= timedelta(days=100)
    assert qbo.emulator.tokens.refresh(str(saved.refresh_token)) is not None  # the saved one works


def test_invalid_grant_marks_reauth(qbo: Running) -> None:
    store = qbo.store(refresh="rt-dead", expires_in=-10)
    with pytest.raises(RefreshFailed) as raised:
        qbo.provider(store).contacts()
    assert raised.value.code == "invalid_grant"
    assert store.reauth_reason is not None and store.reauth_reason.startswith("invalid_grant")


def test_query_grammar() -> None:
    q = parse_query(
        "select count(*) from invoice where DocNumber = 'O\\'Brien' and TotalAmt >= 10 "
        "and Id IN ('1', '2') orderby TxnDate desc, Id startposition 3 maxresults 4"
    )
    assert (q.entity, q.count, q.start, q.max) == ("invoice", True, 3, 4)
    assert q.where == [
        ("DocNumber", "=", "O'Brien"),
        ("TotalAmt", ">=", "10"),
        ("Id", "IN", ["1", "2"]),
    ]
    assert q.order == [("TxnDate", True), ("Id", False)]
    for bad in (
        "SELECT Name FROM Item",
        "SELECT * FROM Item WHERE",
        "SELECT * FROM Item MAXRESULTS x",
    ):
        with pytest.raises(ValueError):
            parse_query(bad)


def test_query_values_are_case_insensitive_and_like_works(qbo: Running) -> None:
    realm = qbo.emulator.realms[ACME]
    run = qbo.emulator.run_query
    assert [r["Id"] for r in run(realm, "SELECT * FROM item WHERE sku = 'prod-001'")["Item"]] == ["20"]
    assert [r["Id"] for r in run(realm, "SELECT * FROM Customer WHERE DisplayName LIKE 'a%'")["Customer"]] == ["10"]
    assert run(realm, "SELECT COUNT(*) FROM Customer WHERE Active IN (true, false)") == {"totalCount": 5}
    assert run(realm, "SELECT * FROM Customer WHERE Active = false")["Customer"][0]["Id"] == "12"
    ordered = run(realm, "SELECT * FROM Invoice ORDERBY TxnDate DESC MAXRESULTS 2")
    assert [r["DocNumber"] for r in ordered["Invoice"]] == ["INV-1005", "INV-1004"] and ordered["maxResults"] == 2
    assert run(realm, "SELECT * FROM Invoice STARTPOSITION 50") == {}


def _queries(running: Running) -> list[str]:
    return list(running.emulator.queries)


def _posts(running: Running) -> list[tuple[str, str, dict[str, str], Any]]:
    return [r for r in running.emulator.received if r[0] == "POST"]
