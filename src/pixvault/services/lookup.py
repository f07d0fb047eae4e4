"""Short-lived memos of database lookups that run on every request.

Changes made through this process clear a memo at once; changes made by another process show
within its TTL, the staleness every cache here is allowed (see README, "Deploying at scale").

Concurrent misses of one key share one load: when a memo expires under load, every request
in flight missed it at once and each ran the same query (16 connections: 16 queries queued
on the database pool every `LOOKUP_CACHE_SECONDS`, the p99 of cached hits; bench/suite_tail).
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LookupCache(Generic[K, V]):
    """A TTL memo; `seconds=0` turns it off."""

    def __init__(self, seconds: float, *, maxsize: int) -> None:
        self._entries: TTLCache[K, V] | None = (
            TTLCache(maxsize=maxsize, ttl=seconds) if seconds > 0 else None
        )
        self._dependents: list[LookupCache] = []
        self._loading: dict[K, asyncio.Future[object]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The memo for `key`, else `load()`; None and exceptions are never memoised."""
        if self._entries is None:
            return await load()
        try:
            return self._entries[key]  # one probe: TTLCache.get would check the key twice
        except KeyError:
            pass
        pending = self._loading.get(key)
        if pending is not None:
            shared = await asyncio.shield(pending)
            if shared is not _FAILED:
                return shared  # type: ignore[return-value]
            return await load()  # the first load failed (or its caller left): try ours
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        value: object = _FAILED
        try:
            value = await load()
        finally:
            if self._loading.get(key) is future:  # not cleared meanwhile: may be memoised
                del self._loading[key]
                if value is not None and value is not _FAILED:
                    self._entries[key] = value  # type: ignore[assignment]
            future.set_result(value)
        return value  # type: ignore[return-value]

    def clears(self, other: "LookupCache") -> None:
        """Clear `other` whenever this one is cleared: it memoises values derived from ours."""
        self._dependents.append(other)

    def clear(self) -> None:
        if self._entries is not None:
            self._entries.clear()
        self._loading.clear()  # loads begun before the change are not memoised
        for dependent in self._dependents:
            dependent.clear()


_FAILED = object()  # what a shared load answers when it raised
