"""The one place a crash becomes a message: logged with its ref, answered with that ref.

``register`` installs it as Bolt's ``app.error`` handler (listeners have no ``try/except``);
the command worker pool (``bot/commands.py``) hands crashes of the slow part to
:func:`report_crash` too, since its threads are not Bolt's.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import App

from bot.blocks.help import crashed
from service.container import Services

logger = logging.getLogger(__name__)


def new_ref() -> str:
    return uuid.uuid4().hex[:8]


def report_crash(
    error: BaseException, *, ref: str, respond: Any | None, what: str | None = None, response_type: str = "ephemeral"
) -> None:
    """Log ``error`` with ``ref`` and tell the user (when there is someone to tell)."""
    logger.error("ref %s: %s failed: %s", ref, what or "request", type(error).__name__, exc_info=error)
    if respond is None:
        return
    try:
        respond(response_type=response_type, replace_original=True, **crashed(ref, what).payload())
    except Exception:  # Slack itself unreachable: the log line above is all we can do
        logger.exception("ref %s: could not tell the user about the failure", ref)


def register(app: App, services: Services) -> None:
    @app.error
    def on_error(error: Exception, body: dict[str, Any], respond: Any | None = None) -> None:
        # Bolt passes `respond` only for payloads that carry a response_url. Only requests whose
        # signature verified reach Bolt (bot/server.py answers the rest 401 first), so that
        # URL is Slack's.
        ref = new_ref()
        url = body.get("response_url") if isinstance(body, dict) else None
        report_crash(error, ref=ref, respond=respond if url else None)
