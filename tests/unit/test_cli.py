"""The command line's exit codes and messages (0 ok, 1 findings, 2 usage/config error)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from app import run
from store import migrate

CONFIG = {
    "integrations": {
        "acme": {
            "source": {"system": "stripe", "tenant": "acct_1"},
            "destination": {"system": "xero", "tenant": "t-1"},
        },
        "globex": {"source": {"system": "hubspot"}, "destination": {"system": "quickbooks", "tenant": "9130"}},
    }
}


@pytest.fixture
def configured(env: dict[str, str]) -> dict[str, str]:
    Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    return env


def test_usage_errors_exit_2(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["frobnicate"], env) == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err
    assert run(["connect", "acme", "middle", "--api-key", "x"], env) == 2


def test_missing_config_file_exits_2_naming_it(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["list"], env) == 2
    err = capsys.readouterr().err
    assert "sync-doctor.yml: file not found" in err and "SYNC_DOCTOR_CONFIG" in err


def test_config_error_exits_2(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    Path(env["SYNC_DOCTOR_CONFIG"]).write_text(
        "integrations:\n  acme:\n    source: {system: sage}\n    destination: {system: xero}\n", encoding="utf-8"
    )
    assert run(["check", "acme"], env) == 2
    assert "integrations.acme.source.system: unknown system 'sage'" in capsys.readouterr().err


def test_unknown_integration_suggests_close_names(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["check", "acmee"], configured) == 2
    assert "No integration named 'acmee'. Did you mean acme?" in capsys.readouterr().err


def test_unconnected_integration_fails_with_the_connect_command(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["check", "acme", "--json"], configured) == 1
    report = json.loads(capsys.readouterr().out)
    assert {f["code"] for f in report["findings"]} == {"connection.disconnected"}
    assert "sync-doctor connect acme source --api-key KEY" in report["findings"][0]["evidence"]["message"]


def test_connect_rejects_the_wrong_credential_kind(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["connect", "acme", "destination", "--api-key", "k"], configured) == 2
    assert "Xero connects with OAuth" in capsys.readouterr().err
    assert run(["connect", "acme", "destination", "--oauth"], configured) == 2
    assert "XERO_CLIENT_ID and XERO_CLIENT_SECRET are not set" in capsys.readouterr().err


def test_connect_oauth_prints_a_consent_url_with_pkce(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**configured, "XERO_CLIENT_ID": "cid", "XERO_CLIENT_SECRET": "cs"}
    assert run(["connect", "acme", "destination", "--oauth"], env) == 0
    url = capsys.readouterr().out.strip().splitlines()[-1]
    assert url.startswith("https://login.xero.com/identity/connect/authorize?")
    assert "code_challenge_method=S256" in url and "client_id=cid" in url and "state=" in url


def test_connect_api_key_is_stored_and_db_upgrade_is_idempotent(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["connect", "acme", "source", "--api-key", "sk_test_123"], configured) == 0
    out = capsys.readouterr().out
    assert "Connected acme source: stripe" in out and "sk_test_123" not in out
    assert run(["db", "upgrade"], configured) == 0
    assert f"revision {migrate.HEAD_REVISION}" in capsys.readouterr().out
    assert run(["list"], configured) == 0
    assert "acme" in capsys.readouterr().out
