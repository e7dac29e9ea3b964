"""The Slack surface: a Bolt app whose modules each have ``register(app, services)``.

``create_app`` composes them once. It also installs the run listeners that post to Slack:
change alerts (``reports/alerts.py``, posted by ``bot/publish.py``) and the App Home refresh.
What the app owns that needs stopping (the command worker pool, the Home refresher) is kept
on ``services.extra["bot"]`` (a :class:`BotRuntime`) so ``bot/server.py`` can drain it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_sdk import WebClient

from bot.ports import BotServices
from config.integrations import ConfigError

if TYPE_CHECKING:
    from bot.commands import RunPool
    from bot.home import HomeTab

logger = logging.getLogger(__name__)


class BotConfigError(ConfigError):
    """Slack settings missing or inconsistent, phrased for the operator (the CLI prints it
    and exits 2, as for any configuration error)."""


@dataclass
class BotRuntime:
    app: App
    client: WebClient
    pool: RunPool
    home: HomeTab

    def shutdown(self, timeout: float = 25.0) -> None:
        """Let commands in progress answer (up to ``timeout`` s), then stop the threads."""
        self.pool.shutdown(timeout)
        self.home.shutdown()


def create_app(services: BotServices, client: WebClient | None = None) -> App:
    """The Bolt app for HTTP mode (request verification on), or Socket Mode when
    ``SLACK_APP_TOKEN`` is set (``bot/server.py`` attaches the socket handler)."""
    from bot import commands, errors, home
    from bot.publish import install_alerts, make_client

    settings = services.settings
    if client is None:
        if not settings.slack_bot_token:
            raise BotConfigError(
                "SLACK_BOT_TOKEN is not set: the bot token (xoxb-...) from your Slack app's OAuth page"
            )
        client = make_client(settings)
    if not settings.slack_signing_secret and not settings.slack_app_token:
        raise BotConfigError(
            "SLACK_SIGNING_SECRET is not set: Slack's requests cannot be verified without it "
            "(Basic Information -> App Credentials in your Slack app), or set SLACK_APP_TOKEN for Socket Mode"
        )
    verify = bool(settings.slack_signing_secret)
    app = App(
        client=client,
        # HTTP requests are always verified; Socket Mode ones carry no signature and Bolt skips
        # the check for them. Without a signing secret (Socket Mode only) /slack/events is not
        # served at all (bot/server.py), so nothing unverified can arrive over HTTP.
        signing_secret=settings.slack_signing_secret or None,
        request_verification_enabled=verify,
        process_before_response=False,  # HTTP mode: the 200 goes out as soon as ack() is called
        raise_error_for_unhandled_request=False,
        logger=logging.getLogger("bot.bolt"),
    )
    pool = commands.RunPool()
    errors.register(app, services)
    commands.register(app, services, pool)
    tab = home.register(app, services, client)
    install_alerts(services.checks, settings, services.config, client)
    services.extra["bot"] = BotRuntime(app, client, pool, tab)
    return app


def runtime(services: BotServices) -> BotRuntime | None:
    found = services.extra.get("bot")
    return found if isinstance(found, BotRuntime) else None


__all__ = ["BotConfigError", "BotRuntime", "create_app", "runtime"]
