"""What every command shares: the exit codes, the composition root's protocol, one command's
view of the process. Light on purpose: ``--help`` imports it."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from config.env import Settings

if TYPE_CHECKING:
    from demo import DemoEnvironment
    from service.container import Services

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class Root(Protocol):
    """What the composition root builds for a command, on demand."""

    def services(self, settings: Settings) -> Services:
        """Services for the configured integrations (the caller closes them)."""

    def demo(self, environ: Mapping[str, str], *, slack: bool = False) -> DemoEnvironment:
        """The bundled demo world, to be entered with ``with``; ``slack``: with a fake Slack."""

    def serve(self, services: Services, *, demo: bool = False) -> None:
        """Serve the Slack bot until stopped."""

    def upgrade_database(self, settings: Settings) -> str | None:
        """Apply every migration; the revision the database is at."""

    def rotate_key(self, settings: Settings) -> int:
        """Re-encrypt every stored credential under the first key; how many were."""


class UsageError(Exception):
    pass


class Command:
    """One command's view of the process: the root, the settings, the environment."""

    def __init__(self, root: Root, settings: Settings, environ: Mapping[str, str]) -> None:
        self.root = root
        self.settings = settings
        self.environ = environ

    def services(self) -> Services:
        """The services (the caller closes them), after telling the user what start-up did
        that they should know (a generated key file)."""
        services = self.root.services(self.settings)
        for notice in services.notices:
            print(f"note: {notice}", file=sys.stderr)
        return services
