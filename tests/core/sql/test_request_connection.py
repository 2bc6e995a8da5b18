"""The connection of a request (``Database.run`` during a request): in a
request transaction, returned to the pool however the request ends, commit
failures raised to the caller (and to the client), savepoints, lost
connections; in a read request without transaction (the application's
GET, HEAD and OPTIONS), one connection checked out by the first call, shared
by the later ones and by subrequests, and given back when the request
finishes; on SQLite and PostgreSQL."""

import contextlib

import pytest
from pyramid.request import Request
from sqlalchemy import event
from transaction.interfaces import InvalidSavepointRollbackError

from kinto.core import sql
from kinto.core.services import Service
from kinto.core.storage import BackendError, IntegrityError
from tests.conftest import build_core_app
from tests.core.sql.test_database import current_request, in_transaction, insert, names
from tests.sql_support import backend_pid, captured_statements, kill_backend


def checked_out(database) -> int:
    """Connections of the pool in use right now (idle read connections,
    waiting for the next read request, are not)."""
    return database.engine.pool.checkedout() - len(database.idle_reads)


def count(connection):
    return connection.exec_driver_sql("SELECT count(*) FROM items").scalar()


def identity(connection) -> int:
    """Which driver connection ``connection`` is."""
    return id(connection.connection.dbapi_connection)


@contextlib.contextmanager
def checkouts(database):
    """Yield the list of the driver connections checked out of the pool of
    ``database`` while the block runs."""
    taken: list = []

    def record(dbapi_connection, connection_record, connection_proxy):
        taken.append(dbapi_connection)

    event.listen(database.engine, "checkout", record)
    try:
        yield taken
    finally:
        event.remove(database.engine, "checkout", record)


def finish(request) -> None:
    """End ``request`` as Pyramid's router does: its finished callbacks."""
    request._process_finished_callbacks()


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
    def test_statements_of_a_read_request_in_a_transaction_share_one_connection(self, database):
        with current_request(method="GET") as request, request.tm:
            first = database.run(identity, write=False)
            assert database.run(identity, write=False) == first

    def test_a_failed_statement_does_not_break_the_next_ones(self, database):
        with current_request(method="GET") as request, request.tm:
            with pytest.raises(Exception):
                database.run(lambda c: c.exec_driver_sql("SELECT * FROM missing"), write=False)
            assert database.run(count, write=False) == 0
            assert database.run(in_transaction, write=False) is False


class TestReadRequestsWithoutTransaction:
    """``current_request(method="GET")`` without ``tm.begin()``: the
    application's read requests (``tm.activate_hook``)."""

    def test_the_first_call_checks_out_a_connection_the_later_calls_reuse(self, database):
        with checkouts(database) as taken, current_request(method="GET") as request:
            used = {database.run(identity, write=False) for _ in range(3)}
            finish(request)
        assert len(used) == 1
        assert len(taken) == 1

    def test_statements_run_on_their_own_without_transaction_control(self, database):
        def keep(cursor, statement, parameters):
            return id(cursor.connection), statement

        with captured_statements(database.engine, keep) as sent:
            with current_request(method="GET") as request:
                held = database.run(identity, write=False)
                assert database.run(count, write=False) == 0
                database.run_standalone(insert("committed meanwhile"))
                assert database.run(count, write=False) == 1
                assert database.run(in_transaction, write=False) is False
                finish(request)
        assert [statement for used, statement in sent if used == held] == [
            "SELECT count(*) FROM items",
            "SELECT count(*) FROM items",
        ]

    def test_the_connection_goes_back_to_the_pool_when_the_request_finishes(self, database):
        with current_request(method="GET") as request:
            database.run(count, write=False)
            assert checked_out(database) == 1
            finish(request)
            assert checked_out(database) == 0

    def test_calls_after_the_request_finished_hold_no_connection(self, database):
        with current_request(method="GET") as request:
            database.run(count, write=False)
            finish(request)
            assert database.run(count, write=False) == 0
            assert checked_out(database) == 0

    def test_a_write_commits_on_its_own_without_a_second_connection(self, database):
        def write(connection):
            insert("a")(connection)
            return checked_out(database)

        with current_request(method="GET") as request:
            database.run(count, write=False)
            assert database.run(write) == 1
            assert names(database) == ["a"]  # committed before the request ends
            assert database.run(count, write=False) == 1
            finish(request)
        assert checked_out(database) == 0

    def test_a_failed_call_gives_the_connection_back_and_leaves_no_trace(self, database):
        with current_request(method="GET") as request:
            database.run(count, write=False)
            with pytest.raises(Exception):
                database.run(lambda c: c.exec_driver_sql("SELECT * FROM missing"), write=False)
            assert checked_out(database) == 0
            assert database.run(in_transaction, write=False) is False
            assert database.run(count, write=False) == 0
            finish(request)
        assert checked_out(database) == 0

    def test_a_subrequest_shares_the_connection_of_the_request_invoking_it(self, database):
        with checkouts(database) as taken, current_request(method="GET") as request:
            outer = database.run(identity, write=False)
            with current_request(method="GET") as subrequest:
                assert database.run(identity, write=False) == outer
                finish(subrequest)
            assert checked_out(database) == 1
            assert database.run(identity, write=False) == outer
            finish(request)
        assert len(taken) == 1
        assert checked_out(database) == 0

    def test_a_subrequest_calling_first_gives_its_connection_back_when_it_ends(self, database):
        with current_request(method="GET") as request:
            with current_request(method="GET") as subrequest:
                database.run(count, write=False)
                finish(subrequest)
            assert checked_out(database) == 0
            database.run(count, write=False)
            finish(request)
        assert checked_out(database) == 0

    def test_a_write_request_without_transaction_holds_no_connection(self, database):
        with current_request(method="POST") as request:
            database.run(count, write=False)
            assert checked_out(database) == 0
            finish(request)


class TestReadRequestsOfTheApplication:
    """Through the WSGI application: Pyramid ends the requests."""

    @pytest.fixture
    def app(self, database):
        url = str(database.engine.url)
        backend = "postgresql" if database.dialect == sql.POSTGRESQL else "sqlite"

        def configure(config):
            def reads(request):
                database = request.registry.storage.database
                used = [database.run(identity, write=False) for _ in range(2)]
                return {"count": database.run(count, write=False), "connections": used}

            def fails(request):
                request.registry.storage.database.run(count, write=False)
                raise ValueError("view failure")

            def forwards(request):
                database = request.registry.storage.database
                used = database.run(identity, write=False)
                subrequest = Request.blank("/v1/reads", base_url=request.application_url)
                response = request.invoke_subrequest(subrequest, use_tweens=False)
                return {"connections": [used, *response.json["connections"]]}

            for name, view in (("reads", reads), ("fails", fails), ("forwards", forwards)):
                service = Service(name=name, path=f"/{name}")
                service.add_view("GET", view)
                config.add_cornice_service(service)

        app = build_core_app(
            configure, storage_backend=f"kinto.core.storage.{backend}", storage_url=url
        )
        app.app.registry.storage.database.idle_reads.close_all()  # from earlier tests
        return app

    def test_a_read_request_checks_out_one_connection_and_gives_it_back(self, app):
        database = app.app.registry.storage.database
        with checkouts(database) as taken:
            body = app.get("/v1/reads").json
        assert len(taken) == 1
        assert len(set(body["connections"])) == 1
        assert checked_out(database) == 0

    def test_the_connection_goes_back_after_the_view_raised(self, app):
        database = app.app.registry.storage.database
        with checkouts(database) as taken:
            app.get("/v1/fails", status=500)
        assert len(taken) == 1
        assert checked_out(database) == 0

    def test_a_read_subrequest_shares_the_connection_of_its_request(self, app):
        database = app.app.registry.storage.database
        with checkouts(database) as taken:
            body = app.get("/v1/forwards").json
        assert len(taken) == 1
        assert len(set(body["connections"])) == 1
        assert checked_out(database) == 0


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
class TestLostConnections:
    def test_a_read_request_recovers_from_a_connection_lost_between_statements(self, database):
        with current_request(method="GET") as request, request.tm:
            pid = database.run(backend_pid, write=False)
            kill_backend(database.engine, pid)
            assert database.run(backend_pid, write=False) != pid
        assert checked_out(database) == 0

    def test_a_read_request_without_transaction_replaces_a_connection_lost_between_statements(
        self, database
    ):
        invalidated = []

        def record(dbapi_connection, connection_record, exception):
            invalidated.append(dbapi_connection)

        event.listen(database.engine, "invalidate", record)
        try:
            with current_request(method="GET") as request:
                pid = database.run(backend_pid, write=False)
                kill_backend(database.engine, pid)
                assert database.run(backend_pid, write=False) != pid
                assert database.run(count, write=False) == 0
                finish(request)
        finally:
            event.remove(database.engine, "invalidate", record)
        assert len(invalidated) == 1  # the lost one, not returned to the pool
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


def read_request(database, work=identity):
    """``work`` in a read request without transaction, which then finishes."""
    with current_request(method="GET") as request:
        result = database.run(work, write=False)
        finish(request)
    return result


class TestIdleReadConnections:
    """Between read requests, a few connections wait on a stack of the
    database instead of going back to the pool."""

    def test_the_next_read_request_takes_the_idle_connection_without_a_checkout(self, database):
        first = read_request(database)
        assert len(database.idle_reads) == 1
        with checkouts(database) as taken:
            assert read_request(database) == first
        assert taken == []
        assert checked_out(database) == 0

    def test_a_write_request_does_not_take_an_idle_connection(self, database):
        read_request(database)
        with checkouts(database) as taken, current_request(method="POST") as request:
            request.tm.begin()
            database.run(insert("a"))
            request.tm.commit()
        assert len(taken) == 1
        assert len(database.idle_reads) == 1

    def test_no_more_idle_connections_than_the_stack_holds(self, database):
        idle = database.idle_reads
        held = [database._connect(False)[0] for _ in range(idle.size + 1)]
        kept = [idle.give(connection) for connection in held]
        assert kept == [True] * idle.size + [False]
        held[-1].close()
        idle.close_all()
        assert len(idle) == 0
        assert checked_out(database) == 0

    def test_dispose_gives_the_idle_connections_back(self, database):
        read_request(database)
        idle = database.idle_reads.take()
        database.idle_reads.give(idle)
        sql.dispose_all(database.engine.url.database)
        assert idle.closed

    def test_a_pool_without_size_keeps_none(self, sqlite_url):
        settings = {"storage_url": sqlite_url, "storage_poolclass": "sqlalchemy.pool.NullPool"}
        database = sql.get_database(settings, "storage_")
        assert database.idle_reads.size == 0
        read_request(database)
        assert len(database.idle_reads) == 0


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_lost_idle_connection_is_replaced_and_empties_the_stack(database):
    held = [database._connect(False)[0] for _ in range(2)]
    pids = [connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() for connection in held]
    for connection in held:
        database.idle_reads.give(connection)
    for pid in pids:
        kill_backend(database.engine, pid)
    assert read_request(database, backend_pid) not in pids
    # The other idle one (lost too) went back to the pool; the replacement
    # waits on the stack for the next request.
    assert len(database.idle_reads) == 1
    assert read_request(database, backend_pid) not in pids


def test_a_connection_left_in_a_transaction_is_not_kept_idle(database):
    connection = database._connect(False)[0]
    connection.exec_driver_sql("BEGIN")
    try:
        assert not database.idle_reads.give(connection)
    finally:
        connection.exec_driver_sql("ROLLBACK")
        connection.close()
