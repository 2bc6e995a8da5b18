"""Small helpers shared across the core. Keep each one generic; anything that
knows about resources, auth or backends lives in its own module."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from kinto.core import errors, jsonutil

#: Methods that never write: no transaction, allowed in read-only mode.
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def msec_time() -> int:
    """Current epoch time in integer milliseconds."""
    return int(time.time() * 1000)


def native_value(value: Any) -> Any:
    """Coerce a query-string or settings value: JSON if it parses, else the
    raw string (``"2"`` → 2, ``"true"`` → True, ``"abc"`` → ``"abc"``)."""
    if isinstance(value, str):
        try:
            return jsonutil.loads(value)
        except ValueError:
            return value
    return value


def hmac_digest(secret: str | bytes, message: str | bytes) -> str:
    """Hex HMAC-SHA256 of ``message`` keyed with ``secret``."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if isinstance(message, str):
        message = message.encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def encode64(content: str) -> str:
    return base64.b64encode(content.encode("utf-8")).decode("ascii")


def decode64(encoded: str) -> str:
    return base64.b64decode(encoded.encode("ascii"), validate=True).decode("utf-8")


def strip_uri_prefix(path: str) -> str:
    """``/v1/buckets/a`` → ``/buckets/a`` (any ``/vN`` prefix)."""
    if path.startswith("/v"):
        head, sep, rest = path[1:].partition("/")
        if head[1:].isdigit():
            return "/" + rest if sep else "/"
    return path


def find_nested_value(obj: dict, path: str, default: Any = None) -> Any:
    """Resolve a dotted ``path`` in nested dicts; a key containing dots is
    preferred over nesting when it exists literally."""
    if path in obj:
        return obj[path]
    parts = path.split(".")
    current: Any = obj
    for part in parts:
        if not isinstance(current, dict) or part not in current:
            return default
        current = current[part]
    return current


def dict_subset(obj: dict, keys: list[str]) -> dict:
    """Project ``obj`` on dotted ``keys``; a parent whose value is not an
    object is returned whole."""
    result: dict = {}
    for key in keys:
        head, _, rest = key.partition(".")
        if head not in obj:
            continue
        value = obj[head]
        if rest and isinstance(value, dict):
            sub = dict_subset(value, [rest])
            existing = result.get(head)
            if isinstance(existing, dict):
                existing.update(sub)
            else:
                result[head] = sub
        else:
            result[head] = value
    return result


def json_body(request) -> Any:
    """Parse the request body as JSON once per request (empty body → ``{}``).

    Raises the 400 validation error (errno 107, ``Invalid JSON``) on bad
    input. This is the single parser used for every request body.
    """
    cached = request.environ.get("kinto.json_body", _NOTHING)
    if cached is not _NOTHING:
        return cached
    raw = request.body
    if not raw or not raw.strip():
        parsed: Any = {}
    else:
        try:
            parsed = jsonutil.loads_document(raw)
        except ValueError as e:
            raise errors.json_invalid_error(
                [{"location": "body", "name": "", "description": f"Invalid JSON: {e}"}]
            ) from e
    request.environ["kinto.json_body"] = parsed
    return parsed


_NOTHING = object()
