"""Statements of `pixvault export` and `import`: each table's rows of one scope, read in one
snapshot and streamed, and rows looked up by primary key or unique column to match a dump
against a database. Rows travel as JSON-ready dicts (`encode_row` / `decode_row`)."""

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Select,
    Table,
    Uuid,
    and_,
    func,
    insert,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from pixvault.db.engine import Database
from pixvault.db.rows import utc
from pixvault.db.tables import (
    api_keys,
    flow_aliases,
    flows,
    images,
    instance_secrets,
    organizations,
    project_members,
    projects,
    refresh_tokens,
    url_revocations,
    users,
)

# In foreign-key order, so a dump imports front to back.
TABLES: tuple[Table, ...] = (
    organizations,
    users,
    projects,
    project_members,
    api_keys,
    refresh_tokens,
    flows,
    images,
    flow_aliases,
    url_revocations,
    instance_secrets,
)
# Tables a dump leaves out: each instance's own memo counters, and the bookkeeping of
# derivatives (re-rendered on demand). A new table must be added to one list or the other.
NOT_DUMPED = frozenset({"change_epochs", "derivatives"})
# Only the JWT signing key (`services/tokens.py`) travels, so sessions survive the move; any
# other instance secret (the store claim's instance id) names the instance itself.
_SHARED_SECRETS = ("jwt_signing_key",)


@asynccontextmanager
async def snapshot(db: Database) -> AsyncIterator[AsyncConnection]:
    """One read transaction over every table, so a dump taken while the instance serves is
    consistent: SQLite's deferred BEGIN reads one WAL snapshot, PostgreSQL's REPEATABLE READ
    one MVCC snapshot."""
    engine = db.engine if db.is_sqlite else db.engine.execution_options(
        isolation_level="REPEATABLE READ"
    )  # fmt: skip
    async with engine.begin() as conn:
        yield conn


def selection(table: Table, project_id: uuid.UUID | None) -> Select[Any] | None:
    """The rows of `table` a dump of the whole instance (`project_id` None) or of one project
    holds, in primary-key order; None when the table is not part of that scope."""
    order = list(table.primary_key.columns)
    if project_id is None:
        query = select(table)
        if table is instance_secrets:
            query = query.where(instance_secrets.c.name.in_(_SHARED_SECRETS))
        return query.order_by(*order)
    where = _project_scope(table, project_id)
    return None if where is None else select(table).where(where).order_by(*order)


def _project_scope(table: Table, project_id: uuid.UUID) -> Any:
    if table is organizations:
        return organizations.c.id == select(projects.c.org_id).where(
            projects.c.id == project_id
        ).scalar_subquery()  # fmt: skip
    if table is projects:
        return projects.c.id == project_id
    if table is users:
        # The project's members and the owners of its keys; their sessions stay behind.
        members = union(
            select(project_members.c.user_id).where(project_members.c.project_id == project_id),
            select(api_keys.c.user_id).where(
                api_keys.c.project_id == project_id, api_keys.c.user_id.is_not(None)
            ),
        )
        return users.c.id.in_(members)
    if "project_id" in table.c:
        return table.c.project_id == project_id
    if table is flow_aliases:  # a schema whose flow aliases name only their flow
        return flow_aliases.c.flow_id.in_(
            select(flows.c.id).where(flows.c.project_id == project_id)
        )
    return None  # refresh tokens and instance secrets belong to the whole instance


async def stream(conn: AsyncConnection, query: Select[Any]) -> AsyncIterator[dict[str, Any]]:
    result = await conn.stream(query)
    async for row in result.mappings():
        yield dict(row)


def encode_row(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON values: UUIDs as strings, timestamps as ISO 8601 in UTC."""
    return {column.name: _encode(column, row[column.name]) for column in table.columns}


def _encode(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, Uuid):
        return str(value)
    if isinstance(column.type, DateTime):
        aware = utc(value)
        assert aware is not None
        return aware.astimezone(UTC).isoformat()
    return value


def decode_row(table: Table, data: dict[str, Any]) -> dict[str, Any]:
    """`encode_row` undone; raises ValueError naming a column that is unknown or malformed."""
    unknown = set(data) - set(table.columns.keys())
    if unknown:
        raise ValueError(f"unknown column {sorted(unknown)[0]!r} of table {table.name}")
    row: dict[str, Any] = {}
    for name, value in data.items():
        column = table.columns[name]
        try:
            row[name] = _decode(column, value)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"column {name!r} of table {table.name}: {exc}") from None
    return row


def _decode(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, Uuid):
        return uuid.UUID(value)
    if isinstance(column.type, DateTime):
        return datetime.fromisoformat(value)
    return value


def primary_key(table: Table, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[column.name] for column in table.primary_key.columns)


async def existing(
    conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The rows of `table` already stored under the primary keys of `rows`."""
    if not rows:
        return {}
    columns = list(table.primary_key.columns)
    if len(columns) == 1:
        where = columns[0].in_([row[columns[0].name] for row in rows])
    else:
        where = or_(*(and_(*(c == row[c.name] for c in columns)) for row in rows))
    result = await conn.execute(select(table).where(where))
    found = (dict(row) for row in result.mappings())
    return {primary_key(table, row): row for row in found}


async def organization_id(conn: AsyncConnection, slug: str) -> uuid.UUID | None:
    return await conn.scalar(select(organizations.c.id).where(organizations.c.slug == slug))


async def project_id(conn: AsyncConnection, org_id: uuid.UUID, slug: str) -> uuid.UUID | None:
    return await conn.scalar(
        select(projects.c.id).where(projects.c.org_id == org_id, projects.c.slug == slug)
    )


async def user_holding(conn: AsyncConnection, email: str, username: str) -> dict[str, Any] | None:
    """The user whose email or username is one of these, if any."""
    result = await conn.execute(
        select(users.c.id, users.c.email, users.c.username)
        .where(or_(users.c.email == email, users.c.username == username))
        .limit(1)
    )
    row = result.mappings().first()
    return None if row is None else dict(row)


async def insert_rows(conn: AsyncConnection, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    batch = list(rows)
    if batch:
        await conn.execute(insert(table), batch)


async def recount_images(conn: AsyncConnection, project_ids: Iterable[uuid.UUID]) -> None:
    """Set the projects' image counters from their rows (images were added beside them)."""
    for project in project_ids:
        of_project = select(func.count()).select_from(images).where(images.c.project_id == project)
        await conn.execute(
            update(projects)
            .where(projects.c.id == project)
            .values(
                live_images=of_project.where(images.c.deleted_at.is_(None)).scalar_subquery(),
                deleted_images=of_project.where(images.c.deleted_at.is_not(None)).scalar_subquery(),
            )
        )


async def original_bytes(conn: AsyncConnection, project_id: uuid.UUID | None) -> int:
    """The size of every original a dump of this scope holds."""
    query = select(func.coalesce(func.sum(images.c.size), 0))
    if project_id is not None:
        query = query.where(images.c.project_id == project_id)
    return int(await conn.scalar(query) or 0)
