"""Plan checks over preloaded organisations and invoices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from checks.findings import Severity
from checks.plan import check_plan
from config.integrations import Mappings
from providers.records import Feature, InvoiceStatus, OrgInfo, TrackingRef
from tests.checks.contexts import config, ctx, side
from tests.checks.records import NOW, invoice, line, oauth

REALM = "9130350000000001"


def org(**kw):
    base = dict(
        tenant_id=REALM,
        name="Acme Pty Ltd",
        base_currency="AUD",
        currencies=frozenset({"AUD"}),
        plan="QuickBooks Online Essentials",
        features_known=True,
        features=frozenset({Feature.APPROVE_INVOICES, Feature.SYNC_ADDON}),
    )
    base.update(kw)
    return OrgInfo(**base)


def run(cfg, source_invoices, dest_org, dest_invoices=(), now=NOW, source_org=None):
    src_res = {"invoices": list(source_invoices)}
    if source_org is not None:
        src_res["org"] = source_org
    src = side("source", cfg, credentials=oauth(), **src_res)
    dst = side("destination", cfg, credentials=oauth(), org=dest_org, invoices=list(dest_invoices))
    return list(check_plan(ctx(cfg, src, dst, now)))


def test_healthy_plan_gives_nothing():
    cfg = config("hubspot", "quickbooks")
    assert run(cfg, [invoice("INV-1"), invoice("INV-2", currency="aud")], org()) == []


def test_foreign_currency_needs_multicurrency_with_blocked_invoices():
    cfg = config("hubspot", "quickbooks")
    invs = [
        invoice("INV-1"),
        invoice("INV-2", currency="USD", total="250.00"),
        invoice("INV-3", currency="NZD", total="80.00"),
        invoice("INV-4", currency="USD", total="10.00"),
    ]
    landed = [invoice("INV-4")]  # already in the destination: not blocked
    [f] = run(cfg, invs, org(), landed)
    assert f.code == "plan.feature_missing"
    assert f.severity is Severity.FAIL
    assert f.subject == "multicurrency"
    assert f.system == "quickbooks"
    assert f.evidence == {
        "system": "quickbooks",
        "feature": "multicurrency",
        "plan": "QuickBooks Online Essentials",
        "organisation": "Acme Pty Ltd",
        "reasons": ["currency"],
        "count": 2,
        "invoices": ["INV-2", "INV-3"],
        "base_currency": "AUD",
        "currencies": ["NZD", "USD"],
    }
    assert f.impact.invoices == ("INV-2", "INV-3")
    assert f.impact.amounts == {"USD": Decimal("250.00"), "NZD": Decimal("80.00")}


def test_currency_mapping_is_applied_before_comparing():
    cfg = config("hubspot", "quickbooks", mappings=Mappings(currencies={"USD": "AUD"}))
    assert run(cfg, [invoice("INV-1", currency="USD")], org()) == []


def test_multicurrency_on_the_plan_is_fine():
    cfg = config("hubspot", "quickbooks")
    dest = org(features=frozenset({Feature.MULTICURRENCY}))
    assert run(cfg, [invoice("INV-2", currency="USD")], dest) == []


def test_mapped_tracking_needs_tracking():
    cfg = config("hubspot", "xero", mappings=Mappings(tracking={"Region": "Region"}))
    tagged = invoice("INV-7", line(tracking=(TrackingRef("Region", "North"),)))
    [f] = run(cfg, [tagged, invoice("INV-8")], org())
    assert f.subject == "tracking"
    assert f.evidence["reasons"] == ["tracking_mapped"]
    assert f.evidence["tracking_categories"] == ["Region"]
    assert f.evidence["invoices"] == ["INV-7"]


def test_required_addons_and_features():
    cfg = config("hubspot", "xero", requires=("sync_addon", "approve_invoices", "inventory", "bogus"))
    invs = [invoice("INV-1"), invoice("INV-2", status=InvoiceStatus.PAID)]
    dest = org(features=frozenset())
    findings = {f.subject: f for f in run(cfg, invs, dest)}
    # Xero's Organisation/Actions reports approve_invoices; it says nothing about a sync add-on
    # or inventory, so their absence is "cannot tell", never "missing".
    assert set(findings) == {"approve_invoices"}
    assert findings["approve_invoices"].code == "plan.addon_missing"
    assert findings["approve_invoices"].evidence["reasons"] == ["required"]
    assert findings["approve_invoices"].evidence["invoices"] == ["INV-1", "INV-2"]


def test_drafts_do_not_need_approval():
    cfg = config("hubspot", "xero", requires=("approve_invoices",), statuses=("draft", "open"))
    dest = org(features=frozenset({Feature.SYNC_ADDON}))
    [f] = run(cfg, [invoice("D-1", status=InvoiceStatus.DRAFT), invoice("O-1")], dest)
    assert f.evidence["invoices"] == ["O-1"]


def test_unknown_features_are_not_judged():
    cfg = config("hubspot", "xero", requires=("multicurrency",))
    dest = org(features=frozenset(), features_known=False)
    assert run(cfg, [invoice("INV-2", currency="USD")], dest) == []


def test_monthly_limit_projected_inside_the_month_warns():
    # 20 May: 14 approved invoices this month -> 0.7 a day -> the cap of 20 is hit on day 29.
    cfg = config("hubspot", "xero")
    dest_invs = [invoice(f"X-{i}", day=date(2026, 5, 1 + i)) for i in range(14)]
    dest_invs += [invoice("DRAFT-1", status=InvoiceStatus.DRAFT), invoice("APR-1", day=date(2026, 4, 30))]
    [f] = run(cfg, [], org(monthly_invoice_limit=20), dest_invs)
    assert f.code == "plan.limit"
    assert f.severity is Severity.WARN
    assert f.evidence == {
        "system": "xero",
        "plan": "QuickBooks Online Essentials",
        "organisation": "Acme Pty Ltd",
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
    }


def test_monthly_limit_reached_fails_with_waiting_invoices():
    cfg = config("hubspot", "xero")
    dest_invs = [invoice(f"X-{i}", day=date(2026, 5, 2)) for i in range(20)]
    [f] = run(cfg, [invoice("INV-100", total="75.00")], org(monthly_invoice_limit=20), dest_invs)
    assert f.severity is Severity.FAIL
    assert f.evidence["reached"] is True
    assert f.evidence["waiting"] == ["INV-100"]
    assert f.evidence["projected_day"] is None
    assert f.impact.invoices == ("INV-100",)


def test_monthly_limit_comfortable_pace_is_quiet():
    cfg = config("hubspot", "xero")
    dest_invs = [invoice(f"X-{i}", day=date(2026, 5, 3)) for i in range(5)]
    assert run(cfg, [], org(monthly_invoice_limit=20), dest_invs) == []


def test_trial_and_demo():
    cfg = config("hubspot", "xero")
    [trial] = run(cfg, [], org(is_trial=True, trial_days_remaining=12, status="TRIAL"))
    assert trial.code == "plan.trial" and trial.severity is Severity.WARN
    assert trial.evidence == {
        "system": "xero",
        "side": "destination",
        "organisation": "Acme Pty Ltd",
        "tenant": REALM,
        "plan": "QuickBooks Online Essentials",
        "is_trial": True,
        "is_demo": False,
        "trial_days_remaining": 12,
        "status": "TRIAL",
    }
    [demo] = run(cfg, [], org(is_demo=True, name="Demo Company (AU)", features_known=False))
    assert demo.severity is Severity.FAIL and demo.evidence["is_demo"] is True
    [ended] = run(cfg, [], org(is_trial=True, trial_days_remaining=0))
    assert ended.severity is Severity.FAIL


def test_demo_on_a_test_integration_only_warns():
    cfg = config("hubspot", "xero", destination_side={"environment": "test"})
    [demo] = run(cfg, [], org(is_demo=True))
    assert demo.severity is Severity.WARN


def test_system_without_plan_tier_gives_nothing():
    # HubSpot and Stripe expose no plan: features_known False, nothing guessed.
    cfg = config("xero", "hubspot", requires=("multicurrency",))
    hub = OrgInfo(tenant_id="4410021", name="acme.hubspot.com", base_currency="AUD", features_known=False)
    assert run(cfg, [invoice("INV-1", currency="USD")], hub) == []
