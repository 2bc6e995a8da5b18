"""The three ``PATCH`` flavours and permission edits (resources.md §2.2).

* plain JSON (``application/json``): shallow merge, ``null`` is stored;
* JSON merge patch (RFC 7396, ``application/merge-patch+json``): recursive,
  ``null`` removes;
* JSON Patch (RFC 6902, ``application/json-patch+json``): a list of
  operations on ``{"data": ..., "permissions": {perm: {principal: principal}}}``.

Every function returns new objects; its inputs are left untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import jsonpatch
import jsonpointer

from kinto.core import errors

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"

JSON_PATCH_OPERATIONS = frozenset(("test", "add", "remove", "replace", "move", "copy"))
_OPERATION_KEYS = frozenset(("op", "path", "from", "value"))
_PATH = re.compile(r"(/\w*)+")
_DOCUMENT_DUMP = re.compile(r" in [\[{].*$", re.DOTALL)

#: Permissions as stored/returned: ``{name: set of principals}``.
Permissions = dict[str, set[str]]


def merge_plain(data: dict, changes: Mapping) -> dict:
    """Top-level keys of ``changes`` replace those of ``data``."""
    return {**data, **changes}


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7396 merge patch: objects merge recursively and a
    ``null`` value removes the key; anything else replaces the target."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def replace_permissions(allowed: Iterable[str], given: Mapping[str, Any]) -> dict[str, list]:
    """PUT: every allowed permission not in ``given`` is emptied."""
    return {name: list(given.get(name) or ()) for name in allowed}


def update_permissions(given: Mapping[str, Any]) -> dict[str, list]:
    """Plain PATCH: listed permissions are replaced, ``null`` is a no-op."""
    return {name: list(principals) for name, principals in given.items() if principals is not None}


def merge_permissions(given: Mapping[str, Any]) -> dict[str, list]:
    """Merge-patch: listed permissions are replaced, ``null`` empties one."""
    return {name: list(principals or ()) for name, principals in given.items()}


def _invalid(description: str, name: str = "") -> None:
    errors.raise_invalid("body", name, description)


def validate_operations(operations: Any) -> list[dict]:
    """Check the shape of a JSON Patch body (400 on the first problem)."""
    if not isinstance(operations, list):
        _invalid("Should be a JSON array of operations")
    for index, operation in enumerate(operations):
        name = str(index)
        if not isinstance(operation, dict):
            _invalid("Operation should be an object", name)
        unknown = set(operation) - _OPERATION_KEYS
        if unknown:
            _invalid(f"Unrecognized keys in operation: {', '.join(sorted(unknown))}", name)
        if operation.get("op") not in JSON_PATCH_OPERATIONS:
            _invalid("op should be one of " + ", ".join(sorted(JSON_PATCH_OPERATIONS)), name)
        for key in ("path", "from"):
            value = operation.get(key)
            if (key == "path" or value is not None) and not (
                isinstance(value, str) and _PATH.match(value)
            ):
                _invalid(f"Invalid {key} in operation", name)
    return operations


def apply_json_patch(
    data: dict, permissions: Mapping[str, Iterable[str]], operations: list[dict]
) -> tuple[dict, dict[str, list]]:
    """Apply JSON Patch ``operations``; return the new data and the new value
    of every permission of the document.

    ``permissions`` must contain every permission name that may be edited
    (``read`` and ``write`` always exist). An operation on
    ``/permissions/<name>/<principal>`` may omit ``value`` (the principal is
    taken from the path).
    """
    document = {
        "data": data,
        "permissions": {
            name: {p: p for p in principals} for name, principals in permissions.items()
        },
    }
    prepared = []
    for operation in operations:
        path = operation["path"]
        if path.startswith("/permissions/") and "value" not in operation:
            parts = path.split("/", 3)
            if len(parts) == 4 and operation["op"] in ("add", "replace", "test"):
                operation = {**operation, "value": jsonpointer.unescape(parts[3])}
        prepared.append(operation)
    try:
        result = jsonpatch.apply_patch(document, prepared)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as e:
        # Pointer errors end with the whole document: keep the ACL out.
        _invalid(f"JSON Patch operation failed: {_DOCUMENT_DUMP.sub('', str(e))}")
    except (TypeError, KeyError, IndexError, ValueError) as e:
        _invalid(f"JSON Patch operation failed: {e}")
    if not isinstance(result, dict) or not isinstance(result.get("data"), dict):
        _invalid("JSON Patch operation failed: data should be an object", "data")
    new_permissions = result.get("permissions")
    if not isinstance(new_permissions, dict):
        _invalid("JSON Patch operation failed: permissions should be an object", "permissions")
    flattened = {}
    for name, principals in new_permissions.items():
        if isinstance(principals, dict):
            values = list(principals.values())
        elif isinstance(principals, list):
            values = principals
        else:
            values = None
        if values is None or not all(isinstance(p, str) for p in values):
            _invalid(
                "JSON Patch operation failed: principals should be strings",
                f"permissions.{name}",
            )
        flattened[name] = list(dict.fromkeys(values))
    return result["data"], flattened
