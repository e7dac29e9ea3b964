"""Generic job-app emulator: an app that gives its invoices, customers and items as JSON over
HTTP, and publishes invoice exports (CSV or JSON) at URLs, the two ways Sync Doctor's
``generic`` source and the export presets (Torqueflow, Workshop Software) read job apps.

Authentication is one of ``none``, ``bearer``, ``basic``, ``api_key_header`` or ``hmac``; an HMAC
signature is recomputed over the request as it arrived (method, path, raw query string,
timestamp) and compared, and a timestamp outside the allowed window is refused. Paging is one
of ``none``, ``page_number``, ``offset``, ``cursor`` (next cursor in the body's
``meta.next_cursor`` or in a header) or ``link_header`` (``Link: <url>; rel="next"``).
Errors are ``{"error": {"code", "message"}}``.

World section ``jobapp`` (on top of ``faults``)::

    auth: {kind: hmac, secret: s3cret, header: X-Signature, timestamp_header: X-Timestamp,
           algorithm: sha256, encoding: hex, prefix: "", message: "{method}\\n{path}\\n{query}\\n{timestamp}",
           clock_skew_seconds: 300}
          # or {kind: bearer, secret: tok} / {kind: basic, user: u, password: p}
          #    {kind: api_key_header, header: X-API-Key, secret: key, prefix: ""}
    paging: {kind: page_number, page_param: page, size_param: per_page, default_size: 25}
          # offset: offset_param / limit_param; cursor: cursor_param + next_header (else meta.next_cursor)
    endpoints:
      /api/v1/invoices:
        records_key: data            # the list's key in the body
        since_param: updated_since   # optional filter: records whose since_field >= the value
        since_field: issued
        records: [{number: J-1001, issued: "{date:-3}", state: sent, total: "120.00", ...}]
    exports:
      /exports/sales.csv: {format: csv, columns: [Date, Customer, Invoice #, ...], rows: [{...}],
                           date_columns: [Date], date_format: "%d/%m/%Y"}   # ISO dates rewritten
      /exports/invoices.json: {format: json, body: {...}}

Modules: ``emulator`` (authentication, paging, lists and exports).
"""

from __future__ import annotations

from sandbox.jobapp.emulator import JobAppEmulator

__all__ = ["JobAppEmulator"]
