"""Logging: one line per event, secrets redacted before any handler sees them.

Redaction is a safety net, not the plan: code never logs credentials on purpose. The filter
catches what slips through (an exception message quoting a request, a URL with a token).

Slack's libraries log payloads: Bolt a refused request's whole body at INFO and every answer
at DEBUG, slack_sdk each ``response_url`` it posts to (anyone holding one may post into the
channel for 30 minutes) and every request and response body at DEBUG. Their records keep
what happened and lose the payload (:func:`scrub_slack`): at the source, on the loggers that
log them (:func:`quiet_slack_payloads`; Bolt copies the filters of its base logger,
``bot.bolt``, to every logger it makes), and again on the handler, for any other logger of
theirs.
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


SLACK_LOGGERS = ("bot.bolt", "slack_bolt", "slack_sdk")
# Loggers that log Slack payloads themselves (the filter is applied to their records at the source).
_PAYLOAD_LOGGERS = (
    "bot.bolt",
    "slack_bolt.RequestVerification",
    "slack_sdk.webhook.client",
    "slack_sdk.web.base_client",
    "slack_sdk.socket_mode.builtin.client",
)
OMITTED = "[omitted]"
# Everything after the first of these is a payload (a body, its headers, a signature).
_PAYLOAD_START = re.compile(
    r"(?i)\b(body|request body|body_params|json_body|query_params|files|headers|signature|payload)(\s*[:=]\s*).*",
    re.DOTALL,
)
_URL = re.compile(r"(https?://[^/\s'\"]+)(/[^\s'\",)}]*)?")
_API_PATH = re.compile(r"/api/[A-Za-z.]+")


def scrub_slack(message: str) -> str:
    """A Slack library's log message without payloads: cut at the first payload field, and
    URLs cut to their host (Web API method paths, which carry nothing secret, are kept)."""
    message = _PAYLOAD_START.sub(lambda m: f"{m.group(1)}{m.group(2)}{OMITTED}", message, count=1)

    def url(match: re.Match[str]) -> str:
        path = match.group(2) or ""
        return match.group(1) + (path if _API_PATH.fullmatch(path) else ("/" + OMITTED if path else ""))

    return _URL.sub(url, message)


class SlackPayloadFilter(logging.Filter):
    """Scrubs the records of Slack's libraries (loggers under :data:`SLACK_LOGGERS`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(SLACK_LOGGERS):
            record.msg = scrub_slack(record.getMessage())
            record.args = None
        return True


_SLACK_FILTER = SlackPayloadFilter()


def quiet_slack_payloads() -> None:
    """Scrub payloads at the source, whatever handlers are attached (idempotent). Call before
    building the Bolt app: it copies ``bot.bolt``'s filters to its own loggers then."""
    for name in _PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        if _SLACK_FILTER not in logger.filters:
            logger.addFilter(_SLACK_FILTER)


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
    handler.addFilter(_SLACK_FILTER)
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
    quiet_slack_payloads()
    # Alembic narrates every migration step (and its plugins) at INFO; store.migrate logs one line.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
