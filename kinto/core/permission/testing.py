"""Conformance suite for permission backends.

Every backend's test module subclasses :class:`PermissionSuite` and names
its module; the tests talk to the backend only through
:class:`kinto.core.permission.PermissionBase`::

    from kinto.core.permission import memory
    from kinto.core.permission.testing import PermissionSuite

    class TestMemoryPermission(PermissionSuite):
        backend = memory
        settings = {}

A backend needing a server (PostgreSQL...) puts its URL in ``settings`` and
may override :meth:`PermissionSuite.create_permission` (to share an engine)
or the ``permission`` fixture.
"""

from __future__ import annotations

import types
from typing import Any, ClassVar

import pytest
from pyramid.config import Configurator

from kinto.core.permission import PermissionBase

EVERYONE = "system.Everyone"
AUTHENTICATED = "system.Authenticated"

BUCKET = "/buckets/b"
COLLECTION = "/buckets/b/collections/c"
OTHER_COLLECTION = "/buckets/b/collections/d"
RECORD = "/buckets/b/collections/c/records/r"
OTHER_RECORD = "/buckets/b/collections/c/records/s"
GROUP = "/buckets/b/groups/g"

#: Values that SQL text, parameter styles or JSON could mistake for syntax.
ODD_VALUES = [
    "it's",
    'say "hi"',
    "100%",
    "%(name)s",
    ":name",
    "a,b",
    "{a,b}",
    "[1]",
    "a\\b",
    "zoë",
    "🦊",
    " padded ",
]


class PermissionSuite:
    """Behaviour every permission backend must have. Not collected by
    itself (no ``Test`` prefix): subclass it and set :attr:`backend`."""

    #: The backend module, exposing ``load_from_config(config)``.
    backend: ClassVar[types.ModuleType]
    #: Settings given to ``load_from_config`` (without ``kinto.`` prefix).
    settings: ClassVar[dict[str, Any]] = {}

    def create_permission(self) -> PermissionBase:
        """Build the backend from :attr:`settings`, as the app would."""
        config = Configurator(settings=dict(self.settings))
        return self.backend.load_from_config(config)

    @pytest.fixture
    def permission(self):
        backend = self.create_permission()
        backend.initialize_schema()
        backend.flush()
        yield backend
        backend.flush()

    # Backend.

    def test_is_a_permission_backend(self, permission):
        assert isinstance(permission, PermissionBase)

    def test_heartbeat_reports_a_working_backend(self, permission):
        assert permission.heartbeat() is True

    def test_initialize_schema_can_run_twice(self, permission):
        permission.initialize_schema()
        permission.initialize_schema(dry_run=True)
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        assert permission.get_object_permission_principals(BUCKET, "read") == {"alice"}

    def test_flush_removes_aces_and_user_principals(self, permission):
        permission.add_principal_to_ace(BUCKET, "write", "alice")
        permission.add_user_principal("alice", GROUP)
        permission.flush()
        assert permission.get_object_permission_principals(BUCKET, "write") == set()
        assert permission.get_user_principals("alice") == set()
        assert permission.get_accessible_objects(["alice"]) == {}

    # User principals.

    def test_user_without_principals_has_an_empty_set(self, permission):
        assert permission.get_user_principals("alice") == set()

    def test_added_user_principals_are_returned(self, permission):
        permission.add_user_principal("alice", GROUP)
        permission.add_user_principal("alice", "/buckets/b/groups/h")
        assert permission.get_user_principals("alice") == {GROUP, "/buckets/b/groups/h"}

    def test_adding_a_user_principal_twice_keeps_one(self, permission):
        permission.add_user_principal("alice", GROUP)
        permission.add_user_principal("alice", GROUP)
        assert permission.get_user_principals("alice") == {GROUP}

    def test_user_principals_are_per_user(self, permission):
        permission.add_user_principal("alice", GROUP)
        assert permission.get_user_principals("bob") == set()

    def test_removed_user_principal_is_gone_and_others_stay(self, permission):
        permission.add_user_principal("alice", GROUP)
        permission.add_user_principal("alice", "/buckets/b/groups/h")
        permission.remove_user_principal("alice", GROUP)
        assert permission.get_user_principals("alice") == {"/buckets/b/groups/h"}

    def test_removing_an_absent_user_principal_is_harmless(self, permission):
        permission.remove_user_principal("alice", GROUP)
        permission.add_user_principal("alice", GROUP)
        permission.remove_user_principal("alice", "/buckets/b/groups/h")
        assert permission.get_user_principals("alice") == {GROUP}

    def test_remove_principal_removes_it_from_every_user(self, permission):
        permission.add_user_principal("alice", GROUP)
        permission.add_user_principal("bob", GROUP)
        permission.add_user_principal("bob", "/buckets/b/groups/h")
        permission.remove_principal(GROUP)
        assert permission.get_user_principals("alice") == set()
        assert permission.get_user_principals("bob") == {"/buckets/b/groups/h"}

    def test_remove_principal_leaves_its_aces_alone(self, permission):
        permission.add_user_principal("alice", GROUP)
        permission.add_principal_to_ace(BUCKET, "read", GROUP)
        permission.remove_principal(GROUP)
        assert permission.get_object_permission_principals(BUCKET, "read") == {GROUP}

    def test_removed_principal_can_be_added_again(self, permission):
        permission.add_user_principal("alice", GROUP)
        permission.remove_principal(GROUP)
        permission.add_user_principal("bob", GROUP)
        assert permission.get_user_principals("alice") == set()
        assert permission.get_user_principals("bob") == {GROUP}

    def test_authenticated_principals_are_stored_like_a_user(self, permission):
        permission.add_user_principal(AUTHENTICATED, GROUP)
        assert permission.get_user_principals(AUTHENTICATED) == {GROUP}

    def test_mutating_returned_user_principals_changes_nothing(self, permission):
        permission.add_user_principal("alice", GROUP)
        permission.get_user_principals("alice").add("intruder")
        assert permission.get_user_principals("alice") == {GROUP}

    def test_users_principals_are_the_union_of_each_users(self, permission):
        permission.add_user_principal("alice", GROUP)
        permission.add_user_principal(AUTHENTICATED, GROUP)
        permission.add_user_principal(AUTHENTICATED, "/buckets/b/groups/h")
        permission.add_user_principal("bob", "/buckets/b/groups/i")
        assert permission.get_users_principals(iter(["alice", AUTHENTICATED, "carol"])) == {
            GROUP,
            "/buckets/b/groups/h",
        }

    def test_users_principals_of_no_user_are_empty(self, permission):
        permission.add_user_principal("alice", GROUP)
        assert permission.get_users_principals([]) == set()
        assert permission.get_users_principals(["bob"]) == set()

    def test_mutating_returned_users_principals_changes_nothing(self, permission):
        permission.add_user_principal("alice", GROUP)
        permission.get_users_principals(["alice"]).add("intruder")
        assert permission.get_users_principals(["alice"]) == {GROUP}

    # One ACE.

    def test_unknown_ace_has_no_principals(self, permission):
        assert permission.get_object_permission_principals(BUCKET, "read") == set()

    def test_added_principals_are_returned_for_that_ace_only(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.add_principal_to_ace(BUCKET, "read", "bob")
        permission.add_principal_to_ace(BUCKET, "write", "carol")
        assert permission.get_object_permission_principals(BUCKET, "read") == {"alice", "bob"}
        assert permission.get_object_permission_principals(BUCKET, "write") == {"carol"}
        assert permission.get_object_permission_principals(COLLECTION, "read") == set()

    def test_adding_a_principal_twice_keeps_one(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        assert permission.get_object_permission_principals(BUCKET, "read") == {"alice"}

    def test_removed_principal_leaves_the_others_in_the_ace(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.add_principal_to_ace(BUCKET, "read", "bob")
        permission.remove_principal_from_ace(BUCKET, "read", "alice")
        assert permission.get_object_permission_principals(BUCKET, "read") == {"bob"}

    def test_removing_an_absent_principal_from_an_ace_is_harmless(self, permission):
        permission.remove_principal_from_ace(BUCKET, "read", "alice")
        permission.add_principal_to_ace(BUCKET, "read", "bob")
        permission.remove_principal_from_ace(BUCKET, "read", "alice")
        permission.remove_principal_from_ace(BUCKET, "write", "bob")
        assert permission.get_object_permission_principals(BUCKET, "read") == {"bob"}

    def test_principals_may_be_any_string(self, permission):
        odd = ["basicauth:0123abcdef", "account:zoë", "with space", "quote'\"", GROUP]
        for principal in odd:
            permission.add_principal_to_ace(RECORD, "read", principal)
        assert permission.get_object_permission_principals(RECORD, "read") == set(odd)

    def test_mutating_returned_principals_changes_nothing(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.get_object_permission_principals(BUCKET, "read").add("intruder")
        assert permission.get_object_permission_principals(BUCKET, "read") == {"alice"}

    # Object permissions.

    def test_object_permissions_list_every_permission(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.add_principal_to_ace(BUCKET, "write", "bob")
        permission.add_principal_to_ace(BUCKET, "collection:create", AUTHENTICATED)
        assert permission.get_object_permissions(BUCKET) == {
            "read": {"alice"},
            "write": {"bob"},
            "collection:create": {AUTHENTICATED},
        }

    def test_object_permissions_can_be_restricted_to_some_permissions(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.add_principal_to_ace(BUCKET, "write", "bob")
        permission.add_principal_to_ace(BUCKET, "group:create", "carol")
        assert permission.get_object_permissions(BUCKET, ["read", "write", "other"]) == {
            "read": {"alice"},
            "write": {"bob"},
        }

    def test_object_without_aces_has_empty_permissions(self, permission):
        assert permission.get_object_permissions(BUCKET) == {}

    def test_emptied_permissions_are_omitted(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.add_principal_to_ace(BUCKET, "write", "bob")
        permission.remove_principal_from_ace(BUCKET, "read", "alice")
        assert permission.get_object_permissions(BUCKET) == {"write": {"bob"}}

    def test_objects_permissions_follow_the_order_of_the_input(self, permission):
        permission.add_principal_to_ace(BUCKET, "write", "alice")
        permission.add_principal_to_ace(RECORD, "read", "bob")
        result = permission.get_objects_permissions([RECORD, "/buckets/unknown", BUCKET, RECORD])
        assert result == [{"read": {"bob"}}, {}, {"write": {"alice"}}, {"read": {"bob"}}]

    def test_objects_permissions_can_be_restricted_to_some_permissions(self, permission):
        permission.add_principal_to_ace(BUCKET, "write", "alice")
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.add_principal_to_ace(COLLECTION, "write", "bob")
        result = permission.get_objects_permissions([BUCKET, COLLECTION], ["read"])
        assert result == [{"read": {"alice"}}, {}]

    def test_objects_permissions_of_no_objects_is_an_empty_list(self, permission):
        assert permission.get_objects_permissions([]) == []

    def test_mutating_returned_object_permissions_changes_nothing(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.get_object_permissions(BUCKET)["read"].add("intruder")
        assert permission.get_object_permissions(BUCKET) == {"read": {"alice"}}

    # Replacing permissions.

    def test_replace_sets_the_principals_of_named_permissions(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.add_principal_to_ace(BUCKET, "read", "bob")
        permission.replace_object_permissions(BUCKET, {"read": ["bob", "carol"]})
        assert permission.get_object_permissions(BUCKET) == {"read": {"bob", "carol"}}

    def test_replace_leaves_unnamed_permissions_untouched(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.add_principal_to_ace(BUCKET, "write", "bob")
        permission.replace_object_permissions(BUCKET, {"read": ["carol"]})
        assert permission.get_object_permissions(BUCKET) == {
            "read": {"carol"},
            "write": {"bob"},
        }

    def test_replace_with_an_empty_list_empties_the_permission(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.add_principal_to_ace(BUCKET, "write", "bob")
        permission.replace_object_permissions(BUCKET, {"read": []})
        assert permission.get_object_permissions(BUCKET) == {"write": {"bob"}}
        assert permission.get_accessible_objects(["alice"]) == {}

    def test_replace_on_an_object_without_aces_creates_them(self, permission):
        permission.replace_object_permissions(RECORD, {"read": ["alice"], "write": ("bob",)})
        assert permission.get_object_permissions(RECORD) == {
            "read": {"alice"},
            "write": {"bob"},
        }

    def test_replace_returns_the_permissions_given(self, permission):
        permission.add_principal_to_ace(BUCKET, "write", "bob")
        result = permission.replace_object_permissions(
            BUCKET, {"read": ["alice", "alice"], "group:create": []}
        )
        assert {perm: set(principals) for perm, principals in result.items()} == {
            "read": {"alice"},
            "group:create": set(),
        }

    def test_replace_with_nothing_changes_nothing(self, permission):
        permission.add_principal_to_ace(BUCKET, "write", "bob")
        permission.replace_object_permissions(BUCKET, {})
        assert permission.get_object_permissions(BUCKET) == {"write": {"bob"}}

    def test_replace_only_touches_the_given_object(self, permission):
        permission.add_principal_to_ace(COLLECTION, "read", "alice")
        permission.replace_object_permissions(BUCKET, {"read": ["bob"]})
        assert permission.get_object_permissions(COLLECTION) == {"read": {"alice"}}

    def test_replaced_aces_are_seen_by_accessible_objects(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.replace_object_permissions(BUCKET, {"read": ["bob"]})
        assert permission.get_accessible_objects(["alice"]) == {}
        assert permission.get_accessible_objects(["bob"]) == {BUCKET: {"read"}}

    # Deleting object permissions.

    def test_delete_removes_every_ace_of_the_object(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.add_principal_to_ace(BUCKET, "write", "bob")
        permission.add_principal_to_ace(COLLECTION, "read", "alice")
        permission.delete_object_permissions(BUCKET)
        assert permission.get_object_permissions(BUCKET) == {}
        assert permission.get_object_permissions(COLLECTION) == {"read": {"alice"}}

    def test_delete_accepts_several_uris(self, permission):
        for uri in (BUCKET, COLLECTION, GROUP):
            permission.add_principal_to_ace(uri, "write", "alice")
        permission.delete_object_permissions(BUCKET, GROUP, "/buckets/unknown")
        assert permission.get_accessible_objects(["alice"]) == {COLLECTION: {"write"}}

    def test_delete_of_nothing_changes_nothing(self, permission):
        permission.add_principal_to_ace(BUCKET, "write", "alice")
        permission.delete_object_permissions()
        assert permission.get_object_permissions(BUCKET) == {"write": {"alice"}}

    def test_delete_with_a_star_removes_everything_under_the_prefix(self, permission):
        for uri in (BUCKET, COLLECTION, RECORD, GROUP, "/buckets/bb", "/buckets/bb/groups/g"):
            permission.add_principal_to_ace(uri, "write", "alice")
        permission.delete_object_permissions("/buckets/b/*")
        assert permission.get_accessible_objects(["alice"]) == {
            BUCKET: {"write"},
            "/buckets/bb": {"write"},
            "/buckets/bb/groups/g": {"write"},
        }

    def test_delete_of_an_object_and_its_children(self, permission):
        for uri in (BUCKET, COLLECTION, RECORD, "/buckets/c/collections/c"):
            permission.add_principal_to_ace(uri, "read", "alice")
        permission.delete_object_permissions(BUCKET, f"{BUCKET}/*")
        assert permission.get_accessible_objects(["alice"]) == {
            "/buckets/c/collections/c": {"read"}
        }

    def test_delete_of_a_list_pattern_keeps_the_parent_and_siblings(self, permission):
        for uri in (COLLECTION, RECORD, OTHER_RECORD, "/buckets/b/collections/d/records/r"):
            permission.add_principal_to_ace(uri, "read", "alice")
        permission.delete_object_permissions(f"{COLLECTION}/records/*")
        assert permission.get_accessible_objects(["alice"]) == {
            COLLECTION: {"read"},
            "/buckets/b/collections/d/records/r": {"read"},
        }

    def test_delete_with_a_star_in_the_middle(self, permission):
        for uri in ("/buckets/a/collections/c", COLLECTION, "/buckets/a/collections/d"):
            permission.add_principal_to_ace(uri, "read", "alice")
        permission.delete_object_permissions("/buckets/*/collections/c")
        assert permission.get_accessible_objects(["alice"]) == {
            "/buckets/a/collections/d": {"read"}
        }

    def test_delete_with_a_star_inside_a_segment(self, permission):
        for uri in (RECORD, f"{RECORD}2", f"{RECORD}2/x", OTHER_RECORD, COLLECTION):
            permission.add_principal_to_ace(uri, "read", "alice")
        permission.delete_object_permissions(f"{RECORD}*")
        assert permission.get_accessible_objects(["alice"]) == {
            OTHER_RECORD: {"read"},
            COLLECTION: {"read"},
        }

    def test_deleted_aces_can_be_granted_again(self, permission):
        permission.add_principal_to_ace(RECORD, "read", "alice")
        permission.delete_object_permissions(RECORD)
        permission.add_principal_to_ace(RECORD, "read", "alice")
        assert permission.get_accessible_objects(["alice"]) == {RECORD: {"read"}}

    # Accessible objects.

    def test_accessible_objects_without_bounds_are_every_ace_of_the_principals(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.add_principal_to_ace(BUCKET, "write", "alice")
        permission.add_principal_to_ace(COLLECTION, "record:create", GROUP)
        permission.add_principal_to_ace(RECORD, "read", "bob")
        permission.add_principal_to_ace(GROUP, "write", EVERYONE)
        assert permission.get_accessible_objects(["alice", GROUP, EVERYONE]) == {
            BUCKET: {"read", "write"},
            COLLECTION: {"record:create"},
            GROUP: {"write"},
        }

    def test_accessible_objects_of_no_principal_are_empty(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", EVERYONE)
        assert permission.get_accessible_objects([]) == {}
        assert permission.get_accessible_objects([], [(BUCKET, "read")]) == {}

    def test_accessible_objects_accept_any_iterable_of_principals(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        principals = (p for p in ["alice", "bob"])
        assert permission.get_accessible_objects(principals) == {BUCKET: {"read"}}

    def test_accessible_objects_merge_permissions_of_several_principals(self, permission):
        permission.add_principal_to_ace(RECORD, "read", "alice")
        permission.add_principal_to_ace(RECORD, "write", GROUP)
        bound = [(f"{COLLECTION}/records/*", "read"), (f"{COLLECTION}/records/*", "write")]
        assert permission.get_accessible_objects(["alice", GROUP], bound) == {
            RECORD: {"read", "write"}
        }

    def test_empty_bound_permissions_match_nothing(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        assert permission.get_accessible_objects(["alice"], []) == {}

    def test_bound_permission_with_an_exact_uri(self, permission):
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        permission.add_principal_to_ace(COLLECTION, "read", "alice")
        assert permission.get_accessible_objects(["alice"], [(BUCKET, "read")]) == {
            BUCKET: {"read"}
        }

    def test_exact_uri_does_not_match_children_even_with_children(self, permission):
        permission.add_principal_to_ace(COLLECTION, "read", "alice")
        result = permission.get_accessible_objects(
            ["alice"], [(BUCKET, "read")], with_children=True
        )
        assert result == {}

    def test_bound_permissions_only_report_the_permissions_asked(self, permission):
        permission.add_principal_to_ace(RECORD, "read", "alice")
        permission.add_principal_to_ace(RECORD, "write", "alice")
        permission.add_principal_to_ace(OTHER_RECORD, "write", "alice")
        bound = [(f"{COLLECTION}/records/*", "read")]
        assert permission.get_accessible_objects(["alice"], bound) == {RECORD: {"read"}}

    def test_bound_permissions_ignore_other_principals_aces(self, permission):
        permission.add_principal_to_ace(RECORD, "read", "alice")
        permission.add_principal_to_ace(OTHER_RECORD, "read", "bob")
        bound = [(f"{COLLECTION}/records/*", "read")]
        assert permission.get_accessible_objects(["alice"], bound) == {RECORD: {"read"}}

    def test_star_matches_one_segment_without_children(self, permission):
        for uri in (BUCKET, COLLECTION, OTHER_COLLECTION, RECORD, GROUP):
            permission.add_principal_to_ace(uri, "read", "alice")
        permission.add_principal_to_ace("/buckets/b2/collections/c", "read", "alice")
        bound = [(f"{BUCKET}/collections/*", "read")]
        result = permission.get_accessible_objects(["alice"], bound, with_children=False)
        assert result == {COLLECTION: {"read"}, OTHER_COLLECTION: {"read"}}

    def test_last_star_matches_deeper_uris_with_children(self, permission):
        for uri in (BUCKET, COLLECTION, RECORD, GROUP):
            permission.add_principal_to_ace(uri, "read", "alice")
        permission.add_principal_to_ace("/buckets/b2/collections/c", "read", "alice")
        bound = [(f"{BUCKET}/collections/*", "read")]
        result = permission.get_accessible_objects(["alice"], bound, with_children=True)
        assert result == {COLLECTION: {"read"}, RECORD: {"read"}}

    def test_with_children_is_the_default(self, permission):
        permission.add_principal_to_ace(RECORD, "read", "alice")
        bound = [(f"{BUCKET}/collections/*", "read")]
        assert permission.get_accessible_objects(["alice"], bound) == {RECORD: {"read"}}

    def test_several_stars_each_match_one_segment(self, permission):
        matching = ["/buckets/a/collections/c/records/r", "/buckets/b/collections/d/records/s"]
        others = [
            "/buckets/a/collections/c",
            "/buckets/a/groups/c/records/r",
            "/buckets/a/collections/c/records/r/attachments/x",
            "/buckets/a/x/collections/c/records/r",
        ]
        for uri in matching + others:
            permission.add_principal_to_ace(uri, "write", "alice")
        bound = [("/buckets/*/collections/*/records/*", "write")]
        result = permission.get_accessible_objects(["alice"], bound, with_children=False)
        assert result == {uri: {"write"} for uri in matching}

    def test_star_may_stand_before_the_last_segment(self, permission):
        matching = ["/buckets/a/collections/c", COLLECTION]
        others = [OTHER_COLLECTION, "/buckets/a/x/collections/c", "/buckets/a/collections/cc"]
        for uri in matching + others:
            permission.add_principal_to_ace(uri, "read", "alice")
        bound = [("/buckets/*/collections/c", "read")]
        result = permission.get_accessible_objects(["alice"], bound, with_children=False)
        assert result == {uri: {"read"} for uri in matching}

    def test_only_the_last_star_spans_segments_with_children(self, permission):
        permission.add_principal_to_ace(RECORD, "read", "alice")
        permission.add_principal_to_ace("/buckets/a/x/collections/c", "read", "alice")
        bound = [("/buckets/*/collections/*", "read")]
        result = permission.get_accessible_objects(["alice"], bound, with_children=True)
        assert result == {RECORD: {"read"}}

    def test_star_does_not_match_a_longer_literal_prefix(self, permission):
        permission.add_principal_to_ace("/buckets/bb/collections/c", "read", "alice")
        permission.add_principal_to_ace("/buckets/b/collectionsx/c", "read", "alice")
        bound = [(f"{BUCKET}/collections/*", "read")]
        assert permission.get_accessible_objects(["alice"], bound) == {}

    def test_pattern_and_exact_bounds_combine(self, permission):
        for uri in (BUCKET, COLLECTION, RECORD, OTHER_RECORD):
            permission.add_principal_to_ace(uri, "write", "alice")
        permission.add_principal_to_ace(BUCKET, "read", "alice")
        bound = [
            (BUCKET, "read"),
            (BUCKET, "write"),
            (COLLECTION, "write"),
            (f"{COLLECTION}/records/*", "write"),
        ]
        result = permission.get_accessible_objects(["alice"], bound, with_children=False)
        assert result == {
            BUCKET: {"read", "write"},
            COLLECTION: {"write"},
            RECORD: {"write"},
            OTHER_RECORD: {"write"},
        }

    def test_same_question_twice_gives_the_same_answer(self, permission):
        permission.add_principal_to_ace(RECORD, "read", "alice")
        bound = [(f"{COLLECTION}/records/*", "read")]
        first = permission.get_accessible_objects(["alice"], bound, with_children=False)
        first[RECORD].add("write")
        second = permission.get_accessible_objects(["alice"], bound, with_children=False)
        assert second == {RECORD: {"read"}}

    def test_removed_ace_is_no_longer_accessible(self, permission):
        permission.add_principal_to_ace(RECORD, "read", "alice")
        permission.add_principal_to_ace(OTHER_RECORD, "read", "alice")
        permission.remove_principal_from_ace(RECORD, "read", "alice")
        bound = [(f"{COLLECTION}/records/*", "read")]
        assert permission.get_accessible_objects(["alice"], bound) == {OTHER_RECORD: {"read"}}

    # Authorized principals and checks.

    def test_authorized_principals_are_the_union_of_the_aces(self, permission):
        permission.add_principal_to_ace(BUCKET, "write", "alice")
        permission.add_principal_to_ace(COLLECTION, "read", "bob")
        permission.add_principal_to_ace(COLLECTION, "write", "carol")
        permission.add_principal_to_ace(RECORD, "read", "dave")
        bound = [(BUCKET, "write"), (COLLECTION, "read"), (RECORD, "write")]
        assert permission.get_authorized_principals(bound) == {"alice", "bob"}

    def test_authorized_principals_of_unknown_aces_are_empty(self, permission):
        assert permission.get_authorized_principals([(BUCKET, "read")]) == set()
        assert permission.get_authorized_principals([]) == set()

    def test_authorized_principals_take_uris_literally(self, permission):
        permission.add_principal_to_ace(COLLECTION, "read", "alice")
        assert permission.get_authorized_principals([(f"{BUCKET}/*", "read")]) == set()

    def test_check_permission_is_true_when_a_principal_holds_a_bound(self, permission):
        permission.add_principal_to_ace(COLLECTION, "write", GROUP)
        bound = [(BUCKET, "write"), (COLLECTION, "write")]
        assert permission.check_permission(["alice", GROUP], bound) is True

    def test_check_permission_is_false_otherwise(self, permission):
        permission.add_principal_to_ace(COLLECTION, "write", "bob")
        permission.add_principal_to_ace(COLLECTION, "read", "alice")
        bound = [(BUCKET, "write"), (COLLECTION, "write")]
        assert permission.check_permission(["alice"], bound) is False

    def test_check_permission_without_bounds_is_false(self, permission):
        permission.add_principal_to_ace(BUCKET, "write", "alice")
        assert permission.check_permission(["alice"], []) is False

    # Patterns are literal except for their stars.

    @pytest.mark.parametrize(
        "name", ["a.b", "a+b", "a(b)", "a[b]", "a\\b", "a$b", "a^b", "a%b", "a_b", "zoë", "a|b"]
    )
    def test_uri_characters_other_than_star_are_literal(self, permission, name):
        bucket = f"/buckets/{name}"
        lookalikes = ["/buckets/aXb", "/buckets/ab", "/buckets/a", "/buckets/zoe"]
        for uri in [f"{bucket}/collections/c", *(f"{u}/collections/c" for u in lookalikes)]:
            permission.add_principal_to_ace(uri, "read", "alice")
        bound = [(f"{bucket}/collections/*", "read")]
        assert permission.get_accessible_objects(["alice"], bound) == {
            f"{bucket}/collections/c": {"read"}
        }
        permission.delete_object_permissions(f"{bucket}/*")
        remaining = permission.get_accessible_objects(["alice"])
        assert set(remaining) == {f"{u}/collections/c" for u in lookalikes}

    def test_deletion_pattern_with_stars_in_the_middle_and_at_the_end(self, permission):
        for uri in [
            "/buckets/a/collections/c/records/r",
            "/buckets/a/groups/g",
            "/buckets/b/collections/d",
            "/buckets/b/collections",
        ]:
            permission.add_principal_to_ace(uri, "write", "alice")
        permission.delete_object_permissions("/buckets/*/collections/*")
        assert set(permission.get_accessible_objects(["alice"])) == {
            "/buckets/a/groups/g",
            "/buckets/b/collections",
        }

    def test_star_alone_deletes_everything(self, permission):
        permission.add_principal_to_ace("/buckets/a", "write", "alice")
        permission.add_principal_to_ace("", "write", "alice")
        permission.delete_object_permissions("*")
        assert permission.get_accessible_objects(["alice"]) == {}

    def test_accessible_objects_under_a_star_only_pattern(self, permission):
        permission.add_principal_to_ace("/buckets/a", "read", "alice")
        permission.add_principal_to_ace("/buckets/a/groups/g", "read", "alice")
        result = permission.get_accessible_objects(["alice"], [("/buckets/*", "read")], False)
        assert result == {"/buckets/a": {"read"}}

    # Volumes.

    def test_objects_permissions_of_many_uris_come_in_their_order(self, permission):
        uris = [f"{COLLECTION}/records/r{n}" for n in range(12_000)]
        for uri in (uris[0], uris[6_000], uris[-1]):
            permission.add_principal_to_ace(uri, "read", "alice")
        result = permission.get_objects_permissions(uris, ["read"])
        assert len(result) == len(uris)
        assert [n for n, acl in enumerate(result) if acl] == [0, 6_000, 11_999]

    # Values are matched literally, whatever their characters.

    @pytest.mark.parametrize("odd", ODD_VALUES)
    def test_odd_principals_are_matched_literally(self, permission, odd):
        permission.add_user_principal(odd, f"{odd}-group")
        permission.add_user_principal("plain", "plain-group")
        permission.add_principal_to_ace(COLLECTION, "read", odd)
        assert permission.get_users_principals([odd, "nobody"]) == {f"{odd}-group"}
        assert permission.check_permission([odd], [(COLLECTION, "read")]) is True
        assert permission.check_permission(["plain"], [(COLLECTION, "read")]) is False
        assert permission.get_authorized_principals([(COLLECTION, "read")]) == {odd}
        assert permission.get_accessible_objects([odd]) == {COLLECTION: {"read"}}

    @pytest.mark.parametrize("odd", ODD_VALUES)
    def test_odd_uris_and_permissions_are_matched_literally(self, permission, odd):
        uri = f"/buckets/{odd}"
        permission.replace_object_permissions(uri, {odd: ["alice"], "read": [odd]})
        permission.add_principal_to_ace("/buckets/plain", odd, "alice")
        assert permission.get_objects_permissions([uri, "/buckets/x"]) == [
            {odd: {"alice"}, "read": {odd}},
            {},
        ]
        assert permission.get_objects_permissions([uri], [odd]) == [{odd: {"alice"}}]
        assert permission.check_permission(["alice"], [(uri, odd)]) is True
        assert permission.get_authorized_principals([(uri, odd)]) == {"alice"}
        assert permission.get_accessible_objects(["alice"], [(uri, odd)]) == {uri: {odd}}
        assert permission.get_accessible_objects(["alice"], [("/buckets/*", odd)]) == {
            uri: {odd},
            "/buckets/plain": {odd},
        }
        permission.replace_object_permissions(uri, {odd: [odd]})
        assert permission.get_object_permissions(uri) == {odd: {odd}, "read": {odd}}

    def test_bound_permissions_are_pairs_not_their_cross_product(self, permission):
        permission.add_principal_to_ace("/buckets/a", "write", "alice")
        permission.add_principal_to_ace("/buckets/b", "read", "bob")
        bound = [("/buckets/a", "read"), ("/buckets/b", "write")]
        assert permission.check_permission(["alice", "bob"], bound) is False
        assert permission.get_authorized_principals(bound) == set()
        assert permission.get_accessible_objects(["alice", "bob"], bound) == {}

    def test_replace_keeps_only_the_given_pairs(self, permission):
        permission.replace_object_permissions(
            COLLECTION, {"read": ["alice", "bob"], "write": ["alice", "bob"]}
        )
        permission.replace_object_permissions(COLLECTION, {"read": ["alice"], "write": ["bob"]})
        assert permission.get_object_permissions(COLLECTION) == {
            "read": {"alice"},
            "write": {"bob"},
        }

    @pytest.mark.parametrize(
        "user_ids,objects_ids,permissions",
        [
            (["alice", "bob"], [COLLECTION, "/buckets/b", COLLECTION], None),
            (["alice"], [COLLECTION, "/buckets/b"], ["write"]),
            (["alice"], [COLLECTION], []),
            (["alice"], [], None),
            ([], [COLLECTION], None),
            (["nobody"], ["/buckets/none"], ["read"]),
        ],
    )
    def test_principals_and_permissions_are_those_of_the_two_calls(
        self, permission, user_ids, objects_ids, permissions
    ):
        permission.add_user_principal("alice", "/buckets/b/groups/g")
        permission.add_user_principal("bob", "/buckets/b/groups/h")
        permission.replace_object_permissions(COLLECTION, {"read": ["alice"], "write": ["bob"]})
        permission.add_principal_to_ace("/buckets/b", "write", "/buckets/b/groups/g")
        principals, acls = permission.get_principals_and_permissions(
            user_ids, objects_ids, permissions
        )
        assert principals == permission.get_users_principals(user_ids)
        assert acls == permission.get_objects_permissions(objects_ids, permissions)

    def test_principals_and_permissions_give_each_uri_its_own_sets(self, permission):
        permission.add_principal_to_ace(COLLECTION, "read", "alice")
        _, (first, second) = permission.get_principals_and_permissions(
            ["alice"], [COLLECTION, COLLECTION]
        )
        first["read"].add("mallory")
        assert second == {"read": {"alice"}}
