"""Authorization: may the caller do this to that object?

Resources call the :class:`Authorizer` (``request.registry.authorizer``)
explicitly from their views with a permission (``read``, ``write`` or
``create``) and a URI (without the ``/v1`` prefix):

* an object URI (``/buckets/b/collections/c``) for ``read``/``write`` of that
  object, granted by its own ACEs or its parents' (inheritance);
* a list URI (``/buckets/b/collections``) for list-level ``read``/``write``
  (granted by the parents only) and for ``create``.

The inheritance table comes from the class named by the
``multiauth.authorization_policy`` setting (``kinto.authorization``'s by
default); see :class:`InheritanceTable`. Settings-based grants
(``<resource>_<permission>_principals``, permissions.md §3.2) are checked
first, without touching the permission backend.

While the caller's identity is pending (its groups not looked up yet, see
:mod:`kinto.core.authentication`) and the default groupfinder is in use,
the groups are read in the same permission backend call as the ACEs the
decision needs (``get_principals_and_permissions``): one round trip per
authorization instead of two.

Within a batch, :meth:`Authorizer.is_allowed` (hence :meth:`Authorizer.require`)
may answer *yes* from the batch memo (:mod:`kinto.core.batch_memo`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pyramid import httpexceptions
from pyramid.settings import aslist

from kinto.core import batch_memo, errors
from kinto.core.authentication import (
    AUTHENTICATED,
    authenticated_identity,
    challenge_headers,
    resolve_identity,
)

#: ``{resource_name: {permission: {granting_resource_name: [permissions]}}}``
#: where granting resources are the resource itself or one of its ancestors.
#: Creation is the permission ``<resource>:create`` of the parent resource,
#: e.g. ``collection["record:create"]``.
InheritanceTree = dict[str, dict[str, dict[str, list[str]]]]


class InheritanceTable:
    """Describes a URI scheme and how permissions are inherited.

    ``plurals`` maps URI plural segments to resource names
    (``{"buckets": "bucket"}``); ``tree`` is an :data:`InheritanceTree`;
    ``expansions`` maps ``{resource_name: {permission: [implied...]}}`` for
    the ``/permissions`` listing.
    """

    plurals: dict[str, str] = {}
    tree: InheritanceTree = {}
    expansions: dict[str, dict[str, list[str]]] = {}


#: The core's own table is empty: applications name theirs in the
#: ``multiauth.authorization_policy`` setting, plugins call
#: :meth:`Authorizer.register`.
AuthorizationPolicy = InheritanceTable


@dataclass(frozen=True)
class ParsedURI:
    """``/buckets/b/collections/c/records`` → lineage of
    ``(resource_name, object_uri)`` for each named object, plus the resource
    name of the trailing list if the URI names a list."""

    lineage: tuple[tuple[str, str], ...]
    list_resource: str | None

    @property
    def resource_name(self) -> str:
        return self.list_resource or self.lineage[-1][0]


class Authorizer:
    """Answers permission questions for one application."""

    def __init__(
        self,
        table: type[InheritanceTable] | InheritanceTable,
        settings: dict,
        permission_backend,
    ):
        self.plurals = dict(table.plurals)
        self.tree = {name: dict(perms) for name, perms in table.tree.items()}
        self.expansions = dict(table.expansions)
        self.settings = settings
        self.permission = permission_backend
        self._parse = lru_cache(maxsize=4096)(self._parse_uri)
        self._template = lru_cache(maxsize=512)(self._bound_template)

    @classmethod
    def from_config(cls, config) -> Authorizer:
        settings = config.get_settings()
        dotted = settings.get("multiauth.authorization_policy") or AuthorizationPolicy
        table = config.maybe_dotted(dotted)
        return cls(table, settings, config.registry.permission)

    def register(
        self,
        plural: str,
        resource_name: str,
        tree: dict[str, dict[str, list[str]]],
        expansions: dict[str, list[str]] | None = None,
    ) -> None:
        """Add a resource type (used by plugins, e.g. accounts)."""
        self.plurals[plural] = resource_name
        self.tree[resource_name] = tree
        if expansions:
            self.expansions[resource_name] = expansions
        self._parse.cache_clear()
        self._template.cache_clear()

    # URI handling.

    def _parse_uri(self, uri: str) -> ParsedURI | None:
        segments = uri.strip("/").split("/")
        if not segments or segments == [""]:
            return None
        lineage = []
        path = ""
        for i in range(0, len(segments), 2):
            plural = segments[i]
            name = self.plurals.get(plural)
            if name is None:
                return None
            if i + 1 < len(segments):
                path = f"{path}/{plural}/{segments[i + 1]}"
                lineage.append((name, path))
            else:
                return ParsedURI(tuple(lineage), name)
        return ParsedURI(tuple(lineage), None)

    def parse(self, uri: str) -> ParsedURI | None:
        """Parse a URI, or None if it is not one of a known resource."""
        return self._parse(uri)

    # Bound permissions.

    def _bound_template(
        self, resource_name: str, permission: str, is_list: bool, ancestors: tuple[str, ...]
    ) -> tuple[tuple[tuple[int, str], ...], frozenset[str]]:
        """For a question on ``resource_name``, return the granting
        ``(lineage index, permission)`` pairs and the principals granted by
        settings. ``ancestors`` are the resource names of the lineage."""
        if permission == "create":
            if ancestors:
                parent = ancestors[-1]
                grants = self.tree.get(parent, {}).get(f"{resource_name}:create", {})
            else:
                grants = {}
            # A resource without parent (buckets) is created by settings only.
            setting_grants = [(resource_name, f"{resource_name}:create")]
        else:
            grants = self.tree.get(resource_name, {}).get(permission, {})
            setting_grants = []
        pairs = []
        positions = {name: i for i, name in enumerate(ancestors)}
        for granting_resource, granting_perms in grants.items():
            # Settings grants apply to every object of a type, so they count
            # even when the granting object is not in the lineage (the
            # objects of a list, for a list-level question).
            setting_grants.extend((granting_resource, perm) for perm in granting_perms)
            index = positions.get(granting_resource)
            if index is not None:
                pairs.extend((index, perm) for perm in granting_perms)
        principals: set[str] = set()
        for _granting_resource, perm in setting_grants:
            if perm.startswith(resource_name):
                setting = f"{perm.replace(':', '_')}_principals"
            else:
                setting = f"{resource_name}_{perm.replace(':', '_')}_principals"
            principals.update(aslist(self.settings.get(setting) or ""))
        return tuple(pairs), frozenset(principals)

    def bound_permissions(
        self, permission: str, uri: str
    ) -> tuple[list[tuple[str, str]], frozenset]:
        """Return the ``(object_uri, permission)`` ACEs granting
        ``permission`` on ``uri`` and the principals granted by settings."""
        parsed = self.parse(uri)
        if parsed is None:
            return [], frozenset()
        lineage = parsed.lineage
        is_list = parsed.list_resource is not None
        if permission == "create" and not is_list:
            return [], frozenset()
        names = tuple(name for name, _ in lineage)
        pairs, principals = self._template(parsed.resource_name, permission, is_list, names)
        bound = [(lineage[index][1], perm) for index, perm in pairs]
        return bound, principals

    # Questions.

    def is_allowed(self, request, permission: str, uri: str, along: Any = None) -> bool:
        """True if the caller holds ``permission`` on ``uri``.

        Within a batch, a *yes* may come from the batch memo (see
        :mod:`kinto.core.batch_memo`, which owns the rule): questions on URIs
        that name no volatile object (e.g. ``create`` on a records list) are
        answered once per batch while the memo holds. Outside batches,
        ``along`` (a :class:`kinto.core.sql.fast.Along`) is offered to the
        permission backend call, if one is made: when it travels, its
        result is only for the caller to use once this answered True."""
        memo = batch_memo.current(request)
        if memo is None:
            return self._is_allowed(request, permission, uri, along)
        parsed = self.parse(uri)
        if parsed is None or any(name in memo.volatile for name, _ in parsed.lineage):
            return self._is_allowed(request, permission, uri)
        principals = authenticated_identity(request).principals
        if principals is not None and memo.is_granted(permission, uri, principals):
            return True
        allowed = self._is_allowed(request, permission, uri)
        if allowed:
            principals = authenticated_identity(request).principals
            if principals is not None:
                memo.remember_granted(permission, uri, principals)
        return allowed

    def _is_allowed(self, request, permission: str, uri: str, along: Any = None) -> bool:
        bound, granted = self.bound_permissions(permission, uri)
        identity = authenticated_identity(request)
        if identity.principals is None and granted and not granted.isdisjoint(identity.known):
            return True
        if self._combinable(request, identity):
            uris = list(dict.fromkeys(bound_uri for bound_uri, _ in bound))
            wanted = {perm for _, perm in bound}
            principals, acls = self._principals_and_acls(request, identity, uris, wanted, along)
            if granted and not granted.isdisjoint(principals):
                return True
            return _holds_one(principals, bound, acls)
        principals = request.prefixed_principals
        if granted and not granted.isdisjoint(principals):
            return True
        if not bound:
            return False
        return self.permission.check_permission(principals, bound)

    def require(self, request, permission: str, uri: str) -> None:
        """Raise 401 (anonymous) or 403 unless :meth:`is_allowed`."""
        if not self.is_allowed(request, permission, uri):
            raise forbidden(request)

    def require_with_acl(
        self, request, permission: str, uri: str, names: Iterable[str], along: Any = None
    ) -> dict[str, set[str]]:
        """:meth:`require` ``permission`` on the object ``uri`` and return
        its ACL (``{name: principals}`` for the permission ``names`` of its
        resource), in **one** permission backend call: the ACEs of the
        object and of its granting ancestors are read together and the
        decision is taken here. For handlers that show or update the ACL of
        the object they authorize. ``along`` (a
        :class:`kinto.core.sql.fast.Along`, e.g. the read of the object) is
        offered to that call: when it travels, its result is only for the
        caller to use once this returned (authorized)."""
        bound, granted = self.bound_permissions(permission, uri)
        uris = list(dict.fromkeys([uri, *(bound_uri for bound_uri, _ in bound)]))
        wanted = {*names, *(perm for _, perm in bound)}
        identity = authenticated_identity(request)
        if self._combinable(request, identity):
            principals, acls = self._principals_and_acls(request, identity, uris, wanted, along)
            if not (granted and not granted.isdisjoint(principals)):
                if not _holds_one(principals, bound, acls):
                    raise forbidden(request)
        else:
            principals = request.prefixed_principals
            if granted and not granted.isdisjoint(principals):
                return self.permission.get_object_permissions(uri, names)
            permissions = self.permission.get_objects_permissions(uris, wanted)
            acls = dict(zip(uris, permissions, strict=True))
            if not _holds_one(principals, bound, acls):
                raise forbidden(request)
        names = set(names)
        return {name: holders for name, holders in acls[uri].items() if name in names}

    def _combinable(self, request, identity) -> bool:
        """True when the groups of the pending ``identity`` can be read with
        the ACEs (the default groupfinder is in use)."""
        return identity.principals is None and request.registry.groupfinder is groupfinder

    def _principals_and_acls(
        self, request, identity, uris: list[str], wanted: set[str], along: Any = None
    ) -> tuple[tuple[str, ...], dict[str, dict[str, set[str]]]]:
        """Resolve the pending identity and read the ACLs of ``uris`` (the
        ``wanted`` permissions), in one permission backend call (with
        ``along`` if the backend takes it)."""
        # Offered only to a backend on the read's database (others may not
        # take the argument).
        offered = (
            along is not None and getattr(self.permission, "database", None) is along.database
        )
        groups, permissions = self.permission.get_principals_and_permissions(
            (identity.userid, AUTHENTICATED), uris, wanted, **({"along": along} if offered else {})
        )
        principals = resolve_identity(request, sorted(groups)).principals
        return principals, dict(zip(uris, permissions, strict=True))

    def accessible_ids(self, request, permission: str, list_uri: str) -> list[str]:
        """Ids of the objects of ``list_uri`` on which the caller holds an
        ACE granting ``permission`` at object level."""
        parsed = self.parse(list_uri)
        if parsed is None or parsed.list_resource is None:
            return []
        resource_name = parsed.list_resource
        own = self.tree.get(resource_name, {}).get(permission, {}).get(resource_name, [])
        if not own:
            return []
        pattern = f"{list_uri.rstrip('/')}/*"
        bound = [(pattern, perm) for perm in own]
        objects = self.permission.get_accessible_objects(
            request.prefixed_principals, bound, with_children=False
        )
        prefix_length = len(pattern) - 1
        return [uri[prefix_length:] for uri in objects]

    def expand(self, resource_name: str, permissions: Iterable[str]) -> set[str]:
        """Permissions implied on the same object (``/permissions`` listing)."""
        table = self.expansions.get(resource_name, {})
        result: set[str] = set()
        for perm in permissions:
            result.add(perm)
            result.update(table.get(perm, ()))
        return result


def _holds_one(
    principals: Iterable[str], bound: list[tuple[str, str]], acls: dict[str, dict[str, set[str]]]
) -> bool:
    """True when one of ``principals`` holds one of the ``bound`` ACEs."""
    principals = set(principals)
    for bound_uri, perm in bound:
        holders = acls[bound_uri].get(perm)
        if holders and not holders.isdisjoint(principals):
            return True
    return False


def forbidden(request) -> httpexceptions.HTTPException:
    """401 with challenge headers for anonymous callers, 403 otherwise."""
    if request.prefixed_userid is None:
        error = errors.http_error(
            httpexceptions.HTTPUnauthorized(),
            errno=errors.ERRORS.MISSING_AUTH_TOKEN,
            message="Please authenticate yourself to use this endpoint.",
        )
        for name, value in challenge_headers(request):
            error.headers.add(name, value)
        return error
    return errors.http_error(
        httpexceptions.HTTPForbidden(),
        errno=errors.ERRORS.FORBIDDEN,
        message="This user cannot access this resource.",
    )


def groupfinder(userid: str, request) -> list[str]:
    """Group principals of ``userid`` and of every authenticated user, in
    one permission backend call."""
    backend = request.registry.permission
    return sorted(backend.get_users_principals((userid, AUTHENTICATED)))
