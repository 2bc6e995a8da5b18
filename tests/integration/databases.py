"""Throw-away databases for process-level tests: an empty (unmigrated)
PostgreSQL database or SQLite path per test, so that ``kinto migrate`` is
exercised from scratch.

PostgreSQL is the server of :mod:`tests.sql_support` (127.0.0.1:5432, user
``postgres``); database names carry the xdist worker and
``KINTO_TEST_DB_SUFFIX`` so that parallel runs never share one. When the
server is unreachable the tests fail if ``CI`` is set and skip otherwise.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

import pytest
import sqlalchemy

from kinto.core.sql import dispose_all
from tests.sql_support import PG_ADMIN_DATABASE, postgresql_server_url, worker_name


def database_name(label: str) -> str:
    """A PostgreSQL database name for ``label``, unique to this worker and
    test run."""
    suffix = os.environ.get("KINTO_TEST_DB_SUFFIX")
    prefix = f"kinto_{worker_name()}" + (f"_{suffix}" if suffix else "")
    return re.sub(r"[^a-z0-9_]", "_", f"{prefix}_{label}".lower())[:63]


def _admin_engine() -> sqlalchemy.Engine:
    url = postgresql_server_url(PG_ADMIN_DATABASE)
    return sqlalchemy.create_engine(
        url.replace("postgresql:", "postgresql+psycopg2:"),
        isolation_level="AUTOCOMMIT",
        poolclass=sqlalchemy.pool.NullPool,
        connect_args={"connect_timeout": 3},
    )


def _run_admin(statement: str) -> None:
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
    except sqlalchemy.exc.OperationalError as e:
        message = f"PostgreSQL is not reachable: {e.orig}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    finally:
        engine.dispose()


@contextlib.contextmanager
def empty_postgresql_database(label: str) -> Iterator[str]:
    """Create an empty database (dropping a leftover of an earlier run),
    yield its URL, then drop it (closing whatever still uses it)."""
    name = database_name(label)
    _run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _run_admin(f'CREATE DATABASE "{name}"')
    try:
        yield postgresql_server_url(name)
    finally:
        dispose_all(name)
        _run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
