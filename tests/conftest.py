"""Shared fixtures. Databases: SQLite in a temp dir by default; PostgreSQL when
TEST_DATABASE_URL is set (CI runs the suite both ways)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from providers.http import reset_limiters

REPO = Path(__file__).resolve().parent.parent


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A clean, empty database for this test."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path}/sync-doctor-test.db"
    _reset_postgres(url)
    return url


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """A process environment for Settings: never the real one."""
    return {
        "DATABASE_URL": database_url,
        "SYNC_DOCTOR_SECRET_KEY": "test-secret-key",
        "SYNC_DOCTOR_CONFIG": str(tmp_path / "sync-doctor.yml"),
    }


@pytest.fixture(autouse=True)
def _fresh_limiters() -> Iterator[None]:
    """Client-side limiters are process-wide by design; tests must not inherit each other's."""
    reset_limiters()
    yield
    reset_limiters()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Commands run in-process (``app.run``) install the product's log handler on the root
    logger; the next test must not inherit it (it turns tracebacks into text before caplog's
    handler sees the record)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
