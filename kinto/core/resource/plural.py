"""Handlers of plural endpoints: ``GET``/``HEAD``, ``POST``, ``DELETE``
(resources.md §2.1, querying.md, permissions.md §4)."""

from __future__ import annotations

from typing import Any

from orjson import Fragment
from pyramid import httpexceptions

from kinto.core import errors, events, jsonutil, utils
from kinto.core.authorization import forbidden
from kinto.core.events import ACTIONS
from kinto.core.resource import pagination, patch, preconditions, querystring, schema
from kinto.core.resource.preconditions import Kind
from kinto.core.storage import COMPARISON, Filter, UnicityError

_TO_ALERT = {
    "code": "soft-eol",
    "message": "_to is now deprecated, you should use _before instead",
}


class ListReaders:
    """Whether each user (by user id, None for anonymous) could read the
    whole of a list the last time it listed it, for at most ``size`` pairs
    (forgotten all at once when full). Only a guess of the next answer,
    deciding what is read ahead (:meth:`PluralViews.page_along`), never
    what is shown."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._readers: dict[tuple[str | None, str], bool] = {}

    @classmethod
    def of(cls, registry: Any) -> ListReaders:
        """The instance of the application's ``registry``."""
        readers = getattr(registry, "list_readers", None)
        if readers is None:
            readers = registry.list_readers = cls()
        return readers

    def may_read(self, userid: str | None, list_uri: str) -> bool:
        """False when ``userid`` could not read the whole list last time."""
        return self._readers.get((userid, list_uri), True)

    def remember(self, userid: str | None, list_uri: str, whole: bool) -> None:
        key = (userid, list_uri)
        if self._readers.get(key) is whole:
            return
        if len(self._readers) >= self.size:
            self._readers.clear()
        self._readers[key] = whole


class PluralViews:
    """Mixin of :class:`~kinto.core.resource.Resource` (needs the helpers of
    :class:`~kinto.core.resource.base.ResourceBase`)."""

    # Access.

    def plural_access(self, permission: str, along: Any = None) -> list[str] | None:
        """Ids the caller may see (``read``) or delete (``write``) in the
        list: ``None`` for the whole list, else the ids holding an object
        ACE. Without any, an empty list when the caller may create in the
        list, else 401/403. ``along``: see ``Authorizer.is_allowed`` (for
        the whole list)."""
        request, authorizer = self.request, self.authorizer
        if authorizer.is_allowed(request, permission, self.plural_uri, along):
            return None
        ids = authorizer.accessible_ids(request, permission, self.plural_uri)
        if ids:
            return ids
        authorizer.require(request, "create", self.plural_uri)
        return []

    def effective_limit(self, requested: int | None) -> int:
        """``_limit`` capped by ``paginate_by`` and ``storage_max_fetch_size``."""
        max_fetch = self.options.max_fetch_size
        paginate_by = self.options.paginate_by
        limit = requested or paginate_by or max_fetch
        if paginate_by:
            limit = min(limit, paginate_by)
        return min(limit, max_fetch)

    def list_query(self) -> querystring.ListQuery:
        return querystring.parse_list_query(self.request.GET, self.known_fields)

    def page_arguments(self, query, ids, limit, include_deleted, rules) -> dict:
        """The storage's listing arguments of one page (``limit + 1`` asked
        to know if more exist), ``ids`` (not empty) restricting it."""
        filters = query.filters
        if ids is not None:
            filters = [*filters, Filter(self.storage.id_field, ids, COMPARISON.IN)]
        return {
            "filters": filters,
            "sorting": query.sorting,
            "pagination_rules": rules,
            "limit": limit + 1,
            "include_deleted": include_deleted,
        }

    def fetch_page(self, query, ids, limit, include_deleted, rules, as_json=False):
        """One page of objects (see :meth:`page_arguments`); with
        ``as_json``, as the storage's :class:`~kinto.core.storage.RawObject`
        (``None`` when it has none)."""
        if ids is not None and not ids:
            return []
        list_all = self.storage.list_all_json if as_json else self.storage.list_all
        return list_all(
            self.name,
            self.parent_id,
            **self.page_arguments(query, ids, limit, include_deleted, rules),
        )

    def paging(self, query) -> tuple[list | None, int]:
        """``(pagination rules, offset)`` of the page ``_token`` asks for
        (400 when it is invalid)."""
        if not query.token:
            return None, 0
        token = pagination.decode_token(query.token)
        return pagination.pagination_rules(query.sorting, token.last_object), token.offset

    def prefetch_page(
        self, query, conditions, ids, limit, as_json: bool, along: Any = None
    ) -> tuple[bool, list]:
        """``(True, page)`` when the page of a plain ``GET`` was read
        together with the parent object (:meth:`read_parent_with_page`;
        ``page`` is None if the storage holds no JSON text), else ``(False,
        None)``: then the page is read after the preconditions are checked,
        as usual. Only where nothing can answer before the page is read (no
        precondition header, a valid token). ``along`` (from
        :meth:`page_along`) is used when it travelled with the authorization
        and the caller may read the whole list."""
        arguments = self._prefetchable(query, conditions, ids, limit, as_json)
        if arguments is None:
            return False, None
        if along is not None and along.travelled and ids is None:
            accepted = self.accept_parent_with_page(along)
            if accepted is not None:
                return accepted
        return self.read_parent_with_page(arguments)

    def page_along(self, query, conditions, limit, as_json: bool) -> Any:
        """The read of :meth:`prefetch_page` for a caller who may read the
        whole list, as a :class:`kinto.core.sql.fast.Along` to offer to its
        authorization (:meth:`read_parent_with_page_along`), or None. Not
        offered to a caller who could not read the whole list last time
        (see :class:`ListReaders`): it would only make the authorization
        statement longer."""
        arguments = self._prefetchable(query, conditions, None, limit, as_json)
        if arguments is None:
            return None
        request = self.request
        if not ListReaders.of(request.registry).may_read(request.prefixed_userid, self.plural_uri):
            return None
        return self.read_parent_with_page_along(arguments)

    def _prefetchable(self, query, conditions, ids, limit, as_json: bool) -> dict | None:
        """The page's listing arguments when :meth:`prefetch_page` may read
        it before the preconditions are checked, else None."""
        if not as_json or self.request.method != "GET" or ids == []:
            return None
        if conditions.if_match is not None or conditions.if_none_match is not None:
            return None
        try:
            rules, _ = self.paging(query)
        except httpexceptions.HTTPBadRequest:
            return None  # answered in its usual place
        return self.page_arguments(query, ids, limit, query.include_deleted, rules)

    def set_next_page(self, query, last: dict, limit: int, offset: int) -> str:
        token, nonce = pagination.encode_token(last, query.sorting, offset + limit + 1)
        self.request.response.headers["Next-Page"] = pagination.next_page_url(
            self.request, limit, token
        )
        return nonce

    # Handlers.

    def plural_get(self):
        """``GET``/``HEAD``: a page of the list, or its count for ``HEAD``."""
        request = self.request
        query = self.list_query()
        conditions = preconditions.parse(request)
        # Nothing looks into the objects: sent as the storage holds them.
        as_json = not query.fields and not events.is_listened(request.registry, ACTIONS.READ)
        limit = self.effective_limit(query.limit)
        along = self.page_along(query, conditions, limit, as_json)
        readers = ListReaders.of(request.registry)
        try:
            ids = self.plural_access("read", along)
        except httpexceptions.HTTPException:
            readers.remember(request.prefixed_userid, self.plural_uri, False)
            raise
        readers.remember(request.prefixed_userid, self.plural_uri, ids is None)
        prefetched, page = self.prefetch_page(query, conditions, ids, limit, as_json, along)
        self.check_parent_exists()
        timestamp = self.timestamp()
        self.check_preconditions(conditions, Kind.READ, timestamp)

        response = request.response
        self.set_cache_headers()
        if query.deprecated_to:
            alert = {**_TO_ALERT, "url": self.options.settings.get("project_docs")}
            response.headers["Alert"] = jsonutil.dumps_str(alert)

        if request.method == "HEAD":
            total = self.count(query, ids)
            response.headers["Total-Objects"] = response.headers["Total-Records"] = str(total)
            return self.respond(None, timestamp)

        rules, offset = self.paging(query)
        if as_json:
            if not prefetched:
                page = self.fetch_page(
                    query, ids, limit, query.include_deleted, rules, as_json=True
                )
            if page is not None:
                if len(page) > limit:
                    del page[limit:]
                    self.set_next_page(query, page[-1].load(), limit, offset)
                return self.respond({"data": [Fragment(obj.json) for obj in page]}, timestamp)
        objects = self.fetch_page(query, ids, limit, query.include_deleted, rules)
        if len(objects) > limit:
            del objects[limit:]
            self.set_next_page(query, objects[-1], limit, offset)
        if query.fields:
            objects = [project(obj, query.fields) for obj in objects]
        self.notify(ACTIONS.READ, timestamp, objects)
        return self.respond({"data": objects}, timestamp)

    def count(self, query, ids) -> int:
        if ids is not None:
            if not ids:
                return 0
            filters = [*query.filters, Filter(self.storage.id_field, ids, COMPARISON.IN)]
        else:
            filters = query.filters
        return self.storage.count_all(self.name, self.parent_id, filters=filters)

    def plural_post(self):
        """``POST``: create an object, or return the existing one (200) when
        ``data.id`` exists already."""
        request = self.request
        # On SQL backends the parent is read with the authorization (its
        # answer is only acted upon at its usual place, after the 404 and
        # 400 checks).
        along = self.parent_along()
        allowed = None
        if along is not None:
            allowed = self.authorizer.is_allowed(request, "create", self.plural_uri, along)
        self.check_parent_exists(along)
        envelope = schema.parse_envelope(self.json_body(), self.permissions)
        data = self.prepare_data(dict(envelope.data)) if envelope.data is not None else {}
        object_id = data.get("id")
        if "id" in data:
            self.validate_object_id(object_id)
        conditions = preconditions.parse(request)

        if object_id is not None:
            existing = self.get_object(object_id)
            if existing is not None:
                return self.post_existing(existing, conditions)

        if allowed is None:
            self.authorizer.require(request, "create", self.plural_uri)
        elif not allowed:
            raise forbidden(request)
        self.check_preconditions(conditions, Kind.CREATE_OR_REPLACE, None, exists=False)
        new = self.process_object(schema.clean_last_modified(data), None)
        # A new object: every permission is given, the stored ACL is not needed.
        changes = patch.replace_permissions(self.permissions, envelope.permissions or {})
        acl = None
        generate = None
        if object_id is None:
            # The id is chosen here so that the ACL is written before the
            # object: a write of the list holds the list's lock until the
            # transaction ends, so it comes last (a generated id has no ACE).
            object_id = self.options.id_generator()
            acl = self.store_permissions(self.object_uri(object_id), changes, fresh=True)
            # The storage applies it as a generated id (known to be new).
            generate = lambda: object_id  # noqa: E731
        try:
            obj = self.storage.create(self.name, self.parent_id, new, id_generator=generate)
        except UnicityError as e:
            if acl is not None:
                raise  # a generated id taken: 409, the transaction is aborted
            existing = e.existing or self.get_object(object_id)
            if existing is None:
                raise
            return self.post_existing(existing, conditions)

        uri = self.object_uri(obj["id"])
        if acl is None:
            acl = self.store_permissions(uri, changes)
        impacted = [{"new": obj}]
        self.on_changed(ACTIONS.CREATE, impacted)
        timestamp = obj[self.storage.modified_field]
        if "last_modified" in new:
            timestamp = self.timestamp()
        self.notify(ACTIONS.CREATE, timestamp, impacted)
        body = {"data": obj, "permissions": self.visible_permissions(uri, acl)}
        return self.respond(body, obj[self.storage.modified_field], status=201)

    def post_existing(self, existing: dict, conditions):
        """``POST`` of an existing id is a read of that object."""
        uri = self.object_uri(existing["id"])
        acl = self.authorizer.require_with_acl(self.request, "read", uri, self.permissions)
        current = existing[self.storage.modified_field]
        self.check_preconditions(conditions, Kind.CREATE_OR_REPLACE, current, existing=existing)
        self.notify(ACTIONS.READ, self.timestamp(), [existing])
        body = {"data": existing, "permissions": self.visible_permissions(uri, acl)}
        return self.respond(body, current)

    def plural_delete(self):
        """``DELETE``: delete a page of the (filtered) list; tokens of the
        next page are single-use."""
        request = self.request
        self.check_parent_exists()
        query = self.list_query()
        conditions = preconditions.parse(request)
        ids = self.plural_access("write")
        timestamp = self.timestamp()
        self.check_preconditions(conditions, Kind.MODIFY, timestamp)

        limit = self.effective_limit(query.limit)
        rules, offset = None, 0
        if query.token:
            token = pagination.decode_token(query.token)
            if token.nonce is None or request.registry.cache.delete(token.nonce) is None:
                errors.raise_invalid(
                    "querystring", None, "_token was already used or has expired."
                )
            rules = pagination.pagination_rules(query.sorting, token.last_object)
            offset = token.offset
        objects = self.fetch_page(query, ids, limit, False, rules)
        has_next = len(objects) > limit
        if has_next:
            del objects[limit:]

        tombstones = []
        impacted = []
        if objects:
            id_field = self.storage.id_field
            deleted = self.storage.delete_all(
                self.name,
                self.parent_id,
                filters=[Filter(id_field, [obj[id_field] for obj in objects], COMPARISON.IN)],
            )
            by_id = {tombstone[id_field]: tombstone for tombstone in deleted}
            for obj in objects:
                tombstone = by_id.get(obj[id_field])
                if tombstone is not None:
                    tombstones.append(tombstone)
                    impacted.append({"old": obj, "new": tombstone})
            if tombstones:
                self.permission.delete_object_permissions(
                    *(self.object_uri(t[id_field]) for t in tombstones)
                )
                timestamp = max(t[self.storage.modified_field] for t in tombstones)
                self.on_changed(ACTIONS.DELETE, impacted)
                self.notify(ACTIONS.DELETE, timestamp, impacted)

        if has_next:
            nonce = self.set_next_page(query, objects[-1], limit, offset)
            request.registry.cache.set(nonce, True, self.options.token_ttl)
        return self.respond({"data": tombstones}, timestamp)


def project(obj: dict, fields: list[str]) -> dict:
    """``_fields`` selection; ``id``, ``last_modified`` (and ``deleted`` of
    tombstones) are always kept."""
    selected = utils.dict_subset(obj, fields)
    for key in ("id", "last_modified", "deleted"):
        if key in obj:
            selected[key] = obj[key]
    return selected
