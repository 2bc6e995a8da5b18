"""The connection of a request transaction (``Database.run`` during a
request): returned to the pool however the request ends, commit failures
raised to the caller (and to the client), savepoints, lost connections; on
SQLite and PostgreSQL."""

import pytest
from transaction.interfaces import InvalidSavepointRollbackError

from kinto.core import sql
from kinto.core.services import Service
from kinto.core.storage import BackendError, IntegrityError
from tests.conftest import build_core_app
from tests.core.sql.test_database import current_request, in_transaction, insert, names
from tests.sql_support import backend_pid, kill_backend


def checked_out(database) -> int:
    """Connections of the pool in use right now."""
    return database.engine.pool.checkedout()


def count(connection):
    return connection.exec_driver_sql("SELECT count(*) FROM items").scalar()


@pytest.fixture
def deferred(database):
    """``database`` with a table whose foreign key is checked at commit
    only: inserting an orphan ``children`` row makes the COMMIT fail."""
    database.run_standalone(
        lambda c: c.exec_driver_sql(
            "CREATE TABLE deferred_parents (id TEXT PRIMARY KEY)",
        )
    )
    database.run_standalone(
        lambda c: c.exec_driver_sql(
            "CREATE TABLE deferred_children (parent TEXT REFERENCES deferred_parents (id) "
            "DEFERRABLE INITIALLY DEFERRED)"
        )
    )
    yield database
    database.run_standalone(lambda c: c.exec_driver_sql("DROP TABLE deferred_children"))
    database.run_standalone(lambda c: c.exec_driver_sql("DROP TABLE deferred_parents"))


def insert_orphan(connection):
    connection.exec_driver_sql("INSERT INTO deferred_children (parent) VALUES ('nobody')")


class TestConnectionReturnedToThePool:
    def test_after_a_read_request(self, database):
        with current_request(method="GET") as request, request.tm:
            database.run(count, write=False)
            database.run(count, write=False)
            assert checked_out(database) == 1
        assert checked_out(database) == 0

    def test_after_a_committed_write_request(self, database):
        with current_request(method="POST") as request, request.tm:
            database.run(insert("a"))
            assert checked_out(database) == 1
        assert checked_out(database) == 0
        assert names(database) == ["a"]

    def test_after_an_aborted_write_request(self, database):
        with current_request(method="POST") as request:
            request.tm.begin()
            database.run(insert("a"))
            request.tm.abort()
        assert checked_out(database) == 0
        assert names(database) == []

    def test_after_a_request_that_fails_with_an_exception(self, database):
        with pytest.raises(ValueError), current_request(method="PUT") as request, request.tm:
            database.run(insert("a"))
            raise ValueError("view failure")
        assert checked_out(database) == 0
        assert names(database) == []

    def test_at_once_when_the_first_call_of_a_request_fails(self, database):
        def failing(connection):
            insert("a")(connection)
            raise ValueError("boom")

        with current_request(method="POST") as request, request.tm:
            with pytest.raises(ValueError):
                database.run(failing)
            assert checked_out(database) == 0

    def test_after_a_failed_commit(self, deferred):
        with current_request(method="POST") as request:
            request.tm.begin()
            deferred.run(insert_orphan)
            with pytest.raises(IntegrityError):
                request.tm.commit()
        assert checked_out(deferred) == 0

    def test_after_a_savepoint_rolled_back_everything_of_the_database(self, database):
        with current_request(method="POST") as request, request.tm:
            savepoint = request.tm.savepoint()
            database.run(insert("a"))
            savepoint.rollback()
            assert checked_out(database) == 0
        assert names(database) == []


class TestCommitFailures:
    def test_a_commit_failure_raises_and_commits_nothing(self, deferred):
        with current_request(method="POST") as request:
            request.tm.begin()
            deferred.run(insert("a"))
            deferred.run(insert_orphan)
            with pytest.raises(IntegrityError):
                request.tm.commit()
        assert names(deferred) == []

    def test_a_commit_failure_is_an_error_response_for_the_client(self, database, request):
        url = str(database.engine.url)
        backend = "postgresql" if database.dialect == sql.POSTGRESQL else "sqlite"

        def configure(config):
            def write(request):
                database = request.registry.storage.database
                database.run(insert("from the view"))
                database.run(insert_orphan)
                return {"written": True}

            service = Service(name="write", path="/write")
            service.add_view("POST", write)
            config.add_cornice_service(service)

        request.getfixturevalue("deferred")
        app = build_core_app(
            configure, storage_backend=f"kinto.core.storage.{backend}", storage_url=url
        )
        # The integrity violation found by the COMMIT: a 409, not a 200.
        response = app.post_json("/v1/write", {}, status=409)
        assert response.json["code"] == 409
        assert names(database) == []
        assert checked_out(database) == 0

    def test_a_failed_standalone_commit_leaves_no_transaction_behind(self, deferred):
        with pytest.raises(IntegrityError):
            deferred.run(insert_orphan)
        orphans = deferred.run(
            lambda c: c.exec_driver_sql("SELECT count(*) FROM deferred_children").scalar()
        )
        assert orphans == 0
        assert checked_out(deferred) == 0

    @pytest.mark.parametrize("database", ["postgresql"], indirect=True)
    def test_a_transaction_with_a_failed_statement_does_not_commit_silently(self, database):
        with current_request(method="POST") as request:
            request.tm.begin()
            database.run(insert("a"))
            with pytest.raises(IntegrityError):
                database.run(insert("a"))
            # Whoever swallowed the error, the earlier write is not committed:
            # the commit says so.
            with pytest.raises(BackendError):
                request.tm.commit()
        assert names(database) == []
        assert checked_out(database) == 0

    def test_a_later_call_failing_leaves_the_transaction_to_the_request(self, database):
        with current_request(method="POST") as request:
            request.tm.begin()
            database.run(insert("a"))
            with pytest.raises(IntegrityError):
                database.run(insert("a"))
            assert checked_out(database) == 1
            request.tm.abort()
        assert checked_out(database) == 0
        assert names(database) == []


class TestSavepoints:
    def test_rolling_back_an_earlier_savepoint_undoes_the_later_ones_too(self, database):
        with current_request() as request, request.tm:
            database.run(insert("a"))
            first = request.tm.savepoint()
            database.run(insert("b"))
            request.tm.savepoint()
            database.run(insert("c"))
            first.rollback()
            database.run(insert("d"))
        assert names(database) == ["a", "d"]

    def test_a_savepoint_cannot_be_rolled_back_twice(self, database):
        with current_request() as request:
            request.tm.begin()
            database.run(insert("a"))
            savepoint = request.tm.savepoint()
            database.run(insert("b"))
            savepoint.rollback()
            with pytest.raises(InvalidSavepointRollbackError):
                savepoint.rollback()
            request.tm.abort()
        assert names(database) == []

    def test_work_after_a_savepoint_rollback_is_committed(self, database):
        with current_request() as request, request.tm:
            database.run(insert("a"))
            for name in ("b", "c"):
                savepoint = request.tm.savepoint()
                database.run(insert(name))
                if name == "b":
                    savepoint.rollback()
        assert names(database) == ["a", "c"]

    def test_a_savepoint_of_a_read_request_rolls_back_nothing(self, database):
        with current_request(method="GET") as request, request.tm:
            assert database.run(count, write=False) == 0
            savepoint = request.tm.savepoint()
            database.run(insert("a"))  # its own transaction, committed
            savepoint.rollback()
            assert database.run(count, write=False) == 1
        assert names(database) == ["a"]


class TestReadRequests:
    def test_statements_of_a_read_request_share_one_connection(self, database):
        def identity(connection):
            return id(connection.connection.dbapi_connection)

        with current_request(method="GET") as request, request.tm:
            first = database.run(identity, write=False)
            assert database.run(identity, write=False) == first

    def test_a_failed_statement_does_not_break_the_next_ones(self, database):
        with current_request(method="GET") as request, request.tm:
            with pytest.raises(Exception):
                database.run(lambda c: c.exec_driver_sql("SELECT * FROM missing"), write=False)
            assert database.run(count, write=False) == 0
            assert database.run(in_transaction, write=False) is False


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
class TestLostConnections:
    def test_a_read_request_recovers_from_a_connection_lost_between_statements(self, database):
        with current_request(method="GET") as request, request.tm:
            pid = database.run(backend_pid, write=False)
            kill_backend(database.engine, pid)
            assert database.run(backend_pid, write=False) != pid
        assert checked_out(database) == 0

    def test_a_write_request_losing_its_connection_commits_nothing(self, database):
        with current_request(method="POST") as request:
            request.tm.begin()
            database.run(insert("a"))
            kill_backend(database.engine, database.run(backend_pid))
            with pytest.raises(BackendError):
                request.tm.commit()
        assert checked_out(database) == 0
        assert names(database) == []

    def test_a_write_request_is_not_retried_after_its_first_call(self, database):
        with current_request(method="POST") as request:
            request.tm.begin()
            pid = database.run(backend_pid)
            kill_backend(database.engine, pid)
            with pytest.raises(BackendError):
                database.run(insert("a"))
            with pytest.raises(BackendError):
                request.tm.commit()
        assert checked_out(database) == 0
        assert names(database) == []
