"""Middleware: the third side of an integration (a Make scenario, a Zapier Zap).

A middleware provider is a :class:`providers.base.Provider` whose reads describe the flow that
carries invoices from the source to the destination, instead of invoices themselves. Each read
is declared by a capability and raises ``Unsupported`` when the system does not expose it
(Zapier has no usage or incomplete-run endpoint), so the report can say what it cannot tell.
"""

from __future__ import annotations

import logging
from datetime import datetime

from providers.base import Capability, Provider
from providers.flows import Flow, FlowConnection, FlowRun, IncompleteRun, Usage

logger = logging.getLogger(__name__)


class Middleware(Provider):
    """Base of the middleware providers."""

    def flow(self) -> Flow | None:
        """The configured scenario / Zap; None when it does not exist (deleted, or another id)."""
        raise self._unsupported(Capability.FLOW)

    def flow_runs(self, since: datetime) -> list[FlowRun]:
        """Runs started on or after ``since``, newest first."""
        raise self._unsupported(Capability.FLOW_RUNS)

    def incomplete_runs(self) -> list[IncompleteRun]:
        """Runs stored for someone to resolve, unresolved ones at least."""
        raise self._unsupported(Capability.INCOMPLETE_RUNS)

    def flow_connections(self) -> list[FlowConnection]:
        """The app accounts the flow uses, with what the system knows of their validity."""
        raise self._unsupported(Capability.FLOW_CONNECTIONS)

    def usage(self) -> Usage:
        """Units used of the plan this period."""
        raise self._unsupported(Capability.USAGE)
