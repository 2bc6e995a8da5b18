"""The storage conformance suite on the memory backend, plus what is
specific to it."""

from kinto.core.storage import memory
from kinto.core.storage.testing import StorageTest


class TestMemoryStorage(StorageTest):
    backend = memory
    settings = {}

    def test_readonly_setting_is_read_from_a_string(self):
        assert self.make_backend(readonly="true").readonly is True

    def test_backend_is_writable_by_default(self):
        assert self.make_backend().readonly is False

    def test_readonly_backend_returns_the_timestamp_of_a_list_that_has_one(self):
        backend = memory.Storage()
        obj = backend.create(self.resource_name, self.parent_id, {})
        backend.readonly = True
        assert (
            backend.resource_timestamp(self.resource_name, self.parent_id)
            == (obj["last_modified"])
        )
