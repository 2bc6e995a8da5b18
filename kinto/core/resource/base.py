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
from kinto.core.resource import caching, headers, preconditions, schema
from kinto.core.storage import ObjectNotFoundError
from kinto.core.storage.generators import Generator

_NOBODY: frozenset[str] = frozenset()


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
        #: ACL of the target object as read by the handler before a write
        #: (``None`` when not read); see :meth:`store_permissions`.
        self.acl: dict[str, set[str]] | None = None

    # Hooks.

    def get_parent_id(self) -> str:
        """Storage ``parent_id`` of the objects: the URI of the parent
        object (``""`` for top-level resources)."""
        return self.plural_uri.rsplit("/", 1)[0]

    def check_parent_exists(self, along: Any = None) -> None:
        """Raise 404 (errno 111) when the parent object is missing. No-op
        here. ``along``: the read of :meth:`parent_along`, which answers if
        it travelled.

        Plural handlers call it on every request (before authorization on
        writes, after it on reads). Object handlers call it only when the
        target object is missing: an existing object implies an existing
        parent, since deleting a parent deletes its children."""

    def parent_along(self) -> Any:
        """The read of the parent object as a
        :class:`kinto.core.sql.fast.Along` (``Storage.read_along``) to offer
        to an authorization, for :meth:`check_parent_exists`; None (the
        default) when there is none to offer."""
        return None

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

    #: The list timestamp when already read in this request (a hook may
    #: read it with the parent object in a request that writes nothing,
    #: see ``Storage.get_with_list_timestamp``); None otherwise.
    known_timestamp: int | None = None

    def read_parent_with_page(self, page: dict) -> tuple[bool, list | None]:
        """Read the parent object, the list timestamp (for :meth:`timestamp`)
        and the page that the listing arguments ``page`` select, together
        (see ``Storage.get_with_list_page``), in a request that writes
        nothing: ``(True, the page as Storage.list_all_json answers)``.
        ``(False, None)`` when the resource does not (the default): the
        parent and the page are then read apart."""
        return False, None

    def read_parent_with_page_along(self, page: dict) -> Any:
        """The read of :meth:`read_parent_with_page`, as a
        :class:`kinto.core.sql.fast.Along` (see ``Storage.page_along``) to
        offer to the authorization, or None (the default)."""
        return None

    def accept_parent_with_page(self, along: Any) -> tuple[bool, list | None] | None:
        """:meth:`read_parent_with_page`'s answer from ``along`` (from
        :meth:`read_parent_with_page_along`, travelled), for an authorized
        caller; None when it holds no page (then read it)."""
        raise NotImplementedError

    def timestamp(self) -> int:
        """Current timestamp of the list."""
        if self.known_timestamp is not None:
            return self.known_timestamp
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

    def store_permissions(
        self, uri: str, changes: dict[str, list] | None, fresh: bool = False
    ) -> dict[str, set[str]] | None:
        """Write the ACL of ``uri`` after a write: the permissions named in
        ``changes`` are replaced and the writer is added to ``write``
        (unless ``explicit_permissions`` is off).

        Returns the ACL after the write when it is known without reading it
        back, i.e. when ``changes`` names every permission of the resource
        or the handler read the ACL before (:attr:`acl`); then only what
        differs is written, in one call. Returns ``None`` otherwise.

        ``fresh`` tells that ``uri`` never had an ACE (an id the server just
        generated): only the non-empty entries are written, with nothing to
        remove first (one ``add_principal_to_ace`` for the writer alone).
        """
        writer = self.writer_principal() if self.options.explicit_permissions else None
        if fresh:
            return self._store_fresh_permissions(uri, changes or {}, writer)
        before = self.acl
        replaces_all = changes is not None and all(name in changes for name in self.permissions)
        if replaces_all:
            before = {}
        elif before is None:
            if changes:
                self.permission.replace_object_permissions(uri, changes)
            if writer is not None:
                self.permission.add_principal_to_ace(uri, "write", writer)
            return None
        after = {name: set(principals) for name, principals in before.items()}
        if changes:
            for name, principals in changes.items():
                after[name] = set(principals)
        if writer is not None:
            after.setdefault("write", set()).add(writer)
        if replaces_all:
            # Also empties stored entries left over from a previous object.
            writes = after
        else:
            writes = {name: p for name, p in after.items() if p != before.get(name, _NOBODY)}
        if writes:
            self.permission.replace_object_permissions(
                uri, {name: list(principals) for name, principals in writes.items()}
            )
        self.acl = {name: principals for name, principals in after.items() if principals}
        return self.acl

    def _store_fresh_permissions(
        self, uri: str, changes: dict[str, list], writer: str | None
    ) -> dict[str, set[str]]:
        after = {name: set(principals) for name, principals in changes.items() if principals}
        if writer is not None:
            after.setdefault("write", set()).add(writer)
        entries = [(name, principal) for name, holders in after.items() for principal in holders]
        if len(entries) == 1:
            self.permission.add_principal_to_ace(uri, *entries[0])
        elif entries:
            self.permission.replace_object_permissions(
                uri, {name: list(principals) for name, principals in after.items()}
            )
        self.acl = after
        return after

    def visible_permissions(
        self, uri: str, acl: dict[str, set[str]] | None = None
    ) -> dict[str, list[str]]:
        """The ACL of ``uri`` (``acl`` when known, else read) if the caller
        is in its own ``write`` ACL, else ``{}`` (resources.md §2.3)."""
        if acl is None:
            acl = self.permission.get_object_permissions(uri)
        writers = acl.get("write")
        if not writers or writers.isdisjoint(self.request.prefixed_principals):
            return {}
        return {name: sorted(principals) for name, principals in acl.items() if principals}

    # Preconditions.

    def check_preconditions(
        self,
        conditions: preconditions.Preconditions,
        kind: preconditions.Kind,
        timestamp: int | None,
        exists: bool = True,
        existing: dict | None = None,
    ) -> None:
        """:func:`~kinto.core.resource.preconditions.check`; a ``412`` about
        a missing object carries the list timestamp (querying.md §7.1)."""
        try:
            preconditions.check(self.request, conditions, kind, timestamp, exists, existing)
        except httpexceptions.HTTPPreconditionFailed as error:
            if timestamp is None:
                headers.set_timestamp(error, self.timestamp())
            raise

    # Responses.

    def respond(self, body: Any, timestamp: int | None = None, status: int = 200):
        """Render ``body`` as JSON on ``request.response`` (no body when
        ``body`` is None)."""
        response = self.request.response
        response.status_code = status
        response.body = b"" if body is None else jsonutil.dumps(body)
        changed = [("Content-Type", "application/json")]
        if timestamp is not None:
            changed += [
                ("ETag", headers.etag(timestamp)),
                ("Last-Modified", headers.http_date(timestamp)),
            ]
        headers.replace(response, changed)
        return response

    def set_cache_headers(self) -> None:
        request = self.request
        # Authenticated responses are never cacheable: skip the lookup.
        expires = None if request.prefixed_userid is not None else self.cache_expires()
        caching.set_cache_headers(request, request.response, expires)

    def notify(self, action: events.ACTIONS, timestamp: int, impacted: list) -> None:
        events.notify_resource_event(
            self.request, self.name, self.parent_id, timestamp, impacted, action
        )

    def json_body(self) -> Any:
        """The parsed request body (400 on invalid JSON or NUL characters)."""
        body = utils.json_body(self.request)
        schema.check_no_nul(self.request.body, body)
        return body
