"""The SQLite cache backend on a fresh file per test: the conformance
suite, the SQL backends' behaviour, and start-up checks."""

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from sqlalchemy.dialects.sqlite import insert

from kinto.core.cache import postgresql, sqlite
from kinto.core.cache.testing import CacheSuite
from kinto.core.sql import SchemaError, dispose_all
from tests.core.cache.sql_behaviour import SQLCacheBehaviour
from tests.sql_support import sqlite_url  # noqa: F401


class TestSQLiteCache(CacheSuite, SQLCacheBehaviour):
    backend = sqlite
    insert = staticmethod(insert)
    now = sqlite.NOW
    unreachable_url = "sqlite:////nonexistent/directory/kinto.db"

    @pytest.fixture(autouse=True)
    def _database(self, sqlite_url):  # noqa: F811
        self.settings = {"cache_url": sqlite_url, "cache_prefix": "test:"}


def load(module, url):
    return module.load_from_config(Configurator(settings={"cache_url": url}))


def test_unmigrated_database_fails_at_load_naming_kinto_migrate(tmp_path):
    path = tmp_path / "empty.db"
    try:
        with pytest.raises(SchemaError, match="kinto migrate"):
            load(sqlite, f"sqlite:///{path}")
    finally:
        dispose_all(str(path))


def test_postgresql_backend_refuses_a_sqlite_url(sqlite_url):  # noqa: F811
    with pytest.raises(ConfigurationError, match="needs a postgresql cache_url"):
        load(postgresql, sqlite_url)


def test_prefix_is_read_from_the_settings(sqlite_url):  # noqa: F811
    settings = {"cache_url": sqlite_url, "cache_prefix": "app:"}
    assert sqlite.load_from_config(Configurator(settings=settings)).prefix == "app:"


def test_backends_on_the_storage_file_share_its_request_transaction(sqlite_url):  # noqa: F811
    from kinto.core.permission import sqlite as permission_sqlite
    from tests.core.permission.sql_behaviour import request_transaction

    settings = {
        "storage_url": sqlite_url,
        "storage_busy_timeout": 0.5,
        "permission_url": sqlite_url,
        "permission_pool_size": 3,
        "cache_url": sqlite_url,
        "cache_pool_size": 7,
    }
    cache = sqlite.load_from_config(Configurator(settings=settings))
    permission = permission_sqlite.load_from_config(Configurator(settings=settings))
    assert cache.database is permission.database
    with request_transaction("PUT") as manager:
        permission.add_principal_to_ace("/buckets/b", "write", "alice")
        cache.set("key", "value", 60)  # would wait on the write lock otherwise
        manager.commit()
    assert cache.get("key") == "value"
    assert permission.get_object_permission_principals("/buckets/b", "write") == {"alice"}
