"""HubSpot portals in memory, loaded from the world: CRM objects by type and id, associations
both ways, and what the rate limits count. See the package docstring for the keys."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from common.types import JSON
from sandbox.clock import SandboxClock
from sandbox.hubspot.wire import iso, modified_key, parse_moment, prop
from sandbox.limits import RollingWindow

logger = logging.getLogger(__name__)

OBJECT_TYPES = ("contacts", "products", "line_items", "invoices")


@dataclass
class Caller:
    """Who is calling, once authenticated: the portal reached and the scopes held."""

    portal: str
    scopes: tuple[str, ...]
    kind: str  # "oauth" | "private_app"


@dataclass
class Portal:
    portal_id: str
    account: JSON
    hub_domain: str | None
    objects: dict[str, dict[str, JSON]] = field(default_factory=lambda: {t: {} for t in OBJECT_TYPES})
    # (from type, to type) -> from id -> [to ids]
    associations: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)
    daily_used: int = 0
    recent: RollingWindow = field(default_factory=lambda: RollingWindow(10))  # calls, last 10 s
    recent_search: RollingWindow = field(default_factory=lambda: RollingWindow(1))  # searches, last 1 s
    next_id: int = 900_000

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        self.associations.setdefault((from_type, to_type), {}).setdefault(from_id, []).append(to_id)
        self.associations.setdefault((to_type, from_type), {}).setdefault(to_id, []).append(from_id)

    def store(self, kind: str, obj_id: str, props: JSON, archived: bool, moment: datetime) -> JSON:
        """Keep an object as the CRM does: created and modified at ``moment``."""
        obj = {
            "id": obj_id,
            "properties": {
                **props,
                "hs_object_id": obj_id,
                "createdate": iso(moment),
                modified_key(kind): iso(moment),
            },
            "createdAt": iso(moment),
            "updatedAt": iso(moment),
            "archived": archived,
        }
        if archived:
            obj["archivedAt"] = iso(moment)
        self.objects[kind][obj_id] = obj
        return obj


def load_portal(
    portal_id: str, raw: Mapping[str, Any], invoice_properties: Mapping[str, str], clock: SandboxClock
) -> Portal:
    """One ``portals`` entry: its account, contacts, products, and invoices with their lines and
    associations. ``invoice_properties`` names the invoice properties (the world can rename them)."""
    portal = Portal(
        portal_id=portal_id,
        account=dict(raw.get("account", {})),
        hub_domain=raw.get("hub_domain"),
    )
    for kind in ("contacts", "products"):
        for entry in raw.get(kind, []):
            props = {k: prop(v) for k, v in entry.items() if k not in ("id", "archived", "updated")}
            portal.store(kind, str(entry["id"]), props, bool(entry.get("archived")), _when(entry.get("updated"), clock))
    names = invoice_properties
    for entry in raw.get("invoices", []):
        inv_id = str(entry["id"])
        props = {
            names[k]: prop(entry[k])
            for k in ("status", "number", "currency", "total", "date", "due_date")
            if k in entry
        }
        props.update({k: prop(v) for k, v in entry.get("properties", {}).items()})
        portal.store("invoices", inv_id, props, False, _when(entry.get("modified"), clock))
        if entry.get("contact") is not None:
            portal.associate("invoices", inv_id, "contacts", str(entry["contact"]))
        for n, line in enumerate(entry.get("lines", [])):
            line_id = str(line.get("id", f"{inv_id}{n + 1:03d}"))
            line_props = {k: prop(v) for k, v in line.items() if k not in ("id", "product")}
            if line.get("product") is not None:
                line_props["hs_product_id"] = str(line["product"])
            if "amount" not in line_props:
                line_props["amount"] = str(Decimal(str(line.get("quantity", 1))) * Decimal(str(line.get("price", 0))))
            portal.store("line_items", line_id, line_props, False, _when(entry.get("modified"), clock))
            portal.associate("invoices", inv_id, "line_items", line_id)
    return portal


def _when(value: Any, clock: SandboxClock) -> datetime:
    """A world's date (ISO or epoch milliseconds), else now."""
    return parse_moment(value) or clock.moment()
