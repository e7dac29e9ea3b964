"""Data scenarios over real HTTP: the demo world, altered the way real accounts break, run
through the real checks against the emulators on loopback. Each test asserts the exact
evidence of a finding and what it blocks (invoice numbers and amounts per currency).

Contacts, mappings, SKUs and sync state; both destination kinds where their rules differ
(QuickBooks Online: ':' reserved in DisplayName, US billing addresses, one "Class" tracking
category, inactive items; Xero: 255-character names, ARCHIVED contacts and accounts, item codes
without a status).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from app import build
from checks import CHECKS
from checks.context import History
from checks.findings import Finding, Severity
from checks.runner import run_integration
from demo import DEMO_WORLD, DemoEnvironment
from sandbox.server import load_world

BILL_ID = "0b111111-0000-4000-8000-000000000001"
MILTON_ID = "0b111111-0000-4000-8000-000000000002"
MILTON_TWIN_ID = "0b111111-0000-4000-8000-000000000003"
TPS_LOWER_ID = "0b222222-0000-4000-8000-000000000001"
TPS_TITLE_ID = "0b222222-0000-4000-8000-000000000002"
INI_2001_ID = "0b333333-0000-4000-8000-000000000001"
INI_2002_ID = "0b333333-0000-4000-8000-000000000002"


def day(offset: int) -> str:
    """An ISO date ``offset`` days from today (the demo world's ``{date:N}``, built in Python)."""
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def stamp(offset: int) -> str:
    """That day at 09:00 UTC, as the demo world's ``{datetime:N}``."""
    return f"{day(offset)}T09:00:00Z"


@pytest.fixture(scope="module")
def demo_world() -> dict[str, Any]:
    return load_world(DEMO_WORLD)


@pytest.fixture
def world(demo_world: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(demo_world)


def environment(world: dict[str, Any], env: dict[str, str]) -> DemoEnvironment:
    return DemoEnvironment({}, build, world=world, database_url=env["DATABASE_URL"])


def portal(world: dict[str, Any], portal_id: str) -> dict[str, Any]:
    section: dict[str, Any] = world["hubspot"]["portals"][portal_id]
    return section


def realm(world: dict[str, Any], realm_id: str = "9130350000000001") -> dict[str, Any]:
    section: dict[str, Any] = world["quickbooks"]["realms"][realm_id]
    return section


def tenant(world: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in world["xero"]["tenants"] if t["name"] == name)


def by_key(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    return next(r for r in rows if r[key] == value)


def family(findings: Iterable[Finding], prefix: str) -> dict[tuple[str, str], Finding]:
    """The findings of one family, keyed by (code, subject); duplicates would be a bug."""
    found: dict[tuple[str, str], Finding] = {}
    for f in findings:
        if f.code.startswith(prefix):
            assert f.key not in found, f.key
            found[f.key] = f
    return found


def impact(finding: Finding) -> tuple[list[str], dict[str, Decimal]]:
    """The invoices a finding blocks and their total per currency (compared as numbers: Xero
    and QuickBooks answer ``90.0`` where HubSpot and Stripe answer ``90.00``)."""
    return sorted(finding.impact.invoices), finding.impact.amounts


def usd(amount: str) -> dict[str, Decimal]:
    return {"USD": Decimal(amount)}


def nzd(amount: str) -> dict[str, Decimal]:
    return {"NZD": Decimal(amount)}


# -- contacts ---------------------------------------------------------------------------------


def test_contact_rules_quickbooks_and_xero(world: dict[str, Any], env: dict[str, str]) -> None:
    # acme: HubSpot -> QuickBooks Online (a US company: customers need a full billing address)
    hubspot = portal(world, "4411")
    qbo = realm(world)
    by_key(hubspot["contacts"], "id", "2")["email"] = "sam.carter@example.com"  # now matches exactly...
    by_key(qbo["Customer"], "Id", "21")["Active"] = False  # ...a customer made inactive
    qbo["Customer"].append(
        {
            "Id": "23",
            "DisplayName": "Ada Lovelace (Analytics)",
            "PrimaryEmailAddr": {"Address": "ada@lovelace.example"},
            "BillAddr": {"Line1": "12 Analytical Way", "City": "Springfield", "PostalCode": "62701", "Country": "US"},
        }
    )
    tom = by_key(qbo["Customer"], "Id", "22")
    tom["DisplayName"] = "Tom baker"
    del tom["BillAddr"]["PostalCode"]
    # a new customer whose name QuickBooks refuses (':' separates Parent:Child names) and whose
    # HubSpot record has no address at all
    hubspot["contacts"].append(
        {"id": "5", "company": "Hopper: Labs", "email": "ap@hopper.example", "updated": stamp(-10)}
    )
    hubspot["invoices"].append(
        {
            "id": "107",
            "number": "INV-1008",
            "status": "open",
            "currency": "USD",
            "date": day(-2),
            "modified": stamp(-2),
            "contact": "5",
            "lines": [{"product": "11", "quantity": 1, "price": "40.00", "name": "Gadget"}],
        }
    )

    # initech: HubSpot -> Xero (no address rule; names up to 255 characters, ':' allowed)
    initech = portal(world, "5522")
    xero = tenant(world, "Initech Ltd")
    bill = by_key(xero["contacts"], "Name", "Bill Lumbergh")
    bill.update(ContactID=BILL_ID, ContactStatus="ARCHIVED")
    milton = by_key(xero["contacts"], "Name", "Milton Waddams")
    milton.update(ContactID=MILTON_ID, Name="Milton Waddams.")
    xero["contacts"].append(
        {"ContactID": MILTON_TWIN_ID, "Name": "M Waddams", "EmailAddress": "milton@initech.example"}
    )
    long_first, long_last = "A" * 200, "B" * 60
    initech["contacts"] += [
        {"id": "3", "company": "Gibbons: Consulting", "email": "peter@gibbons.example", "updated": stamp(-10)},
        {
            "id": "4",
            "firstname": long_first,
            "lastname": long_last,
            "email": "long@name.example",
            "updated": stamp(-10),
        },
    ]
    initech["invoices"] += [
        {
            "id": "202",
            "number": "INI-2003",
            "status": "open",
            "currency": "NZD",
            "date": day(-2),
            "modified": stamp(-2),
            "contact": "3",
            "lines": [{"product": "10", "quantity": 1, "price": "30.00", "name": "TPS"}],
        },
        {
            "id": "203",
            "number": "INI-2004",
            "status": "open",
            "currency": "NZD",
            "date": day(-2),
            "modified": stamp(-2),
            "contact": "4",
            "lines": [{"product": "11", "quantity": 1, "price": "12.50", "name": "Stapler"}],
        },
    ]

    with environment(world, env) as demo:
        acme = family(demo.services.checks.run("acme").findings, "contact.")
        initech_found = family(demo.services.checks.run("initech").findings, "contact.")

    assert set(acme) == {
        ("contact.archived", "Sam Carter"),
        ("contact.duplicate_email", "ada@lovelace.example"),
        ("contact.name_mismatch", "Tom Baker"),
        ("contact.incomplete_address", "Tom Baker"),
        ("contact.invalid_name", "Hopper: Labs"),
        ("contact.incomplete_address", "Hopper: Labs"),
        ("contact.missing_email", "Priya Nair"),
    }

    archived = acme[("contact.archived", "Sam Carter")]
    assert archived.severity is Severity.FAIL and archived.system == "quickbooks"
    assert dict(archived.evidence) == {
        "contact": "Sam Carter",
        "contact_id": "2",
        "email": "sam.carter@example.com",
        "destination_contact": {"id": "21", "name": "Sam Carter", "email": "sam.carter@example.com", "archived": True},
    }
    assert impact(archived) == (["INV-1003"], usd("100.00"))

    duplicate = acme[("contact.duplicate_email", "ada@lovelace.example")]
    assert duplicate.severity is Severity.WARN
    assert dict(duplicate.evidence) == {
        "email": "ada@lovelace.example",
        "contact": "Ada Lovelace",
        "contact_id": "1",
        "destination_contacts": [
            {"id": "20", "name": "Ada Lovelace", "email": "ada@lovelace.example", "archived": False},
            {"id": "23", "name": "Ada Lovelace (Analytics)", "email": "ada@lovelace.example", "archived": False},
        ],
    }
    assert impact(duplicate) == (["INV-1001", "INV-1004"], usd("215.00"))

    mismatch = acme[("contact.name_mismatch", "Tom Baker")]
    assert dict(mismatch.evidence) == {
        "contact_id": "4",
        "email": "tom@bakerbuild.example",
        "source_name": "Tom Baker",
        "destination_name": "Tom baker",
        "destination_id": "22",
        "difference": ["case"],
    }
    # INV-1006 is Tom's too, but a draft: the status filter keeps it out of every impact
    assert impact(mismatch) == (["INV-1002", "INV-1007"], usd("90.00"))

    address = acme[("contact.incomplete_address", "Tom Baker")]
    assert address.system == "quickbooks"
    assert dict(address.evidence) == {
        "contact": "Tom Baker",
        "contact_id": "22",
        "side": "destination",
        "missing": ["postcode"],
        "address": {"line1": "9 Pine Rd", "city": "Springfield", "region": None, "postcode": None, "country": "US"},
    }
    assert impact(address) == (["INV-1002", "INV-1007"], usd("90.00"))

    invalid = acme[("contact.invalid_name", "Hopper: Labs")]
    assert invalid.severity is Severity.FAIL
    assert dict(invalid.evidence) == {
        "contact": "Hopper: Labs",
        "contact_id": "5",
        "email": "ap@hopper.example",
        "problems": ["contains ':'"],
        "max_length": 500,
        "length": 12,
        "suggested_name": "Hopper - Labs",
    }
    assert invalid.action is not None and invalid.action.kind == "create_contact"
    assert dict(invalid.action.params) == {"name": "Hopper - Labs", "email": "ap@hopper.example", "source_id": "5"}
    assert impact(invalid) == (["INV-1008"], usd("40.00"))

    new_address = acme[("contact.incomplete_address", "Hopper: Labs")]
    assert new_address.system == "hubspot"  # the source record is what needs the address
    assert dict(new_address.evidence) == {
        "contact": "Hopper: Labs",
        "contact_id": "5",
        "side": "source",
        "missing": ["line1", "city", "postcode", "country"],
        "address": None,
    }
    assert impact(new_address) == (["INV-1008"], usd("40.00"))

    missing = acme[("contact.missing_email", "Priya Nair")]
    assert missing.severity is Severity.WARN and missing.system == "hubspot"
    assert dict(missing.evidence) == {
        "contact": "Priya Nair",
        "contact_id": "3",
        "destination_matches_by_name": [],
        "similar_names": [],
    }
    assert impact(missing) == (["INV-1005"], usd("80.00"))

    # Xero: no address rule, ':' is fine, but 261 characters is not
    long_name = f"{long_first} {long_last}"
    assert set(initech_found) == {
        ("contact.archived", "Bill Lumbergh"),
        ("contact.duplicate_email", "milton@initech.example"),
        ("contact.name_mismatch", "Milton Waddams"),
        ("contact.invalid_name", long_name),
    }
    archived = initech_found[("contact.archived", "Bill Lumbergh")]
    assert archived.system == "xero"
    assert dict(archived.evidence) == {
        "contact": "Bill Lumbergh",
        "contact_id": "1",
        "email": "bill@initech.example",
        "destination_contact": {
            "id": BILL_ID,
            "name": "Bill Lumbergh",
            "email": "bill@initech.example",
            "archived": True,
        },
    }
    assert impact(archived) == (["INI-2001"], nzd("90.00"))

    duplicate = initech_found[("contact.duplicate_email", "milton@initech.example")]
    assert [c["id"] for c in duplicate.evidence["destination_contacts"]] == [MILTON_ID, MILTON_TWIN_ID]
    assert impact(duplicate) == (["INI-2002"], nzd("25.00"))

    mismatch = initech_found[("contact.name_mismatch", "Milton Waddams")]
    assert dict(mismatch.evidence) == {
        "contact_id": "2",
        "email": "milton@initech.example",
        "source_name": "Milton Waddams",
        "destination_name": "Milton Waddams.",
        "destination_id": MILTON_ID,
        "difference": ["punctuation"],
    }
    assert impact(mismatch) == (["INI-2002"], nzd("25.00"))

    invalid = initech_found[("contact.invalid_name", long_name)]
    assert dict(invalid.evidence) == {
        "contact": long_name,
        "contact_id": "4",
        "email": "long@name.example",
        "problems": ["longer than 255 characters"],
        "max_length": 255,
        "length": 261,
        "suggested_name": f"{long_first} {'B' * 54}",
    }
    assert invalid.action is not None and invalid.action.params["name"] == f"{long_first} {'B' * 54}"
    assert impact(invalid) == (["INI-2004"], nzd("12.50"))


# -- mappings ---------------------------------------------------------------------------------

XERO_SCOPES = [
    "offline_access",
    "accounting.transactions",
    "accounting.contacts",
    "accounting.settings",
    "accounting.transactions.read",
    "accounting.contacts.read",
    "accounting.settings.read",
]
INITECH_TENANT = "c0ffee00-0000-4000-8000-0000000017ec"


def add_ledger_integrations(world: dict[str, Any]) -> None:
    """Tracking only exists in accounting systems (HubSpot and Stripe lines carry none), so two
    ledger-to-ledger integrations reuse the demo's Xero and QuickBooks companies:
    ``xero_to_qbo`` (Initech's Xero -> Acme's QuickBooks) and ``qbo_to_xero`` (the reverse)."""
    demo = world["demo"]
    initech, acme = demo["integrations"]["initech"], demo["integrations"]["acme"]
    demo["integrations"]["xero_to_qbo"] = {
        "source": dict(initech["destination"]),
        "destination": dict(acme["destination"]),
        "mappings": {"default_account": "4000", "tracking": {"Region": "Class"}},
    }
    demo["integrations"]["qbo_to_xero"] = {
        "source": dict(acme["destination"]),
        "destination": dict(initech["destination"]),
        "mappings": {"default_account": "200", "tracking": {"Class": "Cost centre"}},
    }
    creds = demo["credentials"]
    creds["xero_to_qbo"] = {
        "source": dict(creds["initech"]["destination"]),
        "destination": dict(creds["acme"]["destination"]),
    }
    creds["qbo_to_xero"] = {
        "source": dict(creds["acme"]["destination"]),
        "destination": dict(creds["initech"]["destination"]),
    }


def test_mapping_rules_quickbooks_and_xero(world: dict[str, Any], env: dict[str, str]) -> None:
    integrations = world["demo"]["integrations"]
    # acme (-> QuickBooks): the default account was never created; the default tax code is inactive
    integrations["acme"]["mappings"] = {"default_account": "4100", "default_tax": "TAX"}
    qbo = realm(world)
    qbo["TaxCode"] = [{"Id": "2", "Name": "TAX", "Active": False}, {"Id": "3", "Name": "NON"}]
    qbo["Class"] = [{"Id": "100", "Name": "North", "Active": False}, {"Id": "101", "Name": "South"}]
    # initech (-> Xero): the sales account was archived; the default tax type is not Xero's
    integrations["initech"]["mappings"] = {"default_account": "200", "default_tax": "OUTPUT3"}
    xero = tenant(world, "Initech Ltd")
    by_key(xero["accounts"], "Code", "200")["Status"] = "ARCHIVED"
    xero["tracking_categories"] = [
        {"Name": "Region", "Status": "ACTIVE", "Options": [{"Name": "North", "Status": "ACTIVE"}]}
    ]
    # bluegum (Stripe -> Xero): a Stripe tax rate on a line, with no tax mapping at all
    stripe = world["stripe"]["accounts"]["acct_bluegum"]
    stripe["tax_rates"] = [
        {
            "id": "txr_gst",
            "display_name": "GST",
            "percentage": 10,
            "inclusive": True,
            "active": True,
            "country": "AU",
            "tax_type": "gst",
        }
    ]
    by_key(stripe["invoices"], "id", "in_bg0102")["lines"][0]["tax_rates"] = ["txr_gst"]
    # tracking on the ledgers' own lines
    add_ledger_integrations(world)
    ini_2001 = by_key(xero["invoices"], "InvoiceNumber", "INI-2001")
    ini_2001["LineItems"][0]["Tracking"] = [{"Name": "Region", "Option": "North"}]
    ini_2002 = by_key(xero["invoices"], "InvoiceNumber", "INI-2002")
    ini_2002["LineItems"][0]["Tracking"] = [{"Name": "Department", "Option": "Sales"}]
    inv_1001 = by_key(qbo["Invoice"], "Id", "40")
    inv_1001["Line"][0]["SalesItemLineDetail"]["ClassRef"] = {"value": "101"}

    with environment(world, env) as demo:
        runs = {
            name: family(demo.services.checks.run(name).findings, "mapping.")
            for name in ("acme", "initech", "bluegum", "xero_to_qbo", "qbo_to_xero")
        }

    acme, initech, bluegum = runs["acme"], runs["initech"], runs["bluegum"]
    every_acme_invoice = (["INV-1001", "INV-1002", "INV-1003", "INV-1004", "INV-1005", "INV-1007"], usd("485.00"))

    # HubSpot lines carry no account code: the default account is the one that must exist
    account = acme[("mapping.account_code", "4100")]
    assert account.severity is Severity.FAIL and account.system == "quickbooks"
    assert dict(account.evidence) == {
        "code": "4100",
        "source_codes": [],
        "mapping": ["default_account"],
        "lines": 8,
        "reason": "unknown",
        "suggestions": ["4000"],
    }
    assert impact(account) == every_acme_invoice
    # QuickBooks lines name a TaxCode by Id; a code configured by name is found by name
    tax = acme[("mapping.tax_code", "TAX")]
    assert dict(tax.evidence) == {
        "code": "TAX",
        "source_codes": [],
        "mapping": ["default_tax"],
        "lines": 8,
        "reason": "archived",
        "tax_name": "TAX",
        "status": "archived",
    }
    assert impact(tax) == every_acme_invoice
    assert set(acme) == {("mapping.account_code", "4100"), ("mapping.tax_code", "TAX")}

    account = initech[("mapping.account_code", "200")]
    assert account.system == "xero"
    assert dict(account.evidence) == {
        "code": "200",
        "source_codes": [],
        "mapping": ["default_account"],
        "lines": 2,
        "reason": "archived",
        "account_name": "Sales",
        "status": "archived",
    }
    assert impact(account) == (["INI-2001", "INI-2002"], nzd("115.00"))
    tax = initech[("mapping.tax_code", "OUTPUT3")]
    assert dict(tax.evidence) == {
        "code": "OUTPUT3",
        "source_codes": [],
        "mapping": ["default_tax"],
        "lines": 2,
        "reason": "unknown",
        "suggestions": ["OUTPUT"],
    }
    assert impact(tax) == (["INI-2001", "INI-2002"], nzd("115.00"))
    assert set(initech) == {("mapping.account_code", "200"), ("mapping.tax_code", "OUTPUT3")}

    # a Stripe tax rate id used as it is, with no mapping: "unmapped", not "unknown"
    tax = bluegum[("mapping.tax_code", "txr_gst")]
    assert tax.severity is Severity.FAIL
    assert dict(tax.evidence) == {
        "code": "txr_gst",
        "source_codes": ["txr_gst"],
        "mapping": [],
        "lines": 1,
        "reason": "unmapped",
        "suggestions": [],
    }
    assert impact(tax) == (["BG-0102"], {"AUD": Decimal("1899.00")})

    # QuickBooks has one tracking category, "Class": a mapped option it holds only inactive,
    # and a category never mapped to it
    to_qbo = runs["xero_to_qbo"]
    option = to_qbo[("mapping.tracking", "Class: North")]
    assert option.severity is Severity.FAIL and option.system == "quickbooks"
    assert dict(option.evidence) == {
        "category": "Class",
        "source_categories": ["Region"],
        "mapping": ["tracking"],
        "option": "North",
        "reason": "archived_option",
        "options": ["South"],
    }
    assert impact(option) == (["INI-2001"], nzd("90.00"))
    category = to_qbo[("mapping.tracking", "Department")]
    assert dict(category.evidence) == {
        "category": "Department",
        "source_categories": ["Department"],
        "mapping": [],
        "reason": "unmapped_category",
        "categories": ["Class"],
        "options_used": ["Sales"],
    }
    assert impact(category) == (["INI-2002"], nzd("25.00"))
    # Xero: the categories are the organisation's own; the mapped one does not exist there
    to_xero = runs["qbo_to_xero"]
    category = to_xero[("mapping.tracking", "Cost centre")]
    assert category.system == "xero"
    assert dict(category.evidence) == {
        "category": "Cost centre",
        "source_categories": ["Class"],
        "mapping": ["tracking"],
        "reason": "unknown_category",
        "categories": ["Region"],
        "options_used": ["South"],
    }
    assert impact(category) == (["INV-1001"], usd("50.00"))
    assert {key for key in to_qbo if key[0] == "mapping.tracking"} == {
        ("mapping.tracking", "Class: North"),
        ("mapping.tracking", "Department"),
    }
    assert {key for key in to_xero if key[0] == "mapping.tracking"} == {("mapping.tracking", "Cost centre")}


# -- SKUs and sync state ----------------------------------------------------------------------


def test_sku_and_sync_rules_quickbooks_and_xero(world: dict[str, Any], env: dict[str, str]) -> None:
    qbo = realm(world)
    qbo["Item"].append(
        {
            "Id": "33",
            "Name": "Widget (old)",
            "Sku": "PROD-001",
            "Type": "Service",
            "UnitPrice": 25,
            "IncomeAccountRef": {"value": "1"},
        }
    )
    by_key(qbo["Item"], "Id", "31")["Active"] = False
    xero = tenant(world, "Initech Ltd")
    by_key(xero["items"], "Code", "TPS-1").update(Code="tps-1", ItemID=TPS_LOWER_ID)
    xero["items"].append(
        {
            "ItemID": TPS_TITLE_ID,
            "Code": "Tps-1",
            "Name": "TPS review (old)",
            "SalesDetails": {"UnitPrice": 30.00, "AccountCode": "200"},
        }
    )

    by_key(qbo["Invoice"], "Id", "40")["Balance"] = 50
    inv_1002 = by_key(qbo["Invoice"], "Id", "41")
    inv_1002["Balance"] = 0
    inv_1002["MetaData"] = {"CreateTime": stamp(-7), "LastUpdatedTime": stamp(-7)}
    for copy_id in ("42", "43"):
        qbo["Invoice"].append(
            {
                "Id": copy_id,
                "DocNumber": "INV-1005",
                "TxnDate": day(-3),
                "CustomerRef": {"value": "20"},
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "Description": "Gadget",
                        "SalesItemLineDetail": {"ItemRef": {"value": "32"}, "Qty": 2, "UnitPrice": 40},
                    }
                ],
            }
        )
    xero["organisation"]["PeriodLockDate"] = day(-3)
    ini_2001 = by_key(xero["invoices"], "InvoiceNumber", "INI-2001")
    ini_2001.update(InvoiceID=INI_2001_ID, Status="AUTHORISED", UpdatedDateUTC=stamp(-7))
    ini_2001["LineItems"][0]["UnitAmount"] = 29.00
    ini_2002 = by_key(xero["invoices"], "InvoiceNumber", "INI-2002")
    ini_2002["InvoiceID"] = INI_2002_ID
    ini_2002["LineItems"][0]["UnitAmount"] = 12.00
    failed_at = datetime.now(UTC) - timedelta(days=1)

    with environment(world, env) as demo:
        checks = demo.services.checks
        acme = [f for f in checks.run("acme").findings if f.code.startswith(("sku.", "sync."))]
        initech = [f for f in checks.run("initech").findings if f.code.startswith(("sku.", "sync."))]
        integration = checks.get("acme")
        # Permanently failed pushes come from stored action history; the providers still talk
        # to the emulators through the service's own factory.
        history = History(
            failed_actions=[
                {
                    "number": "INV-1003",
                    "error": "Duplicate Document Number Error",
                    "attempts": 3,
                    "at": failed_at - timedelta(days=1),
                },
                {
                    "number": "INV-1003",
                    "error": "Business Validation Error: Item PROD-002 is inactive",
                    "attempts": 3,
                    "at": failed_at,
                },
                {"number": "INV-1001", "error": "timed out", "attempts": 3, "at": failed_at},  # has landed since
                {"number": "INV-0999", "error": "Invalid Reference Id", "attempts": 2, "at": failed_at.isoformat()},
            ]
        )
        failed = family(
            run_integration(integration, CHECKS, checks.provider_factory(integration), history=history).findings,
            "sync.failed",
        )
    acme_found, initech_found = family(acme, ""), family(initech, "")

    # QuickBooks: two active items share the Sku; another is inactive
    ambiguous = acme_found[("sku.ambiguous", "PROD-001")]
    assert ambiguous.severity is Severity.FAIL and ambiguous.system == "quickbooks"
    assert dict(ambiguous.evidence) == {
        "sku": "PROD-001",
        "reason": "same_code",
        "lines": 3,
        "source_item": {"id": "10", "name": "Widget"},
        "items": [
            {"id": "30", "code": "PROD-001", "name": "Widget", "active": True},
            {"id": "33", "code": "PROD-001", "name": "Widget (old)", "active": True},
        ],
    }
    assert impact(ambiguous) == (["INV-1001", "INV-1002", "INV-1003"], usd("215.00"))
    archived = acme_found[("sku.archived", "PROD-002")]
    assert archived.severity is Severity.FAIL
    assert dict(archived.evidence) == {
        "sku": "PROD-002",
        "item": {"id": "31", "code": "PROD-002", "name": "Gadget", "active": False},
        "lines": 2,
        "source_item": {"id": "11", "name": "Gadget"},
    }
    assert impact(archived) == (["INV-1002", "INV-1005"], usd("145.00"))
    # Xero codes have no status; two items differing only in case leave the sync no exact match
    ambiguous = initech_found[("sku.ambiguous", "TPS-1")]
    assert ambiguous.system == "xero"
    assert dict(ambiguous.evidence) == {
        "sku": "TPS-1",
        "reason": "case_variants",
        "lines": 1,
        "source_item": {"id": "10", "name": "TPS report review"},
        "items": [
            {"id": TPS_TITLE_ID, "code": "Tps-1", "name": "TPS review (old)", "active": True},
            {"id": TPS_LOWER_ID, "code": "tps-1", "name": "TPS report review", "active": True},
        ],
    }
    assert impact(ambiguous) == (["INI-2001"], nzd("90.00"))

    duplicate = acme_found[("sync.duplicate", "INV-1005")]
    assert duplicate.severity is Severity.FAIL
    assert dict(duplicate.evidence) == {
        "number": "INV-1005",
        "voided_copies": 0,
        "copies": [
            {"id": "42", "number": "INV-1005", "status": "open", "total": "80.00", "date": day(-3)},
            {"id": "43", "number": "INV-1005", "status": "open", "total": "80.00", "date": day(-3)},
        ],
    }
    assert impact(duplicate) == (["INV-1005"], usd("80.00"))

    # QuickBooks: INV-1002 was paid there before HubSpot changed it, so the update is refused
    refused = acme_found[("sync.not_editable", "INV-1002")]
    assert refused.severity is Severity.WARN
    assert dict(refused.evidence) == {
        "number": "INV-1002",
        "destination_id": "41",
        "differences": {"total": {"source": "65.00", "destination": "40.00"}, "lines": {"source": 2, "destination": 1}},
        "destination_status": "paid",
        "reason": "paid",
        "lock_date": None,
        "source_updated_at": f"{day(-6)}T09:00:00+00:00",
        "destination_updated_at": f"{day(-7)}T09:00:00+00:00",
    }
    assert impact(refused) == (["INV-1002"], usd("65.00"))
    assert ("sync.drift", "INV-1002") not in acme_found  # reported as not editable instead
    paid_there = acme_found[("sync.payment_drift", "INV-1002")]
    assert dict(paid_there.evidence) == {
        "number": "INV-1002",
        "destination_id": "41",
        "paid_in": "destination",
        "source_status": "open",
        "destination_status": "paid",
        "source_amount_paid": None,
        "destination_amount_paid": "40.00",
    }
    paid_here = acme_found[("sync.payment_drift", "INV-1001")]
    assert paid_here.severity is Severity.WARN
    assert dict(paid_here.evidence) == {
        "number": "INV-1001",
        "destination_id": "40",
        "paid_in": "source",
        "source_status": "paid",
        "destination_status": "open",
        "source_amount_paid": None,
        "destination_amount_paid": "0.00",
    }
    assert impact(paid_here) == (["INV-1001"], usd("50.00"))

    # Xero: INI-2001 is dated inside the lock date, INI-2002 after it
    locked = initech_found[("sync.not_editable", "INI-2001")]
    assert dict(locked.evidence) == {
        "number": "INI-2001",
        "destination_id": INI_2001_ID,
        "differences": {
            "total": {"source": "90.00", "destination": "87.00"},
            "line_amounts": {"source": ["90.00"], "destination": ["87.00"]},
        },
        "destination_status": "open",
        "reason": "locked",
        "lock_date": day(-3),
        "source_updated_at": f"{day(-6)}T09:00:00+00:00",
        "destination_updated_at": f"{day(-7)}T09:00:00+00:00",
    }
    assert impact(locked) == (["INI-2001"], nzd("90.00"))
    assert initech_found[("sync.payment_drift", "INI-2001")].evidence["paid_in"] == "source"
    drift = initech_found[("sync.drift", "INI-2002")]
    assert drift.severity is Severity.WARN and drift.system == "xero"
    assert dict(drift.evidence) == {
        "number": "INI-2002",
        "destination_id": INI_2002_ID,
        "fields": ["line_amounts", "total"],
        "differences": {
            "total": {"source": "25.00", "destination": "24.00"},
            "line_amounts": {"source": ["25.00"], "destination": ["24.00"]},
        },
    }
    assert impact(drift) == (["INI-2002"], nzd("25.00"))
    assert {k for k in initech_found if k[0].startswith("sync.")} == {
        ("sync.not_editable", "INI-2001"),
        ("sync.payment_drift", "INI-2001"),
        ("sync.drift", "INI-2002"),
    }

    # sync.failed: only from action history, the newest failure per invoice, none once landed
    assert not any(f.code == "sync.failed" for f in acme)
    assert set(failed) == {("sync.failed", "INV-1003"), ("sync.failed", "INV-0999")}
    newest = failed[("sync.failed", "INV-1003")]
    assert newest.severity is Severity.FAIL and newest.system == "quickbooks"
    assert dict(newest.evidence) == {
        "number": "INV-1003",
        "error": "Business Validation Error: Item PROD-002 is inactive",
        "attempts": 3,
        "at": failed_at.isoformat(),
        "in_source": True,
    }
    assert impact(newest) == (["INV-1003"], usd("100.00"))
    assert newest.action is not None and newest.action.kind == "resync"
    assert dict(newest.action.params) == {"numbers": "INV-1003"}
    gone = failed[("sync.failed", "INV-0999")]
    assert dict(gone.evidence) == {
        "number": "INV-0999",
        "error": "Invalid Reference Id",
        "attempts": 2,
        "at": failed_at.isoformat(),
        "in_source": False,
    }
    assert impact(gone) == ([], {})
