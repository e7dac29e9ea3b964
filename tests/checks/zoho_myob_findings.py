"""Scenarios in which the real checks find codes on a Zoho Books or MYOB destination (see
``tests/checks/produced_findings.py``): the branches of the remediation templates that name
those systems' own screens, and the two token codes only they raise today.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from checks.mappings import MAPPINGS
from checks.plan import PLAN
from checks.platform import RATE
from checks.settings import SETTINGS
from checks.skus import SKUS
from config.integrations import IntegrationConfig, Mappings
from providers import provider_class
from providers.errors import RateLimited, RefreshThrottled, TenantError, TenantLoginRejected, TokenRevoked
from providers.records import ConnectionInfo, Feature, OrgInfo, RateStatus, TaxRate, TrackingCategory, TrackingRef
from tests.checks.access_findings import CONNECTION, stripe
from tests.checks.contexts import config, side
from tests.checks.data_findings import _run
from tests.checks.produced_findings import Produced, Registry, from_errors, run_checks
from tests.checks.records import invoice, item, line, oauth

ZOHO_MYOB = Registry()

ZOHO_ORG = "10234695"
MYOB_FILE = "5d4b1ce0-bb9f-4f4c-9578-2b168b7295db"


def stripe_to_zoho(**settings: Any) -> IntegrationConfig:
    return config(
        "stripe",
        "zoho_books",
        source_side={"tenant": "acct_1", "environment": "live"},
        destination_side={"tenant": ZOHO_ORG, "name": "Zillum"},
        **settings,
    )


def hubspot_to_myob(**settings: Any) -> IntegrationConfig:
    return config("hubspot", "myob", destination_side={"tenant": MYOB_FILE, "name": "Bluegum Plumbing"}, **settings)


def zoho(cfg: IntegrationConfig, **kw: Any) -> Any:
    info = ConnectionInfo(tenant_id=ZOHO_ORG, tenant_name="Zillum", tenants_available=((ZOHO_ORG, "Zillum"),))
    kw.setdefault("credentials", oauth(scopes=provider_class("zoho_books").scopes_needed))
    return side("destination", cfg, probe=kw.pop("probe", info), **kw)


def myob(cfg: IntegrationConfig, **kw: Any) -> Any:
    info = ConnectionInfo(tenant_id=MYOB_FILE, tenant_name="Bluegum Plumbing")
    kw.setdefault("credentials", oauth(scopes=provider_class("myob").scopes_needed, tenant_id=MYOB_FILE))
    return side("destination", cfg, probe=kw.pop("probe", info), **kw)


# -- connection and tokens -----------------------------------------------------------------


@ZOHO_MYOB.add
def zoho_disconnected_by_an_admin() -> Produced:
    cfg = stripe_to_zoho()
    return run_checks(cfg, stripe(cfg), zoho(cfg, state="disconnected"), *CONNECTION)


@ZOHO_MYOB.add
def zoho_token_reaches_another_organization() -> Produced:
    cfg = stripe_to_zoho()
    info = ConnectionInfo(tenant_id="99", tenant_name="Globex", tenants_available=(("99", "Globex"),))
    return run_checks(cfg, stripe(cfg), zoho(cfg, probe=info), *CONNECTION)


@ZOHO_MYOB.add
def zoho_refresh_limit_hit() -> Produced:
    cfg = stripe_to_zoho()
    error = RefreshThrottled(
        "You have made too many requests continuously. Please try again after some time.",
        system="zoho_books",
        code="Access Denied",
        status=400,
        retry_after=600.0,
        limit="refresh",
    )
    return from_errors(cfg, [(error, zoho(cfg))])


@ZOHO_MYOB.add
def myob_company_file_sign_in_refused() -> Produced:
    cfg = hubspot_to_myob()
    error = TenantLoginRejected(
        f"MYOB company file {MYOB_FILE}: its user and password were refused (Access denied)",
        system="myob",
        code="AccessDenied",
        status=401,
    )
    return from_errors(cfg, [(error, myob(cfg))])


@ZOHO_MYOB.add
def myob_api_key_inactive() -> Produced:
    cfg = hubspot_to_myob()
    error = TokenRevoked(
        "the MYOB API key was refused: API key is missing or inactive",
        system="myob",
        code="DeveloperInactive",
        status=403,
    )
    return from_errors(cfg, [(error, myob(cfg))])


@ZOHO_MYOB.add
def myob_consent_granted_another_file() -> Produced:
    cfg = hubspot_to_myob()
    error = TenantError(
        f"this connection was granted company file 0e55e471, not the configured {MYOB_FILE}: Access denied",
        system="myob",
        code="AccessDenied",
        status=403,
    )
    return from_errors(cfg, [(error, myob(cfg))])


# -- limits ----------------------------------------------------------------------------------


@ZOHO_MYOB.add
def zoho_daily_quota_nearly_spent() -> Produced:
    cfg = stripe_to_zoho()
    rate = RateStatus(day_remaining=40, day_limit=1000)
    return run_checks(cfg, stripe(cfg, rate=RateStatus()), zoho(cfg, rate=rate), RATE)


@ZOHO_MYOB.add
def myob_throttles_with_403() -> Produced:
    cfg = hubspot_to_myob()
    error = RateLimited(
        "API key has exceeded the per-second rate limit",
        system="myob",
        code="RateLimitError",
        status=403,
        retry_after=1.0,
        limit="second",
    )
    return from_errors(cfg, [(error, myob(cfg))])


# -- plan and settings ---------------------------------------------------------------------


@ZOHO_MYOB.add
def myob_essentials_without_multicurrency() -> Produced:
    cfg = hubspot_to_myob()
    org = OrgInfo(
        MYOB_FILE,
        "Bluegum Plumbing",
        base_currency="AUD",
        currencies=frozenset({"AUD"}),
        plan="MYOB Business Lite",
        features_known=True,
    )
    src = side("source", cfg, credentials=oauth(), invoices=[invoice("INV-1", currency="USD")])
    dst = side("destination", cfg, credentials=oauth(), org=org, invoices=[])
    return run_checks(cfg, src, dst, PLAN)


@ZOHO_MYOB.add
def zoho_trial_running() -> Produced:
    cfg = stripe_to_zoho()
    org = OrgInfo(ZOHO_ORG, "Zillum", plan="Standard", is_trial=True, trial_days_remaining=9)
    src = side("source", cfg, credentials=oauth(), invoices=[])
    dst = side("destination", cfg, credentials=oauth(), org=org, invoices=[])
    return run_checks(cfg, src, dst, PLAN)


@ZOHO_MYOB.add
def myob_period_locked() -> Produced:
    cfg = hubspot_to_myob()
    org = OrgInfo(MYOB_FILE, "Bluegum Plumbing", lock_date=date(2026, 4, 30), features=frozenset({Feature.TRACKING}))
    src = side("source", cfg, credentials=oauth(), invoices=[invoice("INV-3", day=date(2026, 4, 12))])
    dst = side("destination", cfg, credentials=oauth(), org=org, invoices=[])
    return run_checks(cfg, src, dst, SETTINGS)


@ZOHO_MYOB.add
def zoho_transactions_locked() -> Produced:
    cfg = stripe_to_zoho()
    org = OrgInfo(ZOHO_ORG, "Zillum", lock_date=date(2026, 4, 30))
    src = side("source", cfg, credentials=oauth(), invoices=[invoice("S-9", day=date(2026, 4, 2))])
    dst = side("destination", cfg, credentials=oauth(), org=org, invoices=[])
    return run_checks(cfg, src, dst, SETTINGS)


# -- data ------------------------------------------------------------------------------------


@ZOHO_MYOB.add
def myob_item_number_differs_in_case() -> Produced:
    source = {"invoices": [invoice("H1", line("hws-250"), line("OLD-1"), line("NEW-9"))]}
    destination = {"items": [item("HWS-250", "Hot water system"), item("OLD-1", active=False)]}
    return _run(SKUS, source, destination, systems=("hubspot", "myob"))


@ZOHO_MYOB.add
def zoho_skus_missing_or_ambiguous() -> Produced:
    source = {"invoices": [invoice("S1", line("PROD-9"), line("DUP-1"))]}
    destination = {"items": [item("DUP-1", id="d1"), item("DUP-1", id="d2"), item("PROD-1")]}
    return _run(SKUS, source, destination, systems=("stripe", "zoho_books"))


@ZOHO_MYOB.add
def zoho_codes_the_books_lack() -> Produced:
    invoices = [
        invoice(
            "S1",
            line(None, account_code="4999", tax_code="VAT 5%", tracking=(TrackingRef("Region", "East"),)),
            currency="EUR",
        ),
    ]
    destination = {
        "accounts": [],
        "tax_rates": [TaxRate("Sales Tax", "Sales Tax")],
        "tracking": [TrackingCategory("t1", "Region")],
        "org": OrgInfo(ZOHO_ORG, "Zillum", base_currency="USD", currencies=frozenset({"USD"})),
    }
    return _run(MAPPINGS, {"invoices": invoices}, destination, systems=("stripe", "zoho_books"))


@ZOHO_MYOB.add
def myob_category_tracking_off() -> Produced:
    tagged = invoice("H2", line(None, account_code="4-1000", tracking=(TrackingRef("Category", "North"),)))
    destination = {
        "accounts": [],
        "tracking": [TrackingCategory("category", "Category", status="off")],
    }
    return _run(
        MAPPINGS,
        {"invoices": [tagged]},
        destination,
        systems=("hubspot", "myob"),
        mappings=Mappings(default_account="4-1000"),
    )
