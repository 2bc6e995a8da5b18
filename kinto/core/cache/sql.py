"""Cache backend on SQL, written once on SQLAlchemy Core for PostgreSQL
(:mod:`kinto.core.cache.postgresql`) and SQLite
(:mod:`kinto.core.cache.sqlite`).

Table (created by ``kinto/core/cache/migrations``, whose first revision
describes it): ``cache_entries(key, value, expires)``, ``key`` the prefixed
key (compared byte-wise, so that a prefix is an index range), ``value`` the
JSON bytes (:mod:`kinto.core.jsonutil`), ``expires`` the expiry in epoch
milliseconds of the *database* clock, so that app servers with skewed
clocks agree on it.

Transactions are those of :class:`kinto.core.sql.Database`; writes are
``idempotent`` there: during a read request they commit on their own rather
than turn the request's transaction into a write one.

Every operation is one statement: a row whose ``expires`` is past is
treated as absent by every read, and rows expired for a while are deleted
by a purge that a write runs at most once per :data:`PURGE_INTERVAL`
seconds per process. A ``ttl`` of zero or less removes the key.
:meth:`Cache.ttl` rounds down.

Flush: with a ``cache_prefix``, :meth:`Cache.flush` deletes only the keys of
that prefix (like the Redis backend), otherwise every row.
``cache_max_size_bytes`` is not used.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from pyramid.exceptions import ConfigurationError
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    LargeBinary,
    MetaData,
    Table,
    Text,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from kinto.core import jsonutil, sql
from kinto.core.cache import CacheBase

__all__ = ["Cache", "PURGE_INTERVAL", "cache_entries", "load_from_config", "metadata"]

#: Seconds between two purges of expired rows (per process).
PURGE_INTERVAL = 60

#: The schema the queries are written for (the migrations create it).
metadata = MetaData()

cache_entries = Table(
    "cache_entries",
    metadata,
    Column("key", Text().with_variant(Text(collation="C"), "postgresql"), primary_key=True),
    Column("value", LargeBinary, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Index("cache_entries_expires", "expires"),
)

_c = cache_entries.c


class Cache(CacheBase):
    """Cache backend keeping JSON bytes in a SQL table of ``database``.

    ``insert`` is the dialect's ``insert`` construct (with
    ``on_conflict_do_update``); ``now`` the SQL expression of the database
    clock in epoch milliseconds.
    """

    def __init__(
        self,
        database: sql.Database,
        insert: Callable[[Table], Any],
        now: ColumnElement[int],
        prefix: str = "",
    ):
        super().__init__(prefix=prefix, max_size_bytes=None)
        self.database = database
        self._purge_lock = threading.Lock()
        self._next_purge = 0.0

        key = bindparam("k")
        live = _c.expires > now
        upsert = insert(cache_entries).values(
            key=key, value=bindparam("v"), expires=now + bindparam("ms")
        )
        self._set = upsert.on_conflict_do_update(
            index_elements=[_c.key],
            set_={"value": upsert.excluded.value, "expires": upsert.excluded.expires},
        )
        self._get = select(_c.value).where(_c.key == key, live)
        self._ttl = select(_c.expires - now).where(_c.key == key, live)
        self._delete = delete(cache_entries).where(_c.key == key)
        self._pop = self._delete.returning(_c.value, live.label("live"))
        self._expire = (
            update(cache_entries).where(_c.key == key, live).values(expires=now + bindparam("ms"))
        )
        self._purge = delete(cache_entries).where(_c.expires <= now)

    def initialize_schema(self, dry_run: bool = False) -> None:
        self.database.initialize_schema("cache", dry_run=dry_run)

    def flush(self) -> None:
        """Delete the keys of this cache's prefix, or every key when the
        prefix is empty."""
        statement = delete(cache_entries)
        if self.prefix:
            statement = statement.where(*_prefix_range(self.prefix))
        self._write(lambda conn: conn.execute(statement))

    def set(self, key: str, value: Any, ttl: float) -> None:
        data = jsonutil.dumps(value)
        milliseconds = int(ttl * 1000)
        if milliseconds <= 0:
            statement, params = self._delete, {"k": self.prefix + key}
        else:
            statement = self._set
            params = {"k": self.prefix + key, "v": data, "ms": milliseconds}
        purge = self._purge if self._purge_due() else None

        def work(conn: Connection) -> None:
            conn.execute(statement, params)
            if purge is not None:
                conn.execute(purge)

        self._write(work)

    def get(self, key: str) -> Any:
        data = self._read_scalar(self._get, {"k": self.prefix + key})
        return None if data is None else jsonutil.loads(data)

    def delete(self, key: str) -> Any:
        params = {"k": self.prefix + key}
        row = self._write(lambda conn: conn.execute(self._pop, params).first())
        return jsonutil.loads(row.value) if row is not None and row.live else None

    def ttl(self, key: str) -> int:
        left = self._read_scalar(self._ttl, {"k": self.prefix + key})
        return -1 if left is None else int(left) // 1000

    def expire(self, key: str, ttl: float) -> None:
        """Set a new time-to-live for ``key``; no-op if absent or expired; a
        ``ttl`` of zero or less removes the key."""
        milliseconds = int(ttl * 1000)
        if milliseconds <= 0:
            statement, params = self._delete, {"k": self.prefix + key}
        else:
            statement, params = self._expire, {"k": self.prefix + key, "ms": milliseconds}
        self._write(lambda conn: conn.execute(statement, params))

    def _read_scalar(self, statement, params: dict[str, Any]) -> Any:
        return self.database.run(
            lambda conn: conn.execute(statement, params).scalar(), write=False
        )

    def _write(self, work: Callable[[Connection], Any]) -> Any:
        return self.database.run(work, write=True, idempotent=True)

    def _purge_due(self) -> bool:
        """True once per :data:`PURGE_INTERVAL` (for one caller)."""
        now = time.monotonic()
        if now < self._next_purge or not self._purge_lock.acquire(blocking=False):
            return False
        try:
            if now < self._next_purge:
                return False
            self._next_purge = now + PURGE_INTERVAL
            return True
        finally:
            self._purge_lock.release()


def load_from_config(config, dialect: str, insert: Callable[[Table], Any], now) -> Cache:
    """Build the backend of ``dialect`` from the ``cache_url``,
    ``cache_prefix`` and ``cache_pool_*`` settings; fail (naming ``kinto
    migrate``) if the schema is not up to date."""
    settings = config.get_settings()
    database = sql.get_backend_database(settings, "cache_")
    if database.dialect != dialect:
        raise ConfigurationError(
            f"cache_backend kinto.core.cache.{dialect} needs a {dialect} cache_url, "
            f"not {database.url!r}."
        )
    database.check_schema("cache")
    return Cache(database, insert, now, prefix=settings.get("cache_prefix") or "")


def _successor(prefix: str) -> str | None:
    """The smallest string above every string starting with ``prefix``."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            return prefix[:-1] + chr(last + 1)
        prefix = prefix[:-1]
    return None


def _prefix_range(prefix: str) -> list[ColumnElement[bool]]:
    conditions = [_c.key >= prefix]
    upper = _successor(prefix)
    if upper is not None:
        conditions.append(_c.key < upper)
    return conditions
