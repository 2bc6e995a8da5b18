"""SQL storage shared by the PostgreSQL and SQLite backends (SQLAlchemy
Core on :mod:`kinto.core.sql`).

Schema (``migrations/versions``): table ``objects`` holds live objects and
tombstones, one row each, keyed by ``(resource_name, parent_id, id)``, with
``last_modified`` unique per list and the object's other fields in ``data``
(``{"deleted": true}`` for a tombstone); table ``timestamps`` holds each
list's timestamp.

**Timestamps.** Every write locks its list's ``timestamps`` row until the
transaction ends (PostgreSQL: the row lock taken by the upsert or by
``SELECT ... FOR UPDATE``; SQLite: the database write lock taken by
``BEGIN IMMEDIATE``), reads the list timestamp and assigns
``max(now, timestamp + 1)``. Writers of a list are thus serialised in commit
order, which gives unique, increasing timestamps following commit order
across threads and processes, and makes ``if_match`` an atomic
compare-and-set.

**Filters and sorts** run in SQL (:mod:`kinto.core.storage.sql_queries`):
``id`` and ``last_modified`` on their columns, other fields through the
dialect's JSON expressions (:class:`Dialect`), with the semantics of
:mod:`kinto.core.storage`; a page never reads more rows than it returns
when sorted by timestamp (index ``(resource_name, parent_id,
last_modified)``).

The decisions left open by the interface are those of the memory backend
(see :mod:`kinto.core.storage.memory`), which the same conformance suite
checks.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from kinto.core import jsonutil, sql
from kinto.core.sql import fast
from kinto.core.storage import (
    COMPARISON,
    Filter,
    ModifiedMeanwhileError,
    ObjectNotFoundError,
    PaginationRules,
    RawObject,
    ReadonlyError,
    Sort,
    StorageBase,
    UnicityError,
)
from kinto.core.storage.generators import UUID4
from kinto.core.storage.page_cache import PageCache
from kinto.core.storage.sql_queries import QueryBuilder, objects

TOMBSTONE_DATA = '{"deleted":true}'

timestamps = sa.table(
    "timestamps",
    sa.column("resource_name", sa.Text),
    sa.column("parent_id", sa.Text),
    sa.column("last_modified", sa.BigInteger),
)


def dumps(value: Any) -> str:
    """JSON text of a document (integers beyond 64 bits included)."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Dialect(abc.ABC):
    """SQL expressions on the JSON fields of ``objects.data`` for one
    database. ``parts`` is a dotted field split on dots; values are JSON
    values (never :data:`MISSING` unless said)."""

    #: ``objects.data`` as JSON text in a select list.
    data_text: ColumnElement
    #: The same, as SQL text.
    data_sql: str
    #: Whether ``timestamps`` has a ``version`` column (storage_0002): lists'
    #: pages are then kept (:class:`PageCache`) and read again only when
    #: their list's version or timestamp changed.
    list_versions: bool = False
    #: ``SET`` assignment giving a list a new version (with a comma), or "".
    new_version_set: str = ""

    # A dialect either *plans* JSON filters (:meth:`plan`, :meth:`planned`:
    # the statement is rendered once per shape and its values bound), or
    # builds them per query with the values in the statement (the methods
    # after them).

    def plan(
        self, parts: tuple[str, ...], op: COMPARISON, value: Any
    ) -> tuple[tuple, list] | None:
        """``(form, parameter values)`` of the filter ``parts op value``
        (semantics of :class:`kinto.core.storage.Filter`): the form
        (hashable) determines the SQL of :meth:`planned` entirely, the
        values only fill its parameters. None: built per query."""
        return None

    def planned(self, parts: tuple[str, ...], form: tuple, params: list) -> ColumnElement:
        """The condition of a form of :meth:`plan`, ``params`` standing for
        its values."""
        raise NotImplementedError

    def compare(self, parts: tuple[str, ...], op: COMPARISON, value: Any) -> ColumnElement:
        """``EQ``, ``NOT``, ``LT``, ``MAX``, ``GT``, ``MIN`` against a JSON
        value or :data:`MISSING`, in JSONB order (missing = greatest)."""
        raise NotImplementedError

    def member(self, parts: tuple[str, ...], values: list) -> ColumnElement:
        """The field is present and equal to one of ``values``."""
        raise NotImplementedError

    def present(self, parts: tuple[str, ...]) -> ColumnElement:
        """The field exists (JSON null counts as present)."""
        raise NotImplementedError

    def like(self, parts: tuple[str, ...], pattern: str) -> ColumnElement:
        """The field's text form matches ``pattern`` (``*`` = any run),
        case-insensitively; never for null or missing fields."""
        raise NotImplementedError

    def contains(self, parts: tuple[str, ...], items: list, every: bool) -> ColumnElement:
        """The field is an array holding every (or any) of ``items``."""
        raise NotImplementedError

    @abc.abstractmethod
    def order(self, parts: tuple[str, ...], descending: bool) -> list[ColumnElement]:
        """ORDER BY terms in JSONB order, missing last ascending."""

    @abc.abstractmethod
    def array_value(self, values: list) -> Any:
        """The parameter value standing for a list of strings or numbers
        in :meth:`column_in`."""

    @abc.abstractmethod
    def column_in(self, column: ColumnElement, param: Any) -> ColumnElement:
        """``column`` equals one of the values of the parameter ``param``
        (an :meth:`array_value`): one parameter whatever the list's size."""


class _PagePlan(NamedTuple):
    """How get_with_list_page (or page_along) reads a page: the prepared
    page statement, the parameters of the whole statement, and ``kept``:
    None when pages are not kept, else ``(cache key, stamp, page)`` (the
    last two None when none is kept; the stamp: the list's ``(version,
    timestamp)`` the page was read at)."""

    statement: fast.RawStatement
    params: dict[str, Any]
    kept: tuple | None
    object_id: str
    list_resource_name: str
    list_parent_id: str


#: First column of the rows of read_along and page_along (no object URI
#: looks like them).
_ALONG_OBJECT = "#object"
_ALONG_PAGE = "#page"


class SQLStorage(StorageBase):
    """Storage on a :class:`kinto.core.sql.Database` (see the module
    docstring). Subclasses give the :class:`Dialect` and may replace the
    write paths with faster statements."""

    #: Name of the schema (migrations) of this backend.
    schema = "storage"

    def __init__(self, database: sql.Database, dialect: Dialect, readonly: bool = False):
        self.database = database
        self.dialect = dialect
        self.readonly = readonly
        self._default_generator = UUID4()
        self._data_text = dialect.data_text
        # List statements are rendered once per shape (``:name`` parameters)
        # and run on the driver (kinto.core.sql.fast).
        compile_dialect = type(database.engine.dialect)(paramstyle="named")
        self.queries = QueryBuilder(
            dialect, self.id_field, self.modified_field, dialect.data_text, compile_dialect
        )
        # The hot single-object read, run on the driver (kinto.core.sql.fast).
        self._get_statement = fast.RawStatement(
            f"SELECT last_modified, {dialect.data_sql} FROM objects"  # noqa: S608
            " WHERE resource_name = :r AND parent_id = :p AND id = :id AND NOT deleted"
        )
        self._get_with_list_timestamp_statement = fast.RawStatement(
            f"SELECT last_modified, {dialect.data_sql},"  # noqa: S608
            " (SELECT t.last_modified FROM timestamps AS t"
            "  WHERE t.resource_name = :lr AND t.parent_id = :lp)"
            " FROM objects"
            " WHERE resource_name = :r AND parent_id = :p AND id = :id AND NOT deleted"
        )
        # The same row, as the first part of get_with_list_page's statements
        # (a page's parameters may be named r, p...), with the list version.
        list_row = (
            "FROM timestamps AS t WHERE t.resource_name = :parent_lr AND t.parent_id = :parent_lp"
        )
        version_sql = f"(SELECT t.version {list_row})" if dialect.list_versions else "NULL"
        self._parent_row_sql = (
            f"SELECT 0, NULL, last_modified, {dialect.data_sql},"  # noqa: S608
            f" (SELECT t.last_modified {list_row}), {version_sql}"
            " FROM objects WHERE resource_name = :parent_r AND parent_id = :parent_p"
            " AND id = :parent_id AND NOT deleted"
        )
        # The page's rows are only sent when the list's version or timestamp
        # is not the one of the page kept (or either is unknown). Versions
        # alone would do, but for a database restored from a backup while
        # servers run: its sequence goes back, and may give again a version
        # a server kept a page for; the list's timestamp then differs.
        self._page_condition = (
            " WHERE COALESCE((SELECT t.version <> CAST(:known_version AS BIGINT)"
            f" OR t.last_modified <> CAST(:known_timestamp AS BIGINT) {list_row}), TRUE)"
            if dialect.list_versions
            else ""
        )
        # The same, as page_along's first row of three text columns, with
        # whether the page is sent (its guard held).
        self._along_parent_row_sql = (
            f"SELECT '{_ALONG_PAGE}', '@' || CAST(last_modified AS TEXT) || ','"  # noqa: S608
            f" || COALESCE(CAST((SELECT t.last_modified {list_row}) AS TEXT), '') || ','"
            f" || COALESCE(CAST({version_sql} AS TEXT), '') || ','"
            f" || CASE WHEN {fast.GUARD} THEN '1' ELSE '0' END, {dialect.data_sql}"
            " FROM objects WHERE resource_name = :parent_r AND parent_id = :parent_p"
            " AND id = :parent_id AND NOT deleted"
        )
        self._with_parent_statements: dict[str, fast.RawStatement] = {}
        self._along_page_statements: dict[str, str] = {}
        #: Pages of get_with_list_page by statement and parameters, with the
        #: list version they were read at (when the dialect has versions).
        self.pages = PageCache()
        # The single-object read as rows of three text columns (read_along).
        self._along_get_sql = (
            f"SELECT '{_ALONG_OBJECT}', CAST(last_modified AS TEXT), {dialect.data_sql}"  # noqa: S608
            " FROM objects WHERE resource_name = :along_r AND parent_id = :along_p"
            " AND id = :along_id AND NOT deleted"
        )
        # Fragments are constants of the dialect, values are bound.
        self._upsert_object = sa.text(
            "INSERT INTO objects (resource_name, parent_id, id, last_modified, deleted, data)"  # noqa: S608
            f" VALUES (:r, :p, :id, :ts, FALSE, {self.json_param('data')})"
            " ON CONFLICT (resource_name, parent_id, id) DO UPDATE SET"
            " last_modified = excluded.last_modified, deleted = FALSE, data = excluded.data"
        )
        self._upsert_timestamp = sa.text(
            "INSERT INTO timestamps (resource_name, parent_id, last_modified)"  # noqa: S608
            " VALUES (:r, :p, :ts) ON CONFLICT (resource_name, parent_id)"
            f" DO UPDATE SET last_modified = excluded.last_modified{dialect.new_version_set}"
        )
        self._insert_timestamp_if_missing = sa.text(
            "INSERT INTO timestamps (resource_name, parent_id, last_modified)"  # noqa: S608
            f" VALUES (:r, :p, {self.now_sql})"
            " ON CONFLICT (resource_name, parent_id) DO NOTHING"
        )

    # Schema and maintenance.

    def initialize_schema(self, dry_run: bool = False) -> None:
        self.database.initialize_schema(self.schema, dry_run=dry_run)

    def flush(self) -> None:
        def work(connection: Connection) -> None:
            connection.execute(sa.delete(objects))
            connection.execute(sa.delete(timestamps))

        self.database.run(work)

    def heartbeat(self) -> bool:
        try:
            self.database.run_standalone(
                lambda c: c.execute(sa.select(timestamps.c.last_modified).limit(1)).all(),
                write=False,
            )
        except Exception:
            return False
        return True

    # Hooks of the dialects.

    #: SQL text of the current time in epoch milliseconds (may use the
    #: ``:now`` parameter given by :meth:`now_params`).
    now_sql = ":now"

    def now_params(self) -> dict[str, Any]:
        """Parameters of :attr:`now_sql`."""
        return {}

    @abc.abstractmethod
    def lock_list(
        self, connection: Connection, resource_name: str, parent_id: str
    ) -> tuple[int | None, int]:
        """Lock the list's timestamp until the transaction ends; return it
        (None if the list has none yet) and the current time."""

    def lock_and_read(
        self, connection: Connection, resource_name: str, parent_id: str, object_id: str
    ) -> tuple[int | None, int, dict | None]:
        """:meth:`lock_list`, then read the live object ``object_id`` (None
        if there is none), as the list's writers see it."""
        current, now = self.lock_list(connection, resource_name, parent_id)
        return current, now, self._read_live(connection, resource_name, parent_id, object_id)

    @abc.abstractmethod
    def json_param(self, name: str) -> str:
        """SQL text of a bound JSON document parameter ``:name``."""

    # Timestamps.

    def resource_timestamp(self, resource_name: str, parent_id: str) -> int:
        key = {"r": resource_name, "p": parent_id}
        row = self.database.run(
            lambda c: fast.fetch_one(c, _FAST_READ_TIMESTAMP, key), write=False
        )
        if row is not None:
            return row[0]
        if self.readonly:
            raise ReadonlyError(message="Cannot initialize empty resource timestamp")
        return self.database.run(
            lambda c: self._initialise_timestamp(c, resource_name, parent_id), idempotent=True
        )

    def _initialise_timestamp(self, connection, resource_name: str, parent_id: str) -> int:
        key = {"r": resource_name, "p": parent_id, **self.now_params()}
        connection.execute(self._insert_timestamp_if_missing, key)
        return connection.execute(_READ_TIMESTAMP, key).scalar_one()

    @staticmethod
    def next_timestamp(current: int | None, now: int, forced: int | None) -> tuple[int, int]:
        """``(object timestamp, list timestamp)`` of a write in a list at
        ``current``: ``forced`` unless it equals the list timestamp (the
        list only moves forward), else ``max(now, current + 1)``."""
        if forced is not None and forced != current:
            if current is None or forced > current:
                return forced, forced
            return forced, current
        if current is None or now > current:
            return now, now
        return current + 1, current + 1

    def _store_timestamp(self, connection, resource_name, parent_id, value: int) -> None:
        connection.execute(
            self._upsert_timestamp, {"r": resource_name, "p": parent_id, "ts": value}
        )

    # Reads.

    def _object(self, object_id: str, last_modified: int, data: str) -> dict:
        obj = {self.id_field: object_id, self.modified_field: last_modified}
        obj.update(jsonutil.loads(data))  # integers beyond 64 bits stay exact
        return obj

    def _objects(self, rows: Sequence[tuple]) -> list[dict]:
        """:meth:`_object` of each ``(id, last_modified, data)`` row; the
        documents are parsed together, as one JSON array (one parser call
        instead of one per object)."""
        if len(rows) < 2:
            return [self._object(*row) for row in rows]
        documents = jsonutil.loads(f"[{','.join([row[2] for row in rows])}]")
        id_field, modified_field = self.id_field, self.modified_field
        objects = []
        for (object_id, last_modified, _), document in zip(rows, documents, strict=True):
            obj = {id_field: object_id, modified_field: last_modified}
            obj.update(document)
            objects.append(obj)
        return objects

    def _read_live(self, connection, resource_name, parent_id, object_id) -> dict | None:
        row = fast.fetch_one(
            connection, self._get_statement, {"r": resource_name, "p": parent_id, "id": object_id}
        )
        return None if row is None else self._object(object_id, row[0], row[1])

    def read_along(self, resource_name: str, parent_id: str, object_id: str) -> fast.Along:
        def parse(rows: list[tuple]) -> dict | None:
            if not rows:
                return None
            return self._object(object_id, int(rows[0][1]), rows[0][2])

        params = {"along_r": resource_name, "along_p": parent_id, "along_id": object_id}
        return fast.Along(self.database, self._along_get_sql, params, _ALONG_OBJECT, parse)

    def get(self, resource_name: str, parent_id: str, object_id: str) -> dict:
        obj = self.database.run(
            lambda c: self._read_live(c, resource_name, parent_id, object_id), write=False
        )
        if obj is None:
            raise ObjectNotFoundError(message=f"Object {object_id!r} not found")
        return obj

    def get_with_list_timestamp(
        self,
        resource_name: str,
        parent_id: str,
        object_id: str,
        list_resource_name: str,
        list_parent_id: str,
    ) -> tuple[dict, int]:
        # One statement, hence one snapshot: the object and the list's
        # timestamp row (absent until the list's first write or read).
        params = {
            "r": resource_name,
            "p": parent_id,
            "id": object_id,
            "lr": list_resource_name,
            "lp": list_parent_id,
        }
        row = self.database.run(
            lambda c: fast.fetch_one(c, self._get_with_list_timestamp_statement, params),
            write=False,
        )
        if row is None:
            raise ObjectNotFoundError(message=f"Object {object_id!r} not found")
        obj = self._object(object_id, row[0], row[1])
        if row[2] is None:
            return obj, self.resource_timestamp(list_resource_name, list_parent_id)
        return obj, row[2]

    def get_with_list_page(
        self,
        resource_name: str,
        parent_id: str,
        object_id: str,
        list_resource_name: str,
        list_parent_id: str,
        **page: Any,
    ) -> tuple[dict, int, list[RawObject] | None]:
        plan = self._page_plan(
            resource_name, parent_id, object_id, list_resource_name, list_parent_id, page
        )
        if plan is None:
            return super().get_with_list_page(
                resource_name, parent_id, object_id, list_resource_name, list_parent_id, **page
            )
        # One statement, hence one snapshot: the parent's row (kind 0) and
        # the page's rows (kind 1, in the page's order).
        page_statement, params = plan.statement, plan.params
        statement = self._with_parent_statements.get(page_statement.text)
        if statement is None:
            page_sql = (
                f"SELECT 1, page.*, NULL, NULL FROM ({page_statement.text}) AS page"  # noqa: S608
                f"{self._page_condition}"
            )
            statement = fast.RawStatement(
                f"{self._parent_row_sql} UNION ALL {page_sql}", arrays=page_statement.arrays
            )
            fast.remember(self._with_parent_statements, page_statement.text, statement)
        rows = self.database.run(lambda c: fast.fetch_all(c, statement, params), write=False)
        parent = None
        page_rows = []
        for kind, *columns in rows:
            if kind == 0:
                parent = (columns[1], columns[2], columns[3], columns[4])
            else:
                page_rows.append(columns[:3])
        return self._page_answer(plan, parent, page_rows)

    def page_along(
        self,
        resource_name: str,
        parent_id: str,
        object_id: str,
        list_resource_name: str,
        list_parent_id: str,
        **page: Any,
    ) -> fast.Along | None:
        plan = self._page_plan(
            resource_name, parent_id, object_id, list_resource_name, list_parent_id, page
        )
        if plan is None:
            return None
        page_statement, params = plan.statement, plan.params
        sql = self._along_page_statements.get(page_statement.text)
        if sql is None:
            # The statement of get_with_list_page as rows of three text
            # columns: the parent's row (its second column starts with "@"),
            # then the page's rows. The page is only read when the guard
            # holds (the caller holds an ACE of the list's lineage: it may
            # read it whole), so that it is not read for callers who may not.
            condition = self._page_condition or " WHERE TRUE"
            sql = (
                f"{self._along_parent_row_sql} UNION ALL SELECT '{_ALONG_PAGE}',"  # noqa: S608
                " CAST(page.last_modified AS TEXT) || ',' || page.id, page.data"
                f" FROM ({page_statement.text}) AS page{condition} AND {fast.GUARD}"
            )
            fast.remember(self._along_page_statements, page_statement.text, sql)

        def parse(rows: list[tuple]) -> Callable[[], tuple | None]:
            def answer() -> tuple[dict, int, list[RawObject] | None] | None:
                parent = None
                page_rows = []
                for _, head, data in rows:
                    if head.startswith("@"):
                        stamp, list_stamp, version, guarded = head[1:].split(",")
                        if guarded != "1":
                            return None  # the page was not read
                        parent = (
                            int(stamp),
                            data,
                            int(list_stamp) if list_stamp else None,
                            int(version) if version else None,
                        )
                    else:
                        stamp, _, page_id = head.partition(",")
                        page_rows.append((page_id, int(stamp), data))
                return self._page_answer(plan, parent, page_rows)

            return answer

        return fast.Along(
            self.database, sql, params, _ALONG_PAGE, parse, arrays=page_statement.arrays
        )

    def _page_plan(
        self, resource_name, parent_id, object_id, list_resource_name, list_parent_id, page
    ) -> _PagePlan | None:
        """The plan of get_with_list_page (``page``: its keyword arguments),
        or None when the page is not read by a prepared statement."""
        query = (
            list_resource_name,
            list_parent_id,
            page.get("filters"),
            page.get("sorting"),
            page.get("pagination_rules"),
            page.get("limit"),
            page.get("include_deleted", False),
        )
        limit = query[5]
        prepared = None if limit is not None and limit <= 0 else self.queries.prepared(*query)
        if prepared is None:
            return None
        page_statement, params = prepared
        # Kept pages are only for reads of committed data (a transaction's
        # own writes may not have moved the version yet).
        kept = None
        if self.dialect.list_versions and not self.database.in_write_transaction():
            key = (page_statement.text, repr(sorted(params.items())))
            found = self.pages.get(key)
            kept = (key, *found) if found is not None else (key, None, None)
        params = {
            **params,
            "parent_r": resource_name,
            "parent_p": parent_id,
            "parent_id": object_id,
            "parent_lr": list_resource_name,
            "parent_lp": list_parent_id,
            "known_version": kept[1][0] if kept is not None and kept[1] else None,
            "known_timestamp": kept[1][1] if kept is not None and kept[1] else None,
        }
        return _PagePlan(
            page_statement, params, kept, object_id, list_resource_name, list_parent_id
        )

    def _page_answer(
        self, plan: _PagePlan, parent: tuple | None, page_rows: list
    ) -> tuple[dict, int, list[RawObject] | None]:
        """get_with_list_page's answer from the rows of its statement: the
        parent's ``(last_modified, data, list timestamp, list version)`` (None
        when missing) and the page's ``(id, last_modified, data)``."""
        kept, object_id = plan.kept, plan.object_id
        if parent is None:
            raise ObjectNotFoundError(message=f"Object {object_id!r} not found")
        last_modified, data, timestamp, version = parent
        obj = self._object(object_id, last_modified, data)
        stamp = (version, timestamp) if version is not None and timestamp is not None else None
        if timestamp is None:
            timestamp = self.resource_timestamp(plan.list_resource_name, plan.list_parent_id)
        if kept is not None and kept[1] is not None and stamp == kept[1]:
            return obj, timestamp, list(kept[2])
        page_objects = self._raw_objects(page_rows)
        if stamp is not None and kept is not None:
            chars = sum(len(raw.json) for raw in page_objects)
            self.pages.put(kept[0], stamp, tuple(page_objects), chars)
        return obj, timestamp, page_objects

    def list_all(
        self,
        resource_name: str,
        parent_id: str,
        filters: Iterable[Filter] | None = None,
        sorting: Iterable[Sort] | None = None,
        pagination_rules: PaginationRules | None = None,
        limit: int | None = None,
        include_deleted: bool = False,
    ) -> list[dict]:
        return self._objects(
            self._page_rows(
                resource_name,
                parent_id,
                filters,
                sorting,
                pagination_rules,
                limit,
                include_deleted,
            )
        )

    def list_all_json(
        self,
        resource_name: str,
        parent_id: str,
        filters: Iterable[Filter] | None = None,
        sorting: Iterable[Sort] | None = None,
        pagination_rules: PaginationRules | None = None,
        limit: int | None = None,
        include_deleted: bool = False,
    ) -> list[RawObject]:
        rows = self._page_rows(
            resource_name, parent_id, filters, sorting, pagination_rules, limit, include_deleted
        )
        return self._raw_objects(rows)

    def _raw_objects(self, rows: Iterable[Sequence]) -> list[RawObject]:
        """:class:`RawObject` of ``(id, last_modified, data)`` rows."""
        # The data column holds every field but these two (see _split).
        id_key = orjson.dumps(self.id_field).decode()
        modified_key = orjson.dumps(self.modified_field).decode()
        objects = []
        for object_id, last_modified, data in rows:
            head = f"{{{id_key}:{orjson.dumps(object_id).decode()},{modified_key}:{last_modified}"
            rest = data[1:].lstrip()
            text = f"{head}{rest}" if rest.startswith("}") else f"{head},{rest}"
            objects.append(RawObject(object_id, last_modified, text))
        return objects

    def count_all(
        self,
        resource_name: str,
        parent_id: str,
        filters: Iterable[Filter] | None = None,
    ) -> int:
        rows = self._fetch(resource_name, parent_id, filters, None, None, None, False, count=True)
        return rows[0][0]

    def _page_rows(self, *query) -> Sequence[tuple]:
        """``(id, last_modified, data)`` rows of a listing (none when its
        ``limit``, the sixth argument, is zero or less)."""
        limit = query[5]
        if limit is not None and limit <= 0:
            return []
        return self._fetch(*query)

    def _fetch(self, *query, count: bool = False) -> Sequence[tuple]:
        """Rows of a listing (or counting) query: on the driver when its
        shape is prepared, else through SQLAlchemy."""
        prepared = self.queries.prepared(*query, count=count)
        if prepared is not None:
            statement, params = prepared
            return self.database.run(lambda c: fast.fetch_all(c, statement, params), write=False)
        statement, params = self.queries.select(*query, count=count)
        return self.database.run(lambda c: c.execute(statement, params).all(), write=False)

    # Writes (the generic path: lock the list, read, decide, write).

    def _split(self, obj: dict) -> str:
        """The ``data`` column of ``obj``: every field but id and timestamp."""
        id_field, modified_field = self.id_field, self.modified_field
        return dumps({k: v for k, v in obj.items() if k != id_field and k != modified_field})

    def create(
        self,
        resource_name: str,
        parent_id: str,
        obj: dict,
        id_generator: Callable[[], str] | None = None,
    ) -> dict:
        object_id = obj.get(self.id_field)
        generated = object_id is None
        if generated:
            object_id = (id_generator or self._default_generator)()
        data = self._split(obj)
        forced = _forced_timestamp(obj.get(self.modified_field))

        def work(connection: Connection) -> int:
            return self._create(
                connection, resource_name, parent_id, object_id, data, forced, generated
            )

        return self._object(object_id, self.database.run(work), data)

    def _create(
        self, connection, resource_name, parent_id, object_id, data, forced, generated=False
    ) -> int:
        """Write the new object; return its timestamp. ``generated``: its id
        was just generated (by ``create``'s id generator)."""
        current, now, existing = self.lock_and_read(
            connection, resource_name, parent_id, object_id
        )
        if existing is not None:
            raise UnicityError(self.id_field, existing)
        stamp, list_stamp = self.next_timestamp(current, now, forced)
        moved = list_stamp if list_stamp != current else None
        self.write_object(connection, resource_name, parent_id, object_id, stamp, data, moved)
        return stamp

    def write_object(
        self,
        connection: Connection,
        resource_name: str,
        parent_id: str,
        object_id: str,
        stamp: int,
        data: str,
        list_stamp: int | None,
    ) -> None:
        """Store the object (replacing a tombstone) with ``stamp``, and the
        list timestamp when it moved (``list_stamp`` not None)."""
        connection.execute(
            self._upsert_object,
            {"r": resource_name, "p": parent_id, "id": object_id, "ts": stamp, "data": data},
        )
        if list_stamp is not None:
            self._store_timestamp(connection, resource_name, parent_id, list_stamp)

    def update(
        self,
        resource_name: str,
        parent_id: str,
        object_id: str,
        obj: dict,
        if_match: int | None = None,
    ) -> dict:
        data = self._split(obj)
        forced = _forced_timestamp(obj.get(self.modified_field))

        def work(connection: Connection) -> int:
            return self._update(
                connection, resource_name, parent_id, object_id, data, forced, if_match
            )

        return self._object(object_id, self.database.run(work), data)

    def _update(self, connection, resource_name, parent_id, object_id, data, forced, if_match):
        current, now, existing = self.lock_and_read(
            connection, resource_name, parent_id, object_id
        )
        if if_match is not None and (
            existing is None or existing[self.modified_field] != if_match
        ):
            raise ModifiedMeanwhileError(existing)
        if forced is not None and existing is not None:
            if forced <= existing[self.modified_field]:
                forced = None
        stamp, list_stamp = self.next_timestamp(current, now, forced)
        moved = list_stamp if list_stamp != current else None
        self.write_object(connection, resource_name, parent_id, object_id, stamp, data, moved)
        return stamp

    def delete(
        self,
        resource_name: str,
        parent_id: str,
        object_id: str,
        with_deleted: bool = True,
        last_modified: int | None = None,
        if_match: int | None = None,
    ) -> dict:
        forced = _forced_timestamp(last_modified)

        def work(connection: Connection) -> int:
            return self._delete(
                connection, resource_name, parent_id, object_id, with_deleted, forced, if_match
            )

        stamp = self.database.run(work)
        return self._tombstone(object_id, stamp)

    def _tombstone(self, object_id: str, stamp: int) -> dict:
        return {self.id_field: object_id, self.modified_field: stamp, self.deleted_field: True}

    def _delete(self, connection, resource_name, parent_id, object_id, keep, forced, if_match):
        current, now, existing = self.lock_and_read(
            connection, resource_name, parent_id, object_id
        )
        if existing is None:
            raise ObjectNotFoundError(message=f"Object {object_id!r} not found")
        if if_match is not None and existing[self.modified_field] != if_match:
            raise ModifiedMeanwhileError(existing)
        if forced is not None and forced <= existing[self.modified_field]:
            forced = None
        stamp, list_stamp = self.next_timestamp(current, now, forced)
        self.bury(connection, resource_name, [(parent_id, object_id, stamp)], keep)
        if list_stamp != current:
            self._store_timestamp(connection, resource_name, parent_id, list_stamp)
        return stamp

    def bury(
        self,
        connection: Connection,
        resource_name: str,
        entries: Sequence[tuple[str, str, int]],
        keep: bool,
    ) -> None:
        """Turn the ``(parent_id, object_id, timestamp)`` objects into
        tombstones (``keep``) or remove them."""
        params = [
            {"r": resource_name, "p": parent_id, "id": object_id, "ts": stamp}
            for parent_id, object_id, stamp in entries
        ]
        if keep:
            for param in params:
                param["tombstone"] = TOMBSTONE_DATA
        connection.execute(_BURY if keep else _REMOVE, params)

    def delete_all(
        self,
        resource_name: str,
        parent_id: str,
        filters: Iterable[Filter] | None = None,
        sorting: Iterable[Sort] | None = None,
        pagination_rules: PaginationRules | None = None,
        limit: int | None = None,
        with_deleted: bool = True,
    ) -> list[dict]:
        if limit is not None and limit <= 0:
            return []
        selection, params = self.queries.select(
            resource_name,
            parent_id,
            filters,
            sorting,
            pagination_rules,
            limit,
            False,
            columns=(objects.c.parent_id, objects.c.id),
        )

        def work(connection: Connection) -> list[tuple[str, str, int]]:
            lists, now = self.lock_lists(connection, resource_name, parent_id)
            rows = connection.execute(selection, params).all()
            entries = []
            for row_parent, object_id in rows:
                current = lists.get(row_parent)
                stamp, _ = self.next_timestamp(current, now, None)
                lists[row_parent] = stamp
                entries.append((row_parent, object_id, stamp))
            if entries:
                self.bury(connection, resource_name, entries, with_deleted)
                moved = {p: ts for p, _, ts in entries}
                connection.execute(
                    self._upsert_timestamp,
                    [{"r": resource_name, "p": p, "ts": ts} for p, ts in moved.items()],
                )
            if not with_deleted:
                form, key = self.queries.parent_params(parent_id)
                connection.execute(
                    sa.delete(objects).where(
                        objects.c.resource_name == resource_name,
                        *self.queries.parent_clauses(objects, form),
                        objects.c.deleted,
                    ),
                    key,
                )
            return entries

        entries = self.database.run(work)
        return [self._tombstone(object_id, stamp) for _, object_id, stamp in entries]

    def lock_lists(
        self, connection, resource_name: str, parent_id: str
    ) -> tuple[dict[str, int], int]:
        """Lock the timestamps of the lists matching ``parent_id`` (a
        prefix when it ends with ``*``); return them by parent id, and the
        current time."""
        form, key = self.queries.parent_params(parent_id)
        statement = (
            sa.select(timestamps.c.parent_id, timestamps.c.last_modified)
            .where(
                timestamps.c.resource_name == resource_name,
                *self.queries.parent_clauses(timestamps, form),
            )
            .order_by(timestamps.c.parent_id)
        )
        if self.database.dialect == sql.POSTGRESQL:
            statement = statement.with_for_update()
        rows = connection.execute(statement, key).all()
        return dict(rows), self.current_time(connection)

    def current_time(self, connection: Connection) -> int:
        """The current time in epoch milliseconds."""
        return connection.execute(
            sa.text(f"SELECT {self.now_sql}"), self.now_params()
        ).scalar_one()

    def purge_deleted(
        self,
        resource_name: str,
        parent_id: str,
        before: int | None = None,
        max_retained: int | None = None,
    ) -> int:
        if before is not None and max_retained is not None:
            raise ValueError("'before' and 'max_retained' are exclusive")
        statement, key = self._purge_statement(resource_name, parent_id, before, max_retained)
        return self.database.run(lambda c: c.execute(statement, key).rowcount)

    def _purge_statement(
        self,
        resource_name: str,
        parent_id: str,
        before: int | None,
        max_retained: int | None,
        *extra: ColumnElement,
    ) -> tuple[Any, dict[str, Any]]:
        """The ``DELETE`` of :meth:`purge_deleted` and its parameters, the
        tombstones also meeting the ``extra`` conditions."""
        form, key = self.queries.parent_params(parent_id)
        conditions = [
            objects.c.resource_name == resource_name,
            *self.queries.parent_clauses(objects, form),
            objects.c.deleted,
            *extra,
        ]
        if before is not None:
            statement = sa.delete(objects).where(*conditions, objects.c.last_modified < before)
        elif max_retained is not None:
            rank = (
                sa.func.row_number()
                .over(partition_by=objects.c.parent_id, order_by=objects.c.last_modified.desc())
                .label("rank")
            )
            ranked = sa.select(objects.c.parent_id, objects.c.id, rank).where(*conditions)
            ranked = ranked.subquery()
            doomed = sa.select(ranked.c.parent_id, ranked.c.id).where(
                ranked.c.rank > max(max_retained, 0)
            )
            statement = sa.delete(objects).where(
                objects.c.resource_name == resource_name,
                sa.tuple_(objects.c.parent_id, objects.c.id).in_(doomed),
            )
        else:
            statement = sa.delete(objects).where(*conditions)
        return statement, key


def _forced_timestamp(value: Any) -> int | None:
    """A client-given ``last_modified`` is honoured only if it is an
    integer (booleans excluded)."""
    return value if type(value) is int else None


_READ_TIMESTAMP_SQL = (
    "SELECT last_modified FROM timestamps WHERE resource_name = :r AND parent_id = :p"
)
_READ_TIMESTAMP = sa.text(_READ_TIMESTAMP_SQL)
_FAST_READ_TIMESTAMP = fast.RawStatement(_READ_TIMESTAMP_SQL)
_BURY = sa.text(
    "UPDATE objects SET deleted = TRUE, last_modified = :ts, data = :tombstone"
    " WHERE resource_name = :r AND parent_id = :p AND id = :id"
)
_REMOVE = sa.text("DELETE FROM objects WHERE resource_name = :r AND parent_id = :p AND id = :id")
