"""QuickBooks Online emulator: Intuit's v3 paths, JSON shapes, query language and Fault envelopes.

Serves ``/v3/company/{realmId}/{query, companyinfo/{id}, preferences, batch, <entity>, <entity>/{id}}``,
``/manage/entitlements/v3/{realmId}`` (XML, per EntitlementsResponse.xsd) and the token endpoint
``/oauth2/v1/tokens/bearer`` (answers carry ``x_refresh_token_expires_in``). Facts from
specs/PROVIDERS.md section 2; entity fields follow specs/quickbooks/Finance.xsd.

World section (on top of the keys every emulator shares, see ``sandbox/base.py``)::

    quickbooks:
      grants: [{access_token, refresh_token, expires_in, scopes, principal: "<realmId>"}]
      access_token_ttl: 3600            # Intuit: 1 h
      refresh_token_ttl: 8640000        # x_refresh_token_expires_in (100 days, rolling)
      max_results: 1000                 # MAXRESULTS cap; the default page is 100
      duplicate_doc_number_check: true  # refuse a DocNumber already used (6140)
      wrong_realm_fault: {status: 401, code: "120", type: AuthorizationFault}   # [QE]: 401, code 120
      validation_codes:                 # codes Intuit does not document (UNCONFIRMED), overridable
        closed_period: "6210"           # TxnDate on/before BookCloseDate (Workato's reading of 6210)
        currency: "6000"                # currency not enabled / not the home currency
        required: "6000"                # a required field is missing
        invalid_name: "6000"            # ":" in a DisplayName
        query: "4000"                   # the query cannot be parsed / names an unknown entity
        request: "6000"                 # the body is not a JSON object
        line_amount: "6070"             # a sales line's Amount is not Qty x UnitPrice (to the cent)
        batch_size: "6000"              # a batch of more than 30 items
      scripted_faults:                  # answered, in order, to the next authorised API calls
        - {status: 400, code: "6190", message: "Invalid Company Status", detail: "...", type: ValidationFault}
      realms:
        "9130350000000001":
          company_status_invalid: false # every call answers 6190 (subscription ended) [QT]
          entitlements_fault: null      # {status, code, message}: the entitlements service refuses
          CompanyInfo: {CompanyName: Acme, Country: US, SampleFile: false,
                        NameValue: [{Name: OfferingSku, Value: QuickBooks Online Plus},
                                    {Name: SubscriptionStatus, Value: PAID}]}
          Preferences: {CurrencyPrefs: {MultiCurrencyEnabled: false, HomeCurrency: {value: USD}},
                        AccountingInfoPrefs: {ClassTrackingPerTxnLine: true, BookCloseDate: "2024-01-31"},
                        SalesFormsPrefs: {CustomTxnNumbers: true}}
          Entitlements: {QboCompany: true, PlanName: QBWEBPLUS, MaxUsers: 5, CurrentUsers: 1,
                         DaysRemainingTrial: 0, Entitlement: [{id: "27", name: Class Tracking, term: "On"}]}
          Customer: [...]  Item: [...]  Invoice: [...]  Account: [...]  TaxCode: [...]
          TaxRate: [...]   Class: [...] Payment: [...]  CompanyCurrency: [...]

Entities are written in Intuit's JSON (keys are XSD element names); the emulator fills what
Intuit computes (Id, SyncToken, MetaData, FullyQualifiedName, line Amount, TotalAmt, Balance,
reference names). A name-list query (Customer, Item, Account, ...) returns active rows only
unless its WHERE mentions ``Active``, as QuickBooks does.

Modules: ``emulator`` (routes, authorisation, replays), ``query`` (the query language),
``writes`` (validation of creates), ``world`` (a realm in memory), ``wire`` (Fault envelopes,
entitlements XML), ``generated`` (realms of any size).
"""

from __future__ import annotations

from sandbox.quickbooks.emulator import QuickBooksEmulator
from sandbox.quickbooks.generated import generated_realm
from sandbox.quickbooks.query import parse_query
from sandbox.quickbooks.wire import ENTITIES

__all__ = ["ENTITIES", "QuickBooksEmulator", "generated_realm", "parse_query"]
