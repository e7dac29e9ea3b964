"""Plan checks: does the destination's subscription allow what this integration does?

Only systems that state their plan's features (``OrgInfo.features_known``: Xero's
``/Organisation/Actions``, QuickBooks' entitlements) are judged; HubSpot and Stripe expose no
plan tier (PROVIDERS.md §3, §4), so nothing is guessed for them.

* ``plan.feature_missing``: a feature the configuration requires (``requires:``), a configured
  mapping relies on, or the data needs is not on the plan: an in-scope invoice in a currency
  other than the destination's base currency, or a currency mapping onto one, needs
  multi-currency; mapped tracking categories need tracking (Xero tracking / QuickBooks classes);
  lines selling items the destination tracks as inventory need inventory.
* ``mapping.tracking`` (reason ``tracking_off``): tracking categories are mapped, and the plan
  includes tracking or does not say, but the destination's own preferences have it switched off
  (a QuickBooks company not tracking classes or locations). The plan is not what is missing, so
  ``plan.feature_missing`` would send the admin to the wrong screen; the configured mapping is
  what cannot be honoured (every mapped class would be dropped or refused), and the fix is a
  setting (switch tracking on) or the mapping itself, which is what ``mapping.tracking`` covers.
  When the plan says it lacks tracking, ``plan.feature_missing`` alone is reported.
* ``plan.addon_missing``: the approve-invoices permission or the sync add-on, when required.
* ``plan.limit``: a monthly invoice cap (Xero's legacy "Early" plan: 20 approved sales
  invoices a month, PROVIDERS.md §1 Plan tier) reached, or projected to be reached this month
  at this month's pace.
* ``plan.trial``: a trial or demo company is connected.
"""

from __future__ import annotations

import calendar
import logging
import math
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

from checks.base import Check
from checks.catalog import entry
from checks.context import RunContext, SideData
from checks.findings import Finding, Impact, Severity
from checks.scope import in_scope
from checks.settings import not_in_destination
from providers import provider_class
from providers.base import Capability
from providers.records import Feature, Invoice, InvoiceStatus, OrgInfo

logger = logging.getLogger(__name__)

ADDONS = frozenset({Feature.APPROVE_INVOICES, Feature.SYNC_ADDON})
MAX_LISTED = 20  # invoice numbers listed in evidence; the impact keeps them all


def _numbers(invoices: Sequence[Invoice]) -> list[str]:
    return [inv.number or inv.id for inv in invoices[:MAX_LISTED]]


def _required(ctx: RunContext) -> list[Feature]:
    found: list[Feature] = []
    for name in ctx.integration.requires:
        try:
            found.append(Feature(name.strip().lower()))
        except ValueError:
            logger.warning("integration %s requires unknown feature %r", ctx.integration.name, name)
    return found


def _foreign_currency(ctx: RunContext, org: OrgInfo, invoices: Sequence[Invoice]) -> list[Invoice]:
    """In-scope invoices whose (mapped) currency is not the destination's base currency."""
    if not org.base_currency:
        return []
    mapping = ctx.integration.mappings.currencies
    base = org.base_currency.upper()
    return [inv for inv in invoices if mapping.get(inv.currency, inv.currency).upper() != base]


def _tracked(ctx: RunContext, invoices: Sequence[Invoice]) -> list[Invoice]:
    """In-scope invoices with a line tagged with a mapped tracking category."""
    mapped = set(ctx.integration.mappings.tracking)
    return [inv for inv in invoices if any(ref.category in mapped for line in inv.lines for ref in line.tracking)]


def _inventory_lines(ctx: RunContext, invoices: Sequence[Invoice]) -> list[Invoice]:
    """In-scope invoices with a line whose SKU is an inventory item in the destination."""
    if not ctx.destination.supports(Capability.ITEMS):
        return []
    stocked = {item.code.casefold() for item in ctx.destination.items() if item.inventory and item.code}
    if not stocked:
        return []
    return [inv for inv in invoices if any(line.sku and line.sku.casefold() in stocked for line in inv.lines)]


def _mapped_foreign_currencies(ctx: RunContext, org: OrgInfo) -> list[str]:
    """Currencies the configuration maps invoices onto that are not the destination's base."""
    if not org.base_currency:
        return []
    base = org.base_currency.upper()
    return sorted({target.upper() for target in ctx.integration.mappings.currencies.values() if target.upper() != base})


def _needs(ctx: RunContext, org: OrgInfo, invoices: Sequence[Invoice]) -> dict[Feature, dict[str, Any]]:
    """Each feature this integration needs, why, and the invoices that need it."""
    needs: dict[Feature, dict[str, Any]] = {}

    def need(feature: Feature, reason: str, blocked: Sequence[Invoice]) -> None:
        slot = needs.setdefault(feature, {"reasons": [], "invoices": []})
        slot["reasons"].append(reason)
        seen = {id(inv) for inv in slot["invoices"]}
        slot["invoices"].extend(inv for inv in blocked if id(inv) not in seen)

    for feature in _required(ctx):
        if feature is Feature.SYNC_ADDON:
            blocked: Sequence[Invoice] = invoices  # nothing syncs without it
        elif feature is Feature.APPROVE_INVOICES:
            blocked = [inv for inv in invoices if inv.status is not InvoiceStatus.DRAFT]  # only drafts could land
        elif feature is Feature.MULTICURRENCY:
            blocked = _foreign_currency(ctx, org, invoices)
        elif feature is Feature.TRACKING:
            blocked = _tracked(ctx, invoices)
        elif feature is Feature.INVENTORY:
            blocked = _inventory_lines(ctx, invoices)
        else:
            blocked = []
        need(feature, "required", blocked)
    foreign = _foreign_currency(ctx, org, invoices)
    if foreign:
        need(Feature.MULTICURRENCY, "currency", foreign)
    if _mapped_foreign_currencies(ctx, org):
        need(Feature.MULTICURRENCY, "currency_mapped", foreign)
    if ctx.integration.mappings.tracking:
        need(Feature.TRACKING, "tracking_mapped", _tracked(ctx, invoices))
    stocked = _inventory_lines(ctx, invoices)
    if stocked:
        need(Feature.INVENTORY, "inventory_items", stocked)
    return needs


def feature_findings(ctx: RunContext, side: SideData, org: OrgInfo, pending: Sequence[Invoice]) -> Iterator[Finding]:
    """Features (and add-ons) needed but not on the plan; ``pending`` are the in-scope source
    invoices not yet in the destination, the only ones a missing feature can block."""
    reportable = provider_class(side.system).plan_features
    for feature, need in _needs(ctx, org, pending).items():
        if feature in org.features or feature not in reportable:
            continue  # on the plan, or the system does not say: never reported as missing
        code = "plan.addon_missing" if feature in ADDONS else "plan.feature_missing"
        blocked: list[Invoice] = need["invoices"]
        evidence: dict[str, Any] = {
            "system": side.system,
            "feature": feature.value,
            "plan": org.plan,
            "organisation": org.name,
            "reasons": need["reasons"],
            "count": len(blocked),
            "invoices": _numbers(blocked),
        }
        if feature is Feature.MULTICURRENCY:
            mapping = ctx.integration.mappings.currencies
            evidence["base_currency"] = org.base_currency
            evidence["currencies"] = sorted(
                {mapping.get(inv.currency, inv.currency).upper() for inv in blocked}
                | set(_mapped_foreign_currencies(ctx, org))
            )
        if feature is Feature.TRACKING:
            evidence["tracking_categories"] = sorted(ctx.integration.mappings.tracking)
        yield Finding(
            code=code,
            severity=entry(code).severity,
            subject=feature.value,
            evidence=evidence,
            impact=Impact.of(blocked),
            system=side.system,
        )


def tracking_off_finding(ctx: RunContext, side: SideData, org: OrgInfo, pending: Sequence[Invoice]) -> Finding | None:
    """``mapping.tracking`` (reason ``tracking_off``) when tracking categories are mapped but the
    destination's preferences say it tracks none; see the module docstring for the code."""
    mapped = ctx.integration.mappings.tracking
    if not mapped or org.features_enabled is None or Feature.TRACKING in org.features_enabled:
        return None
    if org.features_known and Feature.TRACKING not in org.features:
        return None  # the plan lacks it: plan.feature_missing says so
    blocked = _tracked(ctx, pending)
    categories = sorted(set(mapped.values()))
    return Finding(
        code="mapping.tracking",
        severity=entry("mapping.tracking").severity,
        subject=", ".join(categories),
        evidence={
            "system": side.system,
            "reason": "tracking_off",
            "category": ", ".join(categories),
            "source_categories": sorted(mapped),
            "organisation": org.name,
            "plan": org.plan,
            "count": len(blocked),
            "invoices": _numbers(blocked),
        },
        impact=Impact.of(blocked),
        system=side.system,
    )


def limit_finding(ctx: RunContext, side: SideData, org: OrgInfo, pending: Sequence[Invoice]) -> Finding | None:
    """``plan.limit``: this month's invoices against the plan's monthly cap, with the day the
    cap will be hit at this month's pace. Invoices are counted by issue date (the one date every
    system gives) and drafts are left out: caps count approved invoices (Xero "Early")."""
    limit = org.monthly_invoice_limit
    if limit is None or not side.supports(Capability.INVOICES):
        return None
    today = ctx.today
    month_start = today.replace(day=1)
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    used = sum(
        1
        for inv in side.invoices()
        if inv.issue_date is not None
        and month_start <= inv.issue_date <= today
        and inv.status is not InvoiceStatus.DRAFT
    )
    pace = used / today.day
    projected_day = math.ceil(limit / pace) if pace > 0 else None
    reached = used >= limit
    if not reached and (projected_day is None or projected_day > days_in_month):
        return None
    projected: date | None = None
    if projected_day is not None and not reached:
        projected = month_start + timedelta(days=projected_day - 1)
    waiting = list(pending) if reached else []
    return Finding(
        code="plan.limit",
        # Reached, every further invoice this month is refused: that blocks, so it fails
        # (the catalog's WARN is for "near").
        severity=Severity.FAIL if reached else entry("plan.limit").severity,
        subject="monthly_invoice_limit",
        evidence={
            "system": side.system,
            "plan": org.plan,
            "organisation": org.name,
            "limit": limit,
            "used": used,
            "remaining": max(limit - used, 0),
            "reached": reached,
            "month": month_start.strftime("%Y-%m"),
            "as_of": today.isoformat(),
            "days_in_month": days_in_month,
            "per_day": round(pace, 2),
            "projected_day": projected_day if not reached else None,
            "projected_date": projected.isoformat() if projected else None,
            "resets_on": (month_start + timedelta(days=days_in_month)).isoformat(),
            "waiting": _numbers(waiting),
        },
        impact=Impact.of(waiting),
        system=side.system,
    )


def trial_finding(side: SideData, org: OrgInfo) -> Finding | None:
    if not (org.is_trial or org.is_demo):
        return None
    expired = org.trial_days_remaining is not None and org.trial_days_remaining <= 0 and org.is_trial
    # A demo company, or a trial that has ended, on an integration meant for live books means
    # real invoices land nowhere real: fail. A running trial only warns (it will need a plan).
    live = side.config.environment != "test"
    severity = Severity.FAIL if live and (org.is_demo or expired) else entry("plan.trial").severity
    return Finding(
        code="plan.trial",
        severity=severity,
        subject=side.system,
        evidence={
            "system": side.system,
            "side": side.side,
            "organisation": org.name,
            "tenant": org.tenant_id,
            "plan": org.plan,
            "is_trial": org.is_trial,
            "is_demo": org.is_demo,
            "trial_days_remaining": org.trial_days_remaining,
            "status": org.status,
        },
        system=side.system,
    )


def check_plan(ctx: RunContext) -> Iterator[Finding]:
    """Plan features, add-ons, monthly cap (destination) and trial / demo companies (both sides)."""
    for side in ctx.sides():
        if not side.supports(Capability.ORG):
            continue
        org = side.org()
        # A trial or demo flag is stated by the system, never defaulted to True, so it is
        # reported even where the plan's features are unknown.
        trial = trial_finding(side, org)
        if trial is not None:
            yield trial
        if side is not ctx.destination or not (org.features_known or org.features_enabled is not None):
            continue
        # Only invoices still waiting to land are blocked by a missing feature: the ones already
        # in the destination went through.
        pending = not_in_destination(ctx, in_scope(ctx)) if ctx.source.supports(Capability.INVOICES) else []
        tracking_off = tracking_off_finding(ctx, side, org, pending)
        if tracking_off is not None:
            yield tracking_off
        if not org.features_known:
            continue
        yield from feature_findings(ctx, side, org, pending)
        limit = limit_finding(ctx, side, org, pending)
        if limit is not None:
            yield limit


PLAN = Check("plan", "plan", check_plan)
