"""After a run: read back what was written and compare it with the plan.

Invoices are looked up by number (one listing for many, as before the pushes) and compared
with the invoice the plan described the way the sync-state checks compare copies
(``checks.sync_state.differences``: total, currency, lines and their amounts, contact,
status), plus the destination contact the plan chose. Items and contacts are read back from
one listing each. The result per step is ``{"ok": bool, "differences": {...}}`` (``ok`` None
when it could not be read back).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actions.lookup import DestinationLookup
from actions.plans import Plan
from checks.sync_state import differences
from providers.base import Capability, Provider
from providers.errors import ProviderError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Landed:
    """A step that landed: what to read back."""

    kind: str  # invoice | contact | item
    ref: str
    destination_id: str | None
    contact_id: str | None = None  # the destination contact an invoice was written to


def verify(plan: Plan, landed: Sequence[Landed], provider: Provider) -> dict[str, dict[str, Any]]:
    """``{ref: {"ok", "differences", "destination_id"}}`` for each landed step."""
    out: dict[str, dict[str, Any]] = {}
    invoices = [s for s in landed if s.kind == "invoice"]
    if invoices:
        out.update(_invoices(plan, invoices, provider))
    for kind, read, key in (
        ("contact", Capability.CONTACTS, "contacts"),
        ("item", Capability.ITEMS, "items"),
    ):
        steps = [s for s in landed if s.kind == kind]
        if steps and provider.supports(read):
            out.update(_listed(kind, steps, provider, key))
    return out


def _invoices(plan: Plan, steps: Sequence[Landed], provider: Provider) -> dict[str, dict[str, Any]]:
    planned = {i.number: i for i in plan.invoices}
    try:
        copies = DestinationLookup(provider).find([s.ref for s in steps])
    except ProviderError as e:
        logger.warning("could not read back %d invoices from %s: %s", len(steps), provider.display_name, e)
        return {s.ref: {"ok": None, "error": e.message} for s in steps}
    out: dict[str, dict[str, Any]] = {}
    for step in steps:
        copy = copies.get(step.ref)
        if copy is None:
            out[step.ref] = {"ok": False, "differences": {"missing": True}}
            continue
        expected = planned[step.ref].to_invoice(step.contact_id)
        diff: dict[str, Any] = differences(expected, copy)
        if step.contact_id and copy.contact_id and step.contact_id != copy.contact_id:
            diff["contact_id"] = {"planned": step.contact_id, "destination": copy.contact_id}
        if step.destination_id and copy.id != step.destination_id:
            diff["id"] = {"recorded": step.destination_id, "destination": copy.id}
        out[step.ref] = {"ok": not diff, "differences": diff, "destination_id": copy.id}
    return out


def _listed(kind: str, steps: Sequence[Landed], provider: Provider, key: str) -> dict[str, dict[str, Any]]:
    try:
        records: Sequence[Any] = provider.contacts() if key == "contacts" else provider.items()
    except ProviderError as e:
        return {s.ref: {"ok": None, "error": e.message} for s in steps}
    by_id: Mapping[str, Any] = {r.id: r for r in records}
    return {
        s.ref: {"ok": s.destination_id in by_id, "differences": {} if s.destination_id in by_id else {"missing": True}}
        for s in steps
    }
