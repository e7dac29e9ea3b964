"""The finding catalog: stable codes -> family, title, default severity.

Codes are stable identifiers (stored, compared across runs, shown to users). Each has a
remediation template ``templates/remediation/<code>.md.j2``; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from checks.findings import Severity

W, F, E = Severity.WARN, Severity.FAIL, Severity.ERROR


@dataclass(frozen=True, slots=True)
class Entry:
    code: str
    family: str
    title: str
    severity: Severity


def _entries(family: str, *rows: tuple[str, str, Severity]) -> list[Entry]:
    return [Entry(f"{family}.{name}" if "." not in name else name, family, title, sev) for name, title, sev in rows]


_ALL: list[Entry] = [
    *_entries(
        "connection",
        ("disconnected", "Connection is disconnected", F),
        ("state", "Connection needs attention", F),
        ("wrong_tenant", "Connected to a different organisation than configured", F),
        ("unreachable", "System could not be reached", E),
        ("slow", "System did not answer in time", E),
    ),
    *_entries(
        "token",
        ("expired", "Access token expired", F),
        ("revoked", "Access was revoked", F),
        ("refresh_failed", "Token refresh failed: re-authorisation needed", F),
        ("expiring", "Refresh token is near the end of its life", W),
        ("scope_missing", "Connection lacks permissions (scopes) the sync needs", F),
        ("refresh_limited", "The system refuses to renew the access token for now (too many renewals)", W),
        ("tenant_login", "The organisation's own user sign-in was refused", F),
        ("client_rejected", "The system refused Sync Doctor's app credentials", F),
    ),
    *_entries(
        "apikey",
        ("invalid", "API key is invalid or revoked", F),
        ("permissions", "API key lacks permissions the sync needs", F),
        ("environment", "API key is for the wrong environment (test vs live)", F),
    ),
    *_entries(
        "plan",
        ("addon_missing", "The sync feature is not on the plan", F),
        ("feature_missing", "The plan lacks a feature this integration uses", F),
        ("limit", "Plan limit reached or near", W),
        ("trial", "A trial or demo company is connected", W),
    ),
    *_entries(
        "settings",
        ("sync_disabled", "Sync is disabled", F),
        ("direction", "Sync direction does not push these invoices", F),
        ("status_filter", "Invoices excluded by the status filter", W),
        ("date_filter", "Invoices excluded by the date range", W),
        ("skipped_source", "Invoices excluded by the skip-source list", W),
        ("period_locked", "Invoices dated inside a locked period", F),
    ),
    *_entries(
        "mapping",
        ("account_code", "Account code unmapped, unknown or archived", F),
        ("tracking", "Tracking category or option unmapped or unknown", F),
        ("tax_code", "Tax code unmapped, unknown or inactive", F),
        ("currency", "Currency not enabled in the destination", F),
    ),
    *_entries(
        "contact",
        ("missing_email", "Contact has no email address", W),
        ("email_mismatch", "Contact email differs only by case or spaces", F),
        ("name_mismatch", "Contact name differs between systems", W),
        ("name_collision", "Two contacts share a name the destination must keep unique", F),
        ("duplicate_email", "Several destination contacts share an email", W),
        ("incomplete_address", "Contact address is incomplete", W),
        ("invalid_name", "Contact name has characters the destination rejects", F),
        ("archived", "The matching destination contact is archived", F),
    ),
    *_entries(
        "sku",
        ("missing", "Item (SKU) missing in the destination", F),
        ("case_mismatch", "Item code differs only in case", F),
        ("ambiguous", "Item code matches several destination items", F),
        ("archived", "Item is archived or inactive in the destination", F),
    ),
    *_entries(
        "sync",
        ("stale", "No invoice has synced for too long", F),
        ("unsynced", "Invoices in the source are missing in the destination", F),
        ("failed", "Invoice sync failed permanently", F),
        ("duplicate", "Invoice exists more than once in the destination", F),
        ("drift", "Invoice differs between source and destination", W),
        ("payment_drift", "Invoice is paid on one side only", W),
        ("not_editable", "Destination invoice can no longer be updated", W),
    ),
    *_entries("rate", ("limited", "API rate limit hit or daily quota nearly spent", W)),
    # The middle of the pipe: the Make scenario or Zap carrying invoices (checks/middleware.py).
    *_entries(
        "middleware",
        ("not_connected", "Sync Doctor cannot read the middleware: nothing is connected", W),
        ("missing", "The Make scenario or Zap this integration names does not exist", F),
        ("disabled", "The Make scenario or Zap is switched off", F),
        ("errors", "The Make scenario or Zap fails when it runs", F),
        ("held", "Zap runs are held by Zapier", F),
        ("incomplete", "Incomplete executions wait to be resolved", W),
        ("connection_expired", "A connection the middleware logs in with expired or fails", F),
        ("operations_exhausted", "The middleware plan's operations are used up, or nearly", F),
        ("stale", "The Make scenario or Zap has not run successfully for too long", F),
    ),
    # Job-management apps as sources (checks/jobapps.py, providers/generic.py).
    *_entries(
        "jobapp",
        ("manual_sync", "Invoices wait in the job app to be sent to accounting", F),
        ("reissued", "An invoice was re-issued under a new number: the old one is already synced", F),
        ("feed_mismatch", "The job app's field mapping does not match what it returns", E),
    ),
    # Not about the integration but about Sync Doctor itself: a check that crashed or ran out of
    # time still ends in a finding, so the report says what it could not look at.
    *_entries(
        "internal",
        ("check_failed", "A check could not complete", E),
        ("check_timeout", "A check ran out of time", E),
    ),
]

CATALOG: dict[str, Entry] = {entry.code: entry for entry in _ALL}


class UnknownCode(KeyError):
    pass


def entry(code: str) -> Entry:
    try:
        return CATALOG[code]
    except KeyError:
        raise UnknownCode(code) from None


def title(code: str) -> str:
    return entry(code).title
