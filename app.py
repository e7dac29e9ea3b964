"""Sync Doctor: the composition root, and the entry point (``python app.py COMMAND``, the same as
``sync-doctor COMMAND``).

:func:`build` makes the database engine, the credentials vault, the provider factory, the run
notifier and the services once, and registers the run listeners that belong to the whole
process (change alerts, when Slack is configured). The command line (``cli/``) receives a
:class:`Root`, the demo (``demo/``) receives :func:`build`, the Slack server (``bot/``) receives
the built :class:`service.container.Services`; none of them imports this module.

The heavy parts (SQLAlchemy, httpx, Slack, Alembic, the emulators) are imported inside the
functions that use them, never at the top: ``--help`` pays for none of them and each command
only for what it uses (ARCHITECTURE.md, "Fast start"; ``bench/bench_startup.py``).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cli.commands import run_cli
from config.env import Settings
from config.integrations import AppConfig, load_config

if TYPE_CHECKING:
    import httpx

    from demo import DemoEnvironment
    from service.action_views import ActionView
    from service.container import Services


def build(
    settings: Settings,
    config: AppConfig,
    *,
    transport: httpx.BaseTransport | None = None,
    upgrade_db: bool = True,
) -> Services:
    """Everything one process uses, built once. ``transport`` reaches the providers' HTTP
    clients (tests hand in an ``httpx.MockTransport``)."""
    with _gc_paused():
        return _build(settings, config, transport=transport, upgrade_db=upgrade_db)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Building imports most of the code a process runs (some 500 modules). Their objects
    live as long as the process, yet the cyclic garbage collector would scan them again and
    again while they load: about a sixth of a CLI check's time. Collection resumes after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build(
    settings: Settings, config: AppConfig, *, transport: httpx.BaseTransport | None, upgrade_db: bool
) -> Services:
    from actions.connect import ConnectService
    from actions.consent import ConsentService
    from checks import CHECKS
    from providers.http import RetryPolicy
    from service.actions import ActionService
    from service.container import Services
    from service.notify import RunNotifier
    from service.providers import provider_factory
    from service.replays import ReplayGuard
    from service.runs import CheckService
    from store import migrate
    from store.crypto import Vault, key_file_for, load_or_create_key
    from store.db import make_engine, make_session_factory
    from store.rekey import sealed_count

    engine = make_engine(settings.database_url)
    try:
        if upgrade_db:
            migrate.ensure_current(engine)
        sessions = make_session_factory(engine)
        key_file = key_file_for(settings.sqlite_path())
        generating = not settings.secret_key and not key_file.exists()

        def sealed_rows() -> int:
            with sessions() as session:
                return sealed_count(session)

        vault = Vault(load_or_create_key(settings.secret_key, key_file, sealed_rows=sealed_rows))
    except BaseException:
        engine.dispose()
        raise
    notices = (
        (
            f"SYNC_DOCTOR_SECRET_KEY is not set: generated a key in {key_file} (mode 0600). Set "
            "SYNC_DOCTOR_SECRET_KEY in production and keep it safe: without it stored credentials cannot be read.",
        )
        if generating
        else ()
    )
    notifier = RunNotifier()
    checks = CheckService(
        config, sessions, vault, provider_factory(settings, sessions, vault, transport), CHECKS, notifier=notifier
    )
    connect = ConnectService(config, settings, sessions, vault)
    consent = ConsentService(config, settings, sessions, vault, connect, transport=transport)
    actions = ActionService(
        config,
        sessions,
        provider_factory(settings, sessions, vault, transport),
        checks,
        # Writes are retried by the action engine, which looks each invoice up before sending
        # it again and records every attempt: the HTTP layer must not retry them on its own.
        write_providers=provider_factory(settings, sessions, vault, transport, retry=RetryPolicy(attempts=0)),
        links=consent,  # signed, single-use, 15-minute consent links
    )
    services = Services(
        settings,
        config,
        engine,
        sessions,
        vault,
        notifier,
        checks,
        connect,
        actions,
        consent,
        ReplayGuard(sessions),
        notices=notices,
    )
    _register_alerts(services)
    return services


def _register_alerts(services: Services) -> None:
    """Slack for what no one is waiting on: change alerts follow every run, whoever started it
    (CLI, Slack, demo, schedule), registered here and nowhere else, so each run is announced
    once; quarterly digests; the nightly reconciliation's approval requests. Without
    ``SLACK_BOT_TOKEN`` there is nowhere to post, and nothing is registered (nor is Slack's
    SDK imported)."""
    settings = services.settings
    if not settings.slack_bot_token:
        return
    from bot.blocks.ids import Ids, derive_key
    from bot.publish import SlackAlertPublisher, SlackDigestPublisher, make_client
    from reports.alerts import AlertService

    client = make_client(settings)
    # The Snooze buttons are signed with the key the bot checks them with (bot/slack_app.py
    # button_ids); with no secret at all there is no bot to click them, so no buttons.
    secret = settings.secret_key or settings.slack_signing_secret or settings.slack_app_token
    publisher = SlackAlertPublisher(client, Ids(derive_key(secret)) if secret else None)
    services.notifier.subscribe(AlertService(services.config, services.sessions, publisher))
    services.digest_publisher = SlackDigestPublisher(client)
    if secret:  # approval requests carry signed buttons
        from bot.action_messages import ActionMessages, Origin

        messages = ActionMessages(client, Ids(derive_key(secret)), services.actions)

        def announce(view: ActionView) -> object:
            channel = services.actions.approvals_channel(view.integration)
            if channel is None:
                raise LookupError(f"no approvals channel for {view.integration}: set slack.approvals_channel")
            return messages.post_request(view, channel, Origin(), None)

        services.announce_request = announce


class Root:
    """What the commands get from the composition root (``cli.commands.Root``).

    ``owns_process``: the process runs this one command and ends (``main``), so what is built
    may be frozen for the garbage collector; not so when tests run commands in their process."""

    def __init__(self, *, owns_process: bool = False) -> None:
        self.owns_process = owns_process

    def services(self, settings: Settings) -> Services:
        from providers import PROVIDERS

        return self._build(settings, load_config(settings.config_path, systems=PROVIDERS))

    def demo(self, environ: Mapping[str, str], *, slack: bool = False) -> DemoEnvironment:
        from demo import DemoEnvironment, without_operator_settings

        return DemoEnvironment(without_operator_settings(environ), self._build, slack=slack)

    def _build(self, settings: Settings, config: AppConfig) -> Services:
        services = build(settings, config)
        if self.owns_process:
            # What start-up built (modules, classes, the services) lives as long as the
            # process: frozen, it stays out of every later collection's scan. A tenth of a CLI
            # check's time, and shorter collection pauses for `serve`. Frozen objects are never
            # collected, hence only in a process that runs one command.
            gc.freeze()
        return services

    def serve(self, services: Services, *, demo: bool = False) -> None:
        from bot.server import serve

        serve(services, demo=demo)

    def upgrade_database(self, settings: Settings) -> str | None:
        from store import migrate
        from store.db import make_engine

        engine = make_engine(settings.database_url)
        try:
            migrate.upgrade(engine)
            return migrate.current_revision(engine)
        finally:
            engine.dispose()

    def rotate_key(self, settings: Settings) -> int:
        from store.rekey import rotate_all

        services = build(settings, AppConfig(integrations={}))
        try:
            with services.sessions.begin() as session:
                return rotate_all(session, services.vault)
        finally:
            services.close()


def main() -> int:
    """``python app.py COMMAND`` and ``sync-doctor COMMAND``: one command, then the process ends."""
    return run_cli(sys.argv[1:], root=Root(owns_process=True))


def run(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """One command inside a process that goes on (tests): ``env`` instead of ``os.environ``."""
    return run_cli(argv, env, root=Root())


if __name__ == "__main__":
    sys.exit(main())
