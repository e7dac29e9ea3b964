"""SKU checks: does every item code on the in-scope source invoices name exactly one active
item in the destination?

A line's SKU is its own ``sku`` or, when it only links a source catalogue item, that item's
code (HubSpot ``hs_sku``, a Stripe product's metadata). Lines without either are ad-hoc lines
(description and amount only) and are not item-matched by syncs, so they are skipped.

Destination look-up is **case-sensitive**, as sync products match codes: Xero's
``LineItem.ItemCode`` names the item by ``Code`` (case rules UNCONFIRMED in PROVIDERS.md, so
the strict reading is used) and integrations compare QuickBooks ``Sku`` strings in their own
code. Per SKU, one finding:

* no item with that code, in any case       -> ``sku.missing`` with the closest codes ("did you
  mean PROD-001?") and, when the destination can create items, a ``create_item`` proposal
* only items whose code differs in case or surrounding spaces -> ``sku.case_mismatch``
* several active items with the code (or several case variants and none exact) -> ``sku.ambiguous``
* the only exact matches are inactive / archived -> ``sku.archived``
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from checks.base import Check
from checks.catalog import entry
from checks.context import RunContext
from checks.findings import Finding, Impact, ProposedAction
from checks.matching import Index, Suggester, fold_code
from checks.scope import in_scope
from providers.base import Capability
from providers.records import Invoice, Item

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _SkuUse:
    sku: str
    source_item: Item | None
    description: str | None  # of the first line using the SKU, a name for a new item
    unit_amount: Decimal | None  # likewise, its price
    # the invoice of each line using the SKU, repeats included: one append per line keeps the
    # loop over every line cheap, and Impact.of() counts each invoice once
    invoices: list[Invoice]

    @property
    def lines(self) -> int:
        return len(self.invoices)


def _brief(item: Item) -> dict[str, object]:
    return {"id": item.id, "code": item.code, "name": item.name, "active": item.active}


def sku_uses(ctx: RunContext, invoices: Sequence[Invoice]) -> dict[str, _SkuUse]:
    """Each SKU the in-scope invoices use, with the invoices and lines that use it."""
    catalogue: dict[str, Item] = {}
    if ctx.source.supports(Capability.ITEMS):
        catalogue = {item.id: item for item in ctx.source.items()}
    by_code = {item.code: item for item in catalogue.values() if item.code}
    uses: dict[str, _SkuUse] = {}
    for inv in invoices:
        for line in inv.lines:
            sku = line.sku
            item = catalogue.get(line.item_id) if catalogue and line.item_id else None
            if not sku:
                if item is None or not item.code:
                    continue
                sku = item.code
            use = uses.get(sku)
            if use is None:
                uses[sku] = _SkuUse(sku, item or by_code.get(sku), line.description, line.unit_amount, [inv])
            else:
                use.invoices.append(inv)
    return uses


def _create_item_action(ctx: RunContext, use: _SkuUse) -> ProposedAction | None:
    if not ctx.destination.supports(Capability.CREATE_ITEM):
        return None
    rules = ctx.destination.rules  # the longest item code and name the destination accepts
    if rules.item_code_max is not None and len(use.sku) > rules.item_code_max:
        return None  # the destination would refuse the code; the template explains
    source = use.source_item
    name = (source.name if source else None) or use.description or use.sku
    if rules.item_name_max is not None:
        name = name[: rules.item_name_max]
    price = source.unit_price if source and source.unit_price is not None else use.unit_amount
    params: dict[str, str] = {"sku": use.sku, "name": name}
    if price is not None:
        params["price"] = str(price)
    mappings = ctx.integration.mappings
    account = (source.account_code if source else None) or mappings.default_account
    if account:
        params["account_code"] = mappings.accounts.get(account, account)
    if mappings.default_tax:
        params["tax_code"] = mappings.default_tax
    return ProposedAction("create_item", f"Create item {use.sku} in {ctx.destination.display_name}", params)


def check_skus(ctx: RunContext) -> list[Finding]:
    invoices = in_scope(ctx)
    if not invoices:
        return []
    uses = sku_uses(ctx, invoices)
    if not uses:
        return []
    if not ctx.destination.supports(Capability.ITEMS):
        logger.debug("%s exposes no items; SKUs not checked", ctx.destination.display_name)
        return []
    items = ctx.destination.items()
    exact = Index(items, lambda i: i.code)
    folded = Index(items, lambda i: fold_code(i.code))
    suggester: Suggester | None = None
    system = ctx.destination.system
    findings: list[Finding] = []

    def add(code: str, use: _SkuUse, evidence: dict[str, object], action: ProposedAction | None = None) -> None:
        evidence = {"sku": use.sku, **evidence, "lines": use.lines}
        if use.source_item is not None:
            evidence["source_item"] = {"id": use.source_item.id, "name": use.source_item.name}
        findings.append(
            Finding(
                code=code,
                severity=entry(code).severity,
                subject=use.sku,
                evidence=evidence,
                impact=Impact.of(use.invoices),
                system=system,
                action=action,
            )
        )

    for sku in sorted(uses):  # sorted keys, not items: no tuple per SKU
        use = uses[sku]
        only = exact.only(sku)
        if only is not None and only.active:
            continue  # the common case, without building lists
        matches = exact.get(sku)
        active = [i for i in matches if i.active]
        if len(active) == 1:
            continue
        if len(active) > 1:
            add(
                "sku.ambiguous",
                use,
                {"reason": "same_code", "items": [_brief(i) for i in sorted(active, key=lambda i: i.id)]},
            )
            continue
        if matches:
            item = min(matches, key=lambda i: i.id)
            add("sku.archived", use, {"item": _brief(item)})
            continue
        variants = folded.get(fold_code(sku))
        if len(variants) == 1:
            item = variants[0]
            difference = ["case"] if (item.code or "").strip() != sku.strip() else []
            if (item.code or "") != (item.code or "").strip() or sku != sku.strip():
                difference.append("spaces")
            add(
                "sku.case_mismatch",
                use,
                {"destination_code": item.code, "item": _brief(item), "difference": difference},
            )
            continue
        if variants:
            ordered = sorted(variants, key=lambda i: (not i.active, i.code or "", i.id))
            add("sku.ambiguous", use, {"reason": "case_variants", "items": [_brief(i) for i in ordered]})
            continue
        if suggester is None:
            suggester = Suggester(i.code for i in items if i.active)
        limit = ctx.destination.rules.item_code_max
        evidence: dict[str, object] = {"suggestions": suggester.suggest(sku)}
        if limit is not None and len(sku) > limit:
            evidence["code_limit"] = limit  # the destination cannot hold this code as it is
        add("sku.missing", use, evidence, _create_item_action(ctx, use))
    return findings


SKUS = Check("skus", "sku", check_skus)

__all__ = ["SKUS", "check_skus", "sku_uses"]
