"""WHERE and ORDER BY clauses of the SQL storage (SQLAlchemy Core).

:class:`QueryBuilder` turns filters, pagination rules and sorts into a
statement and its parameters. Every filter is first *planned*
(:meth:`QueryBuilder.plan_filter`) into a *form* and parameter values: the
form (``("column", "last_modified", ("cmp", "gt"))``, ``("json",
"category", ("cmp", "eq"))``...) depends only on the field, the operator
and the type of the value, and fixes the SQL; the values only fill its
parameters (``v0``, ``v1``...).

* ``id`` and ``last_modified`` are columns (:func:`native_plan`); a list of
  values (``IN``) is one parameter (``= ANY`` on PostgreSQL, ``json_each``
  on SQLite), whatever its size.
* Other fields are JSON. The PostgreSQL dialect plans them too
  (:meth:`kinto.core.storage.sql.Dialect.plan`: values as JSON text
  parameters); SQLite's builds them per query, values in the statement.

The statement of a query made only of planned filters (every list request
on PostgreSQL; on SQLite those filtering only ``id`` and ``last_modified``)
is rendered to SQL text once per *shape* (forms, sorts, parent, limit or
not, tombstones or not; :meth:`QueryBuilder.prepared`), and run on the
driver (:mod:`kinto.core.sql.fast`) with the query's values: a request pays
neither for building nor for compiling nor for SQLAlchemy's execution.
Other queries go through SQLAlchemy (:meth:`QueryBuilder.select`).

A value whose type differs from a column's (``last_modified`` compared with
a string), or an integer beyond 64 bits compared with ``last_modified``, is
decided statically from the JSONB type order.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from kinto.core.sql import fast
from kinto.core.storage import COMPARISON, Filter, PaginationRules, Sort
from kinto.core.storage.utils import sort_key

if TYPE_CHECKING:
    from kinto.core.storage.sql import Dialect

objects = sa.table(
    "objects",
    sa.column("resource_name", sa.Text),
    sa.column("parent_id", sa.Text),
    sa.column("id", sa.Text),
    sa.column("last_modified", sa.BigInteger),
    sa.column("deleted", sa.Boolean),
    sa.column("data"),
)

TRUE = sa.true()
FALSE = sa.false()
SEQUENCES = (list, tuple, set, frozenset)

# Comparison of two JSONB sort keys, by operator (for static decisions).
_COMPARE: dict[COMPARISON, Callable[[Any, Any], bool]] = {
    COMPARISON.LT: lambda a, b: a < b,
    COMPARISON.MAX: lambda a, b: a <= b,
    COMPARISON.GT: lambda a, b: a > b,
    COMPARISON.MIN: lambda a, b: a >= b,
    COMPARISON.EQ: lambda a, b: a == b,
    COMPARISON.NOT: lambda a, b: a != b,
}
_COLUMN_OPERATORS: dict[str, Callable[[Any, Any], ColumnElement]] = {
    COMPARISON.LT: lambda c, p: c < p,
    COMPARISON.MAX: lambda c, p: c <= p,
    COMPARISON.GT: lambda c, p: c > p,
    COMPARISON.MIN: lambda c, p: c >= p,
    COMPARISON.EQ: lambda c, p: c == p,
    COMPARISON.NOT: lambda c, p: c != p,
}

Form = tuple


def field_parts(field: str) -> tuple[str, ...]:
    """``"a.b"`` → ``("a", "b")``: a dot always means nesting."""
    return tuple(field.split("."))


def like_escape(pattern: str) -> str:
    """A ``LIKE`` pattern (``\\`` as escape) where only ``*`` is a
    wildcard."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def prefix_successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with
    ``prefix`` (code point order), or None if there is none."""
    while prefix:
        code = ord(prefix[-1]) + 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates are not text
            code = 0xE000
        if code <= 0x10FFFF:
            return prefix[:-1] + chr(code)
        prefix = prefix[:-1]
    return None


# Columns -------------------------------------------------------------------------


def coerce_id(value: Any) -> Any:
    """``id`` compares as a string: numbers become their JSON text."""
    if isinstance(value, SEQUENCES):
        return [coerce_id(v) for v in value]
    if type(value) is int or type(value) is float:
        return json.dumps(value)
    return value


def coerce_timestamp(value: Any) -> Any:
    """``last_modified`` compares as an integer: digit strings become
    integers."""
    if isinstance(value, SEQUENCES):
        return [coerce_timestamp(v) for v in value]
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def _of_kind(value: Any, kind: type) -> bool:
    if kind is int:
        return type(value) is int or type(value) is float
    return type(value) is str


#: Range of the BIGINT ``last_modified`` column.
_INT64 = range(-(2**63), 2**63)


def native_plan(kind: type, op: COMPARISON, value: Any) -> tuple[Form, list]:
    """``(form, parameter values)`` of a filter on a column holding a value
    of ``kind`` (``str`` or ``int``) in every row. Forms: ``("static",
    bool)`` (no parameter), ``("cmp", op)``, ``("like",)``, ``("in",)``,
    ``("not in",)`` (one parameter: the list of values)."""
    if op == COMPARISON.HAS:
        return ("static", bool(value)), []
    if op == COMPARISON.LIKE:
        if not isinstance(value, str):
            return ("static", False), []
        return ("like",), [like_escape(value)]
    if op in (COMPARISON.CONTAINS, COMPARISON.CONTAINS_ANY):
        return ("static", False), []
    if op in (COMPARISON.IN, COMPARISON.EXCLUDE):
        values = value if isinstance(value, list) else [value]
        natives = [v for v in values if _of_kind(v, kind)]
        if not natives:
            return ("static", op == COMPARISON.EXCLUDE), []
        return ("in" if op == COMPARISON.IN else "not in",), [natives]
    compare = _COMPARE.get(op)
    if compare is None:
        raise ValueError(f"Unsupported filter operator: {op!r}")
    if not _of_kind(value, kind):
        # Another JSON type (or MISSING): decided by the type order.
        representative = "" if kind is str else 0
        return ("static", compare(sort_key(representative), sort_key(value))), []
    if type(value) is int and kind is int and value not in _INT64:
        # Beyond every stored timestamp (and beyond what SQLite can bind):
        # every row compares with it as 0 does.
        return ("static", compare(0, value)), []
    return ("cmp", op), [value]


def native_clause(column, kind: type, form: Form, params: list, dialect: Dialect) -> ColumnElement:
    """The condition of a planned filter, ``params`` standing for its
    values."""
    name = form[0]
    if name == "static":
        return TRUE if form[1] else FALSE
    if name == "cmp":
        return _COLUMN_OPERATORS[form[1]](column, params[0])
    if name == "like":
        text = column if kind is str else sa.cast(column, sa.Text)
        return text.ilike(params[0], escape="\\")
    inside = dialect.column_in(column, params[0])
    return inside if name == "in" else sa.not_(inside)


class Prepared(fast.RawStatement):
    """The SQL text of one query *shape*, rendered once, and the values of
    the parameters that the shape fixes (JSON paths, constants); run it on
    the driver (:mod:`kinto.core.sql.fast`) with :meth:`params`."""

    __slots__ = ("defaults",)

    def __init__(self, text: str, defaults: dict[str, Any]) -> None:
        super().__init__(text)
        self.defaults = defaults

    def params(self, values: dict[str, Any]) -> dict[str, Any]:
        return {**self.defaults, **values}


class QueryBuilder:
    """Clauses of the queries on ``objects`` (see the module docstring).

    ``compile_dialect`` is the SQLAlchemy dialect that :meth:`prepared`
    renders SQL text with (``named`` parameter style)."""

    def __init__(
        self,
        dialect: Dialect,
        id_field: str,
        modified_field: str,
        data_text,
        compile_dialect: Any = None,
    ) -> None:
        self.dialect = dialect
        self.id_field = id_field
        self.modified_field = modified_field
        self.compile_dialect = compile_dialect
        self.columns = {
            id_field: (objects.c.id, str, coerce_id),
            modified_field: (objects.c.last_modified, int, coerce_timestamp),
        }
        self.list_columns = (objects.c.id, objects.c.last_modified, data_text)
        # PostgreSQL renders the select list of every row it sorts, before
        # the LIMIT: a page sorted on a JSON field would turn every matching
        # document into text. Then the page is selected with the raw
        # document and only its rows are rendered (see :meth:`_statement`).
        self._defer_text = data_text is not objects.c.data
        self._cache: dict[tuple, Any] = {}
        self._prepared: dict[tuple, Prepared] = {}

    # Statements.

    def select(
        self,
        resource_name: str,
        parent_id: str,
        filters: Iterable[Filter] | None,
        sorting: Iterable[Sort] | None,
        pagination_rules: PaginationRules | None,
        limit: int | None,
        include_deleted: bool,
        count: bool = False,
        columns: tuple | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """The SQLAlchemy statement listing (or counting) the matching
        objects, and its parameters."""
        query = self._plan(
            resource_name, parent_id, filters, sorting, pagination_rules, limit, include_deleted
        )
        key, params, filters, rules, sorting = query
        if key is None:
            # Some filter is built for this query only, values in the statement.
            params = {"r": resource_name}
            parent_form = self._parent_plan(parent_id, params)
            if limit is not None:
                params["limit"] = limit
            where = self._where(parent_form, include_deleted)
            where.extend(self.filter_clause(f) for f in filters)
            if rules:
                where.append(
                    sa.or_(*(sa.and_(*(self.filter_clause(f) for f in rule)) for rule in rules))
                )
            return self._statement(where, sorting, limit, count, columns), params
        key = (*key, count, columns)
        statement = self._cache.get(key)
        if statement is None:
            statement = self._build_planned(key, filters, rules, sorting, limit, count, columns)
            fast.remember(self._cache, key, statement)
        return statement, params

    def prepared(
        self,
        resource_name: str,
        parent_id: str,
        filters: Iterable[Filter] | None,
        sorting: Iterable[Sort] | None,
        pagination_rules: PaginationRules | None,
        limit: int | None,
        include_deleted: bool,
        count: bool = False,
    ) -> tuple[Prepared, dict[str, Any]] | None:
        """The SQL text of the listing (or counting) statement and its
        parameters, or None when the query has a shape that is built per
        query (then use :meth:`select`). Rendered once per shape: a hit
        costs planning the filters and nothing else."""
        key, params, filters, rules, sorting = self._plan(
            resource_name, parent_id, filters, sorting, pagination_rules, limit, include_deleted
        )
        if key is None or self.compile_dialect is None:
            return None
        key = (*key, count)
        prepared = self._prepared.get(key)
        if prepared is None:
            statement = self._build_planned(key, filters, rules, sorting, limit, count, None)
            compiled = statement.compile(dialect=self.compile_dialect)
            text = compiled.string
            if "POSTCOMPILE" in text:  # pragma: no cover - every list is one parameter
                raise AssertionError(f"Expanding parameter in a prepared statement: {text}")
            # Values fixed by the shape (JSON paths, constants).
            defaults = {
                name: bind.effective_value
                for bind, name in compiled.bind_names.items()
                if not bind.required
            }
            prepared = Prepared(text, defaults)
            fast.remember(self._prepared, key, prepared)
        return prepared, prepared.params(params)

    def _plan(self, resource_name, parent_id, filters, sorting, rules, limit, include_deleted):
        """``(shape key or None, parameters, filters, rules, sorting)``:
        the key is None when a filter cannot be planned (see
        :meth:`Dialect.plan`)."""
        filters = list(filters or ())
        sorting = tuple(sorting or ())
        rules = list(rules or ())
        params: dict[str, Any] = {"r": resource_name}
        parent_form = self._parent_plan(parent_id, params)
        if limit is not None:
            params["limit"] = limit
        forms = []
        index = 0
        for filtr in [*filters, *(f for rule in rules for f in rule)]:
            planned = self.plan_filter(filtr)
            if planned is None:
                return None, params, filters, rules, sorting
            form, values = planned
            forms.append(form)
            for value in values:
                params[f"v{index}"] = value
                index += 1
        # Rules' sizes are part of the shape.
        shape = (tuple(forms), tuple(len(rule) for rule in rules))
        key = (parent_form, include_deleted, shape, sorting, limit is None)
        return key, params, filters, rules, sorting

    def plan_filter(self, filtr: Filter) -> tuple[Form, list] | None:
        """``(form, parameter values)`` of a filter, or None when the
        dialect builds it per query. The form (hashable) fixes the SQL."""
        field, op, value = filtr.field, filtr.operator, filtr.value
        entry = self.columns.get(field)
        if entry is not None:
            _, kind, coerce = entry
            form, values = native_plan(kind, op, coerce(value))
            if form[0] in ("in", "not in"):
                values = [self.dialect.array_value(values[0])]
            return ("column", field, form), values
        planned = self.dialect.plan(field_parts(field), op, value)
        if planned is None:
            return None
        form, values = planned
        return ("json", field, form), values

    def planned_clause(self, form: Form, params: list) -> ColumnElement:
        """The condition of a planned filter (``form`` from
        :meth:`plan_filter`), ``params`` standing for its values."""
        if form[0] == "column":
            column, kind, _ = self.columns[form[1]]
            return native_clause(column, kind, form[2], params, self.dialect)
        return self.dialect.planned(field_parts(form[1]), form[2], params)

    def _statement(self, where, sorting, limit, count, columns):
        if count:
            return sa.select(sa.func.count()).select_from(objects).where(*where)
        deferred = columns is None and limit is not None and self._defer_text
        listed = (objects.c.id, objects.c.last_modified, objects.c.data) if deferred else None
        statement = sa.select(*(listed or columns or self.list_columns)).where(*where)
        statement = statement.order_by(*self.order_by(sorting))
        if limit is not None:
            statement = statement.limit(sa.bindparam("limit", type_=sa.Integer))
        if deferred:
            # A subquery scan keeps the order of the rows it reads.
            page = statement.subquery("listed")
            text = sa.cast(page.c.data, sa.Text).label("data")
            statement = sa.select(page.c.id, page.c.last_modified, text)
        return statement

    def _build_planned(self, key, filters, rules, sorting, limit, count, columns):
        parent_form, include_deleted, (forms, _) = key[0], key[1], key[2]
        where = self._where(parent_form, include_deleted)
        counter = itertools.count()
        clauses = []
        every = [*filters, *(f for rule in rules for f in rule)]
        for filtr, form in zip(every, forms, strict=True):
            _, values = self.plan_filter(filtr)
            params = [
                sa.bindparam(f"v{next(counter)}", required=False, type_=_param_type(v))
                for v in values
            ]
            clauses.append(self.planned_clause(form, params))
        where.extend(clauses[: len(filters)])
        if rules:
            remaining = iter(clauses[len(filters) :])
            alternatives = [sa.and_(*(next(remaining) for _ in rule)) for rule in rules]
            where.append(sa.or_(*alternatives))
        return self._statement(where, sorting, limit, count, columns)

    # Clauses.

    def _parent_plan(self, parent_id: str, params: dict) -> tuple:
        if not parent_id.endswith("*"):
            params["p"] = parent_id
            return ("exact",)
        prefix = parent_id[:-1]
        if not prefix:
            return ("all",)
        params["low"] = prefix
        successor = prefix_successor(prefix)
        if successor is None:  # pragma: no cover - only U+10FFFF characters
            return ("from",)
        params["high"] = successor
        return ("prefix",)

    def _where(self, parent_form: tuple, include_deleted: bool) -> list[ColumnElement]:
        clauses = [objects.c.resource_name == sa.bindparam("r")]
        clauses.extend(self.parent_clauses(objects, parent_form))
        if not include_deleted:
            clauses.append(sa.not_(objects.c.deleted))
        return clauses

    @staticmethod
    def parent_clauses(table, parent_form: tuple) -> list[ColumnElement]:
        """Conditions on ``table.c.parent_id`` for a parent plan (parameters
        ``p``, or ``low`` and ``high``)."""
        column = table.c.parent_id
        form = parent_form[0]
        if form == "exact":
            return [column == sa.bindparam("p")]
        if form == "all":
            return []
        if form == "from":  # pragma: no cover
            return [column >= sa.bindparam("low")]
        return [column >= sa.bindparam("low"), column < sa.bindparam("high")]

    def parent_params(self, parent_id: str) -> tuple[tuple, dict]:
        """Plan and parameters of a ``parent_id`` (``*`` suffix: prefix)."""
        params: dict[str, Any] = {}
        return self._parent_plan(parent_id, params), params

    def order_by(self, sorting: Iterable[Sort]) -> list[ColumnElement]:
        terms: list[ColumnElement] = []
        for sort in sorting:
            descending = sort.direction < 0
            entry = self.columns.get(sort.field)
            if entry is not None:
                column = entry[0]
                terms.append(column.desc() if descending else column.asc())
            else:
                terms.extend(self.dialect.order(field_parts(sort.field), descending))
        return terms

    def filter_clause(self, filtr: Filter) -> ColumnElement:
        """SQL condition of one filter (semantics of
        :class:`kinto.core.storage.Filter`), its values in the statement."""
        planned = self.plan_filter(filtr)
        if planned is not None:
            form, values = planned
            params = [sa.bindparam(None, v, type_=_param_type(v)) for v in values]
            return self.planned_clause(form, params)
        field, op, value = filtr.field, filtr.operator, filtr.value
        dialect, parts = self.dialect, field_parts(field)
        if op == COMPARISON.HAS:
            present = dialect.present(parts)
            return present if value else sa.not_(present)
        if op == COMPARISON.LIKE:
            return dialect.like(parts, value) if isinstance(value, str) else FALSE
        if op in (COMPARISON.CONTAINS, COMPARISON.CONTAINS_ANY):
            items = list(value) if isinstance(value, list | tuple) else [value]
            if not items:
                # Every array holds all of no values; none holds any of them.
                if op == COMPARISON.CONTAINS:
                    return dialect.contains(parts, [], every=True)
                return FALSE
            return dialect.contains(parts, items, every=op == COMPARISON.CONTAINS)
        if op in (COMPARISON.IN, COMPARISON.EXCLUDE):
            values = list(value) if isinstance(value, SEQUENCES) else [value]
            inside = dialect.member(parts, values) if values else FALSE
            if op == COMPARISON.IN:
                return inside
            return sa.not_(inside) if values else TRUE
        if op not in _COMPARE:
            raise ValueError(f"Unsupported filter operator: {op!r}")
        return dialect.compare(parts, op, value)


def _param_type(value: Any) -> Any:
    """SQLAlchemy type of a parameter (lists go to the driver as they are)."""
    if isinstance(value, list):
        return sa.types.NullType()
    return None
