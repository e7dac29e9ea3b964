"""HubSpot emulator: account-info, CRM objects (lists, search, batch read, batch upsert),
associations v4 batch read, OAuth v3 token + introspection (and the deprecated v1 token path),
HubSpot's error envelope and rate-limit headers. Facts: PROVIDERS.md section 4.

World section (on top of the base keys in ``sandbox/base.py``; a grant's ``principal``
is its portal id)::

    clients: {client-id: client-secret}     # v3 token/introspection check them when given
    api_keys:                               # private-app tokens (pat-<region>-...)
      - {token: pat-na1-..., portal: "4711", scopes: [crm.objects.contacts.read, oauth], revoked: false}
    rotate_refresh_tokens: false            # UNCONFIRMED for HubSpot (v1 returns the same token): default off
    portals:
      "4711":
        account:                            # GET /account-info/v3/details (portalId added)
          accountType: STANDARD             # SANDBOX / DEVELOPER_TEST / APP_DEVELOPER = a test portal
          companyCurrency: USD
          additionalCurrencies: [EUR]
          timeZone: US/Eastern
          uiDomain: app.hubspot.com
          dataHostingLocation: na1
          utcOffset: "-05:00"
        hub_domain: acme.example            # answered by token introspection
        contacts:                           # every key but id/archived/updated is a property
          - {id: "1", firstname: Ada, lastname: Lovelace, email: ada@example.com, company: Acme,
             address: 1 Main St, city: Springfield, zip: "12345", country: US, archived: false,
             updated: "2026-03-01T10:00:00Z"}
        products:
          - {id: "10", name: Widget, price: "25.00", hs_sku: PROD-001, archived: false}
        invoices:
          - id: "100"
            number: INV-1001                # written under invoice_properties.number
            status: open                    # draft | open | paid | voided
            currency: USD
            modified: "2026-03-02T09:00:00Z"
            date: "2026-03-01"              # optional; due_date and total too
            contact: "1"                    # associated contact id
            lines:                          # line items associated with the invoice
              - {product: "10", quantity: 2, price: "25.00", name: Widget}   # SKU only via product
              - {hs_sku: AD-HOC, quantity: 1, price: "5.00", name: Delivery}
    invoice_properties:                     # UNCONFIRMED property names, matched by the client's
      status: hs_invoice_status             #   HubSpot.INVOICE_PROPERTIES
      number: hs_number
      currency: hs_currency
      total: hs_amount_billed
      date: hs_invoice_date
      due_date: hs_due_date
    list_page_max: 100                      # lists: limit default 10, max 100 (a larger limit: 400)
    search_page_max: 200                    # UNCONFIRMED
    search_max_results: 10000               # UNCONFIRMED: `after` at or past it answers 400
    batch_max: 100                          # inputs per batch read / upsert
    limits: {daily: 250000, ten_secondly: 100, search_per_second: 4}
    enforce_limits: false                   # true: answer 429 when the limits above are exceeded
    rate_limit_headers:                     # UNCONFIRMED which families each auth kind gets
      private_app: [daily, secondly]        # daily: -Daily/-Daily-Remaining; secondly: -Secondly/-Secondly-Remaining
      oauth: [interval]                     # interval: -Max/-Remaining/-Interval-Milliseconds

The v3 token endpoint answers errors in HubSpot's envelope (``{status, message, correlationId,
category}``; a dead refresh token is ``VALIDATION_ERROR`` / ``subCategory: INVALID_TOKEN``), the v1
path ``{status: BAD_REFRESH_TOKEN, message}``. A 429 carries ``Retry-After`` unless the world sets
``faults: {send_retry_after: false}`` (HubSpot's usual answer: the client waits out the window).

The search's 429 policy name (``SEARCH_PER_SECOND`` here) and the association type details are
not documented in PROVIDERS.md; association rows carry ``{"category": "HUBSPOT_DEFINED"}`` only.

Modules: ``emulator`` (routes, callers, limits, OAuth), ``crm`` (the CRM handlers),
``filters`` (search comparisons), ``world`` (portals in memory), ``wire`` (times, property
strings, envelopes).
"""

from __future__ import annotations

from sandbox.hubspot.emulator import HubSpotEmulator

__all__ = ["HubSpotEmulator"]
