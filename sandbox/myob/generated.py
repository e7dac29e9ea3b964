"""Company files of any size, for benchmarks that need volume rather than a story."""

from __future__ import annotations

import logging

from common.types import JSON

logger = logging.getLogger(__name__)


def generated_company_file(file_id: str, customers: int, items: int, invoices: int) -> JSON:
    """A ``company_files`` entry of the given size: every invoice bills one customer for two
    items (Item layout)."""
    return {
        "id": file_id,
        "name": "Generated File",
        "country": "AU",
        "customers": [
            {
                "CompanyName": f"Customer {n:05d}",
                "DisplayID": f"CUS{n:05d}",
                "Addresses": [{"Email": f"ap{n}@example.com"}],
            }
            for n in range(customers)
        ],
        "items": [
            {
                "Number": f"PROD-{n:05d}",
                "Name": f"Product {n:05d}",
                "BaseSellingPrice": 10 + n % 90,
                "income_account": "4-1000",
                "tax_code": "GST",
            }
            for n in range(items)
        ],
        "invoices": [
            {
                "Number": f"{n:08d}",
                "Date": "2024-03-01",
                "Customer": {"Name": f"Customer {n % max(customers, 1):05d}"},
                "Lines": [
                    {
                        "Item": {"Number": f"PROD-{(n + k) % max(items, 1):05d}"},
                        "ShipQuantity": 1 + k,
                        "UnitPrice": 25,
                        "TaxCode": {"Code": "GST"},
                    }
                    for k in range(2 if items else 0)
                ],
            }
            for n in range(invoices)
        ],
    }
