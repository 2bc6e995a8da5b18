"""In-process permission backend: dictionaries guarded by a lock.

Nothing survives a restart and nothing is shared between processes; use it
for development and tests. Every method is safe to call from several threads
(waitress workers).

Layout:

* ``_acl``: ``{object_uri: {permission: {principals}}}``, the source of truth.
* ``_index``: ``{principal: {permission: {container: {object_uris}}}}``
  where ``container`` is the URI without its last segment
  (``/buckets/b/collections/c/records`` for a record). It lets
  :meth:`Permission.get_accessible_objects` visit only the caller's ACEs,
  answer the common ``<list uri>/*`` question with one lookup, and test
  other patterns once per container rather than once per object.
* ``_containers``: ``{container: {object_uris}}`` for every URI having
  an ACE, so that ``*`` deletions visit containers rather than objects.
* ``_users``: ``{user_id: {principals}}`` and ``_members``, its reverse, so
  :meth:`Permission.remove_principal` touches only the users concerned.

Decisions where the interface leaves room:

* :meth:`Permission.get_user_principals` returns the principals added for
  that exact user id; the principals of ``system.Authenticated`` are *not*
  merged in (the group finder asks for both).
* In :meth:`Permission.delete_object_permissions` a ``*`` matches any run of
  characters, ``/`` included (``/buckets/b/*`` is everything under
  ``/buckets/b/``).
* In :meth:`Permission.get_accessible_objects` a ``*`` matches one non-empty
  path segment; with ``with_children=True`` the last ``*`` of a pattern also
  matches that segment followed by ``/`` and anything. An empty
  ``bound_permissions`` matches nothing; ``None`` matches every ACE.
* Every set or dict returned is a fresh copy the caller may mutate.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable

from kinto.core.permission import BoundPermission, PermissionBase

__all__ = ["Permission", "load_from_config"]


class Permission(PermissionBase):
    """Permission backend keeping everything in process memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._acl: dict[str, dict[str, set[str]]] = {}
        self._containers: dict[str, set[str]] = {}
        self._index: dict[str, dict[str, dict[str, set[str]]]] = {}
        self._users: dict[str, set[str]] = {}
        self._members: dict[str, set[str]] = {}

    def flush(self) -> None:
        with self._lock:
            self._acl.clear()
            self._containers.clear()
            self._index.clear()
            self._users.clear()
            self._members.clear()

    def heartbeat(self) -> bool:
        return True

    # User principals.

    def add_user_principal(self, user_id: str, principal: str) -> None:
        with self._lock:
            self._users.setdefault(user_id, set()).add(principal)
            self._members.setdefault(principal, set()).add(user_id)

    def remove_user_principal(self, user_id: str, principal: str) -> None:
        with self._lock:
            self._unlink_user(user_id, principal)

    def remove_principal(self, principal: str) -> None:
        """Remove ``principal`` from every user's principals (ACEs naming it
        are left alone)."""
        with self._lock:
            for user_id in self._members.pop(principal, ()):
                principals = self._users[user_id]
                principals.discard(principal)
                if not principals:
                    del self._users[user_id]

    def get_user_principals(self, user_id: str) -> set[str]:
        """Principals added for exactly ``user_id`` (see module docstring)."""
        with self._lock:
            return set(self._users.get(user_id, ()))

    def get_users_principals(self, user_ids: Iterable[str]) -> set[str]:
        """Union of the principals added for each of ``user_ids``."""
        principals: set[str] = set()
        with self._lock:
            for user_id in user_ids:
                found = self._users.get(user_id)
                if found:
                    principals |= found
        return principals

    # ACEs.

    def add_principal_to_ace(self, object_id: str, permission: str, principal: str) -> None:
        with self._lock:
            self._grant(object_id, permission, principal)

    def remove_principal_from_ace(self, object_id: str, permission: str, principal: str) -> None:
        with self._lock:
            self._revoke(object_id, permission, principal)

    def get_object_permission_principals(self, object_id: str, permission: str) -> set[str]:
        with self._lock:
            return set(self._acl.get(object_id, {}).get(permission, ()))

    def get_objects_permissions(
        self, objects_ids: list[str], permissions: Iterable[str] | None = None
    ) -> list[dict[str, set[str]]]:
        wanted = None if permissions is None else set(permissions)
        result = []
        with self._lock:
            for object_id in objects_ids:
                acl = self._acl.get(object_id)
                if not acl:
                    result.append({})
                elif wanted is None:
                    result.append({perm: set(principals) for perm, principals in acl.items()})
                else:
                    result.append(
                        {
                            perm: set(principals)
                            for perm, principals in acl.items()
                            if perm in wanted
                        }
                    )
        return result

    def replace_object_permissions(
        self, object_id: str, permissions: dict[str, Iterable[str]]
    ) -> dict[str, set[str]]:
        """Replace the principals of each permission named in
        ``permissions``; return them as ``{permission: set}``."""
        replacement = {perm: set(principals) for perm, principals in permissions.items()}
        with self._lock:
            for perm, principals in replacement.items():
                current = self._acl.get(object_id, {}).get(perm, set())
                removed, added = current - principals, principals - current
                for principal in removed:
                    self._revoke(object_id, perm, principal)
                for principal in added:
                    self._grant(object_id, perm, principal)
        return replacement

    def delete_object_permissions(self, *object_id_match: str) -> None:
        """Delete every ACE of the given URIs; in a pattern ``*`` matches any
        characters, ``/`` included."""
        if not object_id_match:
            return
        exact = [uri for uri in object_id_match if "*" not in uri]
        matchers = [_DeletionPattern(uri) for uri in object_id_match if "*" in uri]
        with self._lock:
            doomed = {uri for uri in exact if uri in self._acl}
            for container, objects in self._containers.items() if matchers else ():
                path = container + "/"
                for matcher in matchers:
                    if matcher.holds_all(path):
                        doomed.update(objects)
                        break
                    if matcher.may_hold(path):
                        doomed.update(uri for uri in objects if matcher.regex.match(uri))
            for uri in doomed:
                self._drop_object(uri)

    def get_accessible_objects(
        self,
        principals: Iterable[str],
        bound_permissions: Iterable[BoundPermission] | None = None,
        with_children: bool = True,
    ) -> dict[str, set[str]]:
        """See :meth:`PermissionBase.get_accessible_objects` and the module
        docstring for the exact pattern rules."""
        principals = set(principals)
        result: dict[str, set[str]] = {}
        if bound_permissions is None:
            with self._lock:
                for principal in principals:
                    for perm, containers in self._index.get(principal, {}).items():
                        for objects in containers.values():
                            for uri in objects:
                                result.setdefault(uri, set()).add(perm)
            return result

        bound = tuple((pattern, perm) for pattern, perm in bound_permissions)
        query = _compile_query(bound, with_children)
        with self._lock:
            for principal in principals:
                by_perm = self._index.get(principal)
                if not by_perm:
                    continue
                for perm, (exact, listings, patterns) in query.items():
                    containers = by_perm.get(perm)
                    if not containers:
                        continue
                    for uri, container in exact:
                        if uri in containers.get(container, ()):
                            result.setdefault(uri, set()).add(perm)
                    for container in listings:
                        for uri in containers.get(container, ()):
                            result.setdefault(uri, set()).add(perm)
                    if patterns:
                        self._match_patterns(containers, patterns, perm, result)
        return result

    def get_authorized_principals(self, bound_permissions: Iterable[BoundPermission]) -> set[str]:
        result: set[str] = set()
        with self._lock:
            for object_id, permission in bound_permissions:
                principals = self._acl.get(object_id, {}).get(permission)
                if principals:
                    result.update(principals)
        return result

    def check_permission(
        self, principals: Iterable[str], bound_permissions: Iterable[BoundPermission]
    ) -> bool:
        """True if one of ``principals`` holds one of ``bound_permissions``
        (stops at the first match, builds no union)."""
        if not bound_permissions:
            return False
        principals = principals if isinstance(principals, set | frozenset) else set(principals)
        with self._lock:
            for object_id, permission in bound_permissions:
                holders = self._acl.get(object_id, {}).get(permission)
                if holders and not holders.isdisjoint(principals):
                    return True
        return False

    # Internals; the caller holds the lock.

    @staticmethod
    def _match_patterns(
        containers: dict[str, set[str]],
        patterns: list[_Pattern],
        perm: str,
        result: dict[str, set[str]],
    ) -> None:
        """Add to ``result`` the objects of ``containers`` matching one of
        ``patterns``, testing whole containers where the pattern allows."""
        for container, objects in containers.items():
            path = container + "/"
            for pattern in patterns:
                if pattern.container_regex is not None:
                    if pattern.container_regex.match(container) is None:
                        continue
                    for uri in objects:
                        result.setdefault(uri, set()).add(perm)
                    break
                if _may_hold(pattern.prefix, path):
                    for uri in objects:
                        if pattern.regex.match(uri):
                            result.setdefault(uri, set()).add(perm)

    def _grant(self, object_id: str, permission: str, principal: str) -> None:
        acl = self._acl.get(object_id)
        if acl is None:
            acl = self._acl[object_id] = {}
            self._containers.setdefault(_container(object_id), set()).add(object_id)
        holders = acl.setdefault(permission, set())
        if principal in holders:
            return
        holders.add(principal)
        containers = self._index.setdefault(principal, {}).setdefault(permission, {})
        containers.setdefault(_container(object_id), set()).add(object_id)

    def _revoke(self, object_id: str, permission: str, principal: str) -> None:
        acl = self._acl.get(object_id)
        holders = acl.get(permission) if acl else None
        if not holders or principal not in holders:
            return
        holders.discard(principal)
        if not holders:
            del acl[permission]
            if not acl:
                self._forget_object(object_id)
        self._unindex(object_id, permission, principal)

    def _drop_object(self, object_id: str) -> None:
        acl = self._acl[object_id]
        self._forget_object(object_id)
        for permission, holders in acl.items():
            for principal in holders:
                self._unindex(object_id, permission, principal)

    def _forget_object(self, object_id: str) -> None:
        del self._acl[object_id]
        container = _container(object_id)
        objects = self._containers[container]
        objects.discard(object_id)
        if not objects:
            del self._containers[container]

    def _unindex(self, object_id: str, permission: str, principal: str) -> None:
        by_perm = self._index[principal]
        containers = by_perm[permission]
        container = _container(object_id)
        objects = containers[container]
        objects.discard(object_id)
        if not objects:
            del containers[container]
            if not containers:
                del by_perm[permission]
                if not by_perm:
                    del self._index[principal]

    def _unlink_user(self, user_id: str, principal: str) -> None:
        principals = self._users.get(user_id)
        if not principals or principal not in principals:
            return
        principals.discard(principal)
        if not principals:
            del self._users[user_id]
        members = self._members[principal]
        members.discard(user_id)
        if not members:
            del self._members[principal]


def load_from_config(config) -> Permission:
    """Backend factory (``permission_backend = kinto.core.permission.memory``);
    the memory backend reads no setting."""
    return Permission()


# Pattern handling.


def _container(uri: str) -> str:
    """``/buckets/b/collections/c`` → ``/buckets/b/collections``."""
    return uri.rpartition("/")[0]


def _may_hold(prefix: str, path: str) -> bool:
    """Can a container whose objects all start with ``path`` (the container
    and a ``/``) hold a URI starting with ``prefix``?"""
    if len(path) >= len(prefix):
        return path.startswith(prefix)
    return prefix.startswith(path)


def _segments(pattern: str) -> str:
    """Regex source for ``pattern`` where each ``*`` is one segment."""
    return r"[^/]+".join(re.escape(part) for part in pattern.split("*"))


class _Pattern:
    """A URI pattern of :meth:`Permission.get_accessible_objects`, compiled.

    ``regex`` matches whole URIs. ``prefix`` is the literal text before the
    first ``*``: a container whose path disagrees with it holds no match.
    When the last segment is ``*``, ``container_regex`` matches the
    containers all of whose objects match, so objects need no test of their
    own (URIs never end with ``/``).
    """

    __slots__ = ("container_regex", "prefix", "regex")

    def __init__(self, pattern: str, with_children: bool):
        head, _, tail = pattern.rpartition("*")
        last_star = r"[^/]+(?:/.+)?" if with_children else r"[^/]+"
        self.regex = re.compile(f"{_segments(head)}{last_star}{re.escape(tail)}\\Z")
        self.prefix = pattern.partition("*")[0]
        container, _, last = pattern.rpartition("/")
        self.container_regex = None
        if last == "*":
            deeper = r"(?:/[^/]+(?:/.+)?)?" if with_children else ""
            self.container_regex = re.compile(f"{_segments(container)}{deeper}\\Z")


#: ``{permission: ([(exact URI, its container)], [list URI], [pattern])}``.
_Query = dict[str, tuple[list[tuple[str, str]], list[str], list[_Pattern]]]


@functools.lru_cache(maxsize=256)
def _compile_query(bound_permissions: tuple[BoundPermission, ...], with_children: bool) -> _Query:
    """Group the bound permissions by permission and sort each pattern into
    the cheapest way of answering it. Cached: the same questions come back
    on every request."""
    query: _Query = {}
    for pattern, permission in bound_permissions:
        exact, listings, patterns = query.setdefault(permission, ([], [], []))
        if "*" not in pattern:
            exact.append((pattern, _container(pattern)))
            continue
        container, _, last = pattern.rpartition("/")
        if last == "*" and "*" not in container and not with_children:
            # ``<list uri>/*``: exactly the objects of one container.
            listings.append(container)
        else:
            patterns.append(_Pattern(pattern, with_children))
    return query


class _DeletionPattern:
    """A pattern of :meth:`Permission.delete_object_permissions`: ``*``
    matches any characters, ``/`` included."""

    __slots__ = ("prefix", "regex", "trailing_only")

    def __init__(self, pattern: str):
        self.prefix = pattern.partition("*")[0]
        self.trailing_only = pattern == self.prefix + "*"
        parts = (re.escape(part) for part in pattern.split("*"))
        self.regex = re.compile(".*".join(parts) + r"\Z", re.S)

    def holds_all(self, path: str) -> bool:
        """True if every object of the container ``path`` matches."""
        return self.trailing_only and path.startswith(self.prefix)

    def may_hold(self, path: str) -> bool:
        return _may_hold(self.prefix, path)
