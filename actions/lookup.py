"""Destination invoices by number, read fresh: what the engine looks up before every push.

For a few numbers, one exact ``find_invoice`` each (the cheapest call each system has). For a
bulk re-sync that would cost a call per invoice, as much as the pushes themselves once they
are batched, so the first look-up reads the destination's invoices once (every page) and each
later one reads only those dated or modified since the day before that snapshot
(``Provider.invoices(since)`` promises "dated or modified on/after since"): an invoice that
landed after the snapshot, by this action or anyone else, is in that delta. Either way the
answer is exact; only its cost differs.

A void copy is not an invoice to adopt: only live copies are returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from providers.base import Capability, Provider
from providers.records import Invoice, InvoiceStatus

logger = logging.getLogger(__name__)

FIND_EACH_UP_TO = 10  # more numbers than this: list the destination instead of a call per number


class DestinationLookup:
    def __init__(
        self,
        provider: Provider,
        *,
        today: Callable[[], date] = date.today,
        find_each_up_to: int = FIND_EACH_UP_TO,
    ) -> None:
        self.provider = provider
        self._today = today
        self._find_each_up_to = find_each_up_to
        self._snapshot: dict[str, Invoice] | None = None
        self._snapshot_day: date | None = None

    def find(self, numbers: Sequence[str]) -> dict[str, Invoice]:
        """The live destination invoice of each number that has one."""
        wanted = list(dict.fromkeys(numbers))
        if not wanted:
            return {}
        can_list = self.provider.supports(Capability.INVOICES)
        if self._snapshot is None and (len(wanted) <= self._find_each_up_to or not can_list):
            found: dict[str, Invoice] = {}
            for number in wanted:
                invoice = self.provider.find_invoice(number)
                if invoice is not None and invoice.status is not InvoiceStatus.VOID:
                    found[number] = invoice
            return found
        if self._snapshot is None:
            self._snapshot_day = self._today()
            self._snapshot = _live_by_number(self.provider.invoices())
            logger.info("looked up %d numbers in one listing of %s", len(wanted), self.provider.display_name)
        else:
            assert self._snapshot_day is not None
            # Whatever landed (or was voided) since the snapshot, with a day's margin for time zones.
            delta = self.provider.invoices(since=self._snapshot_day - timedelta(days=1))
            voided = {i.id for i in delta if i.status is InvoiceStatus.VOID}
            for number, invoice in list(self._snapshot.items()):
                if invoice.id in voided:
                    del self._snapshot[number]
            self._snapshot.update(_live_by_number(delta))
        return {n: self._snapshot[n] for n in wanted if n in self._snapshot}


def _live_by_number(invoices: Sequence[Invoice]) -> dict[str, Invoice]:
    found: dict[str, Invoice] = {}
    for invoice in invoices:
        if invoice.number and invoice.status is not InvoiceStatus.VOID:
            found.setdefault(invoice.number, invoice)
    return found
