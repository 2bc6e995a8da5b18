"""Pure helpers for backends that filter and sort Python dicts in process.

They implement the comparison semantics of :mod:`kinto.core.storage`
(PostgreSQL JSONB order, missing fields, dotted fields) once, so that every
in-process backend behaves the same way:

* :func:`sort_key` maps a JSON value to a tuple ordered like JSONB;
* :func:`compile_filters` turns filters and pagination rules into one
  predicate, built once per query and applied to each object;
* :func:`sort_objects` sorts a list of objects in place;
* :func:`json_copy` deep-copies a JSON document.

Conventions (also those of the interface): a dot in a field name always
means nesting (``a.b`` is key ``b`` of object ``a``, never a literal key
``"a.b"``); a field that is absent compares as :data:`MISSING`, greater than
every JSON value.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Collection, Iterable
from typing import Any

import orjson

from kinto.core.storage import (
    COMPARISON,
    DEFAULT_ID_FIELD,
    DEFAULT_MODIFIED_FIELD,
    MISSING,
    Filter,
    PaginationRules,
    Sort,
)

Predicate = Callable[[dict], bool]
Getter = Callable[[dict], Any]

# Type ranks of the JSONB order. A top-level empty array sorts before every
# other value in PostgreSQL (a historical quirk of its comparison code), and
# a missing field after every value.
_EMPTY_ARRAY_KEY = (-1,)
_NULL_KEY = (0,)
_STRING = 1
_NUMBER = 2
_BOOLEAN = 3
_ARRAY = 4
_OBJECT = 5
_MISSING_KEY = (6,)


def sort_key(value: Any, top: bool = True) -> tuple:
    """Return a hashable key ordering ``value`` like PostgreSQL JSONB.

    ``null < string < number < boolean < array < object < MISSING``; strings
    by code point, numbers numerically (``1 == 1.0``), ``false < true``;
    arrays by length then item by item; objects by number of keys, then
    key/value pairs in JSONB storage order (shorter keys first). When
    ``top`` (a field's own value, not an item nested in it), an empty array
    sorts before everything, as in PostgreSQL. Two values are equal as JSON
    exactly when their keys are equal (``True`` differs from ``1``).
    """
    kind = type(value)
    if kind is str:
        return (_STRING, value)
    if kind is int or kind is float:
        return (_NUMBER, value)
    if kind is bool:
        return (_BOOLEAN, value)
    if value is None:
        return _NULL_KEY
    if value is MISSING:
        return _MISSING_KEY
    if kind is list or kind is tuple:
        if top and not value:
            return _EMPTY_ARRAY_KEY
        return (_ARRAY, len(value), tuple([sort_key(item, False) for item in value]))
    if kind is dict:
        keys = sorted(value, key=_storage_order)
        return (_OBJECT, len(keys), tuple([(k, sort_key(value[k], False)) for k in keys]))
    # Subclasses of the JSON types (e.g. enums deriving from str).
    for base in (bool, str, int, float, list, tuple, dict):
        if isinstance(value, base):
            return sort_key(base(value), top)
    raise TypeError(f"Not a JSON value: {value!r}")


def _storage_order(key: str) -> tuple[int, str]:
    return (len(key), key)


def field_getter(field: str) -> Getter:
    """Return a function reading ``field`` (dotted for nesting) from an
    object, or :data:`MISSING` when absent."""
    if "." not in field:

        def get(obj: dict) -> Any:
            return obj.get(field, MISSING)

        return get

    parts = tuple(field.split("."))

    def get_nested(obj: dict) -> Any:
        current: Any = obj
        for part in parts:
            if type(current) is not dict:
                return MISSING
            current = current.get(part, MISSING)
            if current is MISSING:
                return MISSING
        return current

    return get_nested


def text_form(value: Any) -> str | None:
    """Text a ``LIKE`` filter matches against: strings as they are, other
    values as JSON text (``true``, ``12``, ``["a", "b"]``); ``None`` for
    JSON null and missing fields, which never match."""
    if value is None or value is MISSING:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def like_pattern(value: str) -> re.Pattern[str]:
    """Compile a ``LIKE`` value: ``*`` matches any run of characters,
    everything else literally, case-insensitively, on the whole text."""
    parts = [re.escape(part) for part in value.split("*")]
    return re.compile(".*".join(parts), re.IGNORECASE | re.DOTALL)


def _coerce(value: Any, field: str, id_field: str, modified_field: str, many: bool = False) -> Any:
    """Compare ``id`` as a string and ``last_modified`` as an integer."""
    if many and isinstance(value, list | tuple | set | frozenset):
        return [_coerce(v, field, id_field, modified_field) for v in value]
    if field == id_field:
        if type(value) is int or type(value) is float:
            return json.dumps(value)
    elif field == modified_field:
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return value


def compile_filter(
    filtr: Filter,
    id_field: str = DEFAULT_ID_FIELD,
    modified_field: str = DEFAULT_MODIFIED_FIELD,
) -> Predicate:
    """Return a predicate telling whether an object matches ``filtr``.

    Semantics are those of :class:`kinto.core.storage.Filter`. An absent
    field compares as :data:`MISSING` (greater than any value), which yields
    the missing-field rules: ``GT``/``MIN``/``NOT``/``EXCLUDE`` match it,
    ``LT``/``MAX``/``EQ``/``IN`` do not; a :data:`MISSING` value works the
    same way (``EQ MISSING`` = absent, ``LT MISSING`` = present, ``GT
    MISSING`` = never).
    """
    field, op = filtr.field, filtr.operator
    many = op in (COMPARISON.IN, COMPARISON.EXCLUDE)
    value = filtr.value
    if many and not isinstance(value, list | tuple | set | frozenset):
        value = [value]
    value = _coerce(value, field, id_field, modified_field, many)
    get = field_getter(field)

    if op == COMPARISON.HAS:
        wanted = bool(value)
        return lambda obj: (get(obj) is not MISSING) is wanted

    if op == COMPARISON.LIKE:
        if not isinstance(value, str):
            return _never
        pattern = like_pattern(value)

        def like(obj: dict) -> bool:
            text = text_form(get(obj))
            return text is not None and pattern.fullmatch(text) is not None

        return like

    if op in (COMPARISON.CONTAINS, COMPARISON.CONTAINS_ANY):
        items = value if isinstance(value, list | tuple) else [value]
        wanted_keys = {sort_key(item, False) for item in items}
        contains_all = op == COMPARISON.CONTAINS

        def contains(obj: dict) -> bool:
            array = get(obj)
            if type(array) is not list:
                return False
            present = {sort_key(item, False) for item in array}
            if contains_all:
                return wanted_keys <= present
            return not wanted_keys.isdisjoint(present)

        return contains

    if many:
        return _membership(op == COMPARISON.IN, value, get)
    return _comparison(op, value, get)


def _never(obj: dict) -> bool:
    return False


# Value types compared natively, without building sort keys: a stored value
# of one of these types compares with the filter value exactly as their
# JSONB keys would.
_NATIVE_PEERS: dict[type, tuple[type, ...]] = {
    str: (str,),
    int: (int, float),
    float: (int, float),
}

_OPERATORS: dict[COMPARISON, Callable[[Any, Any], bool]] = {
    COMPARISON.LT: operator.lt,
    COMPARISON.MAX: operator.le,
    COMPARISON.GT: operator.gt,
    COMPARISON.MIN: operator.ge,
    COMPARISON.NOT: operator.ne,
    COMPARISON.EQ: operator.eq,
}


def _comparison(op: COMPARISON, value: Any, get: Getter) -> Predicate:
    compare = _OPERATORS.get(op)
    if compare is None:
        raise ValueError(f"Unsupported filter operator: {op!r}")
    key = sort_key(value)
    peers = _NATIVE_PEERS.get(type(value))
    if peers is None:
        return lambda obj: compare(sort_key(get(obj)), key)

    def native_or_key(obj: dict) -> bool:
        current = get(obj)
        if type(current) in peers:
            return compare(current, value)
        return compare(sort_key(current), key)

    return native_or_key


def _membership(inside: bool, values: list, get: Getter) -> Predicate:
    keys = frozenset(sort_key(v) for v in values)
    strings = frozenset(v for v in values if type(v) is str)

    def is_in(obj: dict) -> bool:
        current = get(obj)
        if type(current) is str:
            return current in strings
        return sort_key(current) in keys

    if inside:
        return is_in
    return lambda obj: not is_in(obj)


def compile_filters(
    filters: Iterable[Filter] | None = None,
    pagination_rules: PaginationRules | None = None,
    id_field: str = DEFAULT_ID_FIELD,
    modified_field: str = DEFAULT_MODIFIED_FIELD,
) -> Predicate | None:
    """Combine ``filters`` (AND-ed) and ``pagination_rules`` (OR of AND-ed
    lists, applied on top) into one predicate; ``None`` when nothing filters.

    An empty ``pagination_rules`` list means no pagination, like ``None``.
    """
    predicates = [compile_filter(f, id_field, modified_field) for f in filters or ()]
    if pagination_rules:
        alternatives = [
            [compile_filter(f, id_field, modified_field) for f in rule]
            for rule in pagination_rules
        ]

        def paginate(obj: dict) -> bool:
            return any(all(p(obj) for p in rule) for rule in alternatives)

        predicates.append(paginate)

    if not predicates:
        return None
    if len(predicates) == 1:
        return predicates[0]
    return lambda obj: all(p(obj) for p in predicates)


def sort_objects(
    objects: list[dict],
    sorting: Iterable[Sort] | None,
    native_fields: Collection[str] = (),
) -> None:
    """Sort ``objects`` in place by the ``sorting`` fields, first one
    first, in JSONB order; a missing field sorts last ascending and first
    descending. Objects equal on every field keep their relative order.

    ``native_fields`` names top-level fields that the caller guarantees hold
    a value of one type (all strings or all integers) in every object, like
    ``id`` and ``last_modified`` in a backend: they are compared directly.
    """
    # Stable sorts from the least significant field to the most significant.
    for sort in reversed(list(sorting or ())):
        field, descending = sort.field, sort.direction < 0
        if field in native_fields:
            objects.sort(key=operator.itemgetter(field), reverse=descending)
            continue
        if "." in field:
            get = field_getter(field)
            values = [get(obj) for obj in objects]
        else:
            values = [obj.get(field, MISSING) for obj in objects]
        kinds = set(map(type, values))
        if not (kinds <= _STRING_TYPES or kinds <= _NUMBER_TYPES):
            # Mixed, missing or composite values: order by JSONB keys.
            values = [sort_key(value) for value in values]
        order = sorted(range(len(objects)), key=values.__getitem__, reverse=descending)
        objects[:] = [objects[i] for i in order]


_STRING_TYPES = frozenset((str,))
_NUMBER_TYPES = frozenset((int, float))


def json_copy(value: Any) -> Any:
    """Deep copy of a JSON document (dicts and lists are copied, scalars
    shared)."""
    try:
        return orjson.loads(orjson.dumps(value))
    except TypeError:
        # Values orjson refuses (integers beyond 64 bits, non-string keys).
        return _slow_copy(value)


def _slow_copy(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: _slow_copy(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_slow_copy(v) for v in value]
    return value
