"""Shared fixtures, constants and helpers of the storage suite."""

from __future__ import annotations

import types
from typing import Any, ClassVar

import pytest
from pyramid.config import Configurator

from kinto.core.storage import (
    COMPARISON,
    MISSING,
    Filter,
    StorageBase,
)

EQ, NOT = COMPARISON.EQ, COMPARISON.NOT
LT, MAX, GT, MIN = COMPARISON.LT, COMPARISON.MAX, COMPARISON.GT, COMPARISON.MIN
IN, EXCLUDE, LIKE, HAS = COMPARISON.IN, COMPARISON.EXCLUDE, COMPARISON.LIKE, COMPARISON.HAS
CONTAINS, CONTAINS_ANY = COMPARISON.CONTAINS, COMPARISON.CONTAINS_ANY

#: One value of each JSONB type (and an absent field), by object id, stored
#: under field ``v``; listed in ascending JSONB order.
TYPED_VALUES: dict[str, Any] = {
    "null": None,
    "string": "abc",
    "number": 3,
    "false": False,
    "true": True,
    "array": [1],
    "object": {"a": 1},
    "missing": MISSING,
}


def ids(objects: list[dict]) -> list[str]:
    return [obj["id"] for obj in objects]


class BaseStorageTest:
    """Fixtures and helpers shared by the mixins."""

    #: The backend module, exposing ``load_from_config(config)``.
    backend: ClassVar[types.ModuleType]
    #: Settings given to ``load_from_config`` (without ``kinto.`` prefix).
    settings: ClassVar[dict[str, Any]] = {}

    resource_name = "test"
    parent_id = "/parents/p"

    def make_backend(self, **settings: Any) -> StorageBase:
        """Return a backend built from :attr:`settings` (updated with
        ``settings``), as the application would build it."""
        config = Configurator(settings={**self.settings, **settings})
        return self.backend.load_from_config(config)

    def make_readonly_backend(self) -> StorageBase:
        """Return a backend configured with ``readonly = true``."""
        return self.make_backend(readonly=True)

    @pytest.fixture
    def storage(self):
        backend = self.make_backend()
        backend.initialize_schema()
        try:
            yield backend
        finally:
            backend.flush()

    def create(self, storage: StorageBase, parent_id: str | None = None, **fields) -> dict:
        parent_id = self.parent_id if parent_id is None else parent_id
        return storage.create(self.resource_name, parent_id, fields)

    def timestamp(self, storage: StorageBase, parent_id: str | None = None) -> int:
        parent_id = self.parent_id if parent_id is None else parent_id
        return storage.resource_timestamp(self.resource_name, parent_id)

    def list_ids(self, storage: StorageBase, parent_id: str | None = None, **kwargs) -> list[str]:
        parent_id = self.parent_id if parent_id is None else parent_id
        return ids(storage.list_all(self.resource_name, parent_id, **kwargs))

    def store_typed_values(self, storage: StorageBase, values: dict[str, Any]) -> None:
        """Create one object per item, id = key, field ``v`` = value
        (absent for :data:`MISSING`)."""
        for object_id, value in values.items():
            fields = {} if value is MISSING else {"v": value}
            self.create(storage, id=object_id, **fields)

    def matching(self, storage: StorageBase, *filters: Filter) -> set[str]:
        return set(self.list_ids(storage, filters=list(filters)))
