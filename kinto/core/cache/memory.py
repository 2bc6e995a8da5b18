"""In-process cache backend with a size cap.

Values are stored as their JSON bytes: every :meth:`Cache.get` returns a
fresh object (callers may mutate it), a value that cannot be serialised
fails at :meth:`Cache.set` like it would on any other backend, and the size
of the cache is known exactly.

Size and eviction: an entry weighs ``len(prefixed key) + len(JSON bytes)``.
When a write brings the total above ``max_size_bytes``, entries are evicted
in order of expiry (the one that would expire first goes first, an expired
one before any live one), ties broken by age (oldest first), until the total
fits again. A value heavier than the whole cap is not stored (and the key's
previous value is dropped). ``max_size_bytes`` of ``None`` or ``0`` means no
cap.

Time-to-live: expiry uses a monotonic clock; a ``ttl`` of zero or less
stores a key that is already expired, i.e. absent. :meth:`Cache.ttl` rounds
the seconds left down.

Every method is safe to call from several threads.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from kinto.core import jsonutil
from kinto.core.cache import CacheBase

__all__ = ["Cache", "load_from_config", "DEFAULT_MAX_SIZE_BYTES"]

DEFAULT_MAX_SIZE_BYTES = 524288


class _Entry(NamedTuple):
    data: bytes
    expires_at: float
    #: Creation order; with ``expires_at`` it identifies the heap item.
    serial: int
    weight: int


class Cache(CacheBase):
    """Cache backend keeping JSON bytes in process memory.

    ``clock`` returns seconds on a monotonic scale (``time.monotonic`` by
    default; tests may pass another one).
    """

    def __init__(
        self,
        prefix: str = "",
        max_size_bytes: int | None = DEFAULT_MAX_SIZE_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(prefix=prefix, max_size_bytes=max_size_bytes or None)
        self._clock = clock
        self._lock = threading.Lock()
        self._store: dict[str, _Entry] = {}
        # ``(expires_at, serial, key)``, smallest first. Items whose entry was
        # overwritten, re-expired or deleted stay until they surface or the
        # heap is rebuilt.
        self._heap: list[tuple[float, int, str]] = []
        self._serials = itertools.count()
        self._size = 0

    def flush(self) -> None:
        with self._lock:
            self._store.clear()
            self._heap.clear()
            self._size = 0

    def set(self, key: str, value: Any, ttl: float) -> None:
        data = jsonutil.dumps(value)
        key = self.prefix + key
        weight = len(key) + len(data)
        with self._lock:
            self._discard(key)
            if self.max_size_bytes is not None and weight > self.max_size_bytes:
                return
            now = self._clock()
            entry = _Entry(data, now + ttl, next(self._serials), weight)
            self._store[key] = entry
            self._size += weight
            heapq.heappush(self._heap, (entry.expires_at, entry.serial, key))
            self._prune(now)

    def get(self, key: str) -> Any:
        entry = self._live_entry(self.prefix + key)
        return None if entry is None else jsonutil.loads(entry.data)

    def delete(self, key: str) -> Any:
        key = self.prefix + key
        with self._lock:
            entry = self._store.get(key)
            if entry is None:
                return None
            self._discard(key)
            if entry.expires_at <= self._clock():
                return None
        return jsonutil.loads(entry.data)

    def ttl(self, key: str) -> int:
        entry = self._live_entry(self.prefix + key)
        if entry is None:
            return -1
        return int(entry.expires_at - self._clock())

    def expire(self, key: str, ttl: float) -> None:
        """Set a new time-to-live for ``key``; no-op if absent or expired."""
        key = self.prefix + key
        with self._lock:
            entry = self._store.get(key)
            now = self._clock()
            if entry is None or entry.expires_at <= now:
                return
            entry = entry._replace(expires_at=now + ttl)
            self._store[key] = entry
            heapq.heappush(self._heap, (entry.expires_at, entry.serial, key))
            self._prune(now)

    # Internals.

    def _live_entry(self, key: str) -> _Entry | None:
        """The entry of ``key`` unless absent or expired (then dropped)."""
        with self._lock:
            entry = self._store.get(key)
            if entry is None:
                return None
            if entry.expires_at <= self._clock():
                self._discard(key)
                return None
            return entry

    def _discard(self, key: str) -> None:
        """Forget ``key`` (its heap item goes stale); the lock is held."""
        entry = self._store.pop(key, None)
        if entry is not None:
            self._size -= entry.weight

    def _prune(self, now: float) -> None:
        """Drop expired entries, then evict until the size fits; the lock is
        held. Amortised O(log n) per write."""
        heap, store = self._heap, self._store
        cap = self.max_size_bytes
        while heap:
            expires_at, serial, key = heap[0]
            entry = store.get(key)
            current = (
                entry is not None and entry.serial == serial and entry.expires_at == expires_at
            )
            if current and expires_at > now and (cap is None or self._size <= cap):
                break
            heapq.heappop(heap)
            if current:
                del store[key]
                self._size -= entry.weight
        if len(heap) > 2 * len(store) + 64:
            self._heap = [(e.expires_at, e.serial, key) for key, e in store.items()]
            heapq.heapify(self._heap)


def load_from_config(config) -> Cache:
    """Backend factory (``cache_backend = kinto.core.cache.memory``), reading
    ``cache_prefix`` and ``cache_max_size_bytes``."""
    settings = config.registry.settings
    prefix = settings.get("cache_prefix") or ""
    max_size = settings.get("cache_max_size_bytes", DEFAULT_MAX_SIZE_BYTES)
    return Cache(prefix=prefix, max_size_bytes=int(max_size) if max_size else None)
