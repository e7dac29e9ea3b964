"""Zapier emulator: the Workflow API reads Sync Doctor makes of a Zap.

Serves ``GET /v2/zaps`` (``limit``/``offset``, ``expand=steps.action``), ``GET /v2/zap-runs``
(``zap_id`` integer, ``from_date`` defaulting to 30 days back, ``statuses``, ``limit``/``offset``)
and ``GET /v2/authentications?app=`` in Zapier's list envelope (``data``, ``meta {count, limit,
offset}``, ``links {next, prev}``), behind OAuth user access tokens (``POST /oauth/token/``
refreshes them) and scopes: ``zap`` lists only the Zaps using ``partner_app``, ``zap:all`` every
Zap of the token's user. Errors are JSON:API, ``{"errors": [{status, code, title, detail}]}``;
past 60 requests a minute every request answers 429 for a 60-second cooldown with
``Retry-After`` and ``X-RateLimit-*`` (``/work/notes/middleware_jobapps.md`` section 2).

World section ``zapier`` (on top of the base's grants / faults / access_token_ttl / clients)::

    grants: [{access_token: zat-..., refresh_token: zrt-..., scopes: [zap:all, zap:runs, authentication],
              principal: 1}]            # principal: the user who owns the Zaps
    partner_app: 1f188536-...          # the app whose Zaps plain `zap` scope can see
    requests_per_minute: 60
    cooldown_seconds: 60
    error_status_as_string: true       # "status": "401" (docs example) or 401 (schema)
    authentications: [{id: auth-xero, app: <app id>, title: Xero (Sparky), expired: false}]
    zaps:
      - id: "00000000-0000-c000-8000-000000012345"   # the id /v2/zaps lists
        run_id: 104445735                            # the integer id /v2/zap-runs uses
        title: ServiceM8 invoices to Xero
        enabled: true
        owner: 1
        last_success_minutes_ago: 30                 # or last_success: ISO time; absent: never
        steps: [{app: <app id>, instant: false, title: New invoice, authentication: auth-sm8},
                {app: <app id>, title: Create invoice, authentication: auth-xero}]
        runs: [{start_minutes_ago: 10, status: error}, {start: "{datetime:-1}", status: held}]

Modules: ``emulator`` (routes, tokens, scopes, the rate limit, loading the section).
"""

from __future__ import annotations

from sandbox.zapier.emulator import ZapierEmulator

__all__ = ["ZapierEmulator"]
