"""The bundled demo world: emulators with real-looking data and real problems.

``DemoEnvironment`` starts every emulator of ``demo/world.yml`` on free loopback ports, builds
the integrations of its ``demo.integrations`` section pointed at them (``{url:SYSTEM}`` and
``{token_url:SYSTEM}`` placeholders), has the services built for them by the ``build`` it is
given (the composition root's, ``app.build``), stores the demo credentials, and cleans
everything up on exit: the servers stop and the temporary directory goes. With ``slack=True``
(``serve --demo`` without a Slack token) it also plays Slack: a fake Web API the bot is pointed
at (``demo/slack.py``).

The demo writes credentials of its own, so it never uses the operator's database or key: the
database lives in a temporary directory (tests hand in ``database_url`` to run the demo world on
the database under test), the key is the demo's, and the demo world's OAuth clients replace any
configured ones. An environment that still carries ``DATABASE_URL`` or the key is refused rather
than half-used: callers drop them with :func:`without_operator_settings` (the composition root
does, for ``demo`` and ``serve --demo``).
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.env import Settings, load_settings
from config.integrations import AppConfig, parse_config
from demo.slack import DemoSlack
from providers import PROVIDERS
from providers.credentials import Credentials
from sandbox.server import Sandbox, load_world

if TYPE_CHECKING:
    from service.container import Services

Build = Callable[[Settings, AppConfig], "Services"]

DEMO_WORLD = Path(__file__).parent / "world.yml"
DEMO_SECRET_KEY = "demo-only-key-not-for-production"
# The operator's database and key: never the demo's (see the module docstring).
OPERATOR_ONLY = frozenset(
    {"DATABASE_URL", "SYNC_DOCTOR_SECRET_KEY", "SYNC_DOCTOR_SECRET_KEY_FILE", "SYNC_DOCTOR_CONFIG"}
)


def fill_placeholders(value: Any, sandbox: Sandbox) -> Any:
    """Replace ``{url:xero}``-style placeholders with the running emulators' addresses."""
    if isinstance(value, str):
        for system in sandbox.emulators:
            overrides = sandbox.overrides(system)
            for key, url in overrides.items():
                value = value.replace("{" + key.removesuffix("_url") + ":" + system + "}", url)
            value = value.replace("{url:" + system + "}", overrides["base_url"])
        return value
    if isinstance(value, Mapping):
        return {k: fill_placeholders(v, sandbox) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_placeholders(v, sandbox) for v in value]
    return value


def without_operator_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without the operator's database and key, as the demo takes it."""
    return {k: v for k, v in environ.items() if k not in OPERATOR_ONLY}


class DemoEnvironment:
    def __init__(
        self,
        environ: Mapping[str, str],
        build: Build,
        *,
        world_path: str | Path = DEMO_WORLD,
        world: Mapping[str, Any] | None = None,
        slack: bool = False,
        database_url: str | None = None,
    ) -> None:
        given = sorted(OPERATOR_ONLY & set(environ))
        if given:
            # Loud rather than ignored: a caller handing these in expects them used (a test meant
            # for PostgreSQL would silently run on SQLite). The command line drops them first.
            raise ValueError(
                f"the demo never uses {', '.join(given)}: drop them with without_operator_settings(); "
                "pass database_url= to run the demo world on a database under test"
            )
        self._environ = dict(environ)
        self._play_slack = slack
        self.slack: DemoSlack | None = None
        self._database_url = database_url
        self._build = build
        self.world = dict(world) if world is not None else load_world(world_path)
        self._tmp: str | None = None
        self.sandbox: Sandbox | None = None
        self._services: Services | None = None

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the demo environment is not running: use it in a `with` block")
        return self._services

    def __enter__(self) -> DemoEnvironment:
        try:
            self.sandbox = Sandbox({k: v for k, v in self.world.items() if k != "demo"}).start()
            spec = fill_placeholders(copy.deepcopy(self.world["demo"]), self.sandbox)
            env = dict(self._environ)
            if self._database_url:
                env["DATABASE_URL"] = self._database_url
            else:
                self._tmp = tempfile.mkdtemp(prefix="sync-doctor-demo-")
                env["DATABASE_URL"] = f"sqlite:///{self._tmp}/demo.db"
            env["SYNC_DOCTOR_SECRET_KEY"] = DEMO_SECRET_KEY
            if self._play_slack:
                self.slack = DemoSlack().start()
                env.update(self.slack.environ())
            for system, client in (spec.get("oauth_clients") or {}).items():
                env[f"{system.upper()}_CLIENT_ID"] = client["client_id"]
                env[f"{system.upper()}_CLIENT_SECRET"] = client["client_secret"]
            settings = load_settings(env)
            config = parse_config(
                {
                    "integrations": spec["integrations"],
                    "slack": spec.get("slack", {}),
                    **({"schedules": spec["schedules"]} if "schedules" in spec else {}),
                },
                source=f"{DEMO_WORLD.name} (demo)",
                systems=PROVIDERS,
            )
            self._services = self._build(settings, config)
            self._connect(spec.get("credentials") or {})
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _connect(self, world_credentials: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> None:
        connect = self.services.connect
        for name, sides in world_credentials.items():
            for side, cred in sides.items():
                if "api_key" in cred:
                    connect.save_api_key(name, side, cred["api_key"], actor="demo")
                else:
                    now = datetime.now(UTC)
                    # refresh_issued_days_ago lets the world tell a token-age story (Xero's
                    # refresh tokens die after 60 days unused).
                    issued = now - timedelta(days=int(cred.get("refresh_issued_days_ago", 0)))
                    expires_in = cred.get("expires_in")
                    credentials = Credentials(
                        kind="oauth2",
                        access_token=cred["access_token"],
                        refresh_token=cred.get("refresh_token"),
                        expires_at=now + timedelta(seconds=int(expires_in)) if expires_in is not None else None,
                        refresh_issued_at=issued,
                        scopes=tuple(cred.get("scopes", ())),
                        tenant_id=cred.get("tenant"),
                        # a data centre's endpoints, a company-file sign-in (MYOB)
                        extra={str(k): str(v) for k, v in (cred.get("extra") or {}).items()},
                    )
                    connect.save(name, side, credentials, actor="demo")

    def banner(self) -> str:
        assert self.sandbox is not None
        urls = ", ".join(f"{s} {u}" for s, u in sorted(self.sandbox.urls.items()))
        return f"Sync Doctor demo: emulators on loopback ({urls}); nothing leaves this machine."

    def __exit__(self, *exc: object) -> None:
        if self._services is not None:
            self._services.close()  # announces the runs still queued while the emulators still answer
            self._services = None
        if self.slack is not None:
            self.slack.stop()
            self.slack = None
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
