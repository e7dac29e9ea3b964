"""A small two-integration world for the bot's end-to-end tests and the ack benchmark.

``acme``: HubSpot portal 4711 -> Xero "Acme Ltd": every invoice synced, items and contacts
matching (healthy). ``globex``: HubSpot portal 4712 -> Xero "Globex": INV-2000 synced
yesterday, but INV-2001 sells ``PROD-404``, which Globex's Xero does not have, so it never
arrived (``sku.missing`` and ``sync.unsynced``, both ``fail``, both blocking INV-2001).
``initech``: twenty invoices, each selling an item Initech's Xero lacks: a result too long for
one Slack message.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from service.container import Services

ACME_TENANT = "6a1c0e4e-0000-4000-8000-0000000000a1"
GLOBEX_TENANT = "6a1c0e4e-0000-4000-8000-0000000000b2"
XERO_SCOPES = ["offline_access", "accounting.transactions", "accounting.contacts", "accounting.settings"]
HUBSPOT_SCOPES = [
    "crm.objects.contacts.read",
    "crm.objects.invoices.read",
    "e-commerce",
    "crm.objects.line_items.read",
    "crm.objects.products.read",
    "oauth",
]
ACME_KEY = "pat-na1-acme-0000-1111-2222"
GLOBEX_KEY = "pat-na1-globex-0000-1111-2222"
INITECH_KEY = "pat-na1-initech-0000-1111-2222"
INITECH_TENANT = "6a1c0e4e-0000-4000-8000-0000000000c3"


def _days_ago(n: int) -> str:
    return (datetime.now(UTC) - timedelta(days=n)).date().isoformat()


def _stamp(n: int) -> str:
    return (datetime.now(UTC) - timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _portal(name: str, email: str, invoices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "account": {
            "accountType": "STANDARD",
            "companyCurrency": "NZD",
            "timeZone": "Pacific/Auckland",
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
            "utcOffset": "+12:00",
        },
        "hub_domain": f"{name.lower()}.example",
        "contacts": [
            {
                "id": "1",
                "firstname": "Ada",
                "lastname": "Lovelace",
                "email": email,
                "company": f"{name} Customer",
                "address": "1 Main St",
                "city": "Wellington",
                "zip": "6011",
                "country": "NZ",
                "updated": _stamp(20),
            },
        ],
        "products": [
            {"id": "10", "name": "Widget", "price": "25.00", "hs_sku": "PROD-001"},
            {"id": "11", "name": "Gadget", "price": "40.00", "hs_sku": "PROD-404"},
        ],
        "invoices": invoices,
    }


def _xero_tenant(tenant_id: str, name: str, email: str, invoices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": tenant_id,
        "name": name,
        "organisation": {"BaseCurrency": "NZD", "CountryCode": "NZ", "Class": "STANDARD"},
        "contacts": [
            {
                "Name": "Ada Lovelace",
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "EmailAddress": email,
                "Addresses": [
                    {
                        "AddressType": "POBOX",
                        "AddressLine1": "1 Main St",
                        "City": "Wellington",
                        "PostalCode": "6011",
                        "Country": "NZ",
                    }
                ],
            },
        ],
        "items": [
            {
                "Code": "PROD-001",
                "Name": "Widget",
                "SalesDetails": {"UnitPrice": 25, "AccountCode": "200", "TaxType": "NONE"},
            }
        ],
        "invoices": invoices,
    }


def _xero_invoice(number: str, customer: str, days: int, qty: int = 2) -> dict[str, Any]:
    return {
        "InvoiceNumber": number,
        "Type": "ACCREC",
        "Contact": {"Name": customer},
        "Date": _days_ago(days),
        "DueDate": _days_ago(days - 14),
        "Status": "AUTHORISED",
        "CurrencyCode": "NZD",
        "LineAmountTypes": "Exclusive",
        "UpdatedDateUTC": _stamp(days),
        "LineItems": [
            {
                "Description": "Widget",
                "Quantity": qty,
                "UnitAmount": 25,
                "ItemCode": "PROD-001",
                "AccountCode": "200",
                "TaxType": "NONE",
            }
        ],
    }


def _hubspot_invoice(
    iid: str, number: str, days: int, product: str = "10", qty: int = 2, price: str = "25.00"
) -> dict[str, Any]:
    return {
        "id": iid,
        "number": number,
        "status": "open",
        "currency": "NZD",
        "modified": _stamp(days),
        "date": _days_ago(days),
        "contact": "1",
        "lines": [{"product": product, "quantity": qty, "price": price, "name": "Widget"}],
    }


MANY = 20  # initech: this many invoices, each selling an item Xero does not have


def _initech() -> tuple[dict[str, Any], dict[str, Any]]:
    portal = _portal("Initech", "ada@initech.example", [])
    portal["products"] = [
        {"id": str(300 + i), "name": f"Part {i}", "price": "10.00", "hs_sku": f"PART-{i:03}"} for i in range(MANY)
    ]
    portal["invoices"] = [
        _hubspot_invoice(str(400 + i), f"INV-3{i:03}", 3, product=str(300 + i), qty=1, price="10.00")
        for i in range(MANY)
    ]
    portal["invoices"].append(_hubspot_invoice("499", "INV-2999", 1))
    tenant = _xero_tenant(
        INITECH_TENANT, "Initech", "ada@initech.example", [_xero_invoice("INV-2999", "Ada Lovelace", 1)]
    )
    return portal, tenant


def build_world() -> dict[str, Any]:
    acme_email, globex_email = "ada@acme.example", "ada@globex.example"
    initech_portal, initech_tenant = _initech()
    world = {
        "hubspot": {
            "api_keys": [
                {"token": ACME_KEY, "portal": "4711", "scopes": HUBSPOT_SCOPES},
                {"token": GLOBEX_KEY, "portal": "4712", "scopes": HUBSPOT_SCOPES},
                {"token": INITECH_KEY, "portal": "4713", "scopes": HUBSPOT_SCOPES},
            ],
            "portals": {
                "4711": _portal("Acme", acme_email, [_hubspot_invoice("100", "INV-1001", 5)]),
                "4712": _portal(
                    "Globex",
                    globex_email,
                    [
                        _hubspot_invoice("199", "INV-2000", 1),
                        _hubspot_invoice("200", "INV-2001", 4, product="11", qty=1, price="40.00"),
                    ],
                ),
                "4713": initech_portal,
            },
            "faults": {"retry_after": 0},
        },
        "xero": {
            "grants": [
                {
                    "access_token": "at-acme",
                    "refresh_token": "rt-acme",
                    "scopes": XERO_SCOPES,
                    "principal": [ACME_TENANT],
                },
                {
                    "access_token": "at-globex",
                    "refresh_token": "rt-globex",
                    "scopes": XERO_SCOPES,
                    "principal": [GLOBEX_TENANT],
                },
                {
                    "access_token": "at-initech",
                    "refresh_token": "rt-initech",
                    "scopes": XERO_SCOPES,
                    "principal": [INITECH_TENANT],
                },
            ],
            # authorization codes the consent screen would hand out (OAuth callback tests)
            # (code-globex: the user picked Globex's organisation on the consent screen)
            "codes": {
                "code-acme": {"scopes": XERO_SCOPES, "principal": [ACME_TENANT]},
                "code-globex": {"scopes": XERO_SCOPES, "principal": [GLOBEX_TENANT]},
            },
            "clients": {"xero-client": "xero-secret"},
            "tenants": [
                _xero_tenant(ACME_TENANT, "Acme Ltd", acme_email, [_xero_invoice("INV-1001", "Ada Lovelace", 5)]),
                _xero_tenant(GLOBEX_TENANT, "Globex", globex_email, [_xero_invoice("INV-2000", "Ada Lovelace", 1)]),
                initech_tenant,
            ],
            "faults": {"retry_after": 0},
        },
    }
    return copy.deepcopy(world)


def integrations_config(sandbox_overrides: Mapping[str, Mapping[str, object]], **slack: Any) -> dict[str, Any]:
    """The YAML config (as a mapping) pointing both integrations at the sandbox."""

    def side(system: str, tenant: str | None, name: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"system": system, **sandbox_overrides[system]}
        if tenant:
            out["tenant"] = tenant
        if name:
            out["name"] = name
        return out

    return {
        "slack": slack.pop("slack", {}),
        "integrations": {
            "acme": {
                "source": side("hubspot", "4711"),
                "destination": side("xero", ACME_TENANT, "Acme Ltd"),
                "slack": slack.pop("acme_slack", {"channel": "C0ACME"}),
            },
            "globex": {
                "source": side("hubspot", "4712"),
                "destination": side("xero", GLOBEX_TENANT, "Globex"),
                "slack": slack.pop("globex_slack", {"channel": "C0GLOBEX"}),
            },
            "initech": {
                "source": side("hubspot", "4713"),
                "destination": side("xero", INITECH_TENANT, "Initech"),
                "slack": slack.pop("initech_slack", {"channel": "C0INITECH"}),
            },
        },
    }


def connect_all(services: Services) -> None:
    """Store each side's credentials as `sync-doctor connect` would."""
    connect = services.connect
    connect.save_api_key("acme", "source", ACME_KEY, actor="test")
    connect.save_api_key("globex", "source", GLOBEX_KEY, actor="test")
    connect.save_api_key("initech", "source", INITECH_KEY, actor="test")
    tenants = {"acme": ACME_TENANT, "globex": GLOBEX_TENANT, "initech": INITECH_TENANT}
    for name, tenant in tenants.items():
        connect.save_tokens(
            name,
            "destination",
            access_token=f"at-{name}",
            refresh_token=f"rt-{name}",
            expires_in=1800,
            tenant=tenant,
            scopes=tuple(XERO_SCOPES),
            actor="test",
        )
