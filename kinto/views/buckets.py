"""Buckets: ``/buckets`` and ``/buckets/{id}``.

Deleting a bucket hard-deletes its collections, groups and records (and
their tombstones), removes every ACL under it and the principals of its
groups; only the bucket's tombstone remains. No events for the children.
"""

from __future__ import annotations

from kinto.core.events import ACTIONS
from kinto.core.resource import Resource, register
from kinto.views import schemas
from kinto.views.groups import forget_group

SCHEMA_FIELDS = ("collection:schema", "group:schema", "record:schema")


class Bucket(Resource):
    name = "bucket"
    plural_path = "/buckets"
    object_path = "/buckets/{id}"
    permissions = ("read", "write", "collection:create", "group:create")

    def process_object(self, new: dict, old: dict | None = None) -> dict:
        for field in SCHEMA_FIELDS:
            schemas.check_schema_field(new, field)
        return new

    def on_changed(self, action: ACTIONS, impacted: list[dict]) -> None:
        if action == ACTIONS.DELETE:
            registry = self.request.registry
            for change in impacted:
                delete_bucket_children(registry, self.object_uri(change["old"]["id"]))


def delete_bucket_children(registry, bucket_uri: str) -> None:
    """Hard-delete everything stored under ``bucket_uri`` (see module doc)."""
    storage = registry.storage
    groups = storage.delete_all("group", bucket_uri, with_deleted=False)
    storage.delete_all("collection", bucket_uri, with_deleted=False)
    storage.delete_all("record", f"{bucket_uri}/*", with_deleted=False)
    registry.permission.delete_object_permissions(bucket_uri, f"{bucket_uri}/*")
    for group in groups:
        forget_group(registry.permission, f"{bucket_uri}/groups/{group['id']}")


def includeme(config) -> None:
    register(config, Bucket)
