"""Organisations of any size, for benchmarks that need volume rather than a story."""

from __future__ import annotations

import logging

from common.types import JSON

logger = logging.getLogger(__name__)


def generated_organization(
    organization_id: str, contacts: int, items: int, invoices: int, *, daily_limit: int = 10_000
) -> JSON:
    """An ``organizations`` entry of the given size: every invoice bills one contact for two
    items; one in three is paid."""
    return {
        "organization_id": organization_id,
        "name": "Generated Books",
        "daily_limit": daily_limit,
        "organization": {"currency_code": "USD", "country_code": "US"},
        "contacts": [
            {"contact_name": f"Customer {n:05d}", "company_name": f"Customer {n:05d}", "email": f"ap{n}@example.com"}
            for n in range(contacts)
        ],
        "items": [{"name": f"Product {n:05d}", "sku": f"PROD-{n:05d}", "rate": 10 + n % 90} for n in range(items)],
        "invoices": [
            {
                "invoice_number": f"INV-{n:06d}",
                "customer_name": f"Customer {n % max(contacts, 1):05d}",
                "date": "2024-03-01",
                "status": "paid" if n % 3 == 0 else "sent",
                "last_modified_time": "2024-03-01T09:00:00+0000",
                "line_items": [
                    {"sku": f"PROD-{(n + k) % max(items, 1):05d}", "quantity": 1 + k, "rate": 25}
                    for k in range(2 if items else 0)
                ],
            }
            for n in range(invoices)
        ],
    }
