"""``GET /buckets/{bid}/snapshot/collections/{cid}@{timestamp}``: the
records of a collection as they were at ``timestamp`` (plugins.md §3).

Records not modified since ``timestamp`` are taken as they are stored.
Each record modified (or deleted) after it is replaced by the state its
latest history entry at or before ``timestamp`` recorded, or dropped when
there is none (created later) or that entry is a deletion. Two storage
calls, whatever the size of the collection's history.
"""

from __future__ import annotations

from kinto.core import errors
from kinto.core.authorization import forbidden
from kinto.core.resource import negotiation
from kinto.core.services import Service
from kinto.core.storage import COMPARISON, Filter, Sort
from kinto.plugins.history.listener import RESOURCE_NAME

PATH = "/buckets/{bucket_id}/snapshot/collections/{collection_id:[^/@]+}@{timestamp}"


def parse_timestamp(raw: str) -> int:
    """400 unless ``raw`` is a non-negative integer."""
    if not (raw.isascii() and raw.isdigit()):
        errors.raise_invalid("path", "timestamp", "timestamp should be a positive integer")
    return int(raw)


def records_at(storage, bucket_uri: str, collection_id: str, timestamp: int) -> list[dict]:
    """The records of the collection at ``timestamp``, newest first."""
    modified, deleted = storage.modified_field, storage.deleted_field
    collection_uri = f"{bucket_uri}/collections/{collection_id}"
    state: dict[str, dict] = {}
    changed: list[str] = []
    for obj in storage.list_all("record", collection_uri, include_deleted=True):
        if obj[modified] > timestamp:
            changed.append(obj["id"])
        elif not obj.get(deleted):
            state[obj["id"]] = obj

    if changed:
        entries = storage.list_all(
            RESOURCE_NAME,
            bucket_uri,
            filters=[
                Filter("resource_name", "record", COMPARISON.EQ),
                Filter("collection_id", collection_id, COMPARISON.EQ),
                Filter("record_id", changed, COMPARISON.IN),
                Filter(f"target.data.{modified}", timestamp, COMPARISON.MAX),
            ],
            sorting=[Sort(modified, -1)],
        )
        seen: set[str] = set()
        for entry in entries:
            record_id = entry["record_id"]
            if record_id in seen:
                continue
            seen.add(record_id)
            if entry["action"] != "delete":
                state[record_id] = entry["target"]["data"]

    return sorted(state.values(), key=lambda obj: obj[modified], reverse=True)


def get_snapshot(request):
    negotiation.check_accept(request)
    matchdict = request.matchdict
    timestamp = parse_timestamp(matchdict["timestamp"])
    bucket_uri = f"/buckets/{matchdict['bucket_id']}"
    collection_id = matchdict["collection_id"]
    collection_uri = f"{bucket_uri}/collections/{collection_id}"
    registry = request.registry
    # Explicit ACEs of the bucket or of the collection only.
    granting = [
        (bucket_uri, "read"),
        (bucket_uri, "write"),
        (collection_uri, "read"),
        (collection_uri, "write"),
    ]
    if not registry.permission.check_permission(request.prefixed_principals, granting):
        raise forbidden(request)
    return {"data": records_at(registry.storage, bucket_uri, collection_id, timestamp)}


def register(config) -> Service:
    """Add the ``snapshot`` service (``GET`` only)."""
    service = Service(
        name="collection-snapshot",
        path=PATH,
        description="Records of a collection at a point in time",
        operation_ids={"GET": "get_collection_snapshot"},
    )
    service.add_view("GET", get_snapshot)
    config.add_cornice_service(service)
    return service
