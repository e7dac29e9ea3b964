"""MYOB contract: the client's requests and the emulator's answers against the shapes MYOB
documents. MYOB publishes no machine-readable spec (specs/myob/README.md), so the facts of
/work/notes/zoho_myob.md section 2 are the contract, each with its source:

[M-AUTH] developer.myob.com .../authentication   [M-V2] .../accountright/v2   [M-RD] retrieving
data (paging)   [M-ERR] error messages   [M-CF] company files   [M-INVI] invoice item
[M-NEWINV] apisupport "creating a new invoice"   [M-ITEM] inventory item   [M-CUR] currency
[M-GUID] apisupport "company file GUIDs post March 2025"   [SDK] myob-oss AccountRight .NET SDK
(MYOB's own: field names, the Errors wrapper, PagedCollection, 201 + Location).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest

from providers.records import Contact, Invoice, InvoiceLine, InvoiceStatus, Item
from tests.contract.shapes import NUMBER, ListOf, Recorder, Shape, problems
from tests.providers.test_myob import FILE, KEY, Running, world

LINK = Shape(
    {"UID": str}, {"URI": str, "Name": str, "DisplayID": str, "Number": str, "Code": str, "CurrencyName": str}
)  # [SDK] BaseLink and its named forms
ERROR_ITEM = Shape(
    {"Name": str, "Message": str, "Severity": str},  # [M-ERR], [SDK] Error.cs
    {"AdditionalDetails": str, "ErrorCode": int, "LearnMore": str},
)
ERRORS = Shape({"Errors": ListOf(ERROR_ITEM)}, {"Information": str})  # [SDK] ErrorList
PAGED = {"Items": list}, {"NextPageLink": str, "Count": int}  # [SDK] PagedCollection
COMPANY_FILE = Shape(
    {"Id": str, "Name": str, "Uri": str, "ProductLevel": Shape({"Code": int, "Name": str})},  # [M-CF], [SDK]
    {
        "LibraryPath": str,
        "ProductVersion": str,
        "LauncherId": str,
        "SerialNumber": str,
        "Country": str,
        "UIAccessFlags": int,
        "CheckedOutDate": str,
        "CheckedOutBy": str,
        "Subscription": Shape({}, {"IsTrial": bool, "Product": Shape(open=True)}),
    },
)
CUSTOMER = Shape(
    {"UID": str, "IsIndividual": bool, "IsActive": bool},  # [SDK] Contact/Customer
    {
        "DisplayID": str,
        "CompanyName": str,
        "FirstName": str,
        "LastName": str,
        "Notes": str,
        "CurrentBalance": NUMBER,
        "Addresses": ListOf(
            Shape(
                {"Location": int},
                {
                    "Street": str,
                    "City": str,
                    "State": str,
                    "PostCode": str,
                    "Country": str,
                    "Phone1": str,
                    "Email": str,
                    "Website": str,
                    "ContactName": str,
                },
            )
        ),
        "SellingDetails": Shape(open=True),
        "ForeignCurrency": LINK,
        "RowVersion": str,
        "LastModified": str,
        "URI": str,
    },
)
ITEM = Shape(
    {"UID": str, "Number": str, "Name": str, "IsActive": bool},  # [M-ITEM]
    {
        "Description": str,
        "UseDescription": bool,
        "IsBought": bool,
        "IsSold": bool,
        "IsInventoried": bool,
        "BaseSellingPrice": NUMBER,
        "IncomeAccount": LINK,
        "CostOfSalesAccount": LINK,
        "AssetAccount": LINK,
        "ExpenseAccount": LINK,
        "SellingDetails": Shape(
            {},
            {
                "BaseSellingPrice": NUMBER,
                "SellingUnitOfMeasure": str,
                "ItemsPerSellingUnit": int,
                "TaxCode": LINK,
                "IsTaxInclusive": bool,
                "CalculateSalesTaxOn": str,
            },
        ),
        "RowVersion": str,
        "LastModified": str,
        "URI": str,
    },
)
ACCOUNT = Shape(
    {"UID": str, "DisplayID": str, "Name": str},  # [SDK] GeneralLedger/Account
    {
        "Number": int,
        "Classification": str,
        "Type": str,
        "IsActive": bool,
        "IsHeader": bool,
        "Level": int,
        "ParentAccount": LINK,
        "TaxCode": LINK,
        "CurrentBalance": NUMBER,
        "RowVersion": str,
        "URI": str,
    },
)
TAX_CODE = Shape(
    {"UID": str, "Code": str},  # [SDK] GeneralLedger/TaxCode
    {"Description": str, "Type": str, "Rate": NUMBER, "IsRateNegative": bool, "RowVersion": str, "URI": str},
)
CURRENCY = Shape(
    {"UID": str, "Code": str}, {"CurrencyName": str, "CurrencyRate": NUMBER, "RowVersion": str, "URI": str}
)  # [M-CUR]
JOB = Shape(
    {"UID": str, "Number": str},
    {
        "Name": str,
        "Description": str,
        "IsHeader": bool,
        "IsActive": bool,
        "ParentJob": LINK,
        "RowVersion": str,
        "URI": str,
    },
)  # [SDK]
CATEGORY = Shape(
    {"UID": str, "Name": str}, {"DisplayID": str, "Description": str, "IsActive": bool, "RowVersion": str, "URI": str}
)  # [SDK]
LINE = Shape(
    {"Type": str},  # Transaction | Header | SubTotal [SDK]
    {
        "RowID": int,
        "Description": str,
        "ShipQuantity": NUMBER,
        "UnitCount": NUMBER,
        "UnitPrice": NUMBER,
        "DiscountPercent": NUMBER,
        "Total": NUMBER,
        "Item": LINK,
        "Account": LINK,
        "Job": LINK,
        "TaxCode": LINK,
        "RowVersion": str,
    },
)
INVOICE = Shape(
    {"UID": str, "Number": str, "Date": str, "Customer": LINK, "Status": str, "TotalAmount": NUMBER},  # [M-INVI]
    {
        "CustomerPurchaseOrderNumber": str,
        "PromisedDate": str,
        "BalanceDueAmount": NUMBER,
        "Lines": ListOf(LINE),
        "IsTaxInclusive": bool,
        "Subtotal": NUMBER,
        "Freight": NUMBER,
        "TotalTax": NUMBER,
        "Category": LINK,
        "Comment": str,
        "JournalMemo": str,
        "ForeignCurrency": LINK,
        "CurrencyExchangeRate": NUMBER,
        "InvoiceType": str,
        "LastPaymentDate": str,
        "RowVersion": str,
        "LastModified": str,
        "URI": str,
    },
)
PAYMENT = Shape(
    {
        "UID": str,
        "Customer": LINK,
        "Date": str,
        "AmountReceived": NUMBER,  # [SDK] Sale/CustomerPayment
        "Invoices": ListOf(
            Shape(
                {"UID": str, "AmountApplied": NUMBER},
                {"RowID": int, "Number": str, "Type": str, "Uri": str, "AmountAppliedForeign": NUMBER},
            )
        ),
    },
    {
        "DepositTo": str,
        "Account": LINK,
        "ReceiptNumber": str,
        "PaymentMethod": str,
        "Memo": str,
        "ForeignCurrency": LINK,
        "RowVersion": str,
        "LastModified": str,
    },
)
COLLECTIONS = {
    "Contact/Customer": CUSTOMER,
    "Inventory/Item": ITEM,
    "GeneralLedger/Account": ACCOUNT,
    "GeneralLedger/TaxCode": TAX_CODE,
    "GeneralLedger/Currency": CURRENCY,
    "GeneralLedger/Job": JOB,
    "GeneralLedger/Category": CATEGORY,
    "Sale/Invoice/Item": INVOICE,
    "Sale/Invoice/Service": INVOICE,
    "Sale/CustomerPayment": PAYMENT,
}
# POST bodies: [M-NEWINV] required Date, Customer.UID and per line Item.UID, quantity, Total,
# TaxCode.UID; [M-ITEM] item; [SDK] customer
REF = Shape({"UID": str})
INVOICE_BODY = Shape(
    {
        "Date": str,
        "Customer": REF,
        "Lines": ListOf(
            Shape(
                {"Type": str, "Item": REF, "ShipQuantity": NUMBER, "Total": NUMBER, "TaxCode": REF},
                {"UnitPrice": NUMBER, "Description": str, "Job": REF},
            )
        ),
    },
    {"Number": str, "IsTaxInclusive": bool, "CustomerPurchaseOrderNumber": str, "PromisedDate": str, "Category": REF},
)
ITEM_BODY = Shape(
    {"Number": str, "Name": str, "IsSold": bool, "IncomeAccount": REF},
    {
        "IsActive": bool,
        "Description": str,
        "SellingDetails": Shape({}, {"TaxCode": REF, "BaseSellingPrice": NUMBER, "IsTaxInclusive": bool}),
    },
)
CUSTOMER_BODY = Shape(
    {"IsIndividual": bool},
    {
        "CompanyName": str,
        "FirstName": str,
        "LastName": str,
        "IsActive": bool,
        "DisplayID": str,
        "Addresses": ListOf(
            Shape(
                {"Location": int},
                {"Email": str, "Street": str, "City": str, "State": str, "PostCode": str, "Country": str},
            )
        ),
    },
)


@pytest.fixture
def myob() -> Iterator[tuple[Running, Recorder]]:
    running = Running(world())
    recorder = Recorder()
    yield running, recorder
    recorder.close()
    running.server.stop()


def api(recorder: Recorder) -> list[httpx.Request]:
    return [r for r in recorder.requests if r.url.path.startswith("/accountright/")]


def test_every_request_carries_the_key_the_version_the_token_and_the_sign_in(myob: tuple[Running, Recorder]) -> None:
    running, recorder = myob
    p = running.provider(transport=recorder, page_size=5000)
    p.org_info()
    p.invoices(since=date(2024, 5, 1))
    p.find_invoice("00000101")
    for request in api(recorder):
        headers = request.headers
        assert headers["x-myobapi-key"] == KEY and headers["x-myobapi-version"] == "v2"  # [M-V2], [SDK]
        assert headers["Authorization"].startswith("Bearer ")
        assert base64.b64decode(headers["x-myobapi-cftoken"]).decode() == "Administrator:s3cret"  # [M-AUTH]
        assert request.url.path.startswith(f"/accountright/{FILE}")  # {cf_uri} = .../{businessId} [M-SC]
        params = request.url.params
        if "$top" in params:
            assert int(params["$top"]) <= 1000 and "$skip" in params  # [M-RD]
    filters = [r.url.params["$filter"] for r in api(recorder) if "$filter" in r.url.params]
    assert "Date ge datetime'2024-05-01T00:00:00' or LastModified ge datetime'2024-05-01T00:00:00'" in filters
    assert "Number eq '00000101'" in filters  # OData string literal [PYMYOB build_value]


def test_answers_have_the_documented_shapes(myob: tuple[Running, Recorder]) -> None:
    running, _ = myob
    running.emulator.per_second_limit = 1000  # this test calls without a client-side limiter
    headers = {
        "Authorization": "Bearer at-my",
        "x-myobapi-key": KEY,
        "x-myobapi-version": "v2",
        "x-myobapi-cftoken": base64.b64encode(b"Administrator:s3cret").decode(),
    }
    with httpx.Client(base_url=f"{running.url}/accountright/{FILE}", headers=headers) as client:
        root = client.get("/", params={"$expand": "Subscription"}).json()
        assert problems(root["CompanyFile"], COMPANY_FILE, "CompanyFile") == []
        assert root["CompanyFile"]["Subscription"] is not None
        assert client.get("/").json()["CompanyFile"]["Subscription"] is None  # only with $expand [M-CF]
        prefs = client.get("/Company/Preferences").json()
        assert {"CategoryTracking", "LockPeriodPriorTo"} <= set(prefs["System"])  # [M-PREF]
        for path, shape in COLLECTIONS.items():
            page = client.get(f"/{path}").json()
            assert problems(page, Shape(*PAGED), path) == []
            assert page["Items"], path
            assert problems(page["Items"], ListOf(shape), path) == []
        paged = client.get("/Contact/Customer", params={"$top": 1}).json()
        assert paged["NextPageLink"].endswith("%24top=1&%24skip=1") and paged["Count"] == 2
        # every error is the Errors envelope [SDK], throttling a 403 RateLimitError [M-ERR]
        running.emulator.faults.rate_limit = 1
        throttled = client.get("/Inventory/Item")
        assert throttled.status_code == 403 and problems(throttled.json(), ERRORS, "403") == []
        assert throttled.json()["Errors"][0] == {
            "Name": "RateLimitError",
            "Message": "API key has exceeded the per-second rate limit",
            "AdditionalDetails": "Header: x-myobapi-key",
            "ErrorCode": None,
            "Severity": "Error",
            "LearnMore": throttled.json()["Errors"][0]["LearnMore"],
        }
        inactive = client.get("/Inventory/Item", headers={"x-myobapi-key": "nope"})
        assert inactive.status_code == 403 and inactive.json()["Errors"][0]["Name"] == "DeveloperInactive"
        required = client.post("/Sale/Invoice/Item", json={"Customer": {"UID": "x"}})
        assert required.status_code == 400 and required.json()["Errors"][0]["ErrorCode"] == 100  # Required
        assert required.json()["Errors"][0]["Message"] == "Date is required"
        assert client.post("/Sale/Invoice", json={}).status_code == 405  # GET only [M-NEWINV]


def test_writes_send_the_documented_bodies_and_read_201_with_location(myob: tuple[Running, Recorder]) -> None:
    running, recorder = myob
    p = running.provider(transport=recorder)
    oak = next(c for c in p.contacts() if c.name == "Oakridge Builders")
    made = p.push_invoice(
        Invoice(
            id="s",
            number="SD77",
            status=InvoiceStatus.OPEN,
            currency="AUD",
            total=Decimal(25),
            contact_id=oak.id,
            issue_date=date(2024, 6, 1),
            lines=(InvoiceLine(sku="PIPE-15", unit_amount=Decimal(25), amount=Decimal(25), tax_code="GST"),),
        ),
        idempotency_key="k",
    )
    p.create_item(Item(id="", code="NEW-1", name="New", account_code="4-1000", tax_code="GST"), idempotency_key="i")
    p.create_contact(Contact(id="", name="New Co", email="ap@new.example"), idempotency_key="c")
    posts = {r.url.path.removeprefix(f"/accountright/{FILE}/"): r for r in api(recorder) if r.method == "POST"}
    assert set(posts) == {"Sale/Invoice/Item", "Inventory/Item", "Contact/Customer"}
    for path, shape in (
        ("Sale/Invoice/Item", INVOICE_BODY),
        ("Inventory/Item", ITEM_BODY),
        ("Contact/Customer", CUSTOMER_BODY),
    ):
        assert posts[path].url.params["returnBody"] == "true"  # [SDK], [PYMYOB]
        assert problems(json.loads(posts[path].content), shape, path) == []
    assert made.created and len(made.id) == 36
    # the answer: 201 with the new entity's URI in Location [SDK]
    headers = dict(posts["Sale/Invoice/Item"].headers)
    again = httpx.post(
        str(posts["Sale/Invoice/Item"].url.copy_remove_param("returnBody")),
        headers=headers,
        content=posts["Sale/Invoice/Item"].content.replace(b"SD77", b"SD78"),
    )
    assert again.status_code == 201 and again.content == b""
    assert again.headers["Location"].startswith(f"{running.url}/accountright/{FILE}/Sale/Invoice/Item/")


def test_token_requests_and_answers(myob: tuple[Running, Recorder]) -> None:
    running, recorder = myob
    store = running.store(expires_in=-5)
    running.provider(store, transport=recorder).probe()
    [token] = [r for r in recorder.requests if r.url.path == "/oauth2/v1/authorize"]
    form = {k: v[0] for k, v in parse_qs(token.content.decode()).items()}
    assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"  # [SDK] OAuthRequestHandler
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-my",
        "client_id": KEY,
        "client_secret": "myob-secret",
    }
    assert httpx.post(token.url, data=form).status_code == 400  # rotated: the old refresh token is dead
    creds = store.load()
    assert creds is not None and creds.refresh_token not in (None, "rt-my")
    answer = httpx.post(token.url, data={**form, "refresh_token": creds.refresh_token})
    fresh = Shape({"access_token": str, "token_type": str, "refresh_token": str, "expires_in": int, "scope": str})
    assert problems(answer.json(), fresh, "token") == []  # [SDK] OAuthTokens
    assert 1190 <= answer.json()["expires_in"] <= 1200  # 20 minutes (UNCONFIRMED officially; the default)
