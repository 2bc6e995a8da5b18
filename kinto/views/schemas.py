"""Typed metadata fields and JSON Schema validation (resources.md §1.2,
plugins.md §9).

* :func:`check_schema_field`: a field holding a JSON Schema must be an
  object valid against the Draft 7 meta-schema (always checked).
* :func:`validate_against`: with ``experimental_collection_schema_validation``,
  objects are validated against the schemas of their collection/bucket.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from jsonschema import Draft7Validator, exceptions, validators
from pyramid import httpexceptions
from pyramid.settings import asbool
from referencing.exceptions import Unresolvable

from kinto.core import errors, jsonutil
from kinto.core.storage import ObjectNotFoundError

SETTING = "experimental_collection_schema_validation"

#: Fields never validated (server-managed).
_IGNORED_FIELDS = ("last_modified", "__permissions__")
_CACHE_SIZE = 256


def validation_enabled(settings: dict) -> bool:
    return asbool(settings.get(SETTING, False))


def check_schema_field(data: dict, field: str) -> None:
    """400 (``name: data.<field>``) unless ``data[field]``, when present, is
    an object that is a valid JSON Schema."""
    if field not in data:
        return
    value = data[field]
    name = f"data.{field}"
    if not isinstance(value, dict):
        errors.raise_invalid("body", name, f"{field} should be a JSON object")
    try:
        validators.validator_for(value, default=Draft7Validator).check_schema(value)
    except exceptions.SchemaError as e:
        errors.raise_invalid("body", name, e.message)


def check_integer_field(data: dict, field: str) -> None:
    """400 unless ``data[field]``, when present, is an integer."""
    if field in data and type(data[field]) is not int:
        errors.raise_invalid("body", f"data.{field}", f"{field} should be an integer")


class _ValidatorCache:
    """Compiled validators keyed by the object holding the schema and its
    ``last_modified`` (a new version of the schema gets a new entry)."""

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict[tuple, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple, schema: dict, extra_ignored: tuple[str, ...]):
        with self.lock:
            validator = self.entries.get(key)
            if validator is not None:
                self.entries.move_to_end(key)
                return validator
        validator = _compile(schema, extra_ignored)
        with self.lock:
            self.entries[key] = validator
            if len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return validator


def _compile(schema: dict, extra_ignored: tuple[str, ...]):
    """A validator ignoring server-managed fields (and ``id`` unless the
    schema's ``properties`` mention it)."""
    ignored = {*_IGNORED_FIELDS, *extra_ignored}
    properties = schema.get("properties")
    if not (isinstance(properties, dict) and "id" in properties):
        ignored.add("id")
    required = schema.get("required")
    if isinstance(required, list) and ignored.intersection(required):
        schema = {**schema, "required": [f for f in required if f not in ignored]}
    cls = validators.validator_for(schema)
    return cls(schema), frozenset(ignored)


_cache = _ValidatorCache(_CACHE_SIZE)


def validate_against(
    data: dict, schema: dict, key: tuple, extra_ignored: tuple[str, ...] = ()
) -> None:
    """400 unless ``data`` is valid against ``schema``; ``key`` identifies
    the schema version for the validator cache; ``extra_ignored`` fields
    are not validated (records: ``schema``)."""
    cache_key = (key, extra_ignored, jsonutil.dumps_str(schema, sort_keys=True))
    validator, ignored = _cache.get(cache_key, schema, extra_ignored)
    document = {k: v for k, v in data.items() if k not in ignored}
    try:
        error = next(validator.iter_errors(document), None)
    except Unresolvable as e:
        errors.raise_invalid("body", "schema", f"Unresolvable JSON Schema reference: {e}")
    if error is None:
        return
    if error.path:
        name = error.path[-1]
    else:
        name = error.schema_path[-1] if error.schema_path else ""
    errors.raise_invalid("body", str(name), error.message)


def parent_bucket(resource) -> dict:
    """The bucket of a collection/group/record request, or 404 (errno 111)."""
    bucket_id = resource.matchdict["bucket_id"]
    try:
        return resource.storage.get("bucket", "", bucket_id)
    except ObjectNotFoundError:
        raise missing_parent(bucket_id, "bucket") from None


def missing_parent(object_id: str, resource_name: str):
    return errors.http_error(
        httpexceptions.HTTPNotFound(),
        errno=errors.ERRORS.MISSING_RESOURCE,
        details={"id": object_id, "resource_name": resource_name},
    )


def validate_with_bucket_schema(
    resource, new: dict, field: str, extra_ignored: tuple[str, ...] = ()
) -> None:
    """Validate ``new`` against the bucket's ``field`` schema, if any."""
    bucket = parent_bucket(resource)
    schema = bucket.get(field)
    if isinstance(schema, dict):
        key = (f"/buckets/{bucket['id']}", field, bucket["last_modified"])
        validate_against(new, schema, key, extra_ignored)
