"""Representative findings of the mapping, contact, SKU and sync-state families, with evidence
exactly as ``checks/{mappings,contacts,skus,sync_state}.py`` produce it (a test compares the
keys with real check output). The lead's test renders every catalog code's template from the
merged examples; ``VARIANTS`` cover the other branches of the same templates."""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, dict[str, Any]] = {
    "mapping.account_code": {
        "subject": "201",
        "system": "xero",
        "evidence": {
            "code": "201",
            "source_codes": ["4000"],
            "mapping": ["accounts"],
            "lines": 2,
            "reason": "unknown",
            "suggestions": ["200"],
        },
    },
    "mapping.tax_code": {
        "subject": "TAX001",
        "system": "xero",
        "evidence": {
            "code": "TAX001",
            "source_codes": ["GST"],
            "mapping": ["tax"],
            "lines": 1,
            "reason": "archived",
            "tax_name": "Old rate",
            "status": "deleted",
        },
    },
    "mapping.tracking": {
        "subject": "Region: East",
        "system": "xero",
        "evidence": {
            "category": "Region",
            "source_categories": ["Area"],
            "mapping": ["tracking"],
            "option": "East",
            "reason": "unknown_option",
            "options": ["North", "South"],
        },
    },
    "mapping.currency": {
        "subject": "EUR",
        "system": "quickbooks",
        "evidence": {
            "currency": "EUR",
            "source_currencies": ["eur"],
            "enabled": ["AUD", "USD"],
            "base_currency": "AUD",
        },
    },
    "contact.missing_email": {
        "subject": "Jane Doe",
        "system": "hubspot",
        "evidence": {
            "contact": "Jane Doe",
            "contact_id": "c1",
            "destination_matches_by_name": [
                {"id": "x1", "name": "Jane Doe", "email": "jane@acme.com", "archived": False}
            ],
            "similar_names": [],
        },
    },
    "contact.email_mismatch": {
        "subject": "Jane Doe",
        "system": "xero",
        "evidence": {
            "contact": "Jane Doe",
            "contact_id": "c1",
            "source_email": " Jane@Acme.com",
            "destination_email": "jane@acme.com",
            "destination_contacts": [{"id": "x1", "name": "Jane Doe", "email": "jane@acme.com", "archived": False}],
            "difference": ["case", "spaces"],
        },
    },
    "contact.name_mismatch": {
        "subject": "ACME Pty. Ltd",
        "system": "xero",
        "evidence": {
            "contact_id": "c1",
            "email": "a@acme.com",
            "source_name": "ACME Pty. Ltd",
            "destination_name": "Acme Pty Ltd",
            "destination_id": "x1",
            "difference": ["case", "punctuation"],
        },
    },
    "contact.name_collision": {
        "subject": "Acme Ltd",
        "system": "xero",
        "evidence": {
            "name": "Acme Ltd",
            "reason": "destination_has_name",
            "source_contacts": [{"id": "c1", "name": "Acme Ltd", "email": "billing@acme.com", "archived": False}],
            "destination_contacts": [
                {"id": "x1", "name": "ACME  Ltd", "email": "accounts@acme.com", "archived": False}
            ],
            "to_create": ["c1"],
        },
    },
    "contact.duplicate_email": {
        "subject": "twin@co.com",
        "system": "quickbooks",
        "evidence": {
            "email": "twin@co.com",
            "contact": "Twin Co",
            "contact_id": "c2",
            "destination_contacts": [
                {"id": "58", "name": "Twin Co", "email": "twin@co.com", "archived": False},
                {"id": "61", "name": "Twin Co (2)", "email": "TWIN@co.com", "archived": False},
            ],
        },
    },
    "contact.incomplete_address": {
        "subject": "Jane Doe",
        "system": "quickbooks",
        "evidence": {
            "contact": "Jane Doe",
            "contact_id": "q1",
            "side": "destination",
            "missing": ["postcode"],
            "address": {"line1": "1 Main St", "city": "Springfield", "region": None, "postcode": None, "country": "US"},
        },
    },
    "contact.invalid_name": {
        "subject": "Acme: Sydney",
        "system": "quickbooks",
        "evidence": {
            "contact": "Acme: Sydney",
            "contact_id": "c1",
            "email": "syd@acme.com",
            "problems": ["contains ':'"],
            "max_length": 500,
            "length": 12,
            "suggested_name": "Acme - Sydney",
        },
    },
    "contact.archived": {
        "subject": "Old Co",
        "system": "xero",
        "evidence": {
            "contact": "Old Co",
            "contact_id": "c1",
            "email": "old@co.com",
            "destination_contact": {"id": "x1", "name": "Old Co", "email": "old@co.com", "archived": True},
        },
    },
    "sku.missing": {
        "subject": "PROD-0O1",
        "system": "quickbooks",
        "evidence": {
            "sku": "PROD-0O1",
            "suggestions": ["PROD-001"],
            "lines": 2,
            "source_item": {"id": "p-7", "name": "Blue widget"},
        },
    },
    "sku.case_mismatch": {
        "subject": "prod-001",
        "system": "xero",
        "evidence": {
            "sku": "prod-001",
            "destination_code": "PROD-001",
            "item": {"id": "i1", "code": "PROD-001", "name": "Widget", "active": True},
            "difference": ["case"],
            "lines": 1,
        },
    },
    "sku.ambiguous": {
        "subject": "DUP-1",
        "system": "xero",
        "evidence": {
            "sku": "DUP-1",
            "reason": "same_code",
            "items": [
                {"id": "i3", "code": "DUP-1", "name": "Dup A", "active": True},
                {"id": "i4", "code": "DUP-1", "name": "Dup B", "active": True},
            ],
            "lines": 1,
        },
    },
    "sku.archived": {
        "subject": "OLD-1",
        "system": "quickbooks",
        "evidence": {
            "sku": "OLD-1",
            "item": {"id": "i2", "code": "OLD-1", "name": "Old thing", "active": False},
            "lines": 1,
        },
    },
    "sync.stale": {
        "subject": "Xero",
        "system": "xero",
        "evidence": {
            "last_synced_at": "2026-05-17T12:00:00+00:00",
            "hours_since": 72,
            "stale_after_hours": 48,
            "waiting": 2,
            "oldest_waiting": {
                "number": "INV-2",
                "date": "2026-05-18",
                "age_days": 2,
                "total": "100.00",
                "currency": "AUD",
                "contact": None,
            },
            "newest_waiting": {
                "number": "INV-3",
                "date": "2026-05-19",
                "age_days": 1,
                "total": "100.00",
                "currency": "AUD",
                "contact": "Jane",
            },
        },
    },
    "sync.unsynced": {
        "subject": "Xero",
        "system": "xero",
        "evidence": {
            "count": 2,
            "oldest_age_days": 19,
            "invoices": [
                {
                    "number": "INV-2",
                    "date": "2026-05-01",
                    "age_days": 19,
                    "total": "50.00",
                    "currency": "AUD",
                    "contact": None,
                },
                {
                    "number": "INV-1",
                    "date": "2026-05-10",
                    "age_days": 10,
                    "total": "100.00",
                    "currency": "AUD",
                    "contact": "Jane",
                },
            ],
            "listed": 2,
            "window_start": "2026-04-20",
        },
    },
    "sync.failed": {
        "subject": "INV-1",
        "system": "xero",
        "evidence": {
            "number": "INV-1",
            "error": "Account code '999' is not a valid code for this document.",
            "attempts": 3,
            "at": "2026-05-19T10:00:00+00:00",
            "in_source": True,
        },
    },
    "sync.duplicate": {
        "subject": "INV-7",
        "system": "quickbooks",
        "evidence": {
            "number": "INV-7",
            "copies": [
                {"id": "x1", "number": "INV-7", "status": "open", "total": "100.00", "date": "2026-05-10"},
                {"id": "x2", "number": "1077", "status": "open", "total": "100.00", "date": "2026-05-10"},
            ],
            "voided_copies": 1,
        },
    },
    "sync.drift": {
        "subject": "INV-1",
        "system": "xero",
        "evidence": {
            "number": "INV-1",
            "destination_id": "x-INV-1",
            "differences": {
                "total": {"source": "110.00", "destination": "100.00"},
                "line_amounts": {"source": ["50.00", "60.00"], "destination": ["40.00", "60.00"]},
                "status": {"source": "open", "destination": "draft"},
            },
            "fields": ["line_amounts", "status", "total"],
        },
    },
    "sync.payment_drift": {
        "subject": "INV-1",
        "system": "quickbooks",
        "evidence": {
            "number": "INV-1",
            "destination_id": "145",
            "paid_in": "source",
            "source_status": "paid",
            "destination_status": "open",
            "source_amount_paid": "100.00",
            "destination_amount_paid": "0.00",
        },
    },
    "sync.not_editable": {
        "subject": "INV-1",
        "system": "xero",
        "evidence": {
            "number": "INV-1",
            "destination_id": "x-INV-1",
            "differences": {"total": {"source": "120.00", "destination": "100.00"}},
            "destination_status": "paid",
            "reason": "paid",
            "lock_date": None,
            "source_updated_at": "2026-05-19T12:00:00+00:00",
            "destination_updated_at": "2026-05-17T12:00:00+00:00",
        },
    },
}

# Other branches of the same templates (same evidence keys, other values / systems).
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    (
        "mapping.account_code",
        {
            "subject": "(none)",
            "system": "xero",
            "evidence": {"code": "(none)", "source_codes": [], "mapping": [], "lines": 1, "reason": "missing"},
        },
    ),
    (
        "mapping.account_code",
        {
            "subject": "210",
            "system": "quickbooks",
            "evidence": {
                "code": "210",
                "source_codes": ["4200"],
                "mapping": ["accounts"],
                "lines": 1,
                "reason": "archived",
                "account_name": "Old <sales> & co",
                "status": "archived",
            },
        },
    ),
    (
        "mapping.account_code",
        {
            "subject": "4100",
            "system": "xero",
            "evidence": {
                "code": "4100",
                "source_codes": ["4100"],
                "mapping": [],
                "lines": 1,
                "reason": "unmapped",
                "suggestions": [],
            },
        },
    ),
    (
        "mapping.tracking",
        {
            "subject": "Job",
            "system": "quickbooks",
            "evidence": {
                "category": "Job",
                "source_categories": ["Job"],
                "mapping": [],
                "reason": "unmapped_category",
                "categories": ["Region"],
                "options_used": ["J1", "J2"],
            },
        },
    ),
    (
        "mapping.tracking",
        {
            "subject": "Dept",
            "system": "xero",
            "evidence": {
                "category": "Dept",
                "source_categories": ["Dept"],
                "mapping": [],
                "reason": "archived_category",
                "status": "archived",
                "options_used": ["Ops"],
            },
        },
    ),
    (
        "mapping.currency",
        {
            "subject": "EUR",
            "system": "xero",
            "evidence": {"currency": "EUR", "source_currencies": ["EUR"], "enabled": ["AUD"], "base_currency": "AUD"},
        },
    ),
    (
        "contact.missing_email",
        {
            "subject": "Globex",
            "system": "stripe",
            "evidence": {
                "contact": "Globex",
                "contact_id": "cus_1",
                "destination_matches_by_name": [],
                "similar_names": ["Globex Pty Ltd"],
            },
        },
    ),
    (
        "contact.missing_email",
        {"subject": "Globex", "system": "stripe", "evidence": {"contact": "Globex", "contact_id": "cus_1"}},
    ),
    (
        "contact.name_collision",
        {
            "subject": "John Smith",
            "system": "quickbooks",
            "evidence": {
                "name": "John Smith",
                "reason": "source_contacts_share_name",
                "source_contacts": [
                    {"id": "c1", "name": "John Smith", "email": "john@a.com", "archived": False},
                    {"id": "c2", "name": "john smith", "email": None, "archived": False},
                ],
                "destination_contacts": [],
                "to_create": ["c1", "c2"],
            },
        },
    ),
    (
        "contact.incomplete_address",
        {
            "subject": "New Co",
            "system": "hubspot",
            "evidence": {
                "contact": "New Co",
                "contact_id": "c2",
                "side": "source",
                "missing": ["city", "postcode"],
                "address": {"line1": "2 High St", "city": None, "region": None, "postcode": None, "country": "US"},
            },
        },
    ),
    (
        "contact.archived",
        {
            "subject": "Old Co",
            "system": "quickbooks",
            "evidence": {
                "contact": "Old Co",
                "contact_id": "c1",
                "email": "old@co.com",
                "destination_contact": {"id": "7", "name": "Old <Co>", "email": "old@co.com", "archived": True},
            },
        },
    ),
    (
        "sku.missing",
        {
            "subject": "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "system": "xero",
            "evidence": {"sku": "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "suggestions": [], "code_limit": 30, "lines": 1},
        },
    ),
    (
        "sku.ambiguous",
        {
            "subject": "mix-1",
            "system": "quickbooks",
            "evidence": {
                "sku": "mix-1",
                "reason": "case_variants",
                "items": [
                    {"id": "i5", "code": "MIX-1", "name": "Mix A", "active": True},
                    {"id": "i6", "code": "Mix-1", "name": "Mix B", "active": False},
                ],
                "lines": 1,
            },
        },
    ),
    (
        "sku.archived",
        {
            "subject": "OLD-1",
            "system": "xero",
            "evidence": {
                "sku": "OLD-1",
                "item": {"id": "i2", "code": "OLD-1", "name": "Old thing", "active": False},
                "lines": 1,
            },
        },
    ),
    (
        "sync.stale",
        {
            "subject": "Xero",
            "system": "xero",
            "evidence": {
                "last_synced_at": None,
                "hours_since": None,
                "stale_after_hours": 48,
                "waiting": 1,
                "oldest_waiting": {
                    "number": "INV-1",
                    "date": None,
                    "age_days": None,
                    "total": "1.00",
                    "currency": "AUD",
                    "contact": None,
                },
                "newest_waiting": {
                    "number": "INV-1",
                    "date": None,
                    "age_days": None,
                    "total": "1.00",
                    "currency": "AUD",
                    "contact": None,
                },
            },
        },
    ),
    (
        "sync.payment_drift",
        {
            "subject": "INV-2",
            "system": "xero",
            "evidence": {
                "number": "INV-2",
                "destination_id": "x2",
                "paid_in": "destination",
                "source_status": "open",
                "destination_status": "paid",
                "source_amount_paid": None,
                "destination_amount_paid": None,
            },
        },
    ),
    (
        "sync.not_editable",
        {
            "subject": "INV-2",
            "system": "quickbooks",
            "evidence": {
                "number": "INV-2",
                "destination_id": "88",
                "differences": {"total": {"source": "80.00", "destination": "100.00"}},
                "destination_status": "open",
                "reason": "locked",
                "lock_date": "2026-04-30",
                "source_updated_at": "2026-05-19T12:00:00+00:00",
                "destination_updated_at": None,
            },
        },
    ),
    (
        "sync.not_editable",
        {
            "subject": "INV-3",
            "system": "xero",
            "evidence": {
                "number": "INV-3",
                "destination_id": "x3",
                "differences": {"status": {"source": "open", "destination": "void"}},
                "destination_status": "void",
                "reason": "void",
                "lock_date": None,
                "source_updated_at": "2026-05-19T12:00:00+00:00",
                "destination_updated_at": None,
            },
        },
    ),
    (
        "sync.failed",
        {
            "subject": "INV-9",
            "system": "quickbooks",
            "evidence": {
                "number": "INV-9",
                "error": "Duplicate Name Exists Error <6240>",
                "attempts": 3,
                "at": None,
                "in_source": False,
            },
        },
    ),
]
