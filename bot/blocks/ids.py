"""Button action ids, button values and modal metadata: opaque to Slack, signed by us.

A button carries no parameters a person could edit into something else: its value names a
stored thing (a finding of a stored run, by run id and position; an action, by id) and is
signed with an HMAC under a key only the server holds, bound to what the button does. A value
edited in transit, moved from an Approve button to a Deny button, or made up decodes to
:class:`Tampered`; the caller explains and audits, and does nothing else.

    action_id   sd:<verb>:<n>                 verb: request | approve | deny | snooze; n keeps ids unique
    value       <payload>.<signature>         payload: base64url(JSON); signature: base64url(HMAC)
    callback_id sd:deny                       the Deny modal; its private_metadata is a value

Slack's limits (SLACK.md section 5): action_id 255, value 2000, private_metadata 3000; every
encoded value here stays under 200 characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass

REQUEST, APPROVE, DENY, SNOOZE = "request", "approve", "deny", "snooze"
VERBS = (REQUEST, APPROVE, DENY, SNOOZE)
DENY_CALLBACK = "sd:deny"
REASON_BLOCK, REASON_INPUT = "reason", "reason_text"
# What Bolt matches listeners with (SLACK.md section 5: "Bolt matches with a regex").
ACTION_PATTERNS = {verb: re.compile(rf"^sd:{verb}(?::\d+)?$") for verb in VERBS}
_ACTION_ID = re.compile(r"^sd:(request|approve|deny|snooze)(?::(\d{1,6}))?$")
_SIGNATURE_BYTES = 16  # 128 bits of HMAC-SHA256: forging one is out of reach
_KEY_PURPOSE = b"sync-doctor slack ids v1"


class Tampered(ValueError):
    """A value, id or metadata Sync Doctor did not issue (or issued for another button)."""


@dataclass(frozen=True, slots=True)
class FindingRef:
    """A finding's proposed action: the stored run and the finding's position in it."""

    run_id: int
    position: int


@dataclass(frozen=True, slots=True)
class ActionRef:
    """A stored action (an approval request)."""

    action_id: int


@dataclass(frozen=True, slots=True)
class SnoozeRef:
    """An alert's Snooze button: the stored alert, and for how long."""

    alert_id: int
    hours: int


@dataclass(frozen=True, slots=True)
class DenyForm:
    """What the Deny modal remembers: the action, and the approval message it came from."""

    action_id: int
    channel: str | None = None
    ts: str | None = None


def derive_key(secret: str) -> bytes:
    """The signing key for button values, derived from a server secret (never the secret
    itself, so a value signed here is no use anywhere else that secret is used)."""
    return hmac.new(secret.encode(), _KEY_PURPOSE, hashlib.sha256).digest()


def action_id(verb: str, n: int = 0) -> str:
    if verb not in VERBS:
        raise ValueError(f"unknown button verb {verb!r}")
    return f"sd:{verb}:{n}"


def verb_of(value: str) -> str:
    """The verb of an action id (``sd:approve:0`` -> ``approve``); :class:`Tampered` otherwise."""
    found = _ACTION_ID.fullmatch(value or "")
    if found is None:
        raise Tampered(f"unknown action id {value[:40]!r}")
    return found.group(1)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Ids:
    """Encodes and decodes the values of one server's buttons (the key is its secret)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the button signing key must be at least 16 bytes")
        self._key = key

    def _sign(self, purpose: str, payload: str) -> str:
        mac = hmac.new(self._key, f"{purpose}|{payload}".encode(), hashlib.sha256).digest()
        return _b64(mac[:_SIGNATURE_BYTES])

    def _seal(self, purpose: str, data: dict[str, object]) -> str:
        payload = _b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{self._sign(purpose, payload)}"

    def _open(self, purpose: str, value: str) -> dict[str, object]:
        payload, dot, signature = (value or "").partition(".")
        if not dot or not payload or not hmac.compare_digest(signature, self._sign(purpose, payload)):
            raise Tampered("the button's value is not one Sync Doctor issued")
        try:
            data = json.loads(_unb64(payload))
        except ValueError:
            raise Tampered("the button's value cannot be read") from None
        if not isinstance(data, dict):
            raise Tampered("the button's value cannot be read")
        return data

    # -- a finding's "request" button --------------------------------------------------------

    def finding_value(self, ref: FindingRef) -> str:
        return self._seal(REQUEST, {"r": ref.run_id, "i": ref.position})

    def finding_ref(self, value: str) -> FindingRef:
        data = self._open(REQUEST, value)
        return FindingRef(_int(data, "r"), _int(data, "i"))

    # -- Approve / Deny --------------------------------------------------------------------

    def action_value(self, verb: str, ref: ActionRef) -> str:
        if verb not in (APPROVE, DENY):
            raise ValueError(f"{verb!r} is not a decision")
        return self._seal(verb, {"a": ref.action_id})

    def action_ref(self, verb: str, value: str) -> ActionRef:
        return ActionRef(_int(self._open(verb, value), "a"))

    # -- an alert's Snooze buttons ---------------------------------------------------------

    def snooze_value(self, ref: SnoozeRef) -> str:
        return self._seal(SNOOZE, {"al": ref.alert_id, "h": ref.hours})

    def snooze_ref(self, value: str) -> SnoozeRef:
        data = self._open(SNOOZE, value)
        return SnoozeRef(_int(data, "al"), _int(data, "h"))

    # -- the Deny modal ----------------------------------------------------------------------

    def deny_metadata(self, form: DenyForm) -> str:
        return self._seal(DENY_CALLBACK, {"a": form.action_id, "c": form.channel, "t": form.ts})

    def deny_form(self, metadata: str) -> DenyForm:
        data = self._open(DENY_CALLBACK, metadata)
        channel, ts = data.get("c"), data.get("t")
        return DenyForm(
            _int(data, "a"), channel if isinstance(channel, str) else None, ts if isinstance(ts, str) else None
        )


def _int(data: dict[str, object], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Tampered("the button's value cannot be read")
    return value


__all__ = [
    "ACTION_PATTERNS",
    "APPROVE",
    "DENY",
    "DENY_CALLBACK",
    "REQUEST",
    "SNOOZE",
    "ActionRef",
    "DenyForm",
    "FindingRef",
    "Ids",
    "SnoozeRef",
    "Tampered",
    "action_id",
    "derive_key",
    "verb_of",
]
