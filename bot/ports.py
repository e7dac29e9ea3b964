"""What the Slack surface needs from the rest of the app, composed once in ``app.py``."""

from __future__ import annotations

from dataclasses import dataclass, field

from actions.connect import ConnectService
from checks.service import CheckService
from config.env import Settings
from config.integrations import AppConfig


@dataclass
class BotServices:
    settings: Settings
    config: AppConfig
    checks: CheckService
    connect: ConnectService
    demo: bool = False  # serving the bundled demo world (`serve --demo`)
    extra: dict[str, object] = field(default_factory=dict)
