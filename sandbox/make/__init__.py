"""Make emulator: the API v2 reads Sync Doctor makes of a scenario and its organisation.

Serves ``/api/v2/organizations/{id}``, ``/api/v2/scenarios`` (``teamId`` xor
``organizationId``), ``/api/v2/scenarios/{id}``, ``.../logs`` (newest first, ``pg[limit]``,
``pg[last]`` cursor, ``from``/``to`` in ms, ``status``), ``.../executions/{executionId}`` (with
``error {name, message, causeModule}`` for failed runs), ``.../blueprint`` (its modules name
their connections as ``__IMTCONN__``), ``/api/v2/dlqs?scenarioId=``,
``/api/v2/connections/{id}`` and ``POST /api/v2/connections/{id}/test``. Objects are wrapped
under a named key (``{"scenario": {...}}``), counters of an organisation are strings, and every
error is ``{"detail", "message", "code"}`` (``/work/notes/middleware_jobapps.md`` section 1).

World section ``make`` (on top of ``faults`` from ``sandbox/base.py``)::

    zone: eu1.make.com                  # the host this emulator plays
    deactivate_after_errors: 3          # a scenario whose newest N executions all failed is
                                        # loaded switched off (isActive false, isinvalid true);
                                        # Make's default N is UNCONFIRMED; null turns the rule off
    details_for_scheduled_runs: true    # execution details exist for scheduled runs (UNCONFIRMED)
    zone_error_code: SC400              # code of the "User has no organization in the zone" 400 (UNCONFIRMED)
    forbidden_body: {detail: Access denied., message: Permission denied, code: SC403}
    retry_after: null                   # seconds sent with a 429 (Make documents none)
    tokens:
      - token: 5b0c1f8e-...             # a UUIDv4 is an API token, sent as "Token"; others "Bearer"
        scopes: [scenarios:read, dlqs:read, connections:read, organizations:read]
        organizations: [21]             # no organisation in this zone -> 400 on every call
    organizations:
      - {id: 21, name: Sparky Electrical, zone: eu1.make.com, plan: core,   # plan sets license.apiLimit
         operations: 9400, operations_ext: 0, next_reset: "{date:12}", paused: false,
         auto_purchase: false, license: {operations: 10000}}              # license keys override
    scenarios:
      - id: 1229
        organization: 21
        team: 55
        name: AroFlo invoices to Xero
        active: true                    # isActive; invalid (isinvalid), paused (isPaused) apart
        scheduling: {type: indefinitely, interval: 900}
        connections: [93]               # the connections its blueprint names
        executions:                     # at: ISO time, or minutes_ago: N
          - {minutes_ago: 20, status: error, operations: 2,
             error: {name: DataError, message: "...", module: {name: Create an invoice, app: xero}}}
        incomplete: [{reason: "...", minutes_ago: 30, attempts: 3, resolved: false}]
    connections:
      - {id: 93, name: Xero (Sparky), app: xero, expire: "{datetime:-1}", verified: false}

The per-organisation limit is a rolling minute of ``license.apiLimit`` requests (Core 60, Pro
120, Teams 240, Enterprise 1,000), answered 429 ``{"message": "Requests limit for organization
exceeded, please try again later."}``. A missing scope answers 403 with ``forbidden_body``.

Modules: ``emulator`` (routes, tokens, zones, limits), ``world`` (loading the section).
"""

from __future__ import annotations

from sandbox.make.emulator import MakeEmulator

__all__ = ["MakeEmulator"]
