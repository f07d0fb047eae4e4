"""The schema steps that need Alembic, run on a sync connection inside the app's async engine.
Only `pixvault.db.migrate` imports this, and only when the schema is not already current:
Alembic is slow to import and most starts find nothing to do."""

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection

from pixvault.db.migrate import LOCATION, SchemaMismatch


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(LOCATION))
    config.attributes["connection"] = connection
    return config


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection) -> None:
    _check_known(connection)
    command.upgrade(alembic_config(connection), "head")


def check(connection: Connection) -> None:
    _check_known(connection)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    found = current(connection)
    if found != head:
        raise SchemaMismatch(
            f"database schema is at revision {found}, this pixvault needs {head}; "
            "run `pixvault migrate` first"
        )


def _check_known(connection: Connection) -> None:
    found = current(connection)
    scripts = ScriptDirectory.from_config(alembic_config())
    if found is not None and not _known(scripts, found):
        raise SchemaMismatch(
            f"database schema revision {found} is newer than this pixvault understands "
            f"(head {scripts.get_current_head()}); upgrade pixvault before starting it"
        )


def _known(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False
