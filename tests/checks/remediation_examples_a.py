"""Representative findings of the connection, token / API-key, plan, settings and rate
families, with evidence exactly as ``checks/{connection,tokens,plan,settings,platform,errors}.py``
produce it. The lead's test renders every catalog code's template from the merged examples;
``VARIANTS`` cover the other branches of the same templates."""

from __future__ import annotations

from typing import Any

_XERO = {"system": "xero", "side": "destination", "display_name": "Xero"}
_QBO = {"system": "quickbooks", "side": "destination", "display_name": "QuickBooks Online"}
_HUB = {"system": "hubspot", "side": "source", "display_name": "HubSpot"}
_STRIPE = {"system": "stripe", "side": "source", "display_name": "Stripe"}


def _error(base: dict[str, Any], error: str, message: str, code: str | None, status: int | None) -> dict[str, Any]:
    return {**base, "error": error, "message": message, "provider_code": code, "status": status, "from_error": True}


EXAMPLES: dict[str, dict[str, Any]] = {
    "connection.disconnected": {
        "subject": "xero",
        "system": "xero",
        "evidence": {**_XERO, "state": "active", "reason": "no_credentials", "last_error": None},
    },
    "connection.state": {
        "subject": "quickbooks",
        "system": "quickbooks",
        "evidence": {**_QBO, "state": "requires_reauth", "last_error": "invalid_grant: Token invalid"},
    },
    "connection.wrong_tenant": {
        "subject": "xero",
        "system": "xero",
        "evidence": {
            **_XERO,
            "configured_tenant": "a3f1c2d4-0000-4e5f-9a8b-1c2d3e4f5a6b",
            "configured_name": "Acme Plumbing Ltd",
            "connected_tenant": "77d0e8b2-1111-4c3d-8e9f-0a1b2c3d4e5f",
            "connected_name": "Demo Company (AU)",
            "tenant_differs": True,
            "name_differs": True,
            "renamed": False,
            "tenants_available": [{"id": "77d0e8b2-1111-4c3d-8e9f-0a1b2c3d4e5f", "name": "Demo Company (AU)"}],
            "configured_reachable": False,
        },
    },
    "connection.unreachable": {
        "subject": "quickbooks",
        "system": "quickbooks",
        "evidence": _error(_QBO, "Unavailable", "Service Unavailable: the server is down for maintenance", None, 503),
    },
    "token.expired": {
        "subject": "xero",
        "system": "xero",
        "evidence": {
            **_XERO,
            "token": "refresh",
            "basis": "unused",
            "issued_at": "2026-03-10T08:00:00+00:00",
            "expires_at": "2026-05-09T08:00:00+00:00",
            "lifetime_days": 60,
            "age_days": 71,
            "expired_at": "2026-05-09T08:00:00+00:00",
            "refreshable": False,
        },
    },
    "token.revoked": {
        "subject": "xero",
        "system": "xero",
        "evidence": _error(_XERO, "TokenRevoked", "AuthenticationUnsuccessful: token revoked", "invalid_token", 401),
    },
    "token.refresh_failed": {
        "subject": "quickbooks",
        "system": "quickbooks",
        "evidence": _error(_QBO, "RefreshFailed", "Token invalid", "invalid_grant", 400),
    },
    "token.expiring": {
        "subject": "xero",
        "system": "xero",
        "evidence": {
            **_XERO,
            "token": "refresh",
            "basis": "unused",
            "issued_at": "2026-04-01T09:00:00+00:00",
            "expires_at": "2026-05-31T09:00:00+00:00",
            "lifetime_days": 60,
            "age_days": 49,
            "days_remaining": 11,
            "reasons": ["days_left", "lifetime_used"],
        },
    },
    "token.scope_missing": {
        "subject": "hubspot",
        "system": "hubspot",
        "evidence": {
            **_HUB,
            "missing": ["crm.objects.products.read", "crm.objects.invoices.read"],
            "granted": ["crm.objects.contacts.read", "crm.objects.line_items.read", "oauth"],
            "needed": [
                "crm.objects.contacts.read",
                "crm.objects.products.read",
                "crm.objects.line_items.read",
                "crm.objects.invoices.read",
                "oauth",
            ],
            "granted_from": "system",
        },
    },
    "apikey.invalid": {
        "subject": "stripe",
        "system": "stripe",
        "evidence": _error(
            _STRIPE, "TokenRevoked", "Invalid API Key provided: rk_live_****Xk2p", "api_key_invalid", 401
        ),
    },
    "apikey.permissions": {
        "subject": "stripe",
        "system": "stripe",
        "evidence": {
            **_STRIPE,
            "missing": ["rak_invoice_read"],
            "granted": ["rak_customer_read", "rak_price_read", "rak_product_read"],
            "needed": ["rak_customer_read", "rak_product_read", "rak_price_read", "rak_invoice_read"],
            "granted_from": "system",
        },
    },
    "apikey.environment": {
        "subject": "stripe",
        "system": "stripe",
        "evidence": {
            **_STRIPE,
            "configured": "live",
            "actual": "test",
            "auth": "api_key",
            "key_kind": "restricted",
            "key_prefix": "rk_test_",
        },
    },
    "plan.addon_missing": {
        "subject": "approve_invoices",
        "system": "xero",
        "evidence": {
            "system": "xero",
            "feature": "approve_invoices",
            "plan": "STARTER",
            "organisation": "Acme Plumbing Ltd",
            "reasons": ["required"],
            "count": 3,
            "invoices": ["INV-1042", "INV-1043", "INV-1044"],
        },
    },
    "plan.feature_missing": {
        "subject": "multicurrency",
        "system": "quickbooks",
        "evidence": {
            "system": "quickbooks",
            "feature": "multicurrency",
            "plan": "QuickBooks Online Essentials",
            "organisation": "Acme Plumbing Ltd",
            "reasons": ["currency"],
            "count": 2,
            "invoices": ["INV-2001", "INV-2002"],
            "base_currency": "USD",
            "currencies": ["CAD", "EUR"],
        },
    },
    "plan.limit": {
        "subject": "monthly_invoice_limit",
        "system": "xero",
        "evidence": {
            "system": "xero",
            "plan": "STARTER",
            "organisation": "Acme Plumbing Ltd",
            "limit": 20,
            "used": 14,
            "remaining": 6,
            "reached": False,
            "month": "2026-05",
            "as_of": "2026-05-20",
            "days_in_month": 31,
            "per_day": 0.7,
            "projected_day": 29,
            "projected_date": "2026-05-29",
            "resets_on": "2026-06-01",
            "waiting": [],
        },
    },
    "plan.trial": {
        "subject": "quickbooks",
        "system": "quickbooks",
        "evidence": {
            "system": "quickbooks",
            "side": "destination",
            "organisation": "Acme Plumbing Ltd",
            "tenant": "9130350000000001",
            "plan": "QBWEBPLUS",
            "is_trial": True,
            "is_demo": False,
            "trial_days_remaining": 9,
            "status": "TRIAL",
        },
    },
    "settings.sync_disabled": {
        "subject": "enabled",
        "system": "hubspot",
        "evidence": {"setting": "enabled", "value": False, "count": 2, "invoices": ["INV-1042", "INV-1043"]},
    },
    "settings.direction": {
        "subject": "direction",
        "system": "hubspot",
        "evidence": {
            "direction": "destination_to_source",
            "needed": "source_to_destination",
            "count": 1,
            "invoices": ["INV-1042"],
        },
    },
    "settings.status_filter": {
        "subject": "statuses",
        "system": "hubspot",
        "evidence": {
            "selected": ["open", "paid"],
            "excluded": {"draft": 12},
            "count": 12,
            "invoices": [f"INV-{n}" for n in range(1100, 1112)],
        },
    },
    "settings.date_filter": {
        "subject": "date_range",
        "system": "hubspot",
        "evidence": {
            "since": "2026-05-01",
            "until": None,
            "before_since": 4,
            "after_until": 0,
            "count": 4,
            "invoices": ["INV-0990", "INV-0991", "INV-0995", "INV-0998"],
        },
    },
    "settings.skipped_source": {
        "subject": "skip_sources",
        "system": "hubspot",
        "evidence": {
            "skip_sources": ["aroflo"],
            "excluded": {"aroflo": 2},
            "count": 2,
            "invoices": ["AF-77", "AF-78"],
        },
    },
    "settings.period_locked": {
        "subject": "lock_date",
        "system": "xero",
        "evidence": {
            "system": "xero",
            "organisation": "Acme Plumbing Ltd",
            "lock_date": "2026-03-31",
            "count": 2,
            "invoices": [
                {"number": "INV-0981", "issue_date": "2026-03-28"},
                {"number": "INV-0982", "issue_date": "2026-03-31"},
            ],
            "earliest": "2026-03-28",
        },
    },
    "rate.limited": {
        "subject": "xero",
        "system": "xero",
        "evidence": {
            **_XERO,
            "reasons": ["throttled", "day_quota"],
            "throttled": 4,
            "day_remaining": 312,
            "day_limit": 5000,
            "day_threshold": 500,
            "minute_remaining": 0,
            "last_problem": "minute",
            "exhausted": False,
        },
    },
}

# Other branches of the same templates: (code, example), rendered by tests/checks/test_remediation_a.py.
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    (
        "connection.disconnected",
        {
            "subject": "xero",
            "system": "xero",
            "evidence": {
                **_error(_XERO, "TenantError", "AuthenticationUnsuccessful", "AuthenticationUnsuccessful", 403),
                "configured_tenant": "a3f1",
                "configured_name": "Acme <Plumbing> & Co",
                "reason": "tenant_disconnected",
                "state": "active",
            },
        },
    ),
    (
        "connection.disconnected",
        {
            "subject": "stripe",
            "system": "stripe",
            "evidence": {**_STRIPE, "state": "disconnected", "reason": "disconnected", "last_error": None},
        },
    ),
    (
        "connection.state",
        {"subject": "hubspot", "system": "hubspot", "evidence": {**_HUB, "state": "grace_period", "last_error": None}},
    ),
    (
        "connection.state",
        {"subject": "xero", "system": "xero", "evidence": {**_XERO, "state": "pending_credits", "last_error": None}},
    ),
    (
        "connection.wrong_tenant",
        {
            "subject": "quickbooks",
            "system": "quickbooks",
            "evidence": {
                **_QBO,
                "configured_tenant": "9130350000000001",
                "configured_name": "Acme",
                "connected_tenant": "9130350000000001",
                "connected_name": "Acme Holdings",
                "tenant_differs": False,
                "name_differs": True,
                "renamed": True,
                "tenants_available": [],
                "configured_reachable": False,
            },
        },
    ),
    (
        "connection.wrong_tenant",
        {
            "subject": "stripe",
            "system": "stripe",
            "evidence": {
                **_error(
                    _STRIPE,
                    "TenantError",
                    "the API key belongs to account acct_2 (Other), not the configured acct_1",
                    "wrong_account",
                    None,
                ),
                "configured_tenant": "acct_1",
                "configured_name": None,
            },
        },
    ),
    (
        "connection.wrong_tenant",
        {
            "subject": "xero",
            "system": "xero",
            "evidence": {
                **_XERO,
                "configured_tenant": "t-1",
                "configured_name": None,
                "connected_tenant": "t-2",
                "connected_name": "Other Org",
                "tenant_differs": True,
                "name_differs": False,
                "renamed": False,
                "tenants_available": [{"id": "t-2", "name": "Other Org"}, {"id": "t-1", "name": "Acme"}],
                "configured_reachable": True,
            },
        },
    ),
    (
        "token.expired",
        {
            "subject": "quickbooks",
            "system": "quickbooks",
            "evidence": _error(
                _QBO,
                "TokenExpired",
                "message=ApplicationAuthenticationFailed; errorCode=003200; statusCode=401",
                "3200",
                401,
            ),
        },
    ),
    (
        "token.expired",
        {
            "subject": "hubspot",
            "system": "hubspot",
            "evidence": {**_HUB, "token": "access", "expired_at": "2026-05-20T08:00:00+00:00", "refreshable": False},
        },
    ),
    (
        "token.expiring",
        {
            "subject": "quickbooks",
            "system": "quickbooks",
            "evidence": {
                **_QBO,
                "token": "refresh",
                "basis": "stated",
                "issued_at": None,
                "expires_at": "2026-06-01T00:00:00+00:00",
                "lifetime_days": None,
                "age_days": None,
                "days_remaining": 11,
                "reasons": ["days_left"],
            },
        },
    ),
    (
        "token.scope_missing",
        {
            "subject": "quickbooks",
            "system": "quickbooks",
            "evidence": {
                **_error(_QBO, "ScopeMissing", "AuthorizationFailure", "120", 403),
                "missing": ["com.intuit.quickbooks.accounting"],
            },
        },
    ),
    (
        "apikey.invalid",
        {
            "subject": "hubspot",
            "system": "hubspot",
            "evidence": _error(
                _HUB, "TokenRevoked", "Authentication credentials not found", "INVALID_AUTHENTICATION", 401
            ),
        },
    ),
    (
        "apikey.permissions",
        {
            "subject": "hubspot",
            "system": "hubspot",
            "evidence": {
                **_HUB,
                "missing": ["crm.objects.invoices.read"],
                "granted": ["oauth"],
                "needed": ["oauth"],
                "granted_from": "system",
            },
        },
    ),
    (
        "apikey.environment",
        {
            "subject": "hubspot",
            "system": "hubspot",
            "evidence": {
                **_HUB,
                "configured": "live",
                "actual": "test",
                "auth": "oauth2",
                "key_kind": None,
                "key_prefix": None,
            },
        },
    ),
    (
        "apikey.environment",
        {
            "subject": "quickbooks",
            "system": "quickbooks",
            "evidence": {
                **_error(_QBO, "WrongEnvironment", "sandbox company on a live integration", None, None),
                "actual": "test",
                "configured": "live",
            },
        },
    ),
    (
        "plan.addon_missing",
        {
            "subject": "sync_addon",
            "system": "quickbooks",
            "evidence": {
                "system": "quickbooks",
                "feature": "sync_addon",
                "plan": None,
                "organisation": "Acme",
                "reasons": ["required"],
                "count": 0,
                "invoices": [],
            },
        },
    ),
    (
        "plan.feature_missing",
        {
            "subject": "tracking",
            "system": "xero",
            "evidence": {
                "system": "xero",
                "feature": "tracking",
                "plan": "STANDARD",
                "organisation": "Acme",
                "reasons": ["tracking_mapped"],
                "count": 1,
                "invoices": ["INV-7"],
                "tracking_categories": ["Region"],
            },
        },
    ),
    (
        "plan.feature_missing",
        {
            "subject": "inventory",
            "system": "hubspot",
            "evidence": {
                "system": "hubspot",
                "feature": "inventory",
                "plan": None,
                "organisation": "Acme",
                "reasons": ["required"],
                "count": 0,
                "invoices": [],
            },
        },
    ),
    (
        "plan.limit",
        {
            "subject": "monthly_invoice_limit",
            "system": "xero",
            "evidence": {
                **EXAMPLES["plan.limit"]["evidence"],
                "used": 20,
                "remaining": 0,
                "reached": True,
                "projected_day": None,
                "projected_date": None,
                "waiting": ["INV-1100"],
            },
        },
    ),
    (
        "plan.trial",
        {
            "subject": "xero",
            "system": "xero",
            "evidence": {
                **EXAMPLES["plan.trial"]["evidence"],
                "system": "xero",
                "organisation": "Demo Company (AU)",
                "is_demo": True,
                "is_trial": False,
                "trial_days_remaining": None,
            },
        },
    ),
    (
        "plan.trial",
        {
            "subject": "quickbooks",
            "system": "quickbooks",
            "evidence": {**EXAMPLES["plan.trial"]["evidence"], "trial_days_remaining": 0},
        },
    ),
    (
        "settings.sync_disabled",
        {
            "subject": "auto_sync.sales",
            "system": "stripe",
            "evidence": {"setting": "auto_sync.sales", "value": False, "count": 0, "invoices": []},
        },
    ),
    (
        "settings.period_locked",
        {
            "subject": "lock_date",
            "system": "quickbooks",
            "evidence": {**EXAMPLES["settings.period_locked"]["evidence"], "system": "quickbooks", "count": 25},
        },
    ),
    (
        "rate.limited",
        {
            "subject": "quickbooks",
            "system": "quickbooks",
            "evidence": {
                **_error(_QBO, "RateLimited", "ThrottleExceeded", "429", 429),
                "retry_after": 60.0,
                "limit": "minute",
            },
        },
    ),
    (
        "rate.limited",
        {
            "subject": "hubspot",
            "system": "hubspot",
            "evidence": {
                **_HUB,
                "reasons": ["day_quota"],
                "throttled": 0,
                "day_remaining": 0,
                "day_limit": None,
                "day_threshold": 100,
                "minute_remaining": None,
                "last_problem": None,
                "exhausted": True,
            },
        },
    ),
]
