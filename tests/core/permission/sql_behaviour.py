"""What the SQL permission backends do beyond the conformance suite: schema,
round trips, request transactions, failures. Mixed into
the PostgreSQL and SQLite test classes (not collected by itself)."""

from __future__ import annotations

import contextlib

import pytest
import transaction
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pyramid.request import Request
from pyramid.threadlocal import manager as threadlocal
from transaction.interfaces import NoTransaction

from kinto.core import sql
from kinto.core.permission import sql as permission_sql
from kinto.core.storage import COMPARISON, BackendError, Filter, ObjectNotFoundError, Sort
from kinto.core.storage import postgresql as storage_postgresql
from kinto.core.storage import sqlite as storage_sqlite
from tests.sql_support import captured_statements

EVERYONE = "system.Everyone"
COLLECTION = "/buckets/b/collections/c"


@contextlib.contextmanager
def statements_of(database: sql.Database):
    """Collect the SQL statements sent through ``database`` (transaction
    control left out)."""
    with captured_statements(database.engine) as sent:
        yield sent
    kept = [without_begin(statement) for statement in sent]
    sent[:] = [s for s in kept if s and not s.upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))]


def without_begin(statement: str) -> str:
    """``statement`` without a ``BEGIN;`` sent in the same round trip."""
    statement = statement.lstrip()
    if statement.upper().startswith("BEGIN;"):
        statement = statement[len("BEGIN;") :].lstrip()
    return statement


@contextlib.contextmanager
def request_transaction(method: str = "PUT"):
    """A current request whose transaction manager the backends join; yields
    the manager (commit or abort it)."""
    request = Request.blank("/", method=method)
    request.tm = transaction.TransactionManager(explicit=True)
    request.tm.begin()
    threadlocal.push({"request": request, "registry": None})
    try:
        yield request.tm
    finally:
        threadlocal.pop()
        with contextlib.suppress(NoTransaction):
            request.tm.abort()


class SQLPermissionBehaviour:
    """Tests shared by the SQL permission backends. The subclass provides
    the ``permission`` fixture (the suite's) and ``unreachable_url``, a
    database URL nothing answers."""

    unreachable_url: str

    # A read taken along (kinto.core.sql.fast.Along).

    @pytest.fixture
    def storage(self, permission):
        """The SQL storage on the permission backend's database."""
        postgresql = permission.database.dialect == sql.POSTGRESQL
        module = storage_postgresql if postgresql else storage_sqlite
        storage = module.Storage(permission.database)
        yield storage
        storage.flush()

    def test_a_read_along_travels_in_the_same_statement(self, permission, storage):
        obj = storage.create("record", COLLECTION, {"title": "a"})
        permission.add_user_principal("alice", "group")
        permission.add_principal_to_ace(COLLECTION, "read", "group")
        along = storage.read_along("record", COLLECTION, obj["id"])
        with statements_of(permission.database) as sent:
            principals, acls = permission.get_principals_and_permissions(
                ["alice"], [COLLECTION], ["read"], along=along
            )
        assert len(sent) == 1, sent
        assert principals == {"group"}
        assert acls == [{"read": {"group"}}]
        assert along.travelled
        assert along.result == obj

    def test_a_missing_object_travels_as_none(self, permission, storage):
        storage.create("record", COLLECTION, {"id": "gone"})
        storage.delete("record", COLLECTION, "gone")
        along = storage.read_along("record", COLLECTION, "gone")
        permission.get_principals_and_permissions(["alice"], [COLLECTION], ["read"], along=along)
        assert along.travelled
        assert along.result is None

    def test_a_read_along_on_another_database_stays_behind(self, permission, storage):
        obj = storage.create("record", COLLECTION, {})
        along = storage.read_along("record", COLLECTION, obj["id"])
        along.database = object()  # as if the storage were elsewhere
        permission.get_principals_and_permissions(["alice"], [COLLECTION], ["read"], along=along)
        assert not along.travelled

    def page_along(self, storage, **page):
        page = {"sorting": [Sort("last_modified", -1)], "limit": 10, **page}
        along = storage.page_along("collection", "/buckets/b", "c", "record", COLLECTION, **page)
        alone = storage.get_with_list_page(
            "collection", "/buckets/b", "c", "record", COLLECTION, **page
        )
        return along, alone

    def test_a_page_along_travels_in_the_same_statement(self, permission, storage):
        storage.create("collection", "/buckets/b", {"id": "c", "title": "C"})
        ids = [storage.create("record", COLLECTION, {"n": n})["id"] for n in range(3)]
        permission.add_principal_to_ace(COLLECTION, "read", "alice")
        filters = [Filter("id", ids[:2], COMPARISON.IN)]
        along, alone = self.page_along(storage, filters=filters)
        with statements_of(permission.database) as sent:
            _, acls = permission.get_principals_and_permissions(
                ["alice"], [COLLECTION], ["read"], along=along
            )
        assert len(sent) == 1, sent
        assert acls == [{"read": {"alice"}}]
        assert along.travelled
        assert along.result() == alone
        assert [raw.load()["n"] for raw in alone[2]] == [1, 0]

    @pytest.mark.parametrize("holder", ["alice", "group", "system.Everyone", "nobody"])
    def test_a_page_along_is_only_read_for_holders_of_an_ace_read(
        self, permission, storage, holder
    ):
        storage.create("collection", "/buckets/b", {"id": "c"})
        storage.create("record", COLLECTION, {"n": 0})
        permission.add_user_principal("alice", "group")
        permission.add_principal_to_ace(COLLECTION, "write", holder)
        along, alone = self.page_along(storage)
        permission.get_principals_and_permissions(
            ["alice", "system.Authenticated"], [COLLECTION], ["read", "write"], along=along
        )
        assert along.travelled
        assert along.result() == (None if holder == "nobody" else alone)

    def test_a_page_along_of_a_missing_parent_raises_when_read(self, permission, storage):
        along = storage.page_along(
            "collection", "/buckets/b", "gone", "record", COLLECTION, limit=10
        )
        permission.get_principals_and_permissions(["alice"], [COLLECTION], ["read"], along=along)
        assert along.travelled
        with pytest.raises(ObjectNotFoundError):
            along.result()

    # Schema.

    def test_migrated_schema_is_the_one_the_queries_use(self, permission):
        tables = set(permission_sql.metadata.tables)

        def differences(connection):
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, permission_sql.metadata)

        found = permission.database.run_standalone(differences, write=False)
        ours = [diff for diff in found if table_of(diff) in tables]
        assert ours == []

    def test_empty_lists_send_no_statement(self, permission):
        with statements_of(permission.database) as sent:
            assert permission.get_users_principals([]) == set()
            assert permission.check_permission([], [(COLLECTION, "read")]) is False
            assert permission.check_permission(["alice"], []) is False
            assert permission.get_authorized_principals([]) == set()
            assert permission.get_accessible_objects([], [(COLLECTION, "read")]) == {}
            assert permission.get_accessible_objects(["alice"], []) == {}
            assert permission.get_objects_permissions([]) == []
            assert permission.get_objects_permissions([COLLECTION], []) == [{}]
            assert permission.replace_object_permissions(COLLECTION, {}) == {}
        assert sent == []

    def test_long_lists_are_one_statement_each(self, permission):
        many = [f"user-{n}" for n in range(10_000)]
        uris = [f"{COLLECTION}/records/r{n}" for n in range(10_000)]
        permission.add_user_principal(many[-1], "group")
        permission.add_principal_to_ace(uris[-1], "read", many[-1])
        with statements_of(permission.database) as sent:
            assert permission.get_users_principals(many) == {"group"}
            assert permission.check_permission(many, [(uri, "read") for uri in uris]) is True
            bound = [(uri, "read") for uri in uris]
            assert permission.get_authorized_principals(bound) == {many[-1]}
            assert permission.get_accessible_objects(many, bound) == {uris[-1]: {"read"}}
            assert permission.get_objects_permissions(uris)[-1] == {"read": {many[-1]}}
        assert len(sent) == 5

    def test_replace_with_many_principals_is_two_statements(self, permission):
        many = [f"user-{n}" for n in range(5_000)]
        permission.replace_object_permissions(COLLECTION, {"read": many[::2]})
        with statements_of(permission.database) as sent:
            permission.replace_object_permissions(COLLECTION, {"read": many[1::2]})
        assert len(sent) == 2
        assert permission.get_object_permission_principals(COLLECTION, "read") == set(many[1::2])

    # Round trips.

    def test_hot_paths_are_one_statement_each(self, permission):
        permission.add_principal_to_ace(f"{COLLECTION}/records/r", "read", "alice")
        bound = [
            ("/buckets/b", "read"),
            (COLLECTION, "read"),
            (f"{COLLECTION}/records/*", "read"),
            ("/buckets/*/collections/*", "write"),
        ]
        with statements_of(permission.database) as sent:
            permission.get_users_principals(["alice", "system.Authenticated"])
            permission.get_accessible_objects(["alice", EVERYONE], bound, with_children=False)
            permission.check_permission(["alice", EVERYONE], [(COLLECTION, "read")])
            permission.get_objects_permissions([COLLECTION, "/buckets/b"])
            permission.get_object_permission_principals(COLLECTION, "write")
        assert len(sent) == 5

    def test_principals_and_permissions_are_one_statement(self, permission):
        permission.add_user_principal("alice", "/buckets/b/groups/g")
        permission.add_principal_to_ace(COLLECTION, "read", "/buckets/b/groups/g")
        with statements_of(permission.database) as sent:
            result = permission.get_principals_and_permissions(
                ["alice", "system.Authenticated"], ["/buckets/b", COLLECTION], ["read", "write"]
            )
        assert result == ({"/buckets/b/groups/g"}, [{}, {"read": {"/buckets/b/groups/g"}}])
        assert len(sent) == 1

    def test_replace_is_two_statements_and_keeps_unchanged_rows(self, permission):
        permission.replace_object_permissions(COLLECTION, {"read": ["alice"], "write": ["bob"]})
        with statements_of(permission.database) as sent:
            permission.replace_object_permissions(COLLECTION, {"read": ["alice", "carol"]})
        assert len(sent) == 2
        assert permission.get_object_permissions(COLLECTION) == {
            "read": {"alice", "carol"},
            "write": {"bob"},
        }

    # Transactions.

    def test_changes_of_an_aborted_request_are_rolled_back(self, permission):
        permission.add_principal_to_ace(COLLECTION, "read", "alice")
        permission.add_user_principal("alice", "/buckets/b/groups/g")
        with request_transaction() as manager:
            permission.replace_object_permissions(COLLECTION, {"read": ["mallory"]})
            permission.add_principal_to_ace(COLLECTION, "write", "mallory")
            permission.remove_principal("/buckets/b/groups/g")
            assert permission.get_object_permission_principals(COLLECTION, "read") == {"mallory"}
            manager.abort()
        assert permission.get_object_permissions(COLLECTION) == {"read": {"alice"}}
        assert permission.get_user_principals("alice") == {"/buckets/b/groups/g"}

    def test_changes_of_a_committed_request_are_kept(self, permission):
        with request_transaction() as manager:
            permission.add_principal_to_ace(COLLECTION, "read", "alice")
            manager.commit()
        assert permission.get_object_permission_principals(COLLECTION, "read") == {"alice"}

    # Failures.

    def test_unreachable_database_raises_backend_error(self):
        database = sql.get_database({"permission_url": self.unreachable_url}, "permission_")
        backend = permission_sql.Permission(database)
        with pytest.raises(BackendError):
            backend.get_user_principals("alice")
        with pytest.raises(BackendError):
            backend.get_accessible_objects(["alice"], [(f"{COLLECTION}/*", "read")])
        assert backend.heartbeat() is False


def table_of(diff) -> str | None:
    """Name of the table an Alembic autogenerate difference is about."""
    if isinstance(diff, list):  # modify_* operations on one column
        return diff[0][2]
    kind, *details = diff
    if kind in ("add_column", "remove_column"):
        return details[1]
    table = getattr(details[0], "table", None)
    return table.name if table is not None else getattr(details[0], "name", None)
