"""Mapping checks: would every account, tax code, tracking option and currency the in-scope
source invoices use land on something that exists, and is active, in the destination?

Each line's values are first translated through the integration's ``mappings`` the way sync
products apply them:

* account: ``mappings.accounts[code]`` when mapped; else ``default_account`` when set; else
  the source code as it is (both sides share a chart). A line without an account code uses
  ``default_account``; with neither, a line carrying a SKU takes the destination item's sales
  account (Xero and QuickBooks both do), so only SKU-less lines are reported, and a missing
  item is the SKU check's finding, not this one's. HubSpot and Stripe lines never carry
  account codes, so for them ``default_account`` is the account that must exist.
* tax: ``mappings.tax[code]``, else ``default_tax``, else the code as it is; a line with no
  tax code and no default is left to the destination's own default and not reported.
* tracking: ``mappings.tracking[category]`` renames the category; options keep their names.
* currency: ``mappings.currencies[code]``, else the code, upper-cased.

A translated value is then looked up in the destination: missing -> ``unknown`` (or
``unmapped`` when no mapping was involved), present but not active -> ``archived``.
QuickBooks companies often have no account numbers, so an account is found by code first,
then by name. A resource the destination does not expose is skipped (logged), never guessed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from checks.base import Check
from checks.catalog import entry
from checks.context import RunContext
from checks.findings import Finding, Impact
from checks.matching import Suggester, name_key
from checks.scope import in_scope
from providers.base import Capability
from providers.records import Account, Invoice, TaxRate, TrackingCategory

logger = logging.getLogger(__name__)

NO_CODE = "(none)"  # subject when a line has no account code and nothing supplies one


@dataclass
class _Use:
    """Where one destination value is used: the invoices, line count, source values."""

    invoices: dict[str, Invoice] = field(default_factory=dict)
    lines: int = 0
    source_values: set[str] = field(default_factory=set)
    via: set[str] = field(default_factory=set)  # "accounts" / "default_account" / "as_is" ...

    def add(self, invoice: Invoice, source_value: str | None, via: str) -> None:
        self.invoices.setdefault(invoice.number or invoice.id, invoice)
        self.lines += 1
        if source_value:
            self.source_values.add(source_value)
        self.via.add(via)


def _finding(
    ctx: RunContext, code: str, subject: str, evidence: dict[str, object], invoices: Sequence[Invoice]
) -> Finding:
    return Finding(
        code=code,
        severity=entry(code).severity,
        subject=subject,
        evidence=evidence,
        impact=Impact.of(invoices),
        system=ctx.destination.system,
    )


def _reason(use: _Use) -> str:
    # "unmapped" only when no mapping entry or default produced the value
    return "unmapped" if use.via == {"as_is"} else "unknown"


# -- accounts ---------------------------------------------------------------------------------


def _account_uses(ctx: RunContext, invoices: Sequence[Invoice]) -> dict[str, _Use]:
    m = ctx.integration.mappings
    uses: dict[str, _Use] = {}
    for inv in invoices:
        for line in inv.lines:
            src = line.account_code
            if src and src in m.accounts:
                dest, via = m.accounts[src], "accounts"
            elif m.default_account:
                dest, via = m.default_account, "default_account"
            elif src:
                dest, via = src, "as_is"
            elif line.sku:
                continue  # the destination item's sales account applies (see module docstring)
            else:
                dest, via = NO_CODE, "none"
            uses.setdefault(dest, _Use()).add(inv, src, via)
    return uses


def _find_account(accounts: dict[str, list[Account]], by_name: dict[str, list[Account]], code: str) -> Account | None:
    found = accounts.get(code) or by_name.get(name_key(code)) or []
    active = [a for a in found if a.status == "active"]
    ranked = active or found
    return ranked[0] if ranked else None


def check_accounts(ctx: RunContext, invoices: Sequence[Invoice]) -> Iterator[Finding]:
    uses = _account_uses(ctx, invoices)
    if not uses:
        return
    if not ctx.destination.supports(Capability.ACCOUNTS):
        logger.debug("%s exposes no chart of accounts; account mapping not checked", ctx.destination.display_name)
        return
    chart = ctx.destination.accounts()
    by_code: dict[str, list[Account]] = {}
    by_name: dict[str, list[Account]] = {}
    for acc in chart:
        if acc.code:
            by_code.setdefault(acc.code, []).append(acc)
        by_name.setdefault(name_key(acc.name), []).append(acc)
    suggester: Suggester | None = None
    for code, use in sorted(uses.items()):
        evidence: dict[str, object] = {
            "code": code,
            "source_codes": sorted(use.source_values),
            "mapping": sorted(use.via - {"as_is", "none"}),
            "lines": use.lines,
        }
        if code == NO_CODE:
            evidence["reason"] = "missing"
            yield _finding(ctx, "mapping.account_code", code, evidence, list(use.invoices.values()))
            continue
        account = _find_account(by_code, by_name, code)
        if account is None:
            if suggester is None:
                suggester = Suggester([a.code for a in chart if a.code and a.status == "active"])
            evidence["reason"] = _reason(use)
            evidence["suggestions"] = suggester.suggest(code)
        elif account.status != "active":
            evidence["reason"] = "archived"
            evidence["account_name"] = account.name
            evidence["status"] = account.status
        else:
            continue
        yield _finding(ctx, "mapping.account_code", code, evidence, list(use.invoices.values()))


# -- tax --------------------------------------------------------------------------------------


def check_tax(ctx: RunContext, invoices: Sequence[Invoice]) -> Iterator[Finding]:
    m = ctx.integration.mappings
    uses: dict[str, _Use] = {}
    for inv in invoices:
        for line in inv.lines:
            src = line.tax_code
            if src and src in m.tax:
                dest, via = m.tax[src], "tax"
            elif src:
                dest, via = src, "as_is"
            elif m.default_tax:
                dest, via = m.default_tax, "default_tax"
            else:
                continue  # the destination applies its own default tax for the account / item
            uses.setdefault(dest, _Use()).add(inv, src, via)
    if not uses:
        return
    if not ctx.destination.supports(Capability.TAX_RATES):
        logger.debug("%s exposes no tax rates; tax mapping not checked", ctx.destination.display_name)
        return
    rates = ctx.destination.tax_rates()
    by_code: dict[str, list[TaxRate]] = {}
    for rate in rates:
        by_code.setdefault(rate.code, []).append(rate)
        by_code.setdefault(name_key(rate.name), []).append(rate)  # QuickBooks tax codes go by name
    suggester: Suggester | None = None
    for code, use in sorted(uses.items()):
        found = by_code.get(code) or by_code.get(name_key(code)) or []
        active = [r for r in found if r.status == "active"]
        evidence: dict[str, object] = {
            "code": code,
            "source_codes": sorted(use.source_values),
            "mapping": sorted(use.via - {"as_is"}),
            "lines": use.lines,
        }
        if active:
            continue
        if found:
            evidence["reason"] = "archived"
            evidence["tax_name"] = found[0].name
            evidence["status"] = found[0].status
        else:
            if suggester is None:
                suggester = Suggester([r.code for r in rates if r.status == "active"])
            evidence["reason"] = _reason(use)
            evidence["suggestions"] = suggester.suggest(code)
        yield _finding(ctx, "mapping.tax_code", code, evidence, list(use.invoices.values()))


# -- tracking ---------------------------------------------------------------------------------


def check_tracking(ctx: RunContext, invoices: Sequence[Invoice]) -> Iterator[Finding]:
    m = ctx.integration.mappings
    uses: dict[tuple[str, str], _Use] = {}
    for inv in invoices:
        for line in inv.lines:
            for ref in line.tracking:
                category = m.tracking.get(ref.category, ref.category)
                via = "tracking" if ref.category in m.tracking else "as_is"
                uses.setdefault((category, ref.option), _Use()).add(inv, ref.category, via)
    if not uses:
        return
    if not ctx.destination.supports(Capability.TRACKING):
        logger.debug("%s exposes no tracking categories; tracking not checked", ctx.destination.display_name)
        return
    categories: dict[str, list[TrackingCategory]] = {}
    for cat in ctx.destination.tracking():
        categories.setdefault(name_key(cat.name), []).append(cat)
    by_category: dict[str, dict[str, _Use]] = {}
    for (category, option), use in uses.items():
        by_category.setdefault(category, {})[option] = use
    for category, options_used in sorted(by_category.items()):
        found = categories.get(name_key(category), [])
        active = [c for c in found if c.status == "active"]
        evidence: dict[str, object] = {
            "category": category,
            "source_categories": sorted({s for u in options_used.values() for s in u.source_values}),
            "mapping": sorted({v for u in options_used.values() for v in u.via} - {"as_is"}),
        }
        if not active:
            # one finding for the category, whichever of its options the lines use
            blocked = {n: inv for u in options_used.values() for n, inv in u.invoices.items()}
            if found:
                evidence.update(reason="archived_category", status=found[0].status)
            else:
                mapped = any(u.via != {"as_is"} for u in options_used.values())
                evidence["reason"] = "unknown_category" if mapped else "unmapped_category"
                evidence["categories"] = sorted(
                    {c.name for group in categories.values() for c in group if c.status == "active"}
                )
            evidence["options_used"] = sorted(options_used)
            yield _finding(ctx, "mapping.tracking", category, evidence, list(blocked.values()))
            continue
        dest_options = {name_key(o.name): o for o in active[0].options}
        for option, use in sorted(options_used.items()):
            opt = dest_options.get(name_key(option))
            if opt is not None and opt.status == "active":
                continue
            option_evidence = {
                **evidence,
                "option": option,
                "reason": "archived_option" if opt is not None else "unknown_option",
                "options": sorted(o.name for o in active[0].options if o.status == "active"),
            }
            yield _finding(
                ctx, "mapping.tracking", f"{category}: {option}", option_evidence, list(use.invoices.values())
            )


# -- currency ---------------------------------------------------------------------------------


def check_currency(ctx: RunContext, invoices: Sequence[Invoice]) -> Iterator[Finding]:
    m = ctx.integration.mappings
    uses: dict[str, _Use] = {}
    for inv in invoices:
        if not inv.currency:
            continue
        mapped = m.currencies.get(inv.currency)
        currency = (mapped or inv.currency).upper()
        use = uses.setdefault(currency, _Use())
        use.invoices.setdefault(inv.number or inv.id, inv)
        use.source_values.add(inv.currency)
        use.via.add("currencies" if mapped else "as_is")
    if not uses or not ctx.destination.supports(Capability.ORG):
        return
    org = ctx.destination.org()
    if not org.currencies:
        # the system did not say which currencies are enabled: nothing to compare with
        logger.debug("%s gave no enabled-currency list; currency not checked", ctx.destination.display_name)
        return
    enabled = {c.upper() for c in org.currencies} | ({org.base_currency.upper()} if org.base_currency else set())
    for currency, use in sorted(uses.items()):
        if currency in enabled:
            continue
        evidence: dict[str, object] = {
            "currency": currency,
            "source_currencies": sorted(use.source_values),
            "enabled": sorted(enabled),
            "base_currency": org.base_currency,
        }
        yield _finding(ctx, "mapping.currency", currency, evidence, list(use.invoices.values()))


def check_mappings(ctx: RunContext) -> Iterator[Finding]:
    """Every mapping family over the in-scope source invoices."""
    invoices = in_scope(ctx)
    if not invoices:
        return
    yield from check_accounts(ctx, invoices)
    yield from check_tax(ctx, invoices)
    yield from check_tracking(ctx, invoices)
    yield from check_currency(ctx, invoices)


MAPPINGS = Check("mappings", "mapping", check_mappings)

__all__ = ["MAPPINGS", "check_accounts", "check_currency", "check_mappings", "check_tax", "check_tracking"]
