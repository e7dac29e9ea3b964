"""Where a person sees a record Sync Doctor wrote, in the destination's own web app.

Xero opens an invoice at ``go.xero.com/AccountsReceivable/View.aspx?InvoiceID=...``; QuickBooks
at ``app.qbo.intuit.com/app/invoice?txnId=...`` (``app.sandbox.qbo.intuit.com`` for a sandbox
company). These are the web apps' addresses, not the APIs': they stay the same when the API
base URL points at an emulator. A system without a known address gets no link.
"""

from __future__ import annotations

from urllib.parse import quote

# system -> kind -> address template ({id} is the record id)
WEB_LINKS: dict[str, dict[str, str]] = {
    "xero": {
        "invoice": "https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={id}",
        "contact": "https://go.xero.com/Contacts/View/{id}",
        "item": "https://go.xero.com/Accounts/Inventory/{id}",
    },
    "quickbooks": {
        "invoice": "https://app.qbo.intuit.com/app/invoice?txnId={id}",
        "contact": "https://app.qbo.intuit.com/app/customerdetail?nameId={id}",
        "item": "https://app.qbo.intuit.com/app/items",
    },
}
SANDBOX_HOSTS = {"quickbooks": ("app.qbo.intuit.com", "app.sandbox.qbo.intuit.com")}


def web_link(system: str, kind: str, record_id: str | None, *, environment: str | None = None) -> str | None:
    template = WEB_LINKS.get(system, {}).get(kind)
    if template is None or not record_id:
        return None
    link = template.format(id=quote(record_id, safe=""))
    if environment == "test" and system in SANDBOX_HOSTS:
        live, sandbox = SANDBOX_HOSTS[system]
        link = link.replace(live, sandbox)
    return link
