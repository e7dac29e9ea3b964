"""Logging: one line per event, secrets redacted before any handler sees them.

Redaction is a safety net, not the plan: code never logs credentials on purpose. The filter
catches what slips through (an exception message quoting a request, a URL with a token).
"""

from __future__ import annotations

import logging
import re
import sys

REDACTED = "[REDACTED]"

_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?i)\b(bearer|basic|zoho-oauthtoken)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{6,}"),  # Stripe keys
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{6,}"),  # Slack tokens
    re.compile(r"\bxapp-[A-Za-z0-9-]{6,}"),
    re.compile(r"\bpat-[a-z0-9]{2,4}-[A-Za-z0-9-]{8,}"),  # HubSpot private-app tokens
    re.compile(r"\bgAAAAA[A-Za-z0-9_=-]{20,}"),  # Fernet tokens (our sealed blobs)
    re.compile(
        r"(?i)\b(access_token|refresh_token|client_secret|api_key|apikey|code_verifier|password|secret|token)"
        r"(\"?\s*[=:]\s*\"?)([^\s\"&,}]{4,})"
    ),
)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        if pattern.groups >= 3:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
        elif pattern.groups == 1:
            text = pattern.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Renders the message (args included) and the traceback, then redacts them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(level: str = "INFO", stream: object = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_sync_doctor", False):
            root.removeHandler(existing)
    handler._sync_doctor = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO; keep it at WARNING so query strings stay out.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # Alembic narrates every migration step (and its plugins) at INFO; store.migrate logs one line.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
