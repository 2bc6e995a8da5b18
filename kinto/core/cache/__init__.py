"""Cache backends: the contract every backend implements.

A cache maps string keys to JSON-serialisable values with a time-to-live in
seconds. Keys are prefixed with the ``cache_prefix`` setting by the backend.
Expired keys behave exactly like absent ones.

The behaviour suite every backend must pass lives in
:mod:`kinto.core.cache.testing`.
"""

from __future__ import annotations

import abc
from typing import Any


class CacheBase(abc.ABC):
    def __init__(self, prefix: str = "", max_size_bytes: int | None = None):
        self.prefix = prefix
        self.max_size_bytes = max_size_bytes

    def initialize_schema(self, dry_run: bool = False) -> None:
        """Create or upgrade the backend's schema (no-op where none exists)."""

    def heartbeat(self) -> bool:
        """Return True when the backend answers."""
        try:
            self.set("__heartbeat__", True, 3600)
        except Exception:
            return False
        return True

    @abc.abstractmethod
    def flush(self) -> None:
        """Remove every key of this cache's prefix (every key when the
        prefix is empty), so that caches sharing one store stay apart."""

    @abc.abstractmethod
    def ttl(self, key: str) -> int:
        """Seconds left for ``key`` (rounded down), or -1 if absent."""

    @abc.abstractmethod
    def expire(self, key: str, ttl: int) -> None:
        """Set a new time-to-live for an existing key."""

    @abc.abstractmethod
    def set(self, key: str, value: Any, ttl: int) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (required)."""

    @abc.abstractmethod
    def get(self, key: str) -> Any:
        """Return the value, or None if absent or expired."""

    @abc.abstractmethod
    def delete(self, key: str) -> Any:
        """Remove ``key`` and return its former value (None if absent)."""
