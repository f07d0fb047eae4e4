"""Schema migrations (Alembic), run on the application's own async engine.

Every start and every command first reads the recorded revision with one query and compares
it with the newest migration file; only a database that is behind (or ahead) loads Alembic
(`alembic_steps`), which costs more to import than the check itself."""

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from pixvault.db.engine import Database

LOCATION = Path(__file__).parent / "migrations"
_VERSION_TABLE = "alembic_version"


class SchemaMismatch(RuntimeError):
    """The database schema is not the one this pixvault version runs on."""


def head_revision() -> str:
    """The newest migration: revisions are numbered as their files are, `0010_….py` is
    revision "0010", one after another (a test holds this against Alembic's own head)."""
    return max(path.name[:4] for path in (LOCATION / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _recorded(connection: Connection) -> str | None:
    if not inspect(connection).has_table(_VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalar()


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_recorded)


async def upgrade(db: Database) -> None:
    if await current_revision(db) == head_revision():
        return
    from pixvault.db import alembic_steps

    async with db.engine.connect() as conn:
        if not db.is_sqlite:
            async with conn.begin():
                if db.schema:  # a configured schema is created on first use
                    quoted = conn.dialect.identifier_preparer.quote(db.schema)
                    await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))
                await conn.run_sync(alembic_steps.upgrade)
            return
        # A batch migration rebuilds a table by copy-and-drop; with foreign keys on, dropping
        # `projects` would cascade-delete every image. SQLite only honours this pragma
        # outside a transaction, hence the raw driver connection before `begin()`.
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.execute("PRAGMA foreign_keys=OFF")
        try:
            async with conn.begin():
                await conn.run_sync(alembic_steps.upgrade)
        finally:
            await raw.execute("PRAGMA foreign_keys=ON")


async def check(db: Database) -> None:
    """Raise SchemaMismatch unless the database is at this version's head revision."""
    if await current_revision(db) == head_revision():
        return
    from pixvault.db import alembic_steps

    async with db.engine.connect() as conn:
        await conn.run_sync(alembic_steps.check)
