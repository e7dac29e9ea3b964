"""`sync-doctor connect NAME SIDE --oauth` against the Xero emulator: with a public URL it
prints a signed one-time link for `serve`; without one, the consent URL, finished by pasting
the redirect back with `--redirect-url` (once: the state is spent)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from app import run
from sandbox.server import Sandbox
from tests.bot.world import ACME_TENANT, build_world


@pytest.fixture
def xero(env: dict[str, str]) -> Iterator[dict[str, str]]:
    with Sandbox({"xero": build_world()["xero"]}) as sandbox:
        config = {
            "integrations": {
                "acme": {
                    "source": {"system": "stripe"},
                    "destination": {"system": "xero", "tenant": ACME_TENANT, **sandbox.overrides("xero")},
                }
            }
        }
        Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump(config), encoding="utf-8")
        yield {**env, "XERO_CLIENT_ID": "xero-client", "XERO_CLIENT_SECRET": "xero-secret"}


def test_with_a_public_url_connect_prints_a_signed_link(
    xero: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**xero, "SYNC_DOCTOR_PUBLIC_URL": "https://sync.example.com/"}
    assert run(["connect", "acme", "destination", "--oauth"], env) == 0
    out = capsys.readouterr().out
    link = out.strip().splitlines()[-1]
    assert link.startswith("https://sync.example.com/oauth/xero/start?link=")
    assert "15 minutes" in out and "once" in out
    token = parse_qs(urlparse(link).query)["link"][0]
    assert token.count(".") == 1  # id.signature


def test_without_one_the_redirect_is_pasted_back_once(xero: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["connect", "acme", "destination", "--oauth"], xero) == 0
    consent = urlparse(capsys.readouterr().out.strip().splitlines()[-1])
    query = parse_qs(consent.query)
    assert consent.path == "/authorize" and query["code_challenge_method"] == ["S256"]
    redirect = f"{query['redirect_uri'][0]}?code=code-acme&state={query['state'][0]}"
    assert run(["connect", "acme", "destination", "--redirect-url", redirect], xero) == 0
    assert f"Connected acme destination: xero (tenant {ACME_TENANT})" in capsys.readouterr().out
    assert run(["connect", "acme", "destination", "--redirect-url", redirect], xero) == 2
    assert "This link is not valid" in capsys.readouterr().err
    wrong = f"{query['redirect_uri'][0]}?code=code-globex&state=never-issued"
    assert run(["connect", "acme", "destination", "--redirect-url", wrong], xero) == 2


def test_a_consent_for_another_organisation_is_refused_on_the_command_line(
    xero: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["connect", "acme", "destination", "--oauth"], xero) == 0
    query = parse_qs(urlparse(capsys.readouterr().out.strip().splitlines()[-1]).query)
    redirect = f"{query['redirect_uri'][0]}?code=code-globex&state={query['state'][0]}"
    assert run(["connect", "acme", "destination", "--redirect-url", redirect], xero) == 2
    err = capsys.readouterr().err
    assert "Globex" in err and "Nothing was changed" in err
    assert run(["check", "acme", "--json"], xero) == 1
    report = json.loads(capsys.readouterr().out)
    unconnected = [f for f in report["findings"] if f["code"] == "connection.disconnected"]
    assert {f["system"] for f in unconnected} == {"stripe", "xero"}  # nothing was stored for Xero


def test_a_quickbooks_consent_for_another_company_is_refused_by_its_realm(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Intuit names the company in the redirect (realmId): another one than the configured
    realm is refused before anything is stored."""
    world = {"quickbooks": {"codes": {"code-qb": {"principal": "4620816365"}}, "realms": {"9130": {}}}}
    with Sandbox(world) as sandbox:
        config = {
            "integrations": {
                "globex": {
                    "source": {"system": "stripe"},
                    "destination": {"system": "quickbooks", "tenant": "9130", **sandbox.overrides("quickbooks")},
                }
            }
        }
        Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump(config), encoding="utf-8")
        qb = {**env, "QUICKBOOKS_CLIENT_ID": "qb-client", "QUICKBOOKS_CLIENT_SECRET": "qb-secret"}
        assert run(["connect", "globex", "destination", "--oauth"], qb) == 0
        query = parse_qs(urlparse(capsys.readouterr().out.strip().splitlines()[-1]).query)
        redirect = f"{query['redirect_uri'][0]}?code=code-qb&state={query['state'][0]}&realmId=4620816365"
        assert run(["connect", "globex", "destination", "--redirect-url", redirect], qb) == 2
        err = capsys.readouterr().err
        assert "company 4620816365, not the configured 9130" in err and "Nothing was changed" in err


def test_a_redirect_without_a_code_is_a_usage_error(xero: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["connect", "acme", "destination", "--oauth"], xero) == 0
    query = parse_qs(urlparse(capsys.readouterr().out.strip().splitlines()[-1]).query)
    redirect = f"{query['redirect_uri'][0]}?state={query['state'][0]}"
    assert run(["connect", "acme", "destination", "--redirect-url", redirect], xero) == 2
    assert "no authorization code" in capsys.readouterr().err
