"""Permission backends: the contract every backend implements.

Two kinds of facts are stored:

* **ACEs**: for an object URI (``/buckets/b/collections/c``) and a permission
  name (``read``, ``write``, ``record:create``...), the set of principals
  holding it.
* **User principals**: for a user id (or ``system.Authenticated``), the set of
  extra principals it has, i.e. the URIs of the groups it is a member of.

``object_id`` patterns may end with ``*`` (``/buckets/b/*``) wherever the
docstring says so, to match every URI with that prefix.

Every method may raise :class:`kinto.core.storage.BackendError`.
The behaviour suite every backend must pass lives in
:mod:`kinto.core.permission.testing`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import Any

#: A bound permission is an ``(object_uri, permission_name)`` pair.
BoundPermission = tuple[str, str]


class PermissionBase(abc.ABC):
    def initialize_schema(self, dry_run: bool = False) -> None:
        """Create or upgrade the backend's schema (no-op where none exists)."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Remove every ACE and user principal."""

    def heartbeat(self) -> bool:
        """Return True when the backend answers."""
        try:
            self.get_user_principals("__heartbeat__")
        except Exception:
            return False
        return True

    # User principals (group membership).

    @abc.abstractmethod
    def add_user_principal(self, user_id: str, principal: str) -> None: ...

    @abc.abstractmethod
    def remove_user_principal(self, user_id: str, principal: str) -> None: ...

    @abc.abstractmethod
    def remove_principal(self, principal: str) -> None:
        """Remove ``principal`` from every user's principals."""

    @abc.abstractmethod
    def get_user_principals(self, user_id: str) -> set[str]: ...

    def get_users_principals(self, user_ids: Iterable[str]) -> set[str]:
        """Union of the principals of each of ``user_ids``: what the group
        finder needs for a user and ``system.Authenticated``, in one call.
        Backends answer it in one query; this default asks for each id."""
        principals: set[str] = set()
        for user_id in user_ids:
            principals |= self.get_user_principals(user_id)
        return principals

    # ACEs.

    @abc.abstractmethod
    def add_principal_to_ace(self, object_id: str, permission: str, principal: str) -> None: ...

    @abc.abstractmethod
    def remove_principal_from_ace(
        self, object_id: str, permission: str, principal: str
    ) -> None: ...

    @abc.abstractmethod
    def get_object_permission_principals(self, object_id: str, permission: str) -> set[str]: ...

    @abc.abstractmethod
    def get_objects_permissions(
        self, objects_ids: list[str], permissions: Iterable[str] | None = None
    ) -> list[dict[str, set[str]]]:
        """For each URI (in order) return ``{permission: principals}``,
        restricted to ``permissions`` when given; empty sets are omitted."""

    def get_object_permissions(
        self, object_id: str, permissions: Iterable[str] | None = None
    ) -> dict[str, set[str]]:
        return self.get_objects_permissions([object_id], permissions)[0]

    def get_principals_and_permissions(
        self,
        user_ids: Iterable[str],
        objects_ids: list[str],
        permissions: Iterable[str] | None = None,
        along: Any = None,
    ) -> tuple[set[str], list[dict[str, set[str]]]]:
        """``get_users_principals(user_ids)`` and
        ``get_objects_permissions(objects_ids, permissions)`` together: what
        authorizing a request needs when the caller's groups are not known
        yet. Backends answer it in one round trip; this default makes the
        two calls. ``along`` (a :class:`kinto.core.sql.fast.Along`, e.g. the
        read of the object being authorized) may be taken along by backends
        on its database; this default leaves it."""
        principals = self.get_users_principals(user_ids)
        if not objects_ids:
            return principals, []
        return principals, self.get_objects_permissions(objects_ids, permissions)

    @abc.abstractmethod
    def replace_object_permissions(
        self, object_id: str, permissions: dict[str, Iterable[str]]
    ) -> dict[str, set[str]]:
        """Replace the principals of each permission named in ``permissions``
        (an empty list empties it); names not given are left untouched.
        Return the permissions given."""

    @abc.abstractmethod
    def delete_object_permissions(self, *object_id_match: str) -> None:
        """Delete every ACE of the given URIs (patterns with ``*`` allowed)."""

    @abc.abstractmethod
    def get_accessible_objects(
        self,
        principals: Iterable[str],
        bound_permissions: Iterable[BoundPermission] | None = None,
        with_children: bool = True,
    ) -> dict[str, set[str]]:
        """Return ``{object_uri: {permissions}}`` for every object on which
        one of ``principals`` holds an ACE.

        ``bound_permissions`` restricts the search to ACEs matching one of
        the ``(uri_pattern, permission)`` pairs, where ``uri_pattern`` may
        contain ``*`` for one path segment (``/buckets/*/collections/*``).
        With ``with_children=False`` a ``*`` never spans a ``/``; with True
        the last ``*`` may also match deeper URIs.
        """

    @abc.abstractmethod
    def get_authorized_principals(self, bound_permissions: Iterable[BoundPermission]) -> set[str]:
        """Union of the principals holding any of the exact
        ``(object_uri, permission)`` pairs."""

    def check_permission(
        self, principals: Iterable[str], bound_permissions: Iterable[BoundPermission]
    ) -> bool:
        """True if one of ``principals`` holds one of ``bound_permissions``."""
        if not bound_permissions:
            return False
        return bool(self.get_authorized_principals(bound_permissions) & set(principals))
