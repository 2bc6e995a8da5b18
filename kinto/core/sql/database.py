"""The transaction rule of the SQL backends: :class:`Database`.

Backends never open connections themselves: they hand a function to
:meth:`Database.run`, which calls it with a SQLAlchemy ``Connection`` inside
the right database transaction:

* **During a request** (``pyramid.threadlocal.get_current_request()`` is not
  None and its ``transaction`` manager has a transaction in progress), the
  work joins that transaction: one database transaction per request (and
  per batch), shared by every backend using the same engine, committed or
  aborted by ``pyramid_tm`` (or by the CLI's ``transaction.manager``). A
  request with a method other than GET, HEAD or OPTIONS (for a batch
  subrequest: the batch's method) begins it as a *write* transaction
  (``BEGIN IMMEDIATE`` on SQLite, so that concurrent writers queue on the
  database lock instead of failing with "database is locked"). PostgreSQL
  transactions are ``READ COMMITTED``: each statement sees what was
  committed before it (a GET that reads a list's timestamp, then the list,
  may see objects newer than that timestamp, never miss older ones).
* A read request (GET, HEAD, OPTIONS) opens **no** database transaction:
  each of its statements runs on its own, which sees what ``READ COMMITTED``
  would and saves the ``BEGIN`` and ``ROLLBACK`` round trips. The
  application's read requests have no ``transaction`` manager transaction at
  all (``tm.activate_hook``, :func:`kinto.core.events.transaction_wanted`):
  the first call of such a request checks one pooled connection out per
  database (``max_backlog`` applies), and every later call of the request
  runs on it as is: no transaction control statement is sent (on SQLite the
  driver is in autocommit mode, ``NO_TRANSACTION`` sends no ``BEGIN``), and
  nothing is begun or committed per call (:class:`_ReadConnection`). The
  connection goes back to the pool when the request finishes (a
  ``request.add_finished_callback``, run by Pyramid's router however the
  request ends, the view's exceptions included), and at once when a call
  fails (a failed call leaves no trace; the next call checks a connection
  out again). Between two read requests, a few such connections wait on a
  short stack of the database instead of the pool (:class:`_IdleReads`:
  taking one costs a fraction of a pool checkout, which costs more than the
  request's statement); a connection found lost empties the stack. A
  subrequest (``request.invoke_subrequest`` of a read request, e.g. a
  default bucket's forwarding) uses the connection of the request
  that invoked it (the enclosing requests are those under it on Pyramid's
  thread-local stack), or takes one for itself, given back when it finishes,
  if that request holds none. Calls after the request finished run in their
  own transactions. Like a write request's, a read request's connection
  stays out of the pool from its first call to its end. A read request that
  does run inside a transaction (e.g. another application's settings) keeps
  one connection for the request too, as described below. Its rare writes
  (implicit creation of a default bucket, cache entries) run each in their
  own short transaction on a connection of their own, committed when the
  call returns (on SQLite also because a read transaction cannot become a
  write one once another connection has written); without transaction, the
  held connection goes back to the pool first, so that a thread never holds
  two connections of one database (threads waiting for a second connection
  while holding one could exhaust the pool).
* **Otherwise** (tests, background jobs, heartbeat threads, write requests
  without a ``transaction`` manager transaction, and whenever the
  ``transaction_per_request`` setting is false) each call runs in its own
  short transaction, committed when the function returns and rolled back if
  it raises.

How a request transaction is held (:class:`_RequestConnection`): one plain
``Connection`` per database, checked out of the pool by the first call of
the request and joined to the ``transaction`` manager's transaction as a
data manager of its own. The transaction's commit commits it (in
``tpc_vote``, after the other data managers' ``commit``, as a one-phase
resource) and its abort rolls it back; either way the connection goes back
to the pool, also when the commit fails. A failed commit raises (translated:
``BackendError``, a 503), so that ``pyramid_tm`` answers an error and
nothing that was not committed is acknowledged. A read request's connection
sends no transaction control statement; it is returned to the pool when the
request's transaction ends. A first call that fails returns its connection
at once and leaves no trace in the request.

Savepoints of the request transaction (``transaction.savepoint()``, taken by
the batch view before each writing subrequest) are database savepoints of
that connection; rolling one back undoes the later work of the request and
keeps the earlier work. A savepoint taken before the database's first call
rolls everything of that database back (the ``transaction`` package aborts
a data manager that joined after the savepoint). A rolled back savepoint
cannot be rolled back again (``InvalidSavepointRollbackError``).

A connection lost before anything was committed (database restarted, idle
connection cut) is retried once on a fresh connection when that is safe (no
earlier work in the transaction; in a read request, always, also when the
connection held by the request was lost between two calls), so that the
server recovers by itself after an outage without a liveness query per
request. A lost connection is discarded, never returned to the pool. Errors
come out translated by :mod:`kinto.core.sql.errors` (``BackendError`` → 503,
``IntegrityError`` → 409).
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import sqlalchemy.exc
import sqlalchemy.pool
import transaction
from pyramid.settings import asbool
from pyramid.threadlocal import get_current_request
from pyramid.threadlocal import manager as threadlocal_manager
from sqlalchemy.engine import Connection, Engine
from transaction._transaction import Status
from transaction.interfaces import (
    IDataManagerSavepoint,
    InvalidSavepointRollbackError,
    ISavepointDataManager,
    NoTransaction,
)
from zope.interface import implementer

from kinto.core.sql import engines, errors
from kinto.core.storage import BackendError
from kinto.core.utils import SAFE_METHODS

T = TypeVar("T")

_JOINABLE = (Status.ACTIVE, Status.DOOMED)

#: Attribute of a request (in its ``__dict__``) holding the
#: :class:`_ReadConnection` of each database used: ``{Database: holder}``.
_READ_CONNECTIONS = "_kinto_sql_read_connections"

_databases: dict[tuple[Engine, bool], Database] = {}
_databases_lock = threading.Lock()


class Database:
    """An engine and the transaction rule (see the module docstring).

    ``dialect`` is ``"postgresql"`` or ``"sqlite"``. Instances are shared by
    the backends using the same engine: get them with :func:`get_database`.
    """

    def __init__(
        self,
        engine: Engine,
        dialect: str,
        transaction_per_request: bool = True,
        max_backlog: int | None = None,
    ):
        self.engine = engine
        self.dialect = dialect
        self.transaction_per_request = transaction_per_request
        #: Most threads allowed to wait for a pooled connection at once
        #: (None or negative: no limit); beyond, BackendError at once.
        self.max_backlog = None if max_backlog is None or max_backlog < 0 else max_backlog
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        pool = engine.pool
        #: Read connections between read requests (see _IdleReads): at most
        #: a third of the pool, none for a pool without size.
        self.idle_reads = _IdleReads(
            min(8, pool.size() // 3) if isinstance(pool, sqlalchemy.pool.QueuePool) else 0
        )
        # The same engine (pool, events) whose connections begin write
        # transactions, or none (see engines.BEGIN_OPTION).
        self._write_engine = engine.execution_options(**{engines.BEGIN_OPTION: "IMMEDIATE"})
        self._read_engine = engine.execution_options(
            **{engines.BEGIN_OPTION: engines.NO_TRANSACTION}
        )

    def __repr__(self) -> str:
        url = self.engine.url.render_as_string(hide_password=True)
        return f"<Database {url}>"

    @property
    def url(self) -> str:
        """The URL, password hidden (for messages)."""
        return self.engine.url.render_as_string(hide_password=True)

    def run(
        self, work: Callable[[Connection], T], *, write: bool = True, idempotent: bool = False
    ) -> T:
        """Call ``work(connection)`` inside the current transaction (see the
        module docstring) and return its result.

        ``write`` tells whether ``work`` may write. In a read request, a
        write runs in its own short transaction (committed even if the
        request fails). ``idempotent`` (a write that may be done again or
        committed alone without harm, like initialising a list timestamp or
        setting a cache key) is accepted for callers' documentation: every
        write of a read request is now treated so.
        """
        if not self.transaction_per_request:
            return self.run_standalone(work, write)
        request = get_current_request()
        if request is None:
            return self.run_standalone(work, write)
        manager = getattr(request, "tm", None) or transaction.manager
        txn = _current_transaction(manager)
        if txn is not None:
            joined = self._request_transaction(request, txn, manager)
            if write and not joined.write:
                return self.run_standalone(work, write)
            return joined.run(work)
        # A request without transaction manager transaction.
        held = self._read_connection(request, take=not write)
        if write:
            if held is not None:
                # Never two connections at once: the write takes one of
                # its own.
                held.release()
            return self.run_standalone(work, write)
        if held is None:
            return self.run_standalone(work, write)
        return held.run(work)

    def in_write_transaction(self) -> bool:
        """True when :meth:`run` would now join the transaction of a request
        that may write: its reads may see writes not committed yet."""
        if not self.transaction_per_request:
            return False
        request = get_current_request()
        if request is None:
            return False
        manager = getattr(request, "tm", None) or transaction.manager
        return _current_transaction(manager) is not None and _is_write_request(request)

    # Own short transactions.

    def run_standalone(self, work: Callable[[Connection], T], write: bool = True) -> T:
        """Call ``work(connection)`` in its own short transaction, whatever
        the current request (committed when it returns)."""
        engine = self._write_engine if write else self._read_engine
        for attempt in (1, 2):
            committing = False
            try:
                with self._checkout(engine.connect) as connection:
                    with connection.begin() as trans:
                        result = work(connection)
                        committing = True
                        try:
                            trans.commit()
                        except BaseException:
                            _discard(connection)
                            raise
                    return result
            except BackendError as e:
                if attempt == 1 and not committing and getattr(e, "disconnect", False):
                    continue
                raise
            except sqlalchemy.exc.SQLAlchemyError as e:
                _raise_translated(e)
        raise AssertionError("unreachable")  # pragma: no cover

    # Request transactions.

    def _request_transaction(self, request, txn: Any, manager: Any) -> _RequestConnection:
        """The state of this database in the request transaction ``txn``
        (joined by the first call)."""
        try:
            return txn.data(self)
        except KeyError:
            joined = _RequestConnection(self, txn, manager, write=_is_write_request(request))
            txn.set_data(self, joined)
            return joined

    # Read requests without transaction.

    def _read_connection(self, request, take: bool) -> _ReadConnection | None:
        """The connection holder of this database for ``request`` (a request
        without transaction manager transaction), or None when calls run in
        their own transactions (a write request, a finished request).

        A subrequest uses the holder of the request that invoked it (the
        requests under it on Pyramid's thread-local stack), so that a thread
        never holds two connections of one database. Otherwise, with
        ``take``, the first call of a read request creates the holder,
        given back when the request finishes."""
        slots = request.__dict__.get(_READ_CONNECTIONS)
        if slots is not None:
            held = slots.get(self)
            if held is not None:
                return held if held.open else None
        held = self._enclosing_read_connection(request)
        if held is None:
            if not take or _is_write_request(request):
                return None
            held = _ReadConnection(self)
            request.add_finished_callback(held.finish)
        if slots is None:
            slots = request.__dict__[_READ_CONNECTIONS] = {}
        slots[self] = held
        return held

    def _enclosing_read_connection(self, request) -> _ReadConnection | None:
        """The open holder of this database of a request being processed
        on this thread below ``request`` (which is then a subrequest)."""
        for entry in reversed(threadlocal_manager.stack):
            outer = entry.get("request")
            if outer is None or outer is request:
                continue
            slots = getattr(outer, "__dict__", {}).get(_READ_CONNECTIONS)
            held = slots.get(self) if slots else None
            if held is not None and held.open:
                return held
        return None

    def _connect(self, write: bool) -> tuple[Connection, Any]:
        """A pooled connection, in a (not yet sent) write transaction when
        ``write``, and that transaction (or None)."""
        engine = self._write_engine if write else self._read_engine
        try:
            connection = self._checkout(engine.connect)
        except sqlalchemy.exc.SQLAlchemyError as e:
            _raise_translated(e)
        if not write:
            return connection, None
        try:
            return connection, connection.begin()
        except BaseException as e:
            _close(connection)
            if isinstance(e, sqlalchemy.exc.SQLAlchemyError):
                _raise_translated(e)
            raise

    def _checkout(self, acquire: Callable[[], T]) -> T:
        """``acquire()`` a pooled connection, unless the pool is exhausted
        and ``max_backlog`` threads already wait for one."""
        pool = self.engine.pool
        if self.max_backlog is None or not isinstance(pool, sqlalchemy.pool.QueuePool):
            return acquire()
        capacity = pool.size() + max(getattr(pool, "_max_overflow", 0), 0)
        with self._waiting_lock:
            if self._waiting >= self.max_backlog and pool.checkedout() >= capacity:
                raise BackendError(message="Too many requests waiting for a database connection")
            self._waiting += 1
        try:
            return acquire()
        finally:
            with self._waiting_lock:
                self._waiting -= 1

    # Schema.

    def initialize_schema(self, kind: str, dry_run: bool = False) -> None:
        """Create or upgrade the schema of the backend ``kind``
        (``storage``, ``permission`` or ``cache``) with its Alembic
        migrations; with ``dry_run``, print the SQL instead."""
        from kinto.core.sql import migrations

        migrations.upgrade(self, kind, dry_run=dry_run)

    def check_schema(self, kind: str) -> None:
        """Raise :class:`kinto.core.sql.migrations.SchemaError` (a
        configuration error naming ``kinto migrate``) unless the schema of
        ``kind`` is at the latest migration."""
        from kinto.core.sql import migrations

        migrations.check(self, kind)

    def ping(self) -> bool:
        """True when the database answers (in its own transaction)."""
        try:
            self.run_standalone(lambda c: c.exec_driver_sql("SELECT 1").scalar(), write=False)
        except Exception:
            return False
        return True


class _ReadConnection:
    """The pooled connection of one database held by a read request without
    transaction manager transaction (see the module docstring): checked out
    by the first call, used as is by the later ones (each statement stands
    alone: no transaction control, nothing to begin or commit per call),
    given back to the pool when a call fails, before a write of the
    request, and when the request finishes (:meth:`finish`, a finished
    callback)."""

    __slots__ = ("database", "connection", "open")

    def __init__(self, database: Database) -> None:
        self.database = database
        #: The connection, from a call until released (else None).
        self.connection: Connection | None = None
        #: False once the request finished: later calls stand alone.
        self.open = True

    def run(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` on the held connection (checked out first
        if none is held); on a lost connection, once more on a fresh one."""
        for attempt in (1, 2):
            connection = self.connection
            if connection is None:
                connection = self.database.idle_reads.take()
                if connection is None:
                    connection = self.database._connect(False)[0]
                self.connection = connection
            try:
                return work(connection)
            except BaseException as e:
                # Statements stand alone: nothing to undo. The connection
                # goes back (discarded if lost), the call leaves no trace.
                lost = getattr(e, "disconnect", False)
                self.release(discard=lost)
                if lost:  # the idle ones most likely too
                    self.database.idle_reads.close_all()
                if attempt == 1 and lost:
                    continue
                if isinstance(e, sqlalchemy.exc.SQLAlchemyError):
                    _raise_translated(e)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def release(self, discard: bool = False) -> None:
        """Give the connection back to the pool (close the driver
        connection instead with ``discard``); idempotent."""
        connection = self.connection
        if connection is None:
            return
        self.connection = None
        if discard:
            _discard(connection)
        _close(connection)

    def finish(self, request: Any = None) -> None:
        """The request finished (whatever its outcome): give the
        connection back; later calls run in their own transactions."""
        self.open = False
        connection = self.connection
        if connection is not None and self.database.idle_reads.give(connection):
            self.connection = None
        self.release()


class _IdleReads:
    """At most ``size`` read connections waiting for the next read request,
    last in first out (see the module docstring): still checked out of the
    pool, in the state a read request leaves them (no transaction)."""

    __slots__ = ("size", "_stack")

    def __init__(self, size: int) -> None:
        self.size = size
        self._stack: collections.deque[Connection] = collections.deque()

    def take(self) -> Connection | None:
        """An idle connection (no longer idle), or None."""
        try:
            return self._stack.pop()
        except IndexError:
            return None

    def give(self, connection: Connection) -> bool:
        """Keep ``connection`` idle if there is room and it is usable (open,
        no transaction left open on the driver's side)."""
        if len(self._stack) >= self.size or connection.closed or connection.invalidated:
            return False
        driver = connection.connection.dbapi_connection
        status = getattr(driver, "info", None)
        if status is not None:  # psycopg2: 0 is idle, no transaction
            if status.transaction_status != 0:
                return False
        elif getattr(driver, "in_transaction", False):  # sqlite3
            return False
        self._stack.append(connection)
        return True

    def close_all(self) -> None:
        """Give every idle connection back to the pool."""
        while (connection := self.take()) is not None:
            _close(connection)

    def abandon(self) -> None:
        """Forget the idle connections without touching them (a forked
        process: they are the parent's), keeping them from being collected."""
        while (connection := self.take()) is not None:
            _ABANDONED.append(connection)

    def __len__(self) -> int:
        return len(self._stack)


#: Idle connections of a parent process, never to be closed or collected.
_ABANDONED: list[Connection] = []


@implementer(ISavepointDataManager)
class _RequestConnection:
    """One database in one request transaction: the connection holding it
    (checked out by the first call, see the module docstring) and the data
    manager that commits or rolls it back with the ``transaction``
    package's transaction, returning the connection to the pool."""

    __slots__ = (
        "database",
        "txn",
        "transaction_manager",
        "write",
        "connection",
        "root",
        "joined",
        "savepoints",
        "_names",
    )

    def __init__(self, database: Database, txn: Any, manager: Any, write: bool) -> None:
        self.database = database
        self.txn = txn
        self.transaction_manager = manager
        #: Began as a write transaction (else each statement stands alone).
        self.write = write
        #: The connection, from the first call until the end (or a failure).
        self.connection: Connection | None = None
        #: Its database transaction (write transactions only).
        self.root: Any = None
        #: Whether this is one of the transaction's data managers.
        self.joined = False
        #: The savepoints that may still be rolled back, oldest first.
        self.savepoints: list[_Savepoint] = []
        self._names = 0

    def run(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` in this request transaction."""
        for attempt in (1, 2):
            connection = self.connection
            fresh = connection is None
            if fresh:
                connection, self.root = self.database._connect(self.write)
                self.connection = connection
            try:
                result = work(connection)
            except BaseException as e:
                if fresh or not self.write:
                    # Nothing of the transaction is on this connection (in
                    # a read request, statements stand alone): give it
                    # back, so that the call leaves no trace.
                    self._release()
                    if attempt == 1 and getattr(e, "disconnect", False):
                        continue
                if isinstance(e, sqlalchemy.exc.SQLAlchemyError):
                    _raise_translated(e)
                raise
            if not self.joined:
                try:
                    self.txn.join(self)
                except BaseException:
                    self._release()
                    raise
                self.joined = True
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _release(self) -> None:
        """Roll back whatever is not committed, return the connection to
        the pool (idempotent)."""
        connection = self.connection
        self.connection = self.root = None
        for savepoint in self.savepoints:
            savepoint.active = False
        self.savepoints.clear()
        if connection is not None:
            _close(connection)

    # IDataManager: a one-phase resource, committed in tpc_vote.

    def abort(self, txn: Any) -> None:
        """The transaction is aborted, or rolled back to a savepoint taken
        before this database joined it: roll back, leave it."""
        self.joined = False
        self._release()

    def tpc_begin(self, txn: Any) -> None:
        pass

    def commit(self, txn: Any) -> None:
        pass

    def tpc_vote(self, txn: Any) -> None:
        """Commit, and return the connection whatever happens; raise
        (translated) if the commit fails or the connection was lost."""
        connection, root = self.connection, self.root
        if connection is None:
            return
        try:
            if root is not None:
                if connection.invalidated or not root.is_active:
                    raise BackendError(
                        message="Connection to the database lost before the commit: "
                        "nothing was committed"
                    )
                try:
                    root.commit()
                except BaseException:
                    _discard(connection)
                    raise
        except sqlalchemy.exc.SQLAlchemyError as e:
            _raise_translated(e)
        finally:
            self._release()

    def tpc_finish(self, txn: Any) -> None:
        self.joined = False

    def tpc_abort(self, txn: Any) -> None:
        self.joined = False
        self._release()

    def sortKey(self) -> str:
        # After the other data managers ("~" sorts late): they vote before
        # this commits.
        return f"~kinto.core.sql:{id(self)}"

    # ISavepointDataManager.

    def savepoint(self) -> _Savepoint:
        """A savepoint of the database transaction (sent with the next
        statement on PostgreSQL, see kinto.core.sql.engines)."""
        connection = self.connection
        if connection is None or self.root is None:
            # No connection yet, or statements standing alone.
            return _Savepoint(self, None)
        self._names += 1
        name = f"kinto_{self._names}"
        try:
            connection.dialect.do_savepoint(connection, name)
        except sqlalchemy.exc.SQLAlchemyError as e:
            _raise_translated(e)
        savepoint = _Savepoint(self, name)
        self.savepoints.append(savepoint)
        return savepoint


@implementer(IDataManagerSavepoint)
class _Savepoint:
    """A savepoint of a :class:`_RequestConnection`: ``name`` is the
    database savepoint, None when there was no write transaction yet."""

    __slots__ = ("owner", "name", "active")

    def __init__(self, owner: _RequestConnection, name: str | None) -> None:
        self.owner = owner
        self.name = name
        self.active = True

    def rollback(self) -> None:
        """Undo what the request did on this database since the savepoint
        (once)."""
        owner = self.owner
        if self.name is None:
            if owner.write:
                # Everything on this database came after the savepoint.
                owner._release()
            return
        if not self.active:
            raise InvalidSavepointRollbackError("savepoint already rolled back or released")
        index = owner.savepoints.index(self)
        for later in owner.savepoints[index:]:
            later.active = False
        del owner.savepoints[index:]
        connection = owner.connection
        try:
            connection.dialect.do_rollback_to_savepoint(connection, self.name)
        except sqlalchemy.exc.SQLAlchemyError as e:
            _raise_translated(e)


def get_database(settings: Mapping[str, Any], prefix: str) -> Database:
    """The :class:`Database` for the ``<prefix>url`` and pool settings
    (``prefix`` is ``"storage_"``, ``"permission_"`` or ``"cache_"``),
    shared with the backends using the same URL and options."""
    engine, dialect = engines.get_engine(settings, prefix)
    per_request = asbool(settings.get("transaction_per_request", True))
    backlog = settings.get(prefix + "max_backlog")
    backlog = None if backlog in (None, "") else int(backlog)
    key = (engine, per_request)
    with _databases_lock:
        database = _databases.get(key)
        if database is None:
            database = _databases[key] = Database(engine, dialect, per_request, backlog)
    return database


def get_backend_database(settings: Mapping[str, Any], prefix: str) -> Database:
    """The :class:`Database` of a backend other than the storage
    (``prefix`` ``"permission_"`` or ``"cache_"``): the storage's one when
    ``<prefix>url`` is the storage's URL, whatever the ``<prefix>pool_*``
    settings say. Two engines on one SQLite file would wait on each other's
    write lock within a request (then "database is locked"), and on
    PostgreSQL one connection per request is cheaper than two
    (:func:`get_database` keys engines by URL *and* pool options)."""
    url = settings.get(prefix + "url")
    if url and url == settings.get("storage_url"):
        prefix = "storage_"
    return get_database(settings, prefix)


def dispose_all(database: str | None = None, close: bool = True) -> None:
    """Forget the shared databases (every one, or those whose URL names
    ``database``, e.g. a SQLite file path) and close their pooled
    connections (tests); in a forked process, ``close=False`` leaves the
    parent's connections alone."""
    with _databases_lock:
        for key, shared in _databases.items():
            if database in (None, key[0].url.database):
                # Back to their pool before it is disposed.
                if close:
                    shared.idle_reads.close_all()
                else:
                    shared.idle_reads.abandon()
    disposed = engines.dispose_engines(database, close=close)
    with _databases_lock:
        for key in [key for key in _databases if key[0] in disposed]:
            del _databases[key]


def _current_transaction(manager) -> Any:
    """The transaction in progress in ``manager``, or None: never begins
    one implicitly (work done there would never be committed)."""
    inner = getattr(manager, "manager", manager)
    if getattr(inner, "_txn", True) is None:
        return None
    try:
        txn = manager.get()
    except NoTransaction:
        return None
    if txn.status not in _JOINABLE:
        # E.g. an after-commit hook: the transaction is over.
        return None
    return txn


def _is_write_request(request) -> bool:
    root = request
    while getattr(root, "parent", None) is not None:
        root = root.parent
    return root.method not in SAFE_METHODS


def _close(connection: Connection) -> None:
    """Close ``connection`` (rolling back what it did not commit, returning
    it to the pool); a broken one is discarded by the pool."""
    with contextlib.suppress(Exception):
        connection.close()


def _discard(connection: Connection) -> None:
    """Close the driver connection of ``connection`` instead of returning it
    to the pool: after a failed commit its state is unknown (SQLite keeps
    the transaction open, SQLAlchemy considers it ended)."""
    with contextlib.suppress(Exception):
        connection.invalidate()


def _raise_translated(error: sqlalchemy.exc.SQLAlchemyError) -> None:
    """Raise the storage error standing for ``error`` (or ``error``)."""
    translated = errors.translate(error)
    if translated is None:
        raise error
    raise translated from error
