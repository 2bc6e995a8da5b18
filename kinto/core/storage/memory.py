"""In-memory storage backend: fast, process-local, lost on restart.

Meant for tests and development. Safe under the threads of waitress: every
operation holds one lock while it reads or changes the store, so timestamps
are unique and increasing per list and ``if_match`` is an atomic
compare-and-set.

Decisions where the interface leaves room (the conformance suite in
:mod:`kinto.core.storage.testing` checks each one):

* ``limit=None`` means no limit; ``limit=0`` selects nothing.
* ``parent_id`` ending with ``*`` matches by prefix; a ``*`` anywhere else is
  a literal character.
* Every deletion, also with ``with_deleted=False``, assigns a fresh
  timestamp (carried by the returned tombstone even when it is not kept), so
  the list timestamp moves on: a list emptied by a cascade and re-created
  later gets timestamps newer than any ETag seen before.
* :meth:`Storage.delete_all` returns the tombstones in the order the objects
  were selected (``sorting``), each list's timestamps increasing along it.
* :meth:`Storage.purge_deleted` never changes list timestamps. Its
  ``before`` and ``max_retained`` are exclusive (``ValueError``); with
  neither, every tombstone goes.
* :meth:`Storage.update` of a missing object honours an integer
  ``last_modified`` as :meth:`Storage.create` does; ``if_match`` on a
  missing object raises ``ModifiedMeanwhileError(None)``, while
  :meth:`Storage.delete` of a missing object always raises
  ``ObjectNotFoundError`` (404 before 412).
* Filters and sorts are those of :mod:`kinto.core.storage.utils`: a dot in
  a field always means nesting, ``LIKE`` treats only ``*`` as a wildcard
  (``_`` and ``%`` are literal), a top-level empty array sorts before
  ``null`` as in PostgreSQL, and an empty ``pagination_rules`` list means
  no pagination.
* A forced ``last_modified`` in the past that equals the timestamp of
  another object or tombstone of the same list raises
  :class:`~kinto.core.storage.IntegrityError`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from pyramid.settings import asbool

from kinto.core.storage import (
    Filter,
    IntegrityError,
    ModifiedMeanwhileError,
    ObjectNotFoundError,
    PaginationRules,
    ReadonlyError,
    Sort,
    StorageBase,
    UnicityError,
)
from kinto.core.storage.generators import UUID4
from kinto.core.storage.utils import compile_filters, json_copy, sort_objects
from kinto.core.utils import msec_time


class _List:
    """One ``(resource_name, parent_id)`` list: live objects and tombstones
    by id, and the list timestamp (``None`` until first read or write).

    Stored dicts are never mutated once stored (writes replace them), so
    they can be read or copied outside the lock.
    """

    __slots__ = ("objects", "tombstones", "timestamp")

    def __init__(self) -> None:
        self.objects: dict[str, dict] = {}
        self.tombstones: dict[str, dict] = {}
        self.timestamp: int | None = None

    def timestamp_taken(self, field: str, timestamp: int, object_id: str) -> bool:
        """Whether an object or tombstone other than ``object_id`` already
        has ``timestamp`` (a scan: only used for forced past timestamps)."""
        for store in (self.objects, self.tombstones):
            for other_id, obj in store.items():
                if obj[field] == timestamp and other_id != object_id:
                    return True
        return False


class Storage(StorageBase):
    """Process-local storage (see the module docstring for its choices).

    With ``readonly``, a list that never had a timestamp cannot get one:
    :meth:`resource_timestamp` raises
    :class:`~kinto.core.storage.ReadonlyError`.
    """

    def __init__(self, readonly: bool = False) -> None:
        self.readonly = readonly
        self._lock = threading.Lock()
        # resource_name -> parent_id -> _List
        self._lists: dict[str, dict[str, _List]] = {}
        self._default_generator = UUID4()
        # Every stored object and tombstone has a string id and an integer
        # timestamp: sorts on them need no JSONB keys.
        self._native_fields = (self.id_field, self.modified_field)

    # Lists and timestamps (call with the lock held).

    def _list(self, resource_name: str, parent_id: str) -> _List | None:
        by_parent = self._lists.get(resource_name)
        return None if by_parent is None else by_parent.get(parent_id)

    def _list_for_write(self, resource_name: str, parent_id: str) -> _List:
        by_parent = self._lists.setdefault(resource_name, {})
        lst = by_parent.get(parent_id)
        if lst is None:
            lst = by_parent[parent_id] = _List()
        return lst

    def _matching(self, resource_name: str, parent_id: str) -> list[_List]:
        """The lists of ``resource_name`` under ``parent_id``, an exact id
        or a prefix followed by ``*``."""
        by_parent = self._lists.get(resource_name)
        if not by_parent:
            return []
        if parent_id.endswith("*"):
            prefix = parent_id[:-1]
            return [lst for pid, lst in by_parent.items() if pid.startswith(prefix)]
        lst = by_parent.get(parent_id)
        return [] if lst is None else [lst]

    def _assign_timestamp(self, lst: _List, object_id: str, forced: int | None = None) -> int:
        """Return the timestamp of a write in ``lst`` and move the list
        timestamp forward if needed.

        ``forced`` (already checked to be an integer the caller may honour)
        is used as is unless it equals the list timestamp; a value in the
        past must not collide with another object's. Otherwise the result is
        the current time, or the list timestamp + 1 if the clock has not
        advanced.
        """
        previous = lst.timestamp
        if forced is not None and forced != previous:
            if previous is None or forced > previous:
                lst.timestamp = forced
            elif lst.timestamp_taken(self.modified_field, forced, object_id):
                raise IntegrityError(
                    message=f"Timestamp {forced} is already used in this list",
                )
            return forced
        current = msec_time()
        if previous is not None and current <= previous:
            current = previous + 1
        lst.timestamp = current
        return current

    # StorageBase

    def initialize_schema(self, dry_run: bool = False) -> None:
        """Nothing to create."""

    def flush(self) -> None:
        with self._lock:
            self._lists.clear()

    def heartbeat(self) -> bool:
        return True

    def resource_timestamp(self, resource_name: str, parent_id: str) -> int:
        with self._lock:
            lst = self._list(resource_name, parent_id)
            if lst is not None and lst.timestamp is not None:
                return lst.timestamp
            if self.readonly:
                raise ReadonlyError(message="Cannot initialize empty resource timestamp")
            lst = self._list_for_write(resource_name, parent_id)
            lst.timestamp = msec_time()
            return lst.timestamp

    def create(
        self,
        resource_name: str,
        parent_id: str,
        obj: dict,
        id_generator: Callable[[], str] | None = None,
    ) -> dict:
        id_field, modified_field = self.id_field, self.modified_field
        obj = json_copy(obj)
        if id_field not in obj:
            obj[id_field] = (id_generator or self._default_generator)()
        object_id = obj[id_field]
        forced = _forced_timestamp(obj.get(modified_field))
        with self._lock:
            lst = self._list_for_write(resource_name, parent_id)
            existing = lst.objects.get(object_id)
            if existing is not None:
                raise UnicityError(id_field, json_copy(existing))
            obj[modified_field] = self._assign_timestamp(lst, object_id, forced)
            lst.tombstones.pop(object_id, None)
            lst.objects[object_id] = obj
        return json_copy(obj)

    def get(self, resource_name: str, parent_id: str, object_id: str) -> dict:
        with self._lock:
            lst = self._list(resource_name, parent_id)
            obj = None if lst is None else lst.objects.get(object_id)
        if obj is None:
            raise ObjectNotFoundError(message=f"Object {object_id!r} not found")
        return json_copy(obj)

    def update(
        self,
        resource_name: str,
        parent_id: str,
        object_id: str,
        obj: dict,
        if_match: int | None = None,
    ) -> dict:
        modified_field = self.modified_field
        obj = json_copy(obj)
        obj[self.id_field] = object_id
        forced = _forced_timestamp(obj.get(modified_field))
        with self._lock:
            lst = self._list_for_write(resource_name, parent_id)
            existing = lst.objects.get(object_id)
            if if_match is not None and (existing is None or existing[modified_field] != if_match):
                raise ModifiedMeanwhileError(None if existing is None else json_copy(existing))
            if forced is not None and existing is not None and forced <= existing[modified_field]:
                forced = None
            obj[modified_field] = self._assign_timestamp(lst, object_id, forced)
            lst.tombstones.pop(object_id, None)
            lst.objects[object_id] = obj
        return json_copy(obj)

    def delete(
        self,
        resource_name: str,
        parent_id: str,
        object_id: str,
        with_deleted: bool = True,
        last_modified: int | None = None,
        if_match: int | None = None,
    ) -> dict:
        modified_field = self.modified_field
        with self._lock:
            lst = self._list(resource_name, parent_id)
            existing = None if lst is None else lst.objects.get(object_id)
            if existing is None:
                raise ObjectNotFoundError(message=f"Object {object_id!r} not found")
            current = existing[modified_field]
            if if_match is not None and current != if_match:
                raise ModifiedMeanwhileError(json_copy(existing))
            forced = _forced_timestamp(last_modified)
            if forced is not None and forced <= current:
                forced = None
            tombstone = self._bury(lst, object_id, forced, with_deleted)
        return dict(tombstone)

    def _bury(self, lst: _List, object_id: str, forced: int | None, keep: bool) -> dict:
        """Remove a live object, returning its tombstone (kept if ``keep``)."""
        timestamp = self._assign_timestamp(lst, object_id, forced)
        del lst.objects[object_id]
        tombstone = {
            self.id_field: object_id,
            self.modified_field: timestamp,
            self.deleted_field: True,
        }
        if keep:
            lst.tombstones[object_id] = tombstone
        return tombstone

    def delete_all(
        self,
        resource_name: str,
        parent_id: str,
        filters: Iterable[Filter] | None = None,
        sorting: Iterable[Sort] | None = None,
        pagination_rules: PaginationRules | None = None,
        limit: int | None = None,
        with_deleted: bool = True,
    ) -> list[dict]:
        id_field = self.id_field
        matches = compile_filters(filters, pagination_rules, id_field, self.modified_field)
        tombstones = []
        with self._lock:
            lists = self._matching(resource_name, parent_id)
            owners: dict[int, _List] = {}
            selected = []
            for lst in lists:
                for obj in lst.objects.values():
                    if matches is None or matches(obj):
                        owners[id(obj)] = lst
                        selected.append(obj)
            sort_objects(selected, sorting, self._native_fields)
            if limit is not None:
                selected = selected[:limit]
            for obj in selected:
                lst = owners[id(obj)]
                tombstones.append(self._bury(lst, obj[id_field], None, with_deleted))
            if not with_deleted:
                for lst in lists:
                    lst.tombstones.clear()
        return [dict(t) for t in tombstones]

    def purge_deleted(
        self,
        resource_name: str,
        parent_id: str,
        before: int | None = None,
        max_retained: int | None = None,
    ) -> int:
        if before is not None and max_retained is not None:
            raise ValueError("'before' and 'max_retained' are exclusive")
        modified_field = self.modified_field
        removed = 0
        with self._lock:
            for lst in self._matching(resource_name, parent_id):
                tombstones = lst.tombstones
                if before is not None:
                    doomed = [k for k, t in tombstones.items() if t[modified_field] < before]
                elif max_retained is not None:
                    newest_first = sorted(
                        tombstones, key=lambda k: tombstones[k][modified_field], reverse=True
                    )
                    doomed = newest_first[max(max_retained, 0) :]
                else:
                    doomed = list(tombstones)
                for object_id in doomed:
                    del tombstones[object_id]
                removed += len(doomed)
        return removed

    def list_all(
        self,
        resource_name: str,
        parent_id: str,
        filters: Iterable[Filter] | None = None,
        sorting: Iterable[Sort] | None = None,
        pagination_rules: PaginationRules | None = None,
        limit: int | None = None,
        include_deleted: bool = False,
    ) -> list[dict]:
        matches = compile_filters(filters, pagination_rules, self.id_field, self.modified_field)
        # Stored dicts are never mutated in place: take references under the
        # lock, then filter, sort and copy the page without holding it.
        with self._lock:
            candidates: list[dict] = []
            for lst in self._matching(resource_name, parent_id):
                candidates.extend(lst.objects.values())
                if include_deleted:
                    candidates.extend(lst.tombstones.values())
        selected = candidates if matches is None else [o for o in candidates if matches(o)]
        sort_objects(selected, sorting, self._native_fields)
        if limit is not None:
            selected = selected[:limit]
        return [json_copy(obj) for obj in selected]

    def count_all(
        self,
        resource_name: str,
        parent_id: str,
        filters: Iterable[Filter] | None = None,
    ) -> int:
        matches = compile_filters(filters, None, self.id_field, self.modified_field)
        with self._lock:
            if matches is None:
                return sum(len(lst.objects) for lst in self._matching(resource_name, parent_id))
            candidates: list[dict] = []
            for lst in self._matching(resource_name, parent_id):
                candidates.extend(lst.objects.values())
        return sum(1 for obj in candidates if matches(obj))


def _forced_timestamp(value: Any) -> int | None:
    """A client-given ``last_modified`` is honoured only if it is an integer
    (booleans excluded)."""
    return value if type(value) is int else None


def load_from_config(config) -> Storage:
    """Build the backend from the Pyramid configurator's settings (only
    ``readonly`` is read)."""
    settings = config.get_settings()
    return Storage(readonly=asbool(settings.get("readonly", False)))
