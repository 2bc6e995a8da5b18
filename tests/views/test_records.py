"""``/buckets/{bid}/collections/{cid}/records[/{id}]``."""

import re

import pytest

COLLECTION_URL = "/v1/buckets/b/collections/c"
RECORDS = f"{COLLECTION_URL}/records"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


# Ids


def test_post_generates_uuid4_ids(app, alice, collection):
    data = app.post_json(RECORDS, {"data": {"a": 1}}, headers=alice, status=201).json["data"]
    assert UUID4.match(data["id"])


def test_any_name_is_a_valid_record_id(app, alice, collection):
    app.put_json(f"{RECORDS}/my-record_1", {}, headers=alice, status=201)
    app.post_json(RECORDS, {"data": {"id": "2"}}, headers=alice, status=201)
    app.put_json(f"{RECORDS}/a%20b", {}, headers=alice, status=400)
    app.post_json(RECORDS, {"data": {"id": "_x"}}, headers=alice, status=400)


def test_id_filter_is_a_string(app, alice, collection):
    app.put_json(f"{RECORDS}/2", {}, headers=alice)
    data = app.get(f"{RECORDS}?id=2", headers=alice).json["data"]
    assert [obj["id"] for obj in data] == ["2"]


def test_unknown_permission_is_400(app, alice, collection):
    app.put_json(
        f"{RECORDS}/r", {"permissions": {"record:create": ["x"]}}, headers=alice, status=400
    )


# Parent collection


def test_missing_collection_on_get_is_404_for_readers(app, alice, bucket):
    for url in (RECORDS, f"{RECORDS}/r"):
        response = app.get(url, headers=alice, status=404)
        assert response.json["errno"] == 111
        assert response.json["details"] == {"id": "c", "resource_name": "collection"}


def test_missing_collection_is_404_before_an_invalid_token_is_400(app, alice, bucket):
    """The page may be read with the collection, but a bad ``_token`` is
    still only looked at once the collection is found."""
    response = app.get(f"{RECORDS}?_token=not-a-token", headers=alice, status=404)
    assert response.json["errno"] == 111
    app.put_json("/v1/buckets/b/collections/c", {}, headers=alice)
    app.get(f"{RECORDS}?_token=not-a-token", headers=alice, status=400)


def test_missing_collection_on_get_is_403_for_others(app, bob, bucket):
    app.get(RECORDS, headers=bob, status=403)
    app.get(f"{RECORDS}/r", headers=bob, status=403)
    app.get(RECORDS, status=401)


def test_missing_collection_on_writes_is_404_before_authorization(app, bob, bucket):
    for headers in (bob, {}):
        for method, url in (
            ("post_json", RECORDS),
            ("put_json", f"{RECORDS}/r"),
            ("patch_json", f"{RECORDS}/r"),
        ):
            response = getattr(app, method)(url, {"data": {}}, headers=headers, status=404)
            assert response.json["errno"] == 111
        app.delete(f"{RECORDS}/r", headers=headers, status=404)
        app.delete(RECORDS, headers=headers, status=404)


# Permissions


def test_collection_read_lists_everything(app, alice, bob, bob_id, record):
    app.patch_json(
        "/v1/buckets/b/collections/c", {"permissions": {"read": [bob_id]}}, headers=alice
    )
    assert [obj["id"] for obj in app.get(RECORDS, headers=bob).json["data"]] == ["r"]
    app.put_json(f"{RECORDS}/x", {}, headers=bob, status=403)


def test_record_create_permission(app, alice, bob, bob_id, record):
    app.patch_json(
        "/v1/buckets/b/collections/c", {"permissions": {"record:create": [bob_id]}}, headers=alice
    )
    assert app.get(RECORDS, headers=bob).json["data"] == []
    created = app.post_json(RECORDS, {"data": {"x": 1}}, headers=bob, status=201).json
    assert created["permissions"] == {"write": [bob_id]}
    data = app.get(RECORDS, headers=bob).json["data"]
    assert [obj["id"] for obj in data] == [created["data"]["id"]]
    app.get(f"{RECORDS}/r", headers=bob, status=403)
    app.patch_json(f"{RECORDS}/r", {"data": {}}, headers=bob, status=403)


def test_record_level_read(app, alice, bob, bob_id, record):
    app.put_json(f"{RECORDS}/hidden", {}, headers=alice)
    app.patch_json(f"{RECORDS}/r", {"permissions": {"read": [bob_id]}}, headers=alice)
    data = app.get(RECORDS, headers=bob).json["data"]
    assert [obj["id"] for obj in data] == ["r"]
    app.get(f"{RECORDS}/r", headers=bob, status=200)
    app.get(f"{RECORDS}/hidden", headers=bob, status=403)
    app.delete(RECORDS, headers=bob, status=403)


def test_public_collection(app, alice, record):
    app.patch_json(
        "/v1/buckets/b/collections/c",
        {"permissions": {"read": ["system.Everyone"]}},
        headers=alice,
    )
    assert len(app.get(RECORDS).json["data"]) == 1
    assert app.get(f"{RECORDS}/r").json["permissions"] == {}


def test_missing_record_visibility(app, alice, bob, collection):
    response = app.get(f"{RECORDS}/nope", headers=alice, status=404)
    assert response.json["errno"] == 110
    assert response.json["details"] == {"id": "nope", "resource_name": "record"}
    app.get(f"{RECORDS}/nope", headers=bob, status=403)
    app.patch_json(f"{RECORDS}/nope", {"data": {}}, headers=alice, status=404)
    app.patch_json(f"{RECORDS}/nope", {"data": {}}, headers=bob, status=403)
    app.delete(f"{RECORDS}/nope", headers=alice, status=404)
    app.delete(f"{RECORDS}/nope", status=401)


# Timestamps


def test_record_writes_leave_parents_untouched(app, alice, collection):
    app.post_json(RECORDS, {"data": {}}, headers=alice)
    current = app.get("/v1/buckets/b/collections/c", headers=alice).json["data"]
    assert current["last_modified"] == collection["last_modified"]
    records_etag = app.get(RECORDS, headers=alice).headers["ETag"]
    assert records_etag != f'"{collection["last_modified"]}"'


def test_sync_flow(app, alice, record):
    etag = app.get(RECORDS, headers=alice).headers["ETag"]
    since = etag.strip('"')
    created = app.put_json(
        f"{RECORDS}/new", {"data": {}}, headers={**alice, "If-None-Match": "*"}, status=201
    ).json["data"]
    app.delete(f"{RECORDS}/r", headers=alice)
    data = app.get(f"{RECORDS}?_since={since}", headers=alice).json["data"]
    assert [(obj["id"], obj.get("deleted", False)) for obj in data] == [
        ("r", True),
        ("new", False),
    ]
    response = app.put_json(
        f"{RECORDS}/new",
        {"data": {"v": 2}},
        headers={**alice, "If-Match": etag},
        status=412,
    )
    assert response.json["details"]["existing"] == created


# Caching


def anonymous_app(make_app, alice, **settings):
    app = make_app(**settings)
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.put_json(
        "/v1/buckets/b/collections/c",
        {"permissions": {"read": ["system.Everyone"]}},
        headers=alice,
    )
    app.put_json(f"{RECORDS}/r", {}, headers=alice)
    return app


def cache_control(app, url=RECORDS):
    return app.get(url).headers["Cache-Control"]


def test_record_cache_setting(make_app, alice):
    app = anonymous_app(make_app, alice, record_cache_expires_seconds=30)
    assert cache_control(app) == "max-age=30"
    assert cache_control(app, f"{RECORDS}/r") == "max-age=30"
    assert app.get(RECORDS, headers=alice).headers["Cache-Control"] == "no-cache, no-store"


@pytest.mark.parametrize(
    "setting",
    [
        "b.c.record_cache_expires_seconds",
        "b.record_cache_expires_seconds",
        "b_c_record_cache_expires_seconds",
        "b_record_cache_expires_seconds",
    ],
)
def test_per_bucket_and_collection_settings(make_app, alice, setting):
    app = anonymous_app(make_app, alice, **{setting: 12})
    assert cache_control(app) == "max-age=12"


def test_specific_settings_win(make_app, alice):
    settings = {
        "b.c.record_cache_expires_seconds": 1,
        "b.record_cache_expires_seconds": 2,
        "record_cache_expires_seconds": 3,
    }
    assert cache_control(anonymous_app(make_app, alice, **settings)) == "max-age=1"


def test_collection_cache_expires(make_app, alice):
    app = anonymous_app(make_app, alice)
    assert cache_control(app) == "no-cache, no-store"
    app.patch_json("/v1/buckets/b/collections/c", {"data": {"cache_expires": 60}}, headers=alice)
    assert cache_control(app) == "max-age=60"
    app = anonymous_app(make_app, alice, record_cache_expires_seconds=100)
    app.patch_json("/v1/buckets/b/collections/c", {"data": {"cache_expires": 60}}, headers=alice)
    assert cache_control(app) == "max-age=100"


def test_zero_cache_expires(make_app, alice):
    app = anonymous_app(make_app, alice)
    app.patch_json("/v1/buckets/b/collections/c", {"data": {"cache_expires": 0}}, headers=alice)
    response = app.get(RECORDS)
    assert response.headers["Cache-Control"] == "max-age=0, must-revalidate, no-cache, no-store"
    assert response.headers["Pragma"] == "no-cache"


# JSON Schema validation

SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "size": {"type": "number"}},
    "required": ["title", "id", "last_modified"],
    "additionalProperties": False,
}


@pytest.fixture
def schema_app(make_app, alice):
    app = make_app(experimental_collection_schema_validation=True)
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.put_json("/v1/buckets/b/collections/c", {"data": {"schema": SCHEMA}}, headers=alice)
    return app


def test_schema_capability(schema_app, app):
    assert "schema" in schema_app.get("/v1/").json["capabilities"]
    assert "schema" not in app.get("/v1/").json["capabilities"]


def test_valid_records_get_the_schema_version(schema_app, alice):
    collection = schema_app.get("/v1/buckets/b/collections/c", headers=alice).json["data"]
    data = schema_app.post_json(RECORDS, {"data": {"title": "a"}}, headers=alice).json["data"]
    assert data["schema"] == collection["last_modified"]
    data = schema_app.get(f"{RECORDS}?min_schema={collection['last_modified']}", headers=alice)
    assert len(data.json["data"]) == 1


def test_invalid_records_are_400(schema_app, alice):
    response = schema_app.post_json(RECORDS, {"data": {"size": 1}}, headers=alice, status=400)
    assert response.json["errno"] == 107
    assert response.json["message"] == "'title' is a required property"
    response = schema_app.post_json(
        RECORDS, {"data": {"title": "a", "size": "hi!"}}, headers=alice, status=400
    )
    assert response.json["message"] == "size in body: 'hi!' is not of type 'number'"
    assert response.json["details"][0]["name"] == "size"


def test_records_are_validated_after_patch(schema_app, alice):
    schema_app.put_json(f"{RECORDS}/r", {"data": {"title": "a"}}, headers=alice)
    schema_app.patch_json(f"{RECORDS}/r", {"data": {"title": 1}}, headers=alice, status=400)
    schema_app.patch_json(f"{RECORDS}/r", {"data": {"size": 2}}, headers=alice, status=200)


def test_empty_schema_accepts_everything(schema_app, alice):
    schema_app.patch_json("/v1/buckets/b/collections/c", {"data": {"schema": {}}}, headers=alice)
    data = schema_app.post_json(RECORDS, {"data": {"x": 1}}, headers=alice).json["data"]
    assert "schema" in data


def test_bucket_record_schema(schema_app, alice):
    schema_app.patch_json(
        "/v1/buckets/b",
        {"data": {"record:schema": {"type": "object", "required": ["lang"]}}},
        headers=alice,
    )
    schema_app.post_json(RECORDS, {"data": {"title": "a"}}, headers=alice, status=400)
    schema_app.put_json("/v1/buckets/b/collections/c", {"data": {}}, headers=alice)
    schema_app.post_json(RECORDS, {"data": {"x": 1}}, headers=alice, status=400)
    schema_app.post_json(RECORDS, {"data": {"lang": "fr"}}, headers=alice, status=201)


def test_bucket_collection_and_group_schemas(schema_app, alice):
    schema = {"type": "object", "required": ["title"]}
    schema_app.patch_json(
        "/v1/buckets/b",
        {"data": {"collection:schema": schema, "group:schema": schema}},
        headers=alice,
    )
    schema_app.put_json("/v1/buckets/b/collections/d", {}, headers=alice, status=400)
    schema_app.put_json(
        "/v1/buckets/b/collections/d", {"data": {"title": "x"}}, headers=alice, status=201
    )
    schema_app.put_json("/v1/buckets/b/groups/g", {"data": {}}, headers=alice, status=400)


def test_unresolvable_reference_is_400(schema_app, alice):
    schema = {"type": "object", "properties": {"a": {"$ref": "#/definitions/missing"}}}
    schema_app.put_json("/v1/buckets/b/collections/d", {"data": {"schema": schema}}, headers=alice)
    response = schema_app.post_json(
        "/v1/buckets/b/collections/d/records", {"data": {"a": 1}}, headers=alice, status=400
    )
    assert response.json["details"][0]["name"] == "schema"


def test_validation_needs_the_bucket(make_app, alice):
    app = make_app(
        experimental_collection_schema_validation=True,
        collection_create_principals="system.Authenticated",
    )
    response = app.put_json("/v1/buckets/nope/collections/c", {}, headers=alice, status=404)
    assert response.json["errno"] == 111
    assert response.json["details"] == {"id": "nope", "resource_name": "bucket"}


def test_without_validation_schema_is_not_enforced(app, alice):
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.put_json("/v1/buckets/b/collections/c", {"data": {"schema": SCHEMA}}, headers=alice)
    data = app.post_json(RECORDS, {"data": {"x": 1}}, headers=alice, status=201).json["data"]
    assert "schema" not in data


# Listing


ODD_RECORDS = {
    "empty": {},
    "nested": {"a": {"b": [1, {"c": None}], "d": ""}, "e": [], "f": {}},
    "unicode": {"title": 'é\u2028ü \U0001f600 "quoted" back\\slash </script>'},
    "numbers": {"big": 2**70, "negative": -(2**65), "float": 1.5, "zero": 0},
}


def test_listed_records_are_the_records_as_read_one_by_one(app, alice, collection):
    for record_id, data in ODD_RECORDS.items():
        app.put_json(f"{RECORDS}/{record_id}", {"data": data}, headers=alice, status=201)
    app.delete(f"{RECORDS}/empty", headers=alice)
    read = {
        record_id: app.get(f"{RECORDS}/{record_id}", headers=alice).json["data"]
        for record_id in ODD_RECORDS
        if record_id != "empty"
    }
    listed = app.get(f"{RECORDS}?_sort=id", headers=alice).json["data"]
    assert listed == [read[record_id] for record_id in sorted(read)]
    projected = app.get(f"{RECORDS}?_sort=id&_fields=title", headers=alice).json["data"]
    assert [obj["id"] for obj in projected] == sorted(read)
    since = app.get(f"{RECORDS}?_since=0&_sort=id", headers=alice).json["data"]
    assert since[0] == {"id": "empty", "last_modified": since[0]["last_modified"], "deleted": True}
    assert since[1:] == listed


def test_pages_of_records_chain_to_the_whole_list(app, alice, collection):
    for index in range(7):
        app.put_json(f"{RECORDS}/r{index}", {"data": {"n": index % 3}}, headers=alice)
    seen, url = [], f"{RECORDS}?_limit=2&_sort=n,-id"
    while url:
        response = app.get(url, headers=alice)
        seen += [obj["id"] for obj in response.json["data"]]
        url = response.headers.get("Next-Page")
    assert seen == ["r6", "r3", "r0", "r4", "r1", "r5", "r2"]


# Listings after writes (on PostgreSQL the pages are kept between requests:
# every write must show in the next listing).


def test_every_acknowledged_write_shows_in_the_next_listing(app, alice, bob, bob_id, collection):
    def listed(query="", headers=alice):
        return app.get(f"{RECORDS}?_sort=id{query}", headers=headers).json["data"]

    etag = app.get(RECORDS, headers=alice).headers["ETag"].strip('"')
    for n in range(5):
        app.put_json(f"{RECORDS}/r{n}", {"data": {"n": n}}, headers=alice)
        assert [obj["n"] for obj in listed()] == list(range(n + 1))
    app.patch_json(f"{RECORDS}/r0", {"data": {"n": 10}}, headers=alice)
    assert listed()[0]["n"] == 10
    app.delete(f"{RECORDS}/r1", headers=alice)
    assert [obj["id"] for obj in listed()] == ["r0", "r2", "r3", "r4"]
    changes = listed(f"&_since={etag}")
    assert {obj["id"]: obj.get("deleted", False) for obj in changes}["r1"] is True
    app.put_json(f"{RECORDS}/r5", {"data": {"n": 5, "last_modified": 1}}, headers=alice)
    assert "r5" in [obj["id"] for obj in listed()]
    # A permission change shows too: bob lists only what he may read.
    app.get(RECORDS, headers=bob, status=403)
    app.patch_json(COLLECTION_URL, {"permissions": {"read": [bob_id]}}, headers=alice)
    assert len(listed(headers=bob)) == 5
    app.patch_json(COLLECTION_URL, {"permissions": {"read": []}}, headers=alice)
    app.get(RECORDS, headers=bob, status=403)
    app.delete(RECORDS, headers=alice)
    assert listed() == []
