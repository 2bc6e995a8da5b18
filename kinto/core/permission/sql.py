"""Permission backend on SQL, written once on SQLAlchemy Core for
PostgreSQL (:mod:`kinto.core.permission.postgresql`) and SQLite
(:mod:`kinto.core.permission.sqlite`).

Tables (created by ``kinto/core/permission/migrations``, whose first
revision describes them): ``access_control_entries(object_id, permission,
principal)`` with a second index by ``(principal, permission, object_id)``
for :meth:`Permission.get_accessible_objects`, and
``user_principals(user_id, principal)``.

Transactions are those of :class:`kinto.core.sql.Database`: during a request
every call joins the request's transaction (a failed request rolls back its
permission changes with its objects); otherwise each call commits alone.

``object_id`` compares byte-wise (``COLLATE "C"`` on PostgreSQL, SQLite's
default ``BINARY``): a URI pattern is first narrowed to the index range of
its literal prefix (the text before its first ``*``), then checked with an
anchored regular expression (``~`` on PostgreSQL, ``REGEXP`` on SQLite,
which SQLAlchemy's SQLite dialect registers). Every public method is one
statement, i.e. one round trip, except :meth:`Permission.flush` and
:meth:`Permission.replace_object_permissions` (two), and
:meth:`Permission.get_objects_permissions` (one per 5,000 URIs).

Pattern rules are those of the memory backend (see its docstring): in
:meth:`Permission.get_accessible_objects` a ``*`` is one non-empty path
segment and only the last one spans deeper segments with
``with_children=True``; in :meth:`Permission.delete_object_permissions` a
``*`` is any run of characters, ``/`` included.

The one dialect-specific part, the ``INSERT ... ON CONFLICT DO NOTHING``
construct, is given by the backend module.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from pyramid.exceptions import ConfigurationError
from sqlalchemy import (
    Column,
    Connection,
    Index,
    MetaData,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TupleType

from kinto.core import sql
from kinto.core.permission import BoundPermission, PermissionBase

__all__ = [
    "Permission",
    "access_control_entries",
    "load_from_config",
    "metadata",
    "user_principals",
]

#: The schema the queries are written for (the migrations create it).
metadata = MetaData()

#: Byte-wise comparison on PostgreSQL, as the migration declares it.
_Text = Text().with_variant(Text(collation="C"), "postgresql")

access_control_entries = Table(
    "access_control_entries",
    metadata,
    Column("object_id", _Text, primary_key=True),
    Column("permission", _Text, primary_key=True),
    Column("principal", _Text, primary_key=True),
    Index("access_control_entries_by_principal", "principal", "permission", "object_id"),
)

user_principals = Table(
    "user_principals",
    metadata,
    Column("user_id", _Text, primary_key=True),
    Column("principal", _Text, primary_key=True),
    Index("user_principals_by_principal", "principal"),
)

_aces = access_control_entries.c
_users = user_principals.c

#: Longest ``IN`` list sent in one statement (SQLite caps bound parameters).
_CHUNK = 5000


def _expanding(name: str, type_: Any = None):
    return bindparam(name, expanding=True, type_=type_)


_PAIRS = TupleType(Text(), Text())

_GET_USER_PRINCIPALS = select(_users.principal).where(_users.user_id == bindparam("user_id"))
_GET_USERS_PRINCIPALS = select(_users.principal).where(_users.user_id.in_(_expanding("user_ids")))
_REMOVE_USER_PRINCIPAL = delete(user_principals).where(
    _users.user_id == bindparam("user_id"), _users.principal == bindparam("principal")
)
_REMOVE_PRINCIPAL = delete(user_principals).where(_users.principal == bindparam("principal"))
_REMOVE_FROM_ACE = delete(access_control_entries).where(
    _aces.object_id == bindparam("object_id"),
    _aces.permission == bindparam("permission"),
    _aces.principal == bindparam("principal"),
)
_GET_ACE_PRINCIPALS = select(_aces.principal).where(
    _aces.object_id == bindparam("object_id"), _aces.permission == bindparam("permission")
)
_GET_OBJECTS_ACES = select(_aces.object_id, _aces.permission, _aces.principal).where(
    _aces.object_id.in_(_expanding("object_ids"))
)
_GET_OBJECTS_SOME_ACES = _GET_OBJECTS_ACES.where(_aces.permission.in_(_expanding("permissions")))
_GET_AUTHORIZED_PRINCIPALS = select(_aces.principal).where(
    tuple_(_aces.object_id, _aces.permission).in_(_expanding("bound", _PAIRS))
)
_CHECK_PERMISSION = (
    select(literal(1))
    .where(
        _aces.principal.in_(_expanding("principals")),
        tuple_(_aces.object_id, _aces.permission).in_(_expanding("bound", _PAIRS)),
    )
    .limit(1)
)
_ALL_ACCESSIBLE = select(_aces.object_id, _aces.permission).where(
    _aces.principal.in_(_expanding("principals"))
)
_FLUSH = (delete(access_control_entries), delete(user_principals))


class Permission(PermissionBase):
    """Permission backend storing ACEs and group memberships in SQL tables
    of ``database``; ``insert`` is the dialect's ``insert`` construct (it
    must offer ``on_conflict_do_nothing``)."""

    def __init__(self, database: sql.Database, insert: Callable[[Table], Any]):
        self.database = database
        self._add_user_principal = insert(user_principals).on_conflict_do_nothing()
        self._add_aces = insert(access_control_entries).on_conflict_do_nothing()

    def initialize_schema(self, dry_run: bool = False) -> None:
        self.database.initialize_schema("permission", dry_run=dry_run)

    def flush(self) -> None:
        def work(conn: Connection) -> None:
            for statement in _FLUSH:
                conn.execute(statement)

        self.database.run(work)

    # Helpers: one statement in the current transaction.

    def _write(self, statement, params: Any = None) -> None:
        self.database.run(lambda conn: conn.execute(statement, params))

    def _read_set(self, statement, params: dict[str, Any]) -> set[str]:
        return self.database.run(
            lambda conn: set(conn.execute(statement, params).scalars()), write=False
        )

    # User principals.

    def add_user_principal(self, user_id: str, principal: str) -> None:
        self._write(self._add_user_principal, {"user_id": user_id, "principal": principal})

    def remove_user_principal(self, user_id: str, principal: str) -> None:
        self._write(_REMOVE_USER_PRINCIPAL, {"user_id": user_id, "principal": principal})

    def remove_principal(self, principal: str) -> None:
        """Remove ``principal`` from every user's principals (ACEs naming it
        are left alone)."""
        self._write(_REMOVE_PRINCIPAL, {"principal": principal})

    def get_user_principals(self, user_id: str) -> set[str]:
        """Principals added for exactly ``user_id``; those of
        ``system.Authenticated`` are not merged in."""
        return self._read_set(_GET_USER_PRINCIPALS, {"user_id": user_id})

    def get_users_principals(self, user_ids: Iterable[str]) -> set[str]:
        """Union of the principals of each of ``user_ids``, in one query."""
        user_ids = list(user_ids)
        if not user_ids:
            return set()
        return self._read_set(_GET_USERS_PRINCIPALS, {"user_ids": user_ids})

    # ACEs.

    def add_principal_to_ace(self, object_id: str, permission: str, principal: str) -> None:
        row = {"object_id": object_id, "permission": permission, "principal": principal}
        self._write(self._add_aces, row)

    def remove_principal_from_ace(self, object_id: str, permission: str, principal: str) -> None:
        row = {"object_id": object_id, "permission": permission, "principal": principal}
        self._write(_REMOVE_FROM_ACE, row)

    def get_object_permission_principals(self, object_id: str, permission: str) -> set[str]:
        return self._read_set(
            _GET_ACE_PRINCIPALS, {"object_id": object_id, "permission": permission}
        )

    def get_objects_permissions(
        self, objects_ids: list[str], permissions: Iterable[str] | None = None
    ) -> list[dict[str, set[str]]]:
        """For each URI (in order) a fresh ``{permission: principals}``; one
        query per 5,000 distinct URIs."""
        if not objects_ids:
            return []
        if permissions is None:
            statement, params = _GET_OBJECTS_ACES, {}
        else:
            params = {"permissions": list(permissions)}
            if not params["permissions"]:
                return [{} for _ in objects_ids]
            statement = _GET_OBJECTS_SOME_ACES
        unique = list(dict.fromkeys(objects_ids))

        def work(conn: Connection) -> dict[str, dict[str, set[str]]]:
            found: dict[str, dict[str, set[str]]] = {}
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                rows = conn.execute(statement, {**params, "object_ids": chunk})
                for object_id, permission, principal in rows:
                    found.setdefault(object_id, {}).setdefault(permission, set()).add(principal)
            return found

        found = self.database.run(work, write=False)
        result = []
        for object_id in objects_ids:
            acl = found.get(object_id)
            result.append({perm: set(holders) for perm, holders in acl.items()} if acl else {})
        return result

    def replace_object_permissions(
        self, object_id: str, permissions: dict[str, Iterable[str]]
    ) -> dict[str, set[str]]:
        """Replace the principals of each permission named in
        ``permissions``; return them as ``{permission: set}``. Rows that stay
        are not rewritten."""
        replacement = {perm: set(principals) for perm, principals in permissions.items()}
        if not replacement:
            return replacement
        rows = [
            {"object_id": object_id, "permission": perm, "principal": principal}
            for perm, holders in replacement.items()
            for principal in holders
        ]
        stale = delete(access_control_entries).where(
            _aces.object_id == object_id, _aces.permission.in_(list(replacement))
        )
        if rows:
            kept = [(row["permission"], row["principal"]) for row in rows]
            stale = stale.where(tuple_(_aces.permission, _aces.principal).not_in(kept))

        def work(conn: Connection) -> None:
            conn.execute(stale)
            if rows:
                conn.execute(self._add_aces, rows)

        self.database.run(work)
        return replacement

    def delete_object_permissions(self, *object_id_match: str) -> None:
        """Delete every ACE of the given URIs; in a pattern ``*`` matches any
        characters, ``/`` included."""
        if not object_id_match:
            return
        exact = [uri for uri in object_id_match if "*" not in uri]
        conditions = [_deletion_condition(uri) for uri in object_id_match if "*" in uri]
        if exact:
            conditions.append(_aces.object_id.in_(exact))
        self._write(delete(access_control_entries).where(or_(*conditions)))

    def get_accessible_objects(
        self,
        principals: Iterable[str],
        bound_permissions: Iterable[BoundPermission] | None = None,
        with_children: bool = True,
    ) -> dict[str, set[str]]:
        """See :meth:`PermissionBase.get_accessible_objects` and the module
        docstring for the pattern rules. One query, reading rows by
        principal, permission and URI prefix."""
        principals = list(principals)
        if not principals:
            return {}
        if bound_permissions is None:
            statement = _ALL_ACCESSIBLE
        else:
            bound = tuple((pattern, perm) for pattern, perm in bound_permissions)
            if not bound:
                return {}
            statement = _accessible_statement(bound, with_children)

        def work(conn: Connection) -> dict[str, set[str]]:
            result: dict[str, set[str]] = {}
            for object_id, permission in conn.execute(statement, {"principals": principals}):
                perms = result.get(object_id)
                if perms is None:
                    result[object_id] = {permission}
                else:
                    perms.add(permission)
            return result

        return self.database.run(work, write=False)

    def get_authorized_principals(self, bound_permissions: Iterable[BoundPermission]) -> set[str]:
        bound = [(uri, perm) for uri, perm in bound_permissions]
        if not bound:
            return set()
        return self._read_set(_GET_AUTHORIZED_PRINCIPALS, {"bound": bound})

    def check_permission(
        self, principals: Iterable[str], bound_permissions: Iterable[BoundPermission]
    ) -> bool:
        """True if one of ``principals`` holds one of ``bound_permissions``
        (the database stops at the first matching row)."""
        if not bound_permissions:
            return False
        bound = [(uri, perm) for uri, perm in bound_permissions]
        params = {"principals": list(principals), "bound": bound}
        if not params["principals"]:
            return False
        return self.database.run(
            lambda conn: conn.execute(_CHECK_PERMISSION, params).first() is not None,
            write=False,
        )


def load_from_config(config, dialect: str, insert: Callable[[Table], Any]) -> Permission:
    """Build the backend of ``dialect`` from the ``permission_url`` and
    ``permission_pool_*`` settings; fail (naming ``kinto migrate``) if the
    schema is not up to date."""
    settings = config.get_settings()
    database = _shared_database(settings, "permission_")
    if database.dialect != dialect:
        raise ConfigurationError(
            f"permission_backend kinto.core.permission.{dialect} needs a {dialect} "
            f"permission_url, not {database.url!r}."
        )
    database.check_schema("permission")
    return Permission(database, insert)


def _shared_database(settings, prefix: str) -> sql.Database:
    """The database of ``<prefix>url``; the storage's one when the URL is the
    storage's, whatever the ``<prefix>pool_*`` settings say: two engines on
    one SQLite file would wait on each other's write lock within a request
    (10 s, then "database is locked"), and on PostgreSQL one connection
    per request is cheaper. (:func:`kinto.core.sql.get_database` keys
    engines by URL *and* pool options.)"""
    url = settings.get(prefix + "url")
    if url and url == settings.get("storage_url"):
        prefix = "storage_"
    return sql.get_database(settings, prefix)


# Patterns.


def _successor(prefix: str) -> str | None:
    """The smallest string above every string starting with ``prefix`` (in
    code point order), or None when there is none."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            return prefix[:-1] + chr(last + 1)
        prefix = prefix[:-1]
    return None


def _prefix_range(prefix: str) -> list[ColumnElement[bool]]:
    """Index-friendly conditions: ``object_id`` starts with ``prefix``."""
    if not prefix:
        return []
    conditions = [_aces.object_id >= prefix]
    upper = _successor(prefix)
    if upper is not None:
        conditions.append(_aces.object_id < upper)
    return conditions


def _segments_regex(pattern: str) -> str:
    """Regex source for ``pattern`` where each ``*`` is one segment."""
    return "[^/]+".join(re.escape(part) for part in pattern.split("*"))


def accessible_regex(pattern: str, with_children: bool) -> str:
    """Anchored regex (valid for Python and PostgreSQL) of the URIs that
    ``pattern`` matches in :meth:`Permission.get_accessible_objects`."""
    head, _, tail = pattern.rpartition("*")
    last_star = "[^/]+(/.+)?" if with_children else "[^/]+"
    return f"(?s)^{_segments_regex(head)}{last_star}{re.escape(tail)}\\Z"


def deletion_regex(pattern: str) -> str:
    """Anchored regex of the URIs that ``pattern`` matches in
    :meth:`Permission.delete_object_permissions` (``*`` is anything)."""
    return "(?s)^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "\\Z"


def _deletion_condition(pattern: str) -> ColumnElement[bool]:
    prefix = pattern.partition("*")[0]
    conditions = _prefix_range(prefix)
    if pattern != prefix + "*" or not conditions:
        # A pattern other than ``<prefix>*`` needs the regex on top.
        conditions.append(_aces.object_id.regexp_match(deletion_regex(pattern)))
    return and_(*conditions)


@functools.lru_cache(maxsize=256)
def _accessible_statement(bound: tuple[BoundPermission, ...], with_children: bool):
    """The query of :meth:`Permission.get_accessible_objects` for these
    bound permissions; the principals are bound at execution. Cached: the
    same questions come back on every request."""
    exact: dict[str, list[str]] = {}
    arms: list[ColumnElement[bool]] = []
    for pattern, permission in bound:
        if "*" not in pattern:
            exact.setdefault(permission, []).append(pattern)
            continue
        arms.append(
            and_(
                _aces.permission == permission,
                *_prefix_range(pattern.partition("*")[0]),
                _aces.object_id.regexp_match(accessible_regex(pattern, with_children)),
            )
        )
    exact_arms = [
        and_(_aces.permission == permission, _aces.object_id.in_(uris))
        for permission, uris in exact.items()
    ]
    return select(_aces.object_id, _aces.permission).where(
        _aces.principal.in_(_expanding("principals")), or_(*exact_arms, *arms)
    )
