"""What a Zoho Books write names by id: items, taxes, accounts, reporting tags and currencies
looked up from the names and codes a record carries (Zoho's create bodies take ids only).

Every list comes through the provider's run memo, so a push inside a run reuses what the
checks read; a reference that matches nothing is refused here, with its name, before Zoho is
asked to create anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from common.types import JSON
from providers import zoho_books_wire as wire
from providers.errors import Rejected
from providers.records import Invoice, InvoiceLine

if TYPE_CHECKING:
    from providers.zoho_books import ZohoBooks

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Resolver:
    """Names and codes -> Zoho ids for one write."""

    def __init__(self, provider: ZohoBooks) -> None:
        self.provider = provider

    def _refuse(self, message: str) -> Rejected:
        return Rejected(message, system=self.provider.system, code="unknown_reference", details=(message,))

    def _find(self, rows: Sequence[T], wanted: str, keys: Callable[[T], Sequence[str | None]]) -> T | None:
        return next((r for r in rows if wanted in keys(r)), None)

    def item_id(self, line: InvoiceLine) -> str | None:
        if line.item_id:
            return line.item_id
        if not line.sku:
            return None
        items = self.provider.memo.once("items", self.provider.items)
        found = self._find(items, line.sku, lambda i: (i.code,))
        if found is None:
            raise self._refuse(f"no Zoho Books item has the SKU {line.sku!r}")
        return found.id

    def tax_id(self, code: str | None) -> str | None:
        if not code:
            return None
        found = self._find(self.provider.tax_rows(), code, lambda t: (t.get("tax_id"), t.get("tax_name")))
        if found is None:
            raise self._refuse(f"no Zoho Books tax is named {code!r}")
        return str(found.get("tax_id"))

    def account_id(self, code: str | None) -> str | None:
        if not code:
            return None
        accounts = self.provider.memo.once("accounts", self.provider.accounts)
        found = self._find(accounts, code, lambda a: (a.id, a.code, a.name))
        if found is None:
            raise self._refuse(f"no Zoho Books account has the code or name {code!r}")
        return found.id

    def currency_id(self, code: str | None) -> str | None:
        if not code:
            return None
        rows = self.provider.currency_rows()
        found = self._find(rows, code.upper(), lambda c: (str(c.get("currency_code") or "").upper(),))
        if found is None:
            raise self._refuse(f"the currency {code} is not enabled in Zoho Books (Settings -> Currencies)")
        return str(found.get("currency_id"))

    def tags(self, line: InvoiceLine) -> list[JSON]:
        if not line.tracking:
            return []
        found: list[JSON] = []
        for ref in line.tracking:
            tag = self._find(self.provider.tag_rows(), ref.category, lambda t: (t.get("tag_name"), t.get("tag_id")))
            options = [o for o in (tag or {}).get("tag_options") or [] if isinstance(o, dict)]
            option = self._find(options, ref.option, lambda o: (o.get("tag_option_name"), o.get("tag_option_id")))
            if tag is None or option is None:
                raise self._refuse(f"no Zoho Books reporting tag {ref.category!r} with option {ref.option!r}")
            found.append({"tag_id": tag.get("tag_id"), "tag_option_id": option.get("tag_option_id")})
        return found

    def lines(self, invoice: Invoice) -> list[JSON]:
        return [
            wire.line_body(
                line,
                self.item_id(line),
                self.tax_id(line.tax_code),
                self.account_id(line.account_code),
                self.tags(line),
            )
            for line in invoice.lines
        ]
