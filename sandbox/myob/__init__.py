"""MYOB emulator: MYOB's OAuth (consent at ``/oauth2/account/authorize``, tokens at
``/oauth2/v1/authorize``) and the AccountRight / MYOB Business API v2 paths Sync Doctor and
syncs use, under ``/accountright/{businessId}``.

Answers in MYOB's own JSON: PascalCase fields, ``{Items, NextPageLink, Count}`` collections,
``{UID, ..., URI}`` links, ``2024-05-01T00:00:00`` dates, 201 + ``Location`` on creation (the
body with ``returnBody=true``), the ``{"Errors": [...], "Information"}`` envelope, **403
RateLimitError** over the per-second or daily limit of an API key, 403 DeveloperInactive for
an unknown key, 401 OAuthTokenIsInvalid for a refused token, "Access denied" for a refused
company-file sign-in (sources: /work/notes/zoho_myob.md section 2, specs/PROVIDERS.md section 6).

World section ``myob`` (on top of the base's grants / faults / clients)::

    clients: {api-key: secret}          # the API keys (client ids) it knows
    grants:                             # principal = [businessId, ...] the consent granted
      - {access_token, refresh_token, expires_in, scopes: [sme-sales, ...], principal: [<file id>]}
    access_token_ttl: 1200              # 20 minutes (UNCONFIRMED); refresh tokens rotate
    consent: {business_id: <file id>, deny: false}   # the file the admin picks on the consent screen
    codes: {code: {scopes, principal}}  # codes the token endpoint accepts besides the consent's
    key_created_after_2025_03_12: true  # GET /accountright/ answers []; businessId only with
                                        # prompt=consent [M-GUID]. false: the list works
    per_second_limit: 8                 # per API key [M-RL]
    daily_limit: 1000000                # per API key [M-RL]
    used_today: {api-key: 0}            # calls the key already spent today
    throttle_status: 403                # 429 only as an opt-in (no MYOB source for it)
    bad_cftoken_status: 401             # 401 or 403 (UNCONFIRMED [M-AD])
    bad_cftoken_body: json              # json ({"Errors": [...]}) or bare ([{"Message": ...}])
    default_top: 400                    # [M-RD]
    max_top: 1000
    next_page_link: true                # absolute URL with $top / $skip (form UNCONFIRMED)
    count: true
    location_header: true
    duplicate_invoice_number: warning   # allow | warning | error (UNCONFIRMED; a warning is an
                                        # error only with warningsAsErrors=true [SDK])
    duplicate_item_number: error        # allow | warning | error (UNCONFIRMED)
    item_number_case_sensitive: false   # does Number "prod-1" clash with "PROD-1"? (UNCONFIRMED)
    errors: {key: {status, name, message, code}}   # override rows of wire.ERRORS
    company_files:
      - id: 5d4b1ce0-...               # the businessId
        name: Bluegum Plumbing
        country: AU                     # AU -> AUD, NZ -> NZD
        product_level: {Code: 30, Name: Plus}    # 10 Basic, 20 Standard, 30 Plus, 50 Premier [SDK]
        ui_access_flags: 3              # 0 local, 2 Essentials (new), 3 AccountRight [M-V2]
        subscription: {IsTrial: false, Product: {Name, DisplayName, ProductLine, Id}}
        requires_cftoken: false         # the file needs its own sign-in (not SSO)
        users: {Administrator: ""}      # company-file users and passwords
        company: {CompanyName, ReadOnly, ...}
        preferences: {CategoryTracking: Off|OnAndNotRequired|OnAndRequired, LockPeriodPriorTo: 2024-07-01}
        currencies: [AUD, USD]          # the file's own currency always; more = multi-currency
        accounts: [{DisplayID, Name, Type, IsActive}]
        tax_codes: [{Code, Description, Rate}]
        jobs: [{Number, Name, IsActive}]
        categories: [{DisplayID, Name, IsActive}]
        customers: [{CompanyName | FirstName+LastName+IsIndividual, DisplayID, IsActive,
                     Addresses: [{Email, Street, City, State, PostCode, Country}]}]
        items: [{Number, Name, IsActive, BaseSellingPrice, income_account: 4-1000, tax_code: GST}]
        invoices: [{layout: Item|Service, Number, Date, Customer: {Name}|{UID}, IsTaxInclusive,
                    CustomerPurchaseOrderNumber, Category: {Name}, LastModified,
                    Lines: [{Item: {Number}, ShipQuantity, UnitPrice, Total, TaxCode: {Code},
                             Job: {Number}, Description}]}]
        payments: [{Number, AmountReceived, Date}]

Faults: the base's (a ``rate_limit`` storm answers 403 RateLimitError; ``server_error_status:
504`` answers GatewayTimeout; latency; garbage) and ``wrong_tenant``: every grant then reaches
another company file than its own.

Modules: ``emulator`` (routes, OAuth, who may call, limits), ``reads`` (collections and OData),
``writes`` (POSTs and their validation), ``world`` (a company file and its records), ``wire``
(the Errors envelope, GUIDs, dates, the $filter parser).
"""

from __future__ import annotations

from sandbox.myob.emulator import MyobEmulator
from sandbox.myob.wire import ERRORS, parse_filter

__all__ = ["ERRORS", "MyobEmulator", "parse_filter"]
