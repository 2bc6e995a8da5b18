"""``/buckets/{bid}/collections`` and ``/buckets/{bid}/collections/{id}``."""


def test_create_and_get(app, alice, alice_id, bucket):
    created = app.put_json("/v1/buckets/b/collections/c", {"data": {"a": 1}}, headers=alice).json
    assert created["data"]["id"] == "c"
    assert created["data"]["a"] == 1
    assert created["permissions"] == {"write": [alice_id]}
    assert app.get("/v1/buckets/b/collections/c", headers=alice).json == created


def test_post_generates_names(app, alice, bucket):
    data = app.post_json("/v1/buckets/b/collections", {}, headers=alice, status=201).json["data"]
    assert len(data["id"]) == 8


def test_list_collections(app, alice, collection):
    app.put_json("/v1/buckets/b/collections/d", {}, headers=alice)
    data = app.get("/v1/buckets/b/collections", headers=alice).json["data"]
    assert [obj["id"] for obj in data] == ["d", "c"]


def test_collections_of_another_bucket_are_separate(app, alice, collection):
    app.put_json("/v1/buckets/other", {}, headers=alice)
    assert app.get("/v1/buckets/other/collections", headers=alice).json["data"] == []


def test_creating_in_a_missing_bucket_is_forbidden(app, alice):
    app.put_json("/v1/buckets/nope/collections/c", {}, headers=alice, status=403)
    app.post_json("/v1/buckets/nope/collections", {}, headers=alice, status=403)


def test_collection_create_permission(app, alice, bob, bob_id, bucket):
    app.put_json("/v1/buckets/b/collections/c", {}, headers=bob, status=403)
    app.patch_json(
        "/v1/buckets/b", {"permissions": {"collection:create": [bob_id]}}, headers=alice
    )
    response = app.put_json("/v1/buckets/b/collections/c", {}, headers=bob, status=201)
    assert response.json["permissions"] == {"write": [bob_id]}
    # Creators see the list restricted to what they can read.
    app.put_json("/v1/buckets/b/collections/other", {}, headers=alice)
    data = app.get("/v1/buckets/b/collections", headers=bob).json["data"]
    assert [obj["id"] for obj in data] == ["c"]


def test_bucket_write_grants_everything(app, alice, bob, bob_id, collection):
    app.patch_json("/v1/buckets/b", {"permissions": {"write": [bob_id]}}, headers=alice)
    app.get("/v1/buckets/b/collections/c", headers=bob, status=200)
    app.patch_json("/v1/buckets/b/collections/c", {"data": {"x": 1}}, headers=bob, status=200)
    app.get("/v1/buckets/b/collections", headers=bob, status=200)


def test_record_create_grants_collection_read(app, alice, bob, bob_id, collection):
    app.get("/v1/buckets/b/collections/c", headers=bob, status=403)
    app.patch_json(
        "/v1/buckets/b/collections/c", {"permissions": {"record:create": [bob_id]}}, headers=alice
    )
    body = app.get("/v1/buckets/b/collections/c", headers=bob).json
    assert body["permissions"] == {}
    app.patch_json("/v1/buckets/b/collections/c", {"data": {}}, headers=bob, status=403)


def test_unknown_permission_is_400(app, alice, bucket):
    app.put_json(
        "/v1/buckets/b/collections/c",
        {"permissions": {"collection:create": ["x"]}},
        headers=alice,
        status=400,
    )


def test_missing_collection_visibility(app, alice, bob, bucket):
    response = app.get("/v1/buckets/b/collections/nope", headers=alice, status=404)
    assert response.json["errno"] == 110
    assert response.json["details"] == {"id": "nope", "resource_name": "collection"}
    app.get("/v1/buckets/b/collections/nope", headers=bob, status=403)
    app.patch_json("/v1/buckets/b/collections/nope", {"data": {}}, headers=alice, status=404)
    app.patch_json("/v1/buckets/b/collections/nope", {"data": {}}, headers=bob, status=403)
    app.delete("/v1/buckets/b/collections/nope", headers=alice, status=404)


# Typed fields


def test_schema_must_be_a_json_schema(app, alice, bucket):
    response = app.put_json(
        "/v1/buckets/b/collections/c",
        {"data": {"schema": {"type": "nope"}}},
        headers=alice,
        status=400,
    )
    assert response.json["details"][0]["name"] == "data.schema"
    app.put_json(
        "/v1/buckets/b/collections/c", {"data": {"schema": []}}, headers=alice, status=400
    )
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    body = app.put_json("/v1/buckets/b/collections/c", {"data": {"schema": schema}}, headers=alice)
    assert body.json["data"]["schema"] == schema
    app.put_json("/v1/buckets/b/collections/c", {"data": {"schema": {}}}, headers=alice)


def test_schema_is_checked_on_patch(app, alice, collection):
    response = app.patch_json(
        "/v1/buckets/b/collections/c",
        {"data": {"schema": {"properties": 1}}},
        headers=alice,
        status=400,
    )
    assert response.json["details"][0]["name"] == "data.schema"


def test_cache_expires_must_be_an_integer(app, alice, bucket):
    response = app.put_json(
        "/v1/buckets/b/collections/c",
        {"data": {"cache_expires": "soon"}},
        headers=alice,
        status=400,
    )
    assert response.json["details"][0]["name"] == "data.cache_expires"
    app.put_json(
        "/v1/buckets/b/collections/c", {"data": {"cache_expires": 10}}, headers=alice, status=201
    )


# Deletion cascade


def test_deleting_a_collection_deletes_its_records(app, alice, bob, bob_id, collection):
    app.put_json(
        "/v1/buckets/b/collections/c/records/r",
        {"permissions": {"read": [bob_id]}},
        headers=alice,
    )
    app.put_json("/v1/buckets/b/collections/d", {}, headers=alice)
    app.put_json("/v1/buckets/b/collections/d/records/r", {}, headers=alice)
    data = app.delete("/v1/buckets/b/collections/c", headers=alice).json["data"]
    assert data["deleted"] is True
    app.put_json("/v1/buckets/b/collections/c", {}, headers=alice)
    response = app.get("/v1/buckets/b/collections/c/records?_since=0", headers=alice)
    assert response.json["data"] == []
    app.get("/v1/buckets/b/collections/c/records/r", headers=bob, status=403)
    app.get("/v1/buckets/b/collections/d/records/r", headers=alice, status=200)


def test_deleting_all_collections_cascades(app, alice, collection):
    app.put_json("/v1/buckets/b/collections/c/records/r", {}, headers=alice)
    app.delete("/v1/buckets/b/collections", headers=alice)
    app.put_json("/v1/buckets/b/collections/c", {}, headers=alice)
    assert app.get("/v1/buckets/b/collections/c/records", headers=alice).json["data"] == []


def test_collection_tombstones_for_sync(app, alice, collection):
    since = collection["last_modified"]
    app.delete("/v1/buckets/b/collections/c", headers=alice)
    data = app.get(f"/v1/buckets/b/collections?_since={since - 1}", headers=alice).json["data"]
    assert [(obj["id"], obj.get("deleted")) for obj in data] == [("c", True)]
