"""The transaction rule of :class:`kinto.core.sql.Database` and the error
translation, on SQLite and PostgreSQL."""

import contextlib
import threading

import pytest
import transaction
from pyramid import testing
from pyramid.threadlocal import manager as threadlocal_manager

from kinto.core import sql
from kinto.core.storage import BackendError, IntegrityError
from tests.sql_support import backend_pid, captured_statements, kill_backend


def insert(name):
    def work(connection):
        connection.exec_driver_sql(f"INSERT INTO items (name) VALUES ('{name}')")

    return work


def names(database):
    rows = database.run_standalone(
        lambda c: c.exec_driver_sql("SELECT name FROM items ORDER BY name").all(), write=False
    )
    return [row[0] for row in rows]


@contextlib.contextmanager
def current_request(method="POST", manager=None, parent=None):
    """Push a request whose ``tm`` is ``manager`` (an explicit transaction
    manager by default), as pyramid_tm would."""
    request = testing.DummyRequest()
    request.method = method
    request.tm = manager or transaction.TransactionManager(explicit=True)
    if parent is not None:
        request.parent = parent
    threadlocal_manager.push({"request": request, "registry": None})
    try:
        yield request
    finally:
        threadlocal_manager.pop()


class TestOwnTransactions:
    def test_work_is_committed_when_it_returns(self, database):
        database.run(insert("a"))
        assert names(database) == ["a"]

    def test_work_is_rolled_back_when_it_raises(self, database):
        def failing(connection):
            insert("a")(connection)
            raise ValueError("boom")

        with pytest.raises(ValueError):
            database.run(failing)
        assert names(database) == []

    def test_result_of_the_work_is_returned(self, database):
        assert database.run(lambda c: c.exec_driver_sql("SELECT 42").scalar(), write=False) == 42

    def test_request_without_transaction_in_progress_uses_own_transactions(self, database):
        with current_request():
            database.run(insert("a"))
        assert names(database) == ["a"]

    def test_transaction_per_request_false_never_joins(self, database):
        own = sql.Database(database.engine, database.dialect, transaction_per_request=False)
        with current_request() as request:
            request.tm.begin()
            own.run(insert("a"))
            request.tm.abort()
        assert names(database) == ["a"]


class TestRequestTransactions:
    def test_work_joins_the_request_transaction_and_commits_with_it(self, database):
        with current_request() as request:
            with request.tm:
                database.run(insert("a"))
                database.run(insert("b"))
                assert names(database) == []  # not committed yet
        assert names(database) == ["a", "b"]

    def test_aborted_request_transaction_rolls_back_every_call(self, database):
        with current_request() as request:
            request.tm.begin()
            database.run(insert("a"))
            database.run(insert("b"))
            request.tm.abort()
        assert names(database) == []

    def test_reads_see_the_writes_of_their_own_request(self, database):
        with current_request() as request, request.tm:
            database.run(insert("a"))
            seen = database.run(
                lambda c: c.exec_driver_sql("SELECT count(*) FROM items").scalar(), write=False
            )
        assert seen == 1

    def test_backends_on_one_database_share_the_request_transaction(self, database):
        other = sql.get_database({"permission_url": str(database.engine.url)}, "permission_")
        assert other is database
        with current_request() as request:
            request.tm.begin()
            database.run(insert("a"))
            other.run(insert("b"))
            request.tm.abort()
        assert names(database) == []

    def test_failing_first_call_leaves_no_trace_in_the_request(self, database):
        def failing(connection):
            insert("a")(connection)
            raise ValueError("boom")

        with current_request() as request, request.tm:
            with pytest.raises(ValueError):
                database.run(failing)
            database.run(insert("b"))
        assert names(database) == ["b"]

    def test_idempotent_write_in_a_read_request_is_committed_on_its_own(self, database):
        with current_request(method="GET") as request:
            request.tm.begin()
            database.run(lambda c: c.exec_driver_sql("SELECT 1"), write=False)
            database.run(insert("a"), idempotent=True)
            request.tm.abort()
        assert names(database) == ["a"]

    def test_idempotent_write_in_a_write_request_joins_it(self, database):
        with current_request(method="PUT") as request:
            request.tm.begin()
            database.run(insert("a"), idempotent=True)
            request.tm.abort()
        assert names(database) == []

    def test_batch_subrequests_take_the_write_mode_of_the_batch(self, database):
        batch = testing.DummyRequest()
        batch.method = "POST"
        with current_request(method="GET", parent=batch) as request:
            request.tm.begin()
            database.run(insert("a"), idempotent=True)
            request.tm.abort()
        assert names(database) == []

    def test_work_in_an_after_commit_hook_runs_in_its_own_transaction(self, database):
        with current_request() as request:
            txn = request.tm.begin()
            database.run(insert("a"))
            txn.addAfterCommitHook(lambda ok: database.run(insert("b")))
            request.tm.commit()
        assert names(database) == ["a", "b"]

    def test_savepoint_rollback_undoes_only_the_later_writes(self, database):
        with current_request() as request, request.tm:
            database.run(insert("a"))
            savepoint = request.tm.savepoint()
            database.run(insert("b"))
            savepoint.rollback()
            database.run(insert("c"))
        assert names(database) == ["a", "c"]

    def test_savepoint_taken_before_the_first_call_rolls_back_everything(self, database):
        with current_request() as request, request.tm:
            savepoint = request.tm.savepoint()
            database.run(insert("a"))
            savepoint.rollback()
            database.run(insert("b"))
        assert names(database) == ["b"]


class TestErrors:
    def test_integrity_violation_is_an_integrity_error(self, database):
        database.run(insert("a"))
        with pytest.raises(IntegrityError) as raised:
            database.run(insert("a"))
        assert raised.value.original is not None

    def test_integrity_violation_in_a_request_is_an_integrity_error(self, database):
        database.run(insert("a"))
        with current_request() as request, pytest.raises(IntegrityError), request.tm:
            database.run(insert("b"))
            database.run(insert("a"))
        assert names(database) == ["a"]

    def test_programming_errors_are_not_hidden(self, database):
        with pytest.raises(Exception) as raised:
            database.run(lambda c: c.exec_driver_sql("SELEKT nonsense"))
        assert not isinstance(raised.value, BackendError)

    def test_ping_tells_whether_the_database_answers(self, database):
        assert database.ping() is True


class TestSQLiteLocking:
    def test_concurrent_writers_queue_instead_of_failing(self, sqlite_url):
        database = sql.get_database({"storage_url": sqlite_url}, "storage_")
        database.run(lambda c: c.exec_driver_sql("CREATE TABLE counter (n INTEGER)"))
        database.run(lambda c: c.exec_driver_sql("INSERT INTO counter VALUES (0)"))

        def increment(connection):
            # Read then write: fails with "database is locked" unless the
            # transaction holds the write lock from its start.
            n = connection.exec_driver_sql("SELECT n FROM counter").scalar()
            connection.exec_driver_sql(f"UPDATE counter SET n = {n + 1}")

        errors = []

        def worker():
            try:
                for _ in range(20):
                    database.run(increment)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        total = database.run(lambda c: c.exec_driver_sql("SELECT n FROM counter").scalar())
        assert total == 120

    def test_wal_mode_and_foreign_keys_are_on(self, sqlite_url):
        database = sql.get_database({"storage_url": sqlite_url}, "storage_")

        def pragmas(connection):
            return (
                connection.exec_driver_sql("PRAGMA journal_mode").scalar(),
                connection.exec_driver_sql("PRAGMA foreign_keys").scalar(),
            )

        assert database.run(pragmas, write=False) == ("wal", 1)


class TestPostgreSQLRecovery:
    def kill_pooled_connection(self, database):
        """Terminate the connection the pool holds, as a database restart
        would."""
        kill_backend(database.engine, database.run(backend_pid))

    def test_lost_connections_are_replaced_without_failing_a_call(self, postgresql_url):
        database = sql.get_database({"storage_url": postgresql_url}, "storage_")
        self.kill_pooled_connection(database)
        assert database.run(lambda c: c.exec_driver_sql("SELECT 1").scalar()) == 1

    def test_lost_connections_are_replaced_without_failing_a_request(self, postgresql_url):
        database = sql.get_database({"storage_url": postgresql_url}, "storage_")
        self.kill_pooled_connection(database)
        with current_request() as request, request.tm:
            assert database.run(lambda c: c.exec_driver_sql("SELECT 1").scalar()) == 1

    def test_unreachable_server_is_a_backend_error(self):
        database = sql.get_database(
            {"storage_url": "postgresql://postgres@127.0.0.1:1/nowhere"}, "storage_"
        )
        with pytest.raises(BackendError):
            database.run(lambda c: c.exec_driver_sql("SELECT 1"))
        with current_request() as request, pytest.raises(BackendError), request.tm:
            database.run(lambda c: c.exec_driver_sql("SELECT 1"))
        assert database.ping() is False


class TestPoolLimits:
    def one_connection_without_backlog(self, sqlite_url):
        """A database whose pool has one connection and lets no thread wait."""
        settings = {
            "storage_url": sqlite_url,
            "storage_pool_size": 1,
            "storage_max_overflow": 0,
            "storage_pool_timeout": 30,
            "storage_max_backlog": 0,
        }
        return sql.get_database(settings, "storage_")

    def hold_the_only_connection(self, database):
        """Start a thread holding the pool's only connection; return the
        event that releases it and the thread."""
        taken, release = threading.Event(), threading.Event()

        def hold(connection):
            taken.set()
            release.wait(10)

        holder = threading.Thread(target=lambda: database.run(hold, write=False))
        holder.start()
        taken.wait(10)
        return release, holder

    def test_exhausted_pool_is_a_backend_error_after_the_pool_timeout(self, sqlite_url):
        database = sql.get_database(
            {
                "storage_url": sqlite_url,
                "storage_pool_size": "1",
                "storage_max_overflow": "0",
                "storage_pool_timeout": "0.2",
            },
            "storage_",
        )
        release, holder = self.hold_the_only_connection(database)
        try:
            with pytest.raises(BackendError):
                database.run(lambda c: None, write=False)
        finally:
            release.set()
            holder.join()
        assert database.run(lambda c: 1, write=False) == 1

    def test_max_backlog_refuses_waiting_beyond_it_at_once(self, sqlite_url):
        database = self.one_connection_without_backlog(sqlite_url)
        release, holder = self.hold_the_only_connection(database)
        try:
            with pytest.raises(BackendError, match="waiting"):
                database.run(lambda c: None, write=False)
        finally:
            release.set()
            holder.join()

    def test_max_backlog_applies_to_the_connection_of_a_read_request(self, sqlite_url):
        database = self.one_connection_without_backlog(sqlite_url)
        release, holder = self.hold_the_only_connection(database)
        try:
            # A read request without transaction (the application's GET).
            with current_request(method="GET") as request:
                with pytest.raises(BackendError, match="waiting"):
                    database.run(lambda c: None, write=False)
                request._process_finished_callbacks()
        finally:
            release.set()
            holder.join()
        assert database.engine.pool.checkedout() == 0


class TestReadRequests:
    def test_a_write_in_a_read_request_commits_on_its_own(self, database):
        with current_request(method="GET") as request:
            request.tm.begin()
            database.run(lambda c: c.exec_driver_sql("SELECT count(*) FROM items"), write=False)
            database.run(insert("a"))
            request.tm.abort()
        assert names(database) == ["a"]

    # On SQLite a write transaction holds the lock: nobody commits meanwhile.
    @pytest.mark.parametrize("database", ["postgresql"], indirect=True)
    @pytest.mark.parametrize("method", ["GET", "POST"])
    def test_each_statement_sees_what_others_committed(self, database, method):
        def count(connection):
            return connection.exec_driver_sql("SELECT count(*) FROM items").scalar()

        with current_request(method=method) as request, request.tm:
            database.run(count, write=False)
            database.run_standalone(insert("committed meanwhile"))
            assert database.run(count, write=False) == 1


def in_transaction(connection) -> bool:
    """Whether the driver connection has a transaction open (asked of the
    driver, no statement sent)."""
    raw = connection.connection.dbapi_connection
    info = getattr(raw, "info", None)
    if info is not None:  # psycopg2
        return info.transaction_status != 0
    return raw.in_transaction


class TestRoundTrips:
    def test_a_read_request_runs_its_statements_without_transaction(self, database):
        with current_request(method="GET") as request, request.tm:
            assert database.run(in_transaction, write=False) is False
            assert database.run(in_transaction, write=False) is False

    def test_a_write_request_runs_in_one_transaction(self, database):
        with current_request(method="POST") as request, request.tm:
            database.run(insert("a"))
            assert database.run(in_transaction, write=False) is True

    @pytest.mark.parametrize("database", ["postgresql"], indirect=True)
    def test_begin_travels_with_the_first_statement_on_postgresql(self, database):
        with captured_statements(database.engine) as sent:
            with current_request(method="POST") as request, request.tm:
                database.run(insert("a"))
                database.run(insert("b"))
        assert sent[0].startswith("BEGIN;INSERT")
        assert sent[1].startswith("INSERT")
        assert names(database) == ["a", "b"]

    @pytest.mark.parametrize("database", ["postgresql"], indirect=True)
    def test_a_transaction_that_sent_nothing_sends_no_commit(self, database):
        def fetch_status(connection):
            return in_transaction(connection)

        with captured_statements(database.engine) as sent:
            database.run(lambda c: None)
            with current_request(method="POST") as request, request.tm:
                assert database.run(fetch_status) is False
        assert sent == []

    @pytest.mark.parametrize("database", ["postgresql"], indirect=True)
    def test_a_first_statement_sent_many_times_begins_the_transaction_once(self, database):
        def insert_many(connection):
            connection.exec_driver_sql(
                "UPDATE items SET name = name || %(suffix)s WHERE name = %(name)s",
                [{"suffix": "1", "name": "a"}, {"suffix": "2", "name": "b"}],
            )
            raise ValueError("roll back")

        database.run(insert("a"))
        database.run(insert("b"))
        with pytest.raises(ValueError):
            database.run(insert_many)
        assert names(database) == ["a", "b"]

    @pytest.mark.parametrize("database", ["postgresql"], indirect=True)
    def test_a_connection_returned_in_a_failed_transaction_is_rolled_back(self, database):
        def failing(connection):
            connection.exec_driver_sql("INSERT INTO items (name) VALUES ('a')")
            connection.exec_driver_sql("INSERT INTO items (name) VALUES ('a')")

        with pytest.raises(IntegrityError):
            database.run(failing)
        assert database.run(in_transaction, write=False) is False
        assert names(database) == []

    @pytest.mark.parametrize("database", ["postgresql"], indirect=True)
    def test_savepoints_travel_with_the_next_statement_and_are_released_by_commit(self, database):
        with captured_statements(database.engine) as sent:
            with current_request(method="POST") as request, request.tm:
                database.run(insert("a"))
                request.tm.savepoint()
                database.run(insert("b"))
                request.tm.savepoint()
                database.run(insert("c"))
        assert [statement.split(" ")[0] for statement in sent] == [
            "BEGIN;INSERT",
            "SAVEPOINT",
            "SAVEPOINT",
        ]
        assert all("RELEASE" not in statement for statement in sent)
        assert names(database) == ["a", "b", "c"]

    @pytest.mark.parametrize("database", ["postgresql"], indirect=True)
    def test_rolling_back_to_an_unused_savepoint_sends_nothing(self, database):
        with captured_statements(database.engine) as sent:
            with current_request(method="POST") as request, request.tm:
                database.run(insert("a"))
                request.tm.savepoint().rollback()
                database.run(insert("b"))
        assert [statement.split(" ")[0] for statement in sent] == ["BEGIN;INSERT", "INSERT"]
        assert names(database) == ["a", "b"]

    @pytest.mark.parametrize("database", ["postgresql"], indirect=True)
    def test_failed_statement_in_a_savepoint_rolls_back_to_it(self, database):
        with current_request(method="POST") as request, request.tm:
            database.run(insert("a"))
            savepoint = request.tm.savepoint()
            with pytest.raises(IntegrityError):
                database.run(insert("a"))
            savepoint.rollback()
            database.run(insert("b"))
        assert names(database) == ["a", "b"]


def test_a_backend_on_the_storage_url_shares_the_storage_database(sqlite_url):
    settings = {
        "storage_url": sqlite_url,
        "permission_url": sqlite_url,
        "permission_pool_size": "3",
    }
    storage = sql.get_database(settings, "storage_")
    assert sql.get_backend_database(settings, "permission_") is storage


def test_a_backend_on_another_url_has_its_own_database(sqlite_url, tmp_path):
    from tests.sql_support import migrated_sqlite_file

    other = f"sqlite:///{migrated_sqlite_file(tmp_path / 'other.db')}"
    settings = {"storage_url": sqlite_url, "cache_url": other}
    cache = sql.get_backend_database(settings, "cache_")
    assert cache is not sql.get_database(settings, "storage_")
    assert cache.url.endswith("/other.db")
    sql.dispose_all(str(tmp_path / "other.db"))
