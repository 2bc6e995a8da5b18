"""Handlers of object endpoints: ``GET``/``HEAD``, ``PUT``, ``PATCH``,
``DELETE`` (resources.md §2.2, querying.md §8, permissions.md §4)."""

from __future__ import annotations

import re

from kinto.core import errors
from kinto.core.events import ACTIONS
from kinto.core.resource import negotiation, patch, preconditions, querystring, schema
from kinto.core.resource.plural import project
from kinto.core.resource.preconditions import ANY, Kind
from kinto.core.storage import ModifiedMeanwhileError, ObjectNotFoundError, UnicityError

RESPONSE_BEHAVIORS = ("full", "light", "diff")
_ABSENT = object()
_QUOTED_DIGITS = re.compile(r'^"?(\d+)"?$')


class ObjectViews:
    """Mixin of :class:`~kinto.core.resource.Resource` (needs the helpers of
    :class:`~kinto.core.resource.base.ResourceBase`)."""

    def existing_or_parent(self, object_id: str) -> dict | None:
        """The object to write, or ``None`` once its parent is known to
        exist (see :meth:`check_parent_exists`)."""
        existing = self.get_object(object_id)
        if existing is None:
            self.check_parent_exists()
        return existing

    def require_existing(self, existing: dict | None, object_id: str) -> dict:
        """The object to modify; when missing, 404 if the caller may read
        the list, else 401/403 (permissions.md §4)."""
        if existing is None:
            if not self.authorizer.is_allowed(self.request, "read", self.plural_uri):
                self.authorizer.require(self.request, "write", self.object_uri(object_id))
            self.raise_not_found(object_id)
        return existing

    def check_body_id(self, data: dict | None, object_id: str) -> None:
        if data is not None and "id" in data and data["id"] != object_id:
            errors.raise_invalid("body", "id", "Object id does not match existing object")

    def object_response(self, obj: dict, uri: str, acl=None, status: int = 200):
        """``{"data", "permissions"}`` with the timestamp headers; ``acl``
        is the object's ACL when already known."""
        body = {"data": obj, "permissions": self.visible_permissions(uri, acl)}
        return self.respond(body, obj[self.storage.modified_field], status=status)

    def conflict(self, existing: dict | None):
        """The 412 of a write that lost a race: the current object, or the
        list timestamp when the object is gone."""
        if existing is None:
            return preconditions.precondition_failed(self.timestamp())
        return preconditions.precondition_failed(existing[self.storage.modified_field], existing)

    # Handlers.

    def object_get(self):
        """``GET``/``HEAD``: the object (``_fields`` drops ``permissions``)."""
        request = self.request
        object_id = self.object_id
        self.validate_object_id(object_id)
        fields_param = request.GET.get("_fields")
        fields = (
            querystring.parse_fields(fields_param, self.known_fields) if fields_param else None
        )
        conditions = preconditions.parse(request)
        uri = self.object_uri(object_id)
        acl = along = None
        if fields:
            self.authorizer.require(request, "read", uri)
        else:  # the ACL is shown: read it with the authorization
            along = self.storage.read_along(self.name, self.parent_id, object_id)
            acl = self.authorizer.require_with_acl(
                request, "read", uri, self.permissions, along=along
            )
        if along is not None and along.travelled:
            obj = along.result  # read with the ACEs, in the same statement
        else:
            obj = self.get_object(object_id)
        if obj is None:
            self.check_parent_exists()
            self.raise_not_found(object_id)
        timestamp = obj[self.storage.modified_field]
        self.check_preconditions(conditions, Kind.READ, timestamp, existing=obj)
        self.set_cache_headers()
        self.notify(ACTIONS.READ, timestamp, [obj])
        if fields:
            return self.respond({"data": project(obj, fields)}, timestamp)
        return self.object_response(obj, uri, acl)

    def object_put(self):
        """``PUT``: create (201) or replace (200) the object."""
        request = self.request
        object_id = self.object_id
        self.validate_object_id(object_id)
        existing = self.existing_or_parent(object_id)
        envelope = schema.parse_envelope(self.json_body(), self.permissions)
        self.check_body_id(envelope.data, object_id)
        conditions = preconditions.parse(request)
        uri = self.object_uri(object_id)
        if conditions.if_none_match == ANY or existing is None:
            self.authorizer.require(request, "create", self.plural_uri)
        elif envelope.permissions is None:
            # The ACL is updated (writer added): read it with the authorization.
            self.acl = self.authorizer.require_with_acl(request, "write", uri, self.permissions)
        else:
            self.authorizer.require(request, "write", uri)
        timestamp = existing[self.storage.modified_field] if existing else None
        self.check_preconditions(
            conditions,
            Kind.CREATE_OR_REPLACE,
            timestamp,
            exists=existing is not None,
            existing=existing,
        )

        if envelope.data is not None:
            new = schema.clean_last_modified(self.prepare_data(dict(envelope.data)))
        elif existing is not None:
            new = {k: v for k, v in existing.items() if k != self.storage.modified_field}
        else:
            new = {}
        new = {**new, "id": object_id}
        new = self.process_object(new, existing)

        created = existing is None
        try:
            if created:
                obj = self.storage.create(self.name, self.parent_id, new)
            else:
                obj = self.storage.update(
                    self.name,
                    self.parent_id,
                    object_id,
                    new,
                    if_match=conditions.expected_timestamp,
                )
        except UnicityError as e:
            if conditions.if_none_match == ANY:
                raise self.conflict(e.existing) from e
            # Created meanwhile by someone else: replace it.
            self.authorizer.require(request, "write", uri)
            existing, created = e.existing, False
            obj = self.storage.update(self.name, self.parent_id, object_id, new)
        except ModifiedMeanwhileError as e:
            raise self.conflict(e.existing) from e

        if created or envelope.permissions is not None:
            # Every permission is given: the stored ACL is not needed.
            changes = patch.replace_permissions(self.permissions, envelope.permissions or {})
        else:
            changes = None
            if self.acl is None:
                self.acl = self.permission.get_object_permissions(uri)
        acl = self.store_permissions(uri, changes)
        if existing is None:
            action, impacted = ACTIONS.CREATE, [{"new": obj}]
        else:
            action, impacted = ACTIONS.UPDATE, [{"old": existing, "new": obj}]
        self.on_changed(action, impacted)
        self.notify(action, self.event_timestamp(obj, new), impacted)
        return self.object_response(obj, uri, acl, status=201 if existing is None else 200)

    def object_patch(self):
        """``PATCH``: plain JSON, JSON merge patch or JSON Patch, selected by
        the request ``Content-Type``."""
        request = self.request
        object_id = self.object_id
        self.validate_object_id(object_id)
        existing = self.existing_or_parent(object_id)
        behavior = self.response_behavior()
        content_type = negotiation.content_type(request)
        body = self.json_body()
        operations = envelope = None
        if content_type == patch.JSON_PATCH:
            operations = patch.validate_operations(body)
        else:
            envelope = schema.parse_envelope(body, self.permissions, nullable=True)
            if envelope.data is None and envelope.permissions is None:
                errors.raise_invalid("body", "data", "Provide at least one of data or permissions")
            self.check_body_id(envelope.data, object_id)
        conditions = preconditions.parse(request)
        uri = self.object_uri(object_id)
        existing = self.require_existing(existing, object_id)
        self.acl = acl = self.authorizer.require_with_acl(request, "write", uri, self.permissions)
        modified_field = self.storage.modified_field
        self.check_preconditions(
            conditions, Kind.MODIFY, existing[modified_field], existing=existing
        )

        base = {k: v for k, v in existing.items() if k != modified_field}
        if operations is not None:
            current = {"read": (), "write": (), **acl}
            new, permission_changes = patch.apply_json_patch(base, current, operations)
            self.check_permission_names(permission_changes)
            self.check_body_id(new, object_id)
            changes = new
        else:
            changes = envelope.data or {}
            if content_type == patch.MERGE_PATCH:
                new = patch.merge_patch(base, changes)
                merge = patch.merge_permissions
            else:
                new = patch.merge_plain(base, changes)
                merge = patch.update_permissions
            permission_changes = merge(envelope.permissions) if envelope.permissions else None
        new = schema.clean_last_modified({**new, "id": object_id})
        new = self.process_object(new, existing)

        # The ACL first: the object's write holds its list's lock until the
        # transaction ends (a failed write aborts the transaction anyway).
        acl = self.store_permissions(uri, permission_changes)
        try:
            obj = self.storage.update(
                self.name, self.parent_id, object_id, new, if_match=conditions.expected_timestamp
            )
        except ModifiedMeanwhileError as e:
            raise self.conflict(e.existing) from e

        impacted = [{"old": existing, "new": obj}]
        self.on_changed(ACTIONS.UPDATE, impacted)
        self.notify(ACTIONS.UPDATE, self.event_timestamp(obj, new), impacted)

        if behavior == "full":
            return self.object_response(obj, uri, acl)
        data = {k: obj[k] for k in changes if k in obj and obj[k] != existing.get(k, _ABSENT)}
        if behavior == "diff":
            data = {k: v for k, v in data.items() if v != changes.get(k)}
        body = {"data": data, "permissions": self.visible_permissions(uri, acl)}
        return self.respond(body, obj[modified_field])

    def object_delete(self):
        """``DELETE``: delete the object (``?last_modified=`` forces the
        tombstone timestamp when greater)."""
        request = self.request
        object_id = self.object_id
        self.validate_object_id(object_id)
        existing = self.existing_or_parent(object_id)
        last_modified = self.forced_last_modified()
        conditions = preconditions.parse(request)
        uri = self.object_uri(object_id)
        existing = self.require_existing(existing, object_id)
        self.authorizer.require(request, "write", uri)
        self.check_preconditions(
            conditions, Kind.MODIFY, existing[self.storage.modified_field], existing=existing
        )
        try:
            tombstone = self.storage.delete(
                self.name,
                self.parent_id,
                object_id,
                last_modified=last_modified,
                if_match=conditions.expected_timestamp,
            )
        except ModifiedMeanwhileError as e:
            raise self.conflict(e.existing) from e
        except ObjectNotFoundError:
            self.raise_not_found(object_id)
        self.permission.delete_object_permissions(uri)
        impacted = [{"old": existing, "new": tombstone}]
        self.on_changed(ACTIONS.DELETE, impacted)
        timestamp = tombstone[self.storage.modified_field]
        if last_modified is not None:
            timestamp = self.timestamp()
        self.notify(ACTIONS.DELETE, timestamp, impacted)
        return self.respond({"data": tombstone}, tombstone[self.storage.modified_field])

    # Request parsing.

    def response_behavior(self) -> str:
        value = self.request.headers.get("Response-Behavior", "full")
        if value not in RESPONSE_BEHAVIORS:
            errors.raise_invalid(
                "header",
                "Response-Behavior",
                f"Response-Behavior should be one of {', '.join(RESPONSE_BEHAVIORS)}",
            )
        return value

    def forced_last_modified(self) -> int | None:
        value = self.request.GET.get("last_modified")
        if value is None:
            return None
        match = _QUOTED_DIGITS.match(value)
        if match is None or int(match.group(1)) >= schema.MAX_TIMESTAMP:
            errors.raise_invalid("querystring", "last_modified", "Invalid value for last_modified")
        return int(match.group(1))

    def check_permission_names(self, permissions: dict) -> None:
        for name in permissions:
            if name not in self.permissions:
                errors.raise_invalid(
                    "body", f"permissions.{name}", f"'{name}' is not a valid permission name"
                )

    def event_timestamp(self, obj: dict, sent: dict) -> int:
        """List timestamp after a write: the object's, unless the client
        forced an older ``last_modified``."""
        if self.storage.modified_field in sent:
            return self.timestamp()
        return obj[self.storage.modified_field]
