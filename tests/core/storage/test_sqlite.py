"""The storage conformance suite on SQLite (a migrated file per test), plus
what is specific to the SQLite backend."""

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from kinto.core import sql
from kinto.core.storage import sqlite
from kinto.core.storage.testing import StorageTest
from tests.sql_support import sqlite_url  # noqa: F401


class TestSQLiteStorage(StorageTest):
    backend = sqlite

    @pytest.fixture(autouse=True)
    def _database(self, sqlite_url):  # noqa: F811
        self.settings = {"storage_url": sqlite_url}


def load(**settings):
    return sqlite.load_from_config(Configurator(settings=settings))


def test_start_up_on_an_unmigrated_database_names_kinto_migrate(tmp_path):
    path = tmp_path / "new.db"
    try:
        with pytest.raises(sql.SchemaError, match="kinto migrate"):
            load(storage_url=f"sqlite:///{path}")
    finally:
        sql.dispose_all(str(path))


def test_a_postgresql_url_is_refused():
    with pytest.raises(ConfigurationError, match="sqlite"):
        load(storage_url="postgresql://postgres@127.0.0.1:1/x")
