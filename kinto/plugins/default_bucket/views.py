"""The view behind ``/buckets/default`` and ``/buckets/default/{subpath}``.

1. Read-only mode → 405; anonymous → 401 (``OPTIONS`` preflights are
   answered by Cornice before reaching the view).
2. The personal bucket is created if missing (unless the request is a
   ``PUT`` of the bucket itself), and so is the collection when the subpath
   starts with ``collections/<cid>`` (unless it is a ``PUT`` of exactly that
   collection). An invalid collection id is a 400.
3. The request is forwarded to the real URL (:mod:`.forwarding`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyramid import httpexceptions

from kinto.core import errors
from kinto.core.authorization import forbidden
from kinto.core.storage.generators import Generator
from kinto.plugins.default_bucket import creation, forwarding
from kinto.plugins.default_bucket.ids import default_bucket_id

_COLLECTIONS = "collections/"


@dataclass(frozen=True)
class Options:
    """Settings read once at start-up."""

    secret: str
    explicit_permissions: bool
    collection_ids: Generator


def method_not_allowed():
    return errors.http_error(
        httpexceptions.HTTPMethodNotAllowed(),
        errno=errors.ERRORS.METHOD_NOT_ALLOWED,
        message="Method not allowed on this endpoint.",
    )


def collection_of(subpath: str) -> str | None:
    """``collections/c/records/r`` → ``c``; None when the subpath does not
    name a collection."""
    if not subpath.startswith(_COLLECTIONS):
        return None
    return subpath[len(_COLLECTIONS) :].split("/", 1)[0] or None


def make_view(options: Options):
    """The view, bound to the plugin's options."""

    def default_bucket(request):
        if request.registry.readonly:
            raise method_not_allowed()
        userid = request.prefixed_userid
        if userid is None:
            raise forbidden(request)

        bucket_id = default_bucket_id(options.secret, userid)
        subpath = request.matchdict.get("subpath", "")
        method = request.method
        collection_id = collection_of(subpath)
        if collection_id is not None and not options.collection_ids.match(collection_id):
            raise errors.json_invalid_error(
                [{"location": "path", "description": "Invalid object id"}]
            )

        explicit = options.explicit_permissions
        if not (method == "PUT" and not subpath):
            creation.ensure_bucket(request, bucket_id, explicit)
        if collection_id is not None and not (
            method == "PUT" and subpath == _COLLECTIONS + collection_id
        ):
            creation.ensure_collection(request, bucket_id, collection_id, explicit)

        response = forwarding.forward(request, bucket_id, rewrite_id=not subpath)
        if method == "DELETE":
            creation.forget_known_objects(request)
        return response

    return default_bucket
