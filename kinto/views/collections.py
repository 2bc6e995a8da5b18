"""Collections: ``/buckets/{bucket_id}/collections[/{id}]``.

Typed fields: ``schema`` (a JSON Schema) and ``cache_expires`` (seconds).
Deleting a collection hard-deletes its records (and their tombstones) and
the ACLs under it.
"""

from __future__ import annotations

from kinto.core.events import ACTIONS
from kinto.core.resource import Resource, register
from kinto.views import schemas


class Collection(Resource):
    name = "collection"
    plural_path = "/buckets/{bucket_id}/collections"
    object_path = "/buckets/{bucket_id}/collections/{id}"
    permissions = ("read", "write", "record:create")

    def process_object(self, new: dict, old: dict | None = None) -> dict:
        schemas.check_schema_field(new, "schema")
        schemas.check_integer_field(new, "cache_expires")
        if schemas.validation_enabled(self.options.settings):
            schemas.validate_with_bucket_schema(self, new, "collection:schema")
        return new

    def on_changed(self, action: ACTIONS, impacted: list[dict]) -> None:
        if action == ACTIONS.DELETE:
            registry = self.request.registry
            for change in impacted:
                delete_collection_children(registry, self.object_uri(change["old"]["id"]))


def delete_collection_children(registry, collection_uri: str) -> None:
    """Hard-delete the records of ``collection_uri`` and the ACLs under it."""
    registry.storage.delete_all("record", collection_uri, with_deleted=False)
    registry.permission.delete_object_permissions(f"{collection_uri}/*")


def includeme(config) -> None:
    register(config, Collection)
