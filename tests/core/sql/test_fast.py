"""Driver-level reads (:mod:`kinto.core.sql.fast`) keep the guarantees of
statements run through SQLAlchemy, on SQLite and PostgreSQL."""

import pytest
import sqlalchemy

from kinto.core import sql
from kinto.core.sql import fast
from kinto.core.storage import BackendError, IntegrityError
from tests.core.sql.test_database import current_request, in_transaction, insert, names
from tests.sql_support import backend_pid, captured_statements, kill_backend

NAMED = fast.RawStatement("SELECT name FROM items WHERE name = :name")
EVERY = fast.RawStatement("SELECT name FROM items ORDER BY name")


def test_rows_come_back_as_tuples(database):
    database.run(insert("a"))
    database.run(insert("b"))
    assert database.run(lambda c: fast.fetch_all(c, EVERY, {}), write=False) == [("a",), ("b",)]
    assert database.run(lambda c: fast.fetch_one(c, NAMED, {"name": "b"}), write=False) == ("b",)
    assert database.run(lambda c: fast.fetch_one(c, NAMED, {"name": "z"}), write=False) is None


def test_percent_signs_are_not_parameters(database):
    database.run(
        lambda c: c.execute(sqlalchemy.text("INSERT INTO items (name) VALUES (:n)"), {"n": "50%"})
    )
    statement = fast.RawStatement("SELECT name FROM items WHERE name LIKE '%' || :suffix")
    rows = database.run(lambda c: fast.fetch_all(c, statement, {"suffix": "0%"}), write=False)
    assert rows == [("50%",)]


def test_reads_see_the_writes_of_their_own_request(database):
    with current_request(method="POST") as request, request.tm:
        database.run(insert("a"))
        seen = database.run(lambda c: fast.fetch_all(c, EVERY, {}), write=False)
        assert database.run(in_transaction, write=False) is True
    assert seen == [("a",)]


def test_first_read_of_a_write_request_begins_its_transaction(database):
    with current_request(method="POST") as request:
        request.tm.begin()
        database.run(lambda c: fast.fetch_all(c, EVERY, {}), write=False)
        assert database.run(in_transaction, write=False) is True
        database.run(insert("a"))
        request.tm.abort()
    assert names(database) == []


def test_listeners_of_the_engine_see_the_statement(database):
    # A text of its own: on PostgreSQL, prepared with it on first use.
    statement = fast.RawStatement("SELECT name FROM items ORDER BY name DESC")
    with captured_statements(database.engine) as seen:
        database.run(lambda c: fast.fetch_all(c, statement, {}), write=False)
    assert seen and "SELECT name FROM items ORDER BY name DESC" in seen[-1]


def test_programming_errors_are_not_hidden(database):
    broken = fast.RawStatement("SELECT nothing FROM nowhere")
    with pytest.raises(sqlalchemy.exc.DBAPIError):
        database.run(lambda c: fast.fetch_all(c, broken, {}), write=False)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_lost_connection_is_replaced_and_the_read_retried(database):
    database.run(insert("a"))
    kill_backend(database.engine, database.run(backend_pid))
    assert database.run(lambda c: fast.fetch_all(c, EVERY, {}), write=False) == [("a",)]


def test_unreachable_server_is_a_backend_error():
    database = sql.get_database(
        {"storage_url": "postgresql://postgres@127.0.0.1:1/nowhere"}, "storage_"
    )
    with pytest.raises(BackendError):
        database.run(lambda c: fast.fetch_all(c, EVERY, {}), write=False)


SECRET = "s3cr3t-document-value"


def test_driver_errors_do_not_show_statement_parameters(database):
    database.run(insert(SECRET))
    duplicate = fast.RawStatement("INSERT INTO items (name) VALUES (:name)")
    with pytest.raises(Exception) as raised:
        database.run(lambda c: fast.execute(c, duplicate, {"name": SECRET}))
    assert SECRET not in str(raised.value)


def test_engine_errors_do_not_show_statement_parameters(database):
    statement = sqlalchemy.text("SELECT name FROM no_such_table WHERE name = :name")
    with pytest.raises(sqlalchemy.exc.SQLAlchemyError) as raised:
        database.run(lambda c: c.execute(statement, {"name": SECRET}), write=False)
    assert SECRET not in str(raised.value)


# Writes sent later (execute_later): with the next round trip on PostgreSQL.

LATER = fast.RawStatement("INSERT INTO items (name) VALUES (:name)")


def later(name):
    return lambda c: fast.execute_later(c, LATER, {"name": name})


# A text of its own: on PostgreSQL, prepared with it on first use (the
# text is then in the statement sent).
RIDES = fast.RawStatement("SELECT name FROM items /* rides */")


def test_a_write_sent_later_rides_with_the_next_statement(database):
    with current_request(method="POST") as request, request.tm:
        with captured_statements(database.engine) as seen:
            database.run(later("a"))
            rows = database.run(lambda c: fast.fetch_all(c, RIDES, {}), write=False)
    assert rows == [("a",)]
    if database.dialect == "postgresql":
        assert len(seen) == 1
        assert 0 <= seen[0].find("INSERT INTO items") < seen[0].find("/* rides */")
    assert names(database) == ["a"]


def test_a_write_sent_later_is_committed_with_the_commit(database):
    with current_request(method="POST") as request, request.tm:
        database.run(later("it's 100%"))
    assert names(database) == ["it's 100%"]


def test_a_write_sent_later_is_dropped_by_an_abort(database):
    with current_request(method="POST") as request:
        request.tm.begin()
        database.run(later("a"))
        request.tm.abort()
    assert names(database) == []


def test_a_write_sent_later_is_dropped_with_its_savepoint(database):
    with current_request(method="POST") as request, request.tm:
        database.run(insert("a"))
        savepoint = request.tm.savepoint()
        database.run(later("b"))
        savepoint.rollback()
        database.run(later("c"))
    assert names(database) == ["a", "c"]


def test_a_failing_write_sent_later_fails_the_commit(database):
    database.run(insert("a"))
    with current_request(method="POST") as request, pytest.raises(IntegrityError), request.tm:
        database.run(later("a"))  # duplicate key: found at the commit on PostgreSQL
    assert names(database) == ["a"]


def test_a_write_sent_later_outside_requests_is_committed_at_once(database):
    database.run(later("a"))
    assert names(database) == ["a"]


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_savepoints_still_pending_at_the_commit_are_not_taken(database):
    """Nothing can roll back to them any more: the writes queued inside
    them are committed without a subtransaction (one transaction id)."""
    with current_request(method="POST") as request, request.tm:
        database.run(later("a"))
        request.tm.savepoint()
        database.run(later("b"))
        request.tm.savepoint()
        database.run(later("c"))
    assert names(database) == ["a", "b", "c"]
    xids = database.run(
        lambda c: c.exec_driver_sql("SELECT DISTINCT xmin::TEXT FROM items").all(), write=False
    )
    assert len(xids) == 1
