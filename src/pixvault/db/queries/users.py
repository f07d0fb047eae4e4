"""Statements on `users`, `project_members`, `refresh_tokens` and `instance_secrets`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pixvault.db.rows import now
from pixvault.db.tables import instance_secrets, project_members, refresh_tokens, users


async def insert_user(conn: AsyncConnection, values: dict[str, Any], project_id: uuid.UUID) -> None:
    await conn.execute(insert(users).values(**values))
    await conn.execute(
        insert(project_members).values(
            user_id=values["id"], project_id=project_id, created_at=values["created_at"]
        )
    )


async def taken(conn: AsyncConnection, email: str, username: str) -> tuple[bool, bool]:
    """Whether the email, and whether the username, belong to someone already."""
    found = (
        await conn.execute(
            select(users.c.email, users.c.username).where(
                or_(users.c.email == email, users.c.username == username)
            )
        )
    ).all()
    return any(r.email == email for r in found), any(r.username == username for r in found)


async def by_id(conn: AsyncConnection, user_id: uuid.UUID) -> Row[Any] | None:
    return (await conn.execute(select(users).where(users.c.id == user_id))).first()


async def by_login(conn: AsyncConnection, login: str) -> Row[Any] | None:
    """The user whose username, or email (case-insensitively), is `login`."""
    query = select(users).where(or_(users.c.username == login, users.c.email == login.lower()))
    return (await conn.execute(query)).first()


async def by_email(conn: AsyncConnection, email: str) -> Row[Any] | None:
    return (await conn.execute(select(users).where(users.c.email == email.lower()))).first()


async def listed(conn: AsyncConnection) -> Sequence[Row[Any]]:
    return (await conn.execute(select(users).order_by(users.c.id))).all()


async def projects_of(
    conn: AsyncConnection, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list]:
    query = (
        select(project_members.c.user_id, project_members.c.project_id)
        .where(project_members.c.user_id.in_(user_ids))
        .order_by(project_members.c.created_at)
    )
    memberships: dict[uuid.UUID, list] = {}
    for row in await conn.execute(query):
        memberships.setdefault(row.user_id, []).append(row.project_id)
    return memberships


async def names(conn: AsyncConnection, user_ids: set[uuid.UUID]) -> Sequence[Row[Any]]:
    """(id, username, display_name) of these users, for list items."""
    query = select(users.c.id, users.c.username, users.c.display_name).where(
        users.c.id.in_(user_ids)
    )
    return (await conn.execute(query)).all()


def matching_names(pattern: str) -> Any:
    """Ids of users whose username or display name is LIKE `pattern` (escaped by `\\`)."""
    return select(users.c.id).where(
        or_(
            func.lower(users.c.username).like(pattern, escape="\\"),
            func.lower(users.c.display_name).like(pattern, escape="\\"),
        )
    )


async def set_signed_out(conn: AsyncConnection, user_id: uuid.UUID, moment: datetime) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(signed_out_at=moment))


async def delete_user(conn: AsyncConnection, user_id: uuid.UUID) -> bool:
    result = await conn.execute(delete(users).where(users.c.id == user_id))
    return result.rowcount > 0


async def count(conn: AsyncConnection) -> int:
    return await conn.scalar(select(func.count()).select_from(users)) or 0


# -- refresh tokens ------------------------------------------------------------------------


async def insert_refresh(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(refresh_tokens).values(**values))


async def use_refresh(conn: AsyncConnection, token_hash: str, moment: datetime) -> uuid.UUID | None:
    """Spend a live refresh token (it never works again); the user it belonged to, else None.
    The conditional update makes two concurrent refreshes with one token end with one winner."""
    row = (
        await conn.execute(
            update(refresh_tokens)
            .where(
                refresh_tokens.c.token_hash == token_hash,
                refresh_tokens.c.used_at.is_(None),
                refresh_tokens.c.expires_at > moment,
            )
            .values(used_at=moment)
            .returning(refresh_tokens.c.user_id)
        )
    ).first()
    return None if row is None else row.user_id


async def revoke_all_refresh(conn: AsyncConnection, user_id: uuid.UUID, moment: datetime) -> None:
    await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.used_at.is_(None))
        .values(used_at=moment)
    )


async def refresh_owner(
    conn: AsyncConnection, token_hash: str, moment: datetime
) -> uuid.UUID | None:
    """The user of a live refresh token, without spending it."""
    query = select(refresh_tokens.c.user_id).where(
        refresh_tokens.c.token_hash == token_hash,
        refresh_tokens.c.used_at.is_(None),
        refresh_tokens.c.expires_at > moment,
    )
    return await conn.scalar(query)


# -- instance secrets ----------------------------------------------------------------------


async def secret(conn: AsyncConnection, name: str) -> str | None:
    return await conn.scalar(
        select(instance_secrets.c.value).where(instance_secrets.c.name == name)
    )


async def insert_secret(conn: AsyncConnection, name: str, value: str) -> None:
    await conn.execute(insert(instance_secrets).values(name=name, value=value, created_at=now()))
