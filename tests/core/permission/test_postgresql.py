"""The PostgreSQL permission backend against this worker's database: the
conformance suite, the SQL backends' behaviour, and index use."""

import functools

import pytest
from pyramid.config import Configurator

from kinto.core.permission import postgresql
from kinto.core.permission.testing import PermissionSuite
from tests.core.permission.sql_behaviour import (
    COLLECTION,
    SQLPermissionBehaviour,
    without_begin,
)
from tests.sql_support import (
    captured_statements,
    explain_generic,
    postgresql_url,  # noqa: F401
    unprepared,
    with_parameters,
)


class TestPostgreSQLPermission(PermissionSuite, SQLPermissionBehaviour):
    backend = postgresql
    unreachable_url = "postgresql://postgres@127.0.0.1:1/kinto?connect_timeout=1"

    @pytest.fixture(autouse=True)
    def _database(self, postgresql_url):  # noqa: F811
        self.settings = {"permission_url": postgresql_url}


def plan_of(database, run, generic: bool = False):
    """PostgreSQL's plan of the one statement ``run()`` sends, with
    sequential scans discouraged (as on a large table): planned for its
    values, or ``generic``: as the backend plans it, once for any values
    if it prepares it (see kinto.core.sql.prepared)."""
    with captured_statements(database.engine) as sent:
        run()
    (text,) = sent
    generic = generic and without_begin(text).startswith(("PREPARE", "EXECUTE"))
    with (
        unprepared(database.engine),
        captured_statements(database.engine, with_parameters) as sent,
    ):
        run()
    ((statement, parameters),) = sent
    statement = without_begin(statement)

    def explain(connection):
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        if generic:
            rows = explain_generic(connection, statement, parameters)
        else:
            rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
        return "\n".join(row[0] for row in rows)

    return database.run_standalone(explain, write=False)


class TestPostgreSQLIndexes:
    """Each read touches only the index entries it needs, whether planned
    for the values or once for all (prepared statements)."""

    @pytest.fixture(params=["for the values", "generic"])
    def plan_of(self, request):
        return functools.partial(plan_of, generic=request.param == "generic")

    @pytest.fixture
    def permission(self, postgresql_url):  # noqa: F811
        backend = TestPostgreSQLPermission.backend.load_from_config(
            Configurator(settings={"permission_url": postgresql_url})
        )
        backend.flush()
        yield backend
        backend.flush()

    @pytest.mark.parametrize("with_children", [False, True])
    def test_accessible_objects_are_read_by_principal_and_uri_prefix(
        self, permission, plan_of, with_children
    ):
        bound = [(COLLECTION, "read"), (f"{COLLECTION}/records/*", "read")]
        plan = plan_of(
            permission.database,
            lambda: permission.get_accessible_objects(["alice", "bob"], bound, with_children),
        )
        assert "Seq Scan" not in plan
        assert "access_control_entries_by_principal" in plan
        assert f"object_id >= '{COLLECTION}/records/'" in plan

    def test_objects_permissions_are_read_by_primary_key(self, permission, plan_of):
        plan = plan_of(
            permission.database,
            lambda: permission.get_objects_permissions([COLLECTION, "/buckets/b"], ["read"]),
        )
        assert "Seq Scan" not in plan
        assert "access_control_entries_pkey" in plan

    def test_permission_checks_are_read_by_primary_key(self, permission, plan_of):
        bound = [(COLLECTION, "read"), ("/buckets/b", "write")]
        plan = plan_of(
            permission.database, lambda: permission.check_permission(["alice", "bob"], bound)
        )
        assert "Seq Scan" not in plan
        assert "access_control_entries_pkey" in plan

    def test_authorized_principals_are_read_by_primary_key(self, permission, plan_of):
        bound = [(COLLECTION, "read"), ("/buckets/b", "write")]
        plan = plan_of(permission.database, lambda: permission.get_authorized_principals(bound))
        assert "Seq Scan" not in plan
        assert "access_control_entries_pkey" in plan

    def test_users_principals_are_read_by_primary_key(self, permission, plan_of):
        plan = plan_of(
            permission.database,
            lambda: permission.get_users_principals(["alice", "system.Authenticated"]),
        )
        assert "Seq Scan" not in plan
        assert "user_principals_pkey" in plan

    def test_principals_and_permissions_are_read_by_primary_keys(self, permission, plan_of):
        plan = plan_of(
            permission.database,
            lambda: permission.get_principals_and_permissions(
                ["alice", "system.Authenticated"], [COLLECTION, "/buckets/b"], ["read"]
            ),
        )
        assert "Seq Scan" not in plan
        assert "user_principals_pkey" in plan
        assert "access_control_entries_pkey" in plan
