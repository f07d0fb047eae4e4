"""Users: sign-up, sign-in, membership of projects. Passwords are argon2id hashes.

Hashing parameters are OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): one sign-in costs
about 30 ms of CPU here (see bench/RESULTS.md), run in a thread so the event loop never waits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from pixvault.db.engine import Database
from pixvault.db.queries import users as rows
from pixvault.db.rows import now, utc
from pixvault.domain.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidInput,
    RegistrationClosed,
    TooManyAttempts,
    UsernameTaken,
    UserNotFound,
    Violations,
)
from pixvault.domain.ids import new_id
from pixvault.domain.models import Project, User
from pixvault.domain.text import plain
from pixvault.domain.users import (
    normalise_email,
    username_from_email,
    validate_password,
    validate_username,
)
from pixvault.services.lookup import LookupCache
from pixvault.services.ratelimit import WindowLimiter

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the user does not exist, so timing does not tell which users exist.
_DUMMY_HASH = HASHER.hash("pixvault-no-such-user")


class UserService:
    def __init__(
        self,
        db: Database,
        limiter: WindowLimiter,
        *,
        registration: bool,
        lookup_cache_seconds: float = 0,
    ):
        self.db = db
        self.limiter = limiter
        self.registration = registration
        # Every signed-in request loads its user; a deletion elsewhere shows within the TTL.
        self._hot: LookupCache[uuid.UUID, User] = LookupCache(lookup_cache_seconds, maxsize=4096)

    async def find_for_request(self, user_id: uuid.UUID) -> User:
        """`get`, memoised briefly: it runs on every signed-in request."""
        return await self._hot.get(user_id, lambda: self.get(user_id))

    async def create(
        self,
        email: str,
        password: str,
        project: Project,
        *,
        username: str | None = None,
        display_name: str | None = None,
        admin: bool = False,
    ) -> User:
        """A new user, member of `project`."""
        email = normalise_email(email)
        username = validate_username(username or username_from_email(email), email)
        validate_password(password)
        hashed = await anyio.to_thread.run_sync(HASHER.hash, password)
        values = {
            "id": new_id(),
            "email": email,
            "username": username,
            "display_name": (display_name or username).strip() or username,
            "password_hash": hashed,
            "is_admin": admin,
            "created_at": now(),
        }
        try:
            async with self.db.write() as conn:
                email_taken, username_taken = await rows.taken(conn, email, username)
                if email_taken:
                    raise EmailTaken(email)
                if username_taken:
                    raise UsernameTaken(username)
                await rows.insert_user(conn, values, project.id)
        except IntegrityError:
            raise EmailTaken(email) from None  # a concurrent sign-up won the race
        return await self.get(values["id"])

    async def sign_up(
        self, project: Project, *, email: Any, username: Any, password: Any, confirm: Any
    ) -> User:
        """Self-service registration (when the instance allows it)."""
        if not self.registration:
            raise RegistrationClosed()
        problems: list[InvalidInput] = []

        def check(rule: Callable[[], object]) -> None:
            try:
                rule()
            except InvalidInput as exc:
                problems.append(exc)

        check(lambda: normalise_email(email))
        check(lambda: validate_username(username, str(email).strip().lower()))
        check(lambda: validate_password(password))
        if confirm != password:
            problems.append(InvalidInput("The passwords do not match", param="confirm"))
        if problems:
            raise problems[0] if len(problems) == 1 else Violations(problems)
        return await self.create(email, password, project, username=username)

    async def sign_in(self, login: str, password: str, *, client: str) -> User:
        """The user whose username or email and password these are. Failures count against
        the account and the client address; past the limit every attempt is refused."""
        plain(login, "username")  # no account has such a name; PostgreSQL refuses NUL
        async with self.db.read() as conn:
            row = await rows.by_login(conn, login)
        # An account is one key whether it is named by username or email.
        account = f"account:{row.id}" if row is not None else f"account:{login.lower()}"
        keys = (account, f"client:{client}")
        wait = await self.limiter.retry_after(*keys)
        if wait is not None:
            raise TooManyAttempts(wait)
        stored = _DUMMY_HASH if row is None else row.password_hash
        if not await anyio.to_thread.run_sync(_verify, stored, password) or row is None:
            await self.limiter.hit(*keys)
            raise InvalidCredentials()
        return await self.get(row.id)

    async def get(self, user_id: uuid.UUID) -> User:
        async with self.db.read() as conn:
            row = await rows.by_id(conn, user_id)
            memberships = await rows.projects_of(conn, [user_id]) if row else {}
        if row is None:
            raise UserNotFound(user_id)
        return _user(row, memberships.get(user_id, []))

    async def by_email(self, email: str) -> User:
        async with self.db.read() as conn:
            row = await rows.by_email(conn, email)
            memberships = await rows.projects_of(conn, [row.id]) if row else {}
        if row is None:
            raise UserNotFound(email)
        return _user(row, memberships.get(row.id, []))

    async def list(self) -> list[User]:
        async with self.db.read() as conn:
            found = await rows.listed(conn)
            memberships = await rows.projects_of(conn, [r.id for r in found])
        return [_user(r, memberships.get(r.id, [])) for r in found]

    async def names(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
        """(username, display name) of each user, for showing owners in lists."""
        wanted = set(user_ids)
        if not wanted:
            return {}
        async with self.db.read() as conn:
            found = await rows.names(conn, wanted)
        return {r.id: (r.username, r.display_name) for r in found}

    async def sign_out_everywhere(self, user_id: uuid.UUID) -> None:
        """End every browser session of the user issued until now."""
        async with self.db.write() as conn:
            # Whole seconds, as session cookies are stamped: a sign-in right after stays valid.
            await rows.set_signed_out(conn, user_id, now().replace(microsecond=0))
        self._hot.clear()

    async def delete(self, user_id: uuid.UUID) -> None:
        """Remove the user with their keys and tokens; their images stay, owned by no one."""
        async with self.db.write() as conn:
            if not await rows.delete_user(conn, user_id):
                raise UserNotFound(user_id)
        self._hot.clear()


def _verify(stored: str, password: str) -> bool:
    try:
        # surrogatepass: a password JSON can carry but UTF-8 cannot (a lone surrogate) is
        # simply wrong, not an error
        return HASHER.verify(stored, password.encode("utf-8", "surrogatepass"))
    except (VerificationError, InvalidHashError):
        return False


def _user(row: Any, project_ids: list[uuid.UUID]) -> User:
    return User(
        id=row.id,
        email=row.email,
        username=row.username,
        display_name=row.display_name,
        is_admin=row.is_admin,
        project_ids=tuple(project_ids),
        created_at=utc(row.created_at),
        signed_out_at=utc(row.signed_out_at),
    )
