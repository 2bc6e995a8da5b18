"""The Authorizer against Kinto's inheritance table and a real memory
permission backend."""

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
from kinto.core.authorization import Authorizer
from kinto.core.permission.memory import Permission

BUCKET = "/buckets/b"
COLLECTION = "/buckets/b/collections/c"
RECORDS = "/buckets/b/collections/c/records"
RECORD = "/buckets/b/collections/c/records/r"


@pytest.fixture
def backend():
    return Permission()


def make_authorizer(backend, **settings):
    return Authorizer(AuthorizationPolicy, settings, backend)


def make_request(userid="basicauth:alice", groups=()):
    principals = [EVERYONE]
    if userid:
        principals = [userid, EVERYONE, AUTHENTICATED, *groups]
    registry = SimpleNamespace(
        authentication_policies=[BasicAuthAuthenticationPolicy("basicauth", {}, {})]
    )
    identity = Identity(userid, tuple(principals), "basicauth" if userid else None)
    return SimpleNamespace(
        prefixed_userid=userid,
        prefixed_principals=principals,
        registry=registry,
        environ={IDENTITY_ENVIRON_KEY: identity},
        bound_data={},  # where a batch keeps its memo (kinto.core.batch_memo)
    )


def test_parse_names_lineage_and_list_resource(backend):
    authorizer = make_authorizer(backend)
    parsed = authorizer.parse(RECORDS)
    assert parsed.lineage == (("bucket", BUCKET), ("collection", COLLECTION))
    assert parsed.list_resource == "record"
    assert authorizer.parse(RECORD).resource_name == "record"
    assert authorizer.parse("/unknown/x") is None


def test_record_read_is_granted_by_every_level(backend):
    authorizer = make_authorizer(backend)
    bound, _ = authorizer.bound_permissions("read", RECORD)
    assert set(bound) == {
        (BUCKET, "write"),
        (BUCKET, "read"),
        (COLLECTION, "write"),
        (COLLECTION, "read"),
        (RECORD, "write"),
        (RECORD, "read"),
    }


def test_list_level_read_excludes_object_level_aces(backend):
    authorizer = make_authorizer(backend)
    bound, _ = authorizer.bound_permissions("read", RECORDS)
    assert set(bound) == {
        (BUCKET, "write"),
        (BUCKET, "read"),
        (COLLECTION, "write"),
        (COLLECTION, "read"),
    }


def test_record_creation_is_granted_by_parent_create_or_write(backend):
    authorizer = make_authorizer(backend)
    bound, _ = authorizer.bound_permissions("create", RECORDS)
    assert set(bound) == {
        (BUCKET, "write"),
        (COLLECTION, "write"),
        (COLLECTION, "record:create"),
    }


def test_bucket_creation_is_granted_by_settings_only(backend):
    authorizer = make_authorizer(backend, bucket_create_principals="system.Authenticated")
    assert authorizer.is_allowed(make_request(), "create", "/buckets")
    assert not authorizer.is_allowed(make_request(userid=None), "create", "/buckets")


def test_inherited_bucket_write_grants_record_write(backend):
    authorizer = make_authorizer(backend)
    backend.add_principal_to_ace(BUCKET, "write", "basicauth:alice")
    request = make_request()
    assert authorizer.is_allowed(request, "write", RECORD)
    assert authorizer.is_allowed(request, "read", RECORDS)
    assert not authorizer.is_allowed(make_request("basicauth:bob"), "read", RECORD)


def test_collection_record_create_does_not_grant_record_read(backend):
    authorizer = make_authorizer(backend)
    backend.add_principal_to_ace(COLLECTION, "record:create", "basicauth:alice")
    request = make_request()
    assert authorizer.is_allowed(request, "create", RECORDS)
    assert authorizer.is_allowed(request, "read", COLLECTION)
    assert not authorizer.is_allowed(request, "read", RECORD)


def test_group_principal_grants_through_acl(backend):
    authorizer = make_authorizer(backend)
    backend.add_principal_to_ace(COLLECTION, "read", "/buckets/b/groups/g")
    assert authorizer.is_allowed(make_request(groups=["/buckets/b/groups/g"]), "read", RECORD)
    assert not authorizer.is_allowed(make_request(), "read", RECORD)


def test_record_level_ace_does_not_grant_list_read(backend):
    authorizer = make_authorizer(backend)
    backend.add_principal_to_ace(RECORD, "read", "basicauth:alice")
    request = make_request()
    assert not authorizer.is_allowed(request, "read", RECORDS)
    assert authorizer.accessible_ids(request, "read", RECORDS) == ["r"]


def test_accessible_ids_ignores_other_lists_and_deeper_objects(backend):
    authorizer = make_authorizer(backend)
    backend.add_principal_to_ace(
        "/buckets/b/collections/other/records/x", "read", "basicauth:alice"
    )
    backend.add_principal_to_ace("/buckets/b/collections/c", "write", "basicauth:alice")
    backend.add_principal_to_ace(RECORD, "write", "basicauth:alice")
    assert authorizer.accessible_ids(make_request(), "read", RECORDS) == ["r"]
    buckets = authorizer.accessible_ids(make_request(), "read", "/buckets")
    assert buckets == []


def test_settings_grant_read_on_every_record(backend):
    authorizer = make_authorizer(backend, record_read_principals="basicauth:alice")
    assert authorizer.is_allowed(make_request(), "read", RECORD)
    assert authorizer.is_allowed(make_request(), "read", RECORDS)
    assert not authorizer.is_allowed(make_request(), "write", RECORD)


def test_settings_grant_collection_creation_anywhere(backend):
    authorizer = make_authorizer(backend, collection_create_principals="system.Authenticated")
    assert authorizer.is_allowed(make_request(), "create", "/buckets/any/collections")


def test_require_raises_401_with_challenge_for_anonymous(backend):
    authorizer = make_authorizer(backend)
    with pytest.raises(httpexceptions.HTTPUnauthorized) as raised:
        authorizer.require(make_request(userid=None), "read", RECORD)
    assert raised.value.headers["WWW-Authenticate"] == 'Basic realm="Realm"'
    assert b'"errno":104' in raised.value.body


def test_require_raises_403_for_authenticated(backend):
    authorizer = make_authorizer(backend)
    with pytest.raises(httpexceptions.HTTPForbidden) as raised:
        authorizer.require(make_request(), "write", BUCKET)
    assert b'"errno":121' in raised.value.body


def test_expand_lists_implied_permissions_on_same_object(backend):
    authorizer = make_authorizer(backend)
    assert authorizer.expand("bucket", ["write"]) == {
        "write",
        "read",
        "read:attributes",
        "collection:create",
        "group:create",
    }
    assert authorizer.expand("record", ["read"]) == {"read"}
