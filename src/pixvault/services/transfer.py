"""Moving an instance: `pixvault export DIR` writes a portable, verifiable dump of one project
or the whole instance; `pixvault import DIR` checks it whole, then loads it into any database
and blob store (SQLite + a directory into PostgreSQL + S3, and back).

A dump is a directory:

    manifest.json          format, version, schema revision, scope, and for every other file
                           its SHA-256, size and line count (written last: no manifest, no dump)
    tables/<table>.jsonl   one JSON object per row, in primary-key order
    blobs.jsonl            one line per original: key, size, SHA-256, content type
    blobs/<key>            the originals' bytes (derivatives are re-rendered on demand)

Rows and blobs are streamed (one batch of rows, one chunk of a blob at a time). Import
verifies every file against the manifest before it writes anything; then it matches rows by
primary key: a row already there with the same data is skipped (importing twice changes
nothing), one with other data is a conflict and nothing is written. Blobs go in before rows,
as uploads do, so a failed import leaves at most unreferenced blobs for `pixvault gc`.
"""

import asyncio
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from pixvault import __version__
from pixvault.db import migrate
from pixvault.db.queries import transfer as q
from pixvault.db.tables import images, organizations, projects, users
from pixvault.domain.errors import DumpInvalid, ImportConflict, InvalidInput, NotFound
from pixvault.services.claim import claim_store
from pixvault.services.core import Core
from pixvault.storage import BlobMissing

FORMAT = "pixvault-dump"
VERSION = 1
MANIFEST = "manifest.json"
BLOB_INDEX = "blobs.jsonl"
_CHUNK = 4 << 20  # bytes of a blob held at once
_BATCH = 500  # rows matched and inserted per statement
_IN_FLIGHT = 8  # originals written at once
# Columns the running instance changes by itself (usage counters, sign-outs, rotated
# sessions): a difference there is not a conflict, and the target's value stays.
_VOLATILE: dict[str, frozenset[str]] = {
    "api_keys": frozenset({"last_used_at"}),
    "images": frozenset({"views"}),
    "projects": frozenset({"live_images", "deleted_images"}),
    "users": frozenset({"signed_out_at"}),
    "refresh_tokens": frozenset({"used_at"}),
}

# Told (phase, bytes of originals done, bytes in all) as originals are exported, verified
# and imported, for a progress bar.
Progress = Callable[[str, int, int], None]


def _silent(phase: str, done: int, total: int) -> None:
    """Show no progress."""


@dataclass
class ExportReport:
    directory: str
    scope: str
    rows: dict[str, int] = field(default_factory=dict)
    blobs: int = 0
    blob_bytes: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "scope": self.scope,
            "rows": self.rows,
            "blobs": self.blobs,
            "blobBytes": self.blob_bytes,
        }


@dataclass
class ImportReport:
    directory: str
    scope: str
    added: dict[str, int] = field(default_factory=dict)
    present: dict[str, int] = field(default_factory=dict)
    blobs_written: int = 0
    blobs_present: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "scope": self.scope,
            "rowsAdded": self.added,
            "rowsPresent": self.present,
            "blobsWritten": self.blobs_written,
            "blobsPresent": self.blobs_present,
        }


# -- export --------------------------------------------------------------------------------


async def export_dump(
    core: Core, directory: Path, project: str | None = None, progress: Progress = _silent
) -> ExportReport:
    """Write the whole instance, or the project ORG/PROJECT, into `directory` (new or empty)."""
    await migrate.check(core.db)
    scope_id = None
    scope: dict[str, Any] = {"kind": "instance"}
    if project is not None:
        found = await core.projects.by_path(project)
        scope_id = found.id
        scope = {"kind": "project", "project": found.path, "projectId": str(found.id)}
    _prepare(directory)
    report = ExportReport(str(directory), _describe(scope))
    files: dict[str, dict[str, Any]] = {}
    revision = await migrate.current_revision(core.db)
    with _HashedLines(directory / BLOB_INDEX) as index:
        async with q.snapshot(core.db) as conn:
            total = await q.original_bytes(conn, scope_id)
            for table in q.TABLES:
                query = q.selection(table, scope_id)
                if query is None:
                    continue
                name = f"tables/{table.name}.jsonl"
                with _HashedLines(directory / name) as out:
                    async for row in q.stream(conn, query):
                        out.write(q.encode_row(table, row))
                        if table is images:
                            blob = await _export_blob(core, directory, row)
                            index.write(blob)
                            report.blob_bytes += blob["size"]
                            progress("export", report.blob_bytes, total)
                files[name] = out.entry()
                report.rows[table.name] = out.lines
    files[BLOB_INDEX] = index.entry()
    report.blobs = index.lines
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "createdAt": datetime.now(UTC).isoformat(),
        "pixvault": __version__,
        "schemaRevision": revision,
        # Kinds only: the source's URLs may carry credentials.
        "source": {
            "database": core.db.engine.dialect.name,
            "storage": urlparse(core.settings.resolved_storage_url()).scheme,
        },
        "scope": scope,
        "files": files,
        "blobs": {"count": report.blobs, "bytes": report.blob_bytes},
    }
    manifest["digest"] = _digest(manifest)
    # Written last, through a rename: a dump without a manifest is an unfinished export.
    temporary = directory / f"{MANIFEST}.partial"
    temporary.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(temporary, directory / MANIFEST)
    return report


def _prepare(directory: Path) -> None:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise InvalidInput(
            f"{directory} exists and is not an empty directory; export into a new or empty one",
            param="dir",
        )
    try:
        (directory / "tables").mkdir(parents=True, exist_ok=True)
        (directory / "blobs").mkdir(exist_ok=True)
    except OSError as exc:
        raise InvalidInput(
            f"Cannot create {directory} ({exc.strerror}); export into a directory you can write",
            param="dir",
        ) from None


async def _export_blob(core: Core, directory: Path, row: dict[str, Any]) -> dict[str, Any]:
    """Copy one original into the dump, a chunk at a time; its index line."""
    key = row["storage_key"]
    _check_key(key, f"images row {row['id']}")
    path = directory / "blobs" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "xb") as file:
            for start in range(0, max(row["size"], 1), _CHUNK):
                end = min(row["size"], start + _CHUNK)
                if start == 0 and end == row["size"]:
                    chunk = await core.blobs.get(key)
                else:
                    chunk = await core.blobs.get_range(key, start, end)
                digest.update(chunk)
                file.write(chunk)
                size += len(chunk)
    except BlobMissing:
        raise NotFound(
            f"Image {row['id']}'s original {key} is missing from the blob store (deleted while "
            "exporting, or lost); export again, or delete that image first"
        ) from None
    return {
        "key": key,
        "size": size,
        "sha256": digest.hexdigest(),
        "contentType": row["mime_type"],
    }


class _HashedLines:
    """A JSON-lines file written while its SHA-256, size and line count are taken."""

    def __init__(self, path: Path):
        self.path = path
        self.digest = hashlib.sha256()
        self.size = 0
        self.lines = 0
        self._file: IO[bytes] | None = None

    def __enter__(self) -> "_HashedLines":
        self._file = open(self.path, "xb")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._file is not None
        self._file.close()

    def write(self, data: dict[str, Any]) -> None:
        assert self._file is not None
        line = (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        self._file.write(line)
        self.digest.update(line)
        self.size += len(line)
        self.lines += 1

    def entry(self) -> dict[str, Any]:
        return {"sha256": self.digest.hexdigest(), "bytes": self.size, "lines": self.lines}


def _describe(scope: dict[str, Any]) -> str:
    return f"project {scope['project']}" if scope["kind"] == "project" else "whole instance"


# -- verify --------------------------------------------------------------------------------


def verify_dump(directory: Path, progress: Progress = _silent) -> dict[str, Any]:
    """Check every file of the dump against the manifest (blobs against the blob index);
    the manifest, or `DumpInvalid` naming the first file that failed."""
    if not directory.is_dir():
        problem = "is not a directory" if directory.exists() else "does not exist"
        raise DumpInvalid(str(directory), problem)
    manifest = _read_manifest(directory / MANIFEST)
    files = manifest["files"]
    for name, entry in files.items():
        _check_file(directory / name, name, entry)
    for extra in sorted((directory / "tables").glob("*")):
        if f"tables/{extra.name}" not in files:
            raise DumpInvalid(f"tables/{extra.name}", "is not listed in manifest.json")
    total, done = manifest["blobs"]["bytes"], 0
    for line, entry in _lines(directory, BLOB_INDEX):
        key, size, sha256 = entry.get("key"), entry.get("size"), entry.get("sha256")
        if not (isinstance(key, str) and _safe_key(key)):
            raise DumpInvalid(BLOB_INDEX, f"line {line} names no valid blob key ({key!r})")
        if not (isinstance(size, int) and isinstance(sha256, str)):
            raise DumpInvalid(BLOB_INDEX, f"line {line} lacks the blob's size or sha256")
        _check_file(directory / "blobs" / key, f"blobs/{key}", {"bytes": size, "sha256": sha256})
        done += size
        progress("verify", done, total)
    return manifest


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DumpInvalid(
            MANIFEST, "is missing: the export did not finish, or this is not a pixvault dump"
        )
    try:
        manifest = json.loads(path.read_bytes())
    except ValueError:
        raise DumpInvalid(MANIFEST, "is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DumpInvalid(MANIFEST, f"does not describe a {FORMAT}")
    if manifest.get("digest") != _digest(manifest):
        raise DumpInvalid(MANIFEST, "does not match its own digest (corrupted or edited)")
    if manifest.get("version") != VERSION:
        raise DumpInvalid(
            MANIFEST,
            f"is of format version {manifest.get('version')!r}; this pixvault reads version "
            f"{VERSION} (import with the pixvault version that exported it)",
        )
    files = manifest.get("files")
    known = {f"tables/{t.name}.jsonl" for t in q.TABLES} | {BLOB_INDEX}
    if not isinstance(files, dict) or BLOB_INDEX not in files or not set(files) <= known:
        raise DumpInvalid(MANIFEST, "lists unknown files or lacks blobs.jsonl")
    if not all(isinstance(e, dict) and {"sha256", "bytes"} <= set(e) for e in files.values()):
        raise DumpInvalid(MANIFEST, "has a file entry without sha256 and bytes")
    blobs, scope = manifest.get("blobs"), manifest.get("scope")
    if not isinstance(blobs, dict) or not isinstance(blobs.get("bytes"), int):
        raise DumpInvalid(MANIFEST, "has no blob totals")
    if not isinstance(scope, dict) or scope.get("kind") not in ("instance", "project"):
        raise DumpInvalid(MANIFEST, "names no scope (instance or project)")
    return manifest


def _digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest's canonical JSON without its `digest`: the manifest is checked
    like every file it lists."""
    body = {k: v for k, v in manifest.items() if k != "digest"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_file(path: Path, name: str, entry: dict[str, Any]) -> None:
    if not path.is_file():
        raise DumpInvalid(name, "is missing")
    digest = hashlib.sha256()
    size = lines = 0
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
    if size != entry["bytes"]:
        raise DumpInvalid(name, f"has {size} bytes, the dump says {entry['bytes']}")
    if digest.hexdigest() != entry["sha256"]:
        raise DumpInvalid(name, "does not match its SHA-256 in the manifest (corrupted)")
    if "lines" in entry and lines != entry["lines"]:
        raise DumpInvalid(name, f"has {lines} lines, the manifest says {entry['lines']}")


def _lines(directory: Path, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of a JSON-lines file, read one line at a time."""
    with open(directory / name, "rb") as file:
        for number, line in enumerate(file, 1):
            try:
                data = json.loads(line)
            except ValueError:
                data = None
            if not isinstance(data, dict):
                raise DumpInvalid(name, f"line {number} is not a JSON object")
            yield number, data


def _safe_key(key: str) -> bool:
    parts = key.split("/")
    return bool(key) and "\\" not in key and "\0" not in key and "" not in parts and not any(
        part in (".", "..") for part in parts
    )  # fmt: skip


def _check_key(key: str, where: str) -> None:
    if not _safe_key(key):
        raise InvalidInput(f"{where} has a storage key {key!r} that cannot be a file name")


# -- import --------------------------------------------------------------------------------


async def import_dump(core: Core, directory: Path, progress: Progress = _silent) -> ImportReport:
    """Verify the dump, migrate the target, refuse conflicts, then write blobs and rows."""
    manifest = verify_dump(directory, progress)
    await migrate.upgrade(core.db)
    revision = await migrate.current_revision(core.db)
    if manifest.get("schemaRevision") != revision:
        raise InvalidInput(
            f"The dump is at schema revision {manifest.get('schemaRevision')}, this database at "
            f"{revision}: export and import with the same pixvault version (run `pixvault "
            "migrate` on the source before exporting)"
        )
    report = ImportReport(str(directory), _describe(manifest["scope"]))
    async with core.db.read() as conn:  # every conflict is found before anything is written
        await _match(conn, directory, manifest, report, write=False)
    # Another database's store is refused here, as at start, before a blob goes into it.
    await claim_store(core.db, core.blobs, core.settings)
    await _write_blobs(core, directory, manifest["blobs"]["bytes"], report, progress)
    report.added.clear()
    report.present.clear()
    async with core.db.write() as conn:
        touched = await _match(conn, directory, manifest, report, write=True)
        await q.recount_images(conn, touched)
    return report


async def _write_blobs(
    core: Core, directory: Path, total: int, report: ImportReport, progress: Progress
) -> None:
    """Write the originals the store lacks, `_IN_FLIGHT` at a time (an object store's round
    trip, not bandwidth, bounds one-at-a-time writes of many small files)."""
    slots = asyncio.Semaphore(_IN_FLIGHT)
    done = 0

    async def write(entry: dict[str, Any]) -> None:
        nonlocal done
        try:
            key = entry["key"]
            if await core.blobs.exists(key):
                report.blobs_present += 1
            else:
                path = str(directory / "blobs" / key)
                await core.blobs.put_file(key, path, content_type=entry.get("contentType"))
                report.blobs_written += 1
            done += entry["size"]
            progress("import", done, total)
        finally:
            slots.release()

    try:
        async with asyncio.TaskGroup() as group:
            for _, entry in _lines(directory, BLOB_INDEX):
                await slots.acquire()  # bounds the tasks alive, so the index streams
                group.create_task(write(entry))
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None


async def _match(
    conn: AsyncConnection,
    directory: Path,
    manifest: dict[str, Any],
    report: ImportReport,
    *,
    write: bool,
) -> set[uuid.UUID]:
    """Match every dumped row against the database by primary key, counting rows to add and
    rows already there; raise `ImportConflict` for a row there with other data. With `write`,
    insert the new rows (in the caller's transaction); the projects that got new images."""
    touched: set[uuid.UUID] = set()
    adopted: dict[uuid.UUID, uuid.UUID] = {}  # dumped organisation id -> the target's, by slug
    for table in q.TABLES:
        name = f"tables/{table.name}.jsonl"
        if name not in manifest["files"]:
            continue
        added = present = 0
        for batch in _batches(directory, name, table):
            if table is projects:
                for _, raw, row in batch:
                    if row["org_id"] in adopted:
                        row["org_id"] = adopted[row["org_id"]]
                        raw["org_id"] = str(row["org_id"])
            stored = await q.existing(conn, table, [row for _, _, row in batch])
            fresh = []
            for line, raw, row in batch:
                old = stored.get(q.primary_key(table, row))
                if old is not None:
                    _same_or_conflict(table, old, raw, name, line)
                    present += 1
                elif await _adopted(conn, table, row, adopted, name, line):
                    present += 1
                else:
                    fresh.append(row)
            added += len(fresh)
            if table is images:
                touched.update(row["project_id"] for row in fresh)
            if write and fresh:
                try:
                    await q.insert_rows(conn, table, fresh)
                except IntegrityError as exc:
                    raise ImportConflict(
                        f"{name}: a row clashes with the target database ({_first_line(exc)}); "
                        "import into a new, empty database"
                    ) from None
        report.added[table.name] = added
        report.present[table.name] = present
    return touched


def _batches(
    directory: Path, name: str, table: Table
) -> Iterator[list[tuple[int, dict[str, Any], dict[str, Any]]]]:
    batch: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    for line, raw in _lines(directory, name):
        try:
            row = q.decode_row(table, raw)
        except ValueError as exc:
            raise DumpInvalid(name, f"line {line}: {exc}") from None
        batch.append((line, raw, row))
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _same_or_conflict(
    table: Table, old: dict[str, Any], raw: dict[str, Any], name: str, line: int
) -> None:
    ignored = _VOLATILE.get(table.name, frozenset())
    stored = q.encode_row(table, old)
    differ = [c for c in raw if c not in ignored and stored.get(c) != raw[c]]
    if differ:
        key = ", ".join(str(v) for v in q.primary_key(table, raw))
        raise ImportConflict(
            f"{name} line {line}: the target database already holds {table.name} {key} with "
            f"other {', '.join(differ)}; nothing was imported. Import into a new, empty "
            "database, or remove that row from the target first"
        )


async def _adopted(
    conn: AsyncConnection,
    table: Table,
    row: dict[str, Any],
    adopted: dict[uuid.UUID, uuid.UUID],
    name: str,
    line: int,
) -> bool:
    """A new row whose unique name the target already uses: an organisation of that slug is
    adopted (its projects join it); a project or user of that name is a conflict."""
    if table is organizations:
        found = await q.organization_id(conn, row["slug"])
        if found is not None:
            adopted[row["id"]] = found
            return True
    elif table is projects:
        found = await q.project_id(conn, row["org_id"], row["slug"])
        if found is not None:
            raise ImportConflict(
                f"{name} line {line}: the target database already has a project named "
                f"{row['slug']!r} in that organisation, with another id ({found}); nothing was "
                "imported. Import before the target's first `pixvault serve` or `init` (which "
                "create the default projects), into a new, empty database"
            )
    elif table is users:
        holder = await q.user_holding(conn, row["email"], row["username"])
        if holder is not None:
            raise ImportConflict(
                f"{name} line {line}: the target database already has a user "
                f"{holder['email']} ({holder['username']}) with another id; nothing was "
                "imported. Delete that user from the target, or import into a new database"
            )
    return False


def _first_line(exc: IntegrityError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
