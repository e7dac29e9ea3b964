"""The PostgreSQL test run refuses a database it could destroy: one not named like a test
database, or one holding tables an earlier run of the suite did not make. (Runs against
TEST_DATABASE_URL's server; on SQLite there is nothing to guard.)"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.conftest import _reset_postgres, refusal

URL = os.environ.get("TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not URL, reason="PostgreSQL only: set TEST_DATABASE_URL")


def test_a_database_not_named_for_tests_is_refused() -> None:
    assert URL is not None
    production = make_url(URL).set(database="sync_doctor").render_as_string(hide_password=False)
    why = refusal(production, forced=False)
    assert why is not None and "must be named like a test database" in why
    assert refusal(production, forced=True) is None


def test_foreign_tables_are_refused_and_the_suites_own_schema_is_not(database_url: str) -> None:
    assert refusal(database_url, forced=False) is None  # reset by the fixture: marked as the suite's
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("COMMENT ON SCHEMA public IS NULL"))  # as if someone else made it
            conn.execute(text("CREATE TABLE customers (id integer)"))
        why = refusal(database_url, forced=False)
        assert why is not None and "holds 1 table(s) this test suite did not make" in why
    finally:
        engine.dispose()
        _reset_postgres(database_url)
