"""Alembic migrations: versioned per backend kind, idempotent, dry run,
and the start-up check naming ``kinto migrate``."""

import io

import pytest
import sqlalchemy

from kinto.core import sql
from kinto.core.sql import migrations
from tests import sql_support


@pytest.fixture
def empty_sqlite(tmp_path):
    path = tmp_path / "empty.db"
    yield sql.get_database({"storage_url": f"sqlite:///{path}"}, "storage_")
    sql.dispose_all(str(path))


def tables(database):
    def read(connection):
        if database.dialect == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        return {row[0] for row in connection.exec_driver_sql(query)}

    return database.run_standalone(read, write=False)


def test_check_of_an_unmigrated_database_names_kinto_migrate(empty_sqlite):
    with pytest.raises(sql.SchemaError) as raised:
        empty_sqlite.check_schema("storage")
    assert "kinto migrate" in str(raised.value)
    assert "storage" in str(raised.value)


def test_migrate_creates_the_schema_and_passes_the_check(empty_sqlite):
    empty_sqlite.initialize_schema("storage")
    empty_sqlite.check_schema("storage")
    assert {"objects", "timestamps", "kinto_storage_version"} <= tables(empty_sqlite)


def test_migrate_is_idempotent(empty_sqlite):
    empty_sqlite.initialize_schema("storage")
    empty_sqlite.initialize_schema("storage")
    assert migrations.current_revision(empty_sqlite, "storage") == migrations.head_revision(
        "storage"
    )


def test_dry_run_prints_the_sql_and_changes_nothing(empty_sqlite):
    output = io.StringIO()
    migrations.upgrade(empty_sqlite, "storage", dry_run=True, output=output)
    assert "CREATE TABLE objects" in output.getvalue()
    assert tables(empty_sqlite) == set()


def test_dry_run_on_an_up_to_date_database_prints_nothing(empty_sqlite):
    empty_sqlite.initialize_schema("storage")
    output = io.StringIO()
    migrations.upgrade(empty_sqlite, "storage", dry_run=True, output=output)
    assert output.getvalue() == ""


def test_each_kind_has_its_own_version_table(empty_sqlite):
    empty_sqlite.initialize_schema("storage")
    assert migrations.current_revision(empty_sqlite, "permission") is None
    assert "kinto_permission_version" not in tables(empty_sqlite)


def test_check_is_skipped_while_building_the_application_to_migrate(empty_sqlite):
    with sql.schema_check_skipped():
        empty_sqlite.check_schema("storage")
    with pytest.raises(sql.SchemaError):
        empty_sqlite.check_schema("storage")


def test_check_of_an_unreachable_database_is_a_configuration_error():
    database = sql.get_database(
        {"storage_url": "postgresql://postgres@127.0.0.1:1/nowhere"}, "storage_"
    )
    with pytest.raises(sql.SchemaError) as raised:
        database.check_schema("storage")
    assert "Cannot check" in str(raised.value)


def test_postgresql_database_of_the_worker_is_migrated(postgresql_url):
    database = sql.get_database({"storage_url": postgresql_url}, "storage_")
    database.check_schema("storage")
    database.initialize_schema("storage")
    output = io.StringIO()
    migrations.upgrade(database, "storage", dry_run=True, output=output)
    assert output.getvalue() == ""


def test_unknown_kind_is_refused(empty_sqlite):
    with pytest.raises(ValueError):
        empty_sqlite.initialize_schema("nothing")


@pytest.fixture
def scratch_postgresql(postgresql_url):
    """An empty PostgreSQL database beside this worker's, dropped after."""
    name = postgresql_url.rsplit("/", 1)[1] + "_scratch"
    admin = sqlalchemy.create_engine(
        sql_support.postgresql_server_url(sql_support.PG_ADMIN_DATABASE).replace(
            "postgresql:", "postgresql+psycopg2:"
        ),
        isolation_level="AUTOCOMMIT",
        poolclass=sqlalchemy.pool.NullPool,
    )
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sql_support.postgresql_server_url(name)
    yield sql.get_database({"storage_url": url}, "storage_")
    sql.dispose_all(name)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin.dispose()


def test_list_versions_are_given_to_the_lists_of_an_existing_database(scratch_postgresql):
    database = scratch_postgresql

    def initial(connection):
        command = migrations._command()
        command.upgrade(migrations._config(database, "storage", connection), "storage_0001")
        for n in range(3):
            connection.exec_driver_sql(
                f"INSERT INTO timestamps VALUES ('record', '/l{n}', {n})"  # noqa: S608
            )

    database.run_standalone(initial)
    database.initialize_schema("storage")

    def versions(connection):
        return [row[0] for row in connection.exec_driver_sql("SELECT version FROM timestamps")]

    found = database.run_standalone(versions, write=False)
    assert len(set(found)) == 3
    assert None not in found
