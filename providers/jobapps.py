"""Job-management apps without a public API: read from their invoice export through the feed
mapping their preset gives (``config/presets.py``). What an export cannot say is listed in the
report (``blind_spots``), never guessed.
"""

from __future__ import annotations

import logging

from providers.generic import GenericSource

logger = logging.getLogger(__name__)


class Torqueflow(GenericSource):
    """Torqueflow (garage management, UK): no public API; its Finance > Reports > Sales
    "Export CSV" (or a URL it is published to)."""

    system = "torqueflow"
    display_name = "Torqueflow"
    posted_blind_spot = (
        "whether Torqueflow sent each invoice to Xero (its Synced / Pending / Sync failed badge and "
        "Sync now button are not in the export)"
    )


class WorkshopSoftware(GenericSource):
    """Workshop Software (automotive workshops, AU/NZ/UK): no public API; its invoice export."""

    system = "workshop_software"
    display_name = "Workshop Software"
    posted_blind_spot = (
        "whether each invoice is processed in Workshop Software (only processed invoices sync; the export does not say)"
    )
