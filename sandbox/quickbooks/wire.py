"""QuickBooks Online's wire format: the ``Fault`` envelope (JSON and XML), the stamps every
returned entity carries, and the entitlements XML (EntitlementsResponse.xsd)."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

from starlette.responses import JSONResponse, Response

from common.types import JSON

logger = logging.getLogger(__name__)

ENTITIES = (
    "Customer",
    "Item",
    "Invoice",
    "Account",
    "TaxCode",
    "TaxRate",
    "Class",
    "Payment",
    "CompanyCurrency",
)
NAME_LISTS = frozenset({"Customer", "Item", "Account", "TaxCode", "TaxRate", "Class", "CompanyCurrency"})
CREATABLE = frozenset({"Customer", "Item", "Invoice"})
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
FINANCE_NS = "http://schema.intuit.com/finance/v3"
DEFAULT_CODES = {
    "closed_period": "6210",
    "currency": "6000",
    "required": "6000",
    "invalid_name": "6000",
    "query": "4000",
    "request": "6000",
    "line_amount": "6070",  # Amount is not Qty x UnitPrice (UNCONFIRMED code)
    "batch_size": "6000",  # more than 30 items in one batch (UNCONFIRMED code)
}
BATCH_MAX = 30  # payloads per batch request [QL]
NOT_FOUND_DETAIL = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)


class Fault(Exception):
    """A refusal in Intuit's words, raised inside a handler and answered as a Fault envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: str = "",
        *,
        type: str = "ValidationFault",
        element: str = "",
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.detail, self.type, self.element = (
            status,
            code,
            message,
            detail,
            type,
            element,
        )


def fault_body(fault: Fault, time: str) -> JSON:
    error = {
        "Message": fault.message,
        "Detail": fault.detail or fault.message,
        "code": fault.code,
        "element": fault.element,
    }
    return {"Fault": {"Error": [error], "type": fault.type}, "time": time}


def fault_response(fault: Fault, time: str) -> Response:
    return JSONResponse(fault_body(fault, time), status_code=fault.status)


def stamped(row: JSON) -> JSON:
    """What QuickBooks adds to every entity it returns, under the row's own values."""
    return {"domain": "QBO", "sparse": False, "SyncToken": "0", **row}


def entitlements_xml(data: JSON) -> bytes:
    """EntitlementsResponse (no namespace) in the XSD's element order."""
    root = ET.Element("EntitlementsResponse")
    for key in ("QboCompany", "PlanName", "MaxUsers", "CurrentUsers", "DaysRemainingTrial"):
        if data.get(key) is not None:
            value = data[key]
            ET.SubElement(root, key).text = str(value).lower() if isinstance(value, bool) else str(value)
    for entry in data.get("Entitlement") or []:
        node = ET.SubElement(root, "Entitlement", {"id": str(entry.get("id", ""))})
        ET.SubElement(node, "name").text = str(entry["name"])
        ET.SubElement(node, "term").text = str(entry.get("term", "On"))
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml


def xml_fault(fault: Fault, time: str) -> bytes:
    """A Fault in the IntuitResponse XML envelope (the entitlements service speaks XML)."""
    root = ET.Element(f"{{{FINANCE_NS}}}IntuitResponse", {"time": time})
    node = ET.SubElement(root, f"{{{FINANCE_NS}}}Fault", {"type": fault.type})
    error = ET.SubElement(node, f"{{{FINANCE_NS}}}Error", {"code": fault.code})
    ET.SubElement(error, f"{{{FINANCE_NS}}}Message").text = fault.message
    ET.SubElement(error, f"{{{FINANCE_NS}}}Detail").text = fault.detail or fault.message
    ET.register_namespace("", FINANCE_NS)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml
