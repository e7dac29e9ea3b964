"""Why a write failed, in the catalog's words: a provider error -> the finding that explains it.

Connection and token errors map as the checks map them (``checks.errors``). A refused write
(``Rejected``) is read from the system's own code and message, as PROVIDERS.md quotes them:

    Xero "Invoice # must be unique." / QuickBooks 6140 Duplicate Document Number -> sync.duplicate
    Xero "Item code '...' is not valid" / QuickBooks 610 on an ItemRef           -> sku.missing
    "Account code ..." / IncomeAccountRef                                        -> mapping.account_code
    "TaxType ..." / TaxCodeRef                                                   -> mapping.tax_code
    "tracking category ..." / ClassRef                                           -> mapping.tracking
    "not subscribed to currency" / "Currency ... is not enabled"                 -> mapping.currency
    "period lock date" / "Account period closed" (6210)                          -> settings.period_locked
    "limit of invoices you can approve"                                          -> plan.limit
    contact name already assigned / QuickBooks 6240 Duplicate Name               -> contact.name_collision
    "not of valid status for modification"                                       -> sync.not_editable
    anything else                                                                -> sync.failed

Transient errors (429, 5xx, timeouts, an answer that cannot be read) are retried by the engine
first; when the retries run out they map to ``rate.limited`` or ``connection.unreachable``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from checks.context import SideData
from checks.errors import finding_for_error
from providers.errors import (
    AuthError,
    ProviderError,
    RateLimited,
    Rejected,
    TenantError,
    Unavailable,
    UnexpectedResponse,
)

# (finding code, provider codes, words in the message), first match wins.
_REFUSALS: tuple[tuple[str, frozenset[str], tuple[str, ...]], ...] = (
    ("contact.name_collision", frozenset({"6240"}), ("contact name", "duplicate name")),
    ("sync.duplicate", frozenset({"6140"}), ("invoice # must be unique", "duplicate document number")),
    ("settings.period_locked", frozenset({"6210"}), ("period lock date", "period closed", "closing date")),
    ("mapping.currency", frozenset(), ("currency",)),
    ("mapping.tax_code", frozenset(), ("taxtype", "taxcoderef", "tax code")),
    ("mapping.tracking", frozenset(), ("tracking", "classref")),
    ("mapping.account_code", frozenset(), ("account code", "incomeaccountref", "accountref")),
    ("sku.missing", frozenset(), ("item code", "itemref", "no quickbooks item", "item (sku)")),
    ("plan.limit", frozenset(), ("limit of invoices",)),
    ("sync.not_editable", frozenset(), ("not of valid status for modification",)),
)
_TXN_ID = re.compile(r"TxnId=(\w+)")


@dataclass(frozen=True, slots=True)
class Reason:
    """What to record about a failed write: the system's words, its code, the finding."""

    message: str
    code: str | None  # the system's own code, when it gave one
    finding: str  # a catalog code


def transient(error: ProviderError) -> bool:
    """Could sending again help? An unreadable answer counts: the write may or may not have
    happened, and the look-up before the next attempt finds out."""
    return isinstance(error, RateLimited | Unavailable | UnexpectedResponse)


def reason_for(error: ProviderError, side: SideData) -> Reason:
    message = str(error.message)
    if isinstance(error, Rejected):
        text = " ".join([message, *error.details]).casefold()
        for finding, codes, words in _REFUSALS:
            if (error.code or "") in codes or any(word in text for word in words):
                return Reason(message, error.code, finding)
        return Reason(message, error.code, "sync.failed")
    if isinstance(error, AuthError | TenantError):
        return Reason(message, error.code, finding_for_error(error, side).code)
    if isinstance(error, RateLimited):
        return Reason(message, error.code, "rate.limited")
    if transient(error):
        return Reason(message, error.code, "connection.unreachable")
    return Reason(message, error.code, "sync.failed")


def existing_id(error: ProviderError) -> str | None:
    """The id of the invoice a duplicate-number refusal names (QuickBooks 6140 says
    ``... assigned to TxnType=Invoice with TxnId=6575``)."""
    if not isinstance(error, Rejected):
        return None
    for text in (error.message, *error.details):
        match = _TXN_ID.search(text)
        if match:
            return match.group(1)
    return None
