"""Documented JSON shapes as data, for systems that publish no machine-readable spec (Zoho Books,
MYOB): a :class:`Shape` names the keys a document must carry, those it may carry, and the type
or nested shape of each; :func:`problems` lists every way a value departs from it.

A key outside ``required`` and ``optional`` is a problem too: an emulator answering a field the
documentation does not show, or a client sending one, is caught the same way as a missing one.
And :class:`Recorder` is a transport at the network edge that keeps every request a client sends
through to the real loopback server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

import httpx

Spec = Union[type, tuple[type, ...], "Shape", "ListOf"]


@dataclass(frozen=True)
class Shape:
    required: Mapping[str, Spec] = field(default_factory=dict)
    optional: Mapping[str, Spec] = field(default_factory=dict)
    open: bool = False  # other keys allowed (a document whose full field list is not the contract)


@dataclass(frozen=True)
class ListOf:
    item: Spec


def problems(value: Any, spec: Spec, where: str = "$") -> list[str]:
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        return [p for n, v in enumerate(value) for p in problems(v, spec.item, f"{where}[{n}]")]
    if isinstance(spec, Shape):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        found = [f"{where}.{k}: missing" for k in spec.required if k not in value]
        for key, item in value.items():
            inner = spec.required.get(key, spec.optional.get(key))
            if inner is None:
                if not spec.open:
                    found.append(f"{where}.{key}: not in the documented shape")
                continue
            if item is not None:  # a documented field may be null
                found.extend(problems(item, inner, f"{where}.{key}"))
        return found
    if isinstance(value, bool) and spec in (int, float, (int, float)):
        return [f"{where}: expected {spec}, got a boolean"]
    if not isinstance(value, spec):
        return [f"{where}: expected {spec}, got {type(value).__name__} {value!r}"[:200]]
    return []


NUMBER = (int, float)


class Recorder(httpx.BaseTransport):
    """Sends through a real transport; keeps each request (its body read) for the test."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()
