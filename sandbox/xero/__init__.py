"""Xero emulator: the Accounting API 2.0 paths Sync Doctor uses plus ``GET /connections``.

Answers in Xero's own JSON: PascalCase fields, the response envelope (``Id``, ``Status``,
``ProviderName``, ``DateTimeUTC``), the ``pagination`` object on paged lists, dates as
``/Date(1539993600000+0000)/``, ``X-DayLimit-Remaining`` / ``X-MinLimit-Remaining`` /
``X-AppMinLimit-Remaining`` on every Accounting response, 429 with ``Retry-After`` and
``X-Rate-Limit-Problem``, the 401/403 problem envelope (``Detail: "TokenExpired: ..."``,
``"AuthenticationUnsuccessful"``) and the 400 ``ValidationException`` envelope
(specs/PROVIDERS.md section 1, specs/xero/xero_accounting.yaml).

World section ``xero`` (on top of the base's grants / faults / access_token_ttl / clients)::

    grants:
      - access_token: at-acme
        refresh_token: rt-acme
        scopes: [offline_access, accounting.invoices, accounting.payments.read, accounting.contacts,
                 accounting.settings.read]  # broad (accounting.transactions) or granular; a call
                                          # they do not cover answers 401 AuthorizationUnsuccessful;
                                          # no scopes listed = every call allowed
        principal: [<tenant id>, ...]     # the organisations this grant reaches (its connections)
    idempotency_ttl_seconds: 360          # Xero caches Idempotency-Key answers for 6 minutes (2ry);
                                          # a replay is the first answer again, with no marking header
    minute_limit: 60                      # per tenant, rolling minute (Xero: 60/min)
    concurrent_limit: 5                   # requests in flight per tenant (Xero: 5); over it, 429 with
                                          # X-Rate-Limit-Problem: concurrent (that value is UNCONFIRMED)
    app_minute_limit: 10000               # reported in X-AppMinLimit-Remaining
    item_code_case_sensitive: true        # does ItemCode "prod-001" match Code "PROD-001"? UNCONFIRMED
    contact_name_case_sensitive: false    # is "acme ltd" a duplicate of "Acme Ltd"? UNCONFIRMED
    messages: {unknown_item: "...", ...}  # override wording of validation messages (see MESSAGES)
    tenants:
      - id: 6a1c...                       # tenantId == OrganisationID (a UUID)
        tenant_type: ORGANISATION         # /connections tenantType (PRACTICEMANAGER: a practice, not an org)
        name: Acme Ltd                    # tenantName and Organisation.Name
        day_limit: 5000                   # per tenant per day (X-DayLimit-Remaining)
        invoice_cap: 20                   # optional: approved ACCREC invoices per calendar month of
                                          # their Date (the legacy Starter/Early cap, 2ry); absent = none
        organisation: {Class: STANDARD, BaseCurrency: NZD, CountryCode: NZ, IsDemoCompany: false,
                       PeriodLockDate: 2024-03-31, EndOfYearLockDate: ..., ...any Organisation field}
        actions: {UseMulticurrency: NOT-ALLOWED}    # merged over every action ALLOWED
        currencies: [NZD, AUD]            # enabled currencies; the base currency always is
        contacts: [{Name, EmailAddress, ContactStatus, ContactNumber, Addresses, ...}]
        items: [{Code, Name, SalesDetails: {UnitPrice, AccountCode, TaxType}, ...}]
        accounts: [{Code, Name, Type, Status, TaxType}]       # absent = a small default chart
        tax_rates: [{TaxType, Name, EffectiveRate, Status}]  # absent = OUTPUT 15% and NONE
        tracking_categories: [{Name, Status, Options: [{Name, Status}]}]
        invoices: [{InvoiceNumber, Type, Contact: {Name}|{ContactID}, Date, DueDate, Status,
                    CurrencyCode, Reference, LineAmountTypes, UpdatedDateUTC,
                    LineItems: [{Description, Quantity, UnitAmount, ItemCode, AccountCode,
                                 TaxType, Tracking: [{Name, Option}]}]}]
        payments: [{Invoice: {InvoiceNumber}, Amount, Date, Account: {Code}, Reference}]

World records use Xero's field names; missing ids are generated (stable UUIDs), dates may be
ISO (``2024-03-31``) or ``/Date()/``, totals are computed from the lines. Seeded records are
not validated (a world may hold exactly the broken state a demo needs); writes are.

Faults: the base's (429 storm, 5xx, latency, garbage) and ``wrong_tenant``: every grant then
reaches a different organisation than its own (another world tenant it was not granted, or a
"Demo Company (Global)"), so ``/connections`` lists that one and calls for its own answer 403.

Modules: ``emulator`` (routes, tokens and tenants, rate limits), ``reads`` and ``writes`` (the
handlers), ``world`` (loading a tenant), ``org`` (one organisation in memory), ``records``
(records as Xero stores them), ``wire`` (dates, amounts, envelopes), ``messages``.
"""

from __future__ import annotations

from sandbox.xero.emulator import XeroEmulator
from sandbox.xero.messages import MESSAGES
from sandbox.xero.wire import msdate, parse_when

__all__ = ["MESSAGES", "XeroEmulator", "msdate", "parse_when"]
