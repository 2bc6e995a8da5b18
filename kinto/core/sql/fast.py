"""Driver-level execution of the hottest read statements.

SQLAlchemy's execution of a statement (execution context, events, result
object) costs about as much CPU as the round trip to a local PostgreSQL
itself. The few statements every request sends (reading one object, a list
timestamp) are therefore run on the driver's cursor directly, inside the
connection and transaction that :meth:`kinto.core.sql.Database.run` hands
to the work function, with the same guarantees:

* the engine's ``before_cursor_execute`` listeners run (so the
  transaction control statements kept pending on a PostgreSQL connection,
  ``BEGIN``, ``SAVEPOINT``..., see :mod:`kinto.core.sql.engines`, are sent
  in front of the statement, and statement counters see it);
* driver errors come out translated like the engine's
  (:mod:`kinto.core.sql.errors`): ``BackendError`` (with ``disconnect``
  when the connection was lost, which is then invalidated so that the pool
  replaces it and ``Database.run`` may retry) or ``IntegrityError``.

Statements are written once with ``:name`` parameters, as for
``sqlalchemy.text``, and rendered for each driver's parameter style.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy.exc
from sqlalchemy.engine import Connection

from kinto.core.sql import engines, errors

_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")


class RawStatement:
    """A read statement with ``:name`` parameters, rendered per dialect
    (``%(name)s`` for psycopg2, ``:name`` for sqlite3)."""

    __slots__ = ("text", "_postgresql")

    def __init__(self, text: str) -> None:
        self.text = text
        self._postgresql = _PARAMETER.sub(r"%(\1)s", text.replace("%", "%%"))

    def render(self, dialect_name: str) -> str:
        return self._postgresql if dialect_name == engines.POSTGRESQL else self.text


def fetch_all(
    connection: Connection, statement: RawStatement, params: Mapping[str, Any]
) -> list[tuple]:
    """Rows of ``statement`` run on the driver connection of
    ``connection`` (see the module docstring)."""
    dialect = connection.dialect
    text = statement.render(dialect.name)
    raw = connection.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        # The engine's listeners see it as any statement (on PostgreSQL,
        # one sends the pending transaction control statements with it).
        for listener in connection.dispatch.before_cursor_execute:
            text, params = listener(connection, cursor, text, params, None, False)
        cursor.execute(text, params)
        return cursor.fetchall()
    except dialect.loaded_dbapi.Error as e:
        _raise_translated(connection, e, raw, cursor, text, params)
        raise  # pragma: no cover - _raise_translated always raises
    finally:
        cursor.close()


def fetch_one(
    connection: Connection, statement: RawStatement, params: Mapping[str, Any]
) -> tuple | None:
    """The first row of :func:`fetch_all`, or None."""
    rows = fetch_all(connection, statement, params)
    return rows[0] if rows else None


def _raise_translated(connection, error, raw, cursor, text, params) -> None:
    dialect = connection.dialect
    disconnect = bool(dialect.is_disconnect(error, raw, cursor))
    if disconnect:
        connection.invalidate(error)
    wrapped = sqlalchemy.exc.DBAPIError.instance(
        text,
        params,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=disconnect,
        dialect=dialect,
    )
    translated = errors.translate(wrapped, disconnect=disconnect)
    raise (translated or wrapped) from error
