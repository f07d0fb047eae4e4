"""Schema migrations (Alembic), run on the application's own async engine."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection

from pixvault.db.engine import Database

_LOCATION = Path(__file__).parent / "migrations"


class SchemaMismatch(RuntimeError):
    """The database schema is not the one this pixvault version runs on."""


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_LOCATION))
    config.attributes["connection"] = connection
    return config


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _check_known(connection: Connection) -> None:
    current = _current(connection)
    scripts = ScriptDirectory.from_config(alembic_config())
    if current is not None and not _known(scripts, current):
        raise SchemaMismatch(
            f"database schema revision {current} is newer than this pixvault understands "
            f"(head {scripts.get_current_head()}); upgrade pixvault before starting it"
        )


def _known(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


def _upgrade(connection: Connection) -> None:
    _check_known(connection)
    command.upgrade(alembic_config(connection), "head")


async def upgrade(db: Database) -> None:
    async with db.engine.connect() as conn:
        if not db.is_sqlite:
            async with conn.begin():
                if db.schema:  # a configured schema is created on first use
                    quoted = conn.dialect.identifier_preparer.quote(db.schema)
                    await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))
                await conn.run_sync(_upgrade)
            return
        # A batch migration rebuilds a table by copy-and-drop; with foreign keys on, dropping
        # `projects` would cascade-delete every image. SQLite only honours this pragma
        # outside a transaction, hence the raw driver connection before `begin()`.
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.execute("PRAGMA foreign_keys=OFF")
        try:
            async with conn.begin():
                await conn.run_sync(_upgrade)
        finally:
            await raw.execute("PRAGMA foreign_keys=ON")


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)


def _check(connection: Connection) -> None:
    _check_known(connection)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    current = _current(connection)
    if current != head:
        raise SchemaMismatch(
            f"database schema is at revision {current}, this pixvault needs {head}; "
            "run `pixvault migrate` first"
        )


async def check(db: Database) -> None:
    async with db.engine.connect() as conn:
        await conn.run_sync(_check)
