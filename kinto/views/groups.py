"""Groups: ``/buckets/{bucket_id}/groups[/{id}]``.

A group's URI is a principal of each of its ``members``: creating, updating
and deleting a group keeps the permission backend's user principals in sync
(and deleting it removes it from every ACL).
"""

from __future__ import annotations

from kinto.core import errors
from kinto.core.authentication import EVERYONE
from kinto.core.events import ACTIONS
from kinto.core.resource import Resource, register
from kinto.views.schemas import validate_with_bucket_schema, validation_enabled


class Group(Resource):
    name = "group"
    plural_path = "/buckets/{bucket_id}/groups"
    object_path = "/buckets/{bucket_id}/groups/{id}"

    def prepare_data(self, data: dict) -> dict:
        data.setdefault("members", [])
        return data

    def process_object(self, new: dict, old: dict | None = None) -> dict:
        check_members(new)
        if validation_enabled(self.options.settings):
            validate_with_bucket_schema(self, new, "group:schema")
        return new

    def on_changed(self, action: ACTIONS, impacted: list[dict]) -> None:
        permission = self.request.registry.permission
        for change in impacted:
            if action == ACTIONS.DELETE:
                forget_group(permission, self.object_uri(change["old"]["id"]))
                continue
            new = change["new"]
            uri = self.object_uri(new["id"])
            before = set(change.get("old", {}).get("members") or ())
            after = set(new.get("members") or ())
            for member in before - after:
                permission.remove_user_principal(member, uri)
            for member in after - before:
                permission.add_user_principal(member, uri)


def check_members(data: dict) -> None:
    """``members``, when present, is a list of user ids: no group URIs (no
    nested groups), no ``system.Everyone``."""
    if "members" not in data:
        return
    members = data["members"]
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        errors.raise_invalid("body", "data.members", "members should be a list of strings")
    for member in members:
        if member.startswith("/buckets/") or member == EVERYONE:
            errors.raise_invalid("body", "data.members", f"'{member}' is not a valid user ID.")


def forget_group(permission, group_uri: str) -> None:
    """Remove a deleted group's principal from every user and every ACL."""
    permission.remove_principal(group_uri)
    for uri, names in permission.get_accessible_objects([group_uri]).items():
        for name in names:
            permission.remove_principal_from_ace(uri, name, group_uri)


def includeme(config) -> None:
    register(config, Group)
