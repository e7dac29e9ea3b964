"""Requests signed as Slack signs them: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}`` under
the app's signing secret (docs.slack.dev/authentication/verifying-requests-from-slack)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from urllib.parse import urlencode


def sign(body: str, timestamp: int, secret: str) -> str:
    """The ``X-Slack-Signature`` header for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def slash_command_body(
    text: str,
    *,
    response_url: str,
    command: str = "/sync-check",
    team_id: str = "T0DEMO",
    channel_id: str = "C0DEMO",
    channel_name: str = "sync-doctor-demo",
    user_id: str = "U0DEMO",
    user_name: str = "demo",
) -> str:
    """A slash command's form body, with the fields Slack sends."""
    return urlencode(
        {
            "team_id": team_id,
            "team_domain": "demo",
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": "A0DEMO",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"{uuid.uuid4().int % 10**12}.1.demo",
        }
    )
