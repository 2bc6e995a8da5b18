"""Conformance suite of storage backends.

Every backend runs these tests. A backend's test module subclasses
:class:`StorageTest` and names its module (built through its
``load_from_config``, as the application does)::

    from kinto.core.storage import memory
    from kinto.core.storage.testing import StorageTest

    class TestMemoryStorage(StorageTest):
        backend = memory
        settings = {}

A backend needing a server puts its URL in ``settings``, or overrides
:meth:`BaseStorageTest.make_backend` (and
:meth:`BaseStorageTest.make_readonly_backend`) or the ``storage`` fixture.

The tests only use the interface of :class:`kinto.core.storage.StorageBase`;
they never look at a backend's internals and never depend on timing. They are
grouped by concern in mixins, all gathered by :class:`StorageTest`.
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from pyramid.config import Configurator

from kinto.core.storage import (
    COMPARISON,
    MISSING,
    Filter,
    IntegrityError,
    ModifiedMeanwhileError,
    ObjectNotFoundError,
    ReadonlyError,
    Sort,
    StorageBase,
    UnicityError,
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


class CreateTests(BaseStorageTest):
    def test_create_returns_the_object_with_id_and_last_modified(self, storage):
        obj = self.create(storage, title="hello")
        assert obj["title"] == "hello"
        assert isinstance(obj["id"], str) and obj["id"]
        assert type(obj["last_modified"]) is int

    def test_create_keeps_the_given_id(self, storage):
        assert self.create(storage, id="abc")["id"] == "abc"

    def test_create_uses_the_id_generator_when_no_id_is_given(self, storage):
        obj = storage.create(self.resource_name, self.parent_id, {}, id_generator=lambda: "gen")
        assert obj["id"] == "gen"

    def test_create_generates_distinct_ids_without_generator(self, storage):
        first, second = self.create(storage), self.create(storage)
        assert first["id"] != second["id"]

    def test_created_object_can_be_read_back(self, storage):
        obj = self.create(storage, title="hello", nested={"list": [1, {"a": None}]})
        assert storage.get(self.resource_name, self.parent_id, obj["id"]) == obj

    def test_create_does_not_modify_the_given_dict(self, storage):
        given = {"title": "hello"}
        storage.create(self.resource_name, self.parent_id, given)
        assert given == {"title": "hello"}

    def test_changing_the_given_dict_after_create_does_not_change_the_stored_object(self, storage):
        given = {"id": "a", "nested": {"list": [1]}}
        storage.create(self.resource_name, self.parent_id, given)
        given["nested"]["list"].append(2)
        given["title"] = "changed"
        stored = storage.get(self.resource_name, self.parent_id, "a")
        assert stored["nested"] == {"list": [1]}
        assert "title" not in stored

    def test_changing_the_returned_object_does_not_change_the_stored_object(self, storage):
        obj = self.create(storage, id="a", nested={"list": [1]})
        obj["nested"]["list"].append(2)
        obj["title"] = "changed"
        stored = storage.get(self.resource_name, self.parent_id, "a")
        assert stored["nested"] == {"list": [1]}
        assert "title" not in stored

    def test_create_with_the_id_of_a_live_object_raises_unicity_error(self, storage):
        existing = self.create(storage, id="a", title="first")
        with pytest.raises(UnicityError) as raised:
            self.create(storage, id="a", title="second")
        assert raised.value.field == "id"
        assert raised.value.existing == existing
        assert storage.get(self.resource_name, self.parent_id, "a") == existing

    def test_same_id_may_exist_under_another_parent(self, storage):
        self.create(storage, id="a")
        other = self.create(storage, parent_id="/parents/other", id="a")
        assert other["id"] == "a"

    def test_same_id_may_exist_under_another_resource_name(self, storage):
        self.create(storage, id="a")
        other = storage.create("other", self.parent_id, {"id": "a"})
        assert other["id"] == "a"

    def test_create_with_the_id_of_a_tombstone_replaces_the_tombstone(self, storage):
        self.create(storage, id="a")
        storage.delete(self.resource_name, self.parent_id, "a")
        obj = self.create(storage, id="a", title="again")
        assert storage.get(self.resource_name, self.parent_id, "a") == obj
        assert self.list_ids(storage, include_deleted=True) == ["a"]
        listed = storage.list_all(self.resource_name, self.parent_id, include_deleted=True)
        assert "deleted" not in listed[0]


class GetTests(BaseStorageTest):
    def test_get_unknown_object_raises_not_found(self, storage):
        with pytest.raises(ObjectNotFoundError):
            storage.get(self.resource_name, self.parent_id, "unknown")

    def test_get_deleted_object_raises_not_found(self, storage):
        self.create(storage, id="a")
        storage.delete(self.resource_name, self.parent_id, "a")
        with pytest.raises(ObjectNotFoundError):
            storage.get(self.resource_name, self.parent_id, "a")

    def test_get_looks_only_in_the_given_parent(self, storage):
        self.create(storage, id="a")
        with pytest.raises(ObjectNotFoundError):
            storage.get(self.resource_name, "/parents/other", "a")

    def test_get_looks_only_in_the_given_resource_name(self, storage):
        self.create(storage, id="a")
        with pytest.raises(ObjectNotFoundError):
            storage.get("other", self.parent_id, "a")

    def test_changing_an_object_returned_by_get_does_not_change_the_stored_object(self, storage):
        self.create(storage, id="a", tags=["x"])
        storage.get(self.resource_name, self.parent_id, "a")["tags"].append("y")
        assert storage.get(self.resource_name, self.parent_id, "a")["tags"] == ["x"]


class UpdateTests(BaseStorageTest):
    def update(self, storage, object_id, obj, **kwargs):
        return storage.update(self.resource_name, self.parent_id, object_id, obj, **kwargs)

    def test_update_replaces_the_whole_object(self, storage):
        self.create(storage, id="a", title="old", other=1)
        updated = self.update(storage, "a", {"title": "new"})
        assert updated["title"] == "new"
        assert "other" not in updated
        assert storage.get(self.resource_name, self.parent_id, "a") == updated

    def test_update_assigns_a_newer_timestamp(self, storage):
        before = self.create(storage, id="a")
        after = self.update(storage, "a", {"title": "new"})
        assert after["last_modified"] > before["last_modified"]

    def test_update_of_unchanged_data_still_assigns_a_newer_timestamp(self, storage):
        before = self.create(storage, id="a", title="same")
        after = self.update(storage, "a", {"title": "same"})
        assert after["last_modified"] > before["last_modified"]

    def test_update_creates_a_missing_object(self, storage):
        created = self.update(storage, "a", {"title": "new"})
        assert created["id"] == "a"
        assert storage.get(self.resource_name, self.parent_id, "a") == created

    def test_update_takes_the_id_from_its_argument(self, storage):
        self.create(storage, id="a")
        updated = self.update(storage, "a", {"id": "b", "title": "new"})
        assert updated["id"] == "a"
        with pytest.raises(ObjectNotFoundError):
            storage.get(self.resource_name, self.parent_id, "b")

    def test_update_of_a_deleted_object_recreates_it_without_tombstone(self, storage):
        self.create(storage, id="a")
        storage.delete(self.resource_name, self.parent_id, "a")
        self.update(storage, "a", {"title": "back"})
        listed = storage.list_all(self.resource_name, self.parent_id, include_deleted=True)
        assert [(o["id"], o.get("deleted")) for o in listed] == [("a", None)]

    def test_update_does_not_modify_the_given_dict(self, storage):
        given = {"title": "new", "nested": {"a": 1}}
        self.update(storage, "a", given)
        given["nested"]["a"] = 2
        assert given == {"title": "new", "nested": {"a": 2}}
        assert storage.get(self.resource_name, self.parent_id, "a")["nested"] == {"a": 1}

    def test_changing_the_object_returned_by_update_does_not_change_the_stored_object(
        self, storage
    ):
        updated = self.update(storage, "a", {"nested": {"a": 1}})
        updated["nested"]["a"] = 2
        assert storage.get(self.resource_name, self.parent_id, "a")["nested"] == {"a": 1}

    def test_update_with_matching_if_match_succeeds(self, storage):
        obj = self.create(storage, id="a")
        updated = self.update(storage, "a", {"title": "new"}, if_match=obj["last_modified"])
        assert updated["title"] == "new"

    def test_update_with_different_if_match_raises_with_the_current_object(self, storage):
        obj = self.create(storage, id="a", title="old")
        with pytest.raises(ModifiedMeanwhileError) as raised:
            self.update(storage, "a", {"title": "new"}, if_match=obj["last_modified"] - 1)
        assert raised.value.existing == obj
        assert storage.get(self.resource_name, self.parent_id, "a") == obj

    def test_update_with_if_match_on_missing_object_raises_without_existing(self, storage):
        with pytest.raises(ModifiedMeanwhileError) as raised:
            self.update(storage, "a", {"title": "new"}, if_match=123)
        assert raised.value.existing is None
        with pytest.raises(ObjectNotFoundError):
            storage.get(self.resource_name, self.parent_id, "a")

    def test_update_with_if_match_on_deleted_object_raises_without_existing(self, storage):
        self.create(storage, id="a")
        tombstone = storage.delete(self.resource_name, self.parent_id, "a")
        with pytest.raises(ModifiedMeanwhileError) as raised:
            self.update(storage, "a", {}, if_match=tombstone["last_modified"])
        assert raised.value.existing is None


class DeleteTests(BaseStorageTest):
    def delete(self, storage, object_id, **kwargs):
        return storage.delete(self.resource_name, self.parent_id, object_id, **kwargs)

    def test_delete_returns_a_tombstone_with_a_newer_timestamp(self, storage):
        obj = self.create(storage, id="a", title="x")
        tombstone = self.delete(storage, "a")
        assert set(tombstone) == {"id", "last_modified", "deleted"}
        assert tombstone["id"] == "a" and tombstone["deleted"] is True
        assert tombstone["last_modified"] > obj["last_modified"]

    def test_deleted_object_is_gone_from_lists(self, storage):
        self.create(storage, id="a")
        self.create(storage, id="b")
        self.delete(storage, "a")
        assert self.list_ids(storage) == ["b"]

    def test_delete_keeps_a_tombstone(self, storage):
        self.create(storage, id="a", title="x")
        tombstone = self.delete(storage, "a")
        listed = storage.list_all(self.resource_name, self.parent_id, include_deleted=True)
        assert listed == [tombstone]

    def test_delete_without_tombstone_leaves_nothing(self, storage):
        self.create(storage, id="a")
        self.delete(storage, "a", with_deleted=False)
        assert self.list_ids(storage, include_deleted=True) == []

    def test_delete_without_tombstone_still_moves_the_list_timestamp(self, storage):
        obj = self.create(storage, id="a")
        tombstone = self.delete(storage, "a", with_deleted=False)
        assert tombstone["last_modified"] > obj["last_modified"]
        assert self.timestamp(storage) == tombstone["last_modified"]

    def test_delete_unknown_object_raises_not_found(self, storage):
        with pytest.raises(ObjectNotFoundError):
            self.delete(storage, "unknown")

    def test_delete_twice_raises_not_found(self, storage):
        self.create(storage, id="a")
        self.delete(storage, "a")
        with pytest.raises(ObjectNotFoundError):
            self.delete(storage, "a")

    def test_delete_with_if_match_on_missing_object_raises_not_found(self, storage):
        with pytest.raises(ObjectNotFoundError):
            self.delete(storage, "a", if_match=123)

    def test_delete_with_matching_if_match_succeeds(self, storage):
        obj = self.create(storage, id="a")
        self.delete(storage, "a", if_match=obj["last_modified"])
        assert self.list_ids(storage) == []

    def test_delete_with_different_if_match_raises_and_keeps_the_object(self, storage):
        obj = self.create(storage, id="a")
        with pytest.raises(ModifiedMeanwhileError) as raised:
            self.delete(storage, "a", if_match=obj["last_modified"] + 1)
        assert raised.value.existing == obj
        assert storage.get(self.resource_name, self.parent_id, "a") == obj

    def test_delete_with_greater_last_modified_uses_it_for_the_tombstone(self, storage):
        obj = self.create(storage, id="a")
        forced = obj["last_modified"] + 1000
        tombstone = self.delete(storage, "a", last_modified=forced)
        assert tombstone["last_modified"] == forced
        assert self.timestamp(storage) == forced

    def test_delete_with_older_last_modified_ignores_it(self, storage):
        obj = self.create(storage, id="a")
        tombstone = self.delete(storage, "a", last_modified=obj["last_modified"] - 1000)
        assert tombstone["last_modified"] > obj["last_modified"]

    def test_delete_with_equal_last_modified_ignores_it(self, storage):
        obj = self.create(storage, id="a")
        tombstone = self.delete(storage, "a", last_modified=obj["last_modified"])
        assert tombstone["last_modified"] > obj["last_modified"]

    def test_delete_only_affects_the_given_parent(self, storage):
        self.create(storage, id="a")
        self.create(storage, parent_id="/parents/other", id="a")
        self.delete(storage, "a")
        assert self.list_ids(storage, parent_id="/parents/other") == ["a"]

    def test_changing_the_returned_tombstone_does_not_change_the_stored_one(self, storage):
        self.create(storage, id="a")
        self.delete(storage, "a")["deleted"] = "changed"
        listed = storage.list_all(self.resource_name, self.parent_id, include_deleted=True)
        assert listed[0]["deleted"] is True


class TimestampTests(BaseStorageTest):
    def test_list_timestamp_is_an_integer(self, storage):
        assert type(self.timestamp(storage)) is int

    def test_timestamp_of_a_list_that_never_had_objects_is_stable(self, storage):
        first = self.timestamp(storage)
        assert self.timestamp(storage) == first
        assert self.list_ids(storage) == []
        assert self.timestamp(storage) == first

    def test_list_timestamp_is_the_last_write(self, storage):
        self.create(storage)
        obj = self.create(storage)
        assert self.timestamp(storage) == obj["last_modified"]

    def test_first_write_is_newer_than_the_initial_list_timestamp(self, storage):
        initial = self.timestamp(storage)
        assert self.create(storage)["last_modified"] > initial

    def test_successive_writes_get_strictly_increasing_timestamps(self, storage):
        stamps = [self.create(storage)["last_modified"] for _ in range(50)]
        assert stamps == sorted(set(stamps))

    def test_update_and_delete_get_newer_timestamps_than_the_list(self, storage):
        self.create(storage, id="a")
        other = self.create(storage, id="b")
        updated = storage.update(self.resource_name, self.parent_id, "a", {})
        assert updated["last_modified"] > other["last_modified"]
        tombstone = storage.delete(self.resource_name, self.parent_id, "b")
        assert tombstone["last_modified"] > updated["last_modified"]
        assert self.timestamp(storage) == tombstone["last_modified"]

    def test_reads_do_not_change_the_list_timestamp(self, storage):
        obj = self.create(storage, id="a")
        storage.get(self.resource_name, self.parent_id, "a")
        storage.list_all(self.resource_name, self.parent_id, include_deleted=True)
        storage.count_all(self.resource_name, self.parent_id)
        assert self.timestamp(storage) == obj["last_modified"]

    def test_lists_have_independent_timestamps(self, storage):
        other_parent = self.timestamp(storage, parent_id="/parents/other")
        other_resource = storage.resource_timestamp("other", self.parent_id)
        self.create(storage)
        self.create(storage)
        assert self.timestamp(storage, parent_id="/parents/other") == other_parent
        assert storage.resource_timestamp("other", self.parent_id) == other_resource

    def test_writes_in_different_lists_do_not_bump_each_other(self, storage):
        obj = self.create(storage)
        self.create(storage, parent_id="/parents/other")
        assert self.timestamp(storage) == obj["last_modified"]

    def test_create_with_a_newer_last_modified_uses_it(self, storage):
        obj = self.create(storage)
        forced = obj["last_modified"] + 10_000
        assert self.create(storage, last_modified=forced)["last_modified"] == forced
        assert self.timestamp(storage) == forced

    def test_writes_after_a_forced_future_timestamp_are_newer_than_it(self, storage):
        obj = self.create(storage)
        forced = obj["last_modified"] + 10_000
        self.create(storage, last_modified=forced)
        assert self.create(storage)["last_modified"] > forced

    def test_create_with_an_older_last_modified_uses_it_without_moving_the_list(self, storage):
        latest = self.create(storage)
        forced = latest["last_modified"] - 10_000
        assert self.create(storage, last_modified=forced)["last_modified"] == forced
        assert self.timestamp(storage) == latest["last_modified"]

    def test_create_in_a_new_list_with_a_forced_last_modified_sets_the_list_timestamp(
        self, storage
    ):
        obj = self.create(storage, last_modified=1234)
        assert obj["last_modified"] == 1234
        assert self.timestamp(storage) == 1234

    def test_create_with_last_modified_equal_to_the_list_timestamp_gets_a_fresh_one(self, storage):
        latest = self.create(storage)
        obj = self.create(storage, last_modified=latest["last_modified"])
        assert obj["last_modified"] > latest["last_modified"]

    def test_create_with_non_integer_last_modified_gets_a_fresh_one(self, storage):
        latest = self.create(storage)
        past = latest["last_modified"] - 10_000
        for value in (str(past), float(past), True, None, [past]):
            obj = self.create(storage, last_modified=value)
            assert type(obj["last_modified"]) is int
            assert obj["last_modified"] > latest["last_modified"]
            latest = obj

    def test_create_with_an_older_last_modified_used_by_another_object_raises(self, storage):
        taken = self.create(storage, id="a")
        self.create(storage, id="b")
        with pytest.raises(IntegrityError):
            self.create(storage, id="c", last_modified=taken["last_modified"])
        assert self.list_ids(storage, sorting=[Sort("id", 1)]) == ["a", "b"]

    def test_create_with_an_older_last_modified_used_by_a_tombstone_raises(self, storage):
        self.create(storage, id="a")
        tombstone = storage.delete(self.resource_name, self.parent_id, "a")
        self.create(storage, id="b")
        with pytest.raises(IntegrityError):
            self.create(storage, id="c", last_modified=tombstone["last_modified"])

    def test_recreating_over_a_tombstone_may_reuse_its_timestamp(self, storage):
        self.create(storage, id="a")
        tombstone = storage.delete(self.resource_name, self.parent_id, "a")
        self.create(storage, id="b")
        obj = self.create(storage, id="a", last_modified=tombstone["last_modified"])
        assert obj["last_modified"] == tombstone["last_modified"]

    def test_update_with_a_greater_last_modified_uses_it(self, storage):
        obj = self.create(storage, id="a")
        forced = obj["last_modified"] + 10_000
        updated = storage.update(
            self.resource_name, self.parent_id, "a", {"last_modified": forced}
        )
        assert updated["last_modified"] == forced
        assert self.timestamp(storage) == forced

    def test_update_with_a_greater_but_past_last_modified_uses_it(self, storage):
        obj = self.create(storage, id="a")
        latest = self.create(storage, id="b", last_modified=obj["last_modified"] + 10_000)
        forced = obj["last_modified"] + 10
        updated = storage.update(
            self.resource_name, self.parent_id, "a", {"last_modified": forced}
        )
        assert updated["last_modified"] == forced
        assert self.timestamp(storage) == latest["last_modified"]

    def test_update_with_an_older_last_modified_gets_a_fresh_one(self, storage):
        obj = self.create(storage, id="a")
        updated = storage.update(
            self.resource_name,
            self.parent_id,
            "a",
            {"last_modified": obj["last_modified"] - 10_000},
        )
        assert updated["last_modified"] > obj["last_modified"]

    def test_update_with_an_equal_last_modified_gets_a_fresh_one(self, storage):
        obj = self.create(storage, id="a")
        updated = storage.update(self.resource_name, self.parent_id, "a", obj)
        assert updated["last_modified"] > obj["last_modified"]

    def test_update_creating_an_object_honours_a_forced_last_modified(self, storage):
        created = storage.update(self.resource_name, self.parent_id, "a", {"last_modified": 42})
        assert created["last_modified"] == 42

    def test_readonly_backend_cannot_initialise_a_list_timestamp(self):
        backend = self.make_readonly_backend()
        with pytest.raises(ReadonlyError):
            backend.resource_timestamp(self.resource_name, self.parent_id)


class ListTests(BaseStorageTest):
    def test_list_of_an_unknown_list_is_empty(self, storage):
        assert storage.list_all(self.resource_name, "/parents/none") == []

    def test_list_returns_the_live_objects_of_the_list(self, storage):
        a = self.create(storage, id="a", title="x")
        b = self.create(storage, id="b", title="y")
        self.create(storage, parent_id="/parents/other", id="c")
        storage.create("other", self.parent_id, {"id": "d"})
        listed = storage.list_all(self.resource_name, self.parent_id, sorting=[Sort("id", 1)])
        assert listed == [a, b]

    def test_list_excludes_tombstones_by_default(self, storage):
        self.create(storage, id="a")
        self.create(storage, id="b")
        storage.delete(self.resource_name, self.parent_id, "a")
        assert self.list_ids(storage) == ["b"]

    def test_list_includes_tombstones_when_asked(self, storage):
        self.create(storage, id="a")
        b = self.create(storage, id="b")
        tombstone = storage.delete(self.resource_name, self.parent_id, "a")
        listed = storage.list_all(
            self.resource_name,
            self.parent_id,
            sorting=[Sort("id", 1)],
            include_deleted=True,
        )
        assert listed == [tombstone, b]

    def test_list_returns_at_most_limit_objects(self, storage):
        for i in range(5):
            self.create(storage, id=str(i))
        sorting = [Sort("id", 1)]
        assert self.list_ids(storage, sorting=sorting, limit=2) == ["0", "1"]

    def test_list_with_limit_zero_returns_nothing(self, storage):
        self.create(storage)
        assert self.list_ids(storage, limit=0) == []

    def test_list_with_limit_larger_than_the_list_returns_everything(self, storage):
        self.create(storage)
        assert len(self.list_ids(storage, limit=10)) == 1

    def test_limit_applies_after_sorting(self, storage):
        for n in (5, 1, 4, 2, 3):
            self.create(storage, id=str(n), n=n)
        assert self.list_ids(storage, sorting=[Sort("n", -1)], limit=2) == ["5", "4"]

    def test_changing_listed_objects_does_not_change_the_stored_objects(self, storage):
        self.create(storage, id="a", tags=["x"])
        storage.list_all(self.resource_name, self.parent_id)[0]["tags"].append("y")
        assert storage.get(self.resource_name, self.parent_id, "a")["tags"] == ["x"]

    def test_parent_id_ending_with_star_lists_every_parent_with_that_prefix(self, storage):
        self.create(storage, parent_id="/buckets/b/collections/c1", id="a")
        self.create(storage, parent_id="/buckets/b/collections/c2", id="b")
        self.create(storage, parent_id="/buckets/bb/collections/c1", id="c")
        self.create(storage, parent_id="/buckets/other/collections/c1", id="d")
        listed = self.list_ids(
            storage, parent_id="/buckets/b/*", sorting=[Sort("id", 1)], include_deleted=True
        )
        assert listed == ["a", "b"]

    def test_parent_id_prefix_matches_only_the_given_resource_name(self, storage):
        self.create(storage, parent_id="/buckets/b/collections/c", id="a")
        storage.create("other", "/buckets/b/collections/c", {"id": "b"})
        assert self.list_ids(storage, parent_id="/buckets/b/*") == ["a"]

    def test_parent_id_prefix_alone_matches_every_parent(self, storage):
        self.create(storage, parent_id="", id="a")
        self.create(storage, parent_id="/x", id="b")
        assert self.list_ids(storage, parent_id="*", sorting=[Sort("id", 1)]) == ["a", "b"]


class CountTests(BaseStorageTest):
    def test_count_of_an_unknown_list_is_zero(self, storage):
        assert storage.count_all(self.resource_name, "/parents/none") == 0

    def test_count_counts_live_objects_of_the_list(self, storage):
        self.create(storage)
        self.create(storage)
        self.create(storage, parent_id="/parents/other")
        assert storage.count_all(self.resource_name, self.parent_id) == 2

    def test_count_never_counts_tombstones(self, storage):
        self.create(storage, id="a")
        self.create(storage, id="b")
        storage.delete(self.resource_name, self.parent_id, "a")
        assert storage.count_all(self.resource_name, self.parent_id) == 1
        deleted = [Filter("deleted", True, EQ)]
        assert storage.count_all(self.resource_name, self.parent_id, filters=deleted) == 0

    def test_count_applies_filters(self, storage):
        for n in range(5):
            self.create(storage, n=n)
        filters = [Filter("n", 2, MIN)]
        assert storage.count_all(self.resource_name, self.parent_id, filters=filters) == 3

    def test_count_with_parent_prefix_counts_every_matching_parent(self, storage):
        self.create(storage, parent_id="/a/1")
        self.create(storage, parent_id="/a/2")
        self.create(storage, parent_id="/b/1")
        assert storage.count_all(self.resource_name, "/a/*") == 2


class FilterTests(BaseStorageTest):
    @pytest.fixture
    def typed(self, storage):
        self.store_typed_values(storage, TYPED_VALUES)
        return storage

    def test_eq_matches_equal_values(self, storage):
        self.store_typed_values(storage, {"a": "x", "b": "y", "c": 1})
        assert self.matching(storage, Filter("v", "x", EQ)) == {"a"}
        assert self.matching(storage, Filter("v", 1, EQ)) == {"c"}

    def test_eq_never_matches_a_missing_field(self, typed):
        assert self.matching(typed, Filter("v", None, EQ)) == {"null"}

    def test_eq_distinguishes_numbers_from_strings(self, storage):
        self.store_typed_values(storage, {"number": 2, "string": "2"})
        assert self.matching(storage, Filter("v", 2, EQ)) == {"number"}
        assert self.matching(storage, Filter("v", "2", EQ)) == {"string"}

    def test_eq_distinguishes_booleans_from_numbers(self, storage):
        self.store_typed_values(storage, {"one": 1, "true": True, "zero": 0, "false": False})
        assert self.matching(storage, Filter("v", True, EQ)) == {"true"}
        assert self.matching(storage, Filter("v", 1, EQ)) == {"one"}
        assert self.matching(storage, Filter("v", False, EQ)) == {"false"}

    def test_eq_compares_numbers_by_value(self, storage):
        self.store_typed_values(storage, {"int": 1, "float": 1.0, "other": 1.5})
        assert self.matching(storage, Filter("v", 1, EQ)) == {"int", "float"}

    def test_eq_matches_arrays_exactly(self, storage):
        self.store_typed_values(storage, {"a": [1, 2], "b": [2, 1], "c": [1, 2, 3]})
        assert self.matching(storage, Filter("v", [1, 2], EQ)) == {"a"}

    def test_eq_matches_objects_whatever_the_key_order(self, storage):
        self.store_typed_values(storage, {"a": {"x": 1, "y": 2}, "b": {"x": 1}})
        assert self.matching(storage, Filter("v", {"y": 2, "x": 1}, EQ)) == {"a"}

    def test_not_matches_different_values_and_missing_fields(self, typed):
        expected = set(TYPED_VALUES) - {"number"}
        assert self.matching(typed, Filter("v", 3, NOT)) == expected

    def test_not_null_matches_missing_fields(self, typed):
        expected = set(TYPED_VALUES) - {"null"}
        assert self.matching(typed, Filter("v", None, NOT)) == expected

    def test_lt_follows_jsonb_type_order_and_excludes_missing(self, typed):
        assert self.matching(typed, Filter("v", 3, LT)) == {"null", "string"}

    def test_max_follows_jsonb_type_order_and_excludes_missing(self, typed):
        assert self.matching(typed, Filter("v", 3, MAX)) == {"null", "string", "number"}

    def test_gt_follows_jsonb_type_order_and_includes_missing(self, typed):
        expected = {"false", "true", "array", "object", "missing"}
        assert self.matching(typed, Filter("v", 3, GT)) == expected

    def test_min_follows_jsonb_type_order_and_includes_missing(self, typed):
        expected = {"number", "false", "true", "array", "object", "missing"}
        assert self.matching(typed, Filter("v", 3, MIN)) == expected

    def test_comparisons_on_strings_use_string_order(self, storage):
        self.store_typed_values(storage, {"a": "apple", "b": "banana", "c": "cherry"})
        assert self.matching(storage, Filter("v", "banana", LT)) == {"a"}
        assert self.matching(storage, Filter("v", "banana", MIN)) == {"b", "c"}

    def test_comparisons_on_numbers_are_numeric(self, storage):
        self.store_typed_values(storage, {"two": 2, "ten": 10, "half": 0.5})
        assert self.matching(storage, Filter("v", 2, GT)) == {"ten"}
        assert self.matching(storage, Filter("v", 2, MAX)) == {"two", "half"}

    def test_comparisons_on_booleans_put_false_before_true(self, storage):
        self.store_typed_values(storage, {"false": False, "true": True})
        assert self.matching(storage, Filter("v", False, GT)) == {"true"}
        assert self.matching(storage, Filter("v", True, LT)) == {"false"}

    def test_gt_a_string_matches_every_number(self, typed):
        expected = set(TYPED_VALUES) - {"null", "string"}
        assert self.matching(typed, Filter("v", "zzz", GT)) == expected

    def test_in_matches_listed_values(self, typed):
        assert self.matching(typed, Filter("v", [3, "abc"], IN)) == {"number", "string"}

    def test_in_with_null_matches_null_but_not_missing(self, typed):
        assert self.matching(typed, Filter("v", [None], IN)) == {"null"}

    def test_in_with_an_empty_list_matches_nothing(self, typed):
        assert self.matching(typed, Filter("v", [], IN)) == set()

    def test_in_distinguishes_booleans_from_numbers(self, storage):
        self.store_typed_values(storage, {"one": 1, "true": True})
        assert self.matching(storage, Filter("v", [1], IN)) == {"one"}

    def test_in_matches_arrays_and_objects_by_equality(self, typed):
        assert self.matching(typed, Filter("v", [[1], {"a": 1}], IN)) == {"array", "object"}

    def test_exclude_matches_unlisted_values_and_missing_fields(self, typed):
        expected = set(TYPED_VALUES) - {"number", "string"}
        assert self.matching(typed, Filter("v", [3, "abc"], EXCLUDE)) == expected

    def test_exclude_with_an_empty_list_matches_everything(self, typed):
        assert self.matching(typed, Filter("v", [], EXCLUDE)) == set(TYPED_VALUES)

    def test_like_is_case_insensitive(self, storage):
        self.store_typed_values(storage, {"a": "Hello World", "b": "hello", "c": "bye"})
        assert self.matching(storage, Filter("v", "*HELLO*", LIKE)) == {"a", "b"}

    def test_like_without_wildcard_matches_the_whole_text(self, storage):
        self.store_typed_values(storage, {"a": "Hello World", "b": "hello"})
        assert self.matching(storage, Filter("v", "hello", LIKE)) == {"b"}

    def test_like_star_matches_any_run_of_characters(self, storage):
        values = {"a": "abc", "b": "aXYZc", "c": "ac", "d": "abcd", "e": "xabc"}
        self.store_typed_values(storage, values)
        assert self.matching(storage, Filter("v", "a*c", LIKE)) == {"a", "b", "c"}
        assert self.matching(storage, Filter("v", "*c", LIKE)) == {"a", "b", "c", "e"}
        assert self.matching(storage, Filter("v", "a*", LIKE)) == {"a", "b", "c", "d"}

    def test_like_treats_other_characters_literally(self, storage):
        values = {"a": "a_c", "b": "abc", "c": "a%c", "d": "a.c", "e": "a[c"}
        self.store_typed_values(storage, values)
        assert self.matching(storage, Filter("v", "a_c", LIKE)) == {"a"}
        assert self.matching(storage, Filter("v", "a%c", LIKE)) == {"c"}
        assert self.matching(storage, Filter("v", "a.c", LIKE)) == {"d"}
        assert self.matching(storage, Filter("v", "a[c", LIKE)) == {"e"}

    def test_like_matches_across_lines(self, storage):
        self.store_typed_values(storage, {"a": "first\nsecond"})
        assert self.matching(storage, Filter("v", "*second", LIKE)) == {"a"}

    def test_like_never_matches_null_or_missing_fields(self, typed):
        assert self.matching(typed, Filter("v", "*", LIKE)) == set(TYPED_VALUES) - {
            "null",
            "missing",
        }

    def test_like_matches_the_text_form_of_numbers(self, storage):
        self.store_typed_values(storage, {"a": 1234, "b": 56})
        assert self.matching(storage, Filter("v", "*23*", LIKE)) == {"a"}

    def test_has_true_matches_present_fields_including_null(self, typed):
        expected = set(TYPED_VALUES) - {"missing"}
        assert self.matching(typed, Filter("v", True, HAS)) == expected

    def test_has_false_matches_missing_fields(self, typed):
        assert self.matching(typed, Filter("v", False, HAS)) == {"missing"}

    def test_contains_matches_arrays_holding_every_value(self, storage):
        values = {"a": ["x", "y", "z"], "b": ["x"], "c": ["y", "z"], "d": []}
        self.store_typed_values(storage, values)
        assert self.matching(storage, Filter("v", ["x", "y"], CONTAINS)) == {"a"}
        assert self.matching(storage, Filter("v", ["x"], CONTAINS)) == {"a", "b"}

    def test_contains_compares_items_as_json(self, storage):
        values = {"a": [{"k": 1}, 2], "b": [{"k": 1, "j": 2}], "c": [True], "d": ["2"]}
        self.store_typed_values(storage, values)
        assert self.matching(storage, Filter("v", [{"k": 1}], CONTAINS)) == {"a"}
        assert self.matching(storage, Filter("v", [1], CONTAINS)) == set()
        assert self.matching(storage, Filter("v", [2], CONTAINS)) == {"a"}

    def test_contains_never_matches_non_arrays(self, typed):
        typed.create(self.resource_name, self.parent_id, {"id": "text", "v": "abc"})
        assert self.matching(typed, Filter("v", ["abc"], CONTAINS)) == set()
        assert self.matching(typed, Filter("v", [1], CONTAINS)) == {"array"}

    def test_contains_any_matches_arrays_holding_one_of_the_values(self, storage):
        values = {"a": ["x", "y"], "b": ["z"], "c": [], "d": "x"}
        self.store_typed_values(storage, values)
        assert self.matching(storage, Filter("v", ["x", "z"], CONTAINS_ANY)) == {"a", "b"}
        assert self.matching(storage, Filter("v", ["w"], CONTAINS_ANY)) == set()

    def test_contains_any_never_matches_missing_fields(self, typed):
        assert self.matching(typed, Filter("v", [1], CONTAINS_ANY)) == {"array"}

    def test_dotted_fields_filter_on_nested_values(self, storage):
        self.create(storage, id="a", meta={"lang": "fr", "deep": {"n": 1}})
        self.create(storage, id="b", meta={"lang": "en", "deep": {"n": 2}})
        self.create(storage, id="c", meta="fr")
        self.create(storage, id="d")
        assert self.matching(storage, Filter("meta.lang", "fr", EQ)) == {"a"}
        assert self.matching(storage, Filter("meta.deep.n", 1, GT)) == {"b", "c", "d"}
        assert self.matching(storage, Filter("meta.lang", False, HAS)) == {"c", "d"}

    def test_a_dot_in_a_filter_field_always_means_nesting(self, storage):
        self.create(storage, id="a", **{"meta.lang": "fr"})
        self.create(storage, id="b", meta={"lang": "fr"})
        assert self.matching(storage, Filter("meta.lang", "fr", EQ)) == {"b"}

    def test_filters_are_combined_with_and(self, storage):
        self.create(storage, id="a", n=1, t="x")
        self.create(storage, id="b", n=2, t="x")
        self.create(storage, id="c", n=2, t="y")
        assert self.matching(storage, Filter("n", 2, EQ), Filter("t", "x", EQ)) == {"b"}

    def test_id_compares_as_a_string(self, storage):
        for object_id in ("1", "2", "10"):
            self.create(storage, id=object_id)
        assert self.matching(storage, Filter("id", 2, EQ)) == {"2"}
        assert self.matching(storage, Filter("id", "10", EQ)) == {"10"}
        assert self.matching(storage, Filter("id", "2", LT)) == {"1", "10"}
        assert self.matching(storage, Filter("id", ["1", "2"], IN)) == {"1", "2"}

    def test_last_modified_compares_as_an_integer(self, storage):
        a = self.create(storage, id="a")
        b = self.create(storage, id="b")
        c = self.create(storage, id="c")
        assert self.matching(storage, Filter("last_modified", a["last_modified"], GT)) == {
            "b",
            "c",
        }
        assert self.matching(storage, Filter("last_modified", c["last_modified"], LT)) == {
            "a",
            "b",
        }
        stamps = [a["last_modified"], c["last_modified"]]
        assert self.matching(storage, Filter("last_modified", stamps, IN)) == {"a", "c"}
        assert self.matching(storage, Filter("last_modified", b["last_modified"], EQ)) == {"b"}

    def test_eq_missing_matches_absent_fields(self, typed):
        assert self.matching(typed, Filter("v", MISSING, EQ)) == {"missing"}

    def test_gt_missing_matches_nothing(self, typed):
        assert self.matching(typed, Filter("v", MISSING, GT)) == set()

    def test_lt_missing_matches_present_fields(self, typed):
        expected = set(TYPED_VALUES) - {"missing"}
        assert self.matching(typed, Filter("v", MISSING, LT)) == expected

    def test_filters_apply_to_tombstones_which_only_have_id_and_timestamp(self, storage):
        self.create(storage, id="a", status=1)
        self.create(storage, id="b", status=1)
        self.create(storage, id="c", status=2)
        storage.delete(self.resource_name, self.parent_id, "a")

        def listed(*filters):
            return set(self.list_ids(storage, filters=list(filters), include_deleted=True))

        assert listed(Filter("deleted", True, EQ)) == {"a"}
        assert listed(Filter("status", 1, EQ)) == {"b"}
        assert listed(Filter("status", 2, NOT)) == {"a", "b"}
        assert listed(Filter("status", 1, GT)) == {"a", "c"}


class SortingTests(BaseStorageTest):
    def sorted_ids(self, storage, *sorting: Sort) -> list[str]:
        return self.list_ids(storage, sorting=list(sorting))

    def test_sort_ascending_and_descending(self, storage):
        self.store_typed_values(storage, {"b": 2, "c": 3, "a": 1})
        assert self.sorted_ids(storage, Sort("v", 1)) == ["a", "b", "c"]
        assert self.sorted_ids(storage, Sort("v", -1)) == ["c", "b", "a"]

    def test_sort_follows_jsonb_type_order_with_missing_last(self, storage):
        self.store_typed_values(storage, TYPED_VALUES)
        assert self.sorted_ids(storage, Sort("v", 1)) == list(TYPED_VALUES)

    def test_descending_sort_puts_missing_first(self, storage):
        self.store_typed_values(storage, TYPED_VALUES)
        assert self.sorted_ids(storage, Sort("v", -1)) == list(reversed(TYPED_VALUES))

    def test_sort_numbers_numerically(self, storage):
        self.store_typed_values(storage, {"ten": 10, "two": 2, "half": 0.5, "neg": -3})
        assert self.sorted_ids(storage, Sort("v", 1)) == ["neg", "half", "two", "ten"]

    def test_sort_strings_by_characters(self, storage):
        self.store_typed_values(storage, {"b": "b", "ab": "ab", "a": "a", "ba": "ba"})
        assert self.sorted_ids(storage, Sort("v", 1)) == ["a", "ab", "b", "ba"]

    def test_sort_arrays_by_length_then_items(self, storage):
        self.store_typed_values(storage, {"long": [1, 2], "short": [5], "long2": [1, 3]})
        assert self.sorted_ids(storage, Sort("v", 1)) == ["short", "long", "long2"]

    def test_sort_puts_an_empty_array_before_every_other_value(self, storage):
        self.store_typed_values(storage, {"empty": [], "null": None, "array": [0]})
        assert self.sorted_ids(storage, Sort("v", 1)) == ["empty", "null", "array"]

    def test_sort_objects_by_number_of_keys_first(self, storage):
        self.store_typed_values(storage, {"two": {"a": 1, "b": 1}, "one": {"z": 9}})
        assert self.sorted_ids(storage, Sort("v", 1)) == ["one", "two"]

    def test_sort_on_several_fields(self, storage):
        self.create(storage, id="a", group=1, n=2)
        self.create(storage, id="b", group=2, n=1)
        self.create(storage, id="c", group=1, n=3)
        self.create(storage, id="d", group=2, n=5)
        result = self.sorted_ids(storage, Sort("group", 1), Sort("n", -1))
        assert result == ["c", "a", "d", "b"]

    def test_later_sort_fields_break_ties_of_earlier_ones(self, storage):
        self.create(storage, id="b", group=1)
        self.create(storage, id="a", group=1)
        self.create(storage, id="c", group=0)
        result = self.sorted_ids(storage, Sort("group", -1), Sort("id", 1))
        assert result == ["a", "b", "c"]

    def test_sort_on_nested_fields(self, storage):
        self.create(storage, id="a", meta={"rank": 2})
        self.create(storage, id="b", meta={"rank": 1})
        self.create(storage, id="c", meta="flat")
        self.create(storage, id="d")
        by_id = Sort("id", 1)
        assert self.sorted_ids(storage, Sort("meta.rank", 1), by_id) == ["b", "a", "c", "d"]
        assert self.sorted_ids(storage, Sort("meta.rank", -1), by_id) == ["c", "d", "a", "b"]

    def test_a_dot_in_a_sort_field_always_means_nesting(self, storage):
        self.create(storage, id="a", **{"meta.rank": 1})
        self.create(storage, id="b", meta={"rank": 2})
        assert self.sorted_ids(storage, Sort("meta.rank", 1)) == ["b", "a"]

    def test_sort_on_id_uses_string_order(self, storage):
        for object_id in ("10", "9", "1"):
            self.create(storage, id=object_id)
        assert self.sorted_ids(storage, Sort("id", 1)) == ["1", "10", "9"]

    def test_sort_on_last_modified(self, storage):
        a = self.create(storage, id="a")
        self.create(storage, id="b")
        storage.update(self.resource_name, self.parent_id, "a", a)
        assert self.sorted_ids(storage, Sort("last_modified", 1)) == ["b", "a"]
        assert self.sorted_ids(storage, Sort("last_modified", -1)) == ["a", "b"]

    def test_last_modified_as_tie_breaker_orders_equal_values_by_recency(self, storage):
        for object_id in ("a", "b", "c"):
            self.create(storage, id=object_id, v=1)
        result = self.sorted_ids(storage, Sort("v", 1), Sort("last_modified", -1))
        assert result == ["c", "b", "a"]

    def test_tombstones_are_sorted_with_objects(self, storage):
        for object_id in ("a", "b", "c"):
            self.create(storage, id=object_id)
        storage.delete(self.resource_name, self.parent_id, "a")
        result = self.list_ids(storage, sorting=[Sort("last_modified", -1)], include_deleted=True)
        assert result == ["a", "c", "b"]


class PaginationTests(BaseStorageTest):
    @staticmethod
    def rules_after(obj: dict, sorting: list[Sort]) -> list[list[Filter]]:
        """Pagination rules selecting what sorts after ``obj``, built the way
        the resource layer builds them (querying.md §5)."""
        values = []
        for sort in sorting:
            value: Any = obj
            for part in sort.field.split("."):
                value = value.get(part, MISSING) if isinstance(value, dict) else MISSING
            values.append(value)
        rules = []
        for k, sort in enumerate(sorting):
            rule = [Filter(sorting[i].field, values[i], EQ) for i in range(k)]
            rule.append(Filter(sort.field, values[k], LT if sort.direction < 0 else GT))
            rules.append(rule)
        return rules

    def walk(self, storage, sorting: list[Sort], page_size: int, filters=()) -> list[str]:
        seen: list[str] = []
        rules = None
        while True:
            page = storage.list_all(
                self.resource_name,
                self.parent_id,
                filters=list(filters),
                sorting=sorting,
                pagination_rules=rules,
                limit=page_size,
            )
            seen.extend(ids(page))
            if len(page) < page_size:
                return seen
            rules = self.rules_after(page[-1], sorting)

    def test_pagination_rules_are_alternatives(self, storage):
        self.store_typed_values(storage, {"a": 1, "b": 2, "c": 3})
        rules = [[Filter("v", 1, EQ)], [Filter("v", 3, EQ)]]
        assert set(self.list_ids(storage, pagination_rules=rules)) == {"a", "c"}

    def test_filters_within_a_pagination_rule_are_combined_with_and(self, storage):
        self.create(storage, id="a", x=1, y=1)
        self.create(storage, id="b", x=1, y=2)
        rules = [[Filter("x", 1, EQ), Filter("y", 2, EQ)]]
        assert self.list_ids(storage, pagination_rules=rules) == ["b"]

    def test_pagination_rules_apply_on_top_of_filters(self, storage):
        self.store_typed_values(storage, {"a": 1, "b": 2, "c": 3})
        rules = [[Filter("v", 1, GT)]]
        filters = [Filter("v", 3, LT)]
        assert self.list_ids(storage, filters=filters, pagination_rules=rules) == ["b"]

    def test_empty_pagination_rules_select_everything(self, storage):
        self.store_typed_values(storage, {"a": 1, "b": 2})
        assert set(self.list_ids(storage, pagination_rules=[])) == {"a", "b"}

    def test_walking_pages_visits_every_object_once_in_order(self, storage):
        for i, title in enumerate(["b", "a", None, "b", "c", "a", "b"]):
            self.create(storage, id=f"o{i}", **({} if title is None else {"title": title}))
        self.create(storage, id="m1")
        self.create(storage, id="m2", title=None)
        sorting = [Sort("title", 1), Sort("last_modified", -1)]
        expected = self.list_ids(storage, sorting=sorting)
        for page_size in (1, 2, 3, 20):
            assert self.walk(storage, sorting, page_size) == expected

    def test_walking_pages_in_descending_order_starts_with_missing_fields(self, storage):
        for i, rank in enumerate([3, None, 1, 3, 2]):
            self.create(storage, id=f"o{i}", **({} if rank is None else {"rank": rank}))
        sorting = [Sort("rank", -1), Sort("last_modified", -1)]
        expected = self.list_ids(storage, sorting=sorting)
        assert expected[0] == "o1"
        assert self.walk(storage, sorting, 2) == expected

    def test_walking_pages_on_nested_fields_with_filters(self, storage):
        for i in range(7):
            self.create(storage, id=f"o{i}", meta={"rank": i % 3}, keep=i != 4)
        sorting = [Sort("meta.rank", 1), Sort("last_modified", 1)]
        filters = [Filter("keep", True, EQ)]
        expected = self.list_ids(storage, sorting=sorting, filters=filters)
        assert len(expected) == 6
        assert self.walk(storage, sorting, 2, filters) == expected


class DeleteAllTests(BaseStorageTest):
    def delete_all(self, storage, parent_id=None, **kwargs) -> list[dict]:
        parent_id = self.parent_id if parent_id is None else parent_id
        return storage.delete_all(self.resource_name, parent_id, **kwargs)

    def test_delete_all_of_an_unknown_list_returns_nothing(self, storage):
        assert self.delete_all(storage, parent_id="/parents/none") == []

    def test_delete_all_deletes_every_live_object_and_returns_tombstones(self, storage):
        self.create(storage, id="a")
        self.create(storage, id="b")
        deleted = self.delete_all(storage, sorting=[Sort("id", 1)])
        assert ids(deleted) == ["a", "b"]
        assert all(set(t) == {"id", "last_modified", "deleted"} for t in deleted)
        assert all(t["deleted"] is True for t in deleted)
        assert self.list_ids(storage) == []

    def test_delete_all_keeps_tombstones(self, storage):
        self.create(storage, id="a")
        self.create(storage, id="b")
        deleted = self.delete_all(storage, sorting=[Sort("id", 1)])
        listed = storage.list_all(
            self.resource_name, self.parent_id, sorting=[Sort("id", 1)], include_deleted=True
        )
        assert listed == deleted

    def test_delete_all_gives_each_tombstone_a_new_timestamp(self, storage):
        created = [self.create(storage)["last_modified"] for _ in range(5)]
        stamps = [t["last_modified"] for t in self.delete_all(storage)]
        assert len(set(stamps)) == 5
        assert min(stamps) > max(created)
        assert self.timestamp(storage) == max(stamps)

    def test_delete_all_ignores_existing_tombstones(self, storage):
        self.create(storage, id="a")
        self.create(storage, id="b")
        storage.delete(self.resource_name, self.parent_id, "a")
        assert ids(self.delete_all(storage)) == ["b"]

    def test_delete_all_deletes_only_matching_objects(self, storage):
        self.store_typed_values(storage, {"a": 1, "b": 2, "c": 3})
        deleted = self.delete_all(storage, filters=[Filter("v", 2, MIN)], sorting=[Sort("v", 1)])
        assert ids(deleted) == ["b", "c"]
        assert self.list_ids(storage) == ["a"]

    def test_delete_all_with_limit_deletes_the_first_objects_in_sort_order(self, storage):
        self.store_typed_values(storage, {"a": 1, "b": 3, "c": 2, "d": 4})
        deleted = self.delete_all(storage, sorting=[Sort("v", -1)], limit=2)
        assert ids(deleted) == ["d", "b"]
        assert set(self.list_ids(storage)) == {"a", "c"}

    def test_delete_all_applies_pagination_rules(self, storage):
        self.store_typed_values(storage, {"a": 1, "b": 2, "c": 3})
        rules = [[Filter("v", 1, GT)]]
        deleted = self.delete_all(storage, pagination_rules=rules, sorting=[Sort("v", 1)])
        assert ids(deleted) == ["b", "c"]

    def test_delete_all_only_affects_the_given_list(self, storage):
        self.create(storage, id="a")
        self.create(storage, parent_id="/parents/other", id="b")
        storage.create("other", self.parent_id, {"id": "c"})
        self.delete_all(storage)
        assert self.list_ids(storage, parent_id="/parents/other") == ["b"]
        assert ids(storage.list_all("other", self.parent_id)) == ["c"]

    def test_delete_all_with_parent_prefix_deletes_every_matching_list(self, storage):
        self.create(storage, parent_id="/buckets/b/collections/c1", id="a")
        self.create(storage, parent_id="/buckets/b/collections/c2", id="b")
        self.create(storage, parent_id="/buckets/bb/collections/c1", id="c")
        deleted = self.delete_all(storage, parent_id="/buckets/b/*", sorting=[Sort("id", 1)])
        assert ids(deleted) == ["a", "b"]
        assert self.list_ids(storage, parent_id="/buckets/b/*") == []
        assert self.list_ids(storage, parent_id="/buckets/bb/collections/c1") == ["c"]

    def test_delete_all_with_parent_prefix_bumps_each_list_timestamp(self, storage):
        a = self.create(storage, parent_id="/p/1", id="a")
        b = self.create(storage, parent_id="/p/2", id="b")
        self.delete_all(storage, parent_id="/p/*")
        assert self.timestamp(storage, parent_id="/p/1") > a["last_modified"]
        assert self.timestamp(storage, parent_id="/p/2") > b["last_modified"]

    def test_delete_all_without_tombstones_purges_objects_and_tombstones(self, storage):
        self.create(storage, id="a")
        self.create(storage, id="b")
        storage.delete(self.resource_name, self.parent_id, "a")
        deleted = self.delete_all(storage, with_deleted=False)
        assert ids(deleted) == ["b"]
        assert self.list_ids(storage, include_deleted=True) == []

    def test_delete_all_without_tombstones_still_moves_the_list_timestamp(self, storage):
        obj = self.create(storage, id="a")
        self.delete_all(storage, with_deleted=False)
        assert self.timestamp(storage) > obj["last_modified"]

    def test_recreated_list_after_purge_gets_newer_timestamps(self, storage):
        obj = self.create(storage, parent_id="/p/c", id="a")
        self.delete_all(storage, parent_id="/p/*", with_deleted=False)
        storage.purge_deleted(self.resource_name, "/p/*")
        assert self.timestamp(storage, parent_id="/p/c") > obj["last_modified"]
        again = self.create(storage, parent_id="/p/c", id="a")
        assert again["last_modified"] > obj["last_modified"]

    def test_delete_all_with_limit_zero_deletes_nothing(self, storage):
        self.create(storage, id="a")
        assert self.delete_all(storage, limit=0) == []
        assert self.list_ids(storage) == ["a"]


class PurgeTests(BaseStorageTest):
    def make_tombstones(self, storage, count: int, parent_id=None) -> list[dict]:
        parent_id = self.parent_id if parent_id is None else parent_id
        tombstones = []
        for i in range(count):
            self.create(storage, parent_id=parent_id, id=f"t{i}")
            tombstones.append(storage.delete(self.resource_name, parent_id, f"t{i}"))
        return tombstones

    def remaining(self, storage, parent_id=None) -> set[str]:
        listed = self.list_ids(storage, parent_id=parent_id, include_deleted=True)
        return set(listed)

    def test_purge_removes_every_tombstone_and_keeps_live_objects(self, storage):
        self.make_tombstones(storage, 3)
        self.create(storage, id="live")
        assert storage.purge_deleted(self.resource_name, self.parent_id) == 3
        assert self.remaining(storage) == {"live"}

    def test_purge_of_an_unknown_list_removes_nothing(self, storage):
        assert storage.purge_deleted(self.resource_name, "/parents/none") == 0

    def test_purge_before_removes_strictly_older_tombstones(self, storage):
        tombstones = self.make_tombstones(storage, 4)
        before = tombstones[2]["last_modified"]
        assert storage.purge_deleted(self.resource_name, self.parent_id, before=before) == 2
        assert self.remaining(storage) == {"t2", "t3"}

    def test_purge_before_keeps_live_objects(self, storage):
        obj = self.create(storage, id="live")
        storage.purge_deleted(self.resource_name, self.parent_id, before=obj["last_modified"] + 1)
        assert self.remaining(storage) == {"live"}

    def test_purge_max_retained_keeps_the_most_recent_tombstones_per_list(self, storage):
        self.make_tombstones(storage, 4)
        self.make_tombstones(storage, 3, parent_id="/parents/other")
        removed = storage.purge_deleted(self.resource_name, "*", max_retained=2)
        assert removed == 3
        assert self.remaining(storage) == {"t2", "t3"}
        assert self.remaining(storage, parent_id="/parents/other") == {"t1", "t2"}

    def test_purge_max_retained_zero_removes_every_tombstone(self, storage):
        self.make_tombstones(storage, 2)
        assert storage.purge_deleted(self.resource_name, self.parent_id, max_retained=0) == 2
        assert self.remaining(storage) == set()

    def test_purge_with_parent_prefix_only_touches_matching_lists(self, storage):
        self.make_tombstones(storage, 2, parent_id="/p/1")
        self.make_tombstones(storage, 1, parent_id="/p/2")
        self.make_tombstones(storage, 1, parent_id="/q/1")
        assert storage.purge_deleted(self.resource_name, "/p/*") == 3
        assert self.remaining(storage, parent_id="/q/1") == {"t0"}

    def test_purge_only_touches_the_given_resource_name(self, storage):
        self.make_tombstones(storage, 1)
        storage.create("other", self.parent_id, {"id": "x"})
        storage.delete("other", self.parent_id, "x")
        storage.purge_deleted(self.resource_name, self.parent_id)
        assert ids(storage.list_all("other", self.parent_id, include_deleted=True)) == ["x"]

    def test_purge_does_not_change_the_list_timestamp(self, storage):
        tombstones = self.make_tombstones(storage, 2)
        storage.purge_deleted(self.resource_name, self.parent_id)
        assert self.timestamp(storage) == tombstones[-1]["last_modified"]

    def test_purge_with_before_and_max_retained_is_refused(self, storage):
        with pytest.raises(ValueError):
            storage.purge_deleted(self.resource_name, self.parent_id, before=1, max_retained=1)


class BackendTests(BaseStorageTest):
    def test_heartbeat_reports_a_working_backend(self, storage):
        assert storage.heartbeat() is True

    def test_initialize_schema_can_run_again(self, storage):
        self.create(storage, id="a")
        storage.initialize_schema()
        storage.initialize_schema(dry_run=True)
        assert self.list_ids(storage) == ["a"]

    def test_flush_removes_objects_and_tombstones(self, storage):
        self.create(storage, id="a")
        self.create(storage, id="b")
        storage.delete(self.resource_name, self.parent_id, "a")
        storage.flush()
        assert self.list_ids(storage, include_deleted=True) == []
        with pytest.raises(ObjectNotFoundError):
            storage.get(self.resource_name, self.parent_id, "b")
        self.create(storage, id="b")


class ConcurrencyTests(BaseStorageTest):
    threads = 8
    writes_per_thread = 25
    #: Repetitions of the compare-and-set contests.
    rounds = 10

    def run_concurrently(self, count: int, work: Callable[[int], Any]) -> list[Any]:
        """Run ``work(i)`` in ``count`` threads released together; return
        each result or the exception it raised."""
        barrier = threading.Barrier(count)
        results: list[Any] = [None] * count

        def target(i: int) -> None:
            barrier.wait()
            try:
                results[i] = work(i)
            except Exception as e:
                results[i] = e

        workers = [threading.Thread(target=target, args=(i,)) for i in range(count)]
        # Switch threads as often as possible, so that a missing lock shows.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        finally:
            sys.setswitchinterval(interval)
        return results

    def test_concurrent_writers_get_unique_increasing_timestamps(self, storage):
        def write(i: int) -> list[int]:
            return [self.create(storage)["last_modified"] for _ in range(self.writes_per_thread)]

        results = self.run_concurrently(self.threads, write)
        stamps = []
        for result in results:
            assert not isinstance(result, Exception), result
            assert result == sorted(result) and len(set(result)) == len(result)
            stamps.extend(result)
        assert len(set(stamps)) == self.threads * self.writes_per_thread
        assert self.timestamp(storage) == max(stamps)
        assert storage.count_all(self.resource_name, self.parent_id) == len(stamps)

    def test_concurrent_writes_are_listed_in_timestamp_order(self, storage):
        def write(i: int) -> list[str]:
            return [self.create(storage, n=i)["id"] for _ in range(self.writes_per_thread)]

        results = self.run_concurrently(self.threads, write)
        listed = storage.list_all(
            self.resource_name, self.parent_id, sorting=[Sort("last_modified", 1)]
        )
        for i, result in enumerate(results):
            assert [o["id"] for o in listed if o["n"] == i] == result

    def test_exactly_one_of_concurrent_conditional_updates_wins(self, storage):
        current = self.create(storage, id="a")
        for _ in range(self.rounds):
            expected = current["last_modified"]

            def update(i: int, expected: int = expected) -> dict:
                return storage.update(
                    self.resource_name, self.parent_id, "a", {"n": i}, if_match=expected
                )

            results = self.run_concurrently(self.threads, update)
            winners = [r for r in results if isinstance(r, dict)]
            losers = [r for r in results if isinstance(r, ModifiedMeanwhileError)]
            assert len(winners) == 1
            assert len(losers) == self.threads - 1
            current = storage.get(self.resource_name, self.parent_id, "a")
            assert current == winners[0]
            assert all(loser.existing["last_modified"] != expected for loser in losers)

    def test_exactly_one_of_concurrent_conditional_deletes_wins(self, storage):
        for round_ in range(self.rounds):
            obj = self.create(storage, id=f"a{round_}")

            def delete(i: int, obj: dict = obj) -> dict:
                return storage.delete(
                    self.resource_name, self.parent_id, obj["id"], if_match=obj["last_modified"]
                )

            results = self.run_concurrently(self.threads, delete)
            winners = [r for r in results if isinstance(r, dict)]
            assert len(winners) == 1
            others = (ModifiedMeanwhileError, ObjectNotFoundError)
            assert all(isinstance(r, others) for r in results if r is not winners[0])

    def test_exactly_one_of_concurrent_creations_of_an_id_wins(self, storage):
        for round_ in range(self.rounds):
            object_id = f"a{round_}"

            def create(i: int, object_id: str = object_id) -> dict:
                return self.create(storage, id=object_id, n=i)

            results = self.run_concurrently(self.threads, create)
            winners = [r for r in results if isinstance(r, dict)]
            assert len(winners) == 1
            assert all(isinstance(r, UnicityError) for r in results if r is not winners[0])
            assert storage.get(self.resource_name, self.parent_id, object_id) == winners[0]

    def test_reading_while_others_write_is_safe(self, storage):
        def work(i: int) -> int:
            if i % 2:
                for _ in range(self.writes_per_thread):
                    self.create(storage)
                return 0
            seen = 0
            for _ in range(self.writes_per_thread):
                seen = len(storage.list_all(self.resource_name, self.parent_id))
                storage.count_all(self.resource_name, self.parent_id)
            return seen

        results = self.run_concurrently(self.threads, work)
        assert not any(isinstance(r, Exception) for r in results)
        writers = self.threads // 2
        total = storage.count_all(self.resource_name, self.parent_id)
        assert total == writers * self.writes_per_thread


class StorageTest(
    CreateTests,
    GetTests,
    UpdateTests,
    DeleteTests,
    TimestampTests,
    ListTests,
    CountTests,
    FilterTests,
    SortingTests,
    PaginationTests,
    DeleteAllTests,
    PurgeTests,
    BackendTests,
    ConcurrencyTests,
):
    """The whole suite; subclass it and implement ``make_backend``."""
