"""Storage on SQLite and PostgreSQL (TEST_DATABASE_URL): migrations, encrypted credentials,
the credential store's lock, stored runs."""

from __future__ import annotations

import os
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from providers.credentials import Credentials
from store import migrate
from store import repositories as repo
from store.connections import DbCredentialStore, get_connection, save_connection
from store.crypto import SecretKeyError, Vault, key_file_for, load_or_create_key
from store.db import make_engine
from store.models import AuditEvent, Connection


def connect(
    sessions, vault: Vault, credentials: Credentials, *, side: str = "destination", system: str = "xero"
) -> None:
    """Store ``credentials`` for acme's ``side``, as `sync-doctor connect` (or a refresh elsewhere) does."""
    with sessions.begin() as s:
        save_connection(s, vault, integration="acme", side=side, system=system, credentials=credentials, actor="test")


def test_migrations_create_every_table_and_are_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # a second start changes nothing
    tables = set(inspect(engine).get_table_names())
    assert {"connections", "runs", "findings", "actions", "audit_events", "alerts", "alembic_version"} <= tables
    assert migrate.current_revision(engine) == migrate.HEAD_REVISION
    assert {"oauth_consents", "seen_requests"} <= tables
    engine.dispose()


def test_the_head_revision_constant_is_alembics_head() -> None:
    """``ensure_current`` skips Alembic when the stored revision is HEAD_REVISION: a new
    migration script must move the constant too, or it would never run."""
    from alembic.script import ScriptDirectory

    assert ScriptDirectory(str(migrate.MIGRATIONS)).get_heads() == [migrate.HEAD_REVISION]


def test_a_current_schema_is_left_alone(database_url: str) -> None:
    engine = make_engine(database_url)
    assert migrate.stored_revision(engine) is None  # empty database
    assert migrate.ensure_current(engine) is True  # migrated
    assert migrate.stored_revision(engine) == migrate.HEAD_REVISION == migrate.current_revision(engine)
    assert migrate.ensure_current(engine) is False  # already at head: Alembic not run
    engine.dispose()


def test_credentials_are_encrypted_at_rest(sessions) -> None:
    vault = Vault("k1")
    creds = Credentials(
        kind="oauth2",
        access_token="at-SECRET-123",
        refresh_token="rt-SECRET-456",
        expires_at=datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
        scopes=("a", "b"),
        tenant_id="t-1",
    )
    with sessions.begin() as s:
        save_connection(
            s, vault, integration="acme", side="destination", system="xero", credentials=creds, actor="test"
        )
    with sessions() as s:
        row = get_connection(s, "acme", "destination")
        assert row is not None
        assert b"SECRET" not in row.secret
        events = s.scalars(select(AuditEvent.event)).all()
        assert "connection.saved" in events
    loaded = DbCredentialStore(sessions, vault, "acme", "destination").load()
    assert loaded == creds
    assert "SECRET" not in repr(loaded)


def test_a_changed_key_is_reported_and_rotation_works(sessions) -> None:
    old = Vault("old-key")
    connect(sessions, old, Credentials(kind="api_key", api_key="sk_test_abc"), side="source", system="stripe")
    with pytest.raises(SecretKeyError, match="cannot be decrypted"):
        DbCredentialStore(sessions, Vault("new-key"), "acme", "source").load()
    rotated = Vault("new-key,old-key")  # new key first: encrypts; old key still decrypts
    loaded = DbCredentialStore(sessions, rotated, "acme", "source").load()
    assert loaded is not None and loaded.api_key == "sk_test_abc"


def test_key_file_is_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    key_file = key_file_for(tmp_path / "data" / "sync-doctor.db")
    first = load_or_create_key(None, key_file)
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert load_or_create_key(None, key_file) == first
    assert load_or_create_key("explicit", key_file) == "explicit"


def test_locked_is_exclusive_and_saves_inside_the_lock(sessions) -> None:
    vault = Vault("k")
    connect(sessions, vault, Credentials(kind="oauth2", access_token="a0", refresh_token="r0"))
    store = DbCredentialStore(sessions, vault, "acme", "destination")
    inside = 0
    most = 0
    guard = threading.Lock()

    def bump(i: int) -> None:
        nonlocal inside, most
        with store.locked() as fresh:
            assert fresh is not None
            with guard:
                inside += 1
                most = max(most, inside)
            store.save(fresh.with_tokens(access_token=f"a{i}"))
            with guard:
                inside -= 1

    threads = [threading.Thread(target=bump, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 1
    last = store.load()
    assert last is not None and (last.access_token or "").startswith("a")


def test_a_runs_store_reuses_its_read_until_a_refresh_reads_the_row_again(sessions) -> None:
    vault = Vault("k")

    def write(access: str) -> None:  # what another replica's refresh, or a reconnect, does
        connect(sessions, vault, Credentials(kind="oauth2", access_token=access, refresh_token="r"))

    write("a1")
    store = DbCredentialStore(sessions, vault, "acme", "destination", reuse_for=30)
    assert store.load().access_token == "a1"  # type: ignore[union-attr]
    write("a2")
    assert store.load().access_token == "a1"  # type: ignore[union-attr]  # the run's copy, not read again
    with store.locked() as fresh:  # a refresh (or the retry after a 401) reads the row itself ...
        assert fresh is not None and fresh.access_token == "a2"
    assert store.load().access_token == "a2"  # type: ignore[union-attr]  # ... and renews the copy
    store.save(Credentials(kind="oauth2", access_token="a3", refresh_token="r"))
    assert store.load().access_token == "a3"  # type: ignore[union-attr]
    write("a4")
    every_time = DbCredentialStore(sessions, vault, "acme", "destination")  # reuse_for=0, the default
    assert every_time.load().access_token == "a4"  # type: ignore[union-attr]
    write("a5")
    assert every_time.load().access_token == "a5"  # type: ignore[union-attr]


def test_requires_reauth_is_recorded(sessions) -> None:
    vault = Vault("k")
    connect(sessions, vault, Credentials(kind="oauth2", access_token="a", refresh_token="r"))
    DbCredentialStore(sessions, vault, "acme", "destination").mark_requires_reauth("invalid_grant: dead")
    with sessions() as s:
        row = s.scalars(select(Connection)).one()
        assert (row.state, row.last_error) == ("requires_reauth", "invalid_grant: dead")


def test_runs_are_stored_with_findings_and_the_latest_is_found(sessions) -> None:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    with sessions.begin() as s:
        for i, name in enumerate(["acme", "acme", "globex"]):
            repo.add_run(
                s,
                integration=name,
                trigger="test",
                started_at=t0 + timedelta(hours=i),
                duration_s=1.0,
                counts={"fail": i},
                blocked_invoices=i,
                blocked_amounts={"NZD": "10.00"},
                api_calls={"xero": 3},
                timings={"skus": 0.1},
                resolved=[("sku.missing", "PROD-1")],
                last_synced_at=None,
                findings=[
                    {
                        "code": "sku.missing",
                        "severity": 2,
                        "subject": f"P{i}",
                        "system": "xero",
                        "status": "new",
                        "evidence": {"sku": f"P{i}"},
                        "impact": {"rows": []},
                        "action": None,
                    }
                ],
            )
    with sessions() as s:
        latest = repo.latest_run(s, "acme")
        assert latest is not None and latest.fail_count == 1 and latest.findings[0].subject == "P1"
        both = repo.latest_runs(s, ["acme", "globex", "nobody"])
        assert set(both) == {"acme", "globex"} and both["globex"].fail_count == 2
        assert repo.run_count(s) == 3


def test_a_dead_refresh_token_is_tried_once_however_many_callers(sessions) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from providers.errors import RefreshFailed
    from providers.oauth import OAuthApp, TokenEndpoint, TokenManager
    from sandbox.base import Emulator
    from sandbox.server import LoopbackServer

    class TokenOnly(Emulator):
        system = "token-only"
        token_path = "/token"

        def routes(self):  # type: ignore[no-untyped-def]
            return []

    emulator = TokenOnly(
        {"grants": [{"access_token": "a", "refresh_token": "r-dead", "expires_in": -5, "revoked": True}]}
    )
    server = LoopbackServer(emulator.app).start()
    vault = Vault("k")
    connect(
        sessions,
        vault,
        Credentials(
            kind="oauth2",
            access_token="a",
            refresh_token="r-dead",
            expires_at=datetime.now(UTC) - timedelta(minutes=1),
        ),
    )
    store = DbCredentialStore(sessions, vault, "acme", "destination")
    manager = TokenManager(store, TokenEndpoint(OAuthApp("xero", "c", "s", token_url=server.url + "/token")))

    def attempt(_: int) -> str:
        try:
            return manager.access_token()
        except RefreshFailed as e:
            return f"failed: {e.code}"

    try:
        with ThreadPoolExecutor(10) as pool:
            outcomes = set(pool.map(attempt, range(10)))
    finally:
        server.stop()
    assert outcomes == {"failed: invalid_grant"}
    assert emulator.tokens.refresh_calls == 1
    with sessions() as s:
        assert s.scalars(select(Connection.state)).one() == "requires_reauth"
