"""Validation of request bodies: the ``{"data", "permissions"}`` envelope.

Validation is plain Python (no schema library on the hot path): each
function returns cleaned values or raises the 400 error (errno 107) naming
the offending field. Resource-specific typed fields are validated by the
resource's ``process_object`` hook (see :class:`kinto.core.resource.Resource`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from kinto.core import errors

ENVELOPE_KEYS = ("data", "permissions")
#: Timestamps are stored as signed 64-bit integers.
MAX_TIMESTAMP = 2**63


class Envelope(NamedTuple):
    """``data``/``permissions`` of a body, ``None`` when absent."""

    data: dict | None
    permissions: dict[str, list[str] | None] | None


def _invalid(name: str, description: str) -> None:
    errors.raise_invalid("body", name, description)


def parse_envelope(
    body: Any, allowed_permissions: Iterable[str], nullable: bool = False
) -> Envelope:
    """Validate a request body envelope.

    ``allowed_permissions`` are the permission names of the resource; any
    other name is rejected. With ``nullable`` (PATCH) a permission may be
    ``null``. Principal lists are de-duplicated, order kept.
    """
    if not isinstance(body, dict):
        _invalid("", "Should be a JSON object or an array")
    for key in body:
        if key not in ENVELOPE_KEYS:
            _invalid(key, f"Unrecognized key '{key}' in body")
    data = body.get("data")
    if "data" in body and not isinstance(data, dict):
        _invalid("data", "data should be a JSON object")
    permissions = None
    if "permissions" in body:
        permissions = parse_permissions(body["permissions"], allowed_permissions, nullable)
    return Envelope(data, permissions)


def parse_permissions(
    value: Any, allowed_permissions: Iterable[str], nullable: bool = False
) -> dict[str, list[str] | None]:
    """Validate ``{permission: [principal, ...]}``."""
    if not isinstance(value, dict):
        _invalid("permissions", "permissions should be a JSON object")
    allowed = set(allowed_permissions)
    cleaned: dict[str, list[str] | None] = {}
    for name, principals in value.items():
        if name not in allowed:
            _invalid(f"permissions.{name}", f"'{name}' is not a valid permission name")
        if principals is None and nullable:
            cleaned[name] = None
            continue
        if not isinstance(principals, list) or not all(isinstance(p, str) for p in principals):
            _invalid(f"permissions.{name}", "should be a list of principals (strings)")
        cleaned[name] = list(dict.fromkeys(principals))
    return cleaned


def contains_nul(value: Any) -> bool:
    """True if a string of the JSON ``value`` (key or value, at any depth)
    holds a NUL character, which PostgreSQL cannot store."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in key or contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False


def check_no_nul(raw: bytes, body: Any) -> None:
    """400 ``Invalid character 0x00`` when the parsed ``body`` holds a NUL
    character; ``raw`` is the request body it was parsed from (a NUL can
    only come from a ``\\u0000`` escape, so most bodies are not walked)."""
    if b"\\u0000" not in raw or not contains_nul(body):
        return
    name = ""
    if isinstance(body, dict):
        name = next((key for key, item in body.items() if contains_nul({key: item})), "")
    _invalid(name, "Invalid character 0x00")


def clean_last_modified(data: dict) -> dict:
    """Drop a client ``last_modified`` that is not a non-negative 64-bit
    integer (booleans included); an integer is kept for replication
    (querying.md §7)."""
    if "last_modified" in data:
        value = data["last_modified"]
        if type(value) is not int or not 0 <= value < MAX_TIMESTAMP:
            data = {k: v for k, v in data.items() if k != "last_modified"}
    return data
