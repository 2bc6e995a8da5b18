"""``kinto.plugins.default_bucket`` (plugins.md §2)."""

import hashlib
import hmac
import re

import pytest

PLUGIN = "kinto.plugins.default_bucket"
RECORDING = "tests.plugins.default_bucket.recording"
UUID_FORMAT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def app(make_app):
    return make_app(includes=PLUGIN, event_listeners=RECORDING)


@pytest.fixture
def alice(auth_headers):
    return auth_headers("alice")


@pytest.fixture
def bob(auth_headers):
    return auth_headers("bob")


def user_id(app, headers):
    return app.get("/v1/", headers=headers).json["user"]["id"]


def expected_bucket_id(secret: str, userid: str) -> str:
    digest = hmac.new(secret.encode(), userid.encode(), hashlib.sha256).hexdigest()[:32]
    return "-".join((digest[:8], digest[8:12], digest[12:16], digest[16:20], digest[20:]))


def recorded(app):
    return app.app.registry.recorded_events


# Identity


def test_hello_shows_the_personal_bucket_id_derived_from_the_user_id(app, alice):
    user = app.get("/v1/", headers=alice).json["user"]
    assert user["bucket"] == expected_bucket_id("", user["id"])
    assert UUID_FORMAT.match(user["bucket"])


def test_the_bucket_id_is_keyed_with_the_default_bucket_secret(make_app, alice):
    app = make_app(includes=PLUGIN, default_bucket_hmac_secret="s3cr3t")
    user = app.get("/v1/", headers=alice).json["user"]
    assert user["bucket"] == expected_bucket_id("s3cr3t", user["id"])
    assert app.get("/v1/buckets/default", headers=alice).json["data"]["id"] == user["bucket"]


def test_users_get_different_buckets(app, alice, bob):
    alice_bucket = app.get("/v1/buckets/default", headers=alice).json["data"]["id"]
    bob_bucket = app.get("/v1/buckets/default", headers=bob).json["data"]["id"]
    assert alice_bucket != bob_bucket
    app.get(f"/v1/buckets/{alice_bucket}", headers=bob, status=403)


def test_hello_has_no_user_for_anonymous_and_announces_the_capability(app):
    body = app.get("/v1/").json
    assert "user" not in body
    capability = body["capabilities"]["default_bucket"]
    assert capability["description"] and capability["url"]


# Access


def test_anonymous_access_is_401(app):
    for method in ("get", "put", "delete"):
        response = getattr(app, method)("/v1/buckets/default/collections/c", status=401)
        assert response.json["errno"] == 104
        assert "WWW-Authenticate" in response.headers


def test_readonly_mode_is_405_even_for_reads(make_app, alice):
    app = make_app(includes=PLUGIN, readonly="true")
    for path in ("/v1/buckets/default", "/v1/buckets/default/collections/c/records"):
        response = app.get(path, headers=alice, status=405)
        assert response.json["errno"] == 115
    app.put_json("/v1/buckets/default", {}, headers=alice, status=405)


def test_preflight_needs_no_authentication(app):
    headers = {"Origin": "http://example.com", "Access-Control-Request-Method": "POST"}
    for path in ("/v1/buckets/default", "/v1/buckets/default/collections/c/records"):
        response = app.options(path, headers=headers, status=200)
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert recorded(app) == []


def test_trailing_slash_redirects_to_the_default_path(app, alice):
    response = app.get("/v1/buckets/default/", headers=alice, status=307)
    assert response.headers["Location"].endswith("/v1/buckets/default")
    response = app.get("/v1/buckets/default/collections/c/?a=1", headers=alice, status=307)
    assert response.headers["Location"].endswith("/v1/buckets/default/collections/c?a=1")


# Implicit creation


def test_get_creates_the_bucket_owned_by_the_user(app, alice):
    uid = user_id(app, alice)
    response = app.get("/v1/buckets/default", headers=alice, status=200)
    bucket = response.json["data"]
    assert bucket["id"] == expected_bucket_id("", uid)
    assert response.json["permissions"] == {"write": [uid]}
    again = app.get("/v1/buckets/default", headers=alice).json["data"]
    assert again["last_modified"] == bucket["last_modified"]


def test_collection_urls_create_the_collection_too(app, alice):
    response = app.get("/v1/buckets/default/collections/tasks/records", headers=alice)
    assert response.json["data"] == []
    bucket_id = app.get("/v1/", headers=alice).json["user"]["bucket"]
    collection = app.get(f"/v1/buckets/{bucket_id}/collections/tasks", headers=alice)
    assert collection.json["permissions"] == {"write": [user_id(app, alice)]}


def test_listing_collections_creates_no_collection(app, alice):
    assert app.get("/v1/buckets/default/collections", headers=alice).json["data"] == []


def test_records_written_in_the_default_bucket_live_in_the_personal_bucket(app, alice):
    created = app.post_json(
        "/v1/buckets/default/collections/tasks/records",
        {"data": {"title": "milk"}},
        headers=alice,
        status=201,
    ).json["data"]
    bucket_id = app.get("/v1/", headers=alice).json["user"]["bucket"]
    url = f"/v1/buckets/{bucket_id}/collections/tasks/records/{created['id']}"
    assert app.get(url, headers=alice).json["data"] == created
    listed = app.get("/v1/buckets/default/collections/tasks/records", headers=alice).json["data"]
    assert listed == [created]


def test_invalid_collection_id_is_400_and_creates_nothing(app, alice):
    response = app.get("/v1/buckets/default/collections/a%20b/records", headers=alice, status=400)
    assert response.json["errno"] == 107
    assert response.json["details"][0]["location"] == "path"
    assert recorded(app) == []


def test_put_of_the_bucket_creates_it_with_the_request_data(app, alice):
    response = app.put_json(
        "/v1/buckets/default", {"data": {"title": "mine"}}, headers=alice, status=201
    )
    assert response.json["data"]["title"] == "mine"
    assert [payload["action"] for payload, _ in recorded(app)] == ["create"]


def test_body_id_default_is_the_real_bucket_id(app, alice):
    response = app.put_json(
        "/v1/buckets/default", {"data": {"id": "default", "a": 1}}, headers=alice, status=201
    )
    bucket_id = app.get("/v1/", headers=alice).json["user"]["bucket"]
    assert response.json["data"] == {
        "id": bucket_id,
        "a": 1,
        "last_modified": response.json["data"]["last_modified"],
    }


def test_put_of_a_collection_creates_it_with_the_request_data(app, alice):
    response = app.put_json(
        "/v1/buckets/default/collections/c", {"data": {"x": 1}}, headers=alice, status=201
    )
    assert response.json["data"]["x"] == 1


def test_implicit_creations_emit_create_events_as_object_urls(app, alice):
    app.post_json("/v1/buckets/default/collections/c/records", {"data": {}}, headers=alice)
    bucket_id = app.get("/v1/", headers=alice).json["user"]["bucket"]
    events = recorded(app)
    assert [(p["resource_name"], p["action"]) for p, _ in events] == [
        ("bucket", "create"),
        ("collection", "create"),
        ("record", "create"),
    ]
    bucket_payload, bucket_objects = events[0]
    assert bucket_payload["uri"] == f"/buckets/{bucket_id}"
    assert bucket_payload["bucket_id"] == bucket_id
    assert bucket_payload["user_id"] == user_id(app, alice)
    assert bucket_objects[0]["new"]["id"] == bucket_id
    collection_payload, collection_objects = events[1]
    assert collection_payload["uri"] == f"/buckets/{bucket_id}/collections/c"
    assert collection_payload["bucket_id"] == bucket_id
    assert collection_payload["collection_id"] == "c"
    assert collection_objects[0]["new"]["id"] == "c"
    assert bucket_payload["timestamp"] == bucket_objects[0]["new"]["last_modified"]
    record_payload = events[2][0]
    assert record_payload["uri"] == f"/buckets/{bucket_id}/collections/c/records"
    assert record_payload["bucket_id"] == bucket_id


def test_without_explicit_permissions_the_user_is_not_added_to_the_acl(make_app, alice):
    app = make_app(includes=PLUGIN, explicit_permissions="false")
    bucket_id = app.get("/v1/", headers=alice).json["user"]["bucket"]
    app.get("/v1/buckets/default", headers=alice, status=403)
    permission = app.app.registry.permission
    assert permission.get_object_permissions(f"/buckets/{bucket_id}") == {}
    assert app.app.registry.storage.get("bucket", "", bucket_id)["id"] == bucket_id


# Forwarding


def test_query_string_is_forwarded_and_next_page_shows_the_real_id(app, alice):
    for title in ("a", "b", "c"):
        app.post_json(
            "/v1/buckets/default/collections/c/records", {"data": {"t": title}}, headers=alice
        )
    bucket_id = app.get("/v1/", headers=alice).json["user"]["bucket"]
    response = app.get("/v1/buckets/default/collections/c/records?_limit=2&_sort=t", headers=alice)
    assert [r["t"] for r in response.json["data"]] == ["a", "b"]
    next_page = response.headers["Next-Page"]
    assert f"/v1/buckets/{bucket_id}/collections/c/records?" in next_page
    assert "_sort=t" in next_page


def test_headers_are_forwarded(app, alice):
    url = "/v1/buckets/default/collections/c/records/r"
    app.put_json(url, {"data": {}}, headers=alice, status=201)
    response = app.put_json(url, {"data": {}}, headers={**alice, "If-None-Match": "*"}, status=412)
    assert response.json["errno"] == 114
    etag = app.get(url, headers=alice).headers["ETag"]
    app.get(url, headers={**alice, "If-None-Match": etag}, status=304)


def test_head_is_forwarded(app, alice):
    app.post_json("/v1/buckets/default/collections/c/records", {"data": {}}, headers=alice)
    response = app.head("/v1/buckets/default/collections/c/records", headers=alice)
    assert response.headers["Total-Objects"] == "1"
    assert response.body == b""


def test_patch_and_delete_are_forwarded(app, alice):
    url = "/v1/buckets/default/collections/c/records/r"
    app.put_json(url, {"data": {"a": 1}}, headers=alice)
    patched = app.patch_json(url, {"data": {"b": 2}}, headers=alice).json["data"]
    assert (patched["a"], patched["b"]) == (1, 2)
    assert app.delete(url, headers=alice).json["data"]["deleted"] is True
    app.get(url, headers=alice, status=404)


def test_json_patch_bodies_are_forwarded_untouched(app, alice):
    app.get("/v1/buckets/default", headers=alice)
    response = app.patch(
        "/v1/buckets/default",
        b'[{"op": "add", "path": "/data/id2", "value": "default"}]',
        headers={**alice, "Content-Type": "application/json-patch+json"},
    )
    assert response.json["data"]["id2"] == "default"


def test_invalid_json_is_reported_by_the_real_endpoint(app, alice):
    response = app.put(
        "/v1/buckets/default",
        b"{not json",
        headers={**alice, "Content-Type": "application/json"},
        status=400,
    )
    assert response.json["errno"] == 107


def test_unknown_subpaths_are_404(app, alice):
    response = app.get("/v1/buckets/default/unknown", headers=alice, status=404)
    assert response.json["errno"] == 111


def test_errors_of_the_real_endpoint_are_the_response(app, alice):
    response = app.get("/v1/buckets/default/groups/g", headers=alice, status=404)
    assert response.json["errno"] == 110


# Batch


def test_batch_creates_bucket_and_collection_once(app, alice):
    requests = [
        {"method": "POST", "path": "/buckets/default/collections/c/records", "body": {"data": {}}}
        for _ in range(3)
    ]
    response = app.post_json("/v1/batch", {"requests": requests}, headers=alice)
    assert [r["status"] for r in response.json["responses"]] == [201, 201, 201]
    events = recorded(app)
    assert [(p["resource_name"], len(objects)) for p, objects in events] == [
        ("bucket", 1),
        ("collection", 1),
        ("record", 3),
    ]


def test_batch_subrequest_after_a_failed_one_finds_or_recreates_the_collection(app, alice):
    # The failed subrequest's implicit creations are rolled back where the
    # backend has transactions: the next one must not believe they exist.
    path = "/buckets/default/collections/tasks/records"
    requests = [
        {"method": "POST", "path": path, "body": {"data": "not an object"}},
        {"method": "POST", "path": path, "body": {"data": {"title": "ok"}}},
    ]
    response = app.post_json("/v1/batch", {"requests": requests}, headers=alice)
    assert [r["status"] for r in response.json["responses"]] == [400, 201]
    records = app.get(f"/v1{path}", headers=alice).json["data"]
    assert [record["title"] for record in records] == ["ok"]


def test_batch_recreates_the_bucket_after_its_deletion(app, alice):
    requests = [
        {"method": "GET", "path": "/buckets/default"},
        {"method": "DELETE", "path": "/buckets/default"},
        {"method": "GET", "path": "/buckets/default/collections/c"},
    ]
    response = app.post_json("/v1/batch", {"requests": requests}, headers=alice)
    assert [r["status"] for r in response.json["responses"]] == [200, 200, 200]
    assert app.get("/v1/buckets/default/collections", headers=alice).json["data"][0]["id"] == "c"


def test_batch_paths_show_the_default_path(app, alice):
    requests = [{"method": "GET", "path": "/buckets/default/collections/c/records"}]
    response = app.post_json("/v1/batch", {"requests": requests}, headers=alice)
    assert response.json["responses"][0]["path"] == "/v1/buckets/default/collections/c/records"


def test_routes_win_whatever_the_include_order(make_app, alice):
    app = make_app(includes="kinto.plugins.history " + PLUGIN)
    app.post_json("/v1/buckets/default/collections/c/records", {"data": {}}, headers=alice)
    entries = app.get("/v1/buckets/default/history", headers=alice).json["data"]
    assert [entry["resource_name"] for entry in entries] == ["record", "collection", "bucket"]
