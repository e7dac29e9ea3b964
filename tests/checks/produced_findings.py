"""Findings as the checks really produce them, for tests of what is made of findings (the
remediation templates above all).

A scenario is a small world: records given through ``SideData.preloaded`` (as providers return
them), the stored connection state, or a ``ProviderError`` as a provider raises it; it runs the
real checks of ``checks/`` (the same ``Check`` objects the runner runs, or
``checks.errors.finding_for_error``, or the runner itself) and returns what they found. Nothing
here writes evidence by hand, so a check that changes its evidence changes what the templates
are rendered from.

The scenarios themselves live in ``access_findings`` (connection, token, API key, plan,
settings, rate and internal codes) and ``data_findings`` (mapping, contact, SKU and sync codes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from checks.base import Check
from checks.context import History, RunContext, SideData
from checks.errors import finding_for_error
from checks.findings import Finding, dedupe
from config.integrations import IntegrationConfig
from providers.errors import ProviderError
from tests.checks.contexts import ctx
from tests.checks.records import NOW


@dataclass(frozen=True)
class Produced:
    """What one scenario's checks found, and the integration they ran for (its systems are the
    ``source`` / ``destination`` a report renders the remediation with)."""

    integration: IntegrationConfig
    findings: tuple[Finding, ...]


Scenario = Callable[[], Produced]


class Registry:
    """Scenarios by name; a module registers each with ``@registry.add``."""

    def __init__(self) -> None:
        self.scenarios: dict[str, Scenario] = {}

    def add(self, scenario: Scenario) -> Scenario:
        name = scenario.__name__
        if name in self.scenarios:
            raise ValueError(f"two scenarios are named {name}")
        self.scenarios[name] = scenario
        return scenario


def run_checks(
    integration: IntegrationConfig,
    source: SideData,
    destination: SideData,
    *checks: Check,
    now: datetime = NOW,
    history: History | None = None,
) -> Produced:
    """Run ``checks`` on one context as the runner does: on the same shared sides, one finding
    kept per code and subject."""
    context: RunContext = ctx(integration, source, destination, now, history)
    return Produced(integration, tuple(dedupe(f for check in checks for f in check(context))))


def from_errors(integration: IntegrationConfig, met: Iterable[tuple[ProviderError, SideData]]) -> Produced:
    """The findings the runner makes of provider errors met while reading each side."""
    return Produced(integration, tuple(finding_for_error(error, side) for error, side in met))
