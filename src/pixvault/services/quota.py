"""The derivative store's quota per project: least-recently-used derivatives are evicted.

Every stored derivative has a row (its key, size and last access). After each new derivative
of a project with a quota, the project's stored bytes are summed and the least recently used
derivatives (blob first, then row) are deleted until the sum is within the quota; the next
request for an evicted one renders it again. Concurrent renders of one project share one
eviction pass per process. Each process keeps a running total per project (its last sum plus
what it stored since) and sums again only when that total passes the quota or is 30 s old, so
a cold render usually costs no query of its own; other processes' derivatives count within
30 s.

Last access is coarse, so a cached hit never writes to the database: hits are noted in
memory and written in one batch at most every `touch_seconds` (and before each eviction pass
of this process); two derivatives used within one such period may be evicted in either order,
one used long ago goes first. New derivatives' rows are batched too, about once a second (a
crash loses at most that second's rows: those derivatives are then not counted, as are those
rendered before the table existed).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime

from pixvault.db.engine import Database
from pixvault.db.queries import derivatives as rows
from pixvault.db.rows import now
from pixvault.storage import BlobStore

log = logging.getLogger(__name__)
_BATCH = 200
_RECORD_SECONDS = 1.0  # new derivatives' rows are written in batches this often
_RESUM_SECONDS = 30.0  # how long a process trusts its running total of a project's bytes


class DerivativeQuota:
    def __init__(self, db: Database, blobs: BlobStore, *, touch_seconds: float = 60.0):
        self.db = db
        self.blobs = blobs
        self.touch_seconds = touch_seconds
        self._touched: dict[str, float] = {}
        self._new: list[dict[str, object]] = []  # rows of new derivatives, not yet written
        self._flushed_at = time.monotonic()
        self._flushing: asyncio.Task[None] | None = None
        self._evicting: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._again: set[uuid.UUID] = set()
        # Per project: stored bytes at the last sum plus what this process stored since.
        self._totals: dict[uuid.UUID, tuple[int, float]] = {}
        self.evicted = 0

    def touched(self, key: str) -> None:
        """A derivative was used (hot path: a dict write, a batch write now and then)."""
        self._touched[key] = time.time()
        if time.monotonic() - self._flushed_at >= self.touch_seconds:
            self._flush_later(0.0)

    def _flush_later(self, delay: float) -> None:
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._flush_soon(delay))

    async def _flush_soon(self, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            await self.flush()
        except Exception:  # the next period tries again; a lost touch only ages a derivative
            log.warning("writing derivative rows and accesses failed", exc_info=True)
        finally:
            self._flushing = None

    async def flush(self) -> None:
        """Write the new derivatives and the accesses noted since the last flush, in one
        transaction."""
        self._flushed_at = time.monotonic()
        if not self._touched and not self._new:
            return
        touched, self._touched = self._touched, {}
        new, self._new = self._new, []
        async with self.db.write() as conn:
            if new:
                await rows.record_many(conn, new)
            if touched:
                await rows.touch(
                    conn, {key: datetime.fromtimestamp(t, UTC) for key, t in touched.items()}
                )

    async def recorded(
        self,
        project_id: uuid.UUID,
        image_id: uuid.UUID,
        key: str,
        size: int,
        quota: int,
    ) -> None:
        """A new derivative was stored; with a quota (bytes, 0 for none), evict down to it.
        Its row is written with the next batch (within `_RECORD_SECONDS`), or at once when
        an eviction pass is due."""
        self._new.append(
            {"key": key, "project_id": project_id, "image_id": image_id, "size": size,
             "last_access": now()}
        )  # fmt: skip
        total, summed_at = self._totals.get(project_id, (quota + 1, 0.0))
        total += size
        if quota <= 0 or (total <= quota and time.monotonic() - summed_at < _RESUM_SECONDS):
            self._totals[project_id] = (total, summed_at)  # well within: no sum needed
            self._flush_later(min(_RECORD_SECONDS, self.touch_seconds))
            return
        await self._evict(project_id, quota)

    async def _evict(self, project_id: uuid.UUID, quota: int) -> None:
        """One pass per project at a time; a derivative stored meanwhile asks for another."""
        running = self._evicting.get(project_id)
        if running is None:
            running = asyncio.ensure_future(self._passes(project_id, quota))
            self._evicting[project_id] = running
        else:
            self._again.add(project_id)
        await asyncio.shield(running)

    async def _passes(self, project_id: uuid.UUID, quota: int) -> None:
        try:
            while True:
                self._again.discard(project_id)
                await self.flush()
                await self._evict_once(project_id, quota)
                if project_id not in self._again:
                    return
        finally:
            self._evicting.pop(project_id, None)

    async def _evict_once(self, project_id: uuid.UUID, quota: int) -> None:
        async with self.db.read() as conn:
            stored = await rows.stored_bytes(conn, project_id)
        summed_at = time.monotonic()
        while stored > quota:
            async with self.db.read() as conn:
                candidates = await rows.oldest(conn, project_id, _BATCH)
            if not candidates:
                break
            victims = []
            for key, size in candidates:
                if stored <= quota:
                    break
                victims.append(key)
                stored -= size
            for key in victims:
                # The blob first: a row left by a crash here only over-counts until evicted.
                await self.blobs.delete(key)
                self._touched.pop(key, None)
            async with self.db.write() as conn:
                await rows.forget(conn, victims)
            self.evicted += len(victims)
        self._totals[project_id] = (stored, summed_at)
