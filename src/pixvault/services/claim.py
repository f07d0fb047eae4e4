"""Which database a blob store belongs to.

Two pixvault databases writing one store would each take the other's blobs for orphans and
let `gc` remove them. So a store is claimed: the first start of a database on it writes
`.pixvault-instance.json` there, naming the database's instance id (a random id kept in the
database's `instance_secrets`, so every process of one deployment, and a restored backup,
share it). A later start of another database on the same store refuses, unless
`PIXVAULT_SHARED_STORE` says the sharing is meant; the marker then keeps naming its first
owner. `gc` removes only blobs of projects its own database knows either way.
"""

import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from pixvault.config import Settings
from pixvault.db.engine import Database
from pixvault.db.queries import users as rows
from pixvault.db.rows import now
from pixvault.domain.errors import StorageUnavailable
from pixvault.storage import BlobMissing, BlobStore

# Under the prefix the store keeps out of its listings, so gc and exports never see it.
MARKER_KEY = ".pixvault-instance.json"
_JSON = "application/json"
log = logging.getLogger(__name__)
_SECRET_NAME = "instance_id"
_SETTING = "PIXVAULT_SHARED_STORE"

State = Literal["ours", "unclaimed", "shared", "foreign"]


@dataclass(frozen=True)
class Claim:
    """This database's instance id (None before its first start) and the store's marker."""

    state: State
    instance_id: str | None
    owner: dict[str, Any] | None

    def describe(self, store_url: str) -> str:
        if self.state == "ours":
            return f"{store_url} belongs to this database (instance {self.instance_id})"
        if self.state == "unclaimed":
            return f"{store_url} is unclaimed; the next `pixvault init` or `serve` claims it"
        return (
            f"{store_url} belongs to {_owner(self.owner)} and is shared by this database "
            f"(instance {self.instance_id}, {_SETTING}=true)"
        )


class StoreClaimed(Exception):
    """The store belongs to another database and sharing it was not allowed."""

    def __init__(self, store_url: str, claim: Claim):
        super().__init__(
            f"The blob store {store_url} belongs to {_owner(claim.owner)}, not to this database "
            f"(instance {claim.instance_id or 'not yet started'}): give this database a store "
            f"of its own (PIXVAULT_STORAGE_URL or PIXVAULT_DATA_DIR), or set {_SETTING}=true "
            "if both must share it (gc then removes only blobs of this database's projects)"
        )
        self.claim = claim


async def claim_store(db: Database, blobs: BlobStore, settings: Settings) -> Claim:
    """At start, with write access: make sure this database has an instance id and the store
    a marker, then refuse if the marker names another database (unless sharing is allowed).

    A store that cannot be reached does not stop the start (`/ready` reports it, uploads
    answer 503): the claim is made at the next start, and gc only ever removes blobs of this
    database's projects anyway."""
    ours = await _instance_id(db, create=True)
    try:
        marker = await _read_marker(blobs)
        if marker is None:
            await blobs.put(
                MARKER_KEY, json.dumps(_marker(ours, settings)).encode(), content_type=_JSON
            )
            # Two databases starting at once on one store: the last write wins, so read back.
            marker = await _read_marker(blobs)
    except StorageUnavailable as exc:
        log.warning("the blob store's claim was not checked: %s", exc.message)
        return Claim("unclaimed", ours, None)
    return _judge(ours, marker, settings)


async def inspect_claim(db: Database, blobs: BlobStore, settings: Settings) -> Claim:
    """Read-only (`pixvault check`, `gc`): the same verdict as at start, without writing."""
    return _judge(await _instance_id(db, create=False), await _read_marker(blobs), settings)


def _judge(ours: str | None, marker: dict[str, Any] | None, settings: Settings) -> Claim:
    if marker is None:
        return Claim("unclaimed", ours, None)
    if ours is not None and marker.get("instanceId") == ours:
        return Claim("ours", ours, marker)
    claim = Claim("shared" if settings.shared_store else "foreign", ours, marker)
    if claim.state == "foreign":
        raise StoreClaimed(settings.resolved_storage_url(), claim)
    return claim


async def _instance_id(db: Database, *, create: bool) -> str | None:
    async with db.read() as conn:
        stored = await rows.secret(conn, _SECRET_NAME)
    if stored is not None or not create:
        return stored
    try:
        async with db.write() as conn:
            await rows.insert_secret(conn, _SECRET_NAME, secrets.token_hex(16))
    except IntegrityError:
        pass  # another process of this deployment created it first: use theirs
    async with db.read() as conn:
        return await rows.secret(conn, _SECRET_NAME)


async def _read_marker(blobs: BlobStore) -> dict[str, Any] | None:
    try:
        data = await blobs.get(MARKER_KEY)
    except BlobMissing:
        return None
    try:
        marker = json.loads(data)
    except ValueError:
        marker = None
    # Anything else at the marker's key is not ours: treat it as another owner's.
    return marker if isinstance(marker, dict) else {"instanceId": None, "unreadable": True}


def _marker(instance_id: str, settings: Settings) -> dict[str, Any]:
    return {
        "instanceId": instance_id,
        "database": database_label(settings),
        "claimedAt": now().isoformat(timespec="seconds"),
    }


def database_label(settings: Settings) -> str:
    """The database's URL without its password, so the marker can say who owns the store."""
    url = make_url(settings.database_url or settings.resolved_database_url())
    shown = url.set(drivername=url.drivername.split("+")[0]).render_as_string(hide_password=True)
    return (
        shown
        if settings.database_schema is None
        else f"{shown} (schema {settings.database_schema})"
    )


def _owner(marker: dict[str, Any] | None) -> str:
    if marker is None:
        return "no database"
    if marker.get("unreadable"):
        return f"an unknown owner ({MARKER_KEY} is not a pixvault claim marker)"
    return (
        f"another pixvault database ({marker.get('database', 'unnamed')}, instance "
        f"{marker.get('instanceId')}, since {marker.get('claimedAt', 'an unknown date')})"
    )
