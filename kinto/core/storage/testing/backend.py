"""Backend-wide behaviour and concurrent writers."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from kinto.core.storage import (
    ModifiedMeanwhileError,
    ObjectNotFoundError,
    Sort,
    UnicityError,
)
from kinto.core.storage.testing.base import (
    BaseStorageTest,
)


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
