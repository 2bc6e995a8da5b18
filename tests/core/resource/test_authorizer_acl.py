"""``Authorizer.require_with_acl``: the authorization decision and the ACL
of the object from one read of the ACEs of the object and its parents,
against Kinto's inheritance table and the memory permission backend."""

from types import SimpleNamespace

import pytest
from pyramid import httpexceptions

from kinto.authorization import AuthorizationPolicy
from kinto.core.authentication import AUTHENTICATED, EVERYONE, BasicAuthAuthenticationPolicy
from kinto.core.authorization import Authorizer
from kinto.core.permission.memory import Permission

BUCKET = "/buckets/b"
COLLECTION = "/buckets/b/collections/c"
RECORD = "/buckets/b/collections/c/records/r"
RECORD_PERMISSIONS = ("read", "write")


class CountingPermission(Permission):
    def __init__(self):
        super().__init__()
        self.reads = 0

    def get_objects_permissions(self, objects_ids, permissions=None):
        self.reads += 1
        return super().get_objects_permissions(objects_ids, permissions)


@pytest.fixture
def backend():
    return CountingPermission()


def request_of(userid):
    principals = [userid, EVERYONE, AUTHENTICATED] if userid else [EVERYONE]
    registry = SimpleNamespace(
        authentication_policies=[BasicAuthAuthenticationPolicy("basicauth", {}, {})]
    )
    return SimpleNamespace(
        prefixed_userid=userid, prefixed_principals=principals, registry=registry
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
