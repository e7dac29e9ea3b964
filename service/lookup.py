"""Finding an integration by the name a user typed, with close names when there is none."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from config.integrations import AppConfig, IntegrationConfig


class UnknownIntegration(LookupError):
    def __init__(self, name: str, suggestions: Sequence[str]) -> None:
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"No integration named {name!r}.{hint}")
        self.name = name
        self.suggestions = tuple(suggestions)


def integrations(config: AppConfig) -> list[IntegrationConfig]:
    """Every configured integration, by name."""
    return [config.integrations[name] for name in sorted(config.integrations)]


def suggest(config: AppConfig, name: str, n: int = 3) -> list[str]:
    names = sorted(config.integrations)
    return difflib.get_close_matches(name.strip().lower(), names, n=n, cutoff=0.5)


def find(config: AppConfig, name: str) -> IntegrationConfig:
    """The integration called ``name``; :class:`UnknownIntegration` (with suggestions) if none."""
    integration = config.get(name)
    if integration is None:
        raise UnknownIntegration(name, suggest(config, name))
    return integration
