"""The storage conformance suite on PostgreSQL (this worker's database),
plus what is specific to the PostgreSQL backend."""

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from kinto.core.storage import postgresql
from kinto.core.storage.testing import StorageTest
from tests.sql_support import postgresql_url  # noqa: F401


class TestPostgreSQLStorage(StorageTest):
    backend = postgresql

    @pytest.fixture(autouse=True)
    def _database(self, postgresql_url):  # noqa: F811
        self.settings = {"storage_url": postgresql_url}


def load(**settings):
    return postgresql.load_from_config(Configurator(settings=settings))


def test_a_sqlite_url_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="postgresql"):
        load(storage_url=f"sqlite:///{tmp_path}/x.db")
