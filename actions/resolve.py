"""How a source invoice's parts land in the destination: each line's item, account, tax code
and tracking (translated as ``checks.mappings`` translates them), and the destination contact
an invoice goes to, or the one to create for it (see ``actions.planning``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from actions.plans import CREATE, USE, Blocker, PlannedContact, PlannedLine
from checks.contacts import acceptable_name, invalid_name_problems, source_contacts
from checks.context import RunContext, SideData
from checks.matching import Index, fold_email, name_key
from config.integrations import IntegrationConfig
from providers.records import Contact, Invoice, Item, TrackingRef


class LineResolver:
    """A source line -> the destination's item, account, tax code and tracking (as
    ``checks.mappings`` translates them)."""

    def __init__(self, integration: IntegrationConfig, items: Sequence[Item], catalogue: Mapping[str, Item]) -> None:
        self.mappings = integration.mappings
        self.items = Index([i for i in items if i.active], lambda i: i.code)
        self.catalogue = catalogue

    def resolve(self, line: Any) -> PlannedLine:
        m = self.mappings
        sku = line.sku or (self.catalogue[line.item_id].code if line.item_id in self.catalogue else None)
        matches = self.items.get(sku)
        item = matches[0] if len(matches) == 1 else None
        src_account = line.account_code
        if src_account and src_account in m.accounts:
            account: str | None = m.accounts[src_account]
        else:
            account = m.default_account or src_account
        src_tax = line.tax_code
        tax = m.tax.get(src_tax, src_tax) if src_tax else m.default_tax
        tracking = tuple(TrackingRef(m.tracking.get(t.category, t.category), t.option) for t in line.tracking)
        return PlannedLine(
            description=line.description,
            sku=sku,
            item_id=item.id if item else None,
            item_name=item.name if item else None,
            quantity=line.quantity,
            unit_price=line.unit_amount,
            amount=line.amount,
            account_code=account,
            tax_code=tax,
            tracking=tracking,
        )


class ContactResolver:
    """Which destination contact an invoice goes to, or the contact to create for it."""

    def __init__(self, ctx: RunContext | None, destination: Sequence[Contact], *, rules_of: SideData | None = None):
        self.ctx = ctx
        side = rules_of or (ctx.destination if ctx else None)
        assert side is not None
        self.side = side
        self.by_email = Index(destination, lambda c: fold_email(c.email))
        self.by_name = Index(destination, lambda c: name_key(c.name))
        self.created: list[PlannedContact] = []
        self._of_invoice: dict[str, Contact] = {}
        if ctx is not None:
            sources = source_contacts(ctx, ctx.source.invoices())
            for contact in sources.contacts:
                for inv in sources.invoices(contact):
                    self._of_invoice[inv.number or inv.id] = contact

    def resolve(self, invoice: Invoice) -> PlannedContact:
        contact = self._of_invoice.get(invoice.number or invoice.id) or Contact(
            id=invoice.contact_id or f"invoice:{invoice.number or invoice.id}",
            name=invoice.contact_name or "",
            email=invoice.contact_email,
        )
        planned = self.match(contact)
        if planned.status == CREATE and not planned.blockers:
            if all(c.key != planned.key for c in self.created):
                self.created.append(planned)
        return planned

    def match(self, contact: Contact) -> PlannedContact:
        email = fold_email(contact.email)
        by_email = self.by_email.get(email) if email else []
        by_name = self.by_name.get(name_key(contact.name))
        base = PlannedContact(
            key=contact.id or contact.name,
            name=contact.name,
            email=contact.email,
            status=USE,
            first_name=contact.first_name,
            last_name=contact.last_name,
            company=contact.company,
            address=contact.address,
        )
        active = [c for c in by_email if not c.archived]
        if active:
            return replace(base, destination_id=sorted(active, key=lambda c: c.id)[0].id)
        named = [c for c in by_name if not c.archived]
        for match in named:
            if email and match.email and fold_email(match.email) != email:
                detail = (
                    f"{self.side.display_name} already has an active contact named {match.name} with another email "
                    f"({match.email}); a second one of that name is refused"
                )
                evidence: dict[str, Any] = {
                    "name": contact.name,
                    "source_email": contact.email,
                    "destination_email": match.email,
                }
                suggestion = acceptable_name(f"{contact.name} ({contact.email})", self.side.rules)
                evidence["suggested_name"] = suggestion
                return replace(
                    base, status=CREATE, blockers=(Blocker("contact.name_collision", contact.name, detail, evidence),)
                )
            return replace(base, destination_id=match.id)
        if by_email or by_name:
            archived = (by_email or by_name)[0]
            detail = f"the matching {self.side.display_name} contact {archived.name} is archived: restore it first"
            evidence = {"name": archived.name, "destination_id": archived.id}
            return replace(base, status=CREATE, blockers=(Blocker("contact.archived", contact.name, detail, evidence),))
        problems = invalid_name_problems(contact.name, self.side.rules)
        if problems:
            detail = f"{self.side.display_name} refuses the contact name {contact.name!r}: {', '.join(problems)}"
            evidence = {"name": contact.name, "problems": problems}
            return replace(
                base, status=CREATE, blockers=(Blocker("contact.invalid_name", contact.name, detail, evidence),)
            )
        return replace(base, status=CREATE)
