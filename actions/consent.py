"""Re-authorisation links: what a ``reauthorise`` action's run issues.

The engine knows only the :class:`ConsentLinks` protocol. :class:`ConnectConsentLinks` is the
seam: today it returns :meth:`actions.connect.ConnectService.start_oauth`'s consent URL (state
sealed with the credentials key, 15 minutes, PKCE where the system supports it). The signed,
single-use link issuer of issue 9 (security) replaces it at the composition root; nothing in
the engine changes. The link is handed to whoever runs the action (the bot DMs it to the
approver); it is never stored, audited or logged.
"""

from __future__ import annotations

import logging
from typing import Protocol

from actions.connect import ConnectService

logger = logging.getLogger(__name__)


class ConsentLinks(Protocol):
    def issue(self, integration: str, side: str, issued_to: str) -> str:
        """A link that starts the OAuth consent for ``integration``'s ``side``, meant for the
        person ``issued_to`` (a Slack user id, or an operator's name)."""
        ...


class ConnectConsentLinks:
    """The consent URL ``sync-doctor connect NAME SIDE --oauth`` prints (see the module docstring)."""

    def __init__(self, connect: ConnectService) -> None:
        self.connect = connect

    def issue(self, integration: str, side: str, issued_to: str) -> str:
        logger.info("consent link for %s/%s issued to %s", integration, side, issued_to)
        return self.connect.start_oauth(integration, side)
