"""Garbage collection: purge expired soft deletes, then remove blobs no row references.

Uploads write bytes before their row and deletes remove the row before the bytes, so a crash
or a failed cleanup leaves only unreferenced blobs behind. gc finds them by listing the store
and asking the database. A blob younger than the grace period is never touched: its upload
may still be about to commit the row that references it. Blobs are listed *before* the
database is asked, so any row committed before the listing is seen.

Only blobs of projects this database knows are candidates (every key starts with its project
id): another database sharing the store (`PIXVAULT_SHARED_STORE`) owns the rest, and they are
reported as kept. gc refuses to run at all on a store another database claimed, unless the
sharing is allowed.
"""

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from pixvault.db.queries import images as rows
from pixvault.db.rows import now as utc_now
from pixvault.domain.errors import NotFound
from pixvault.domain.models import Project
from pixvault.services.blobkeys import BlobKind, derivative_prefix, parse_key
from pixvault.services.claim import inspect_claim
from pixvault.services.core import Core
from pixvault.services.staging import sweep_spool
from pixvault.storage import BlobInfo

_CHUNK = 500
_LISTED_KEYS = 1000  # the report names at most this many removed keys
_LISTED_PROJECTS = 100  # and at most this many projects it does not know


@dataclass
class GcReport:
    """What gc did, or with `dry_run` would do."""

    dry_run: bool
    purged_images: int = 0
    purged_bytes: int = 0
    orphan_blobs: int = 0
    orphan_bytes: int = 0
    kept_recent: int = 0
    kept_unknown: int = 0
    # Blobs of projects this database does not know (another instance's, on a shared store).
    kept_foreign: int = 0
    kept_foreign_bytes: int = 0
    temporaries_removed: int = 0
    # Multipart uploads a crash left pending in an S3 bucket, past the grace period.
    uploads_aborted: int = 0
    orphan_keys: list[str] = field(default_factory=list)
    foreign_projects: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        return {_camel(k): v for k, v in data.items()}


@dataclass(frozen=True)
class _Candidate:
    info: BlobInfo
    kind: BlobKind
    project_id: uuid.UUID
    image_id: uuid.UUID


async def collect(
    core: Core,
    *,
    grace: timedelta,
    retention: timedelta,
    dry_run: bool = False,
    now: datetime | None = None,
) -> GcReport:
    """Purge images soft-deleted before `now - retention`, then remove unreferenced blobs
    last modified before `now - grace`; and abort the multipart uploads and sweep the
    temporary files of writes and uploads that a crash interrupted, past the same grace
    period."""
    moment = now or utc_now()
    await inspect_claim(core.db, core.blobs, core.settings)  # raises on another's store
    report = GcReport(dry_run=dry_run)
    await _purge_soft_deleted(core, moment - retention, report)
    known = await _remove_orphans(core, moment - grace, report)
    await _abort_abandoned_uploads(core, moment - grace, known, report)
    if not dry_run:
        report.temporaries_removed = await core.blobs.sweep_temporaries(moment - grace)
        spool = core.library.spool_dir
        if spool is not None:
            report.temporaries_removed += sweep_spool(spool, (moment - grace).timestamp())
    return report


# -- soft-deleted images -------------------------------------------------------------------


async def _purge_soft_deleted(core: Core, cutoff: datetime, report: GcReport) -> None:
    async with core.db.read() as conn:
        expired = await rows.soft_deleted_before(conn, cutoff)
    projects: dict[uuid.UUID, Project] = {}
    for image_id, project_id, size in expired:
        if project_id not in projects:
            projects[project_id] = await core.projects.get(project_id)
        project = projects[project_id]
        derived = [i async for i in core.blobs.list(derivative_prefix(project_id, image_id))]
        if not report.dry_run:
            try:
                await core.library.delete(project, image_id, include_deleted=True)
            except NotFound:
                continue  # purged concurrently
        report.purged_images += 1
        report.purged_bytes += size + sum(i.size for i in derived)


# -- unreferenced blobs --------------------------------------------------------------------


async def _remove_orphans(core: Core, cutoff: datetime, report: GcReport) -> set[uuid.UUID]:
    """Returns the ids of the projects this database knows, asked after the listing."""
    candidates: list[_Candidate] = []
    async for info in core.blobs.list(""):
        if info.last_modified > cutoff:
            report.kept_recent += 1
            continue
        candidate = _classify(info)
        if candidate is None:
            report.kept_unknown += 1
        else:
            candidates.append(candidate)
    # Asked after the listing: a project created since cannot own a blob older than the grace.
    known = {project.id for project in await core.projects.list()}
    foreign = {c.project_id for c in candidates if c.project_id not in known}
    for candidate in candidates:
        if candidate.project_id in foreign:
            report.kept_foreign += 1
            report.kept_foreign_bytes += candidate.info.size
    report.foreign_projects = sorted(str(p) for p in foreign)[:_LISTED_PROJECTS]
    candidates = [c for c in candidates if c.project_id in known]
    for start in range(0, len(candidates), _CHUNK):
        chunk = candidates[start : start + _CHUNK]
        for orphan in await _unreferenced(core, chunk):
            if not report.dry_run:
                await core.blobs.delete(orphan.key)
            report.orphan_blobs += 1
            report.orphan_bytes += orphan.size
            if len(report.orphan_keys) < _LISTED_KEYS:
                report.orphan_keys.append(orphan.key)
    return known


async def _abort_abandoned_uploads(
    core: Core, cutoff: datetime, known: set[uuid.UUID], report: GcReport
) -> None:
    """Multipart uploads begun before the grace period and never finished: their process
    died mid-upload (a live one finishes within the grace, as blobs do). Only those writing
    a key of a `known` project, as for blobs (one created since is left for the next run)."""
    for upload in await core.blobs.pending_uploads():
        if upload.initiated >= cutoff:
            continue
        parsed = parse_key(upload.key)
        if parsed is None or parsed[1] not in known:
            continue
        if not report.dry_run:
            await core.blobs.abort_upload(upload)
        report.uploads_aborted += 1


def _classify(info: BlobInfo) -> _Candidate | None:
    """Keys outside the layout of `blobkeys` are not ours to remove."""
    parsed = parse_key(info.key)
    return None if parsed is None else _Candidate(info, *parsed)


async def _unreferenced(core: Core, chunk: list[_Candidate]) -> list[BlobInfo]:
    """Originals no row names as its storage key (soft-deleted rows still do), and
    derivatives whose image is not live (soft delete drops derivatives)."""
    original_keys = {c.info.key for c in chunk if c.kind == "original"}
    derived_ids = {c.image_id for c in chunk if c.kind == "derived"}
    async with core.db.read() as conn:
        referenced = await rows.referenced_keys(conn, original_keys)
        live = await rows.live_ids(conn, derived_ids)
    return [c.info for c in chunk if not _is_referenced(c, referenced, live)]


def _is_referenced(
    candidate: _Candidate, keys: set[str], live: set[tuple[uuid.UUID, uuid.UUID]]
) -> bool:
    if candidate.kind == "original":
        return candidate.info.key in keys
    return (candidate.project_id, candidate.image_id) in live


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
