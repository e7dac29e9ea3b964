"""Realms of any size, for benchmarks and contract tests that need volume rather than a story."""

from __future__ import annotations

import logging

from common.types import JSON

logger = logging.getLogger(__name__)


def generated_realm(customers: int, items: int, invoices: int, *, currency: str = "USD") -> JSON:
    """A realm section of the given size (benchmarks, demos): every invoice references one
    customer and two items; one invoice in three is paid, one in seven partly paid."""
    section: JSON = {
        "CompanyInfo": {
            "CompanyName": "Generated Co",
            "Country": "US",
            "NameValue": [
                {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
                {"Name": "SubscriptionStatus", "Value": "PAID"},
            ],
        },
        "Preferences": {"CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": currency}}},
        "Account": [{"Id": "1", "Name": "Sales", "AcctNum": "4000", "AccountType": "Income"}],
        "Customer": [
            {
                "Id": str(10 + n),
                "DisplayName": f"Customer {n:05d}",
                "PrimaryEmailAddr": {"Address": f"billing{n}@example.com"},
            }
            for n in range(customers)
        ],
        "Item": [
            {
                "Id": str(10 + customers + n),
                "Name": f"Product {n:05d}",
                "Sku": f"PROD-{n:05d}",
                "Type": "Service",
                "UnitPrice": 10 + n % 90,
                "IncomeAccountRef": {"value": "1"},
            }
            for n in range(items)
        ],
    }
    first_invoice = 10 + customers + items
    rows = []
    for n in range(invoices):
        lines = [
            {
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": str(10 + customers + (n + k) % max(items, 1))},
                    "Qty": 1 + k,
                    "UnitPrice": 25,
                },
            }
            for k in range(2 if items else 0)
        ]
        total = 75.0 if items else 0.0
        balance = 0.0 if n % 3 == 0 else (25.0 if n % 7 == 0 else total)
        rows.append(
            {
                "Id": str(first_invoice + n),
                "DocNumber": f"INV-{n:06d}",
                "TxnDate": "2024-03-01",
                "CustomerRef": {"value": str(10 + n % max(customers, 1))},
                "Line": lines,
                "TotalAmt": total,
                "Balance": balance,
            }
        )
    section["Invoice"] = rows
    return section
