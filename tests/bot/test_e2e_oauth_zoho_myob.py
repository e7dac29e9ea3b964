"""The consent round trip of MYOB and Zoho Books through the server's /oauth/<system>/start and
/oauth/<system>/callback, against the demo world's emulators: the company file picked on
MYOB's consent screen is checked against the configured one before anything is stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app import build
from bot.server import make_asgi_app
from bot.slack_app import create_app
from demo import DEMO_WORLD, DemoEnvironment
from sandbox.myob import MyobEmulator
from sandbox.server import LoopbackServer, load_world
from sandbox.slack import FakeSlack
from tests.bot.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.conftest import free_port

HARBOUR_FILE = "4a7b0e5c-1d2e-4f3a-9b8c-7d6e5f4a3b21"
OTHER_FILE = "0e55e471-0000-4000-8000-00000000e551"


class Served:
    def __init__(self, demo: DemoEnvironment, port: int) -> None:
        self.demo = demo
        self.bot = create_app(demo.services)
        self.server = LoopbackServer(make_asgi_app(demo.services, self.bot), port).start()

    def consent(self, system: str, integration: str) -> httpx.Response:
        """Open a signed link issued to an admin, let the emulator's consent screen approve, and
        follow the redirect back."""
        link = self.demo.services.consent.issue_link(integration, "destination", "U0ADMIN")
        # the link names localhost (PORT); the server listens on 127.0.0.1
        start = httpx.get(link.replace("//localhost:", "//127.0.0.1:"))
        assert start.status_code == 302, start.text
        screen = httpx.get(start.headers["location"], follow_redirects=False)
        assert screen.status_code == 302, screen.text
        # the redirect URI names localhost (PORT); the server listens on 127.0.0.1
        return httpx.get(screen.headers["location"].replace("//localhost:", "//127.0.0.1:"))


@pytest.fixture
def served(env: dict[str, str], fake_slack: FakeSlack) -> Iterator[Served]:
    world: dict[str, Any] = load_world(DEMO_WORLD)
    world["myob"]["faults"] = {}
    world["myob"]["company_files"].append({"id": OTHER_FILE, "name": "Old Harbour file", "country": "AU"})
    world["myob"]["consent"] = {"business_id": HARBOUR_FILE}
    port = free_port()
    environ = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "PORT": str(port),
    }
    with DemoEnvironment(environ, build, world=world, database_url=env["DATABASE_URL"]) as demo:
        running = Served(demo, port)
        try:
            yield running
        finally:
            running.server.stop()
            running.bot.shutdown(5)


def test_myob_callback_checks_the_company_file(served: Served) -> None:
    done = served.consent("myob", "harbour")
    assert done.status_code == 200, done.text
    assert f"MYOB (organisation {HARBOUR_FILE}) is now connected as the destination of harbour" in done.text
    assert "at-" not in done.text and "rt-" not in done.text
    result = served.demo.services.checks.run("harbour")
    # the new tokens work, and the company-file sign-in stored before was kept
    assert not [f.code for f in result.findings if f.code.startswith(("token.", "connection."))]

    assert served.demo.sandbox is not None
    emulator = served.demo.sandbox.emulators["myob"]
    assert isinstance(emulator, MyobEmulator)
    emulator.consent["business_id"] = OTHER_FILE
    refused = served.consent("myob", "harbour")
    assert refused.status_code == 409 and "not the configured one" in refused.text
    assert "Old Harbour file" in refused.text


def test_zoho_callback_stores_the_data_centre(served: Served) -> None:
    done = served.consent("zoho_books", "tasman")
    assert done.status_code == 200, done.text
    assert "Zoho Books (organisation 7001234567) is now connected as the destination of tasman" in done.text
    result = served.demo.services.checks.run("tasman")
    assert not [f.code for f in result.findings if f.code.startswith(("token.", "connection."))]
