"""Records: ``/buckets/{bucket_id}/collections/{collection_id}/records[/{id}]``.

Every records URL requires the parent collection to exist (404, errno 111);
it is read only when needed (an existing record implies its collection).
Anonymous ``GET`` responses are cacheable per settings and the collection's
``cache_expires``. With schema validation on, records are validated against
the collection ``schema`` and the bucket ``record:schema``, and stamped
with the collection's ``last_modified`` in ``schema``.

Record routes keep the batch memo (:mod:`kinto.core.batch_memo`): a batch
of record requests reads the parent collection and asks list-level
authorization questions once.
"""

from __future__ import annotations

from typing import Any

from kinto.core import batch_memo
from kinto.core.resource import Resource, register
from kinto.core.resource.caching import setting_seconds
from kinto.core.storage import ObjectNotFoundError
from kinto.core.utils import SAFE_METHODS
from kinto.views import schemas


class Record(Resource):
    name = "record"
    plural_path = "/buckets/{bucket_id}/collections/{collection_id}/records"
    object_path = "/buckets/{bucket_id}/collections/{collection_id}/records/{id}"

    _collection: dict | None = None

    @property
    def collection(self) -> dict:
        """The parent collection, read once per request (404 errno 111 when
        it is missing), and once per batch while the batch memo holds (see
        :mod:`kinto.core.batch_memo`)."""
        if self._collection is None:
            bucket_id = self.matchdict["bucket_id"]
            collection_id = self.matchdict["collection_id"]
            uri = f"/buckets/{bucket_id}/collections/{collection_id}"
            memo = batch_memo.current(self.request)
            if memo is not None:
                self._collection = memo.recall_object(uri)
                if self._collection is not None:
                    return self._collection
            try:
                if self.request.method in SAFE_METHODS:
                    # Nothing is written: the records list timestamp is
                    # read with it (one round trip on SQL backends).
                    self._collection, timestamp = self.storage.get_with_list_timestamp(
                        "collection",
                        f"/buckets/{bucket_id}",
                        collection_id,
                        self.name,
                        self.parent_id,
                    )
                    self.known_timestamp = timestamp
                else:
                    self._collection = self.storage.get(
                        "collection", f"/buckets/{bucket_id}", collection_id
                    )
            except ObjectNotFoundError:
                raise schemas.missing_parent(collection_id, "collection") from None
            if memo is not None:
                memo.remember_object(uri, self._collection)
        return self._collection

    def read_parent_with_page(self, page: dict) -> tuple[bool, list | None]:
        """The collection, the records list timestamp and a page of records
        in one round trip on SQL backends (outside batches, whose memo may
        hold the collection already)."""
        if self._collection is not None or batch_memo.current(self.request) is not None:
            return False, None
        return self._parent_with_page(
            lambda: self.storage.get_with_list_page(*self._page_of(), **page)
        )

    def read_parent_with_page_along(self, page: dict) -> Any:
        if self._collection is not None or batch_memo.current(self.request) is not None:
            return None
        return self.storage.page_along(*self._page_of(), **page)

    def accept_parent_with_page(self, along: Any) -> tuple[bool, list | None] | None:
        return self._parent_with_page(along.result)

    def _page_of(self) -> tuple[str, str, str, str, str]:
        """The arguments of ``Storage.get_with_list_page`` naming the
        collection and its records."""
        bucket_uri = f"/buckets/{self.matchdict['bucket_id']}"
        return "collection", bucket_uri, self.matchdict["collection_id"], self.name, self.parent_id

    def _parent_with_page(self, read) -> tuple[bool, list | None] | None:
        try:
            answer = read()
        except ObjectNotFoundError:
            raise schemas.missing_parent(self.matchdict["collection_id"], "collection") from None
        if answer is None:
            return None
        self._collection, self.known_timestamp, objects = answer
        return True, objects

    def check_parent_exists(self, along: Any = None) -> None:
        if along is not None and along.travelled and self._collection is None:
            if along.result is None:
                raise schemas.missing_parent(self.matchdict["collection_id"], "collection")
            self._collection = along.result
            return
        self.collection  # noqa: B018 (raises when missing)

    def parent_along(self) -> Any:
        if self._collection is not None or batch_memo.current(self.request) is not None:
            return None
        bucket_uri = f"/buckets/{self.matchdict['bucket_id']}"
        return self.storage.read_along("collection", bucket_uri, self.matchdict["collection_id"])

    def process_object(self, new: dict, old: dict | None = None) -> dict:
        if not schemas.validation_enabled(self.options.settings):
            return new
        collection = self.collection
        schema = collection.get("schema")
        if isinstance(schema, dict):
            key = (self.parent_id, collection["last_modified"])
            schemas.validate_against(new, schema, key, ("schema",))
            new = {**new, "schema": collection["last_modified"]}
        schemas.validate_with_bucket_schema(self, new, "record:schema", ("schema",))
        return new

    def cache_expires(self) -> int | None:
        bid = self.matchdict["bucket_id"]
        cid = self.matchdict["collection_id"]
        seconds = setting_seconds(
            self.options.settings,
            f"{bid}.{cid}.record_cache_expires_seconds",
            f"{bid}.record_cache_expires_seconds",
            "record_cache_expires_seconds",
            f"{bid}_{cid}_record_cache_expires_seconds",
            f"{bid}_record_cache_expires_seconds",
        )
        collection_seconds = self.collection.get("cache_expires")
        if type(collection_seconds) is int:
            seconds = collection_seconds if seconds is None else max(seconds, collection_seconds)
        return seconds


def includeme(config) -> None:
    plural, single = register(config, Record)
    # Record writes touch only records and their own ACEs: a batch of them
    # keeps its memo of the parent collection and of list-level answers.
    batch_memo.keep_across(config, Record.name, (plural.name, single.name))
