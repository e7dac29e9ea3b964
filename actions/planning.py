"""Planning an action from fresh data: what it will write, and whether it can succeed.

A re-sync plan reads, side by side, the requested source invoices (one ``find_invoice`` for a
single number; otherwise the run window's listing, with a fallback for numbers older than it),
the source's contacts and items, the destination's organisation, contacts, items, accounts,
tax rates and tracking, and the destination's copies of those numbers
(:class:`actions.lookup.DestinationLookup`). Then, with no further call:

* each line is translated the way the checks judge it (``checks.mappings``): the destination
  item by exact code, the mapped account, tax code and tracking category; the currency mapped;
* each invoice's contact is resolved: an active destination contact with the same email; else
  one with the same name and no conflicting email; else one to create first (an archived
  match, a name taken by someone else, or a name the destination refuses blocks it);
* the checks that decide whether a push can succeed run over exactly these invoices, whatever
  the sync's own filters (status, dates, skip list) say: SKUs, mappings and the lock date.
  Every failing finding naming an invoice blocks it, and is the reason the plan gives.

An invoice already in the destination is planned as adopted, not pushed again. A request
where nothing can be written or adopted is refused (:class:`actions.errors.PlanRefused`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from actions.errors import BadRequest, PlanRefused, UnknownInvoice
from actions.lookup import DestinationLookup
from actions.plans import (
    ALREADY_THERE,
    BLOCKED,
    CREATE,
    PUSH,
    USE,
    Blocker,
    Plan,
    PlannedConsent,
    PlannedInvoice,
    PlannedItem,
)
from actions.resolve import ContactResolver, LineResolver
from actions.states import ActionKind
from checks.context import RunContext, SideData
from checks.errors import finding_for_error
from checks.findings import Finding, Severity
from checks.mappings import check_mappings
from checks.matching import Suggester, name_key
from checks.runner import fetch_since
from checks.settings import lock_finding
from checks.skus import check_skus
from config.integrations import IntegrationConfig
from providers import PROVIDERS, display_name, provider_class
from providers.base import Capability, Provider
from providers.errors import ProviderError
from providers.fanout import FanOut
from providers.records import Account, Contact, Invoice, InvoiceStatus, TaxRate

logger = logging.getLogger(__name__)

T = TypeVar("T")

DESTINATION_READS: dict[str, Capability] = {
    "org": Capability.ORG,
    "contacts": Capability.CONTACTS,
    "items": Capability.ITEMS,
    "accounts": Capability.ACCOUNTS,
    "tax_rates": Capability.TAX_RATES,
    "tracking": Capability.TRACKING,
}
ALL_STATUSES = tuple(s.value for s in InvoiceStatus)
READ_WORKERS = 8


def planning_scope(integration: IntegrationConfig) -> IntegrationConfig:
    """The integration as the plan judges it: every invoice asked for is in scope, whatever
    the sync's own filters say (an admin asked for these invoices by number)."""
    settings = replace(integration.settings, statuses=ALL_STATUSES, since=None, until=None, skip_sources=())
    return replace(integration, settings=settings)


class Planner:
    """Plans one action of one integration; ``source`` may be None for kinds that never read it."""

    def __init__(
        self,
        integration: IntegrationConfig,
        source: Provider | None,
        destination: Provider | None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.integration = integration
        self.source = source
        self.destination = destination
        self._now = now

    def plan(self, kind: str, params: Mapping[str, Any]) -> Plan:
        if kind == ActionKind.REAUTHORISE:
            return self.reauthorise(params)
        if self.destination is None:
            raise BadRequest(f"{kind} writes to the destination: it is not connected")
        if kind == ActionKind.RESYNC:
            return self.resync(_numbers(params))
        if kind == ActionKind.CREATE_ITEM:
            return self.create_item(params)
        if kind == ActionKind.CREATE_CONTACT:
            return self.create_contact(params)
        raise BadRequest(f"unknown action {kind!r}")

    @property
    def dest(self) -> Provider:
        if self.destination is None:
            raise BadRequest(f"{self.integration.name}'s destination is not connected")
        return self.destination

    # -- reads ------------------------------------------------------------------------------

    def _sides(self, pool: ThreadPoolExecutor) -> tuple[SideData, SideData]:
        today = self._now().date()
        src = SideData("source", self.integration.source, self.source, since=fetch_since(self.integration, today))
        dst = SideData("destination", self.integration.destination, self.destination)
        for side in (src, dst):
            if side.provider is not None:
                side.provider.fan_out = FanOut(pool)
        return src, dst

    def _read(self, side: SideData, call: Callable[[], T]) -> T:
        try:
            return call()
        except ProviderError as e:
            finding = finding_for_error(e, side)
            blocker = Blocker.from_finding(finding)
            raise PlanRefused(f"{side.display_name} could not be read: {e.message}", [(side.system, blocker)]) from e

    def _destination_data(self, dst: SideData, pool: ThreadPoolExecutor, names: Sequence[str]) -> dict[str, Any]:
        wanted = [n for n in names if dst.supports(DESTINATION_READS[n])]
        for name in wanted:
            pool.submit(dst.warm, name)
        return {name: self._read(dst, getattr(dst, name)) for name in wanted}

    # -- resync -----------------------------------------------------------------------------

    def resync(self, numbers: Sequence[str]) -> Plan:
        if not self.dest.supports(Capability.PUSH_INVOICE):
            raise BadRequest(f"Sync Doctor cannot write invoices to {self.dest.display_name}")
        if self.source is None:
            raise BadRequest("a re-sync reads the source: it is not connected")
        asked = Counter(n.strip() for n in numbers if n.strip())
        unique = list(asked)
        repeated = tuple(sorted(n for n, times in asked.items() if times > 1))
        with ThreadPoolExecutor(READ_WORKERS, thread_name_prefix=f"plan-{self.integration.name}") as pool:
            src, dst = self._sides(pool)
            for name in ("contacts", "items"):
                if src.supports(DESTINATION_READS[name]):
                    pool.submit(src.warm, name)
            data = self._destination_data(dst, pool, list(DESTINATION_READS))
            found = self._source_invoices(src, unique)
            missing = [n for n in unique if n not in found]
            if missing:
                raise UnknownInvoice(src.display_name, missing, self._suggestions(src, missing))
            copies = self._read(dst, lambda: DestinationLookup(self.dest).find(unique))
            src_contacts = self._read(src, src.contacts) if src.supports(Capability.CONTACTS) else None
            src_items = self._read(src, src.items) if src.supports(Capability.ITEMS) else None
        invoices = [found[n] for n in unique]
        source_data: dict[str, Any] = {"invoices": invoices}
        if src_contacts is not None:
            source_data["contacts"] = src_contacts
        if src_items is not None:
            source_data["items"] = src_items
        ctx = RunContext(
            integration=planning_scope(self.integration),
            source=SideData.preloaded(
                "source", self.integration.source, capabilities=_supported(self.source), **source_data
            ),
            destination=SideData.preloaded(
                "destination",
                self.integration.destination,
                capabilities=_supported(self.dest),
                **{**data, "invoices": list(copies.values())},
            ),
            now=self._now(),
        )
        blocking = self._blocking(ctx, [inv for inv in invoices if (inv.number or inv.id) not in copies])
        contacts = ContactResolver(ctx, data.get("contacts") or [])
        catalogue = {item.id: item for item in src_items or []}
        lines = LineResolver(self.integration, data.get("items") or [], catalogue)
        planned: list[PlannedInvoice] = []
        for inv in invoices:
            number = inv.number or inv.id
            contact = contacts.resolve(inv)
            blockers = [*blocking.get(number, []), *contact.blockers]
            if inv.status is InvoiceStatus.VOID:
                blockers.append(Blocker(None, number, "the invoice is void in the source: there is nothing to sync"))
            copy = copies.get(number)
            status = ALREADY_THERE if copy is not None else (BLOCKED if blockers else PUSH)
            planned.append(
                PlannedInvoice(
                    number=number,
                    source_id=inv.id,
                    status=status,
                    currency=self.integration.mappings.currencies.get(inv.currency, inv.currency).upper(),
                    invoice_status=inv.status,
                    contact=replace(contact, blockers=()),
                    lines=tuple(lines.resolve(line) for line in inv.lines),
                    total=inv.total,
                    subtotal=inv.subtotal,
                    tax=inv.tax,
                    issue_date=inv.issue_date,
                    due_date=inv.due_date,
                    reference=inv.reference,
                    destination_id=copy.id if copy is not None else None,
                    blockers=tuple(blockers) if copy is None else (),
                )
            )
        pushed = {i.contact.key for i in planned if i.status == PUSH and i.contact is not None}
        new_contacts = {c.key: c for c in contacts.created if c.key in pushed}
        plan = self._plan(ActionKind.RESYNC, invoices=tuple(planned), contacts=tuple(new_contacts.values()))
        plan = replace(plan, repeated=repeated)
        return self._checked(plan)

    def _source_invoices(self, src: SideData, numbers: Sequence[str]) -> dict[str, Invoice]:
        provider = src.provider
        assert provider is not None
        if len(numbers) == 1:
            one = self._read(src, lambda: provider.find_invoice(numbers[0]))
            return {numbers[0]: one} if one is not None else {}
        listed = self._read(src, src.invoices)
        found = {inv.number: inv for inv in listed if inv.number in numbers}
        missing = [n for n in numbers if n not in found]
        if len(missing) == 1:
            older = self._read(src, lambda: provider.find_invoice(missing[0]))
            if older is not None:
                found[missing[0]] = older
        elif missing:  # older than the window: one full listing rather than a search per number
            found.update({i.number: i for i in self._read(src, provider.invoices) if i.number in missing})
        return {n: inv for n, inv in found.items() if n is not None}

    def _suggestions(self, src: SideData, missing: Sequence[str]) -> dict[str, list[str]]:
        try:
            known = [inv.number for inv in src.invoices() if inv.number]
        except ProviderError:
            return {}
        suggester = Suggester(known)
        return {n: suggester.suggest(n) for n in missing}

    def _blocking(self, ctx: RunContext, pending: Sequence[Invoice]) -> dict[str, list[Blocker]]:
        """Failing findings of the checks that decide whether a push can succeed, per invoice."""
        findings: list[Finding] = [*check_skus(ctx), *check_mappings(ctx)]
        locked = lock_finding(ctx, pending)
        if locked is not None:
            findings.append(locked)
        by_invoice: dict[str, list[Blocker]] = {}
        for finding in findings:
            if finding.severity < Severity.FAIL:
                continue
            blocker = Blocker.from_finding(finding)
            for number in finding.impact.invoices:
                by_invoice.setdefault(number, []).append(blocker)
        return by_invoice

    # -- create item / contact, reauthorise -------------------------------------------------

    def create_item(self, params: Mapping[str, Any]) -> Plan:
        code = str(params.get("sku") or "").strip()
        if not code:
            raise BadRequest("create_item needs the item's code (sku)")
        if not self.dest.supports(Capability.CREATE_ITEM):
            raise BadRequest(f"Sync Doctor cannot create items in {self.dest.display_name}")
        name = str(params.get("name") or code)
        with ThreadPoolExecutor(READ_WORKERS, thread_name_prefix=f"plan-{self.integration.name}") as pool:
            _src, dst = self._sides(pool)
            data = self._destination_data(dst, pool, ["items", "accounts", "tax_rates"])
        blockers: list[Blocker] = []
        rules = dst.rules
        if rules.item_code_max is not None and len(code) > rules.item_code_max:
            blockers.append(
                Blocker(
                    "sku.missing",
                    code,
                    f"{dst.display_name} item codes hold at most {rules.item_code_max} characters",
                    {"sku": code, "code_limit": rules.item_code_max},
                )
            )
        if rules.item_name_max is not None:
            name = name[: rules.item_name_max]
        account = params.get("account_code") or None
        tax = params.get("tax_code") or None
        if account and "accounts" in data and _account(data["accounts"], str(account)) is None:
            blockers.append(
                Blocker(
                    "mapping.account_code",
                    str(account),
                    f"account {account} is not an active account in {dst.display_name}",
                    {"code": account, "reason": "unknown"},
                )
            )
        if tax and "tax_rates" in data and _tax_rate(data["tax_rates"], str(tax)) is None:
            blockers.append(
                Blocker(
                    "mapping.tax_code",
                    str(tax),
                    f"tax code {tax} is not an active tax rate in {dst.display_name}",
                    {"code": tax, "reason": "unknown"},
                )
            )
        same = [i for i in data.get("items") or [] if i.code == code]
        existing = next((i for i in same if i.active), None)
        if existing is None and same:
            blockers.append(
                Blocker("sku.archived", code, f"an archived item already has code {code}: restore it instead", {})
            )
        item = PlannedItem(
            code=code,
            name=name,
            status=ALREADY_THERE if existing else (BLOCKED if blockers else PUSH),
            unit_price=_price(params.get("price")),
            account_code=str(account) if account else None,
            tax_code=str(tax) if tax else None,
            destination_id=existing.id if existing else None,
            blockers=() if existing else tuple(blockers),
        )
        return self._checked(self._plan(ActionKind.CREATE_ITEM, items=(item,)))

    def create_contact(self, params: Mapping[str, Any]) -> Plan:
        name = str(params.get("name") or "").strip()
        if not name:
            raise BadRequest("create_contact needs the contact's name")
        if not self.dest.supports(Capability.CREATE_CONTACT):
            raise BadRequest(f"Sync Doctor cannot create contacts in {self.dest.display_name}")
        source_id = str(params.get("source_id") or "")
        with ThreadPoolExecutor(READ_WORKERS, thread_name_prefix=f"plan-{self.integration.name}") as pool:
            src, dst = self._sides(pool)
            data = self._destination_data(dst, pool, ["contacts"])
            record: Contact | None = None
            if source_id and self.source is not None and src.supports(Capability.CONTACTS):
                record = next((c for c in self._read(src, src.contacts) if c.id == source_id), None)
        email = str(params.get("email") or "") or (record.email if record else None)
        wanted = Contact(
            id=source_id or name,
            name=name,
            email=email,
            first_name=record.first_name if record else None,
            last_name=record.last_name if record else None,
            company=record.company if record else None,
            address=record.address if record else None,
        )
        resolver = ContactResolver(None, data.get("contacts") or [], rules_of=dst)
        planned = resolver.match(wanted)
        if planned.status == USE:
            planned = replace(planned, status=ALREADY_THERE)
        elif planned.status == CREATE:
            planned = replace(planned, status=BLOCKED if planned.blockers else PUSH)
        return self._checked(self._plan(ActionKind.CREATE_CONTACT, contacts=(planned,)))

    def reauthorise(self, params: Mapping[str, Any]) -> Plan:
        side = str(params.get("side") or "destination")
        if side not in ("source", "destination"):
            raise BadRequest(f"side must be source or destination, not {side!r}")
        system = self.integration.side(side).system
        if params.get("system") and params["system"] != system:
            raise BadRequest(f"{self.integration.name}'s {side} is {system}, not {params['system']}")
        if system not in PROVIDERS or provider_class(system).auth_kind == "api_key":
            raise BadRequest(
                f"{display_name(system)} connects with an API key here, not OAuth: there is no consent to give; "
                f"replace the key with `sync-doctor connect {self.integration.name} {side} --api-key KEY`"
            )
        consent = PlannedConsent(system=system, side=side, display_name=display_name(system))
        return self._plan(ActionKind.REAUTHORISE, consent=consent)

    # -- helpers ----------------------------------------------------------------------------

    def _plan(self, kind: str, **parts: Any) -> Plan:
        return Plan(
            kind=kind,
            integration=self.integration.name,
            source=self.integration.source.system,
            destination=self.integration.destination.system,
            destination_name=display_name(self.integration.destination.system),
            planned_at=self._now(),
            **parts,
        )

    def _checked(self, plan: Plan) -> Plan:
        if plan.runnable:
            return plan
        blocked = plan.blocked()
        names = ", ".join(dict.fromkeys(f"{what} ({b.code or b.detail})" for what, b in blocked))
        raise PlanRefused(f"nothing in this request can succeed: {names}", blocked, plan)


def _numbers(params: Mapping[str, Any]) -> list[str]:
    raw = params.get("numbers")
    if isinstance(raw, str):
        numbers = [n.strip() for n in raw.split(",")]
    elif isinstance(raw, Sequence):
        numbers = [str(n).strip() for n in raw]
    else:
        numbers = []
    numbers = [n for n in numbers if n]
    if not numbers:
        raise BadRequest("a re-sync needs at least one invoice number")
    return numbers


def _price(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise BadRequest(f"price {value!r} is not a number") from None


def _account(accounts: Sequence[Account], code: str) -> Account | None:
    key = name_key(code)
    return next((a for a in accounts if a.status == "active" and (a.code == code or name_key(a.name) == key)), None)


def _tax_rate(rates: Sequence[TaxRate], code: str) -> TaxRate | None:
    key = name_key(code)
    return next((r for r in rates if r.status == "active" and (r.code == code or name_key(r.name) == key)), None)


def _supported(provider: Provider) -> frozenset[Capability]:
    """What this provider instance reads: a job-app feed reads contacts or items only when its
    configuration maps them, so the class's declared set is not the answer."""
    return frozenset(c for c in Capability if provider.supports(c))
