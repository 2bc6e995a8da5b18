"""PostgreSQL storage backend (``storage_url = postgresql://...``), shared
by any number of processes on any number of machines.

JSON fields are JSONB: filters and sorts use JSONB's own comparison
(PostgreSQL's order of types; strings in the database collation: use a
``C``/``C.UTF-8`` collation for code point order), ``@>`` for arrays holding
scalars, and exact element equality for arrays holding arrays or objects.

**Writes in one statement.** Creating, updating (with or without
``If-Match``) and deleting an object without a forced timestamp is one SQL
statement: a common table expression upserts the list's ``timestamps`` row
(``last_modified = GREATEST(now, last_modified + 1)``, which locks it until
commit, so that writers of a list follow commit order) and writes the object
with the returned timestamp; the conditions (``If-Match``, existence) are
checked by the row-level ``WHERE`` clauses, which PostgreSQL re-evaluates on
the latest committed row after waiting for a lock. Only the failure paths
(412, 404, unicity) read again. Writes carrying a forced ``last_modified``
(replication) take the generic path of :class:`SQLStorage`: lock the list
row, read the object, write. The clock is the database's, shared by every
application server.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from pyramid.exceptions import ConfigurationError
from pyramid.settings import asbool
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.sql.elements import ColumnElement

from kinto.core import sql
from kinto.core.sql import fast
from kinto.core.storage import (
    COMPARISON,
    MISSING,
    ModifiedMeanwhileError,
    ObjectNotFoundError,
    UnicityError,
)
from kinto.core.storage.sql import TOMBSTONE_DATA, Dialect, SQLStorage, dumps
from kinto.core.storage.sql_queries import SEQUENCES, like_escape, objects
from kinto.core.utils import msec_time

NOW = "FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT"
# Every statement that moves or locks a list's timestamp gives the list a
# new version (storage_0002): its content may change until the commit.
_NEW_VERSION = "version = nextval('list_versions')"

_TRUE, _FALSE = sa.true(), sa.false()
_OPERATORS = {
    COMPARISON.EQ: "=",
    COMPARISON.NOT: "IS DISTINCT FROM",
    COMPARISON.LT: "<",
    COMPARISON.MAX: "<=",
    COMPARISON.GT: ">",
    COMPARISON.MIN: ">=",
}
_TEXT_ARRAY = ARRAY(sa.Text)


def _composite(value: Any) -> bool:
    return isinstance(value, list | dict)


class PostgreSQLDialect(Dialect):
    data_text = sa.cast(objects.c.data, sa.Text)
    data_sql = "CAST(data AS TEXT)"
    list_versions = True
    new_version_set = f", {_NEW_VERSION}"

    @staticmethod
    @functools.lru_cache(maxsize=1024)
    def field(parts: tuple[str, ...]) -> ColumnElement:
        """The JSONB value at ``parts`` (SQL NULL when missing); built once
        per field (the path is a bound parameter holding its value)."""
        if len(parts) == 1:
            return objects.c.data.op("->")(sa.bindparam(None, parts[0], type_=sa.Text))
        path = sa.bindparam(None, list(parts), type_=_TEXT_ARRAY)
        return objects.c.data.op("#>")(path)

    @staticmethod
    @functools.lru_cache(maxsize=1024)
    def text(parts: tuple[str, ...]) -> ColumnElement:
        """The text form at ``parts`` (strings unquoted, JSON text
        otherwise; SQL NULL for null and missing)."""
        if len(parts) == 1:
            return objects.c.data.op("->>")(sa.bindparam(None, parts[0], type_=sa.Text))
        path = sa.bindparam(None, list(parts), type_=_TEXT_ARRAY)
        return objects.c.data.op("#>>")(path)

    # Every JSON filter is planned: its values are parameters (JSON text,
    # LIKE patterns), its form fixes the SQL.

    def plan(self, parts, op, value):
        if op == COMPARISON.HAS:
            return ("has", bool(value)), []
        if op == COMPARISON.LIKE:
            if not isinstance(value, str):
                return ("static", False), []
            return ("like",), [like_escape(value)]
        if op in (COMPARISON.CONTAINS, COMPARISON.CONTAINS_ANY):
            items = list(value) if isinstance(value, list | tuple) else [value]
            if not items:
                # Every array holds all of no values; none holds any of them.
                if op == COMPARISON.CONTAINS:
                    return ("array",), []
                return ("static", False), []
            composite = tuple(_composite(item) for item in items)
            if op == COMPARISON.CONTAINS_ANY:
                # An array holding the scalar, or an element equal to the
                # composite item.
                pairs = zip(items, composite, strict=True)
                values = [dumps(item) if c else dumps([item]) for item, c in pairs]
                return ("any", composite), values
            scalars = [item for item, c in zip(items, composite, strict=True) if not c]
            values = [dumps(scalars)] if scalars else []
            values.extend(dumps(item) for item, c in zip(items, composite, strict=True) if c)
            return ("every", bool(scalars), composite.count(True)), values
        if op in (COMPARISON.IN, COMPARISON.EXCLUDE):
            values = list(value) if isinstance(value, SEQUENCES) else [value]
            if not values:
                return ("static", op == COMPARISON.EXCLUDE), []
            return ("in", op == COMPARISON.IN), [[dumps(v) for v in values]]
        if op not in _OPERATORS:
            raise ValueError(f"Unsupported filter operator: {op!r}")
        if value is MISSING:
            return ("missing", op), []
        return ("cmp", op), [dumps(value)]

    def planned(self, parts, form, params) -> ColumnElement:
        kind = form[0]
        if kind == "static":
            return _TRUE if form[1] else _FALSE
        field = self.field(parts)
        if kind == "has":
            return field.isnot(None) if form[1] else field.is_(None)
        if kind == "like":
            return self.text(parts).ilike(params[0], escape="\\")
        if kind == "missing":
            return {
                COMPARISON.EQ: field.is_(None),
                COMPARISON.NOT: field.isnot(None),
                COMPARISON.LT: field.isnot(None),
                COMPARISON.MAX: _TRUE,
                COMPARISON.GT: _FALSE,
                COMPARISON.MIN: field.is_(None),
            }[form[1]]
        if kind == "cmp":
            bound = sa.cast(params[0], JSONB)
            condition = field.op(_OPERATORS[form[1]])(bound)
            if form[1] in (COMPARISON.GT, COMPARISON.MIN):
                # A missing field is greater than every value.
                return sa.or_(condition, field.is_(None))
            return condition
        if kind == "in":
            listed = sa.cast(params[0], ARRAY(JSONB))
            inside = sa.func.coalesce(field.op("=")(sa.any_(listed)), _FALSE)
            return inside if form[1] else sa.not_(inside)
        is_array = sa.func.jsonb_typeof(field) == "array"
        if kind == "array":
            return sa.func.coalesce(is_array, _FALSE)
        # ``@>`` on arrays compares scalar items by equality, but would let
        # {"a": 1, "b": 2} contain {"a": 1}: composite items are compared
        # element by element.
        elements = sa.func.jsonb_array_elements(
            sa.case((is_array, field), else_=sa.cast(sa.literal("[]"), JSONB))
        ).table_valued("value")

        def element_equal(param) -> ColumnElement:
            equal = elements.c.value.op("=")(sa.cast(param, JSONB))
            return sa.exists(sa.select(1).select_from(elements).where(equal))

        def holding(param) -> ColumnElement:
            return field.op("@>")(sa.cast(param, JSONB))

        if kind == "any":
            pairs = zip(params, form[1], strict=True)
            condition = sa.or_(*(element_equal(p) if c else holding(p) for p, c in pairs))
        else:  # "every"
            scalars, remaining = form[1], iter(params)
            held = [holding(next(remaining))] if scalars else []
            held.extend(element_equal(p) for p in remaining)
            condition = sa.and_(*held)
        return sa.func.coalesce(sa.and_(is_array, condition), _FALSE)

    def array_value(self, values):
        return list(values)

    def column_in(self, column, param):
        return column == sa.any_(param)

    @staticmethod
    @functools.lru_cache(maxsize=1024)
    def order(parts, descending) -> list[ColumnElement]:
        field = PostgreSQLDialect.field(parts)
        return [field.desc().nulls_first() if descending else field.asc().nulls_last()]


class Storage(SQLStorage):
    """The PostgreSQL storage backend (see the module docstring)."""

    now_sql = NOW

    def __init__(self, database: sql.Database, readonly: bool = False):
        super().__init__(database, PostgreSQLDialect(), readonly=readonly)

    def json_param(self, name: str) -> str:
        return f"CAST(:{name} AS JSONB)"

    def lock_lists(self, connection, resource_name, parent_id):
        lists, now = super().lock_lists(connection, resource_name, parent_id)
        if lists:
            connection.execute(_NEW_VERSIONS, {"r": resource_name, "parents": list(lists)})
        return lists, now

    def purge_deleted(self, resource_name, parent_id, before=None, max_retained=None):
        if before is not None and max_retained is not None:
            raise ValueError("'before' and 'max_retained' are exclusive")
        # The lists holding tombstones are locked and versioned first (in
        # parent order, as delete_all does), then only theirs are purged:
        # a list that has tombstones from then on waits for the next purge.
        # (A list without timestamps row has no version to move.)
        candidates = sa.bindparam("candidates", type_=_TEXT_ARRAY)
        statement, key = self._purge_statement(
            resource_name,
            parent_id,
            before,
            max_retained,
            objects.c.parent_id == sa.any_(candidates),
        )
        form, parents = self.queries.parent_params(parent_id)
        holding = (
            sa.select(objects.c.parent_id)
            .distinct()
            .where(
                objects.c.resource_name == resource_name,
                *self.queries.parent_clauses(objects, form),
                objects.c.deleted,
            )
        )

        def work(connection) -> int:
            candidates = [row[0] for row in connection.execute(holding, parents)]
            if not candidates:
                return 0
            connection.execute(_LOCK_AND_VERSION, {"r": resource_name, "parents": candidates})
            return connection.execute(statement, {**key, "candidates": candidates}).rowcount

        return self.database.run(work)

    def lock_list(self, connection, resource_name, parent_id):
        key = {"r": resource_name, "p": parent_id}
        while True:
            current, now = connection.execute(_LOCK_LIST, key).one()
            if current is not None:
                return current, now
            # A new list: create its row (locked until commit). Another
            # writer may create it first: then lock that one.
            if connection.execute(_CREATE_LIST, key).rowcount:
                return None, now

    # One-statement writes (see the module docstring).

    def _create(
        self, connection, resource_name, parent_id, object_id, data, forced, generated=False
    ) -> int:
        if forced is not None:
            return super()._create(connection, resource_name, parent_id, object_id, data, forced)
        key = {"r": resource_name, "p": parent_id, "id": object_id, "data": data}
        held = sql.held_lists(connection)
        if held is not None:
            last = held.get((resource_name, parent_id))
            if generated and last is not None:
                # The transaction holds the list's lock: nobody else can
                # write in it before the commit, the next timestamp is
                # known here and the write needs no answer (see _APPEND).
                stamp = max(msec_time(), last + 1)
                fast.execute_later(connection, _APPEND, {**key, "ts": stamp})
                held[(resource_name, parent_id)] = stamp
                return stamp
        row = fast.fetch_one(connection, _CREATE, key)
        if row is not None and row[1] is None:
            if held is not None:
                held[(resource_name, parent_id)] = row[0]
            return row[0]
        if row is not None:
            existing = self._object(object_id, row[0], row[1])
        else:  # created meanwhile by a writer we waited for
            existing = self._read_live(connection, resource_name, parent_id, object_id)
        raise UnicityError(self.id_field, existing)

    def _update(self, connection, resource_name, parent_id, object_id, data, forced, if_match):
        if forced is not None:
            return super()._update(
                connection, resource_name, parent_id, object_id, data, forced, if_match
            )
        key = {"r": resource_name, "p": parent_id, "id": object_id, "data": data}
        if if_match is None:
            return fast.fetch_one(connection, _UPSERT, key)[0]
        row = fast.fetch_one(connection, _UPDATE_IF_MATCH, {**key, "if_match": if_match})
        if row is None:
            existing = self._read_live(connection, resource_name, parent_id, object_id)
            raise ModifiedMeanwhileError(existing)
        return row[0]

    def _delete(self, connection, resource_name, parent_id, object_id, keep, forced, if_match):
        if forced is not None:
            return super()._delete(
                connection, resource_name, parent_id, object_id, keep, forced, if_match
            )
        key = {
            "r": resource_name,
            "p": parent_id,
            "id": object_id,
            "if_match": if_match,
            "tombstone": TOMBSTONE_DATA,
        }
        row = fast.fetch_one(connection, _BURY if keep else _REMOVE, key)
        if row is not None:
            return row[0]
        existing = self._read_live(connection, resource_name, parent_id, object_id)
        if existing is None:
            raise ObjectNotFoundError(message=f"Object {object_id!r} not found")
        raise ModifiedMeanwhileError(existing)

    def write_object(self, connection, resource_name, parent_id, object_id, stamp, data, moved):
        key = {"r": resource_name, "p": parent_id, "id": object_id, "ts": stamp, "data": data}
        if moved is None:
            connection.execute(_WRITE_OBJECT, key)
        else:
            connection.execute(_WRITE_OBJECT_AND_STAMP, {**key, "list_ts": moved})

    def bury(self, connection, resource_name, entries, keep) -> None:
        # One statement for any number of objects.
        parents, ids, stamps = (list(column) for column in zip(*entries, strict=True))
        key = {"r": resource_name, "parents": parents, "ids": ids, "stamps": stamps}
        if keep:
            connection.execute(_BURY_MANY, {**key, "tombstone": TOMBSTONE_DATA})
        else:
            connection.execute(_REMOVE_MANY, key)


# The statements below are assembled from constants only (``noqa: S608``);
# every value is a bound parameter.

# The list's row locked (an update locks it) until commit, its version moved.
_LOCK_LIST = sa.text(
    f"WITH locked AS (UPDATE timestamps SET {_NEW_VERSION}"  # noqa: S608
    " WHERE resource_name = :r AND parent_id = :p RETURNING last_modified)"
    " SELECT (SELECT last_modified FROM locked), " + NOW
)
# The lists ``parents`` (locked by the transaction) versioned again.
_NEW_VERSIONS = sa.text(
    f"UPDATE timestamps SET {_NEW_VERSION}"  # noqa: S608
    " WHERE resource_name = :r AND parent_id = ANY(CAST(:parents AS TEXT[]))"
)
# The lists ``parents`` locked in parent order, and versioned.
_LOCK_AND_VERSION = sa.text(
    "WITH locking AS (SELECT parent_id FROM timestamps"  # noqa: S608
    " WHERE resource_name = :r AND parent_id = ANY(CAST(:parents AS TEXT[]))"
    " ORDER BY parent_id FOR UPDATE)"
    f" UPDATE timestamps AS t SET {_NEW_VERSION} FROM locking"
    " WHERE t.resource_name = :r AND t.parent_id = locking.parent_id"
)
_CREATE_LIST = sa.text(
    "INSERT INTO timestamps (resource_name, parent_id, last_modified)"  # noqa: S608
    f" VALUES (:r, :p, {NOW}) ON CONFLICT DO NOTHING"
)

# The list timestamp moved forward, its row locked until commit.
_STAMP = f"""stamp AS (
    INSERT INTO timestamps AS t (resource_name, parent_id, last_modified)
    VALUES (:r, :p, {NOW})
    ON CONFLICT (resource_name, parent_id) DO UPDATE
    SET last_modified = GREATEST(excluded.last_modified, t.last_modified + 1), {_NEW_VERSION}
    RETURNING t.last_modified
)"""  # noqa: S608

_LIVE = "o.resource_name = :r AND o.parent_id = :p AND o.id = :id AND NOT o.deleted"
_MATCHING = "(CAST(:if_match AS BIGINT) IS NULL OR o.last_modified = :if_match)"

# _STAMP, only when the live object matches ``if_match`` (NULL: any): a
# write refused with 412 or 404 leaves the list timestamp alone, so the
# ETag of that answer is a committed one.
_STAMP_IF_MATCHING = f"""stamp AS (
    INSERT INTO timestamps AS t (resource_name, parent_id, last_modified)
    SELECT :r, :p, {NOW} WHERE EXISTS (SELECT 1 FROM objects AS o WHERE {_LIVE} AND {_MATCHING})
    ON CONFLICT (resource_name, parent_id) DO UPDATE
    SET last_modified = GREATEST(excluded.last_modified, t.last_modified + 1), {_NEW_VERSION}
    RETURNING t.last_modified
)"""  # noqa: S608

_CREATE = fast.RawStatement(
    f"""WITH existing AS (
    SELECT o.last_modified, o.data::TEXT AS data FROM objects AS o WHERE {_LIVE}
), stamp AS (
    INSERT INTO timestamps AS t (resource_name, parent_id, last_modified)
    SELECT :r, :p, {NOW} WHERE NOT EXISTS (SELECT 1 FROM existing)
    ON CONFLICT (resource_name, parent_id) DO UPDATE
    SET last_modified = GREATEST(excluded.last_modified, t.last_modified + 1), {_NEW_VERSION}
    RETURNING t.last_modified
), created AS (
    INSERT INTO objects AS o (resource_name, parent_id, id, last_modified, deleted, data)
    SELECT :r, :p, :id, stamp.last_modified, FALSE, CAST(:data AS JSONB) FROM stamp
    ON CONFLICT (resource_name, parent_id, id) DO UPDATE
    SET last_modified = excluded.last_modified, deleted = FALSE, data = excluded.data
    WHERE o.deleted
    RETURNING o.last_modified
)
SELECT last_modified, NULL FROM created
UNION ALL
SELECT last_modified, data FROM existing"""  # noqa: S608
)

# A creation in a list whose lock the transaction holds, queued with the
# next round trip (fast.execute_later), its timestamp chosen by the writer.
# Should the list timestamp not be below it, or the (generated) id be taken,
# the statement fails (a NULL timestamp, a duplicate key), and so does the
# transaction: never an object out of order, never a creation unnoticed.
_APPEND = fast.RawStatement(
    f"""WITH stamp AS (
    UPDATE timestamps SET last_modified = :ts, {_NEW_VERSION}
    WHERE resource_name = :r AND parent_id = :p AND last_modified < :ts
    RETURNING last_modified
)
INSERT INTO objects (resource_name, parent_id, id, last_modified, deleted, data)
VALUES (:r, :p, :id, (SELECT last_modified FROM stamp), FALSE, CAST(:data AS JSONB))"""  # noqa: S608
)

_UPSERT = fast.RawStatement(
    f"""WITH {_STAMP}, written AS (
    INSERT INTO objects AS o (resource_name, parent_id, id, last_modified, deleted, data)
    SELECT :r, :p, :id, stamp.last_modified, FALSE, CAST(:data AS JSONB) FROM stamp
    ON CONFLICT (resource_name, parent_id, id) DO UPDATE
    SET last_modified = excluded.last_modified, deleted = FALSE, data = excluded.data
    RETURNING o.last_modified
)
SELECT last_modified FROM written"""  # noqa: S608
)

_UPDATE_IF_MATCH = fast.RawStatement(
    f"""WITH {_STAMP_IF_MATCHING}, written AS (
    UPDATE objects AS o
    SET last_modified = stamp.last_modified, data = CAST(:data AS JSONB)
    FROM stamp WHERE {_LIVE} AND o.last_modified = :if_match
    RETURNING o.last_modified
)
SELECT last_modified FROM written"""  # noqa: S608
)

_WRITE = """INSERT INTO objects AS o (resource_name, parent_id, id, last_modified, deleted, data)
    VALUES (:r, :p, :id, :ts, FALSE, CAST(:data AS JSONB))
    ON CONFLICT (resource_name, parent_id, id) DO UPDATE
    SET last_modified = excluded.last_modified, deleted = FALSE, data = excluded.data"""
_WRITE_OBJECT = sa.text(_WRITE)
# The object and the moved list timestamp in one statement.
_WRITE_OBJECT_AND_STAMP = sa.text(
    f"""WITH written AS ({_WRITE} RETURNING 1)
UPDATE timestamps SET last_modified = :list_ts, {_NEW_VERSION}
WHERE resource_name = :r AND parent_id = :p AND EXISTS (SELECT 1 FROM written)"""  # noqa: S608
)

_BURY = fast.RawStatement(
    f"""WITH {_STAMP_IF_MATCHING}, buried AS (
    UPDATE objects AS o
    SET last_modified = stamp.last_modified, deleted = TRUE, data = CAST(:tombstone AS JSONB)
    FROM stamp WHERE {_LIVE} AND {_MATCHING}
    RETURNING o.last_modified
)
SELECT last_modified FROM buried"""  # noqa: S608
)

_REMOVE = fast.RawStatement(
    f"""WITH {_STAMP_IF_MATCHING}, removed AS (
    DELETE FROM objects AS o USING stamp WHERE {_LIVE} AND {_MATCHING}
    RETURNING stamp.last_modified
)
SELECT last_modified FROM removed"""  # noqa: S608
)

_MANY = (
    "FROM unnest(CAST(:parents AS TEXT[]), CAST(:ids AS TEXT[]), CAST(:stamps AS BIGINT[]))"
    " AS v(parent_id, id, last_modified)"
)
_BURY_MANY = sa.text(
    "UPDATE objects AS o SET deleted = TRUE, last_modified = v.last_modified,"  # noqa: S608
    f" data = CAST(:tombstone AS JSONB) {_MANY}"
    " WHERE o.resource_name = :r AND o.parent_id = v.parent_id AND o.id = v.id"
)
_REMOVE_MANY = sa.text(
    f"DELETE FROM objects AS o USING (SELECT * {_MANY}) AS v"  # noqa: S608
    " WHERE o.resource_name = :r AND o.parent_id = v.parent_id AND o.id = v.id"
)


def load_from_config(config) -> Storage:
    """Build the backend from ``storage_url`` (``postgresql://...``), the
    pool settings and ``readonly``; fail if the schema is not migrated."""
    settings = config.get_settings()
    database = sql.get_database(settings, "storage_")
    if database.dialect != sql.POSTGRESQL:
        raise ConfigurationError(
            "kinto.core.storage.postgresql needs a postgresql:// storage_url "
            "(use kinto.core.storage.sqlite for SQLite)."
        )
    database.check_schema(Storage.schema)
    return Storage(database, readonly=asbool(settings.get("readonly", False)))
