"""Faults an emulator can be switched into, from the world file or at run time by a test.

Counters (``rate_limit``, ``server_errors``, ``garbage``) are consumed one request at a time,
so "the next 3 requests get 429" is ``faults.rate_limit = 3``. The API faults spare the OAuth
token endpoint, which has its own counters (``token_rate_limit``, ``token_server_errors``).
``latency_ms`` is the slow-response fault: every API answer waits that long (a large value is
a system that never answers; the loopback server drops such requests when it stops).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class Faults:
    latency_ms: int = 0  # added to every API response
    rate_limit: int = 0  # the next N API requests answer 429 (a storm)
    rate_limit_every: int = 0  # every Nth API request answers 429
    retry_after: float = 1.0  # Retry-After sent with a 429
    send_retry_after: bool = True  # False: 429s carry no Retry-After (HubSpot's usual answer)
    rate_limit_problem: str = "minute"  # Xero's X-Rate-Limit-Problem on a 429
    server_errors: int = 0  # the next N API requests answer server_error_status
    server_error_status: int = 503
    garbage: int = 0  # the next N API requests answer 200 with an HTML body
    wrong_tenant: bool = False  # the token reaches a different tenant than the one asked for
    token_rate_limit: int = 0  # the next N token-endpoint requests answer 429 (with retry_after)
    token_server_errors: int = 0  # the next N token-endpoint requests answer server_error_status
    token_latency_ms: int = 0  # added to every token-endpoint answer
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _seen: int = field(default=0, repr=False, compare=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Faults:
        if data is not None and not isinstance(data, Mapping):
            raise ValueError(f"faults must be a mapping of fault -> value, not {type(data).__name__}")
        data = dict(data or {})
        declared = {f.name: f.type for f in fields(cls) if not f.name.startswith("_")}
        unknown = set(data) - set(declared)
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(map(str, unknown))}; known: {sorted(declared)}")
        for name, value in data.items():
            if not _fits(value, str(declared[name])):
                raise ValueError(f"faults.{name} must be {_KINDS[str(declared[name])]}, not {value!r}")
        return cls(**data)

    def next_fault(self) -> str | None:
        """Which fault, if any, the request being served now should get."""
        with self._lock:
            self._seen += 1
            if self.rate_limit > 0:
                self.rate_limit -= 1
                return "rate_limit"
            if self.rate_limit_every and self._seen % self.rate_limit_every == 0:
                return "rate_limit"
            if self.server_errors > 0:
                self.server_errors -= 1
                return "server_error"
            if self.garbage > 0:
                self.garbage -= 1
                return "garbage"
            return None

    def next_token_fault(self) -> str | None:
        """Which fault, if any, the token-endpoint request being served now should get."""
        with self._lock:
            if self.token_rate_limit > 0:
                self.token_rate_limit -= 1
                return "rate_limit"
            if self.token_server_errors > 0:
                self.token_server_errors -= 1
                return "server_error"
            return None


_KINDS = {"int": "a whole number >= 0", "float": "a number from 0 to 1000000", "str": "text", "bool": "true or false"}


def _fits(value: Any, kind: str) -> bool:
    """``value`` is what a field declared as ``kind`` can hold (the world is read as given)."""
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return False
    return isinstance(value, int) if kind == "int" else value < 10**6


class Hold:
    """One request an emulator parks at a chosen point, so a test can act meanwhile (kill the
    client process, look at the world) and then let it through.

    ``phase="before"``: the request has been received in full but not handled; once released it
    is handled even if its client is gone (a server that received a request does the work).
    ``phase="after"``: handled (its effect is in the world), the answer not yet sent.
    ``arrived`` is set when a matching request is parked, ``done`` once it has been handled."""

    def __init__(self, method: str, path: str, phase: str = "before") -> None:
        if phase not in ("before", "after"):
            raise ValueError(f"a hold's phase is 'before' or 'after', not {phase!r}")
        self.method = method.upper()
        self.path = path
        self.phase = phase
        self.arrived = threading.Event()
        self.released = threading.Event()
        self.done = threading.Event()

    def matches(self, method: str, path: str) -> bool:
        return method.upper() == self.method and path == self.path

    def release(self) -> None:
        self.released.set()


class Holds:
    """Holds waiting for their request; each catches one request, the first that matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[Hold] = []

    def add(self, method: str, path: str, phase: str = "before") -> Hold:
        hold = Hold(method, path, phase)
        with self._lock:
            self._waiting.append(hold)
        return hold

    def take(self, method: str, path: str) -> Hold | None:
        with self._lock:
            for hold in self._waiting:
                if hold.matches(method, path):
                    self._waiting.remove(hold)
                    return hold
        return None
