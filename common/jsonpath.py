"""A small JSON path: the subset feed mappings need, parsed once, evaluated many times.

Syntax: ``$`` (the value itself), ``.name``, ``['name with spaces']`` or ``["name"]``, ``[3]``
(an index, negative from the end) and ``[*]`` (every element of a list, or every value of a
mapping). ``$.zoneresponse.invoices[*]``, ``$.client.orgname``, ``$['Invoice #']``.

Evaluation tells a missing key apart from a present ``null``: :meth:`JsonPath.find` returns the
matches and, when nothing matched, the step where the walk stopped, so a mapping that does not
fit the payload can be reported precisely ("no key 'data' at $; keys there: results, meta").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)")
_QUOTED = re.compile(r"\[\s*(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\")\s*\]")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")
_STAR = re.compile(r"\[\s*\*\s*\]|\.\*")


class JsonPathError(ValueError):
    """A path that is not valid syntax."""


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # "key" | "index" | "all"
    key: str = ""
    index: int = 0

    def text(self) -> str:
        if self.kind == "all":
            return "[*]"
        if self.kind == "index":
            return f"[{self.index}]"
        return f".{self.key}" if _NAME.fullmatch("." + self.key) else f"['{self.key}']"


@dataclass(frozen=True, slots=True)
class Miss:
    """Where a walk stopped: the path up to there, why, and what was there instead."""

    at: str  # the path walked so far ("$.zoneresponse")
    reason: str  # "no key 'invoices'", "not a list", ...
    found: Any  # the value at ``at``

    def describe(self) -> str:
        return f"{self.reason} at {self.at}{_around(self.found)}"


@dataclass(frozen=True, slots=True)
class JsonPath:
    text: str
    steps: tuple[Step, ...]

    @property
    def many(self) -> bool:
        """True when the path can match several values (it has a ``[*]``)."""
        return any(step.kind == "all" for step in self.steps)

    def find(self, value: Any) -> tuple[list[Any], Miss | None]:
        """Every match, and where the walk stopped if there are none (None when the path
        resolved to an empty list or mapping through ``[*]``: nothing there, not a misfit)."""
        current: list[Any] = [value]
        walked = "$"
        for step in self.steps:
            following: list[Any] = []
            miss: Miss | None = None
            for item in current:
                found, why = _apply(step, item)
                following.extend(found)
                if why is not None and miss is None:
                    miss = Miss(walked, why, item)
            if not following:
                return [], miss
            current = following
            walked += step.text()
        return current, None

    def first(self, value: Any) -> tuple[Any, Miss | None]:
        """The first match (None with a Miss when there is none)."""
        found, miss = self.find(value)
        return (found[0], None) if found else (None, miss)

    def __str__(self) -> str:
        return self.text


def parse(text: str) -> JsonPath:
    """Parse ``text``; raises :class:`JsonPathError` naming what is wrong."""
    source = text.strip()
    if not source.startswith("$"):
        raise JsonPathError(f"{text!r} must start with '$' (e.g. $.number or $['Invoice #'])")
    rest = source[1:]
    steps: list[Step] = []
    while rest:
        star = _STAR.match(rest)
        if star:
            steps.append(Step("all"))
            rest = rest[star.end() :]
            continue
        name = _NAME.match(rest)
        if name:
            steps.append(Step("key", key=name.group(1)))
            rest = rest[name.end() :]
            continue
        quoted = _QUOTED.match(rest)
        if quoted:
            raw = quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
            steps.append(Step("key", key=re.sub(r"\\(.)", r"\1", raw)))
            rest = rest[quoted.end() :]
            continue
        index = _INDEX.match(rest)
        if index:
            steps.append(Step("index", index=int(index.group(1))))
            rest = rest[index.end() :]
            continue
        raise JsonPathError(f"{text!r}: cannot read {rest!r} (use .name, ['name'], [0] or [*])")
    return JsonPath(source, tuple(steps))


def _apply(step: Step, item: Any) -> tuple[list[Any], str | None]:
    if step.kind == "key":
        if isinstance(item, Mapping):
            if step.key in item:
                return [item[step.key]], None
            return [], f"no key {step.key!r}"
        return [], f"not an object (a {_kind(item)}), so no key {step.key!r}"
    if step.kind == "index":
        if isinstance(item, Sequence) and not isinstance(item, str | bytes):
            try:
                return [item[step.index]], None
            except IndexError:
                return [], f"no element [{step.index}] (the list has {len(item)})"
        return [], f"not a list (a {_kind(item)}), so no element [{step.index}]"
    if isinstance(item, Mapping):
        return list(item.values()), None
    if isinstance(item, Sequence) and not isinstance(item, str | bytes):
        return list(item), None
    return [], f"not a list (a {_kind(item)}), so no [*]"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, Sequence):
        return "list"
    return type(value).__name__


def _around(value: Any) -> str:
    """What was there instead, briefly: an object's keys, a list's length, a value's kind."""
    if isinstance(value, Mapping):
        keys = ", ".join(str(k) for k in list(value)[:12])
        more = " …" if len(value) > 12 else ""
        return f" (keys there: {keys}{more})" if keys else " (an empty object)"
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return f" (a list of {len(value)})"
    return f" (a {_kind(value)})"
