"""``Authorizer.require_with_acl``: the authorization decision and the ACL
of the object from one read of the ACEs of the object and its parents,
against Kinto's inheritance table and the memory permission backend.

A caller whose groups are not looked up yet (a *pending* identity) gets them
from the same backend call as the ACEs."""

from types import SimpleNamespace

import pytest
from pyramid import httpexceptions

from kinto.authorization import AuthorizationPolicy
from kinto.core.authentication import (
    AUTHENTICATED,
    EVERYONE,
    IDENTITY_ENVIRON_KEY,
    BasicAuthAuthenticationPolicy,
    Identity,
)
from kinto.core.authorization import Authorizer, groupfinder
from kinto.core.permission.memory import Permission

BUCKET = "/buckets/b"
COLLECTION = "/buckets/b/collections/c"
RECORD = "/buckets/b/collections/c/records/r"
RECORD_PERMISSIONS = ("read", "write")


class CountingPermission(Permission):
    def __init__(self):
        super().__init__()
        self.reads = 0
        self.calls = []

    def get_objects_permissions(self, objects_ids, permissions=None):
        self.reads += 1
        self.calls.append("get_objects_permissions")
        return super().get_objects_permissions(objects_ids, permissions)

    def get_users_principals(self, user_ids):
        self.calls.append("get_users_principals")
        return super().get_users_principals(user_ids)

    def get_principals_and_permissions(self, user_ids, objects_ids, permissions=None):
        # One call of the interface (the memory backend answers it with the
        # two others, not recorded).
        calls = list(self.calls)
        result = super().get_principals_and_permissions(user_ids, objects_ids, permissions)
        self.calls = [*calls, "get_principals_and_permissions"]
        return result


@pytest.fixture
def backend():
    return CountingPermission()


def request_of(userid, pending=False, backend=None):
    """A request whose identity is complete (no groups), or pending."""
    principals = (userid, EVERYONE, AUTHENTICATED) if userid else (EVERYONE,)
    known = principals
    if pending:
        principals = None
    identity = Identity(userid, principals, "basicauth" if userid else None, known)
    registry = SimpleNamespace(
        authentication_policies=[BasicAuthAuthenticationPolicy("basicauth", {}, {})],
        groupfinder=groupfinder,
        permission=backend,
    )
    return SimpleNamespace(
        prefixed_userid=userid,
        prefixed_principals=list(known),
        registry=registry,
        environ={IDENTITY_ENVIRON_KEY: identity},
        bound_data={},  # where a batch keeps its memo (kinto.core.batch_memo)
    )


def require(backend, userid, permission="read", **settings):
    authorizer = Authorizer(AuthorizationPolicy, settings, backend)
    return authorizer.require_with_acl(request_of(userid), permission, RECORD, RECORD_PERMISSIONS)


def test_permission_inherited_from_the_bucket_returns_the_record_acl(backend):
    backend.add_principal_to_ace(BUCKET, "read", "alice")
    backend.add_principal_to_ace(RECORD, "write", "bob")
    assert require(backend, "alice") == {"write": {"bob"}}
    assert backend.reads == 1


def test_own_ace_on_the_record_grants_it(backend):
    backend.add_principal_to_ace(RECORD, "read", "alice")
    assert require(backend, "alice") == {"read": {"alice"}}


def test_write_implies_read_at_the_collection_level(backend):
    backend.add_principal_to_ace(COLLECTION, "write", "alice")
    assert require(backend, "alice") == {}


def test_only_the_resource_permission_names_are_returned(backend):
    backend.add_principal_to_ace(RECORD, "read", "alice")
    backend.add_principal_to_ace(RECORD, "record:create", "alice")  # not a record permission
    assert require(backend, "alice") == {"read": {"alice"}}


def test_read_does_not_grant_write(backend):
    backend.add_principal_to_ace(RECORD, "read", "alice")
    with pytest.raises(httpexceptions.HTTPForbidden):
        require(backend, "alice", "write")


def test_anonymous_callers_get_401(backend):
    backend.add_principal_to_ace(RECORD, "read", "alice")
    with pytest.raises(httpexceptions.HTTPUnauthorized):
        require(backend, None)


def test_everyone_ace_grants_anonymous_callers(backend):
    backend.add_principal_to_ace(COLLECTION, "read", EVERYONE)
    assert require(backend, None) == {}


def test_settings_grant_still_returns_the_acl(backend):
    backend.add_principal_to_ace(RECORD, "write", "bob")
    acl = require(backend, "alice", record_read_principals="alice")
    assert acl == {"write": {"bob"}}


def test_pending_identity_reads_groups_and_aces_in_one_call(backend):
    backend.add_user_principal("alice", "/buckets/b/groups/g")
    backend.add_principal_to_ace(COLLECTION, "read", "/buckets/b/groups/g")
    request = request_of("alice", pending=True, backend=backend)
    authorizer = Authorizer(AuthorizationPolicy, {}, backend)
    assert authorizer.require_with_acl(request, "read", RECORD, RECORD_PERMISSIONS) == {}
    assert backend.calls == ["get_principals_and_permissions"]


def test_pending_identity_is_completed_with_the_groups(backend):
    backend.add_user_principal(AUTHENTICATED, "/buckets/b/groups/all")
    backend.add_principal_to_ace(RECORD, "read", "alice")
    request = request_of("alice", pending=True, backend=backend)
    Authorizer(AuthorizationPolicy, {}, backend).require_with_acl(
        request, "read", RECORD, RECORD_PERMISSIONS
    )
    identity = request.environ[IDENTITY_ENVIRON_KEY]
    assert identity.principals == ("alice", EVERYONE, AUTHENTICATED, "/buckets/b/groups/all")


def test_pending_identity_without_a_granting_group_is_forbidden(backend):
    backend.add_user_principal("alice", "/buckets/b/groups/g")
    backend.add_principal_to_ace(COLLECTION, "read", "/buckets/b/groups/other")
    request = request_of("alice", pending=True, backend=backend)
    with pytest.raises(httpexceptions.HTTPForbidden):
        Authorizer(AuthorizationPolicy, {}, backend).require_with_acl(
            request, "read", RECORD, RECORD_PERMISSIONS
        )


def test_is_allowed_with_a_pending_identity_uses_one_call(backend):
    backend.add_user_principal("alice", "/buckets/b/groups/g")
    backend.add_principal_to_ace(BUCKET, "write", "/buckets/b/groups/g")
    request = request_of("alice", pending=True, backend=backend)
    authorizer = Authorizer(AuthorizationPolicy, {}, backend)
    assert authorizer.is_allowed(request, "read", COLLECTION + "/records")
    assert backend.calls == ["get_principals_and_permissions"]


def test_settings_grant_to_a_known_principal_needs_no_backend_call(backend):
    request = request_of("alice", pending=True, backend=backend)
    authorizer = Authorizer(
        AuthorizationPolicy, {"bucket_create_principals": AUTHENTICATED}, backend
    )
    assert authorizer.is_allowed(request, "create", "/buckets")
    assert backend.calls == []
    assert request.environ[IDENTITY_ENVIRON_KEY].principals is None


def test_settings_grant_to_a_group_is_honoured_for_a_pending_identity(backend):
    backend.add_user_principal("alice", "/buckets/b/groups/admins")
    request = request_of("alice", pending=True, backend=backend)
    settings = {"bucket_create_principals": "/buckets/b/groups/admins"}
    assert Authorizer(AuthorizationPolicy, settings, backend).is_allowed(
        request, "create", "/buckets"
    )
