"""Run by test_token_refresh_processes in a separate OS process: 10 threads each ask for an
access token on the same expired connection; prints the tokens they got."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from providers.oauth import OAuthApp, TokenEndpoint, TokenManager
from store.connections import DbCredentialStore
from store.crypto import Vault
from store.db import make_engine, make_session_factory


def main(database_url: str, token_url: str, lock_file: str) -> None:
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    store = DbCredentialStore(
        sessions,
        Vault("test-secret-key"),
        "acme",
        "destination",
        lock_file=Path(lock_file) if lock_file != "-" else None,
    )
    manager = TokenManager(store, TokenEndpoint(OAuthApp("xero", "cid", "cs", token_url=token_url)))
    with ThreadPoolExecutor(10) as pool:
        tokens = set(pool.map(lambda _: manager.access_token(), range(10)))
    print(",".join(sorted(tokens)))
    engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:4])
