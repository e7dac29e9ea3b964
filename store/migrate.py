"""Apply Alembic migrations programmatically (on start and by ``sync-doctor db upgrade``).

The migration scripts ship inside the package, so a plain ``pip install .`` can migrate.

Every command starts with :func:`ensure_current`. Alembic costs about 0.3 s to import, more
than a whole ``check`` should take, and almost every start finds the schema already current:
so the ``alembic_version`` table is read with plain SQLAlchemy first, and Alembic is loaded
only when the stored revision is not :data:`HEAD_REVISION`. A test holds that constant to
Alembic's own head, so a new migration cannot be forgotten here.

Before migrating, the state is checked (:class:`DatabaseStateError`): a database holding Sync
Doctor's tables without a recorded revision, or recorded at a revision these scripts do not
know (a newer Sync Doctor migrated it), is refused with what to do, never migrated blindly.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD_REVISION = "0005"  # the newest script in migrations/versions (tests/unit/test_store.py checks it)
VERSION_TABLE = "alembic_version"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


class DatabaseStateError(RuntimeError):
    """The database's migration state is missing or unknown; phrased for the operator."""


def check_state(engine: Engine) -> None:
    """Refuse a database whose migration state cannot be trusted (see the module docstring)."""
    from store.models import Base

    revision = stored_revision(engine)
    if revision is None:
        with engine.connect() as connection:
            ours = sorted(set(inspect(connection).get_table_names()) & set(Base.metadata.tables))
        if ours:
            raise DatabaseStateError(
                f"the database has Sync Doctor's tables ({', '.join(ours)}) but no migration state "
                f"(table {VERSION_TABLE} missing or empty): restore it from a backup, or point DATABASE_URL "
                "at a new, empty database"
            )
        return
    if revision == HEAD_REVISION:
        return
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        ScriptDirectory.from_config(alembic_config(engine)).get_revision(revision)
    except CommandError:
        raise DatabaseStateError(
            f"the database is at migration {revision!r}, which this version of Sync Doctor does not know (its "
            f"newest is {HEAD_REVISION!r}): a newer Sync Doctor migrated it. Run that version, or restore a "
            "backup taken before it ran"
        ) from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    check_state(engine)
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def stored_revision(engine: Engine) -> str | None:
    """The revision recorded in ``alembic_version``, read without Alembic (None: no schema yet)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def ensure_current(engine: Engine) -> bool:
    """Bring the schema to head; True when migrations ran, False when it already was."""
    if stored_revision(engine) == HEAD_REVISION:
        return False
    upgrade(engine)
    logger.info("database migrated to revision %s", HEAD_REVISION)
    return True


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
