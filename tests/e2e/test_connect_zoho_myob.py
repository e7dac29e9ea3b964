"""OAuth consent for Zoho Books and MYOB through the command line, against the emulators'
consent screens and token endpoints over loopback: `connect NAME SIDE --oauth`, the browser's
redirect, `connect NAME SIDE --redirect-url`, then `check`.

Zoho: the user's data centre (Australia here) comes back on the redirect; the code is
exchanged at that data centre's accounts server and the API is called at the token response's
``api_domain``. MYOB: the company file picked on the consent screen must be the configured
one; the file's own sign-in is stored with ``--company-file-user``.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from app import run
from demo import DEMO_WORLD, fill_placeholders
from sandbox.myob import MyobEmulator
from sandbox.server import Sandbox, load_world

HARBOUR_FILE = "4a7b0e5c-1d2e-4f3a-9b8c-7d6e5f4a3b21"
OTHER_FILE = "0e55e471-0000-4000-8000-00000000e551"


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Iterator[None]:
    """``run`` sets up the CLI's redacting log handler on the root logger; later tests must not
    inherit it (it consumes exc_info before caplog sees it)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    world = {k: v for k, v in load_world(DEMO_WORLD).items() if k != "demo"}
    zoho = world["zoho_books"]
    zoho["organizations"][0]["dc"] = "au"  # the organisation lives in Zoho's Australian data centre
    zoho["consent"] = {"location": "au", "principal": ["7001234567"]}
    myob = world["myob"]
    myob["faults"] = {}
    myob["company_files"].append({"id": OTHER_FILE, "name": "Harbour Electrical (old file)", "country": "AU"})
    myob["consent"] = {"business_id": HARBOUR_FILE}
    sb = Sandbox(world).start()
    yield sb
    sb.stop()


@pytest.fixture
def configured(env: dict[str, str], sandbox: Sandbox) -> dict[str, str]:
    demo = fill_placeholders(copy.deepcopy(load_world(DEMO_WORLD)["demo"]), sandbox)
    integrations = {name: demo["integrations"][name] for name in ("tasman", "harbour")}
    Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump({"integrations": integrations}), encoding="utf-8")
    clients = demo["oauth_clients"]
    return {
        **env,
        "PORT": "3917",
        "ZOHO_BOOKS_CLIENT_ID": clients["zoho_books"]["client_id"],
        "ZOHO_BOOKS_CLIENT_SECRET": clients["zoho_books"]["client_secret"],
        "MYOB_CLIENT_ID": clients["myob"]["client_id"],
        "MYOB_CLIENT_SECRET": clients["myob"]["client_secret"],
    }


def consent(env: dict[str, str], name: str, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """``connect NAME destination --oauth``, then the consent screen's redirect: (consent URL, redirect)."""
    assert run(["connect", name, "destination", "--oauth"], env) == 0
    url = capsys.readouterr().out.strip().splitlines()[-1]
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return url, answer.headers["location"]


def check(env: dict[str, str], name: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    run(["check", name, "--json"], env)
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def test_zoho_consent_at_the_users_data_centre(
    configured: dict[str, str], sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    url, redirect = consent(configured, "tasman", capsys)
    asked = parse_qs(urlsplit(url).query)
    assert url.startswith(sandbox.url("zoho_books") + "/oauth/v2/auth?")
    assert asked["scope"] == [
        ",".join(
            (
                "ZohoBooks.invoices.ALL",
                "ZohoBooks.contacts.ALL",
                "ZohoBooks.settings.ALL",
                "ZohoBooks.accountants.READ",
                "ZohoBooks.customerpayments.READ",
            )
        )
    ]
    assert asked["access_type"] == ["offline"] and asked["prompt"] == ["consent"]
    back = parse_qs(urlsplit(redirect).query)
    assert back["location"] == ["au"] and back["accounts-server"] == [sandbox.url("zoho_books") + "/au"]
    assert redirect.startswith("http://localhost:3917/oauth/zoho_books/callback?")

    assert run(["connect", "tasman", "destination", "--redirect-url", redirect], configured) == 0
    assert "Connected tasman destination: zoho_books (tenant 7001234567)" in capsys.readouterr().out
    emulator = sandbox.emulators["zoho_books"]
    assert emulator.requests["POST /au/oauth/v2/token"] == 1  # the code went to the data centre's server
    assert run(["connect", "tasman", "source", "--api-key", "rk_live_tasmanDemo0003"], configured) == 0
    capsys.readouterr()
    systems = {(f["code"], f["system"]) for f in check(configured, "tasman", capsys)["findings"]}
    assert not {s for s in systems if s[0].startswith(("connection.", "token."))}
    assert ("mapping.currency", "zoho_books") in systems  # the data was read: at the api_domain
    assert emulator.requests["GET /au/books/v3/organizations"] >= 1
    assert emulator.requests["GET /books/v3/organizations"] == 0


def test_zoho_consent_from_an_unknown_accounts_server_is_refused(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, redirect = consent(configured, "tasman", capsys)
    forged = redirect.replace("accounts-server=", "accounts-server=https%3A%2F%2Faccounts.evil.example&x=")
    assert run(["connect", "tasman", "destination", "--redirect-url", forged], configured) == 2
    assert "not a Zoho accounts server" in capsys.readouterr().err


def test_myob_consent_picks_the_configured_company_file(
    configured: dict[str, str], sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    url, redirect = consent(configured, "harbour", capsys)
    asked = parse_qs(urlsplit(url).query)
    assert url.startswith(sandbox.url("myob") + "/oauth2/account/authorize?")
    assert asked["client_id"] == ["demo-myob-api-key"] and asked["prompt"] == ["consent"]
    assert "sme-sales" in asked["scope"][0].split(" ")
    back = parse_qs(urlsplit(redirect).query)
    assert back["businessId"] == [HARBOUR_FILE] and back["businessName"] == ["Harbour Electrical"]
    assert run(["connect", "harbour", "destination", "--redirect-url", redirect], configured) == 0
    assert f"Connected harbour destination: myob (tenant {HARBOUR_FILE})" in capsys.readouterr().out
    assert run(["connect", "harbour", "source", "--api-key", "pat-na1-harbour-demo-0003"], configured) == 0
    capsys.readouterr()

    first = {f["code"] for f in check(configured, "harbour", capsys)["findings"]}
    assert "token.tenant_login" in first  # the file needs its own sign-in; none is stored yet
    password = {**configured, "SYNC_DOCTOR_COMPANY_FILE_PASSWORD": "harbour-cf-demo"}
    assert run(["connect", "harbour", "destination", "--company-file-user", "Administrator"], password) == 0
    capsys.readouterr()
    after = {f["code"] for f in check(configured, "harbour", capsys)["findings"]}
    assert not {c for c in after if c.startswith(("token.", "connection."))}
    assert "sku.case_mismatch" in after

    # consenting again to the same file keeps the stored sign-in
    _, again = consent(configured, "harbour", capsys)
    assert run(["connect", "harbour", "destination", "--redirect-url", again], configured) == 0
    capsys.readouterr()
    assert "token.tenant_login" not in {f["code"] for f in check(configured, "harbour", capsys)["findings"]}

    # an admin who picks another company file is told so, and nothing is stored
    emulator = sandbox.emulators["myob"]
    assert isinstance(emulator, MyobEmulator)
    emulator.consent["business_id"] = OTHER_FILE
    _, wrong = consent(configured, "harbour", capsys)
    assert run(["connect", "harbour", "destination", "--redirect-url", wrong], configured) == 2
    err = capsys.readouterr().err
    assert f"Harbour Electrical (old file) ({OTHER_FILE}), not the configured one ({HARBOUR_FILE})" in err
    assert "token.tenant_login" not in {f["code"] for f in check(configured, "harbour", capsys)["findings"]}


def test_a_company_file_sign_in_needs_a_connection_first(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["connect", "harbour", "destination", "--company-file-user", "Administrator"], configured) == 2
    assert "is not connected yet" in capsys.readouterr().err
    assert run(["connect", "tasman", "destination", "--company-file-user", "x"], configured) == 2
    assert "Zoho Books has no sign-in of its own" in capsys.readouterr().err
