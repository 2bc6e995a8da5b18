"""What the SQL cache backends do beyond the conformance suite: schema,
prefix-scoped flush, purge of expired rows, stored format, round trips,
failures. Mixed into the PostgreSQL and SQLite test classes (not collected
by itself)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Table, select, update

from kinto.core import sql
from kinto.core.cache import sql as cache_sql
from kinto.core.storage import BackendError
from tests.core.permission.sql_behaviour import statements_of, table_of

_c = cache_sql.cache_entries.c


def rows(cache) -> dict[str, bytes]:
    """Every row of the table, expired or not: ``{key: value}``."""
    return cache.database.run_standalone(
        lambda conn: dict(conn.execute(select(_c.key, _c.value)).all()), write=False
    )


class SQLCacheBehaviour:
    """Tests shared by the SQL cache backends. The subclass provides the
    suite's ``cache`` fixture and ``create_cache``, the dialect's ``insert``
    and ``now`` expression, and ``unreachable_url``."""

    insert: Callable[[Table], Any]
    now: Any
    unreachable_url: str

    def test_migrated_schema_is_the_one_the_queries_use(self, cache):
        def differences(connection):
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, cache_sql.metadata)

        found = cache.database.run_standalone(differences, write=False)
        assert [diff for diff in found if table_of(diff) == "cache_entries"] == []

    def test_values_are_stored_as_json_bytes_under_the_prefixed_key(self, cache):
        cache.set("key", {"a": [1, None]}, 60)
        assert rows(cache)[cache.prefix + "key"] == b'{"a":[1,null]}'

    def test_flush_with_a_prefix_leaves_other_prefixes(self, cache):
        neighbour = self.create_cache(cache_prefix="neighbour:")
        similar = self.create_cache(cache_prefix=cache.prefix[:-1] + "_")
        neighbour.set("key", "kept", 60)
        similar.set("key", "kept too", 60)
        cache.set("key", "dropped", 60)
        cache.flush()
        assert cache.get("key") is None
        assert neighbour.get("key") == "kept"
        assert similar.get("key") == "kept too"
        neighbour.flush()
        similar.flush()

    def test_flush_without_a_prefix_removes_every_key(self, cache):
        unprefixed = self.create_cache(cache_prefix="")
        cache.set("key", 1, 60)
        unprefixed.set("key", 2, 60)
        unprefixed.flush()
        assert rows(cache) == {}

    def test_expired_rows_are_purged_by_a_later_write(self, cache):
        cache.set("old", 1, 60)
        cache.set("live", 2, 60)
        cache.database.run_standalone(
            lambda conn: conn.execute(
                update(cache_sql.cache_entries)
                .where(_c.key == cache.prefix + "old")
                .values(expires=_c.expires - 120_000)
            )
        )
        assert set(rows(cache)) == {cache.prefix + "old", cache.prefix + "live"}
        cache._next_purge = 0.0  # the purge interval is over
        cache.set("new", 3, 60)
        assert set(rows(cache)) == {cache.prefix + "live", cache.prefix + "new"}
        cache.database.run_standalone(
            lambda conn: conn.execute(
                update(cache_sql.cache_entries).values(expires=_c.expires - 120_000)
            )
        )
        cache.set("newer", 4, 60)  # within the interval: no purge
        assert len(rows(cache)) == 3

    def test_expiry_follows_the_database_clock(self, cache):
        cache.set("key", "value", 100)
        left = cache.database.run_standalone(
            lambda conn: conn.execute(
                select(_c.expires - type(self).now).where(_c.key == cache.prefix + "key")
            ).scalar(),
            write=False,
        )
        assert 90_000 < left <= 100_000

    def test_every_operation_is_one_statement(self, cache):
        cache._next_purge = float("inf")
        with statements_of(cache.database) as sent:
            cache.set("key", "value", 60)
            cache.get("key")
            cache.ttl("key")
            cache.expire("key", 100)
            cache.delete("key")
        assert len(sent) == 5

    def test_unreachable_database_raises_backend_error(self):
        database = sql.get_database({"cache_url": self.unreachable_url}, "cache_")
        backend = cache_sql.Cache(database, type(self).insert, type(self).now)
        for call in (
            lambda: backend.get("key"),
            lambda: backend.set("key", 1, 60),
            lambda: backend.delete("key"),
        ):
            with pytest.raises(BackendError):
                call()
        assert backend.heartbeat() is False
