"""Xero's validation messages, by the emulator's name for each refusal.

A world overrides any wording with ``messages: {unknown_item: "...", ...}``.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

# Validation messages. Those quoted in specs/PROVIDERS.md are Xero's; the others (marked) are
# this emulator's wording for errors whose exact text is UNCONFIRMED, overridable per world.
MESSAGES: dict[str, str] = {
    "contact_name_taken": (
        "The contact name {name} is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    ),
    "contact_identify": (
        "The Contact must contain at least 1 of the following elements to identify the contact: "
        "Name, ContactID, ContactNumber"
    ),
    "invoice_number_taken": "Invoice # must be unique.",
    "item_code_taken": "Price List Item with Code '{code}' already exists",
    "currency_not_enabled": "Organisation is not subscribed to currency {currency}",
    "period_locked": "The document date cannot be before the period lock date, currently set at {lock}",
    "invoice_cap": "You have reached the limit of invoices you can approve",
    "invalid_tax": "The TaxType code '{tax}' cannot be used with account code '{account}'.",
    # UNCONFIRMED wording below
    "unknown_item": "Item code '{code}' is not valid.",
    "unknown_account": "Account code '{code}' is not a valid code for this document.",
    "archived_account": (
        "Account code '{code}' has been archived, or has been deleted. Each line item must reference a valid account."
    ),
    "unknown_contact": "Contact with ID {id} could not be found.",
    "unknown_tracking": "The tracking category '{name}' with option '{option}' is not valid.",
    "too_many_tracking": "A line item can have a maximum of 2 tracking categories.",
    "contact_name_required": "The contact name must be specified.",
    "contact_number_taken": "The contact number {number} is already assigned to another contact.",
    "item_code_required": "Item Code must be specified.",
    "item_code_too_long": "The Item Code cannot be more than 30 characters long.",
    "invalid_type": "Invoice Type must be specified as ACCREC or ACCPAY.",
    "invalid_status": "Invoice Status '{status}' is not valid for this operation.",
    "not_editable": "Invoice not of valid status for modification",
    "idempotency_mismatch": "The Idempotency-Key {key} was already used with a different request.",
    "idempotency_too_long": "The Idempotency-Key header cannot be more than 128 characters long.",
    "bad_where": "The where clause '{where}' could not be parsed.",
    "bad_body": "The request body could not be read as JSON.",
}
