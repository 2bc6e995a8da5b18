"""``DELETE /__user_data__/{principal}``: forget a user (plugins.md §11).

Allowed to the principals of the ``user-data_delete_principals`` setting
only (nobody by default). For the given principal:

1. every object whose ``write`` ACL is exactly that principal is deleted,
   through an internal ``DELETE`` of its URL, so that each resource
   cascades and emits its delete events as usual (an object under another
   deleted object goes with its parent, without an event of its own);
2. the principal is removed from every other ACE;
3. the principal is removed from the ``members`` of every group (one
   ``update`` event per group list).

The internal requests run in the transaction of this request, with its
events, as the caller with the principal added to the caller's
principals (which is what allows deleting the principal's objects).
The response is ``200 {"data": {"principal": <principal>}}``.
"""

from __future__ import annotations

from urllib.parse import quote

from pyramid import httpexceptions
from pyramid.settings import aslist

from kinto.core import events
from kinto.core.authentication import IDENTITY_ENVIRON_KEY, Identity
from kinto.core.authorization import forbidden
from kinto.core.request import Request
from kinto.core.services import Service
from kinto.core.storage import ObjectNotFoundError

SETTING = "user-data_delete_principals"
#: Environ keys the internal requests share with this request.
_SHARED_ENVIRON_KEYS = ("REMOTE_ADDR", "tm.active", "tm.manager", "kinto.request_id")
_SAFE_PATH_CHARS = "/:@+!$&'()*,;=~"
#: Answers of an internal ``DELETE`` meaning the object is gone or cannot
#: be deleted by URL: only its ACL is removed.
_GONE_STATUSES = (404, 405)


def delete_user_data(request) -> dict:
    registry = request.registry
    if registry.user_data_deleters.isdisjoint(request.prefixed_principals):
        raise forbidden(request)
    principal = request.matchdict["principal"]
    permission = registry.permission

    held = permission.get_accessible_objects([principal])
    written = [uri for uri, names in held.items() if "write" in names]
    acls = permission.get_objects_permissions(written, ["write"]) if written else []
    doomed = {
        uri for uri, acl in zip(written, acls, strict=True) if acl.get("write") == {principal}
    }
    roots = sorted(uri for uri in doomed if not _has_ancestor_in(uri, doomed))

    for uri in roots:
        _delete_object(request, principal, uri)
    for uri, names in held.items():
        if uri in doomed:
            continue
        for name in names:
            permission.remove_principal_from_ace(uri, name, principal)
    _leave_groups(request, principal)
    return {"data": {"principal": principal}}


def _has_ancestor_in(uri: str, uris: set[str]) -> bool:
    """``/buckets/b/collections/c`` has the ancestor ``/buckets/b``."""
    segments = uri.split("/")
    return any("/".join(segments[:end]) in uris for end in range(3, len(segments), 2))


def _delete_object(request, principal: str, uri: str) -> None:
    """``DELETE`` ``uri`` through its resource; an object that is gone
    (or an URI without endpoint) only loses its ACL."""
    path = quote(f"/{request.registry.route_prefix}{uri}", safe=_SAFE_PATH_CHARS)
    subrequest = Request.blank(path, base_url=request.application_url)
    subrequest.method = "DELETE"
    environ = request.environ
    subrequest.environ.update(
        {key: environ[key] for key in _SHARED_ENVIRON_KEYS if key in environ}
    )
    principals = tuple(dict.fromkeys((*request.prefixed_principals, principal)))
    subrequest.environ[IDENTITY_ENVIRON_KEY] = Identity(
        request.prefixed_userid, principals, request.authn_type, principals
    )
    subrequest.bound_data = request.bound_data
    subrequest.parent = request
    try:
        response = request.invoke_subrequest(subrequest, use_tweens=False)
    except httpexceptions.HTTPException as exc:
        response = exc
    status = response.status_code
    if status in _GONE_STATUSES:
        request.registry.permission.delete_object_permissions(uri)
    elif status >= 400:
        raise response if isinstance(response, httpexceptions.HTTPException) else _failed(uri)


def _failed(uri: str) -> httpexceptions.HTTPException:
    return httpexceptions.HTTPInternalServerError(f"Could not delete {uri}")


def _leave_groups(request, principal: str) -> None:
    """Remove ``principal`` from the members of its groups."""
    registry = request.registry
    storage, permission = registry.storage, registry.permission
    for group_uri in sorted(permission.get_user_principals(principal)):
        permission.remove_user_principal(principal, group_uri)
        bucket_uri, _, group_id = group_uri.rpartition("/groups/")
        if not bucket_uri.startswith("/buckets/"):
            continue
        try:
            group = storage.get("group", bucket_uri, group_id)
        except ObjectNotFoundError:
            continue
        members = group.get("members") or []
        if principal not in members:
            continue
        changes = {key: value for key, value in group.items() if key != storage.modified_field}
        changes["members"] = [member for member in members if member != principal]
        updated = storage.update("group", bucket_uri, group_id, changes)
        events.notify_resource_event(
            request,
            "group",
            bucket_uri,
            updated[storage.modified_field],
            [{"old": group, "new": updated}],
            events.ACTIONS.UPDATE,
            uri=group_uri,
            matchdict={"bucket_id": bucket_uri.rpartition("/")[2], "id": group_id},
        )


def includeme(config) -> None:
    """Register ``DELETE /__user_data__/{principal}``; the deleters are read
    from settings once."""
    settings = config.get_settings()
    config.registry.user_data_deleters = frozenset(aslist(settings.get(SETTING) or ""))
    service = Service(
        name="user-data",
        path="/__user_data__/{principal:.+}",
        description="Delete the data of a user",
        operation_ids={"DELETE": "delete_user_data"},
    )
    service.add_view("DELETE", delete_user_data)
    config.add_cornice_service(service)
