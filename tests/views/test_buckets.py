"""``/buckets`` and ``/buckets/{id}``."""

import re

import pytest
import webtest
from pyramid.config import Configurator

import kinto
from kinto.core import events
from tests.conftest import BASE_SETTINGS

# Creation and ids


def test_authenticated_users_create_buckets(app, alice, alice_id):
    response = app.put_json("/v1/buckets/b", {}, headers=alice, status=201)
    assert response.json["data"]["id"] == "b"
    assert response.json["permissions"] == {"write": [alice_id]}


def test_anonymous_cannot_create_buckets(app):
    response = app.put_json("/v1/buckets/b", {}, status=401)
    assert response.json["errno"] == 104
    app.post_json("/v1/buckets", {}, status=401)


def test_bucket_create_principals_setting(make_app, alice):
    app = make_app(bucket_create_principals="system.Everyone")
    app.put_json("/v1/buckets/anon", {}, status=201)
    app = make_app(bucket_create_principals="basicauth:nobody")
    app.put_json("/v1/buckets/b", {}, headers=alice, status=403)


def test_post_generates_short_names(app, alice):
    bucket_id = app.post_json("/v1/buckets", {}, headers=alice, status=201).json["data"]["id"]
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_-]{7}", bucket_id)


@pytest.mark.parametrize("bucket_id", ["a%20b", "_a", "%C3%A9t%C3%A9", "a.b"])
def test_invalid_ids_are_400(app, alice, bucket_id):
    response = app.put_json(f"/v1/buckets/{bucket_id}", {}, headers=alice, status=400)
    assert response.json["errno"] == 107
    assert response.json["details"][0]["location"] == "path"


def test_unknown_permission_names_are_400(app, alice):
    response = app.put_json(
        "/v1/buckets/b", {"permissions": {"record:create": ["x"]}}, headers=alice, status=400
    )
    assert response.json["errno"] == 107
    body = {"permissions": {"collection:create": ["x"], "group:create": ["y"]}}
    permissions = app.put_json("/v1/buckets/b", body, headers=alice).json["permissions"]
    assert permissions["collection:create"] == ["x"]
    assert permissions["group:create"] == ["y"]


@pytest.mark.parametrize("field", ["collection:schema", "group:schema", "record:schema"])
def test_schema_fields_must_be_json_schemas(app, alice, field):
    response = app.put_json(
        "/v1/buckets/b", {"data": {field: {"type": "wrong"}}}, headers=alice, status=400
    )
    assert response.json["details"][0]["name"] == f"data.{field}"
    app.put_json("/v1/buckets/b", {"data": {field: 42}}, headers=alice, status=400)
    app.put_json("/v1/buckets/b", {"data": {field: {"type": "object"}}}, headers=alice, status=201)


# Reading


def test_get_bucket(app, alice, alice_id, bucket):
    response = app.get("/v1/buckets/b", headers=alice)
    assert response.json == {"data": bucket, "permissions": {"write": [alice_id]}}
    assert response.headers["ETag"] == f'"{bucket["last_modified"]}"'


def test_missing_bucket_is_403_unless_readable(make_app, app, alice):
    app.get("/v1/buckets/nope", headers=alice, status=403)
    app.get("/v1/buckets/nope", status=401)
    app = make_app(bucket_read_principals="system.Authenticated")
    response = app.get("/v1/buckets/nope", headers=alice, status=404)
    assert response.json["details"] == {"id": "nope", "resource_name": "bucket"}


def test_bucket_permissions_grant_read(app, alice, bob, bob_id, bucket):
    app.get("/v1/buckets/b", headers=bob, status=403)
    for permission in ("read", "collection:create", "group:create"):
        app.patch_json("/v1/buckets/b", {"permissions": {permission: [bob_id]}}, headers=alice)
        assert app.get("/v1/buckets/b", headers=bob).json["permissions"] == {}
        app.patch_json("/v1/buckets/b", {"permissions": {permission: []}}, headers=alice)
    app.patch_json("/v1/buckets/b", {"permissions": {"write": [bob_id]}}, headers=alice)
    assert "write" in app.get("/v1/buckets/b", headers=bob).json["permissions"]


def test_list_shows_accessible_buckets_only(app, alice, bob, bob_id, bucket):
    app.put_json("/v1/buckets/other", {}, headers=bob)
    data = app.get("/v1/buckets", headers=bob).json["data"]
    assert [obj["id"] for obj in data] == ["other"]
    app.patch_json("/v1/buckets/b", {"permissions": {"group:create": [bob_id]}}, headers=alice)
    data = app.get("/v1/buckets", headers=bob).json["data"]
    assert {obj["id"] for obj in data} == {"b", "other"}


def test_list_without_buckets_is_empty_for_creators(app, carla, bucket):
    response = app.get("/v1/buckets", headers=carla)
    assert response.json == {"data": []}
    assert response.headers["ETag"]


def test_anonymous_list_is_401(app, bucket):
    app.get("/v1/buckets", status=401)


def test_public_bucket_is_listed_for_anonymous(app, alice, bucket):
    app.patch_json("/v1/buckets/b", {"permissions": {"read": ["system.Everyone"]}}, headers=alice)
    data = app.get("/v1/buckets").json["data"]
    assert [obj["id"] for obj in data] == ["b"]


def test_bucket_cache_expires_setting(make_app, alice):
    app = make_app(bucket_cache_expires_seconds=10)
    app.put_json("/v1/buckets/b", {"permissions": {"read": ["system.Everyone"]}}, headers=alice)
    assert app.get("/v1/buckets/b").headers["Cache-Control"] == "max-age=10"
    assert app.get("/v1/buckets/b", headers=alice).headers["Cache-Control"] == "no-cache, no-store"


# Writing


def test_writing_a_child_does_not_change_the_bucket_timestamp(app, alice, bucket):
    app.put_json("/v1/buckets/b/collections/c", {}, headers=alice)
    app.put_json("/v1/buckets/b/groups/g", {}, headers=alice)
    after = app.get("/v1/buckets/b", headers=alice).json["data"]
    assert after["last_modified"] == bucket["last_modified"]


def test_only_writers_modify_buckets(app, alice, bob, bob_id, bucket):
    app.patch_json("/v1/buckets/b", {"permissions": {"read": [bob_id]}}, headers=alice)
    app.patch_json("/v1/buckets/b", {"data": {"x": 1}}, headers=bob, status=403)
    app.delete("/v1/buckets/b", headers=bob, status=403)


# Deletion cascade


@pytest.fixture
def tree(app, alice, bob_id, bucket):
    app.put_json("/v1/buckets/b/groups/g", {"data": {"members": [bob_id]}}, headers=alice)
    app.put_json(
        "/v1/buckets/b/collections/c",
        {"permissions": {"read": ["/buckets/b/groups/g"]}},
        headers=alice,
    )
    app.put_json(
        "/v1/buckets/b/collections/c/records/r",
        {"permissions": {"read": [bob_id]}},
        headers=alice,
    )
    app.delete("/v1/buckets/b/collections/c/records/r", headers=alice)
    app.put_json("/v1/buckets/b/collections/c/records/r2", {}, headers=alice)


def test_deleting_a_bucket_deletes_its_children(app, alice, bob, tree):
    response = app.delete("/v1/buckets/b", headers=alice)
    data = response.json["data"]
    assert data["id"] == "b" and data["deleted"] is True
    assert "permissions" not in response.json

    app.put_json("/v1/buckets/b", {}, headers=alice)
    assert app.get("/v1/buckets/b/collections", headers=alice).json["data"] == []
    assert app.get("/v1/buckets/b/groups", headers=alice).json["data"] == []
    app.put_json("/v1/buckets/b/collections/c", {}, headers=alice)
    records = app.get("/v1/buckets/b/collections/c/records?_since=0", headers=alice)
    assert records.json["data"] == []


def test_deleting_a_bucket_removes_acls_and_group_principals(app, alice, bob, principals, tree):
    assert "/buckets/b/groups/g" in principals(bob)
    app.delete("/v1/buckets/b", headers=alice)
    assert "/buckets/b/groups/g" not in principals(bob)
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.put_json("/v1/buckets/b/collections/c", {}, headers=alice)
    app.get("/v1/buckets/b/collections/c", headers=bob, status=403)


def test_deleting_a_bucket_notifies_only_the_bucket(alice):
    received = []
    config = Configurator(settings=BASE_SETTINGS)
    config.add_subscriber(received.append, events.ResourceChanged)
    app = webtest.TestApp(kinto.main({}, config=config))
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.put_json("/v1/buckets/b/collections/c", {}, headers=alice)
    app.put_json("/v1/buckets/b/collections/c/records/r", {}, headers=alice)
    received.clear()
    app.delete("/v1/buckets/b", headers=alice)
    (event,) = received
    assert event.payload["resource_name"] == "bucket"
    assert event.payload["action"] == "delete"
    assert event.payload["bucket_id"] == "b"
    assert [change["old"]["id"] for change in event.impacted_objects] == ["b"]


def test_deleting_a_bucket_keeps_other_buckets(app, alice, bucket):
    app.put_json("/v1/buckets/bb", {}, headers=alice)
    app.put_json("/v1/buckets/bb/collections/c", {}, headers=alice)
    app.put_json("/v1/buckets/bb/collections/c/records/r", {}, headers=alice)
    app.delete("/v1/buckets/b", headers=alice)
    app.get("/v1/buckets/bb/collections/c/records/r", headers=alice, status=200)


def test_deleting_all_buckets_cascades(app, alice, tree):
    data = app.delete("/v1/buckets", headers=alice).json["data"]
    assert [obj["id"] for obj in data] == ["b"]
    app.put_json("/v1/buckets/b", {}, headers=alice)
    assert app.get("/v1/buckets/b/groups", headers=alice).json["data"] == []


def test_deleted_bucket_leaves_a_tombstone(make_app, alice):
    app = make_app(bucket_read_principals="system.Authenticated")
    app.put_json("/v1/buckets/b", {}, headers=alice)
    tombstone = app.delete("/v1/buckets/b", headers=alice).json["data"]
    data = app.get("/v1/buckets?_since=0", headers=alice).json["data"]
    assert data == [tombstone]
    assert tombstone["deleted"] is True


def test_deleted_bucket_tombstone_is_hidden_without_list_read(app, alice, bucket):
    app.delete("/v1/buckets/b", headers=alice)
    # Deleting the bucket removed its ACL: nothing grants reading it anymore.
    assert app.get("/v1/buckets?_since=0", headers=alice).json["data"] == []
