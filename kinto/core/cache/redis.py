"""Redis cache backend (``cache_backend = kinto.core.cache.redis``).

Settings, read once by :func:`load_from_config`:

* ``cache_url``: ``redis://[:password@]host:port/db`` (``rediss://`` for
  TLS, ``unix:///path?db=0``); query parameters such as
  ``socket_timeout=2`` or ``socket_connect_timeout=2`` reach the driver.
  Default ``redis://localhost:6379/0``.
* ``cache_prefix``: prepended to every key.
* ``cache_pool_size``: connections kept per process (default 25); a caller
  finding them all busy waits for one...
* ``cache_pool_timeout``: ...at most this many seconds (default 30), then
  gets a :class:`~kinto.core.storage.BackendError`.

Values are stored as their JSON bytes (:mod:`kinto.core.jsonutil`), with a
millisecond expiry set by the same command (``SET ... PX``), so a key never
lives without a time-to-live. A ``ttl`` of zero or less removes the key (an
already expired key is an absent one). :meth:`Cache.ttl` reads ``PTTL`` and
rounds down (Redis's ``TTL`` rounds to the nearest second).
:meth:`Cache.delete` is one ``GETDEL``: Redis 6.2 or later is required.

Flush: with a ``cache_prefix``, :meth:`Cache.flush` deletes only the keys
starting with that prefix (walked with ``SCAN``), so applications and test
workers may share a Redis database; without a prefix it empties the whole
database (``FLUSHDB``). ``cache_max_size_bytes`` is not used: size the
Redis server with its own ``maxmemory`` policy.

Every driver failure (unreachable server, timeout, pool exhausted, error
reply) is raised as :class:`~kinto.core.storage.BackendError`. A value that
cannot be serialised raises ``TypeError`` before any network access.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from kinto.core import jsonutil
from kinto.core.cache import CacheBase
from kinto.core.storage import BackendError

__all__ = ["Cache", "load_from_config", "DEFAULT_URL"]

DEFAULT_URL = "redis://localhost:6379/0"
DEFAULT_POOL_SIZE = 25
DEFAULT_POOL_TIMEOUT = 30

#: Keys deleted per ``UNLINK`` while flushing a prefix.
_FLUSH_BATCH = 500

_F = TypeVar("_F", bound=Callable[..., Any])


def _backend_errors(method: _F) -> _F:
    """Raise driver errors of ``method`` as :class:`BackendError`."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except redis.RedisError as error:
            raise BackendError(original=error) from error

    return wrapper  # type: ignore[return-value]


def _glob_escape(text: str) -> str:
    """Escape the ``SCAN MATCH`` wildcards of ``text``."""
    for char in "\\*?[]^":
        text = text.replace(char, "\\" + char)
    return text


class Cache(CacheBase):
    """Cache backend on a Redis database, through a client whose connection
    pool is shared by every thread of the process."""

    def __init__(self, client: redis.Redis, prefix: str = ""):
        super().__init__(prefix=prefix, max_size_bytes=None)
        self._client = client

    @_backend_errors
    def flush(self) -> None:
        """Delete the keys of this cache's prefix, or the whole database when
        the prefix is empty (see the module docstring)."""
        client = self._client
        if not self.prefix:
            client.flushdb()
            return
        batch: list[bytes] = []
        for key in client.scan_iter(match=_glob_escape(self.prefix) + "*", count=1000):
            batch.append(key)
            if len(batch) >= _FLUSH_BATCH:
                client.unlink(*batch)
                batch.clear()
        if batch:
            client.unlink(*batch)

    @_backend_errors
    def set(self, key: str, value: Any, ttl: float) -> None:
        data = jsonutil.dumps(value)
        milliseconds = int(ttl * 1000)
        if milliseconds <= 0:
            self._client.delete(self.prefix + key)
        else:
            self._client.set(self.prefix + key, data, px=milliseconds)

    @_backend_errors
    def get(self, key: str) -> Any:
        data = self._client.get(self.prefix + key)
        return None if data is None else jsonutil.loads(data)

    @_backend_errors
    def delete(self, key: str) -> Any:
        data = self._client.getdel(self.prefix + key)
        return None if data is None else jsonutil.loads(data)

    @_backend_errors
    def ttl(self, key: str) -> int:
        milliseconds = self._client.pttl(self.prefix + key)
        # -2: absent; -1: no expiry (never written by this backend).
        return -1 if milliseconds < 0 else milliseconds // 1000

    @_backend_errors
    def expire(self, key: str, ttl: float) -> None:
        """Set a new time-to-live for ``key``; no-op if absent or expired; a
        ``ttl`` of zero or less removes the key."""
        self._client.pexpire(self.prefix + key, int(ttl * 1000))


def load_from_config(config) -> Cache:
    """Backend factory reading ``cache_url``, ``cache_prefix``,
    ``cache_pool_size`` and ``cache_pool_timeout``. Connects lazily: a
    server down at start-up fails the first call, not the start."""
    settings = config.registry.settings
    url = settings.get("cache_url") or DEFAULT_URL
    pool_size = int(settings.get("cache_pool_size") or DEFAULT_POOL_SIZE)
    pool_timeout = settings.get("cache_pool_timeout")
    pool_timeout = DEFAULT_POOL_TIMEOUT if pool_timeout in (None, "") else float(pool_timeout)
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=pool_size,
        timeout=pool_timeout,
        # One immediate retry on a fresh connection: a pooled connection that
        # a Redis restart closed fails once, the next one works.
        retry=Retry(NoBackoff(), 1),
    )
    client = redis.Redis(connection_pool=pool)
    return Cache(client, prefix=settings.get("cache_prefix") or "")
