"""The declaration and per-request state of a resource, and the helpers the
generic handlers (:mod:`~kinto.core.resource.plural`,
:mod:`~kinto.core.resource.objects`) share.

A resource class declares its storage ``name``, its two URL patterns and the
permission names its objects accept; subclasses customise behaviour through
the hooks (``check_parent_exists``, ``prepare_data``, ``process_object``,
``on_changed``, ``cache_expires``). One instance is built per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pyramid import httpexceptions

from kinto.core import errors, events, jsonutil, utils
from kinto.core.authentication import EVERYONE
from kinto.core.resource import caching, headers
from kinto.core.storage import ObjectNotFoundError
from kinto.core.storage.generators import Generator


@dataclass(frozen=True)
class ResourceOptions:
    """Settings a resource needs, read once per application at registration."""

    id_generator: Generator
    max_fetch_size: int
    paginate_by: int | None
    explicit_permissions: bool
    token_ttl: int
    cache_expires: int | None
    settings: dict


class ResourceBase:
    """Base of every resource; see the module documentation.

    Class attributes to declare:

    * ``name``: storage resource name and event ``resource_name``;
    * ``plural_path`` / ``object_path``: URL patterns relative to the API
      prefix (the object pattern ends with ``{id}``);
    * ``permissions``: permission names accepted in request bodies;
    * ``known_fields``: ``None`` for an open schema, else the first-level
      fields that filters, sorts and ``_fields`` may name.
    """

    name: ClassVar[str]
    plural_path: ClassVar[str]
    object_path: ClassVar[str]
    permissions: ClassVar[tuple[str, ...]] = ("read", "write")
    known_fields: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, request, options: ResourceOptions):
        self.request = request
        self.options = options
        registry = request.registry
        self.storage = registry.storage
        self.permission = registry.permission
        self.authorizer = registry.authorizer
        matchdict = request.matchdict or {}
        self.matchdict = matchdict
        self.plural_uri = self.plural_path.format_map(matchdict)
        self.parent_id = self.get_parent_id()
        self.object_id: str | None = matchdict.get("id")

    # Hooks.

    def get_parent_id(self) -> str:
        """Storage ``parent_id`` of the objects: the URI of the parent
        object (``""`` for top-level resources)."""
        return self.plural_uri.rsplit("/", 1)[0]

    def check_parent_exists(self) -> None:
        """Raise 404 (errno 111) when the parent object is missing. Called
        before authorization on writes, after it on reads. No-op here."""

    def prepare_data(self, data: dict) -> dict:
        """Complete the ``data`` of a ``POST``/``PUT`` body that has one
        (e.g. default values). Returns the data to store."""
        return data

    def process_object(self, new: dict, old: dict | None = None) -> dict:
        """Validate and complete an object before it is stored (typed fields).
        ``old`` is the stored object on updates. Raise the 400 error on
        invalid data."""
        return new

    def on_changed(self, action: events.ACTIONS, impacted: list[dict]) -> None:
        """Called after objects were written and their ACLs updated, with
        ``impacted`` as for events (cascades, membership sync...)."""

    def cache_expires(self) -> int | None:
        """Seconds anonymous clients may cache a ``GET`` response, or None."""
        return self.options.cache_expires

    # URIs.

    def object_uri(self, object_id: str) -> str:
        return f"{self.plural_uri}/{object_id}"

    # Storage helpers.

    def get_object(self, object_id: str) -> dict | None:
        try:
            return self.storage.get(self.name, self.parent_id, object_id)
        except ObjectNotFoundError:
            return None

    def timestamp(self) -> int:
        """Current timestamp of the list."""
        return self.storage.resource_timestamp(self.name, self.parent_id)

    def validate_object_id(self, object_id: Any) -> None:
        """400 ``path: Invalid object id`` unless the generator accepts it."""
        if not self.options.id_generator.match(object_id):
            raise errors.json_invalid_error(
                [{"location": "path", "description": "Invalid object id"}]
            )

    # Authorization helpers.

    def raise_not_found(self, object_id: str) -> None:
        raise errors.http_error(
            httpexceptions.HTTPNotFound(),
            errno=errors.ERRORS.INVALID_RESOURCE_ID,
            details={"id": object_id, "resource_name": self.name},
        )

    def writer_principal(self) -> str:
        return self.request.prefixed_userid or EVERYONE

    # Permissions.

    def store_permissions(self, uri: str, changes: dict[str, list] | None) -> None:
        """Replace the listed permissions of ``uri`` and add the writer to
        ``write`` (unless ``explicit_permissions`` is off)."""
        if changes:
            self.permission.replace_object_permissions(uri, changes)
        if self.options.explicit_permissions:
            self.permission.add_principal_to_ace(uri, "write", self.writer_principal())

    def visible_permissions(self, uri: str) -> dict[str, list[str]]:
        """The ACL of ``uri`` if the caller is in its own ``write`` ACL, else
        ``{}`` (resources.md §2.3)."""
        acl = self.permission.get_object_permissions(uri)
        writers = acl.get("write")
        if not writers or writers.isdisjoint(self.request.prefixed_principals):
            return {}
        return {name: sorted(principals) for name, principals in acl.items() if principals}

    # Responses.

    def respond(self, body: Any, timestamp: int | None = None, status: int = 200):
        """Render ``body`` as JSON on ``request.response`` (no body when
        ``body`` is None)."""
        response = self.request.response
        response.status_code = status
        response.content_type = "application/json"
        response.charset = None
        response.body = b"" if body is None else jsonutil.dumps(body)
        if timestamp is not None:
            headers.set_timestamp(response, timestamp)
        return response

    def set_cache_headers(self) -> None:
        caching.set_cache_headers(self.request, self.request.response, self.cache_expires())

    def notify(self, action: events.ACTIONS, timestamp: int, impacted: list) -> None:
        events.notify_resource_event(
            self.request, self.name, self.parent_id, timestamp, impacted, action
        )

    def json_body(self) -> Any:
        return utils.json_body(self.request)
