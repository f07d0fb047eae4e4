"""API keys: random tokens shown once, stored only as SHA-256 hashes.

`sk_` secret keys read and write one project, `pk_` public keys only read it, and `mk_` master
keys administer the instance. Every surface accepts them the same way.
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pixvault.db.engine import Database
from pixvault.db.queries import epochs
from pixvault.db.queries import keys as rows
from pixvault.db.rows import now, to_key, to_project, utc
from pixvault.domain.errors import (
    AmbiguousKeyPrefix,
    BootstrapClosed,
    InvalidInput,
    KeyNotFound,
    KeyRejected,
)
from pixvault.domain.ids import new_id
from pixvault.domain.models import ApiKey, IssuedKey
from pixvault.domain.principal import Guest, KeyPrincipal, Principal
from pixvault.domain.text import plain
from pixvault.services.lookup import LookupCache
from pixvault.services.projects import ProjectService

PREFIXES = {"secret": "sk_", "public": "pk_", "master": "mk_"}
_LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_EXPIRY_DAYS = 36_500
_EXPIRED = "This API key expired; create a new one"
_HEX = frozenset("0123456789abcdef")


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Revocation:
    key: ApiKey
    already: bool  # the key was revoked before this call (nothing changed)


@dataclass(frozen=True)
class _ValidKey:
    principal: Principal
    expires_at: datetime | None


class KeyService:
    def __init__(self, db: Database, projects: ProjectService, *, lookup_cache_seconds: float = 0):
        self.db = db
        self.projects = projects
        # Every API request authenticates. The memo is dropped whenever any process revokes
        # a key (see `_drop_stale_memo`). Principals carry project settings.
        self._valid: LookupCache[str, _ValidKey] = LookupCache(lookup_cache_seconds, maxsize=4096)
        self._epoch = -1
        projects.hot.clears(self._valid)

    async def issue(
        self,
        kind: str,
        project_id: uuid.UUID | None = None,
        *,
        label: str | None = None,
        expires_in_days: int | None = None,
        expires_at: datetime | None = None,
        user_id: uuid.UUID | None = None,
    ) -> IssuedKey:
        """A new key, shown once. `user_id` makes it a user's own key: it acts as that user
        (uploads are theirs) in the project."""
        if kind not in PREFIXES:
            raise InvalidInput(
                f"Unknown key kind {kind!r}; use one of: {', '.join(PREFIXES)}", param="kind"
            )
        if (kind == "master") != (project_id is None):
            raise InvalidInput(
                "Master keys belong to no project; secret and public keys need a project",
                param="projectId",
            )
        if label is not None:
            plain(label, "label")
        if project_id is not None:
            await self.projects.get(project_id)
        if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
            raise InvalidInput(
                f"expiresInDays must be from 1 to {MAX_EXPIRY_DAYS}", param="expiresInDays"
            )
        created = now()
        if expires_at is not None and expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)  # a date without an offset is UTC
        if expires_at is not None and expires_at <= created:
            raise InvalidInput("expiresAt must be in the future", param="expiresAt")
        if expires_in_days:
            expires_at = created + timedelta(days=expires_in_days)
        secret = PREFIXES[kind] + secrets.token_hex(32)  # 64 hex digits, as Slink's keys
        values = {
            "id": new_id(),
            "project_id": project_id,
            "kind": kind,
            "label": label,
            "key_hash": hash_key(secret),
            "prefix": secret[:10],
            "expires_at": expires_at,
            "created_at": created,
            "user_id": user_id,
        }
        async with self.db.write() as conn:
            await rows.insert_key(conn, values)
        return IssuedKey(key=await self.get(values["id"]), secret=secret)

    async def get(self, key_id: uuid.UUID) -> ApiKey:
        async with self.db.read() as conn:
            row = await rows.by_id(conn, key_id)
        if row is None:
            raise KeyNotFound(key_id)
        return to_key(row)

    async def find(self, ref: str) -> ApiKey:
        """The key whose id is `ref` or starts with it (hex digits, dashes optional), as long
        as exactly one key's id does."""
        digits = ref.strip().lower().replace("-", "")
        if not digits or len(digits) > 32 or not set(digits) <= _HEX:
            raise InvalidInput(
                f"keyId must be a key id or the start of one (hex digits), got {ref!r}",
                param="keyId",
            )
        low = uuid.UUID(digits.ljust(32, "0"))
        high = uuid.UUID(digits.ljust(32, "f"))
        async with self.db.read() as conn:
            found = [to_key(r) for r in await rows.by_id_range(conn, low, high, limit=6)]
        if not found:
            raise KeyNotFound(ref)
        if len(found) > 1:
            raise AmbiguousKeyPrefix(ref, [k.id for k in found])
        return found[0]

    async def list(
        self, project_id: uuid.UUID | None = None, *, user_id: uuid.UUID | None = None
    ) -> list[ApiKey]:
        async with self.db.read() as conn:
            found = [to_key(r) for r in await rows.listed(conn, project_id)]
        return found if user_id is None else [k for k in found if k.user_id == user_id]

    async def revoke_own(self, user_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
        """Revoke one of a user's own keys; another user's key is not found."""
        try:
            key = await self.get(key_id)
        except KeyNotFound:
            raise KeyNotFound(key_id) from None
        if key.user_id != user_id:
            raise KeyNotFound(key_id)
        return await self.revoke(key_id)

    async def revoke(self, key_id: uuid.UUID) -> ApiKey:
        return (await self.revocation(key_id)).key

    async def revocation(self, key_id: uuid.UUID) -> Revocation:
        """Revoke the key, telling whether it was revoked already (then nothing changes)."""
        async with self.db.write() as conn:
            revoked = await rows.revoke(conn, key_id, now())
            if revoked:
                await epochs.bump(conn, "keys")
        self._valid.clear()
        key = await self.get(key_id)
        if not revoked and key.revoked_at is None:
            raise KeyNotFound(key_id)
        return Revocation(key, already=not revoked)

    async def count(self) -> int:
        async with self.db.read() as conn:
            return await rows.count(conn)

    async def bootstrap_master(self) -> IssuedKey:
        """The first master key, only while the instance has no key at all."""
        if await self.count() > 0:
            raise BootstrapClosed()
        return await self.issue("master", label="bootstrap")

    async def authenticate(self, secret: str | None) -> Principal:
        if not secret:
            return Guest()
        hashed = hash_key(secret)
        await self._drop_stale_memo()
        valid = await self._valid.get(hashed, lambda: self._check(hashed))
        if valid.expires_at is not None and valid.expires_at <= now():
            raise KeyRejected(_EXPIRED)
        return valid.principal

    async def _drop_stale_memo(self) -> None:
        """A key revoked by any process (or the CLI) moves the epoch: one primary-key read
        per request tells this process its memo is stale, so revocation is immediate."""
        async with self.db.read() as conn:
            epoch = await epochs.current(conn, "keys")
        if epoch != self._epoch:
            self._valid.clear()
            self._epoch = epoch

    async def _check(self, hashed: str) -> _ValidKey:
        async with self.db.read() as conn:
            row = await rows.by_hash(conn, hashed)
        if row is None:
            raise KeyRejected("Invalid API key: no such key exists; check for typos")
        key = to_key(row)
        moment = now()
        if key.revoked_at is not None:
            raise KeyRejected("This API key was revoked; create a new one")
        if key.expires_at is not None and key.expires_at <= moment:
            raise KeyRejected(_EXPIRED)
        last_used = utc(key.last_used_at)
        if last_used is None or moment - last_used > _LAST_USED_RESOLUTION:
            async with self.db.write() as conn:
                await rows.touch(conn, key.id, moment)
        project = None if key.project_id is None else to_project(row, prefix="p_")
        return _ValidKey(
            KeyPrincipal(key_id=key.id, kind=key.kind, project=project, owner_id=key.user_id),
            key.expires_at,
        )
