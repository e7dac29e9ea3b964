"""Contact checks: would each in-scope invoice's contact match (or be created) cleanly?

Matching follows what real syncs do: the source contact's email, compared exactly, picks the
destination contact. From there:

* no email in the source                   -> ``contact.missing_email`` (syncs then match by name;
  not for a job-app feed that has no email at all: the report says it cannot tell instead)
* the email exists only with other case or spaces -> ``contact.email_mismatch`` (an exact
  match fails, the sync creates a second contact or, where names are unique, fails)
* matched, but the names differ            -> ``contact.name_mismatch`` (says how: case,
  spaces, punctuation, or other)
* several active destination contacts share the email -> ``contact.duplicate_email``
* every match is archived                  -> ``contact.archived``
* the name breaks the destination's rules  -> ``contact.invalid_name`` (length and reserved
  characters: the destination provider's :class:`providers.base.Rules`)
* address incomplete where tax needs it    -> ``contact.incomplete_address`` (where the rules
  say the destination company's country needs one: QuickBooks US companies)

**A contact missing from the destination is not a finding.** Xero and QuickBooks syncs from
HubSpot and Stripe create the customer when no match exists (DESIGN.md: the sync creates
contacts; Sync Doctor's own ``create_contact`` action exists for when it cannot). What *is*
reported is a creation that will fail: where the destination keeps names unique
(``Rules.unique_contact_names``: Xero across active contacts; QuickBooks DisplayName across
customers, vendors and employees, error 6240) a new contact whose name equals, ignoring case and spaces, an existing active contact or
another source contact with a different email -> ``contact.name_collision``. For a collision
or an invalid name, when the destination can create contacts, the finding proposes
``create_contact`` under a name the destination will accept; an admin approves it first.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from checks.base import Check
from checks.catalog import entry
from checks.context import RunContext
from checks.findings import Finding, Impact, ProposedAction
from checks.matching import (
    Index,
    Suggester,
    email_difference,
    fold,
    fold_email,
    name_difference,
    name_key,
)
from checks.scope import in_scope
from providers.base import Capability, Rules
from providers.records import Address, Contact, Invoice

logger = logging.getLogger(__name__)

ADDRESS_FIELDS = ("line1", "city", "postcode", "country")


@dataclass(frozen=True, slots=True)
class SourceContacts:
    """The in-scope invoices' contacts, each once, sorted by name then id, and their invoices.

    Contacts are the source's own records (no wrapper per contact) and invoices are grouped in
    an :class:`Index`: at 100,000 contacts, 200,000 small objects fewer to build, and fewer
    for the cyclic garbage collector to scan over and over.
    """

    contacts: list[Contact]
    by_contact: Index[Invoice]  # keyed by contact id; each invoice once: it has one contact

    def invoices(self, contact: Contact) -> list[Invoice]:
        """The in-scope invoices billed to ``contact``."""
        return self.by_contact.get(contact.id)


def _email(contact: Contact) -> str | None:
    """The contact's email, or ``None`` when absent or blank."""
    raw = contact.email
    return raw if raw and raw.strip() else None


def _contact_key(inv: Invoice) -> str:
    # the id of the contact source_contacts() gives the invoice; "" (skipped) when it names none
    if inv.contact_id:
        return inv.contact_id
    if inv.contact_name or inv.contact_email:
        return f"invoice:{inv.number or inv.id}"
    return ""


def _brief(contact: Contact) -> dict[str, object]:
    return {"id": contact.id, "name": contact.name, "email": contact.email, "archived": contact.archived}


def _address(addr: Address | None) -> dict[str, str | None] | None:
    if addr is None:
        return None
    return {f: getattr(addr, f) for f in ("line1", "city", "region", "postcode", "country")}


def invalid_name_problems(name: str, rules: Rules) -> list[str]:
    """Why a system with these ``rules`` would reject ``name`` as a contact name (empty when fine)."""
    if not name.strip():
        return ["empty"]
    problems = [f"contains '{ch}'" for ch in rules.contact_name_forbidden if ch in name]
    limit = rules.contact_name_max
    if limit is not None and len(name) > limit:
        problems.append(f"longer than {limit} characters")
    return problems


def acceptable_name(name: str, rules: Rules) -> str:
    """``name`` changed as little as possible so a system with these ``rules`` accepts it."""
    fixed = name.strip() or "Unnamed contact"
    for ch in rules.contact_name_forbidden:
        fixed = fixed.replace(ch, " -")
    fixed = " ".join(fixed.split())
    limit = rules.contact_name_max
    return fixed[:limit].rstrip() if limit is not None else fixed


def source_contacts(ctx: RunContext, invoices: Sequence[Invoice]) -> SourceContacts:
    """Each in-scope invoice's contact, once: the source's contact record when it has one,
    else what the invoice itself says (Stripe freezes ``customer_name``/``customer_email``).
    A contact's first invoice decides what it says when the source has no record (or no email)."""
    known: dict[str, Contact] = {}
    if ctx.source.supports(Capability.CONTACTS):
        known = {c.id: c for c in ctx.source.contacts()}
    by_contact = Index(invoices, _contact_key)
    contacts: list[Contact] = []
    for inv in by_contact.firsts():
        contact = known.get(inv.contact_id) if inv.contact_id else None
        if contact is None:
            contact = Contact(id=_contact_key(inv), name=inv.contact_name or "", email=inv.contact_email)
        elif not (contact.email and contact.email.strip()) and inv.contact_email:
            contact = dataclasses.replace(contact, email=inv.contact_email)
        contacts.append(contact)
    # by name, then id: two stable sorts instead of a (name, id) tuple per contact
    contacts.sort(key=attrgetter("id"))
    contacts.sort(key=attrgetter("name"))
    return SourceContacts(contacts, by_contact)


class _Findings:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.items: list[Finding] = []

    def add(
        self,
        code: str,
        subject: str,
        evidence: dict[str, object],
        invoices: Sequence[Invoice],
        *,
        system: str | None = None,
        action: ProposedAction | None = None,
    ) -> None:
        self.items.append(
            Finding(
                code=code,
                severity=entry(code).severity,
                subject=subject,
                evidence=evidence,
                impact=Impact.of(invoices),
                system=system or self.ctx.destination.system,
                action=action,
            )
        )


def _create_action(ctx: RunContext, contact: Contact, name: str) -> ProposedAction | None:
    if not ctx.destination.supports(Capability.CREATE_CONTACT):
        return None
    params = {"name": name, "email": contact.email or "", "source_id": contact.id}
    return ProposedAction("create_contact", f"Create contact {name} in {ctx.destination.display_name}", params)


def check_contacts(ctx: RunContext) -> list[Finding]:
    invoices = in_scope(ctx)
    if not invoices:
        return []
    out = _Findings(ctx)
    sources = source_contacts(ctx, invoices)
    invoices_of = sources.invoices  # looked up only for the contacts that get a finding
    if not ctx.destination.supports(Capability.CONTACTS):
        logger.debug("%s exposes no contacts; only source-side contact checks run", ctx.destination.display_name)
        for contact in sources.contacts:
            if _email(contact) is None and gives_emails(ctx):
                _missing_email(ctx, out, contact, invoices_of(contact), None, None)
        return out.items

    dest = ctx.destination.contacts()
    # One index by folded email serves both look-ups: the exact matches of an email are the
    # members of its folded group whose email is that very string (same fold, same group).
    by_folded_email = Index(dest, lambda c: fold_email(c.email))
    names: list[Index[Contact]] = []  # built on first use: only no-email and new contacts need it

    def by_name() -> Index[Contact]:
        if not names:
            names.append(Index(dest, lambda c: name_key(c.name)))
        return names[0]

    rules = ctx.destination.rules
    need_address = False
    if rules.address_required_in and ctx.destination.supports(Capability.ORG):
        need_address = rules.address_required(ctx.destination.org().country)
    name_suggester: Suggester | None = None
    creating: dict[str, list[Contact]] = {}  # name key -> contacts the sync will create

    for contact in sources.contacts:
        email = _email(contact)
        if email is None:
            existing = [c for c in by_name().get(name_key(contact.name)) if not c.archived]
            if not existing and name_suggester is None:
                name_suggester = Suggester((c.name for c in dest if not c.archived), key=fold)
            if gives_emails(ctx):
                _missing_email(ctx, out, contact, invoices_of(contact), existing, name_suggester)
            if not existing:
                creating.setdefault(name_key(contact.name), []).append(contact)
                _check_new_contact(ctx, out, contact, invoices_of(contact), need_address)
            continue
        same_fold = by_folded_email.get(fold_email(email))
        exact = [c for c in same_fold if c.email == email]
        if not exact:
            if same_fold:
                shown = sorted(same_fold, key=lambda c: (c.archived, c.id))
                out.add(
                    "contact.email_mismatch",
                    contact.name or email,
                    {
                        "contact": contact.name,
                        "contact_id": contact.id,
                        "source_email": email,
                        "destination_email": shown[0].email,
                        "destination_contacts": [_brief(c) for c in shown],
                        "difference": email_difference(email, shown[0].email or ""),
                    },
                    invoices_of(contact),
                )
                continue
            creating.setdefault(name_key(contact.name), []).append(contact)
            _check_new_contact(ctx, out, contact, invoices_of(contact), need_address)
            continue

        same_email = [c for c in same_fold if not c.archived]
        if len(same_email) > 1:
            out.add(
                "contact.duplicate_email",
                email,
                {
                    "email": email,
                    "contact": contact.name,
                    "contact_id": contact.id,
                    "destination_contacts": [_brief(c) for c in sorted(same_email, key=lambda c: c.id)],
                },
                invoices_of(contact),
            )
        active = [c for c in exact if not c.archived]
        if not active:
            match = min(exact, key=lambda c: c.id)
            out.add(
                "contact.archived",
                contact.name or email,
                {
                    "contact": contact.name,
                    "contact_id": contact.id,
                    "email": email,
                    "destination_contact": _brief(match),
                },
                invoices_of(contact),
            )
            continue
        match = active[0] if len(active) == 1 else min(active, key=lambda c: c.id)
        difference = name_difference(contact.name, match.name)
        if difference:
            out.add(
                "contact.name_mismatch",
                contact.name or email,
                {
                    "contact_id": contact.id,
                    "email": email,
                    "source_name": contact.name,
                    "destination_name": match.name,
                    "destination_id": match.id,
                    "difference": difference,
                },
                invoices_of(contact),
            )
        if need_address:
            _check_address(ctx, out, contact, invoices_of(contact), match, "destination")

    if creating and rules.unique_contact_names:
        # only names of contacts to be created can collide: group just those
        source_by_name: dict[str, list[Contact]] = {}
        for contact in sources.contacts:
            key = name_key(contact.name)
            if key in creating:
                source_by_name.setdefault(key, []).append(contact)
        _collisions(ctx, out, creating, source_by_name, by_name(), invoices_of)
    return out.items


def gives_emails(ctx: RunContext) -> bool:
    """False for a job-app feed that maps no customer email at all (a Torqueflow export): then a
    missing email is the export's, not the contact's, and the report lists it as cannot-tell."""
    feed = ctx.source.config.feed
    return feed is None or "contact_email" in feed.fields("invoice") or "email" in feed.fields("contact")


def _missing_email(
    ctx: RunContext,
    out: _Findings,
    contact: Contact,
    invoices: list[Invoice],
    existing: list[Contact] | None,
    suggester: Suggester | None,
) -> None:
    evidence: dict[str, object] = {"contact": contact.name, "contact_id": contact.id}
    if existing is not None:
        evidence["destination_matches_by_name"] = [_brief(c) for c in existing]
        evidence["similar_names"] = [] if existing or suggester is None else suggester.suggest(contact.name)
    out.add("contact.missing_email", contact.name or contact.id, evidence, invoices, system=ctx.source.system)


def _check_new_contact(
    ctx: RunContext, out: _Findings, contact: Contact, invoices: list[Invoice], need_address: bool
) -> None:
    """Checks for a contact the sync will have to create in the destination."""
    rules = ctx.destination.rules
    problems = invalid_name_problems(contact.name, rules)
    if problems:
        fixed = acceptable_name(contact.name, rules)
        out.add(
            "contact.invalid_name",
            contact.name or contact.id,
            {
                "contact": contact.name,
                "contact_id": contact.id,
                "email": contact.email,
                "problems": problems,
                "max_length": rules.contact_name_max,
                "length": len(contact.name),
                "suggested_name": fixed,
            },
            invoices,
            action=_create_action(ctx, contact, fixed),
        )
    if need_address:
        _check_address(ctx, out, contact, invoices, contact, "source")


def _check_address(
    ctx: RunContext, out: _Findings, src: Contact, invoices: list[Invoice], contact: Contact, side: str
) -> None:
    addr = contact.address
    missing = [f for f in ADDRESS_FIELDS if not (addr and getattr(addr, f))]
    if not missing:
        return
    out.add(
        "contact.incomplete_address",
        src.name or src.id,
        {
            "contact": src.name,
            "contact_id": contact.id,
            "side": side,  # whose record needs the address: the match in the destination, or the source's
            "missing": missing,
            "address": _address(addr),
        },
        invoices,
        system=ctx.destination.system if side == "destination" else ctx.source.system,
    )


def _identity(contact: Contact) -> str:
    return fold_email(contact.email) or f"id:{contact.id}"


def _collisions(
    ctx: RunContext,
    out: _Findings,
    creating: dict[str, list[Contact]],
    source_by_name: dict[str, list[Contact]],
    by_name: Index[Contact],
    invoices_of: Callable[[Contact], list[Invoice]],
) -> None:
    if not ctx.destination.rules.unique_contact_names:
        return
    for key, new in sorted(creating.items()):
        if not key:
            continue  # an empty name is an invalid_name finding already
        others = source_by_name.get(key, [])
        existing = [c for c in by_name.get(key) if not c.archived]
        identities = {_identity(s) for s in others} | {_identity(c) for c in existing}
        if len(identities) < 2:
            continue
        blocked = [inv for s in new for inv in invoices_of(s)]
        name = new[0].name
        action = None
        if len(new) == 1 and new[0].email:
            distinct = acceptable_name(f"{name} ({new[0].email})", ctx.destination.rules)
            action = _create_action(ctx, new[0], distinct)
        out.add(
            "contact.name_collision",
            name,
            {
                "name": name,
                "reason": "destination_has_name" if existing else "source_contacts_share_name",
                "source_contacts": [_brief(s) for s in sorted(others, key=lambda s: s.id)],
                "destination_contacts": [_brief(c) for c in sorted(existing, key=lambda c: c.id)],
                "to_create": sorted(s.id for s in new),
            },
            blocked,
            action=action,
        )


CONTACTS = Check("contacts", "contact", check_contacts)

__all__ = [
    "CONTACTS",
    "SourceContacts",
    "acceptable_name",
    "check_contacts",
    "invalid_name_problems",
    "source_contacts",
]
