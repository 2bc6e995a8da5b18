"""Driver-level execution of the hottest statements.

SQLAlchemy's execution of a statement (execution context, events, result
object) costs about as much CPU as the round trip to a local PostgreSQL
itself. The few statements every request sends (reading one object, a list
timestamp, the user's principals, the ACL checks, the creator's ACE) are
therefore run on the driver's cursor directly, inside the connection and
transaction that :meth:`kinto.core.sql.Database.run` hands to the work
function, with the same guarantees:

* the engine's ``before_cursor_execute`` listeners run (so the
  transaction control statements kept pending on a PostgreSQL connection,
  ``BEGIN``, ``SAVEPOINT``..., see :mod:`kinto.core.sql.engines`, are sent
  in front of the statement, and statement counters see it);
* driver errors come out translated like the engine's
  (:mod:`kinto.core.sql.errors`): ``BackendError`` (with ``disconnect``
  when the connection was lost, which is then invalidated so that the pool
  replaces it and ``Database.run`` may retry) or ``IntegrityError``.

Statements (:class:`RawStatement`) are written once with ``:name``
parameters, as for ``sqlalchemy.text``, and rendered once per driver's
parameter style; a statement may give its own text for SQLite.

**Array parameters** carry a variable-length list of values in one bound
parameter (so that the text stays the same whatever the length, with no
limit on the number of values). A membership test is written in
PostgreSQL's syntax, ``column = ANY(:name)``; on SQLite it becomes
``column IN (SELECT value FROM json_each(:name))``. The value given is any
iterable (a list, tuple, set...): it is sent as a PostgreSQL array (a
list, which psycopg2 renders ``ARRAY[...]``, or ``'{}'`` when empty) and
as JSON array text on SQLite. Parameters used otherwise as arrays (e.g.
``unnest(:name)`` on PostgreSQL, ``json_each(:name)`` in a SQLite text)
are named in ``arrays=``. Values are strings or numbers; SQLite's JSON
functions cut a string at a NUL character.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

import orjson
import sqlalchemy.exc
from sqlalchemy.engine import Connection

from kinto.core.sql import engines, errors, prepared

_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")
_ANY = re.compile(r"=\s*ANY\s*\(\s*:(\w+)\s*\)", re.IGNORECASE)


class RawStatement:
    """A statement with ``:name`` parameters, rendered per dialect
    (``%(name)s`` for psycopg2, ``:name`` for sqlite3).

    ``text`` is the statement for every dialect; ``sqlite``, when given,
    replaces it on SQLite. ``column = ANY(:name)`` in either tests
    membership in the array parameter ``name`` (see the module docstring);
    ``arrays`` names the other array parameters."""

    __slots__ = ("text", "arrays", "prepare", "_postgresql", "_sqlite", "_arrays", "_shape")

    def __init__(
        self,
        text: str,
        *,
        sqlite: str | None = None,
        arrays: Collection[str] = (),
        prepare: bool = True,
    ):
        self.text = text
        #: Whether PostgreSQL may prepare it and plan it once for all values
        #: (:mod:`.prepared`); False for a statement whose good plan depends
        #: on its values (then planned for them on every run).
        self.prepare = prepare
        if sqlite is None:
            sqlite = text
        #: Names of the array parameters (of either text).
        self.arrays = frozenset(_ANY.findall(text)).union(_ANY.findall(sqlite), arrays)
        self._postgresql = _PARAMETER.sub(r"%(\1)s", text.replace("%", "%%"))
        self._sqlite = _ANY.sub(r"IN (SELECT value FROM json_each(:\1))", sqlite)
        # Those of each dialect's text.
        self._arrays = {
            engines.POSTGRESQL: tuple(self.arrays.intersection(_PARAMETER.findall(text))),
            engines.SQLITE: tuple(self.arrays.intersection(_PARAMETER.findall(sqlite))),
        }
        self._shape: prepared.Shape | None = None

    @property
    def shape(self) -> prepared.Shape:
        """The PostgreSQL text as a prepared statement (:mod:`.prepared`)."""
        if self._shape is None:
            self._shape = prepared.Shape(self._postgresql)
        return self._shape

    def render(self, dialect_name: str) -> str:
        """The text sent to the driver of ``dialect_name``."""
        return self._postgresql if dialect_name == engines.POSTGRESQL else self._sqlite

    def bind(self, dialect_name: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
        """``params`` with the array parameters of the dialect's text in the
        driver's form (a list on PostgreSQL, JSON array text on SQLite)."""
        names = self._arrays[dialect_name]
        if not names:
            return params
        if dialect_name == engines.POSTGRESQL:
            if all(type(params[name]) is list for name in names):
                return params
            bound = dict(params)
            for name in names:
                bound[name] = list(bound[name])
            return bound
        bound = dict(params)
        for name in names:
            value = bound[name]
            if not isinstance(value, (list, tuple)):
                value = list(value)
            bound[name] = orjson.dumps(value).decode()
        return bound


#: Most entries a cache of statements (:func:`remember`) keeps.
STATEMENT_CACHE_SIZE = 512


def remember(cache: dict, key: Any, value: Any) -> None:
    """Keep ``value`` under ``key`` in a cache of statements (rendered
    once per shape), emptied when full."""
    if len(cache) >= STATEMENT_CACHE_SIZE:
        cache.clear()
    cache[key] = value


#: See :class:`Along`.
GUARD = "(1 = 1 /* along guard */)"


class Along:
    """A read that can travel with a statement of another backend on the
    same database, as rows added to its result (``UNION ALL``): ``sql``
    selects three text columns, the first always ``marker`` (a value that
    the other statement's first column never holds), with ``:name``
    parameters ``params`` (``arrays``: its array parameters, as for
    :class:`RawStatement`). ``sql`` may hold :data:`GUARD`, a condition
    (true as it stands) that the backend taking it along replaces with one
    of its own: that the caller holds one of the ACEs the statement reads.
    The backend that takes it along hands the rows over with
    :meth:`deliver`; ``result`` is then ``parse(rows)``, and ``travelled``
    True. A backend that cannot take it leaves it untouched: its owner then
    reads on its own."""

    __slots__ = (
        "database",
        "sql",
        "params",
        "marker",
        "parse",
        "arrays",
        "travelled",
        "result",
    )

    def __init__(
        self,
        database: Any,
        sql: str,
        params: dict[str, Any],
        marker: str,
        parse: Callable[[list[tuple]], Any],
        arrays: Collection[str] = (),
    ) -> None:
        self.database = database
        self.sql = sql
        self.params = params
        self.marker = marker
        self.parse = parse
        self.arrays = frozenset(arrays)
        self.travelled = False
        self.result: Any = None

    def deliver(self, rows: list[tuple]) -> None:
        """Its rows, as the statement it travelled with returned them."""
        self.result = self.parse(rows)
        self.travelled = True


def fetch_all(
    connection: Connection, statement: RawStatement, params: Mapping[str, Any]
) -> list[tuple]:
    """Rows of ``statement`` run on the driver connection of
    ``connection`` (see the module docstring)."""
    return _run(connection, statement, params, _all_rows)


def fetch_one(
    connection: Connection, statement: RawStatement, params: Mapping[str, Any]
) -> tuple | None:
    """The first row of :func:`fetch_all`, or None."""
    rows = fetch_all(connection, statement, params)
    return rows[0] if rows else None


def execute(connection: Connection, statement: RawStatement, params: Mapping[str, Any]) -> int:
    """Run ``statement`` (a write without ``RETURNING``) like
    :func:`fetch_all`; return the number of rows it changed (the driver's
    ``rowcount``; an ``INSERT ... ON CONFLICT DO NOTHING`` counts the rows
    it inserted)."""
    return _run(connection, statement, params, _row_count)


def execute_later(
    connection: Connection, statement: RawStatement, params: Mapping[str, Any]
) -> None:
    """Run ``statement``, a write whose outcome nobody reads (no row count;
    an error would fail the transaction later, at its next statement or
    its commit), with the next round trip of ``connection`` on PostgreSQL
    (:func:`kinto.core.sql.engines.send_later`): one round trip fewer. At
    once elsewhere (SQLite has no round trips to save) and outside a write
    transaction."""
    dialect = connection.dialect
    if dialect.name == engines.POSTGRESQL:
        raw = connection.connection.dbapi_connection
        with raw.cursor() as cursor:
            text = cursor.mogrify(
                statement.render(dialect.name), statement.bind(dialect.name, params)
            )
        if engines.send_later(connection, text.decode("utf-8")):
            return
    execute(connection, statement, params)


def _all_rows(cursor) -> list[tuple]:
    return cursor.fetchall()


def _row_count(cursor) -> int:
    return cursor.rowcount


def _run(connection: Connection, statement: RawStatement, params: Mapping[str, Any], result):
    """``result(cursor)`` after running ``statement`` on a driver cursor."""
    dialect = connection.dialect
    params = statement.bind(dialect.name, params)
    fairy = connection.connection
    raw = fairy.dbapi_connection
    preparing = None
    if statement.prepare and getattr(dialect, engines.PREPARE_OPTION, False):
        text, preparing = prepared.statement_text(fairy.info, raw, statement.shape, params)
    else:
        text = statement.render(dialect.name)
    cursor = raw.cursor()
    try:
        # The engine's listeners see it as any statement (on PostgreSQL,
        # one sends the pending transaction control statements with it).
        for listener in connection.dispatch.before_cursor_execute:
            text, params = listener(connection, cursor, text, params, None, False)
        cursor.execute(text, params)
        if preparing is not None:
            prepared.prepared(fairy.info, preparing)
        return result(cursor)
    except dialect.loaded_dbapi.Error as e:
        if preparing is not None:
            prepared.failed(fairy.info)
        _raise_translated(connection, e, raw, cursor, text, params)
        raise  # pragma: no cover - _raise_translated always raises
    finally:
        cursor.close()


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
        hide_parameters=True,
        connection_invalidated=disconnect,
        dialect=dialect,
    )
    translated = errors.translate(wrapped, disconnect=disconnect)
    raise (translated or wrapped) from error
