"""The storage conformance suite on SQLite (a migrated file per test), plus
what is specific to the SQLite backend."""

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from kinto.core import sql
from kinto.core.storage import COMPARISON, Filter, Sort, sqlite
from kinto.core.storage.testing import StorageTest
from tests.sql_support import (
    captured_statements,
    sqlite_url,  # noqa: F401
    with_parameters,
)


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


def query_plan(storage, operation) -> str:
    """SQLite's plan of the last statement ``operation`` sends."""
    engine = storage.database.engine
    with captured_statements(engine, with_parameters) as captured:
        operation()
    statement, parameters = captured[-1]
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return "\n".join(row[-1] for row in rows)


class TestIndexes:
    """A page, ``_since`` and a single read use the indexes."""

    @pytest.fixture
    def big_list(self, sqlite_url):  # noqa: F811
        storage = load(storage_url=sqlite_url)

        def fill(connection):
            connection.exec_driver_sql(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)"
                " INSERT INTO objects (resource_name, parent_id, id, last_modified, deleted, data)"
                " SELECT 'record', '/big', 'r' || i, 1000000 + i, FALSE, json_object('n', i)"
                " FROM n"
            )
            connection.exec_driver_sql("ANALYZE")

        storage.database.run(fill)
        return storage

    def test_first_page_in_timestamp_order_reads_the_index(self, big_list):
        plan = query_plan(
            big_list,
            lambda: big_list.list_all(
                "record", "/big", sorting=[Sort("last_modified", -1)], limit=10
            ),
        )
        assert "objects_list_last_modified" in plan
        assert "TEMP B-TREE" not in plan

    def test_since_reads_the_index(self, big_list):
        since = [Filter("last_modified", 1019990, COMPARISON.GT)]
        plan = query_plan(
            big_list,
            lambda: big_list.list_all(
                "record", "/big", filters=since, sorting=[Sort("last_modified", -1)]
            ),
        )
        assert "objects_list_last_modified" in plan
        assert "last_modified>?" in plan.replace(" ", "")

    def test_single_read_uses_the_primary_key(self, big_list):
        plan = query_plan(big_list, lambda: big_list.get("record", "/big", "r123"))
        assert "sqlite_autoindex_objects_1" in plan
