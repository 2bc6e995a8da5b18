"""Parse the query string of plural endpoints (querying.md §1-§6).

:func:`parse_list_query` turns ``request.GET`` into a :class:`ListQuery`:
storage filters and sorts, the requested ``_limit``, ``_token`` and
``_fields``. Every client mistake raises the 400 validation error (errno 107).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kinto.core import errors, utils
from kinto.core.resource import schema
from kinto.core.storage import COMPARISON, Filter, Sort

ID_FIELD = "id"
MODIFIED_FIELD = "last_modified"

#: Query-string prefixes, longest first so ``contains_any_`` wins over ``contains_``.
_PREFIXES = sorted((op.value for op in COMPARISON), key=len, reverse=True)
_OPERATOR_PARAM = re.compile(r"^({})_([\w.]+)$".format("|".join(_PREFIXES)))
_SORT_ITEM = re.compile(r"^[-+]?[\w.]+$")
_QUOTED_DIGITS = re.compile(r'^"(\d+)"$')

#: Special parameters mapped to a ``last_modified`` comparison.
_BOUNDS = {
    "_since": COMPARISON.GT,
    "_before": COMPARISON.LT,
    "_to": COMPARISON.LT,
}
_LIST_OPERATORS = (COMPARISON.IN, COMPARISON.EXCLUDE)
_ARRAY_OPERATORS = (COMPARISON.CONTAINS, COMPARISON.CONTAINS_ANY)
_MAX_INTEGER = 2**63
_ONE_DAY_MSEC = 24 * 3600 * 1000


@dataclass
class ListQuery:
    """What a plural request asks for.

    ``filters`` and ``sorting`` are ready for the storage (``sorting`` ends
    with the ``last_modified`` tie-breaker). ``include_deleted`` is true when
    a filter on ``last_modified`` is present (tombstones are then listed).
    ``limit`` is the ``_limit`` value as sent (``None`` when absent).
    """

    filters: list[Filter] = field(default_factory=list)
    sorting: list[Sort] = field(default_factory=list)
    limit: int | None = None
    token: str | None = None
    fields: list[str] | None = None
    include_deleted: bool = False
    deprecated_to: bool = False


def parse_list_query(
    params: Any,
    known_fields: Iterable[str] | None = None,
    now: int | None = None,
) -> ListQuery:
    """Parse the query string ``params`` (a multidict of ``str`` values).

    ``known_fields`` closes the schema: filters, sorts and ``_fields`` on
    other (first-level) fields are rejected. ``now`` (epoch ms) bounds the
    accepted ``last_modified`` values (default: the current time).
    """
    known = None if known_fields is None else {ID_FIELD, MODIFIED_FIELD, *known_fields}
    query = ListQuery()
    sort_param = None
    for param, value in params.items():
        if "\x00" in param or "\x00" in value:
            _invalid(param, "Invalid character 0x00")
        if param.startswith("_"):
            if param in _BOUNDS:
                _parse_bound(query, param, value)
            elif param == "_limit":
                query.limit = _parse_limit(value)
            elif param == "_token":
                query.token = value
            elif param == "_sort":
                sort_param = value
            elif param == "_fields":
                query.fields = parse_fields(value, known)
            # Other underscore parameters are ignored (cache busters...).
            continue
        query.filters.append(_parse_filter(query, param, value, known, now))
    query.sorting = _parse_sort(sort_param, known)
    return query


def _invalid(name: str | None, description: str) -> None:
    errors.raise_invalid(location="querystring", name=name, description=description)


def _native(param: str, raw: str) -> Any:
    """JSON-coerce a value; 400 when it decodes to text holding NUL (only
    possible through a ``\\u0000`` escape)."""
    value = utils.native_value(raw)
    if "\\u0000" in raw and schema.contains_nul(value):
        _invalid(param, "Invalid character 0x00")
    return value


def _check_field(param: str, field_name: str, known: set[str] | None) -> None:
    if known is not None and field_name.split(".", 1)[0] not in known:
        _invalid(param, f"Unknown filter field '{param}'")


def _as_timestamp(param: str, raw: str, now: int | None) -> int:
    """Validate a ``last_modified`` filter value: digits, possibly quoted,
    between 0 and 24 hours from now."""
    match = _QUOTED_DIGITS.match(raw)
    digits = match.group(1) if match else raw
    if not digits.isascii() or not digits.isdigit():
        _invalid(param, f"Invalid value for {param}")
    value = int(digits)
    ceiling = (utils.msec_time() if now is None else now) + _ONE_DAY_MSEC
    if value >= ceiling:
        _invalid(param, f"Invalid value for {param}")
    return value


def _parse_bound(query: ListQuery, param: str, value: str) -> None:
    """``_since``/``_before``/``_to``: an integer, ``"<digits>"`` or ``null``."""
    query.include_deleted = True
    if param == "_to":
        query.deprecated_to = True
    if value == "null":
        return
    match = _QUOTED_DIGITS.match(value)
    digits = match.group(1) if match else value
    if not digits.isdigit() or not digits.isascii() or int(digits) >= _MAX_INTEGER:
        _invalid(param, f"Invalid value for {param}")
    query.filters.append(Filter(MODIFIED_FIELD, int(digits), _BOUNDS[param]))


def _parse_limit(value: str) -> int:
    if not value.isascii() or not value.isdigit() or int(value) > _MAX_INTEGER:
        _invalid("_limit", "Invalid value for _limit")
    return int(value)


def parse_fields(value: str, known: Iterable[str] | None) -> list[str]:
    """Split ``_fields``; on closed schemas every field must be known."""
    fields = [name.strip() for name in value.split(",") if name.strip()]
    if known is not None:
        known = {ID_FIELD, MODIFIED_FIELD, *known}
        unknown = [name for name in fields if name.split(".", 1)[0] not in known]
        if unknown:
            errors.raise_invalid(
                location="body",
                name="Invalid _fields parameter",
                description=f"Fields {','.join(unknown)} do not exist",
            )
    return fields


def _parse_sort(value: str | None, known: set[str] | None) -> list[Sort]:
    sorting = []
    if value:
        for item in value.split(","):
            item = item.strip()
            if not _SORT_ITEM.match(item):
                continue
            direction = -1 if item[0] == "-" else 1
            name = item.lstrip("+-")
            if known is not None and name.split(".", 1)[0] not in known:
                _invalid(None, f"Unknown sort field '{name}'")
            sorting.append(Sort(name, direction))
    if not any(sort.field == MODIFIED_FIELD for sort in sorting):
        sorting.append(Sort(MODIFIED_FIELD, -1))
    return sorting


def _parse_filter(
    query: ListQuery, param: str, value: str, known: set[str] | None, now: int | None
) -> Filter:
    match = _OPERATOR_PARAM.match(param)
    if match:
        operator = COMPARISON(match.group(1))
        field_name = match.group(2)
    else:
        operator = COMPARISON.EQ
        field_name = param
    _check_field(param, field_name, known)
    if field_name == MODIFIED_FIELD:
        query.include_deleted = True

    if operator in _LIST_OPERATORS:
        if field_name == MODIFIED_FIELD:
            items = [_as_timestamp(param, item, now) for item in value.split(",")]
            return Filter(field_name, items, operator)
        items = [_native(param, item) for item in value.split(",")]
        if field_name == ID_FIELD and not all(isinstance(item, str) for item in items):
            _invalid(param, f"Invalid value for {param}")
        return Filter(field_name, items, operator)

    if operator in _ARRAY_OPERATORS:
        if field_name in (ID_FIELD, MODIFIED_FIELD):
            _invalid(param, f"Field '{field_name}' is not an array")
        parsed = _native(param, value)
        if not isinstance(parsed, list):
            parsed = [parsed]
        return Filter(field_name, parsed, operator)

    if field_name == MODIFIED_FIELD and operator != COMPARISON.HAS:
        return Filter(field_name, _as_timestamp(param, value, now), operator)

    if field_name == ID_FIELD and operator != COMPARISON.HAS:
        parsed: Any = value
    else:
        parsed = _native(param, value)

    if operator == COMPARISON.LIKE:
        if not isinstance(parsed, str):
            _invalid(param, f"Invalid value for {param}")
        if "*" not in parsed:
            parsed = f"*{parsed}*"
    return Filter(field_name, parsed, operator)
