"""The Bolt app, composed from the modules that each have ``register(app, services, ...)``.

:func:`create_app` returns a :class:`BotRuntime`: the app, and what it owns that needs
stopping (the command worker pool, the App Home refresher, which listens to the runs while the
bot serves). Change alerts are not the bot's: the composition root registers them once for
every run of the process (``app.py``), Slack-started or not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient

from bot import commands, errors, home, interactions
from bot.blocks.ids import Ids, derive_key
from bot.channels import resolve_allowed_channels
from bot.commands import RunPool
from bot.home import HomeTab
from bot.interactions import ActionDesk
from bot.publish import make_client
from config.env import Settings
from config.integrations import ConfigError
from config.logging import quiet_slack_payloads
from service.container import Services

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
    desk: ActionDesk

    def shutdown(self, timeout: float = 25.0) -> None:
        """Let commands in progress answer (up to ``timeout`` s), then stop the threads (an
        action still running then is finished by the next start's resume)."""
        self.pool.shutdown(timeout)
        self.desk.shutdown(timeout)
        self.home.shutdown()


def button_ids(settings: Settings) -> Ids:
    """The signer of button values: keyed by the secret key (the signing secret without one),
    so buttons keep working across restarts and replicas sharing the configuration."""
    secret = settings.secret_key or settings.slack_signing_secret or settings.slack_app_token
    if not secret:
        raise BotConfigError("SYNC_DOCTOR_SECRET_KEY is not set: Slack buttons cannot be signed without it")
    return Ids(derive_key(secret))


def create_app(services: Services, client: WebClient | None = None) -> BotRuntime:
    """The Bolt app for HTTP mode (request verification on), or Socket Mode when
    ``SLACK_APP_TOKEN`` is set (``bot/server.py`` attaches the socket handler)."""
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
    channels = resolve_allowed_channels(client, services.config.slack.allowed_channels)
    verify = bool(settings.slack_signing_secret)
    quiet_slack_payloads()  # before App(): Bolt copies bot.bolt's filters to the loggers it makes
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
        name="bot.bolt",  # the app's own loggers are named after it: bot.bolt:<listener>
    )
    pool = commands.RunPool()
    ids = button_ids(settings)
    errors.register(app, services)
    desk = interactions.register(app, services, pool, client, ids)
    commands.register(app, services, pool, channels, desk)
    tab = home.register(app, services, client)
    return BotRuntime(app, client, pool, tab, desk)
