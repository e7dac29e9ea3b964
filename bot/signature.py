"""Is this HTTP request from Slack? Slack's request signing, checked before anything else.

Slack signs ``v0:{X-Slack-Request-Timestamp}:{raw body}`` with the app's signing secret
(HMAC-SHA256) and sends ``v0={hex digest}`` as ``X-Slack-Signature``. A request is accepted
only when both headers are well formed, the timestamp is within five minutes of now (Slack's
own window, either way) and the signature matches in constant time. Anything else is refused
with a reason for the log, never with an exception: a malformed header must not reach an
error handler that would answer the request's ``response_url`` (bot/server.py refuses with
401 before Bolt sees the request).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

WINDOW_S = 300  # Slack: "more than five minutes ... ignore the request"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=([0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class Verified:
    signature: str  # the hex digest: unique to this timestamp and body
    timestamp: int

    @property
    def replayable_until(self) -> int:
        """The last second at which this exact request would still verify."""
        return self.timestamp + WINDOW_S


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str  # for the log: names what was wrong, never echoes the request


def verify(headers: Mapping[str, str], body: bytes, secret: str, now: float) -> Verified | Refused:
    """Slack's signature check on the raw ``body``; ``headers`` looked up in lower case."""
    raw_ts = headers.get("x-slack-request-timestamp")
    raw_sig = headers.get("x-slack-signature")
    if raw_ts is None or raw_sig is None:
        return Refused("signature or timestamp header missing")
    if not _TIMESTAMP.fullmatch(raw_ts):
        return Refused("timestamp header is not a number of seconds")
    timestamp = int(raw_ts)
    if abs(now - timestamp) > WINDOW_S:
        return Refused("timestamp is more than five minutes from now")
    match = _SIGNATURE.fullmatch(raw_sig)
    if match is None:
        return Refused("signature header is not v0=<64 hex digits>")
    expected = hmac.new(secret.encode(), b"v0:" + raw_ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match.group(1)):
        return Refused("signature does not match")
    return Verified(match.group(1), timestamp)
