"""The one JSON codec of the project (orjson): request bodies, responses,
cache values, pagination tokens."""

from __future__ import annotations

from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises :data:`JSONDecodeError` (a ``ValueError``)."""
    return orjson.loads(data)


def dumps(value: Any, sort_keys: bool = False) -> bytes:
    """Serialise to compact UTF-8 JSON bytes (slashes are not escaped)."""
    option = orjson.OPT_NON_STR_KEYS
    if sort_keys:
        option |= orjson.OPT_SORT_KEYS
    return orjson.dumps(value, option=option)


def dumps_str(value: Any, sort_keys: bool = False) -> str:
    return dumps(value, sort_keys=sort_keys).decode("utf-8")
