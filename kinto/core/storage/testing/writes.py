"""Creating, reading, updating and deleting one object."""

from __future__ import annotations

import pytest

from kinto.core.storage import (
    ModifiedMeanwhileError,
    ObjectNotFoundError,
    UnicityError,
)
from kinto.core.storage.testing.base import (
    BaseStorageTest,
)


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


class GetWithListTimestampTests(BaseStorageTest):
    """``get_with_list_timestamp``: the object and its children's list
    timestamp, as ``get`` and ``resource_timestamp`` would give them."""

    CHILDREN = "child"

    def children_of(self, object_id: str) -> str:
        return f"{self.parent_id}/{self.resource_name}s/{object_id}"

    def read(self, storage, object_id: str) -> tuple[dict, int]:
        return storage.get_with_list_timestamp(
            self.resource_name,
            self.parent_id,
            object_id,
            self.CHILDREN,
            self.children_of(object_id),
        )

    def test_gives_the_object_and_the_timestamp_of_its_children(self, storage):
        parent = self.create(storage, id="a", title="x")
        child = storage.create(self.CHILDREN, self.children_of("a"), {"n": 1})
        obj, timestamp = self.read(storage, "a")
        assert obj == parent
        assert timestamp == child["last_modified"]
        assert timestamp == storage.resource_timestamp(self.CHILDREN, self.children_of("a"))

    def test_timestamp_of_a_list_never_written_is_the_one_resource_timestamp_gives(self, storage):
        self.create(storage, id="a")
        _, timestamp = self.read(storage, "a")
        assert timestamp == storage.resource_timestamp(self.CHILDREN, self.children_of("a"))

    def test_missing_or_deleted_object_raises_not_found(self, storage):
        self.create(storage, id="a")
        storage.delete(self.resource_name, self.parent_id, "a")
        for object_id in ("a", "unknown"):
            with pytest.raises(ObjectNotFoundError):
                self.read(storage, object_id)


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
