"""The history recorder: a :class:`~kinto.core.events.ResourceChanged`
subscriber writing one entry per changed bucket, group, collection or
record, inside the request's transaction (plugins.md §3).

Entries are stored as resource ``history`` under ``/buckets/<bid>``. Each
one holds the new object (the tombstone for a deletion) and the object's
ACL at that time in ``target``; its own ``read`` ACL is the union of the
readers and writers of the bucket, of the collection (records) and of the
object, computed when it is written.

Per event, the ACLs involved are read with one permission backend call;
the objects come from the event (never re-read). Deleting a bucket deletes
its history instead of recording anything.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable

from kinto.core.storage import COMPARISON, Filter, Sort
from kinto.plugins.history.options import HistoryOptions

RESOURCE_NAME = "history"
TRACKED_RESOURCES = ("bucket", "group", "collection", "record")


def history_uri(bucket_uri: str) -> str:
    """URI of the history list of a bucket (its entries are ``<uri>/<id>``)."""
    return f"{bucket_uri}/history"


def locate(resource_name: str, payload: dict, object_id: str) -> tuple[str, str, dict, tuple]:
    """Where a changed object lives: ``(bucket URI, object URI, ids for
    the entry, URIs whose readers and writers may read the entry)``."""
    if resource_name == "bucket":
        uri = f"/buckets/{object_id}"
        return uri, uri, {"bucket_id": object_id}, (uri,)
    bucket_uri = f"/buckets/{payload['bucket_id']}"
    if resource_name == "record":
        collection_id = payload["collection_id"]
        collection_uri = f"{bucket_uri}/collections/{collection_id}"
        uri = f"{collection_uri}/records/{object_id}"
        ids = {"collection_id": collection_id, "record_id": object_id}
        return bucket_uri, uri, ids, (bucket_uri, collection_uri, uri)
    uri = f"{bucket_uri}/{resource_name}s/{object_id}"
    return bucket_uri, uri, {f"{resource_name}_id": object_id}, (bucket_uri, uri)


class HistoryRecorder:
    """Callable subscriber (see module documentation)."""

    def __init__(self, options: HistoryOptions):
        self.options = options

    def __call__(self, event) -> None:
        payload = event.payload
        resource_name = payload["resource_name"]
        action = payload["action"]
        registry = event.request.registry
        if resource_name == "bucket" and action == "delete":
            buckets = (f"/buckets/{change['new']['id']}" for change in event.impacted_objects)
            self.forget_buckets(registry, buckets)
            return
        user_id = payload.get("user_id")
        if user_id in self.options.excluded_user_ids:
            return

        pending = []
        is_excluded = self.options.is_excluded
        for change in event.impacted_objects:
            target = change["new"]
            bucket_uri, uri, ids, readable_from = locate(resource_name, payload, target["id"])
            if not is_excluded(uri):
                pending.append((bucket_uri, uri, ids, readable_from, target))
        if not pending:
            return
        self.record(registry, action, resource_name, user_id, pending)

    def record(self, registry, action: str, resource_name: str, user_id, pending: list) -> None:
        storage, permission = registry.storage, registry.permission
        uris = list({uri: None for item in pending for uri in item[3]})
        acls = dict(zip(uris, permission.get_objects_permissions(uris), strict=True))
        date = datetime.datetime.now(datetime.UTC).isoformat()
        explicit = self.options.explicit_permissions
        buckets = {}
        for bucket_uri, uri, ids, readable_from, target in pending:
            entry_id = str(uuid.uuid4())
            acl = acls[uri]
            entry = {
                "id": entry_id,
                "action": action,
                "resource_name": resource_name,
                "uri": uri,
                "user_id": user_id,
                "date": date,
                **ids,
                "target": {
                    "data": target,
                    "permissions": {name: sorted(principals) for name, principals in acl.items()},
                },
            }
            storage.create(RESOURCE_NAME, bucket_uri, entry)
            if explicit:
                readers: set[str] = set()
                for source in readable_from:
                    source_acl = acls[source]
                    readers.update(source_acl.get("read", ()), source_acl.get("write", ()))
                if readers:
                    permission.replace_object_permissions(
                        f"{history_uri(bucket_uri)}/{entry_id}", {"read": sorted(readers)}
                    )
            buckets[bucket_uri] = None
        if self.options.trims:
            for bucket_uri in buckets:
                self.trim(registry, bucket_uri, resource_name, user_id)

    def trim(self, registry, bucket_uri: str, resource_name: str, user_id) -> None:
        """Keep the newest ``trim_max_count`` entries of ``resource_name`` in
        the bucket (per user among ``trim_user_ids`` when that list is set;
        other users' entries are then never trimmed). Trimming happens only
        when ``trim_threshold`` extra entries have accumulated, so that it
        runs once in a while rather than on every change."""
        options = self.options
        filters = [Filter("resource_name", resource_name, COMPARISON.EQ)]
        if options.trim_user_ids:
            if user_id not in options.trim_user_ids:
                return
            filters.append(Filter("user_id", user_id, COMPARISON.EQ))
        storage = registry.storage
        count = storage.count_all(RESOURCE_NAME, bucket_uri, filters=filters)
        if count <= options.trim_max_count + options.trim_threshold:
            return
        removed = storage.delete_all(
            RESOURCE_NAME,
            bucket_uri,
            filters=filters,
            sorting=[Sort(storage.modified_field, 1)],
            limit=count - options.trim_max_count,
            with_deleted=False,
        )
        if removed:
            prefix = history_uri(bucket_uri)
            registry.permission.delete_object_permissions(
                *(f"{prefix}/{entry['id']}" for entry in removed)
            )

    @staticmethod
    def forget_buckets(registry, bucket_uris: Iterable[str]) -> None:
        """Delete the history of deleted buckets (entries, tombstones, ACLs)."""
        for bucket_uri in bucket_uris:
            registry.storage.delete_all(RESOURCE_NAME, bucket_uri, with_deleted=False)
            registry.permission.delete_object_permissions(f"{history_uri(bucket_uri)}/*")
