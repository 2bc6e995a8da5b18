"""SQLite storage backend (``storage_url = sqlite:///path/to/kinto.db``):
the embedded default, a single file, no server.

Writes run in ``BEGIN IMMEDIATE`` transactions (:mod:`kinto.core.sql`), so
the database write lock serialises writers across threads and processes:
each write reads the list timestamp and the object, then writes, with nothing
able to change in between.

JSON fields are read with the JSON1 functions. Their JSONB order is rebuilt
from ``json_type`` (a rank per type: empty top-level array, null, string,
number, boolean, array, object, missing), then the length of arrays and
objects, then the value (text in code point order, numbers numerically).
Deviations from PostgreSQL, only for arrays and objects: two arrays (or two
objects) of the same length are ordered by their JSON text rather than item
by item, and ``LIKE`` matches their compact JSON text (``[1,2]``, not
``[1, 2]``). Equality of arrays and objects is exact (a Python function
compares them as JSON values).
"""

from __future__ import annotations

import functools
import operator
import sqlite3
from typing import Any

import sqlalchemy as sa
from pyramid.exceptions import ConfigurationError
from pyramid.settings import asbool
from sqlalchemy.sql.elements import ColumnElement

from kinto.core import sql
from kinto.core.storage import COMPARISON, MISSING
from kinto.core.storage.sql import Dialect, SQLStorage, dumps
from kinto.core.storage.sql_queries import like_escape, objects
from kinto.core.utils import msec_time

#: json_type() values by JSONB rank.
_RANKS = {
    "null": 0,
    "text": 1,
    "integer": 2,
    "real": 2,
    "false": 3,
    "true": 3,
    "array": 4,
    "object": 5,
}
_MISSING_RANK = 6
_EMPTY_ARRAY_RANK = -1
_NUMBER_TYPES = ("integer", "real")
_TRUE, _FALSE = sa.true(), sa.false()


def json_path(parts: tuple[str, ...]) -> str | None:
    """The JSON1 path of a field (``$."a"."b"``), or None when a key holds
    a double quote, which JSON1 paths cannot express (such a field reads
    as missing)."""
    if any('"' in part for part in parts):
        return None
    return "$" + "".join(f'."{part}"' for part in parts)


def _scalar_rank(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return 3
    if isinstance(value, str):
        return 1
    return 2


_INT64 = range(-(2**63), 2**63)


def _native(value: Any) -> Any:
    """The SQL value json_extract() gives for a JSON scalar (an integer
    beyond 64 bits is read as a real, and could not be bound anyway)."""
    if isinstance(value, bool):
        return int(value)
    if type(value) is int and value not in _INT64:
        return float(value)
    return value


@functools.lru_cache(maxsize=1024)
def _field(parts: tuple[str, ...]) -> _Field:
    """The (shared, immutable) expressions of a field: built once per
    field name, not once per query."""
    return _Field(parts)


class _Field:
    """The SQL expressions of one JSON field (the path is a bound
    parameter holding its value, so the expressions can be reused)."""

    def __init__(self, parts: tuple[str, ...]) -> None:
        path = json_path(parts)
        data = objects.c.data
        if path is None:
            self.type = self.value = self.json = sa.null()
            self.path = None
            return
        self.path = sa.bindparam(None, path, type_=sa.Text)
        self.type = sa.func.json_type(data, self.path)
        # Same value as json_extract(), cheaper.
        self.value = data.op("->>")(self.path)
        self.json = data.op("->")(self.path)

    @functools.cached_property
    def rank(self) -> ColumnElement:
        if self.path is None:
            return sa.literal(_MISSING_RANK)
        array_rank = sa.case(
            (sa.func.json_array_length(objects.c.data, self.path) == 0, _EMPTY_ARRAY_RANK),
            else_=_RANKS["array"],
        )
        whens = {kind: rank for kind, rank in _RANKS.items() if kind != "array"}
        return sa.case({**whens, "array": array_rank}, value=self.type, else_=_MISSING_RANK)

    @functools.cached_property
    def size(self) -> ColumnElement:
        """Length of an array, number of keys of an object, 0 otherwise."""
        if self.path is None:
            return sa.literal(0)
        keys = (
            sa.select(sa.func.count())
            .select_from(sa.func.json_each(objects.c.data, self.path))
            .scalar_subquery()
        )
        return sa.case(
            ("array", sa.func.json_array_length(objects.c.data, self.path)),
            ("object", keys),
            value=self.type,
            else_=0,
        )

    def equals(self, value: Any) -> ColumnElement:
        """Present and equal to ``value`` (NULL when missing: negate it
        with :func:`_not`)."""
        if isinstance(value, list | dict):
            return sa.func.kinto_json_equal(self.json, dumps(value)) == 1
        if value is None:
            return self.type == "null"
        if isinstance(value, bool):
            return self.type == ("true" if value else "false")
        # The cheap, selective value test first; the type excludes the
        # booleans (1/0) and the JSON text of arrays and objects.
        kinds = ("text",) if isinstance(value, str) else _NUMBER_TYPES
        return sa.and_(self.value == _native(value), self.type.in_(kinds))


def _not(condition: ColumnElement) -> ColumnElement:
    """Negation of a condition that may be NULL (a missing field)."""
    return sa.not_(sa.func.coalesce(condition, _FALSE))


def _element_equals(element, value: Any) -> ColumnElement:
    """An item of ``json_each()`` (columns ``type`` and ``value``) equals
    ``value``."""
    kind = element.c.type
    if isinstance(value, list | dict):
        return sa.and_(
            kind.in_(("array", "object")),
            sa.func.kinto_json_equal(element.c.value, dumps(value)) == 1,
        )
    if value is None:
        return kind == "null"
    if isinstance(value, bool):
        return kind == ("true" if value else "false")
    kinds = ("text",) if isinstance(value, str) else _NUMBER_TYPES
    return sa.and_(kind.in_(kinds), element.c.value == _native(value))


class SQLiteDialect(Dialect):
    data_text = objects.c.data
    data_sql = "data"

    def compare(self, parts, op, value) -> ColumnElement:
        field = _field(parts)
        if value is MISSING:
            present = field.type.isnot(None)
            return {
                COMPARISON.EQ: sa.not_(present),
                COMPARISON.NOT: present,
                COMPARISON.LT: present,
                COMPARISON.MAX: _TRUE,
                COMPARISON.GT: _FALSE,
                COMPARISON.MIN: sa.not_(present),
            }[op]
        if op == COMPARISON.EQ:
            return field.equals(value)
        if op == COMPARISON.NOT:
            return _not(field.equals(value))
        rank = field.rank
        if isinstance(value, list | dict):
            value_rank = _RANKS["object"] if isinstance(value, dict) else _RANKS["array"]
            if value == []:
                value_rank = _EMPTY_ARRAY_RANK
            # Same rank: by size, then by JSON text (see the module docstring).
            same = _lexicographic(
                op, [field.size, field.json], [len(value), sa.func.json(dumps(value))]
            )
        else:
            value_rank = _scalar_rank(value)
            same = None
            if value is not None:
                same = _lexicographic(op, [field.value], [_native(value)])
        strict = rank < value_rank if op in (COMPARISON.LT, COMPARISON.MAX) else rank > value_rank
        if same is None:  # null: the only value of its rank
            same = _TRUE if op in (COMPARISON.MAX, COMPARISON.MIN) else _FALSE
        return sa.or_(strict, sa.and_(rank == value_rank, same))

    def member(self, parts, values) -> ColumnElement:
        field = _field(parts)
        clauses = []
        strings = [v for v in values if isinstance(v, str)]
        numbers = [v for v in values if type(v) in (int, float)]
        if strings:
            clauses.append(sa.and_(field.value.in_(strings), field.type == "text"))
        if numbers:
            numbers = [_native(v) for v in numbers]
            clauses.append(sa.and_(field.value.in_(numbers), field.type.in_(_NUMBER_TYPES)))
        others = [v for v in values if not isinstance(v, str) and type(v) not in (int, float)]
        clauses.extend(field.equals(v) for v in others)
        if not clauses:
            return _FALSE
        # Never NULL: EXCLUDE negates it.
        return sa.func.coalesce(sa.or_(*clauses), _FALSE)

    def present(self, parts) -> ColumnElement:
        return _field(parts).type.isnot(None)

    def like(self, parts, pattern) -> ColumnElement:
        field = _field(parts)
        text = sa.case(
            ("text", field.value),
            ("null", sa.null()),
            value=field.type,
            else_=field.json,
        )
        escaped = like_escape(pattern)
        if pattern.isascii():
            return text.like(escaped, escape="\\")  # SQLite's LIKE ignores ASCII case
        return sa.func.kinto_lower(text).like(escaped.lower(), escape="\\")

    def contains(self, parts, items, every) -> ColumnElement:
        field = _field(parts)
        if field.path is None:
            return _FALSE
        is_array = field.type == "array"
        if not items:
            return sa.func.coalesce(is_array, _FALSE)

        def holding(condition) -> ColumnElement:
            element = sa.func.json_each(objects.c.data, field.path).table_valued("type", "value")
            return sa.exists(sa.select(1).select_from(element).where(condition(element)))

        if every:
            held = [holding(lambda e, item=item: _element_equals(e, item)) for item in items]
        else:
            held = [holding(lambda e: sa.or_(*(_element_equals(e, item) for item in items)))]
        return sa.func.coalesce(sa.and_(is_array, *held), _FALSE)

    def order(self, parts, descending) -> list[ColumnElement]:
        return _order(parts, descending)

    def array_value(self, values):
        return dumps(values)

    def column_in(self, column, param):
        # The list as one JSON parameter, whatever its size; json_each()
        # reads integers beyond 64 bits as reals (never an overflow).
        listed = sa.func.json_each(param).table_valued("value")
        return column.in_(sa.select(listed.c.value))


@functools.lru_cache(maxsize=1024)
def _order(parts: tuple[str, ...], descending: bool) -> list[ColumnElement]:
    field = _field(parts)
    terms = [field.rank, field.size, field.value]
    return [term.desc() if descending else term.asc() for term in terms]


def _lexicographic(op: COMPARISON, left: list, right: list) -> ColumnElement:
    """``left op right`` comparing the terms in order (tuples)."""
    if op in (COMPARISON.LT, COMPARISON.MAX):
        strict = operator.lt
    else:
        strict = operator.gt
    inclusive = op in (COMPARISON.MAX, COMPARISON.MIN)
    result = None
    for a, b in reversed(list(zip(left, right, strict=True))):
        if result is None:
            result = sa.or_(strict(a, b), a == b) if inclusive else strict(a, b)
        else:
            result = sa.or_(strict(a, b), sa.and_(a == b, result))
    return result


class Storage(SQLStorage):
    """The SQLite storage backend (see the module docstring)."""

    def __init__(self, database: sql.Database, readonly: bool = False):
        super().__init__(database, SQLiteDialect(), readonly=readonly)

    def now_params(self) -> dict[str, Any]:
        return {"now": msec_time()}

    def json_param(self, name: str) -> str:
        return f":{name}"

    def current_time(self, connection) -> int:
        return msec_time()

    def lock_list(self, connection, resource_name, parent_id):
        # The transaction holds the database write lock (BEGIN IMMEDIATE).
        current = connection.execute(
            _READ_TIMESTAMP, {"r": resource_name, "p": parent_id}
        ).scalar()
        return current, msec_time()

    def lock_and_read(self, connection, resource_name, parent_id, object_id):
        # One statement: nothing can change between the two reads anyway.
        key = {"r": resource_name, "p": parent_id, "id": object_id}
        current, stamp, data = connection.execute(_READ_TIMESTAMP_AND_OBJECT, key).one()
        existing = None if stamp is None else self._object(object_id, stamp, data)
        return current, msec_time(), existing


_READ_TIMESTAMP = sa.text(
    "SELECT last_modified FROM timestamps WHERE resource_name = :r AND parent_id = :p"
)
_READ_TIMESTAMP_AND_OBJECT = sa.text(
    "SELECT (SELECT last_modified FROM timestamps WHERE resource_name = :r AND parent_id = :p),"
    " o.last_modified, o.data FROM (SELECT 1) LEFT JOIN objects AS o"
    " ON o.resource_name = :r AND o.parent_id = :p AND o.id = :id AND NOT o.deleted"
)

#: JSON1 ``->`` operator.
MINIMUM_SQLITE = (3, 38, 0)


def load_from_config(config) -> Storage:
    """Build the backend from ``storage_url`` (``sqlite:///...``), the pool
    settings and ``readonly``; fail if the schema is not migrated."""
    if sqlite3.sqlite_version_info < MINIMUM_SQLITE:
        raise ConfigurationError(
            f"SQLite {sqlite3.sqlite_version} is too old for kinto.core.storage.sqlite "
            f"(needs {'.'.join(map(str, MINIMUM_SQLITE))} or newer)."
        )
    settings = config.get_settings()
    database = sql.get_database(settings, "storage_")
    if database.dialect != sql.SQLITE:
        raise ConfigurationError(
            "kinto.core.storage.sqlite needs a sqlite:/// storage_url "
            "(use kinto.core.storage.postgresql for PostgreSQL)."
        )
    database.check_schema(Storage.schema)
    return Storage(database, readonly=asbool(settings.get("readonly", False)))
