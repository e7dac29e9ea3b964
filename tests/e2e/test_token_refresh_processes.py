"""Two processes, ten threads each, one expired access token with a rotating refresh token:
the token endpoint is called once, and the rotated refresh token is what the database keeps.
(PostgreSQL: a row lock; SQLite: a byte-range file lock beside the database.)"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.routing import BaseRoute

from providers.credentials import Credentials
from sandbox.base import Emulator
from sandbox.server import LoopbackServer
from store import migrate
from store.connections import DbCredentialStore, get_connection, save_connection
from store.crypto import Vault
from store.db import make_engine, make_session_factory

REPO = Path(__file__).resolve().parents[2]


class TokenOnly(Emulator):
    """Only the OAuth token endpoint, with Xero's rotation rules (no grace for old tokens)."""

    system = "token-only"
    token_path = "/connect/token"

    def routes(self) -> list[BaseRoute]:
        return []


def test_two_processes_refresh_once(database_url: str, tmp_path: Path) -> None:
    emulator = TokenOnly(
        {
            "grants": [{"access_token": "at-old", "refresh_token": "rt-old", "expires_in": -60}],
            "access_token_ttl": 1800,
            "rotate_refresh_tokens": True,
            "refresh_grace_seconds": 0,
        }
    )
    server = LoopbackServer(emulator.app).start()
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    vault = Vault("test-secret-key")
    with sessions.begin() as s:
        save_connection(
            s,
            vault,
            integration="acme",
            side="destination",
            system="xero",
            actor="test",
            credentials=Credentials(
                kind="oauth2",
                access_token="at-old",
                refresh_token="rt-old",
                expires_at=datetime.now(UTC) - timedelta(minutes=1),
            ),
        )
    lock_file = str(tmp_path / "db.locks") if database_url.startswith("sqlite") else "-"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.e2e.refresh_worker",
                    database_url,
                    server.url + "/connect/token",
                    lock_file,
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [w.communicate(timeout=60) for w in workers]
    finally:
        server.stop()
    for worker, (_out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    tokens = {t for out, _ in outputs for t in out.strip().split(",")}
    assert emulator.tokens.refresh_calls == 1
    assert len(tokens) == 1 and tokens != {"at-old"}
    stored = DbCredentialStore(sessions, vault, "acme", "destination").load()
    assert stored is not None and stored.access_token in tokens
    assert stored.refresh_token not in (None, "rt-old")  # the rotated one was kept
    engine.dispose()


def test_the_same_sqlite_file_through_a_symlink_shares_one_refresh_lock(tmp_path: Path) -> None:
    """One process opens the database by its real path, the other through a symlink to the
    file (in a symlinked directory): both must take the same lock, so the token endpoint is
    called once and nobody is told to re-authorise. Each derives its lock file from its own
    database path, as ``service.providers`` does."""
    emulator = TokenOnly(
        {
            "grants": [{"access_token": "at-old", "refresh_token": "rt-old", "expires_in": -60}],
            "access_token_ttl": 1800,
            "rotate_refresh_tokens": True,
            "refresh_grace_seconds": 0,
            # Slow enough that both processes are inside their refresh at once without the lock.
            "faults": {"token_latency_ms": 400},
        }
    )
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    real = real_dir / "sync-doctor.db"
    (tmp_path / "linked-dir").symlink_to(real_dir, target_is_directory=True)
    alias = tmp_path / "alias.db"
    alias.symlink_to(tmp_path / "linked-dir" / "sync-doctor.db")
    engine = make_engine(f"sqlite:///{real}")
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    vault = Vault("test-secret-key")
    with sessions.begin() as s:
        save_connection(
            s,
            vault,
            integration="acme",
            side="destination",
            system="xero",
            actor="test",
            credentials=Credentials(
                kind="oauth2",
                access_token="at-old",
                refresh_token="rt-old",
                expires_at=datetime.now(UTC) - timedelta(minutes=1),
            ),
        )
    server = LoopbackServer(emulator.app).start()
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.e2e.refresh_worker", url, server.url + "/connect/token", "auto", str(go)],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for url in (f"sqlite:///{real}", f"sqlite:///{alias}")
        ]
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        go.touch()
        outputs = [w.communicate(timeout=60) for w in workers]
    finally:
        server.stop()
    for worker, (_out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    tokens = {t for out, _ in outputs for t in out.strip().split(",")}
    assert emulator.tokens.refresh_calls == 1
    assert len(tokens) == 1 and tokens != {"at-old"}
    with sessions() as session:
        row = get_connection(session, "acme", "destination")
        assert row is not None and row.state == "active" and row.last_error is None
    engine.dispose()
