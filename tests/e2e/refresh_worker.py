"""Run by test_token_refresh_processes in a separate OS process: 10 threads each ask for an
access token on the same expired connection; prints the tokens they got.

The lock file is given, ``-`` for none, or ``auto``: beside the SQLite file named by the
database URL, as ``service.providers`` places it. With a fourth argument (a path), the worker
prints ``ready`` and waits for that file to exist before asking, so a test can start the
processes' refreshes together."""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from providers.oauth import OAuthApp, TokenEndpoint, TokenManager
from store.connections import DbCredentialStore
from store.crypto import Vault
from store.db import make_engine, make_session_factory


def _lock_path(database_url: str, lock_file: str) -> Path | None:
    if lock_file == "-":
        return None
    if lock_file == "auto":
        database = Path(database_url.removeprefix("sqlite:///"))
        return database.with_name(database.name + ".locks")
    return Path(lock_file)


def main(database_url: str, token_url: str, lock_file: str, go_file: str | None = None) -> None:
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    store = DbCredentialStore(
        sessions, Vault("test-secret-key"), "acme", "destination", lock_file=_lock_path(database_url, lock_file)
    )
    manager = TokenManager(store, TokenEndpoint(OAuthApp("xero", "cid", "cs", token_url=token_url)))
    if go_file is not None:
        print("ready", flush=True)
        while not Path(go_file).exists():
            time.sleep(0.01)
    with ThreadPoolExecutor(10) as pool:
        tokens = set(pool.map(lambda _: manager.access_token(), range(10)))
    print(",".join(sorted(tokens)))
    engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:5])
