"""Permission backend on SQL, written once for PostgreSQL
(:mod:`kinto.core.permission.postgresql`) and SQLite
(:mod:`kinto.core.permission.sqlite`).

Tables (created by ``kinto/core/permission/migrations``, whose first
revision describes them): ``access_control_entries(object_id, permission,
principal)`` with a second index by ``(principal, permission, object_id)``
for :meth:`Permission.get_accessible_objects`, and
``user_principals(user_id, principal)``.

Transactions are those of :class:`kinto.core.sql.Database`: during a request
every call joins the request's transaction (a failed request rolls back its
permission changes with its objects); otherwise each call commits alone.

Statements: every method a request calls (reading principals and ACLs,
checking a permission, listing accessible objects, adding the creator's
ACE, replacing an ACL) runs SQL text on the driver's cursor through
:mod:`kinto.core.sql.fast`: the statements are the ``_UPPER_CASE``
constants below (and :func:`_accessible_statement`), rendered once per
dialect; lists of any length travel as one array parameter
(``= ANY(:name)``, a JSON array on SQLite), so the text never depends on
their length. The rare bulk operations (:meth:`Permission.flush`,
:meth:`Permission.delete_object_permissions`) use SQLAlchemy Core.

``object_id`` compares byte-wise (``COLLATE "C"`` on PostgreSQL, SQLite's
default ``BINARY``): a URI pattern is first narrowed to the index range of
its literal prefix (the text before its first ``*``), then checked with an
anchored regular expression (``~`` on PostgreSQL, ``REGEXP`` on SQLite,
which SQLAlchemy's SQLite dialect registers); in
:meth:`Permission.get_accessible_objects` the rows read for a pattern whose
only ``*`` ends it are checked in Python instead (PostgreSQL spent more
planning and running the expression than the whole answer cost otherwise).
Every public method is one
statement, i.e. one round trip, except :meth:`Permission.flush` and
:meth:`Permission.replace_object_permissions` (two).

Pattern rules are those of the memory backend (see its docstring): in
:meth:`Permission.get_accessible_objects` a ``*`` is one non-empty path
segment and only the last one spans deeper segments with
``with_children=True``; in :meth:`Permission.delete_object_permissions` a
``*`` is any run of characters, ``/`` included.
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
    delete,
    or_,
)
from sqlalchemy.sql.elements import ColumnElement

from kinto.core import sql
from kinto.core.authentication import EVERYONE
from kinto.core.permission import BoundPermission, PermissionBase
from kinto.core.sql import fast

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

# Statements. The per-request ones run on the driver (kinto.core.sql.fast),
# written once with ``= ANY(:name)`` for membership in a list parameter.

#: ``(object_id, permission)`` among the pairs of the bound permissions,
#: given as the ``uris`` and ``permissions`` arrays on PostgreSQL (element
#: by element) and as the JSON array of pairs ``pairs`` on SQLite.
_BOUND = (
    "(object_id, permission) IN"
    " (SELECT * FROM unnest(CAST(:uris AS TEXT[]), CAST(:permissions AS TEXT[])))"
)
_BOUND_SQLITE = (
    "(object_id, permission) IN"
    " (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:pairs))"
)


def _bound_statement(template: str) -> fast.RawStatement:
    """``template`` with ``{bound}`` standing for :data:`_BOUND`. Not
    prepared: planned once for all values, the pairs' join reads every
    entry (the pairs' number is unknown); planned for them, it reads the
    primary key."""
    return fast.RawStatement(
        template.format(bound=_BOUND),
        sqlite=template.format(bound=_BOUND_SQLITE),
        arrays=("uris", "permissions", "pairs"),
        prepare=False,
    )


_GET_USER_PRINCIPALS = fast.RawStatement(
    "SELECT principal FROM user_principals WHERE user_id = :user_id"
)
_GET_USERS_PRINCIPALS = fast.RawStatement(
    "SELECT principal FROM user_principals WHERE user_id = ANY(:user_ids)"
)
_ADD_USER_PRINCIPAL = fast.RawStatement(
    "INSERT INTO user_principals (user_id, principal) VALUES (:user_id, :principal)"
    " ON CONFLICT DO NOTHING"
)
_REMOVE_USER_PRINCIPAL = fast.RawStatement(
    "DELETE FROM user_principals WHERE user_id = :user_id AND principal = :principal"
)
_REMOVE_PRINCIPAL = fast.RawStatement("DELETE FROM user_principals WHERE principal = :principal")
_ADD_ACE = fast.RawStatement(
    "INSERT INTO access_control_entries (object_id, permission, principal)"
    " VALUES (:object_id, :permission, :principal) ON CONFLICT DO NOTHING"
)
_REMOVE_FROM_ACE = fast.RawStatement(
    "DELETE FROM access_control_entries"
    " WHERE object_id = :object_id AND permission = :permission AND principal = :principal"
)
_GET_ACE_PRINCIPALS = fast.RawStatement(
    "SELECT principal FROM access_control_entries"
    " WHERE object_id = :object_id AND permission = :permission"
)
_GET_OBJECTS_ACES = fast.RawStatement(
    "SELECT object_id, permission, principal FROM access_control_entries"
    " WHERE object_id = ANY(:object_ids)"
)
_GET_OBJECTS_SOME_ACES = fast.RawStatement(
    _GET_OBJECTS_ACES.text + " AND permission = ANY(:permissions)"
)
#: The same with the principals of ``user_ids`` first (``object_id`` and
#: ``permission`` NULL): what authorizing a request reads, in one round trip.
_WITH_PRINCIPALS = {
    statement: fast.RawStatement(
        "SELECT NULL, NULL, principal FROM user_principals WHERE user_id = ANY(:user_ids)"  # noqa: S608
        " UNION ALL " + statement.text
    )
    for statement in (_GET_OBJECTS_ACES, _GET_OBJECTS_SOME_ACES)
}
_GET_AUTHORIZED_PRINCIPALS = _bound_statement(
    "SELECT principal FROM access_control_entries WHERE {bound}"
)
_CHECK_PERMISSION = _bound_statement(
    "SELECT 1 FROM access_control_entries WHERE principal = ANY(:principals) AND {bound} LIMIT 1"
)
_ALL_ACCESSIBLE = fast.RawStatement(
    "SELECT object_id, permission FROM access_control_entries WHERE principal = ANY(:principals)"
)
#: Of the permissions ``permissions`` of ``object_id``, the entries other
#: than the ``(kept_permissions, kept_principals)`` pairs (element by
#: element; on SQLite the JSON array of pairs ``kept``).
_REMOVE_STALE_ACES = fast.RawStatement(
    "DELETE FROM access_control_entries"
    " WHERE object_id = :object_id AND permission = ANY(:permissions)"
    " AND (permission, principal) NOT IN (SELECT * FROM"
    " unnest(CAST(:kept_permissions AS TEXT[]), CAST(:kept_principals AS TEXT[])))",
    sqlite="DELETE FROM access_control_entries"
    " WHERE object_id = :object_id AND permission = ANY(:permissions)"
    " AND (permission, principal) NOT IN (SELECT json_extract(value, '$[0]'),"
    " json_extract(value, '$[1]') FROM json_each(:kept))",
    arrays=("kept_permissions", "kept_principals", "kept"),
)
#: The ``(kept_permissions, kept_principals)`` entries of ``object_id``
#: (``kept`` on SQLite), those already there left alone.
_ADD_ACES = fast.RawStatement(
    "INSERT INTO access_control_entries (object_id, permission, principal)"
    " SELECT :object_id, * FROM"
    " unnest(CAST(:kept_permissions AS TEXT[]), CAST(:kept_principals AS TEXT[]))"
    " ON CONFLICT DO NOTHING",
    # ``WHERE true``: without it SQLite would read ``ON CONFLICT`` as a join
    # constraint of the SELECT.
    sqlite="INSERT INTO access_control_entries (object_id, permission, principal)"
    " SELECT :object_id, json_extract(value, '$[0]'), json_extract(value, '$[1]')"
    " FROM json_each(:kept) WHERE true ON CONFLICT DO NOTHING",
    arrays=("kept_permissions", "kept_principals", "kept"),
)
_FLUSH = (delete(access_control_entries), delete(user_principals))


def _pairs_postgresql(pairs: list[BoundPermission]) -> dict[str, Any]:
    return {"uris": [uri for uri, _ in pairs], "permissions": [perm for _, perm in pairs]}


def _pairs_sqlite(pairs: list[BoundPermission]) -> dict[str, Any]:
    return {"pairs": pairs}


class Permission(PermissionBase):
    """Permission backend storing ACEs and group memberships in SQL tables
    of ``database`` (see the module docstring)."""

    def __init__(self, database: sql.Database):
        self.database = database
        postgresql = database.dialect == sql.POSTGRESQL
        #: The parameters of the ``{bound}`` condition for a list of pairs.
        self._bound = _pairs_postgresql if postgresql else _pairs_sqlite
        self._postgresql = postgresql
        #: get_principals_and_permissions' statements with a read along.
        self._along_statements: dict[tuple[str, str], fast.RawStatement] = {}

    def initialize_schema(self, dry_run: bool = False) -> None:
        self.database.initialize_schema("permission", dry_run=dry_run)

    def flush(self) -> None:
        def work(conn: Connection) -> None:
            for statement in _FLUSH:
                conn.execute(statement)

        self.database.run(work)

    # Helpers: one statement in the current transaction.

    def _write(self, statement: fast.RawStatement, params: dict[str, Any]) -> None:
        self.database.run(lambda conn: fast.execute(conn, statement, params))

    def _read_set(self, statement: fast.RawStatement, params: dict[str, Any]) -> set[str]:
        return self.database.run(
            lambda conn: {row[0] for row in fast.fetch_all(conn, statement, params)},
            write=False,
        )

    # User principals.

    def add_user_principal(self, user_id: str, principal: str) -> None:
        self._write(_ADD_USER_PRINCIPAL, {"user_id": user_id, "principal": principal})

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
        # No answer is needed: sent with the next statement (e.g. the
        # object's own INSERT) or the COMMIT on PostgreSQL.
        self.database.run(lambda conn: fast.execute_later(conn, _ADD_ACE, row))

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
        query, whatever the number of URIs."""
        if not objects_ids:
            return []
        query = self._aces_query(objects_ids, permissions)
        if query is None:
            return [{} for _ in objects_ids]
        statement, params = query

        def work(conn: Connection) -> list[dict[str, set[str]]]:
            return _acls(fast.fetch_all(conn, statement, params), objects_ids)

        return self.database.run(work, write=False)

    def get_principals_and_permissions(
        self,
        user_ids: Iterable[str],
        objects_ids: list[str],
        permissions: Iterable[str] | None = None,
        along: fast.Along | None = None,
    ) -> tuple[set[str], list[dict[str, set[str]]]]:
        """:meth:`get_users_principals` and :meth:`get_objects_permissions`
        in one query (``UNION ALL`` of both, the principals' rows with a
        NULL ``object_id``), and ``along`` too when it reads this
        backend's database."""
        user_ids = list(user_ids)
        query = self._aces_query(objects_ids, permissions) if objects_ids else None
        if query is None or not user_ids:
            principals = self.get_users_principals(user_ids)
            return principals, self.get_objects_permissions(objects_ids, permissions)
        statement, params = query
        statement = _WITH_PRINCIPALS[statement]
        params["user_ids"] = user_ids
        marker = None
        if along is not None and along.database is self.database:
            statement = self._with_along(statement, along)
            params.update(along.params)
            marker = along.marker

        def work(conn: Connection) -> tuple[set[str], list[dict[str, set[str]]]]:
            rows = fast.fetch_all(conn, statement, params)
            if marker is not None:
                along.deliver([row for row in rows if row[0] == marker])
                rows = [row for row in rows if row[0] != marker]
            principals = {principal for object_id, _, principal in rows if object_id is None}
            if principals:
                rows = [row for row in rows if row[0] is not None]
            return principals, _acls(rows, objects_ids)

        return self.database.run(work, write=False)

    def _with_along(self, statement: fast.RawStatement, along: fast.Along) -> fast.RawStatement:
        """``statement`` followed by the rows of ``along``, whose guard
        (:data:`kinto.core.sql.fast.GUARD`) becomes: the users hold one of
        the ACEs read, themselves, through a group or as everyone."""
        key = (statement.text, along.sql)
        combined = self._along_statements.get(key)
        if combined is None:
            some = (
                " AND g.permission = ANY(:permissions)"
                if "permissions" in statement.arrays
                else ""
            )
            guard = (
                "EXISTS (SELECT 1 FROM access_control_entries AS g"  # noqa: S608
                f" WHERE g.object_id = ANY(:object_ids){some}"
                f" AND (g.principal = ANY(:user_ids) OR g.principal = '{EVERYONE}'"
                " OR g.principal IN (SELECT u.principal FROM user_principals AS u"
                " WHERE u.user_id = ANY(:user_ids))))"
            )
            along_sql = along.sql.replace(fast.GUARD, guard)
            combined = fast.RawStatement(
                f"{statement.text} UNION ALL {along_sql}",
                arrays=statement.arrays | along.arrays,
            )
            fast.remember(self._along_statements, key, combined)
        return combined

    @staticmethod
    def _aces_query(
        objects_ids: list[str], permissions: Iterable[str] | None
    ) -> tuple[fast.RawStatement, dict[str, Any]] | None:
        """The statement and parameters reading the ACEs of ``objects_ids``
        (restricted to ``permissions`` if given), or None if there are none
        to read (no permission asked)."""
        params: dict[str, Any] = {"object_ids": list(dict.fromkeys(objects_ids))}
        if permissions is None:
            return _GET_OBJECTS_ACES, params
        params["permissions"] = list(permissions)
        if not params["permissions"]:
            return None
        return _GET_OBJECTS_SOME_ACES, params

    def replace_object_permissions(
        self, object_id: str, permissions: dict[str, Iterable[str]]
    ) -> dict[str, set[str]]:
        """Replace the principals of each permission named in
        ``permissions``; return them as ``{permission: set}``. Rows that stay
        are not rewritten."""
        replacement = {perm: set(principals) for perm, principals in permissions.items()}
        if not replacement:
            return replacement
        kept = [(perm, holder) for perm, holders in replacement.items() for holder in holders]
        params: dict[str, Any] = {"object_id": object_id, "permissions": list(replacement)}
        if self._postgresql:
            params["kept_permissions"] = [perm for perm, _ in kept]
            params["kept_principals"] = [principal for _, principal in kept]
        else:
            params["kept"] = kept

        def work(conn: Connection) -> None:
            fast.execute(conn, _REMOVE_STALE_ACES, params)
            if kept:
                fast.execute(conn, _ADD_ACES, params)

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
        statement = delete(access_control_entries).where(or_(*conditions))
        self.database.run(lambda conn: conn.execute(statement))

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
        selected = None
        if bound_permissions is None:
            statement, params = _ALL_ACCESSIBLE, {"principals": principals}
        else:
            bound = tuple((pattern, perm) for pattern, perm in bound_permissions)
            if not bound:
                return {}
            statement, constants, selected = _accessible_statement(bound, with_children)
            params = {**constants, "principals": principals}

        def work(conn: Connection) -> dict[str, set[str]]:
            result: dict[str, set[str]] = {}
            for object_id, permission in fast.fetch_all(conn, statement, params):
                if selected is not None and not selected(object_id, permission):
                    continue
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
        return self._read_set(_GET_AUTHORIZED_PRINCIPALS, self._bound(bound))

    def check_permission(
        self, principals: Iterable[str], bound_permissions: Iterable[BoundPermission]
    ) -> bool:
        """True if one of ``principals`` holds one of ``bound_permissions``
        (the database stops at the first matching row)."""
        if not bound_permissions:
            return False
        principals = list(principals)
        if not principals:
            return False
        params = self._bound([(uri, perm) for uri, perm in bound_permissions])
        params["principals"] = principals
        return self.database.run(
            lambda conn: fast.fetch_one(conn, _CHECK_PERMISSION, params) is not None,
            write=False,
        )


def _acls(
    rows: Iterable[tuple[str, str, str]], objects_ids: list[str]
) -> list[dict[str, set[str]]]:
    """For each of ``objects_ids`` (in order) a fresh ``{permission:
    principals}`` of the ``(object_id, permission, principal)`` rows."""
    found: dict[str, dict[str, set[str]]] = {}
    for object_id, permission, principal in rows:
        acl = found.get(object_id)
        if acl is None:
            found[object_id] = {permission: {principal}}
        else:
            holders = acl.get(permission)
            if holders is None:
                acl[permission] = {principal}
            else:
                holders.add(principal)
    if len(objects_ids) == 1:
        return [found.get(objects_ids[0], {})]
    result = []
    for object_id in objects_ids:
        acl = found.get(object_id)
        result.append({perm: set(holders) for perm, holders in acl.items()} if acl else {})
    return result


def load_from_config(config, dialect: str) -> Permission:
    """Build the backend of ``dialect`` from the ``permission_url`` and
    ``permission_pool_*`` settings; fail (naming ``kinto migrate``) if the
    schema is not up to date."""
    settings = config.get_settings()
    database = sql.get_backend_database(settings, "permission_")
    if database.dialect != dialect:
        raise ConfigurationError(
            f"permission_backend kinto.core.permission.{dialect} needs a {dialect} "
            f"permission_url, not {database.url!r}."
        )
    database.check_schema("permission")
    return Permission(database)


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
def _accessible_statement(
    bound: tuple[BoundPermission, ...], with_children: bool
) -> tuple[fast.RawStatement, dict[str, Any], Callable[[str, str], bool] | None]:
    """The query of :meth:`Permission.get_accessible_objects` for these
    bound permissions, its parameters but ``principals`` (bound at
    execution), and the check its rows must pass, if any. Cached: the same
    questions come back on every request.

    Exact URIs are grouped by permission into one ``object_id = ANY(...)``
    each; a pattern reads the index range of its literal prefix. A pattern
    whose only ``*`` ends it (``/buckets/b/collections/c/records/*``, the
    common question) is checked on the rows read, here: a regular
    expression in the statement costs PostgreSQL more to plan and run than
    the rows cost to check. Other patterns check their regular expression
    in the statement (``~`` on PostgreSQL, ``REGEXP`` on SQLite)."""
    exact: dict[str, list[str]] = {}
    patterns: list[tuple[str, str]] = []
    for pattern, permission in bound:
        if "*" in pattern:
            patterns.append((pattern, permission))
        else:
            exact.setdefault(permission, []).append(pattern)
    params: dict[str, Any] = {}
    arms: list[str] = []
    # What each arm selects, for the rows' check: (permission, URIs, regex).
    selects: list[tuple[str, frozenset[str] | None, re.Pattern | None]] = []
    checked_here = False
    for n, (permission, uris) in enumerate(exact.items()):
        params[f"p{n}"], params[f"u{n}"] = permission, uris
        arms.append(f"(permission = :p{n} AND object_id = ANY(:u{n}))")
        selects.append((permission, frozenset(uris), None))
    for n, (pattern, permission) in enumerate(patterns):
        params[f"q{n}"] = permission
        conditions = [f"permission = :q{n}"]
        prefix = pattern.partition("*")[0]
        ranged = False
        if prefix:
            params[f"from{n}"] = prefix
            conditions.append(f"object_id >= :from{n}")
            upper = _successor(prefix)
            if upper is not None:
                params[f"to{n}"] = upper
                conditions.append(f"object_id < :to{n}")
                ranged = True
        regex = accessible_regex(pattern, with_children)
        if ranged and pattern == prefix + "*":
            checked_here = True
        else:
            params[f"re{n}"] = regex
            conditions.append(f"object_id {{regex}} :re{n}")
        arms.append(f"({' AND '.join(conditions)})")
        selects.append((permission, None, re.compile(regex)))
    # Only fixed text is joined: every value is a bound parameter.
    template = (
        "SELECT object_id, permission FROM access_control_entries"  # noqa: S608
        f" WHERE principal = ANY(:principals) AND ({' OR '.join(arms)})"
    )
    # Not prepared: planned once for all values, the index only serves
    # the principals, not the URIs' ranges.
    statement = fast.RawStatement(
        template.format(regex="~"), sqlite=template.format(regex="REGEXP"), prepare=False
    )
    if not checked_here:
        return statement, params, None

    def selected(object_id: str, permission: str) -> bool:
        for arm_permission, uris, regex in selects:
            if arm_permission != permission:
                continue
            if uris is not None and object_id in uris:
                return True
            if regex is not None and regex.match(object_id):
                return True
        return False

    return statement, params, selected
