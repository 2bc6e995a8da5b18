"""Storage backends: the contract every backend implements.

Objects are JSON dicts stored per ``(resource_name, parent_id)`` list, e.g.
records of ``/buckets/b/collections/c`` are stored with
``resource_name="record"`` and ``parent_id="/buckets/b/collections/c"``.

Every object carries an ``id`` (string) and a ``last_modified`` (integer epoch
milliseconds). Within one list, ``last_modified`` values are unique and every
write receives a value strictly greater than the list's current timestamp
(see :meth:`StorageBase.resource_timestamp`). A deleted object leaves a
*tombstone* ``{"id": ..., "last_modified": ..., "deleted": True}``.

Comparison and ordering semantics of filters and sorts follow PostgreSQL
JSONB: ``null < string < number < boolean < array < object``, and a *missing*
field sorts after everything (last ascending, first descending).

The behaviour suite every backend must pass lives in
:mod:`kinto.core.storage.testing`.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterable
from typing import Any, NamedTuple

from kinto.core import jsonutil

DEFAULT_ID_FIELD = "id"
DEFAULT_MODIFIED_FIELD = "last_modified"
DEFAULT_DELETED_FIELD = "deleted"


class _Missing:
    """Sentinel for "the field is absent", distinct from JSON ``null``."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()


class COMPARISON(enum.StrEnum):
    """Filter operators; the value is the query-string prefix (``gt_x=1``)."""

    LT = "lt"
    MIN = "min"
    MAX = "max"
    NOT = "not"
    EQ = "eq"
    GT = "gt"
    IN = "in"
    EXCLUDE = "exclude"
    LIKE = "like"
    HAS = "has"
    CONTAINS = "contains"
    CONTAINS_ANY = "contains_any"


class Filter(NamedTuple):
    """One filter: ``field`` (dotted for nested keys) ``operator`` ``value``.

    Semantics (querying.md §2): ``NOT``, ``GT``, ``MIN`` and ``EXCLUDE`` match
    objects lacking the field; ``LT``, ``MAX``, ``IN``, ``LIKE``, ``EQ``,
    ``CONTAINS`` and ``CONTAINS_ANY`` never do. ``HAS`` with a truthy value
    matches objects having the field (JSON null counts as present), with a
    falsy value objects lacking it. ``LIKE`` is case-insensitive on the
    field's text form with ``*`` as wildcard (the value is already wrapped as
    ``*value*`` by the query parser when it had no ``*``). ``IN``/``EXCLUDE``
    take a list, ``CONTAINS``/``CONTAINS_ANY`` a list of JSON values.
    A filter whose value is :data:`MISSING` compares against absence:
    ``EQ MISSING`` = field absent, ``GT MISSING`` = never, ``LT MISSING`` =
    field present (used by pagination tokens).

    ``id`` compares as a string and ``last_modified`` as an integer.
    """

    field: str
    value: Any
    operator: COMPARISON


class Sort(NamedTuple):
    """Sort on ``field`` (dotted for nested keys); ``direction`` is 1 or -1."""

    field: str
    direction: int


#: Pagination rules are a list of alternatives (OR-ed); each alternative is a
#: list of filters (AND-ed). The resource layer builds them from a token.
PaginationRules = list[list[Filter]]


class RawObject(NamedTuple):
    """A listed object kept as the JSON text the backend holds, so that a
    response can include it without parsing and serialising it again
    (see :meth:`StorageBase.list_all_json`)."""

    id: str
    last_modified: int
    #: The whole object as a JSON object text, ``id`` and ``last_modified``
    #: included: what :meth:`load` returns, serialised.
    json: str

    def load(self) -> dict:
        """The object, parsed."""
        return jsonutil.loads(self.json)


class StorageError(Exception):
    """Base class of storage errors; ``original`` keeps the driver error."""

    def __init__(self, original: Exception | None = None, message: str | None = None):
        self.original = original
        if message is None and original is not None:
            message = f"{type(original).__name__}: {original}"
        super().__init__(message or "Storage error")


class BackendError(StorageError):
    """The backend failed or is unreachable (HTTP 503, errno 201)."""


class ReadonlyError(BackendError):
    """A write was needed on a read-only instance (HTTP 503, errno 201)."""


class ObjectNotFoundError(StorageError):
    """The object does not exist (tombstones count as missing)."""


class UnicityError(StorageError):
    """An object with this id already exists (``existing`` is that object)."""

    def __init__(self, field: str, existing: dict | None = None):
        self.field = field
        self.existing = existing
        super().__init__(message=f"Unicity constraint on {field!r} violated")


class ModifiedMeanwhileError(StorageError):
    """``if_match`` did not equal the stored timestamp (HTTP 412).

    ``existing`` is the current stored object, or ``None`` if it is gone.
    """

    def __init__(self, existing: dict | None = None):
        self.existing = existing
        super().__init__(message="Object was modified meanwhile")


class IntegrityError(StorageError):
    """A write violated an integrity constraint, e.g. a forced
    ``last_modified`` that collides with another object (HTTP 409, errno 122)."""


class StorageBase(abc.ABC):
    """Abstract storage backend.

    ``parent_id`` may end with ``*`` in :meth:`delete_all`, :meth:`list_all`,
    :meth:`count_all` and :meth:`purge_deleted` to match every parent id
    starting with the given prefix (used for cascading deletions).

    Every method may raise :class:`BackendError` when the backend fails.
    """

    id_field = DEFAULT_ID_FIELD
    modified_field = DEFAULT_MODIFIED_FIELD
    deleted_field = DEFAULT_DELETED_FIELD

    def initialize_schema(self, dry_run: bool = False) -> None:
        """Create or upgrade the backend's schema (no-op where none exists)."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Remove every object, tombstone and timestamp."""

    def heartbeat(self) -> bool:
        """Return True when the backend answers."""
        try:
            self.resource_timestamp("__heartbeat__", "")
        except Exception:
            return False
        return True

    @abc.abstractmethod
    def resource_timestamp(self, resource_name: str, parent_id: str) -> int:
        """Return the list timestamp: the highest ``last_modified`` of the
        list's objects and tombstones. A list that never held anything gets a
        fresh timestamp, kept stable until something is written (raises
        :class:`ReadonlyError` if it cannot be stored)."""

    @abc.abstractmethod
    def create(
        self,
        resource_name: str,
        parent_id: str,
        obj: dict,
        id_generator=None,
    ) -> dict:
        """Store a new object and return it with ``id`` and ``last_modified``.

        The id is ``obj["id"]`` if present, else ``id_generator()``. Raises
        :class:`UnicityError` if a live object has this id (a tombstone with
        the same id is replaced). ``obj["last_modified"]`` if an integer is
        honoured (replication, querying.md §7) unless it equals the current
        list timestamp; otherwise a fresh timestamp is assigned.
        """

    @abc.abstractmethod
    def get(self, resource_name: str, parent_id: str, object_id: str) -> dict:
        """Return the live object or raise :class:`ObjectNotFoundError`."""

    def read_along(self, resource_name: str, parent_id: str, object_id: str) -> Any:
        """A :class:`kinto.core.sql.fast.Along` reading what :meth:`get`
        answers (its ``result``: the object, or None when it is missing),
        for another backend on the same database to take along with its
        own statement; None (the default) when the backend has none."""
        return None

    def get_with_list_timestamp(
        self,
        resource_name: str,
        parent_id: str,
        object_id: str,
        list_resource_name: str,
        list_parent_id: str,
    ) -> tuple[dict, int]:
        """:meth:`get` the object and, read no later, the
        :meth:`resource_timestamp` of the list ``(list_resource_name,
        list_parent_id)`` (typically the object's children: a parent
        collection and its records). Raises :class:`ObjectNotFoundError`
        when the object is missing. Backends may answer both in one round
        trip; this default makes the two calls."""
        obj = self.get(resource_name, parent_id, object_id)
        return obj, self.resource_timestamp(list_resource_name, list_parent_id)

    def get_with_list_page(
        self,
        resource_name: str,
        parent_id: str,
        object_id: str,
        list_resource_name: str,
        list_parent_id: str,
        **page: Any,
    ) -> tuple[dict, int, list[RawObject] | None]:
        """:meth:`get_with_list_timestamp`, and what
        :meth:`list_all_json` answers for that list with the keyword
        arguments ``page`` (``filters``, ``sorting``...), read no earlier
        than the timestamp. Raises :class:`ObjectNotFoundError` when the
        object is missing. Backends may read the three in one round trip
        (then in one snapshot); this default makes the calls in turn."""
        obj, timestamp = self.get_with_list_timestamp(
            resource_name, parent_id, object_id, list_resource_name, list_parent_id
        )
        return obj, timestamp, self.list_all_json(list_resource_name, list_parent_id, **page)

    def page_along(
        self,
        resource_name: str,
        parent_id: str,
        object_id: str,
        list_resource_name: str,
        list_parent_id: str,
        **page: Any,
    ) -> Any:
        """A :class:`kinto.core.sql.fast.Along` reading what
        :meth:`get_with_list_page` answers, for another backend on the same
        database to take along with its own statement; once delivered, its
        ``result`` is a function returning that answer (or raising
        :class:`ObjectNotFoundError`), which does the parsing only when
        called, or None when the page was not read (its guard did not
        hold). None (the default) when the backend has none for this
        page."""
        return None

    @abc.abstractmethod
    def update(
        self,
        resource_name: str,
        parent_id: str,
        object_id: str,
        obj: dict,
        if_match: int | None = None,
    ) -> dict:
        """Replace (or create) the object ``object_id`` with ``obj``.

        A fresh timestamp is assigned unless ``obj["last_modified"]`` is an
        integer greater than the stored one. When ``if_match`` is given the
        write happens atomically only if the stored object exists and its
        ``last_modified`` equals ``if_match``; otherwise
        :class:`ModifiedMeanwhileError` is raised.
        """

    @abc.abstractmethod
    def delete(
        self,
        resource_name: str,
        parent_id: str,
        object_id: str,
        with_deleted: bool = True,
        last_modified: int | None = None,
        if_match: int | None = None,
    ) -> dict:
        """Delete the object and return its tombstone.

        ``with_deleted`` keeps a tombstone; ``last_modified`` forces its
        timestamp when greater than the object's current one. ``if_match``
        as in :meth:`update`. Raises :class:`ObjectNotFoundError`.
        """

    @abc.abstractmethod
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
        """Delete the matching live objects and return their tombstones
        (in ``sorting`` order, at most ``limit``). Without ``with_deleted``
        the objects and any existing tombstones of that list are purged."""

    @abc.abstractmethod
    def purge_deleted(
        self,
        resource_name: str,
        parent_id: str,
        before: int | None = None,
        max_retained: int | None = None,
    ) -> int:
        """Remove tombstones older than ``before``, or all but the
        ``max_retained`` most recent per ``(parent_id, resource_name)``;
        return how many were removed."""

    @abc.abstractmethod
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
        """Return the matching objects (tombstones too when
        ``include_deleted``), ordered by ``sorting``, at most ``limit``."""

    def list_all_json(
        self,
        resource_name: str,
        parent_id: str,
        filters: Iterable[Filter] | None = None,
        sorting: Iterable[Sort] | None = None,
        pagination_rules: PaginationRules | None = None,
        limit: int | None = None,
        include_deleted: bool = False,
    ) -> list[RawObject] | None:
        """:meth:`list_all`, each object as a :class:`RawObject` (the same
        objects in the same order, ``json`` parsing to what ``list_all``
        returns), when the backend holds objects as JSON text; ``None``
        when it does not (callers then use :meth:`list_all`)."""
        return None

    @abc.abstractmethod
    def count_all(
        self,
        resource_name: str,
        parent_id: str,
        filters: Iterable[Filter] | None = None,
    ) -> int:
        """Count the matching live objects (tombstones never count)."""
