"""Implicit creation of the personal bucket and of its collections.

Objects are created as a ``PUT`` of their URL would (the user is added to
their ``write`` ACL unless ``explicit_permissions`` is off, and a ``create``
event is notified with the object URL as ``uri``), without authorization:
the bucket belongs to the user.

What was found existing is remembered in ``request.bound_data``, shared by
a batch and its subrequests, so that a batch checks each object once. What
a request creates is not: a batch subrequest that fails has its writes
rolled back (its savepoint), implicit creations included, so the next
subrequest reads again (and creates again if needed).
"""

from __future__ import annotations

from kinto.core import events
from kinto.core.events import ACTIONS
from kinto.core.storage import ObjectNotFoundError, UnicityError

#: Key in ``request.bound_data``: URIs of objects known to exist.
KNOWN_KEY = "default_bucket.known"


def known_objects(request) -> set[str]:
    return request.bound_data.setdefault(KNOWN_KEY, set())


def forget_known_objects(request) -> None:
    """Forget what exists (after a deletion, the next access re-checks)."""
    request.bound_data.pop(KNOWN_KEY, None)


def ensure_bucket(request, bucket_id: str, explicit_permissions: bool) -> None:
    """Create the bucket ``bucket_id`` if missing."""
    _ensure(
        request,
        resource_name="bucket",
        parent_id="",
        object_id=bucket_id,
        matchdict={"id": bucket_id},
        explicit_permissions=explicit_permissions,
    )


def ensure_collection(
    request, bucket_id: str, collection_id: str, explicit_permissions: bool
) -> None:
    """Create the collection ``collection_id`` of the (existing) bucket
    ``bucket_id`` if missing."""
    _ensure(
        request,
        resource_name="collection",
        parent_id=f"/buckets/{bucket_id}",
        object_id=collection_id,
        matchdict={"bucket_id": bucket_id, "id": collection_id},
        explicit_permissions=explicit_permissions,
    )


def _ensure(
    request,
    resource_name: str,
    parent_id: str,
    object_id: str,
    matchdict: dict[str, str],
    explicit_permissions: bool,
) -> None:
    uri = f"{parent_id}/{resource_name}s/{object_id}"
    known = known_objects(request)
    if uri in known:
        return
    storage = request.registry.storage
    try:
        storage.get(resource_name, parent_id, object_id)
        known.add(uri)
    except ObjectNotFoundError:
        try:
            created = storage.create(resource_name, parent_id, {"id": object_id})
        except UnicityError:
            pass  # Created meanwhile by a concurrent request.
        else:
            if explicit_permissions:
                request.registry.permission.add_principal_to_ace(
                    uri, "write", request.prefixed_userid
                )
            events.notify_resource_event(
                request,
                resource_name,
                parent_id,
                created[storage.modified_field],
                [{"new": created}],
                ACTIONS.CREATE,
                uri=uri,
                matchdict=matchdict,
            )
