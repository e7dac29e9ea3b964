"""Actions run against the demo world's emulators over loopback HTTP, with the services the
composition root builds (``app.build``), stored in the test database (SQLite, or PostgreSQL
with TEST_DATABASE_URL)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import build
from demo import DEMO_SECRET_KEY, DEMO_WORLD, DemoEnvironment, fill_placeholders
from sandbox.server import load_world

ACME_REALM = "9130350000000001"
BLUEGUM_TENANT = "b1f0c0de-0000-4000-8000-00000000b106"
INITECH_TENANT = "c0ffee00-0000-4000-8000-0000000017ec"


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """Commands run in this process (``app.run``) install the app's logging on the root logger;
    its redacting filter rewrites every record (dropping ``exc_info``), which later tests that
    capture log records would see. Put the root logger back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def demo_world() -> dict[str, Any]:
    return load_world(DEMO_WORLD)


@pytest.fixture
def world(demo_world: dict[str, Any]) -> dict[str, Any]:
    """The demo world, admins configured: U0ADMIN1 and U0ADMIN2; a copy each test may change."""
    world = copy.deepcopy(demo_world)
    world["demo"]["slack"] = {"admins": ["U0ADMIN1", "U0ADMIN2"]}
    return world


def environment(world: dict[str, Any], env: dict[str, str], **extra: str) -> DemoEnvironment:
    environ = {"LOG_LEVEL": "WARNING", **extra}
    return DemoEnvironment(environ, build, world=world, database_url=env["DATABASE_URL"])


@pytest.fixture
def demo(world: dict[str, Any], env: dict[str, str]) -> Iterator[DemoEnvironment]:
    with environment(world, env) as running:
        yield running


def qbo_invoices(demo: DemoEnvironment, number: str, realm: str = ACME_REALM) -> list[dict[str, Any]]:
    """The invoices numbered ``number`` in a QuickBooks emulator realm."""
    assert demo.sandbox is not None
    emulator: Any = demo.sandbox.emulators["quickbooks"]
    return [i for i in emulator.realms[realm].entities["Invoice"] if i.get("DocNumber") == number]


def xero_invoices(demo: DemoEnvironment, number: str, tenant: str = INITECH_TENANT) -> list[dict[str, Any]]:
    assert demo.sandbox is not None
    emulator: Any = demo.sandbox.emulators["xero"]
    return [i for i in emulator.org(tenant).invoices if i["Type"] == "ACCREC" and i["InvoiceNumber"] == number]


def write_config(demo: DemoEnvironment, path: Path) -> dict[str, str]:
    """The demo world's integrations as an integrations file at ``path`` (pointing at the
    running emulators), and the environment a command or a child process needs to use them
    with the demo's database and stored credentials."""
    assert demo.sandbox is not None
    spec = fill_placeholders(copy.deepcopy(demo.world["demo"]), demo.sandbox)
    path.write_text(yaml.safe_dump({"slack": spec.get("slack", {}), "integrations": spec["integrations"]}))
    environ = {
        "DATABASE_URL": demo.services.settings.database_url,
        "SYNC_DOCTOR_SECRET_KEY": DEMO_SECRET_KEY,  # what the demo stored its credentials under
        "SYNC_DOCTOR_CONFIG": str(path),
        "LOG_LEVEL": "WARNING",
    }
    for system, client in (spec.get("oauth_clients") or {}).items():
        environ[f"{system.upper()}_CLIENT_ID"] = client["client_id"]
        environ[f"{system.upper()}_CLIENT_SECRET"] = client["client_secret"]
    return environ
