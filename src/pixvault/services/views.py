"""View counts without a write per view: deliveries add to an in-process tally, and a
background task adds the tally to the rows about once a second (one UPDATE per image seen
in that second). A crash loses at most that second's views; `close()` flushes the rest."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter

from pixvault.db.engine import Database
from pixvault.db.queries import images as rows

log = logging.getLogger(__name__)


class ViewCounter:
    def __init__(self, db: Database, *, flush_seconds: float = 1.0):
        self.db = db
        self.flush_seconds = flush_seconds
        self._pending: Counter[uuid.UUID] = Counter()
        self._task: asyncio.Task[None] | None = None

    def add(self, image_id: uuid.UUID) -> None:
        self._pending[image_id] += 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def pending(self, image_id: uuid.UUID) -> int:
        """Views counted here and not yet written (so this process reads its own views)."""
        return self._pending[image_id]

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, Counter()
        async with self.db.write() as conn:
            await rows.add_views(conn, batch)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                await self.flush()
            except Exception:
                log.exception("could not write view counts; they are lost")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
