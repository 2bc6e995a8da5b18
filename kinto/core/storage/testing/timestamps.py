"""List timestamps and forced ``last_modified`` values."""

from __future__ import annotations

import pytest

from kinto.core.storage import (
    IntegrityError,
    ReadonlyError,
    Sort,
)
from kinto.core.storage.testing.base import (
    BaseStorageTest,
)


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
