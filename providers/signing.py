"""Request authentication for feeds: bearer, basic, an API-key header, an HMAC signature of the
request, and AroFlo's signing recipe. Pure functions of (auth config, secret, request parts).

The secret is what ``sync-doctor connect NAME source --api-key ...`` stored:

- ``bearer`` / ``api_key_header``: the token or key itself;
- ``basic``: ``user:password``;
- ``hmac``: the shared secret, or ``KEY_ID:SECRET`` when ``key_id_header`` is configured;
- ``aroflo``: ``uencoded=...&pencoded=...&orgencoded=...&secret_key=...``, the four values of
  AroFlo's Site Administration > Settings > General > AroFlo API, pasted as AroFlo shows them.

AroFlo's recipe (its API reference's Postman pre-request script): the payload is
``[METHOD, HostIP?, urlPath (''), accept, Authorization, afdatetimeutc, varString].join('+')``,
signed with HMAC-SHA512 under ``secret_key`` as lower-case hex, where ``Authorization`` is
``uencoded=<enc>&pencoded=<enc>&orgEncoded=<enc>`` (``encodeURIComponent`` of each) and
``varString`` the query string without ``?``. Headers: ``Authorization``,
``Authentication: HMAC <signature>``, ``Accept: text/json``, ``afdatetimeutc`` (ISO 8601 UTC
with milliseconds) and ``HostIP`` when the site requires one (signed too).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from config.sources import AuthConfig

AROFLO_ACCEPT = "text/json"
AROFLO_KEYS = ("uencoded", "pencoded", "orgencoded", "secret_key")


class SecretFormatError(ValueError):
    """The stored secret does not have the form this auth kind needs (the message says which)."""


@dataclass(frozen=True, slots=True)
class RequestParts:
    method: str
    path: str  # the URL's path
    query: str  # the encoded query string, without "?"
    body: str = ""


def encode_component(value: str) -> str:
    """JavaScript's ``encodeURIComponent``: what AroFlo's recipe (and most JS clients) signs."""
    return quote(value, safe="-_.!~*'()")


def query_string(items: list[tuple[str, str]]) -> str:
    return "&".join(f"{encode_component(k)}={encode_component(v)}" for k, v in items)


def iso_millis(moment: datetime) -> str:
    """``2018-07-25T01:39:57.135Z``, as JavaScript's ``Date.toISOString()`` writes it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def aroflo_secret(secret: str) -> dict[str, str]:
    """The four AroFlo values from ``uencoded=...&pencoded=...&orgencoded=...&secret_key=...``.
    Values are kept as given (AroFlo's are base64-like: ``=`` and ``+`` are theirs)."""
    found: dict[str, str] = {}
    for part in secret.split("&"):
        key, sep, value = part.partition("=")
        if sep:
            found[key.strip().lower().replace("-", "_")] = value.strip()
    missing = [k for k in AROFLO_KEYS if not found.get(k)]
    if missing:
        raise SecretFormatError(
            f"the stored AroFlo credentials lack {', '.join(missing)}: connect with "
            "--api-key 'uencoded=...&pencoded=...&orgencoded=...&secret_key=...' "
            "(Site Administration > Settings > General > AroFlo API)"
        )
    return found


def aroflo_headers(secret: str, parts: RequestParts, now: datetime, host_ip: str | None = None) -> dict[str, str]:
    values = aroflo_secret(secret)
    authorization = (
        f"uencoded={encode_component(values['uencoded'])}"
        f"&pencoded={encode_component(values['pencoded'])}"
        f"&orgEncoded={encode_component(values['orgencoded'])}"
    )
    stamp = iso_millis(now)
    payload = [parts.method.upper(), *([host_ip] if host_ip else []), "", AROFLO_ACCEPT, authorization, stamp]
    payload.append(parts.body if parts.method.upper() == "POST" else parts.query)
    signature = hmac.new(values["secret_key"].encode(), "+".join(payload).encode(), hashlib.sha512).hexdigest()
    headers = {
        "Authorization": authorization,
        "Authentication": f"HMAC {signature}",
        "Accept": AROFLO_ACCEPT,
        "afdatetimeutc": stamp,
    }
    if host_ip:
        headers["HostIP"] = host_ip
    return headers


def hmac_headers(auth: AuthConfig, secret: str, parts: RequestParts, now: datetime) -> dict[str, str]:
    key_id: str | None = None
    if auth.key_id_header:
        key_id, sep, secret = secret.partition(":")
        if not sep or not key_id or not secret:
            raise SecretFormatError("the stored HMAC credentials must be KEY_ID:SECRET (key_id_header is configured)")
    stamp = iso_millis(now)
    message = auth.message.format(
        method=parts.method.upper(), path=parts.path, query=parts.query, timestamp=stamp, body=parts.body
    )
    digest = hmac.new(secret.encode(), message.encode(), getattr(hashlib, auth.algorithm)).digest()
    signature = digest.hex() if auth.encoding == "hex" else base64.b64encode(digest).decode()
    headers = {str(auth.header): f"{auth.prefix}{signature}"}
    if auth.timestamp_header:
        headers[auth.timestamp_header] = stamp
    if auth.key_id_header and key_id:
        headers[auth.key_id_header] = key_id
    return headers


def headers_for(auth: AuthConfig, secret: str | None, parts: RequestParts, now: datetime) -> Mapping[str, str]:
    """The headers that authenticate one request under ``auth``."""
    if auth.kind == "none":
        return {}
    if not secret:
        raise SecretFormatError("no secret is stored for this feed")
    if auth.kind == "bearer":
        return {str(auth.header or "Authorization"): f"{auth.prefix}{secret}"}
    if auth.kind == "api_key_header":
        return {str(auth.header): f"{auth.prefix}{secret}"}
    if auth.kind == "basic":
        if ":" not in secret:
            raise SecretFormatError("basic auth needs the stored secret as user:password")
        return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}
    if auth.kind == "hmac":
        return hmac_headers(auth, secret, parts, now)
    if auth.kind == "aroflo":
        return aroflo_headers(secret, parts, now, auth.host_ip)
    raise SecretFormatError(f"unknown auth kind {auth.kind!r}")
