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

from kinto.core.storage.testing.backend import BackendTests, ConcurrencyTests
from kinto.core.storage.testing.base import BaseStorageTest
from kinto.core.storage.testing.deletion import DeleteAllTests, PurgeTests
from kinto.core.storage.testing.queries import (
    CountTests,
    FilterTests,
    GetWithListPageTests,
    JSONListTests,
    ListTests,
    PaginationTests,
    SortingTests,
)
from kinto.core.storage.testing.timestamps import TimestampTests
from kinto.core.storage.testing.writes import (
    CreateTests,
    DeleteTests,
    GetTests,
    GetWithListTimestampTests,
    UpdateTests,
)

__all__ = ["BaseStorageTest", "StorageTest"]


class StorageTest(
    CreateTests,
    GetTests,
    GetWithListTimestampTests,
    UpdateTests,
    DeleteTests,
    TimestampTests,
    ListTests,
    JSONListTests,
    GetWithListPageTests,
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
