"""The PostgreSQL cache backend against this worker's database: the
conformance suite and the SQL backends' behaviour."""

import pytest
from sqlalchemy.dialects.postgresql import insert

from kinto.core.cache import postgresql
from kinto.core.cache.testing import CacheSuite
from tests.core.cache.sql_behaviour import SQLCacheBehaviour
from tests.sql_support import postgresql_url  # noqa: F401


class TestPostgreSQLCache(CacheSuite, SQLCacheBehaviour):
    backend = postgresql
    insert = staticmethod(insert)
    now = postgresql.NOW
    unreachable_url = "postgresql://postgres@127.0.0.1:1/kinto?connect_timeout=1"

    @pytest.fixture(autouse=True)
    def _database(self, postgresql_url):  # noqa: F811
        self.settings = {"cache_url": postgresql_url, "cache_prefix": "test:"}
