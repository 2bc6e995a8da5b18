"""The transaction rule of the SQL backends: :class:`Database`.

Backends never open connections themselves: they hand a function to
:meth:`Database.run`, which calls it with a SQLAlchemy ``Connection`` inside
the right database transaction:

* **During a request** (``pyramid.threadlocal.get_current_request()`` is not
  None and its ``transaction`` manager has a transaction in progress), the
  work joins that transaction through ``zope.sqlalchemy``: one database
  transaction per request (and per batch), shared by every backend using the
  same engine, committed or aborted by ``pyramid_tm`` (or by the CLI's
  ``transaction.manager``). A request with a method other than GET, HEAD or
  OPTIONS (for a batch subrequest: the batch's method) begins it as a *write*
  transaction (``BEGIN IMMEDIATE`` on SQLite, so that concurrent writers
  queue on the database lock instead of failing with "database is
  locked"). PostgreSQL transactions are ``READ COMMITTED``: each statement
  sees what was committed before it (a GET that reads a list's timestamp,
  then the list, may see objects newer than that timestamp, never miss
  older ones).
* A read request (GET, HEAD, OPTIONS) opens **no** database transaction:
  each of its statements runs on its own, on one connection kept for the
  request, which sees what ``READ COMMITTED`` would and saves the ``BEGIN``
  and ``ROLLBACK`` round trips. Its rare writes
  (implicit creation of a default bucket) run each in their own short
  transaction, committed when the call returns (on SQLite also because a
  read transaction cannot become a write one once another connection has
  written).
* **Otherwise** (tests, background jobs, heartbeat threads, and whenever the
  ``transaction_per_request`` setting is false) each call runs in its own
  short transaction, committed when the function returns and rolled back if
  it raises.

A connection lost before anything was committed (database restarted, idle
connection cut) is retried once on a fresh connection when that is safe (no
earlier work in the transaction), so that the server recovers by itself after
an outage without a liveness query per request. Errors come out translated
by :mod:`kinto.core.sql.errors` (``BackendError`` → 503,
``IntegrityError`` → 409).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import sqlalchemy.exc
import sqlalchemy.pool
import transaction
from pyramid.settings import asbool
from pyramid.threadlocal import get_current_request
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from transaction._transaction import Status
from transaction.interfaces import NoTransaction
from zope.sqlalchemy.datamanager import (
    STATUS_ACTIVE,
    STATUS_CHANGED,
    join_transaction,
    mark_changed,
)

from kinto.core.sql import engines, errors
from kinto.core.storage import BackendError

T = TypeVar("T")

_READ_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
_JOINABLE = (Status.ACTIVE, Status.DOOMED)

_databases: dict[tuple[Engine, bool], Database] = {}
_databases_lock = threading.Lock()


class _Joined:
    """What a database keeps in one request transaction: the session (its
    connection) and whether it began as a write transaction."""

    __slots__ = ("session", "connection", "write", "joined", "changed", "manager")

    def __init__(self, write: bool) -> None:
        self.session: Session | None = None
        self.connection: Connection | None = None
        self.write = write
        # Joined to the zope transaction (after the first successful call).
        self.joined = False
        self.changed = False
        self.manager: Any = None


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
        self._write_options = {engines.BEGIN_OPTION: "IMMEDIATE"}
        self._read_options = {engines.BEGIN_OPTION: engines.NO_TRANSACTION}

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
        joined = self._request_transaction(write)
        if joined is None:
            return self.run_standalone(work, write)
        return self._run_joined(joined, work, write)

    # Own short transactions.

    def run_standalone(self, work: Callable[[Connection], T], write: bool = True) -> T:
        """Call ``work(connection)`` in its own short transaction, whatever
        the current request (committed when it returns)."""
        options = self._write_options if write else self._read_options
        for attempt in (1, 2):
            committing = False
            try:
                with self._checkout(self.engine.connect) as connection:
                    connection.execution_options(**options)
                    with connection.begin() as trans:
                        result = work(connection)
                        committing = True
                        trans.commit()
                    return result
            except BackendError as e:
                if attempt == 1 and not committing and getattr(e, "disconnect", False):
                    continue
                raise
            except sqlalchemy.exc.SQLAlchemyError as e:
                _raise_translated(e)
        raise AssertionError("unreachable")  # pragma: no cover

    # Request transactions.

    def _request_transaction(self, write: bool) -> _Joined | None:
        """The state of this database in the current request transaction,
        or None if work (``write`` or not) must run in its own transaction."""
        if not self.transaction_per_request:
            return None
        request = get_current_request()
        if request is None:
            return None
        manager = getattr(request, "tm", None) or transaction.manager
        txn = _current_transaction(manager)
        if txn is None:
            return None
        try:
            joined = txn.data(self)
        except KeyError:
            joined = _Joined(write=_is_write_request(request))
            txn.set_data(self, joined)
        if write and not joined.write:
            return None
        joined.manager = manager
        return joined

    def _run_joined(self, joined: _Joined, work: Callable[[Connection], T], write: bool) -> T:
        for attempt in (1, 2):
            session = joined.session
            fresh = session is None or not session.in_transaction() or not joined.joined
            if fresh:
                self._begin_session(joined)
            try:
                # Through the session (not a kept connection), so that the
                # SAVEPOINT of a savepoint taken meanwhile gets emitted.
                connection = joined.connection if fresh else joined.session.connection()
                result = work(connection)
            except BaseException as e:
                if fresh:
                    # Nothing of this transaction is in this session yet:
                    # drop it, so that a failed call leaves no trace.
                    self._drop_session(joined)
                    if attempt == 1 and getattr(e, "disconnect", False):
                        continue
                if isinstance(e, sqlalchemy.exc.SQLAlchemyError):
                    _raise_translated(e)
                raise
            manager = joined.manager
            if fresh:
                state = STATUS_CHANGED if write else STATUS_ACTIVE
                join_transaction(joined.session, state, transaction_manager=manager)
                joined.joined = True
                joined.changed = write
            elif write and not joined.changed:
                mark_changed(joined.session, transaction_manager=manager)
                joined.changed = True
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _begin_session(self, joined: _Joined) -> None:
        session = Session(bind=self.engine, expire_on_commit=False)
        options = self._write_options if joined.write else self._read_options
        try:
            joined.connection = self._checkout(
                lambda: session.connection(execution_options=options)
            )
        except BaseException as e:
            session.close()
            if isinstance(e, sqlalchemy.exc.SQLAlchemyError):
                _raise_translated(e)
            raise
        joined.session = session
        joined.joined = False
        joined.changed = False

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

    def _drop_session(self, joined: _Joined) -> None:
        session = joined.session
        joined.session = joined.connection = None
        joined.joined = joined.changed = False
        if session is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to release
                session.close()

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


def dispose_all(database: str | None = None, close: bool = True) -> None:
    """Forget the shared databases (every one, or those whose URL names
    ``database``, e.g. a SQLite file path) and close their pooled
    connections (tests); in a forked process, ``close=False`` leaves the
    parent's connections alone."""
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
    return root.method not in _READ_METHODS


def _raise_translated(error: sqlalchemy.exc.SQLAlchemyError) -> None:
    """Raise the storage error standing for ``error`` (or ``error``)."""
    translated = errors.translate(error)
    if translated is None:
        raise error
    raise translated from error
