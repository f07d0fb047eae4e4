"""Short-lived memos of database lookups that run on every request.

Changes made through this process clear a memo at once; changes made by another process show
within its TTL, the staleness every cache here is allowed (see README, "Deploying at scale").
"""

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

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The memo for `key`, else `load()`; None and exceptions are never memoised."""
        if self._entries is None:
            return await load()
        try:
            return self._entries[key]  # one probe: TTLCache.get would check the key twice
        except KeyError:
            pass
        value = await load()
        if value is not None:
            self._entries[key] = value
        return value

    def clears(self, other: "LookupCache") -> None:
        """Clear `other` whenever this one is cleared: it memoises values derived from ours."""
        self._dependents.append(other)

    def clear(self) -> None:
        if self._entries is not None:
            self._entries.clear()
        for dependent in self._dependents:
            dependent.clear()
