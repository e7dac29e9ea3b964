"""A check: a named function of a :class:`RunContext` returning findings.

Checks never catch ``ProviderError``: the runner turns it into an ``error`` finding (or the
matching connection / token finding) once per system, so a revoked token is one finding,
not one per check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from checks.context import RunContext
from checks.findings import Finding


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # e.g. "skus"
    family: str  # catalog family it reports under
    run: Callable[[RunContext], Iterable[Finding]]
    cheap: bool = False  # part of the 15-minute monitoring sweep (few API calls)
    final: bool = False  # runs after every other check: it reads what the run did (API calls, 429s)

    def __call__(self, ctx: RunContext) -> list[Finding]:
        return list(self.run(ctx))
