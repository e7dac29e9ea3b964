"""A mistake a user can make ends in exit 2 and a message naming what to fix, never in a
traceback (nor in exit 1, which means "findings exist"): the database, the credentials' key,
secrets on the command line, ports. Each case was a traceback or a silent wrong outcome before.

Commands run in-process through ``app.run`` with an environment of their own, except those that
would serve forever if the fix regressed (a busy port): those run as processes with a timeout.
"""

from __future__ import annotations

import io
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from app import run
from cli.commands import run_cli
from config.env import Settings
from providers import PROVIDERS
from store import migrate
from store.connections import DbCredentialStore
from store.crypto import SecretKeyError, Vault
from store.db import make_engine, make_session_factory
from tests.conftest import REPO

# An integration that needs no network: nothing is connected, so a check finds
# connection.disconnected on both sides, stores the run and exits 1.
CONFIG = {
    "integrations": {
        "acme": {
            "source": {"system": "stripe", "base_url": "http://127.0.0.1:9"},
            "destination": {"system": "xero", "tenant": "t-1", "base_url": "http://127.0.0.1:9"},
        }
    }
}


@pytest.fixture
def configured(env: dict[str, str]) -> dict[str, str]:
    Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    return env


@pytest.fixture
def sqlite_env(configured: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The configured environment on a SQLite file of its own (whatever TEST_DATABASE_URL says):
    locks, read-only files and key files are SQLite's."""
    return {**configured, "DATABASE_URL": f"sqlite:///{tmp_path}/own.db"}


def errors(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return captured.err


# -- the database ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url at all", "DATABASE_URL is not a database URL: use sqlite:///"),
        ("mysql://root:hunter2@db/sync", "DATABASE_URL: 'mysql' databases are not supported"),
        ("oracle+cx_oracle://u@h/x", "DATABASE_URL: 'oracle+cx_oracle' databases are not supported"),
    ],
)
def test_a_database_url_that_cannot_work_is_named(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str], url: str, expected: str
) -> None:
    assert run(["list"], {**configured, "DATABASE_URL": url}) == 2
    err = errors(capsys)
    assert expected in err and "hunter2" not in err


def test_an_unreachable_database_is_named_without_its_password(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql://sync:hunter2@127.0.0.1:1/sync_doctor"  # nothing listens on port 1
    assert run(["list"], {**configured, "DATABASE_URL": url}) == 2
    err = errors(capsys)
    assert "cannot reach the PostgreSQL database sync_doctor on 127.0.0.1:1" in err
    assert "is it running" in err and "hunter2" not in err


def test_a_database_in_a_missing_directory_is_named(
    configured: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "sync-doctor.db"
    assert run(["list"], {**configured, "DATABASE_URL": f"sqlite:///{missing}"}) == 2
    assert f"cannot open the SQLite database {missing}: check that its directory exists" in errors(capsys)


@pytest.fixture
def migrated(sqlite_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> Path:
    assert run(["db", "upgrade"], sqlite_env) == 0
    capsys.readouterr()
    return Path(sqlite_env["DATABASE_URL"].removeprefix("sqlite:///"))


def test_a_locked_database_still_prints_the_report_then_says_it_was_not_stored(
    sqlite_env: dict[str, str], migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = sqlite3.connect(migrated)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, for longer than we wait
    try:
        code = run(["check", "acme"], {**sqlite_env, "DATABASE_URL": f"sqlite:///{migrated}?timeout=0.2"})
    finally:
        holder.rollback()
        holder.close()
    assert code == 2
    captured = capsys.readouterr()
    assert "acme: stripe -> xero   FAILING" in captured.out and "connection.disconnected" in captured.out
    assert f"error: the run above was not stored: the SQLite database {migrated} is locked" in captured.err
    assert "(waited 0.2 s)" in captured.err and "?timeout=SECONDS" in captured.err
    assert "Traceback" not in captured.err


def test_a_read_only_database_still_prints_the_report(
    sqlite_env: dict[str, str], migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    read_only = f"sqlite:///file:{migrated}?mode=ro&uri=true"
    assert run(["check", "acme", "--json"], {**sqlite_env, "DATABASE_URL": read_only}) == 2
    captured = capsys.readouterr()
    assert '"integration": "acme"' in captured.out  # the report, as JSON
    assert f"the run above was not stored: the SQLite database {migrated} is read-only" in captured.err
    assert "Traceback" not in captured.err


def test_tables_without_a_migration_state_are_refused(
    configured: dict[str, str], database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
    engine.dispose()
    assert run(["list"], configured) == 2
    err = errors(capsys)
    assert "the database has Sync Doctor's tables (" in err and "but no migration state" in err


def test_an_unknown_migration_state_is_refused(
    configured: dict[str, str], database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()
    for argv in (["list"], ["db", "upgrade"]):
        assert run(argv, configured) == 2
        err = errors(capsys)
        assert "the database is at migration '0999', which this version of Sync Doctor does not know" in err


# -- the credentials' key ----------------------------------------------------------------


def test_a_changed_secret_key_is_named_not_a_traceback(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["connect", "acme", "source", "--api-key", "sk_test_123"], configured) == 0
    assert run(["check", "acme"], {**configured, "SYNC_DOCTOR_SECRET_KEY": "another-key"}) == 2
    err = errors(capsys)
    assert "stored credentials cannot be decrypted with SYNC_DOCTOR_SECRET_KEY: the key changed?" in err


def test_a_deleted_key_file_is_never_silently_replaced(
    sqlite_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {k: v for k, v in sqlite_env.items() if k != "SYNC_DOCTOR_SECRET_KEY"}
    key_file = tmp_path / "sync-doctor.key"
    assert run(["connect", "acme", "source", "--api-key-file", str(_secret(tmp_path, "sk_test_123"))], env) == 0
    assert "note: SYNC_DOCTOR_SECRET_KEY is not set: generated a key in" in capsys.readouterr().err
    key_file.unlink()
    for argv in (["check", "acme"], ["list"]):
        assert run(argv, env) == 2
        err = errors(capsys)
        assert f"the key file {key_file} is missing, but the database holds 1 credential(s)" in err
    assert not key_file.exists()


def test_db_rotate_key_re_encrypts_so_the_old_key_can_go(
    configured: dict[str, str], database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    old = {**configured, "SYNC_DOCTOR_SECRET_KEY": "old-key"}
    assert run(["connect", "acme", "source", "--api-key", "sk_test_123"], old) == 0
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    try:
        with pytest.raises(SecretKeyError):
            DbCredentialStore(sessions, Vault("new-key"), "acme", "source").load()
        assert run(["db", "rotate-key"], {**configured, "SYNC_DOCTOR_SECRET_KEY": "new-key,old-key"}) == 0
        assert "Re-encrypted 1 stored credential(s)" in capsys.readouterr().out
        loaded = DbCredentialStore(sessions, Vault("new-key"), "acme", "source").load()
        assert loaded is not None and loaded.api_key == "sk_test_123"
    finally:
        engine.dispose()
    # A key that decrypts nothing stored changes nothing, and says which credential it could not read.
    assert run(["db", "rotate-key"], {**configured, "SYNC_DOCTOR_SECRET_KEY": "third-key"}) == 2
    assert "cannot re-encrypt the credentials of acme source" in errors(capsys)


# -- secrets on the command line ---------------------------------------------------------


def _secret(tmp_path: Path, value: str) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(value + "\n", encoding="utf-8")
    return path


def _stored(database_url: str, side: str) -> object:
    engine = make_engine(database_url)
    try:
        return DbCredentialStore(make_session_factory(engine), Vault("test-secret-key"), "acme", side).load()
    finally:
        engine.dispose()


def test_an_empty_key_or_token_never_replaces_a_working_one(
    configured: dict[str, str], database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["connect", "acme", "destination", "--access-token", "at-works", "--tenant", "t-1"], configured) == 0
    assert run(["connect", "acme", "source", "--api-key", "sk_test_works"], configured) == 0
    capsys.readouterr()
    empty = _secret(tmp_path, "   ")
    for argv, expected in (
        (["connect", "acme", "destination", "--access-token", ""], "the access token is empty"),
        (["connect", "acme", "source", "--api-key", "  "], "the API key is empty"),
        (["connect", "acme", "source", "--api-key-file", str(empty)], f"the API key read from {empty} is empty"),
        (["connect", "acme", "destination", "--access-token", "a", "--refresh-token", ""], "refresh token is empty"),
    ):
        assert run(argv, configured) == 2
        assert expected in errors(capsys)
    destination, source = _stored(database_url, "destination"), _stored(database_url, "source")
    assert getattr(destination, "access_token", None) == "at-works"
    assert getattr(source, "api_key", None) == "sk_test_works"


def test_secrets_can_come_from_a_file_or_standard_input(
    configured: dict[str, str],
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(["connect", "acme", "source", "--api-key-file", str(_secret(tmp_path, "sk_test_file"))], configured) == 0
    captured = capsys.readouterr()
    assert "Connected acme source" in captured.out and "process list" not in captured.err
    assert getattr(_stored(database_url, "source"), "api_key", None) == "sk_test_file"

    monkeypatch.setattr(sys, "stdin", io.StringIO("at-from-stdin\n"))
    argv = ["connect", "acme", "destination", "--access-token-file", "-", "--refresh-token-file"]
    assert run([*argv, str(_secret(tmp_path, "rt-file"))], configured) == 0
    stored = _stored(database_url, "destination")
    assert getattr(stored, "access_token", None) == "at-from-stdin"
    assert getattr(stored, "refresh_token", None) == "rt-file"

    assert run(["connect", "acme", "source", "--api-key", "sk_test_argv"], configured) == 0
    assert "can be read by other users in the process list" in capsys.readouterr().err
    assert run(["connect", "acme", "source", "--api-key-file", str(tmp_path / "missing")], configured) == 2
    assert "the API key file" in errors(capsys)


def test_connect_to_a_system_no_provider_serves_is_a_config_error(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config = {"integrations": {"acme": {"source": {"system": "stripe"}, "destination": {"system": "freshbooks"}}}}
    Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump(config), encoding="utf-8")
    assert run(["connect", "acme", "destination", "--access-token", "t"], env) == 2
    supported = ", ".join(sorted(PROVIDERS))
    assert f"integrations.acme.destination.system: unknown system 'freshbooks'; supported: {supported}" in errors(
        capsys
    )


# -- ports -------------------------------------------------------------------------------


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port another process is listening on."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("0.0.0.0", 0))
    holder.listen()
    yield holder.getsockname()[1]
    holder.close()


def app_process(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command as a process: if the fix regressed it would serve until the timeout."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "SYNC_DOCTOR"))}
    return subprocess.run(
        [sys.executable, str(REPO / "app.py"), *args],
        env={**environ, **env, "PYTHONPATH": str(REPO)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sandbox_on_a_busy_port_or_an_impossible_one(
    busy_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = tmp_path / "world.yml"
    world.write_text("stripe:\n  api_keys: [{key: sk_test_1, account: acct_1}]\n", encoding="utf-8")
    done = app_process(["sandbox", "--world", str(world), "--port", str(busy_port)], {}, tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"error: port {busy_port} on 127.0.0.1 is not available" in done.stderr
    assert "Choose another --port" in done.stderr and "Traceback" not in done.stderr
    assert run(["sandbox", "--world", str(world), "--port", "99999"], {}) == 2
    assert "a port is between 1 and 65535, not 99999" in errors(capsys)
    assert run(["sandbox", "--world", str(world), "--port", "65535", "--check"], {}) == 0  # one system: fits
    capsys.readouterr()


def test_serve_on_a_busy_port(busy_port: int, configured: dict[str, str], tmp_path: Path) -> None:
    done = app_process(["serve", "--port", str(busy_port)], configured, tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"error: port {busy_port} is in use by another process" in done.stderr
    assert "Traceback" not in done.stderr


# -- everything else ---------------------------------------------------------------------


class _BrokenRoot:
    """A composition root with a bug in it."""

    def services(self, settings: Settings) -> object:
        raise RuntimeError("a bug, not a mistake of the user")


def test_a_bug_is_reported_as_one_with_its_own_exit_code(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["list"], configured, root=_BrokenRoot()) == 3  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert "internal error, a bug in Sync Doctor (please report it)" in err
    assert "RuntimeError: a bug, not a mistake of the user" in err
