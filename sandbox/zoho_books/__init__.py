"""Zoho Books emulator: the accounts servers of every data centre (consent, token, revoke) and
the Books API v3 paths Sync Doctor and syncs use.

Answers in Zoho's own JSON: snake_case fields, ``{"code": 0, "message": ...}`` beside the
resource on success, ``{"code": n, "message": ...}`` on errors (HTTP 200 too when the world
says so), ``page_context`` on lists, ``X-Rate-Limit-Limit / -Remaining / -Reset`` on every API
answer, 429 over the per-minute or daily limit, the consent redirect's ``location`` and
``accounts-server`` and the token response's ``api_domain`` (sources: /work/notes/zoho_myob.md
section 1, specs/PROVIDERS.md section 5).

World section ``zoho_books`` (on top of the base's grants / faults / clients)::

    default_dc: us                      # the data centre served at the root; others under /{dc}
    data_centres: [us, eu, in, au, jp, ca, sa, cn]
    grants:                             # tokens, as the base: principal = [organization ids],
      - {access_token, refresh_token, expires_in, scopes, principal: [...], dc: us}
    access_token_ttl: 3600              # Zoho: one hour
    refresh_window_limit: 10            # access tokens per refresh token per window [Z-REFRESH]
    refresh_window_seconds: 600
    refresh_throttle: {status: 400, error: Access Denied, error_description: ...}   # 2ry body
    dead_refresh_status: 200            # {"error": "invalid_code"} is often sent with 200 (2ry)
    consent: {location: eu, principal: [org ids], deny: false}   # who approves the consent screen
    codes: {code: {dc, principal, scopes}}                        # codes the token endpoint accepts
    minute_limit: 100                   # per organisation, rolling minute (2ry)
    rate_limit_headers: true            # X-Rate-Limit-* (2ry)
    max_per_page: 200                   # 2ry; per_page_over_max: clamp | reject (UNCONFIRMED)
    errors_on_http_200: false           # answer errors (but 429 / 5xx) with HTTP 200 (UNCONFIRMED)
    errors: {name: {status, code, message}}   # override rows of wire.ERRORS
    reporting_tags_path: /reportingtags # 2ry (/settings/tags in one client)
    transaction_lock_path: /transactionlocks   # UNCONFIRMED path; the attributes are [Z-TL]
    accept_jsonstring_form: true        # accept the JSONString form field as well as JSON
    contact_name_unique: false          # refuse a second contact of the same name (UNCONFIRMED)
    sku_case_sensitive: false           # does SKU "ab-1" clash with "AB-1"? (UNCONFIRMED)
    organizations:
      - organization_id: "10234695"
        name: Zillum
        dc: us
        daily_limit: 1000               # the plan's daily quota (Free 1,000 ... 10,000, 2ry)
        used_today: 0                   # calls other apps already spent today
        organization: {currency_code: USD, country_code: US, plan_name: ..., ...any field}
        currencies: [USD, EUR]          # enabled; the base currency always is
        taxes: [{tax_name, tax_percentage}]
        accounts: [{account_name, account_code, account_type, is_active}]
        tags: [{tag_name, options: [North, South]}]
        transaction_lock: {transaction_lock_date: 2024-03-31}
        contacts: [{contact_name, company_name, email, status, currency_code, contact_type}]
        items: [{name, sku, rate, status, account_name, tax_name}]
        invoices: [{invoice_number, customer_name | customer_id, date, due_date, status,
                    reference_number, currency_code, last_modified_time,
                    line_items: [{sku | item_id, name, description, quantity, rate, tax_name,
                                  account_name, tags: [{tag_name, tag_option_name}]}]}]
        payments: [{invoice_number, amount, date, payment_mode}]

Faults: the base's (429 storm, 5xx, latency, garbage) and ``wrong_tenant``: every grant then
reaches another organisation than its own.

Modules: ``emulator`` (routes, accounts servers, who may call, limits), ``reads`` and
``writes`` (the handlers), ``world`` (an organisation and its records), ``wire`` (the envelope,
the error table, ids and amounts).
"""

from __future__ import annotations

from sandbox.zoho_books.emulator import ZohoBooksEmulator
from sandbox.zoho_books.wire import ERRORS

__all__ = ["ERRORS", "ZohoBooksEmulator"]
