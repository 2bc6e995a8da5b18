"""SQLite: the write transactions of one process wait for each other on a
lock of the process before ``BEGIN IMMEDIATE`` (see
``kinto.core.sql.engines._setup_sqlite``), which every way a transaction
ends gives back."""

import sqlite3
import threading

import pytest

from kinto.core.sql import engines, get_database
from kinto.core.storage import BackendError
from tests.core.sql.test_database import current_request, insert, names
from tests.sql_support import sqlite_url  # noqa: F401


@pytest.fixture
def database(sqlite_url):  # noqa: F811
    database = get_database({"storage_url": sqlite_url, "storage_busy_timeout": "1"}, "storage_")
    database.run_standalone(
        lambda c: c.exec_driver_sql("CREATE TABLE IF NOT EXISTS items (name TEXT PRIMARY KEY)")
    )
    return database


def write_lock(database):
    return engines._sqlite_write_lock(database.engine.url.database)


def test_a_write_transaction_holds_the_lock_until_its_commit(database):
    lock = write_lock(database)
    with current_request(method="POST") as request, request.tm:
        database.run(insert("a"))
        assert lock.locked()
    assert not lock.locked()
    assert names(database) == ["a"]


def test_an_aborted_write_transaction_gives_the_lock_back(database):
    lock = write_lock(database)
    with current_request(method="POST") as request:
        request.tm.begin()
        database.run(insert("a"))
        request.tm.abort()
    assert not lock.locked()
    assert names(database) == []


def test_reads_do_not_take_the_lock(database):
    lock = write_lock(database)
    with current_request(method="GET"):
        assert database.run(lambda c: c.exec_driver_sql("SELECT 1").scalar(), write=False) == 1
        assert not lock.locked()


def test_a_writer_waits_for_the_other_writer_of_the_process(database):
    first_wrote = threading.Event()
    second_done = threading.Event()
    order = []

    def second_writer():
        first_wrote.wait()
        database.run(insert("b"))
        order.append("b")
        second_done.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    with current_request(method="POST") as request, request.tm:
        database.run(insert("a"))
        first_wrote.set()
        assert not second_done.wait(0.2)  # blocked on the lock, not failing
        order.append("a")
    thread.join()
    assert order == ["a", "b"]
    assert names(database) == ["a", "b"]


def test_a_begin_refused_by_sqlite_gives_the_lock_back(database):
    # Another process (here, a connection outside the engine) holds the
    # database's write lock longer than the busy timeout.
    other = sqlite3.connect(database.engine.url.database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(BackendError):
            database.run(insert("a"))
        assert not write_lock(database).locked()
    finally:
        other.execute("ROLLBACK")
        other.close()
    database.run(insert("a"))
    assert names(database) == ["a"]


def test_an_invalidated_connection_gives_the_lock_back(database):
    lock = write_lock(database)
    with current_request(method="POST") as request:
        request.tm.begin()
        database.run(insert("a"))
        database.run(lambda c: c.invalidate())
        assert not lock.locked()
        request.tm.abort()
    database.run(insert("b"))
    assert names(database) == ["b"]


def test_a_writer_that_waited_busy_timeout_for_the_lock_goes_on_without_it(sqlite_url):  # noqa: F811
    database = get_database({"storage_url": sqlite_url, "storage_busy_timeout": "0.1"}, "storage_")
    database.run_standalone(lambda c: c.exec_driver_sql("CREATE TABLE items (name TEXT)"))
    lock = write_lock(database)
    # Held by nobody who writes (a lost holder): SQLite itself is free.
    assert lock.acquire()
    try:
        database.run(insert("a"))
    finally:
        lock.release()
    assert names(database) == ["a"]
