"""HubSpot's CRM objects <-> records: pure functions (the client is :mod:`providers.hubspot`).

CRM objects carry their values in ``properties`` (strings, or epoch milliseconds in some date
properties); lists and searches page with ``paging.next.after``. An invoice is assembled from
itself, its associated line items (a line without ``hs_sku`` takes its product's) and its first
associated contact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from common.types import JSON
from providers.errors import UnexpectedResponse
from providers.parsing import to_decimal
from providers.records import (
    Address,
    ConnectionInfo,
    Contact,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Item,
    OrgInfo,
    RateStatus,
)

SYSTEM = "hubspot"
# account-info accountType values of portals that are not a live business (PROVIDERS.md: Auth).
TEST_ACCOUNT_TYPES = frozenset({"SANDBOX", "DEVELOPER_TEST", "APP_DEVELOPER"})
STATUS_MAP = {
    "draft": InvoiceStatus.DRAFT,
    "open": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
    "voided": InvoiceStatus.VOID,
}
CONTACT_PROPERTIES = ("firstname", "lastname", "email", "company", "address", "city", "zip", "country")
PRODUCT_PROPERTIES = ("name", "price", "hs_sku")
LINE_PROPERTIES = ("name", "hs_sku", "hs_product_id", "quantity", "price", "amount")
MODIFIED = "hs_lastmodifieddate"


# -- envelopes ------------------------------------------------------------------------------


def results(page: Any) -> list[JSON]:
    if not isinstance(page, dict) or not isinstance(page.get("results", []), list):
        raise UnexpectedResponse("answered without a results list", system=SYSTEM)
    return [r for r in page.get("results", []) if isinstance(r, dict)]


def next_after(page: Mapping[str, Any]) -> str | None:
    after = ((page.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None


def props(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    found = obj.get("properties")
    return found if isinstance(found, dict) else {}


def required_scopes(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The scopes a MISSING_SCOPES error names, top level or per error, each once."""
    contexts = [body.get("context") or {}] + [
        e.get("context") or {} for e in body.get("errors") or () if isinstance(e, dict)
    ]
    needed: list[str] = []
    for ctx in contexts:
        for scope in ctx.get("requiredGranularScopes") or ctx.get("requiredScopes") or ():
            if str(scope) not in needed:
                needed.append(str(scope))
    return tuple(needed)


def rate_status(response: httpx.Response) -> RateStatus | None:
    """Daily figures and the shortest window's remaining count (``minute_remaining`` holds
    HubSpot's secondly or 10-second remaining: its windows are shorter than a minute)."""
    headers = response.headers
    day_limit = integer(headers.get("X-HubSpot-RateLimit-Daily"))
    day_remaining = integer(headers.get("X-HubSpot-RateLimit-Daily-Remaining"))
    short = integer(headers.get("X-HubSpot-RateLimit-Secondly-Remaining"))
    if short is None:
        short = integer(headers.get("X-HubSpot-RateLimit-Remaining"))
    problem = None
    if response.status_code == 429:
        try:
            body = response.json()
        except ValueError:
            body = {}
        policy = str(body.get("policyName") or "") if isinstance(body, dict) else ""
        problem = "day" if policy == "DAILY" else (policy.lower() or "rate_limit")
    if day_limit is None and day_remaining is None and short is None and problem is None:
        return None
    return RateStatus(day_remaining=day_remaining, day_limit=day_limit, minute_remaining=short, last_problem=problem)


def environment(details: Mapping[str, Any]) -> str:
    return "test" if str(details.get("accountType", "")).upper() in TEST_ACCOUNT_TYPES else "live"


def search_body(filters: list[JSON], after: str | None, properties: Sequence[str], limit: int) -> JSON:
    """An invoice search sorted by last modification, so a result ceiling can be re-windowed."""
    body: JSON = {
        "filterGroups": [{"filters": filters}] if filters else [],
        "sorts": [{"propertyName": MODIFIED, "direction": "ASCENDING"}],
        "properties": sorted({*properties, MODIFIED}),
        "limit": limit,
    }
    if after is not None:
        body["after"] = after
    return body


# -- values ---------------------------------------------------------------------------------


def text(value: Any) -> str | None:
    if value is None:
        return None
    found = str(value)
    return found if found != "" else None


def integer(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def moment(value: Any) -> datetime | None:
    """HubSpot datetimes are ISO 8601 strings, or epoch milliseconds in some properties."""
    if value is None or value == "":
        return None
    raw = str(value)
    if raw.isdigit():
        return datetime.fromtimestamp(int(raw) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(raw)  # 3.11 reads a trailing Z
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def day(value: Any) -> date | None:
    parsed = moment(value)
    return parsed.date() if parsed else None


def chunks(values: Sequence[str], size: int) -> list[Sequence[str]]:
    """Batch inputs: at most ``size`` ids a request."""
    return [values[i : i + size] for i in range(0, len(values), size)]


def millis(when: datetime | None) -> int | None:
    return int(when.timestamp() * 1000) if when else None


def modified(obj: Mapping[str, Any]) -> datetime | None:
    return moment(props(obj).get(MODIFIED)) or moment(obj.get("updatedAt"))


def connection_info(portal: str, details: Mapping[str, Any], introspection: Mapping[str, Any] | None) -> ConnectionInfo:
    """The portal reached; scopes only from an OAuth grant's introspection."""
    scopes = frozenset(str(s) for s in introspection.get("scopes") or ()) if introspection is not None else None
    return ConnectionInfo(
        tenant_id=portal,
        tenant_name=_hub_domain(introspection),
        scopes=scopes,
        environment=environment(details),
    )


def org_info(portal: str, details: Mapping[str, Any], introspection: Mapping[str, Any] | None) -> OrgInfo:
    base = details.get("companyCurrency")
    currencies = {str(c) for c in details.get("additionalCurrencies") or ()}
    if base:
        currencies.add(str(base))
    return OrgInfo(
        tenant_id=portal,
        name=_hub_domain(introspection) or portal,
        base_currency=str(base) if base else None,
        currencies=frozenset(currencies),
        features_known=False,
        environment=environment(details),
    )


def _hub_domain(introspection: Mapping[str, Any] | None) -> str | None:
    return str(introspection["hub_domain"]) if introspection and introspection.get("hub_domain") else None


def products_to_read(lines: Iterable[Mapping[str, Any]]) -> set[str]:
    """Products of line items without their own ``hs_sku``: the SKU is the product's."""
    return {
        str(props(obj)["hs_product_id"])
        for obj in lines
        if not props(obj).get("hs_sku") and props(obj).get("hs_product_id")
    }


# -- objects -> records ---------------------------------------------------------------------


def contact(obj: Mapping[str, Any], *, archived: bool) -> Contact:
    p = props(obj)
    first, last, company = text(p.get("firstname")), text(p.get("lastname")), text(p.get("company"))
    full = " ".join(part for part in (first, last) if part)
    address = Address(
        line1=text(p.get("address")),
        city=text(p.get("city")),
        postcode=text(p.get("zip")),
        country=text(p.get("country")),
    )
    return Contact(
        id=str(obj["id"]),
        name=full or company or "",
        email=text(p.get("email")),
        first_name=first,
        last_name=last,
        company=company,
        archived=archived or bool(obj.get("archived")),
        address=address if address != Address() else None,
    )


def item(obj: Mapping[str, Any], *, active: bool) -> Item:
    p = props(obj)
    return Item(
        id=str(obj["id"]),
        code=text(p.get("hs_sku")),
        name=text(p.get("name")) or "",
        active=active and not obj.get("archived"),
        unit_price=to_decimal(p.get("price")),
    )


def line(obj: Mapping[str, Any], products: Mapping[str, JSON]) -> InvoiceLine:
    p = props(obj)
    product_id = text(p.get("hs_product_id"))
    sku = text(p.get("hs_sku"))
    if sku is None and product_id and product_id in products:
        sku = text(props(products[product_id]).get("hs_sku"))
    quantity = to_decimal(p.get("quantity"))
    quantity = Decimal(1) if quantity is None else quantity
    price = to_decimal(p.get("price"))
    price = Decimal(0) if price is None else price
    amount = to_decimal(p.get("amount"))
    return InvoiceLine(
        description=text(p.get("name")),
        sku=sku,
        item_id=product_id,
        quantity=quantity,
        unit_amount=price,
        amount=amount if amount is not None else quantity * price,
    )


def invoice(
    obj: JSON,
    lines: tuple[InvoiceLine, ...],
    contact_obj: JSON | None,
    company_currency: Callable[[], str | None],
    names: Mapping[str, str],
) -> Invoice:
    """One invoice; ``names`` maps our fields to the portal's invoice property names, and
    ``company_currency`` is asked only when the invoice names no currency of its own."""
    p = props(obj)
    raw_status = p.get(names["status"])
    if raw_status is None:
        raise UnexpectedResponse(
            f"invoice {obj['id']} has no {names['status']!r} property; if this portal names the status "
            "differently, override HubSpot.INVOICE_PROPERTIES['status']",
            system=SYSTEM,
        )
    status = STATUS_MAP.get(str(raw_status).lower())
    if status is None:
        raise UnexpectedResponse(
            f"invoice {obj['id']} has status {raw_status!r}, not one of {sorted(STATUS_MAP)}", system=SYSTEM
        )
    currency = p.get(names["currency"]) or company_currency()
    if not currency:
        raise UnexpectedResponse(f"invoice {obj['id']} has no currency and the portal none", system=SYSTEM)
    subtotal = sum((li.amount for li in lines), Decimal(0))
    total = to_decimal(p.get(names["total"]))
    billed = contact(contact_obj, archived=False) if contact_obj else None
    number = p.get(names["number"])
    return Invoice(
        id=str(obj["id"]),
        number=str(number) if number is not None else None,
        status=status,
        currency=str(currency),
        total=total if total is not None else subtotal,
        raw_status=str(raw_status),
        contact_id=billed.id if billed else None,
        contact_name=billed.name if billed else None,
        contact_email=billed.email if billed else None,
        issue_date=day(p.get(names["date"])),
        due_date=day(p.get(names["due_date"])),
        lines=lines,
        subtotal=subtotal if lines else None,
        updated_at=modified(obj),
    )


# -- records -> objects ---------------------------------------------------------------------


def contact_properties(record: Contact, email: str) -> dict[str, str]:
    """The properties of a contact upsert keyed on ``email``."""
    found: dict[str, str] = {"email": email}
    if record.first_name or record.last_name:
        found.update({k: v for k, v in (("firstname", record.first_name), ("lastname", record.last_name)) if v})
    elif record.name:
        found["firstname"] = record.name
    if record.company:
        found["company"] = record.company
    if record.address:
        a = record.address
        found.update(
            {
                k: v
                for k, v in (("address", a.line1), ("city", a.city), ("zip", a.postcode), ("country", a.country))
                if v
            }
        )
    return found
