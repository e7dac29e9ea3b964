"""What a MYOB write names by UID: items by Number, tax codes by Code, accounts by DisplayID,
jobs by Number and categories by Name, looked up in the lists the run memo already holds.

A reference that matches nothing is refused here, naming it, before MYOB is asked: MYOB
would answer 400 ``NotFound`` with a serializer message that does not say which one [M-ERR].
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from common.types import JSON
from providers import myob_wire as wire
from providers.errors import Rejected
from providers.records import Invoice, InvoiceLine, Item

if TYPE_CHECKING:
    from providers.myob import Myob

logger = logging.getLogger(__name__)


def _uid(rows: Sequence[JSON], wanted: str, key: Callable[[JSON], object]) -> str | None:
    found = next((r for r in rows if key(r) == wanted or r.get("UID") == wanted), None)
    return str(found["UID"]) if found is not None and found.get("UID") else None


class Resolver:
    def __init__(self, provider: Myob) -> None:
        self.provider = provider

    def _refuse(self, message: str) -> Rejected:
        return Rejected(message, system=self.provider.system, code="unknown_reference", details=(message,))

    def item_uid(self, line: InvoiceLine) -> str:
        if line.item_id:
            return line.item_id
        if not line.sku:
            raise self._refuse("an Item-layout MYOB invoice needs an item on every line; this line has no SKU")
        uid = _uid(self.provider.item_rows(), line.sku, lambda r: r.get("Number"))
        if uid is None:
            raise self._refuse(f"no MYOB item has the Number {line.sku!r}")
        return uid

    def tax_uid(self, code: str | None) -> str | None:
        if not code:
            return None
        uid = _uid(self.provider.tax_rows(), code, lambda r: r.get("Code"))
        if uid is None:
            raise self._refuse(f"no MYOB tax code is {code!r}")
        return uid

    def line_tax_uid(self, line: InvoiceLine, item_uid: str) -> str:
        """A line's tax code: its own, else its item's selling tax code (MYOB requires one per
        line [M-NEWINV])."""
        if line.tax_code:
            found = self.tax_uid(line.tax_code)
            assert found is not None
            return found
        row = next((r for r in self.provider.item_rows() if r.get("UID") == item_uid), None)
        selling = (row or {}).get("SellingDetails")
        tax = selling.get("TaxCode") if isinstance(selling, dict) else None
        if isinstance(tax, dict) and tax.get("UID"):
            return str(tax["UID"])
        raise self._refuse(f"line {line.description or line.sku!r} has no tax code and its item names none")

    def job_uid(self, line: InvoiceLine) -> str | None:
        job = next((r.option for r in line.tracking if r.category == wire.JOB), None)
        if not job:
            return None
        uid = _uid(self.provider.job_rows(), job, lambda r: r.get("Number"))
        if uid is None:
            raise self._refuse(f"no MYOB job is numbered {job!r}")
        return uid

    def category_uid(self, invoice: Invoice) -> str | None:
        names = {r.option for line in invoice.lines for r in line.tracking if r.category == wire.CATEGORY}
        if not names:
            return None
        if len(names) > 1:
            raise self._refuse(f"a MYOB invoice has one category, not {len(names)}: {', '.join(sorted(names))}")
        name = names.pop()
        uid = _uid(self.provider.category_rows(), name, lambda r: r.get("Name"))
        if uid is None:
            raise self._refuse(f"no MYOB category is named {name!r}")
        return uid

    def income_account(self, item: Item) -> str:
        code = item.account_code
        if not code:
            raise self._refuse(f"item {item.code!r} needs an income account (IsSold) and none is given")
        uid = _uid(self.provider.account_rows(), code, lambda r: r.get("DisplayID"))
        if uid is None:
            raise self._refuse(f"no MYOB account has the ID {code!r}")
        return uid

    def lines(self, invoice: Invoice) -> list[JSON]:
        found: list[JSON] = []
        for line in invoice.lines:
            item = self.item_uid(line)
            found.append(wire.line_body(line, item, self.line_tax_uid(line, item), self.job_uid(line)))
        return found
