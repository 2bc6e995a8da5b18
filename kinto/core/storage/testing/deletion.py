"""Deleting many objects and purging tombstones."""

from __future__ import annotations

import pytest

from kinto.core.storage import (
    Filter,
    Sort,
)
from kinto.core.storage.testing.base import (
    GT,
    MIN,
    BaseStorageTest,
    ids,
)


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
