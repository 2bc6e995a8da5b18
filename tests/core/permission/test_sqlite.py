"""The SQLite permission backend on a fresh file per test: the conformance
suite, the SQL backends' behaviour, and start-up checks."""

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from sqlalchemy.dialects.sqlite import insert

from kinto.core.permission import postgresql, sqlite
from kinto.core.permission.testing import PermissionSuite
from kinto.core.sql import SchemaError, dispose_all
from tests.core.permission.sql_behaviour import SQLPermissionBehaviour
from tests.sql_support import sqlite_url  # noqa: F401


class TestSQLitePermission(PermissionSuite, SQLPermissionBehaviour):
    backend = sqlite
    insert = staticmethod(insert)
    unreachable_url = "sqlite:////nonexistent/directory/kinto.db"

    @pytest.fixture(autouse=True)
    def _database(self, sqlite_url):  # noqa: F811
        self.settings = {"permission_url": sqlite_url}


@pytest.fixture
def empty_url(tmp_path):
    path = tmp_path / "empty.db"
    yield f"sqlite:///{path}"
    dispose_all(str(path))


def load(module, url):
    return module.load_from_config(Configurator(settings={"permission_url": url}))


def test_unmigrated_database_fails_at_load_naming_kinto_migrate(empty_url):
    with pytest.raises(SchemaError, match="kinto migrate"):
        load(sqlite, empty_url)


def test_dry_run_prints_the_schema_and_creates_nothing(empty_url, capsys):
    from kinto.core.sql import get_database

    database = get_database({"permission_url": empty_url}, "permission_")
    database.initialize_schema("permission", dry_run=True)
    printed = capsys.readouterr().out
    assert "CREATE TABLE access_control_entries" in printed
    assert "CREATE INDEX access_control_entries_by_principal" in printed
    with pytest.raises(SchemaError):
        load(sqlite, empty_url)
    database.initialize_schema("permission")
    assert load(sqlite, empty_url).get_user_principals("alice") == set()


def test_postgresql_backend_refuses_a_sqlite_url(sqlite_url):  # noqa: F811
    with pytest.raises(ConfigurationError, match="needs a postgresql permission_url"):
        load(postgresql, sqlite_url)
