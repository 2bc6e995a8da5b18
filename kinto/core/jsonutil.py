"""The one JSON codec of the project: request bodies, responses, cache
values, pagination tokens.

orjson does the work. It reads integers beyond 64 bits as floats and cannot
write them, while clients may store such numbers and expect them back
exactly (PostgreSQL's JSONB keeps them): documents holding one go through
the standard library instead, which is rare and only costs speed.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError

#: Deepest nesting accepted in request bodies: the encoder refuses documents
#: nested deeper than 254 levels, and a stored object lives inside an
#: envelope (``{"data": ...}``) and events add a few more levels.
MAX_DEPTH = 200

# 20 digits can exceed the 64-bit range (2**64 has 20 digits). ``[0-9]``
# rather than ``\d``: JSON digits are ASCII, and the class is faster on text.
_LONG_DIGITS = re.compile(rb"[0-9]{20}")
_LONG_DIGITS_TEXT = re.compile(r"[0-9]{20}")


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises :data:`JSONDecodeError` (a ``ValueError``)."""
    value = orjson.loads(data)
    long_digits = _LONG_DIGITS_TEXT if isinstance(data, str) else _LONG_DIGITS
    if long_digits.search(data):
        # Parse again keeping every integer exact.
        return json.loads(data)
    return value


def loads_document(data: bytes) -> Any:
    """Parse a request body: like :func:`loads`, and a ``ValueError`` when
    it is nested deeper than :data:`MAX_DEPTH`."""
    value = loads(data)
    if data.count(b"{") + data.count(b"[") > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    deepest = 0
    pending = [(value, 1)]
    while pending:
        current, level = pending.pop()
        if isinstance(current, dict):
            children = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children)
    return deepest


def dumps(value: Any, sort_keys: bool = False) -> bytes:
    """Serialise to compact UTF-8 JSON bytes (slashes are not escaped)."""
    option = orjson.OPT_NON_STR_KEYS
    if sort_keys:
        option |= orjson.OPT_SORT_KEYS
    try:
        return orjson.dumps(value, option=option)
    except TypeError:
        if not _has_big_int(value):
            raise
        text = json.dumps(value, separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=False)
        return text.encode("utf-8")


def dumps_str(value: Any, sort_keys: bool = False) -> str:
    return dumps(value, sort_keys=sort_keys).decode("utf-8")


def _has_big_int(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return not -(2**63) <= value < 2**64
    if isinstance(value, dict):
        return any(_has_big_int(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_big_int(v) for v in value)
    return False
