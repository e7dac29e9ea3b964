"""Feed presets: what Sync Doctor knows of each job-management app, as a ``feed:`` block.

A preset is merged under the integration's own ``feed:`` (the user's keys win, mapping by
mapping) before the feed is validated, so a preset is never more than defaults a user can see
and override. Sources: ``/work/notes/middleware_jobapps.md`` section 3 (which cites AroFlo's
API reference, Torqueflow's and Workshop Software's help centres).

* **AroFlo** publishes an API (``https://api.aroflo.com/``, zone queries, HMAC-SHA512 request
  signatures): the preset reads it. Without a ``where`` clause AroFlo applies a default
  "created in the last 30 days" filter, so every zone query here sends one.
* **Torqueflow** and **Workshop Software** publish no API: the preset reads the invoice export
  (a CSV file, or a URL it is published to). Torqueflow's Sales report columns are taken to
  mirror its documented Purchases report (``Date, Supplier, Invoice #, Description, Category,
  Net, VAT, Gross, Status, Paid, Outstanding``) with ``Customer`` for ``Supplier``: UNCONFIRMED.
  Workshop Software's export columns are not documented at all: its preset names the fields
  of a typical invoice export, which the user confirms or overrides. A column that is not
  there is reported with the export's real header row, never read as empty.
"""

from __future__ import annotations

from typing import Any

AROFLO: dict[str, Any] = {
    "auth": {"kind": "aroflo"},
    "paging": {"kind": "page_number", "page_param": "page", "size_param": "pageSize", "size": 500},
    # AroFlo answers HTTP 200 with its own status in the body: "0" is "Login OK".
    "envelope": {"ok_path": "$.status", "ok_values": ["0"], "message_path": "$.statusmessage"},
    "endpoints": {
        "invoices": {
            "path": "/",
            # AroFlo's WHERE operators have no ">=": the day before the window, exclusive.
            "query": {"zone": "invoices", "join": "lineitems", "where": "and|dateinvoiced|>|{since}"},
            "since_format": "%Y/%m/%d",
            "since_shift_days": -1,
            "records": "$.zoneresponse.invoices[*]",
        },
        "contacts": {
            "path": "/",
            "query": {"zone": "clients", "where": "and|archived|=|false"},
            "records": "$.zoneresponse.clients[*]",
        },
    },
    "mapping": {
        "invoice": {
            "id": "$.invoiceid",
            "number": "$.invoicenumber",
            "date": {"path": "$.dateinvoiced", "format": "%Y/%m/%d"},
            "due_date": {"path": "$.duedate", "format": "%Y/%m/%d", "optional": True},
            "status": {
                "path": "$.status",
                "values": {
                    "in progress": "draft",
                    "not started": "draft",
                    "pending approval": "draft",
                    "approved": "open",
                    "processed": "open",
                },
            },
            # Blank until the invoice is posted to the accounting system (Integration > Sync data).
            "posted": {"path": "$.linkprocesseddate", "truthy": "nonempty"},
            "contact_id": "$.client.orgid",
            "contact_name": "$.client.orgname",
            "total": "$.totalinc",
            "subtotal": {"path": "$.totalex", "optional": True},
            "tax": {"path": "$.totalgst", "optional": True},
            "job": {"path": "$.task.jobnumber", "optional": True},
            "reference": {"path": "$.custon", "optional": True},
            "updated_at": {"path": "$.lastupdateddatetimeutc", "format": "%Y/%m/%d %H:%M:%S", "optional": True},
            # AroFlo invoices carry no currency: the site's own (AUD here; NZ sites set NZD).
            "currency": {"const": "AUD"},
            "lines": "$.lines[*]",
        },
        "line": {
            "sku": "$.ordercode",
            "description": "$.description",
            "quantity": "$.qtybilled",
            "unit_price": "$.price",
            "amount": "$.total",
            "tax_code": {"path": "$.taxcode", "optional": True},
            "account_code": {"path": "$.accountcode", "optional": True},
        },
        "contact": {
            "id": "$.clientid",
            "name": "$.clientname",
            "email": {"path": "$.email", "optional": True},
            "first_name": {"path": "$.firstname", "optional": True},
            "last_name": {"path": "$.surname", "optional": True},
        },
    },
}

TORQUEFLOW: dict[str, Any] = {
    "export": {"format": "csv", "rows": "invoice"},
    "mapping": {
        "invoice": {
            "number": "$['Invoice #']",
            "date": {"path": "$.Date", "format": "%d/%m/%Y"},
            "status": {"path": "$.Status", "values": {"unpaid": "open", "part paid": "open", "paid": "paid"}},
            "contact_name": "$.Customer",
            "total": "$.Gross",
            "subtotal": "$.Net",
            "tax": "$.VAT",
            # Torqueflow syncs GBP only (other currencies fail with currency_mismatch).
            "currency": {"const": "GBP"},
            # One row per invoice: the row is its own single line, with the nominal code
            # ("Category") the sync maps to a Xero account.
            "lines": "$",
        },
        "line": {"description": "$.Description", "amount": "$.Net", "account_code": "$.Category"},
    },
}

WORKSHOP_SOFTWARE: dict[str, Any] = {
    "export": {"format": "csv", "rows": "line"},
    "mapping": {
        "invoice": {
            "number": "$['Invoice Number']",
            "date": {"path": "$['Invoice Date']", "format": "%d/%m/%Y"},
            "status": {"path": "$.Status", "values": {"processed": "open", "paid": "paid", "unprocessed": "draft"}},
            "contact_name": "$.Customer",
            "contact_email": {"path": "$.Email", "optional": True},
            "total": "$['Invoice Total']",
            "currency": {"const": "AUD"},
            "lines": "$",
        },
        "line": {
            "sku": {"path": "$['Item Code']", "optional": True},
            "description": "$.Description",
            "quantity": "$.Quantity",
            "unit_price": "$['Unit Price']",
            "amount": "$['Line Total']",
            "account_code": {"path": "$['Account Code']", "optional": True},
        },
    },
}

PRESETS: dict[str, dict[str, Any]] = {
    "aroflo": AROFLO,
    "torqueflow": TORQUEFLOW,
    "workshop_software": WORKSHOP_SOFTWARE,
}

# How each job-app system is read, for the README and error messages.
READ_FROM: dict[str, str] = {
    "generic": "an HTTP JSON API or an export, as configured",
    "aroflo": "AroFlo's public API",
    "torqueflow": "Torqueflow's invoice export (no public API)",
    "workshop_software": "Workshop Software's invoice export (no public API)",
}


def merged(preset: dict[str, Any], override: Any) -> Any:
    """``override`` laid over ``preset``: mappings merge key by key, anything else replaces."""
    if not isinstance(override, dict):
        return override if override is not None else preset
    result: dict[str, Any] = dict(preset)
    for key, value in override.items():
        base = preset.get(key)
        result[key] = merged(base, value) if isinstance(base, dict) and isinstance(value, dict) else value
    return result
