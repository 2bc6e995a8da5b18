"""The SQLite permission backend on a fresh file per test: the conformance
suite, the SQL backends' behaviour, and start-up checks."""

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from kinto.core.permission import postgresql, sqlite
from kinto.core.permission.testing import PermissionSuite
from kinto.core.sql import SchemaError, dispose_all
from tests.core.permission.sql_behaviour import SQLPermissionBehaviour
from tests.sql_support import (
    captured_statements,
    sqlite_url,  # noqa: F401
    with_parameters,
)


class TestSQLitePermission(PermissionSuite, SQLPermissionBehaviour):
    backend = sqlite
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


def query_plan(database, run):
    """SQLite's plan of the one statement ``run()`` sends."""
    with captured_statements(database.engine, with_parameters) as sent:
        run()
    ((statement, parameters),) = sent
    rows = database.run_standalone(
        lambda c: c.connection.dbapi_connection.execute(
            "EXPLAIN QUERY PLAN " + statement, parameters
        ).fetchall(),
        write=False,
    )
    return "\n".join(row[-1] for row in rows)


@pytest.fixture
def permission(sqlite_url):  # noqa: F811
    backend = load(sqlite, sqlite_url)
    backend.flush()
    return backend


BOUND = [("/buckets/b/collections/c", "read"), ("/buckets/b", "write")]


def test_permission_checks_search_an_index(permission):
    plan = query_plan(
        permission.database, lambda: permission.check_permission(["alice", "bob"], BOUND)
    )
    assert "SCAN access_control_entries" not in plan
    assert "SEARCH access_control_entries USING COVERING INDEX" in plan


def test_authorized_principals_search_the_primary_key(permission):
    plan = query_plan(permission.database, lambda: permission.get_authorized_principals(BOUND))
    assert "SEARCH access_control_entries USING PRIMARY KEY (object_id=? AND permission=?)" in plan


def test_objects_permissions_search_the_primary_key(permission):
    plan = query_plan(
        permission.database,
        lambda: permission.get_objects_permissions(["/buckets/a", "/buckets/b"], ["read"]),
    )
    assert "SEARCH access_control_entries USING PRIMARY KEY (object_id=? AND permission=?)" in plan


def test_users_principals_search_the_primary_key(permission):
    plan = query_plan(
        permission.database, lambda: permission.get_users_principals(["alice", "bob"])
    )
    assert "SEARCH user_principals USING PRIMARY KEY (user_id=?)" in plan
