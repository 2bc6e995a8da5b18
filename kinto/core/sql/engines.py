"""SQLAlchemy engines built from ``<prefix>*`` settings, one per URL and
options (so that backends configured with the same URL share an engine,
hence a connection pool and the request's database transaction).

Supported URLs:

* ``postgresql://user:password@host:port/db`` (``postgres://`` too): psycopg2;
* ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``: the
  standard library driver, in WAL mode with ``busy_timeout`` and foreign
  keys on, and Python's own transaction handling turned off: transactions
  are begun by an explicit ``BEGIN`` (``BEGIN IMMEDIATE`` for writes, see
  :data:`BEGIN_OPTION`), which also makes savepoints work.

On both, the driver is in autocommit mode and transactions are explicit,
chosen by the :data:`BEGIN_OPTION` execution option of the connection:
``"IMMEDIATE"`` or ``"DEFERRED"`` (the default) begin one, ``"NONE"`` runs
each statement on its own (reads that need no snapshot: no ``BEGIN`` nor
``ROLLBACK`` round trips). On PostgreSQL the ``BEGIN`` travels with the
first statement of the transaction (``BEGIN; <statement>`` in one round
trip, with any ``SAVEPOINT`` or ``RELEASE SAVEPOINT`` pending), and
``COMMIT``/``ROLLBACK`` are sent only when a transaction is open; a
``COMMIT`` of a transaction in which a statement failed raises (a
``BackendError`` once translated) instead of rolling back silently.

Pool settings read (all optional, values may be strings):
``<prefix>pool_size``, ``<prefix>max_overflow``, ``<prefix>pool_recycle``,
``<prefix>pool_timeout``, ``<prefix>pool_pre_ping``, ``<prefix>poolclass``
(dotted name, e.g. ``sqlalchemy.pool.NullPool``), ``<prefix>echo``,
``<prefix>max_backlog`` (most threads waiting for a connection, beyond
which requests fail at once with a 503; -1, the default, for no limit: see
:class:`kinto.core.sql.database.Database`); SQLite
only: ``<prefix>busy_timeout`` (seconds, default 10); PostgreSQL only:
``<prefix>connect_timeout`` (seconds, default 5),
``<prefix>prepared_statements`` (default true: the hottest statements are
prepared on each connection and planned once, see
:mod:`kinto.core.sql.prepared`; false behind a pooler in transaction mode)
and
``<prefix>synchronous_commit`` (the server's ``synchronous_commit`` for
Kinto's connections; unset: the server's setting). ``off`` makes a commit
return before its WAL record reaches the disk: writers of one list hold the
list's lock until their commit returns, so a disk flush per write bounds
the creations per second in one list (about 1 / fsync time); with ``off``
a *server* crash (not an application crash) may lose the last fraction of
a second of acknowledged writes, never corrupting the database.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from typing import Any

import orjson
import sqlalchemy
from pyramid.exceptions import ConfigurationError
from pyramid.path import DottedNameResolver
from pyramid.settings import asbool
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url

from kinto.core.sql import errors
from kinto.core.storage.utils import sort_key

POSTGRESQL = "postgresql"
SQLITE = "sqlite"

#: Execution option naming how a transaction begins: ``"DEFERRED"`` (the
#: default) or ``"IMMEDIATE"`` (SQLite: take the write lock at once; the
#: same as ``"DEFERRED"`` on PostgreSQL), or ``"NONE"``: no transaction,
#: each statement commits on its own.
BEGIN_OPTION = "kinto_begin"
NO_TRANSACTION = "NONE"

DEFAULT_SQLITE_BUSY_TIMEOUT = 10
DEFAULT_CONNECT_TIMEOUT = 5

_INT_OPTIONS = ("pool_size", "max_overflow", "pool_recycle")
_SIZE_OPTIONS = ("pool_size", "max_overflow", "pool_timeout")

#: Engine option (and attribute of its dialect): whether the statements run
#: by kinto.core.sql.fast are prepared (PostgreSQL, see sql.prepared).
PREPARE_OPTION = "kinto_prepared_statements"

_SYNCHRONOUS_COMMIT = frozenset(("on", "off", "local", "remote_write", "remote_apply"))

_engines: dict[tuple, Engine] = {}
_engines_lock = threading.Lock()


def parse_url(raw: str) -> tuple[URL, str]:
    """Return the SQLAlchemy URL to use for ``raw`` and its dialect name
    (:data:`POSTGRESQL` or :data:`SQLITE`); raise ``ConfigurationError``
    for anything else (including in-memory SQLite, which cannot be shared
    between the connections of a pool)."""
    if not raw:
        raise ConfigurationError("A database URL is required (e.g. sqlite:///kinto.db).")
    try:
        url = make_url(raw)
    except Exception as e:
        raise ConfigurationError(f"Invalid database URL {raw!r}: {e}") from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg2"), POSTGRESQL
    if backend == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            raise ConfigurationError(
                f"SQLite URL {raw!r} must name a file (sqlite:///path/to/kinto.db)."
            )
        # The standard library driver, named explicitly; its own transaction
        # handling is turned off (see _setup_sqlite).
        return url.set(drivername="sqlite+pysqlite"), SQLITE
    raise ConfigurationError(
        f"Unsupported database URL {url.render_as_string(hide_password=True)!r}: "
        "use postgresql:// or sqlite:///."
    )


def engine_options(settings: Mapping[str, Any], prefix: str, dialect: str) -> dict[str, Any]:
    """The ``create_engine`` keyword arguments given by ``<prefix>*``
    settings (a hashable-friendly dict of simple values)."""

    def get(name: str) -> Any:
        value = settings.get(prefix + name)
        return None if value is None or value == "" else value

    options: dict[str, Any] = {}
    poolclass = get("poolclass")
    if poolclass is not None:
        options["poolclass"] = DottedNameResolver().maybe_resolve(poolclass)
    for name in (*_INT_OPTIONS, "pool_timeout"):
        value = get(name)
        if value is not None:
            options[name] = float(value) if name == "pool_timeout" else int(value)
    if poolclass is not None and not _is_queue_pool(options["poolclass"]):
        # NullPool, StaticPool... do not take size options.
        for name in _SIZE_OPTIONS:
            options.pop(name, None)
    for name in ("pool_pre_ping", "echo"):
        value = get(name)
        if value is not None:
            options[name] = asbool(value)

    connect_args: dict[str, Any] = {}
    if dialect == POSTGRESQL:
        prepare = get("prepared_statements")
        options[PREPARE_OPTION] = True if prepare is None else asbool(prepare)
    if dialect == SQLITE:
        busy = get("busy_timeout")
        connect_args["timeout"] = float(DEFAULT_SQLITE_BUSY_TIMEOUT if busy is None else busy)
        connect_args["check_same_thread"] = False
    else:
        timeout = get("connect_timeout")
        connect_args["connect_timeout"] = int(
            DEFAULT_CONNECT_TIMEOUT if timeout is None else timeout
        )
        connect_args["application_name"] = "kinto"
        synchronous_commit = get("synchronous_commit")
        if synchronous_commit is not None:
            value = str(synchronous_commit).strip().lower()
            if value not in _SYNCHRONOUS_COMMIT:
                raise ConfigurationError(
                    f"{prefix}synchronous_commit must be one of "
                    f"{', '.join(sorted(_SYNCHRONOUS_COMMIT))}, not {synchronous_commit!r}"
                )
            connect_args["options"] = f"-c synchronous_commit={value}"
    options["connect_args"] = connect_args
    return options


def _is_queue_pool(poolclass: Any) -> bool:
    return isinstance(poolclass, type) and issubclass(poolclass, sqlalchemy.pool.QueuePool)


def create_engine(settings: Mapping[str, Any], prefix: str) -> tuple[Engine, str]:
    """A new engine for ``<prefix>url`` (and its dialect name), not shared:
    prefer :func:`get_engine`."""
    url, dialect = parse_url(settings.get(prefix + "url") or "")
    return _create(url, dialect, engine_options(settings, prefix, dialect)), dialect


def _create(url: URL, dialect: str, options: dict[str, Any]) -> Engine:
    options = dict(options)
    prepare = options.pop(PREPARE_OPTION, False)
    if dialect == POSTGRESQL:
        # Transactions are begun by _setup_postgresql.
        options["isolation_level"] = "AUTOCOMMIT"
    # Statement parameters hold stored documents and secrets (hashed
    # passwords, tokens): never in error messages or logs.
    engine = sqlalchemy.create_engine(url, hide_parameters=True, **options)
    errors.install(engine)
    if dialect == SQLITE:
        timeout = options.get("connect_args", {}).get("timeout", DEFAULT_SQLITE_BUSY_TIMEOUT)
        _setup_sqlite(engine, float(timeout))
    else:
        _setup_postgresql(engine)
        if prepare:
            event.listen(engine, "connect", _use_generic_plans)
    # Read by kinto.core.sql.fast on the connection's dialect.
    setattr(engine.dialect, PREPARE_OPTION, prepare)
    return engine


def _use_generic_plans(raw, connection_record) -> None:
    """Have the connection's prepared statements planned once (PostgreSQL
    12 and later; see :mod:`kinto.core.sql.prepared`)."""
    if raw.server_version < 120000:
        return
    with raw.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
    if not raw.autocommit:
        raw.commit()


def get_engine(settings: Mapping[str, Any], prefix: str) -> tuple[Engine, str]:
    """Return the engine for ``<prefix>url`` (and its dialect name),
    creating it on first use; backends with the same URL and pool options
    get the same engine."""
    url, dialect = parse_url(settings.get(prefix + "url") or "")
    options = engine_options(settings, prefix, dialect)
    key = (url.render_as_string(hide_password=False), _freeze(options))
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _create(url, dialect, options)
    return engine, dialect


def dispose_engines(database: str | None = None, close: bool = True) -> list[Engine]:
    """Close the pooled connections of the shared engines (of every engine,
    or of those whose URL names ``database``) and forget them; return
    them. For tests, and in a forked process with ``close=False`` (the
    parent's connections are left to the parent)."""
    with _engines_lock:
        doomed = [
            key for key, engine in _engines.items() if database in (None, engine.url.database)
        ]
        engines = [_engines.pop(key) for key in doomed]
    for engine in engines:
        engine.dispose(close=close)
    return engines


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def _json_equal(stored: str | None, value: str | None) -> int:
    """``kinto_json_equal(json_text, json_text)``: 1 when both are equal as
    JSON values (numbers by value, objects whatever their key order)."""
    if stored is None or value is None:
        return 0
    try:
        return int(sort_key(orjson.loads(stored)) == sort_key(orjson.loads(value)))
    except (ValueError, TypeError):
        return 0


def _lower(text: str | None) -> str | None:
    """``kinto_lower(text)``: Unicode lower case (SQLite's ``lower()`` only
    knows ASCII)."""
    return text.lower() if isinstance(text, str) else text


#: Functions registered on every SQLite connection: (name, arity, function).
SQLITE_FUNCTIONS = (
    ("kinto_json_equal", 2, _json_equal),
    ("kinto_lower", 1, _lower),
)


#: One lock per SQLite database file, taken by a write transaction of this
#: process before its ``BEGIN IMMEDIATE`` (see :func:`_setup_sqlite`).
_sqlite_write_locks: dict[str, threading.Lock] = {}
_sqlite_write_locks_lock = threading.Lock()
#: Key of the connection ``info`` telling that its transaction holds the lock.
_WRITE_LOCK = "kinto_sqlite_write_lock"


def _sqlite_write_lock(path: str | None) -> threading.Lock:
    with _sqlite_write_locks_lock:
        lock = _sqlite_write_locks.get(path or "")
        if lock is None:
            lock = _sqlite_write_locks[path or ""] = threading.Lock()
        return lock


def _setup_sqlite(engine: Engine, busy_timeout: float) -> None:
    """Per connection pragmas, and explicit ``BEGIN`` statements instead of
    the standard driver's implicit ones.

    SQLite lets one writer in at a time. A writer that finds the database
    locked sleeps and retries (``busy_timeout``), by steps of up to 100 ms,
    whatever moment the lock is freed: waiting writers would wake late and
    queue for tens of milliseconds. The writers of this process therefore
    first wait for each other on a lock of the process (woken as soon as
    the previous write transaction ends), then ``BEGIN IMMEDIATE``; SQLite's
    own waiting is left to writers of other processes. A writer that waited
    ``busy_timeout`` for the process lock goes on without it (SQLite then
    answers as before)."""
    write_lock = _sqlite_write_lock(engine.url.database)

    def release(info) -> None:
        if info.pop(_WRITE_LOCK, False):
            with contextlib.suppress(RuntimeError):  # pragma: no cover - never unlocked twice
                write_lock.release()

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" event below
        # decides when and how a transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode, NORMAL loses nothing on a process crash (only on
            # an OS crash or power loss, the last transactions).
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()
        for name, arity, function in SQLITE_FUNCTIONS:
            dbapi_connection.create_function(name, arity, function, deterministic=True)

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        if mode == NO_TRANSACTION:
            return
        if mode != "IMMEDIATE":
            connection.exec_driver_sql("BEGIN")
            return
        info = connection.connection.info
        info[_WRITE_LOCK] = write_lock.acquire(timeout=busy_timeout)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            release(info)
            raise

    def ending(original):
        def do_end(dbapi_connection) -> None:
            try:
                original(dbapi_connection)
            finally:
                try:
                    info = dbapi_connection.info  # a pooled connection
                except (AttributeError, NotImplementedError):
                    info = None  # a raw one, or the ad hoc one of the first connect
                if info is not None:
                    release(info)

        return do_end

    dialect = engine.dialect
    dialect.do_commit = ending(dialect.do_commit)
    dialect.do_rollback = ending(dialect.do_rollback)

    @event.listens_for(engine, "checkin")
    def on_checkin(dbapi_connection, connection_record) -> None:
        # A connection given back (or discarded) in the middle of a write.
        if connection_record is not None:
            release(connection_record.info)


#: Key of the connection ``info`` holding the transaction control
#: statements not sent yet (see :func:`_setup_postgresql`).
PENDING = "kinto_pending"
#: Key of the connection ``info`` holding the lists the open transaction
#: holds locked (see :func:`held_lists`).
HELD = "kinto_held_lists"


def _setup_postgresql(engine: Engine) -> None:
    """Explicit transactions on connections in autocommit mode (see the
    module docstring).

    Transaction control statements cost a round trip each when sent alone:
    ``BEGIN``, ``SAVEPOINT`` and ``RELEASE SAVEPOINT`` are instead kept
    pending on the connection and sent in front of the next statement
    (``BEGIN;SAVEPOINT sa_1;INSERT ...``, one round trip); what no statement
    followed is never sent (a savepoint released or rolled back before any
    statement, releases before ``COMMIT``, a transaction that sent nothing).
    ``COMMIT`` and ``ROLLBACK`` are sent only when the driver reports a
    transaction open. A batch of N writing subrequests thus saves 2N round
    trips, a read request its ``BEGIN`` and ``ROLLBACK``. Writes whose
    outcome nobody reads (:func:`send_later`, e.g. the creator's ACE of a
    new object) wait in the same queue: sent in front of the next statement,
    or with the ``COMMIT`` (``...;INSERT ...;COMMIT``), dropped by a
    rollback or with their savepoint."""
    dialect = engine.dialect
    preparer = dialect.identifier_preparer

    def pending(connection) -> list[str]:
        info = connection.connection.info
        statements = info.get(PENDING)
        if statements is None:
            statements = info[PENDING] = []
        return statements

    def savepoint_name(name: str) -> str:
        return preparer.format_savepoint(None, name)

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        begin = connection.get_execution_options().get(BEGIN_OPTION) != NO_TRANSACTION
        info = connection.connection.info
        info[PENDING] = ["BEGIN"] if begin else []
        info[HELD] = {} if begin else None

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def before_execute(connection, cursor, statement, parameters, context, executemany):
        info = connection.connection.info
        held = info.get(HELD)
        if held:
            held.clear()
        statements = info.get(PENDING)
        if statements:
            prefix = ";".join(statements)
            statements.clear()
            if executemany:
                cursor.execute(prefix)
            else:
                statement = f"{prefix};{statement}"
        return statement, parameters

    def do_savepoint(connection, name: str) -> None:
        pending(connection).append(f"SAVEPOINT {savepoint_name(name)}")

    def do_release_savepoint(connection, name: str) -> None:
        statements = pending(connection)
        created = f"SAVEPOINT {savepoint_name(name)}"
        if statements and statements[-1] == created:
            statements.pop()  # nothing happened in it
        else:
            statements.append(f"RELEASE {created}")

    def do_rollback_to_savepoint(connection, name: str) -> None:
        held = connection.connection.info.get(HELD)
        if held:
            held.clear()  # a lock taken inside the savepoint is released
        statements = pending(connection)
        created = f"SAVEPOINT {savepoint_name(name)}"
        if created in statements:
            # Never sent: neither was anything after it.
            del statements[statements.index(created) :]
            return
        # Everything pending happened inside the savepoint.
        statements.clear()
        connection.exec_driver_sql(f"ROLLBACK TO {created}")

    def end(verb: str):
        def do_end(dbapi_connection) -> None:
            # A pooled connection (PoolProxiedConnection) or a raw one.
            pending = None
            raw = getattr(dbapi_connection, "dbapi_connection", None)
            if raw is None:
                raw = dbapi_connection
            else:
                with contextlib.suppress(NotImplementedError):  # ad hoc, at first connect
                    pending = dbapi_connection.info.pop(PENDING, None)
                    dbapi_connection.info.pop(HELD, None)
            if raw.closed:
                raw.rollback()  # raises the driver's "connection already closed"
            status = raw.info.transaction_status
            if verb == "COMMIT" and pending and status != _INERROR and _has_writes(pending):
                # Writes sent later (send_later) go with the COMMIT.
                _send_and_commit(raw, pending)
                return
            if status == _IDLE:
                return
            if status == _INERROR and verb == "COMMIT":
                # PostgreSQL would answer a COMMIT with a silent ROLLBACK:
                # the transaction's earlier writes must not be reported
                # as committed.
                with raw.cursor() as cursor:
                    cursor.execute("ROLLBACK")
                raise _in_failed_transaction()
            with raw.cursor() as cursor:
                cursor.execute(verb)

        return do_end

    dialect.do_begin = lambda dbapi_connection: None
    dialect.do_commit = end("COMMIT")
    dialect.do_rollback = end("ROLLBACK")
    dialect.do_savepoint = do_savepoint
    dialect.do_release_savepoint = do_release_savepoint
    dialect.do_rollback_to_savepoint = do_rollback_to_savepoint


_CONTROL = ("BEGIN", "SAVEPOINT ", "RELEASE ")
_SAVEPOINTS = ("SAVEPOINT ", "RELEASE ")


def _has_writes(pending: list[str]) -> bool:
    return any(not statement.startswith(_CONTROL) for statement in pending)


def _send_and_commit(raw, pending: list[str]) -> None:
    """Send the pending statements and ``COMMIT`` in one round trip; on
    failure roll back what the transaction did and raise. The pending
    savepoints and releases are left out: nothing can roll back to a
    savepoint any more, and each would cost the server a subtransaction
    (a batch queues one per subrequest)."""
    statements = [s for s in pending if not s.startswith(_SAVEPOINTS)]
    try:
        with raw.cursor() as cursor:
            cursor.execute(";".join([*statements, "COMMIT"]))
    except Exception:
        if not raw.closed and raw.info.transaction_status != _IDLE:
            with raw.cursor() as cursor:
                cursor.execute("ROLLBACK")
        raise


def send_later(connection, statement: str) -> bool:
    """Queue ``statement`` (SQL text, values included) to be sent in front
    of the next statement of ``connection`` or with its ``COMMIT``, like the
    pending transaction control statements (PostgreSQL only; see
    :func:`_setup_postgresql`). A rollback, or the rollback of a savepoint
    taken before it, drops it unsent, as the database would have undone it.
    Returns False (nothing queued) when ``connection`` has no transaction
    begun on this engine's terms."""
    statements = connection.connection.info.get(PENDING)
    if statements is None or connection.get_execution_options().get(BEGIN_OPTION) == (
        NO_TRANSACTION
    ):
        return False
    statements.append(statement)
    return True


def held_lists(connection) -> dict[tuple[str, str], int] | None:
    """Lists whose timestamp row the open transaction of ``connection``
    holds locked, for the storage to fill: ``{(resource_name, parent_id):
    the list timestamp it wrote last}`` (PostgreSQL only; None outside a
    transaction begun on this engine's terms). Emptied whenever a statement
    is sent (the writer records again what its statement wrote), when a
    savepoint is rolled back (which may release a lock taken inside it) and
    at the end of the transaction; so an entry is only ever what the last
    statement sent left, plus the writes queued since (:func:`send_later`),
    which the writer records."""
    if connection.get_execution_options().get(BEGIN_OPTION) == NO_TRANSACTION:
        return None
    return connection.connection.info.get(HELD)


#: ``psycopg2.extensions.TRANSACTION_STATUS_IDLE``: no transaction open.
_IDLE = 0
#: ``psycopg2.extensions.TRANSACTION_STATUS_INERROR``: a statement of the
#: open transaction failed (only a rollback is possible).
_INERROR = 3


def _in_failed_transaction() -> Exception:
    import psycopg2.errors

    return psycopg2.errors.InFailedSqlTransaction(
        "COMMIT refused: a statement of the transaction failed, it was rolled back"
    )
