"""Databases for the tests of the SQL backends.

* PostgreSQL at 127.0.0.1:5432 (user ``postgres``, trust authentication):
  every xdist worker gets its own database ``test_<worker>`` (created from
  the ``test`` database's server when missing) and migrates it once per
  session; tests flush what they wrote instead of migrating again. Set
  ``KINTO_TEST_DB_SUFFIX`` to keep concurrent test runs on one server apart
  (``test_<worker>_<suffix>``). When the server is unreachable, the tests
  **fail** if ``CI`` is set and skip otherwise.
* SQLite: one file per test in the test's ``tmp_path``, copied from a
  template migrated once per session.

Use the fixtures (import them in a ``conftest.py`` or a test module)::

    from tests.sql_support import postgresql_url, sqlite_url  # noqa: F401

or the functions :func:`postgresql_database_url` and
:func:`migrated_sqlite_file`. :class:`TCPProxy` stands between a test and
PostgreSQL to play an outage (stop, start). :func:`captured_statements`
records what an engine sends; :func:`kill_backend` cuts a PostgreSQL
connection as a database restart would.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import event

from kinto.core.sql import dispose_all, engines, get_database, prepared
from kinto.core.sql.migrations import LOCATIONS

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
PG_ADMIN_DATABASE = "test"

_pg_urls: dict[str, str] = {}
_sqlite_templates: dict[str, Path] = {}


def worker_name() -> str:
    """``gw0``, ``gw1``... under xdist, ``main`` otherwise."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def postgresql_server_url(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def migrated_kinds() -> list[str]:
    """The backend kinds that have Alembic migrations in this checkout."""
    kinds = []
    for kind, location in LOCATIONS.items():
        if importlib.util.find_spec(location.replace(":", ".")) is not None:
            kinds.append(kind)
    return kinds


def migrate(url: str, kinds: list[str] | None = None) -> None:
    """Run the migrations of ``kinds`` (default: every kind) on ``url``."""
    for kind in kinds or migrated_kinds():
        get_database({"x_url": url}, "x_").initialize_schema(kind)


def _unreachable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def postgresql_database_url() -> str:
    """URL of this worker's PostgreSQL database, created and migrated on
    first use (fails in CI, skips elsewhere, when the server is down)."""
    worker = worker_name()
    url = _pg_urls.get(worker)
    if url is not None:
        return url
    suffix = os.environ.get("KINTO_TEST_DB_SUFFIX")
    database = f"test_{worker}_{suffix}" if suffix else f"test_{worker}"
    admin = sqlalchemy.create_engine(
        postgresql_server_url(PG_ADMIN_DATABASE).replace("postgresql:", "postgresql+psycopg2:"),
        isolation_level="AUTOCOMMIT",
        poolclass=sqlalchemy.pool.NullPool,
        connect_args={"connect_timeout": 3},
    )
    try:
        with admin.connect() as connection:
            exists = connection.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %(name)s", {"name": database}
            ).scalar()
            if not exists:
                try:
                    connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
                except sqlalchemy.exc.ProgrammingError as e:  # created meanwhile
                    if "already exists" not in str(e):
                        raise
    except sqlalchemy.exc.OperationalError as e:
        _unreachable(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}: {e.orig}")
    finally:
        admin.dispose()
    url = postgresql_server_url(database)
    migrate(url)
    _pg_urls[worker] = url
    return url


def migrated_sqlite_file(path: Path) -> Path:
    """Create ``path``: a SQLite database with every migration applied
    (copied from a per-session template)."""
    key = ",".join(migrated_kinds())
    template = _sqlite_templates.get(key)
    if template is None or not template.exists():
        directory = Path(os.environ.get("TMPDIR", "/tmp")) / f"kinto-sqlite-{os.getpid()}"
        directory.mkdir(parents=True, exist_ok=True)
        template = directory / f"template-{len(_sqlite_templates)}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{template}{suffix}").unlink(missing_ok=True)
        migrate(f"sqlite:///{template}")
        dispose_all(str(template))
        # Fold the write-ahead log into the file, so that copying the file
        # alone copies everything.
        connection = sqlite3.connect(template)
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.execute("PRAGMA journal_mode=DELETE")
        finally:
            connection.close()
        _sqlite_templates[key] = template
    shutil.copyfile(template, path)
    return path


@pytest.fixture(scope="session")
def postgresql_url() -> str:
    """This worker's migrated PostgreSQL database URL."""
    return postgresql_database_url()


@pytest.fixture
def sqlite_url(tmp_path):
    """A migrated SQLite database file for this test only."""
    path = migrated_sqlite_file(tmp_path / "kinto.db")
    yield f"sqlite:///{path}"
    dispose_all(str(path))


@contextlib.contextmanager
def captured_statements(engine: sqlalchemy.engine.Engine, keep=None):
    """Yield the list of the statements ``engine`` sends while the block
    runs, as the server gets them (recorded after the engine's own
    listeners, which may prepend pending ``BEGIN``/``SAVEPOINT``). Each item
    is ``keep(cursor, statement, parameters)``, the statement text by
    default."""
    sent: list = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement if keep is None else keep(cursor, statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextlib.contextmanager
def unprepared(engine: sqlalchemy.engine.Engine):
    """Statements of ``engine`` sent as plain text while the block runs (not
    prepared, see ``kinto.core.sql.prepared``): for tests that explain them
    on another connection."""
    was = getattr(engine.dialect, engines.PREPARE_OPTION, False)
    setattr(engine.dialect, engines.PREPARE_OPTION, False)
    try:
        yield
    finally:
        setattr(engine.dialect, engines.PREPARE_OPTION, was)


def explain_generic(connection, statement: str, parameters, command: str = "EXPLAIN ") -> list:
    """The rows of ``command`` (e.g. ``EXPLAIN``) on the generic plan of
    ``statement`` (driver text) on ``connection``: prepared as the backends
    prepare it (``kinto.core.sql.prepared``) and planned once for all
    values."""
    # Named apart from those the backend prepared on this connection.
    name, prepare, execute = prepared.Shape(statement).form_for(parameters)
    prepare, execute = (text.replace(name, "explained") for text in (prepare, execute))
    mode = connection.exec_driver_sql("SHOW plan_cache_mode").scalar()
    connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    try:
        connection.exec_driver_sql(prepare, parameters)
        rows = connection.exec_driver_sql(command + execute, parameters).all()
        connection.exec_driver_sql("DEALLOCATE explained")
    finally:
        connection.exec_driver_sql(f"SET plan_cache_mode = {mode}")
    return rows


def with_parameters(cursor, statement, parameters) -> tuple:
    """``keep`` of :func:`captured_statements`: ``(statement, parameters)``."""
    return statement, parameters


def backend_pid(connection) -> int:
    """The PostgreSQL server process of ``connection``."""
    return connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()


def kill_backend(engine: sqlalchemy.engine.Engine, pid: int) -> None:
    """Terminate the PostgreSQL server process ``pid`` from a connection
    outside ``engine``'s pool (which could hand out the one to kill)."""
    outside = sqlalchemy.create_engine(engine.url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with outside.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
            other.commit()
    finally:
        outside.dispose()


class TCPProxy:
    """A TCP proxy to a database server, to simulate outages: ``stop()``
    cuts every connection and refuses new ones, ``start()`` accepts again
    (on the same port). ``url(database)`` is a PostgreSQL URL through it."""

    def __init__(self, host: str = PG_HOST, port: int = PG_PORT) -> None:
        self.target = (host, port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def url(self, database: str) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return self._listener is not None

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):  # wakes the accepting thread up
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            doomed, self._sockets = self._sockets, set()
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
