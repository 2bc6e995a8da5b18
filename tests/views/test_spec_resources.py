"""Conformance to ``resources.md``: HTTP conventions, the object model
(ids, typed fields, cascades), the plural and object endpoints, PATCH
flavours and ``permissions`` in responses (one test per behaviour, in the
order of the spec)."""

from __future__ import annotations

import json
import re

import pytest

from tests.views.conftest import BUCKET, COLLECTION, GROUP, RECORD, RECORDS

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
DEFAULT_EXPOSED = {"Backoff", "Retry-After", "Alert", "Content-Length", "Content-Type"}
TIMESTAMP_HEADERS = {"Last-Modified", "ETag", "Cache-Control", "Expires", "Pragma"}


def send(app, method, url, body, headers, content_type="application/json", **kwargs):
    """A request with a raw ``body`` (str) and a given Content-Type."""
    headers = {**headers, "Content-Type": content_type} if content_type else headers
    return app.request(url, method=method, body=body.encode(), headers=headers, **kwargs)


def exposed(response):
    return {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}


# §0.1 Prefix, redirects, trailing slashes


def test_path_without_version_redirects_to_v1(app):
    response = app.get("/buckets?a=1", status=307)
    assert response.headers["Location"].endswith("/v1/buckets?a=1")


def test_other_api_version_is_404_errno_116(app):
    assert app.get("/v2/buckets", status=404).json["errno"] == 116


def test_unknown_path_is_404_errno_111(app):
    body = app.get("/v1/unknown", status=404).json
    assert (body["errno"], body["error"]) == (111, "Not Found")


def test_trailing_slash_redirects(app, alice):
    response = app.get("/v1/buckets/", headers=alice, status=307)
    assert response.headers["Location"].endswith("/v1/buckets")


def test_invalid_utf8_in_path_is_400(app):
    body = app.get("/v1/buckets/%82%AC", status=400).json
    assert (body["errno"], body["message"]) == (107, "Invalid URL path.")


# §0.2 Content negotiation


def test_responses_are_json_with_unescaped_slashes(app, alice, record):
    response = app.get(f"{RECORD}?_fields=title", headers=alice)
    assert response.content_type == "application/json"
    assert b"\\/" not in app.get("/v1/", headers=alice).body


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "application/json;q=0"])
def test_accept_without_json_is_406(app, alice, record, accept):
    response = app.get(RECORD, headers={**alice, "Accept": accept}, status=406)
    description = "Accept header should be one of ['application/json']"
    assert response.json == {
        "code": 406,
        "errno": 107,
        "error": "Invalid parameters",
        "message": description,
        "details": [{"location": "header", "name": "Accept", "description": description}],
    }


@pytest.mark.parametrize("accept", ["*/*", "application/*", "text/html, application/json;q=0.1"])
def test_accept_with_json_is_served(app, alice, record, accept):
    app.get(RECORD, headers={**alice, "Accept": accept}, status=200)


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_other_body_content_type_is_415(app, alice, collection, method):
    url = RECORDS if method == "POST" else RECORD
    response = send(app, method, url, "{}", alice, content_type="text/plain", status=415)
    body = response.json
    assert (body["code"], body["errno"], body["error"]) == (415, 107, "Invalid parameters")
    assert body["details"][0]["name"] == "Content-Type"


def test_json_content_type_parameters_and_case_are_ignored(app, alice, collection):
    for content_type in ("application/json; charset=utf-8", "Application/JSON"):
        send(app, "PUT", RECORD, "{}", alice, content_type=content_type, status=(200, 201))


def test_missing_content_type_parses_json_and_empty_body_is_empty_object(app, alice, collection):
    response = send(app, "PUT", RECORD, "", alice, content_type=None, status=201)
    assert set(response.json["data"]) == {"id", "last_modified"}
    response = send(app, "PUT", RECORD, '{"data": {"a": 1}}', alice, content_type=None)
    assert response.json["data"]["a"] == 1


@pytest.mark.parametrize("content_type", ["application/json", MERGE_PATCH, JSON_PATCH])
def test_patch_accepts_three_content_types(app, alice, record, content_type):
    body = "[]" if content_type == JSON_PATCH else '{"data": {}}'
    send(app, "PATCH", RECORD, body, alice, content_type=content_type, status=200)


def test_patch_with_other_content_type_is_415(app, alice, record):
    send(app, "PATCH", RECORD, "{}", alice, content_type="text/plain", status=415)


def test_invalid_json_is_400(app, alice, collection):
    body = send(app, "POST", RECORDS, "{bad", alice, status=400).json
    assert body["errno"] == 107
    assert body["message"].startswith("Invalid JSON")


@pytest.mark.parametrize("raw", ["1", '"x"', "null", "true"])
def test_json_scalars_are_400(app, alice, collection, raw):
    body = send(app, "POST", RECORDS, raw, alice, status=400).json
    assert body["message"] == "Should be a JSON object or an array"


def test_unknown_body_keys_are_400(app, alice, collection):
    send(app, "POST", RECORDS, '{"data": {}, "other": 1}', alice, status=400)


def test_data_must_be_an_object(app, alice, collection):
    body = send(app, "POST", RECORDS, '{"data": [1]}', alice, status=400).json
    assert "data" in body["message"]


def test_nul_character_in_a_body_is_400(app, alice, collection):
    for raw in ('{"data": {"a": "x\\u0000"}}', '{"data": {"k\\u0000": 1}}'):
        body = send(app, "POST", RECORDS, raw, alice, status=400).json
        assert body["details"] == [
            {"location": "body", "name": "data", "description": "Invalid character 0x00"}
        ]
    send(app, "POST", RECORDS, '{"data": {"a": "\\\\u0000"}}', alice, status=201)


# §0.3 Headers on every response


def test_security_headers(app, alice, record):
    response = app.get(RECORD, headers=alice)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_exposed_headers_per_endpoint(app, alice, record):
    origin = {**alice, "Origin": "http://example.com"}
    assert exposed(app.get(RECORDS, headers=origin)) == (
        DEFAULT_EXPOSED | TIMESTAMP_HEADERS | {"Next-Page"}
    )
    assert exposed(app.head(RECORDS, headers=origin)) == (
        DEFAULT_EXPOSED | TIMESTAMP_HEADERS | {"Next-Page", "Total-Objects", "Total-Records"}
    )
    assert exposed(app.get(RECORD, headers=origin)) == DEFAULT_EXPOSED | TIMESTAMP_HEADERS
    assert exposed(app.patch_json(RECORD, {"data": {}}, headers=origin)) == DEFAULT_EXPOSED


def test_cors_origin_is_allowed_on_errors(app, record):
    response = app.get(RECORD, headers={"Origin": "http://example.com"}, status=401)
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_preflight_lists_the_endpoint_methods(app, record):
    headers = {"Origin": "http://example.com", "Access-Control-Request-Method": "PATCH"}
    response = app.options(RECORD, headers=headers)
    assert set(response.headers["Access-Control-Allow-Methods"].split(",")) >= {
        "GET",
        "PUT",
        "PATCH",
        "DELETE",
    }


# §0.4 Methods


def test_undefined_method_is_405(app, alice, record):
    response = app.post_json(RECORD, {}, headers=alice, status=405)
    assert response.json["errno"] == 115
    assert response.json["message"] == "Method not allowed on this endpoint."
    assert "PATCH" in response.headers["Allow"]


def test_disabled_endpoint_method_is_405(make_app, alice):
    app = make_app(plural_bucket_post_enabled=False)
    app.post_json("/v1/buckets", {}, headers=alice, status=405)
    app.put_json(BUCKET, {}, headers=alice, status=201)


def test_readonly_refuses_writes(make_app, alice):
    app = make_app(readonly=True)
    assert app.put_json(BUCKET, {}, headers=alice, status=405).json["errno"] == 115


def test_head_on_an_object_is_get_without_body(app, alice, record):
    response = app.head(RECORD, headers=alice)
    assert response.body == b""
    assert response.headers["ETag"] == f'"{record["last_modified"]}"'


# §1.1 Identifiers


@pytest.mark.parametrize("url", [BUCKET, COLLECTION, GROUP])
def test_generated_names_are_8_characters(app, alice, bucket, url):
    plural = url.rsplit("/", 1)[0]
    object_id = app.post_json(plural, {}, headers=alice, status=201).json["data"]["id"]
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{7}", object_id)


def test_generated_record_ids_are_uuid4(app, alice, collection):
    object_id = app.post_json(RECORDS, {}, headers=alice).json["data"]["id"]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", object_id
    )


@pytest.mark.parametrize("object_id", ["_x", "-x", "a.b", "a%20b", "%C3%A9"])
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_invalid_ids_in_paths_are_400(app, alice, collection, object_id, method):
    response = app.request(
        f"{RECORDS}/{object_id}", method=method, headers=alice, body=b"{}", status=400
    )
    assert response.json["message"] == "path: Invalid object id"
    assert response.json["details"] == [{"location": "path", "description": "Invalid object id"}]


@pytest.mark.parametrize("object_id", [1, None, ["a"], "_x"])
def test_invalid_ids_in_post_bodies_are_400(app, alice, collection, object_id):
    app.post_json(RECORDS, {"data": {"id": object_id}}, headers=alice, status=400)


def test_invalid_post_id_is_checked_before_authorization(app, bob, collection):
    app.post_json(RECORDS, {"data": {"id": "_x"}}, headers=bob, status=400)


def test_records_accept_any_name_as_id(app, alice, collection):
    app.put_json(f"{RECORDS}/Any-name_1", {}, headers=alice, status=201)


# §1.2 Stored object fields


def test_body_id_must_match_the_url(app, alice, record):
    for method in ("put_json", "patch_json"):
        response = getattr(app, method)(RECORD, {"data": {"id": "x"}}, headers=alice, status=400)
        assert response.json["details"][0]["name"] == "id"
        assert response.json["message"] == "Object id does not match existing object"


def test_members_default_to_an_empty_list_only_with_data(app, alice, bucket):
    assert app.put_json(GROUP, {"data": {}}, headers=alice).json["data"]["members"] == []
    data = app.put_json(f"{BUCKET}/groups/h", {}, headers=alice).json["data"]
    assert "members" not in data


@pytest.mark.parametrize("member", ["/buckets/b/groups/other", "system.Everyone"])
def test_members_may_not_be_groups_nor_everyone(app, alice, bucket, member):
    response = app.put_json(GROUP, {"data": {"members": [member]}}, headers=alice, status=400)
    assert response.json["details"][0]["description"] == f"'{member}' is not a valid user ID."


def test_authenticated_may_be_a_member(app, alice, bucket):
    body = {"data": {"members": ["system.Authenticated"]}}
    data = app.put_json(GROUP, body, headers=alice, status=201).json["data"]
    assert data["members"] == ["system.Authenticated"]


def test_typed_fields_are_validated_even_without_schema_validation(app, alice, bucket):
    app.put_json(COLLECTION, {"data": {"schema": {"type": 1}}}, headers=alice, status=400)
    app.put_json(COLLECTION, {"data": {"cache_expires": "1"}}, headers=alice, status=400)
    app.patch_json(BUCKET, {"data": {"record:schema": []}}, headers=alice, status=400)


# §1.3 Cascades


def test_deleting_a_bucket_hard_deletes_everything_under_it(app, alice, record, group):
    app.delete(RECORD, headers=alice)
    app.put_json(f"{RECORDS}/r2", {}, headers=alice)
    app.delete(BUCKET, headers=alice)
    app.put_json(BUCKET, {}, headers=alice)
    assert app.get(f"{BUCKET}/collections?_since=0", headers=alice).json["data"] == []
    assert app.get(f"{BUCKET}/groups?_since=0", headers=alice).json["data"] == []
    app.put_json(COLLECTION, {}, headers=alice)
    assert app.get(f"{RECORDS}?_since=0", headers=alice).json["data"] == []


def test_recreated_children_get_newer_list_timestamps(app, alice, record):
    old_etag = app.get(RECORDS, headers=alice).headers["ETag"]
    app.delete(COLLECTION, headers=alice)
    app.put_json(COLLECTION, {}, headers=alice)
    new_etag = app.get(RECORDS, headers=alice).headers["ETag"]
    assert int(new_etag.strip('"')) > int(old_etag.strip('"'))


def test_deleting_a_collection_leaves_only_its_tombstone(app, alice, record):
    since = record["last_modified"]
    app.delete(COLLECTION, headers=alice)
    listed = app.get(f"{BUCKET}/collections?_since={since}", headers=alice).json["data"]
    assert [(obj["id"], obj["deleted"]) for obj in listed] == [("c", True)]


# §2.1 Plural endpoints


def test_list_has_no_permissions_key(app, alice, record):
    assert set(app.get(RECORDS, headers=alice).json) == {"data"}


def test_post_existing_id_returns_it_unchanged(app, alice, record):
    response = app.post_json(RECORDS, {"data": {"id": "r", "title": "new"}}, headers=alice)
    assert response.status_int == 200
    assert response.json["data"] == record
    assert response.headers["ETag"] == f'"{record["last_modified"]}"'


def test_post_existing_id_requires_read_on_it(app, alice, bob, bob_id, record):
    app.patch_json(COLLECTION, {"permissions": {"record:create": [bob_id]}}, headers=alice)
    app.post_json(RECORDS, {"data": {"id": "r"}}, headers=bob, status=403)


def test_post_without_data_creates_an_empty_object(app, alice, collection):
    data = app.post_json(RECORDS, {}, headers=alice, status=201).json["data"]
    assert set(data) == {"id", "last_modified"}


def test_post_returns_the_object_etag(app, alice, collection):
    response = app.post_json(RECORDS, {}, headers=alice, status=201)
    assert response.headers["ETag"] == f'"{response.json["data"]["last_modified"]}"'


def test_plural_delete_returns_tombstones(app, alice, record):
    response = app.delete(RECORDS, headers=alice)
    assert response.json == {
        "data": [
            {
                "id": "r",
                "last_modified": response.json["data"][0]["last_modified"],
                "deleted": True,
            }
        ]
    }


def test_plural_delete_of_nothing_returns_the_list_timestamp(app, alice, collection):
    etag = app.get(RECORDS, headers=alice).headers["ETag"]
    response = app.delete(RECORDS, headers=alice)
    assert response.json == {"data": []}
    assert response.headers["ETag"] == etag


def test_plural_delete_honours_filters_and_pagination(app, alice, collection):
    for i in range(3):
        app.put_json(f"{RECORDS}/r{i}", {"data": {"n": i}}, headers=alice)
    deleted = app.delete(f"{RECORDS}?min_n=1&_sort=n&_limit=1", headers=alice)
    assert [t["id"] for t in deleted.json["data"]] == ["r1"]
    assert "Next-Page" in deleted.headers
    assert [obj["id"] for obj in app.get(RECORDS, headers=alice).json["data"]] == ["r2", "r0"]


# §2.2 Object endpoints


def test_put_replaces_the_whole_object(app, alice, record):
    data = app.put_json(RECORD, {"data": {"other": 1}}, headers=alice).json["data"]
    assert "title" not in data and data["other"] == 1


def test_put_without_data_keeps_data(app, alice, bob_id, record):
    response = app.put_json(RECORD, {"permissions": {"read": [bob_id]}}, headers=alice)
    assert response.json["data"]["title"] == "a"
    assert response.json["permissions"]["read"] == [bob_id]


def test_put_status_tells_creation_from_replacement(app, alice, collection):
    app.put_json(RECORD, {}, headers=alice, status=201)
    app.put_json(RECORD, {}, headers=alice, status=200)


def test_every_write_bumps_last_modified(app, alice, record):
    again = app.put_json(RECORD, {"data": {"title": "a"}}, headers=alice).json["data"]
    assert again["last_modified"] > record["last_modified"]
    patched = app.patch_json(RECORD, {"data": {}}, headers=alice).json["data"]
    assert patched["last_modified"] > again["last_modified"]


def test_patch_needs_data_or_permissions(app, alice, record):
    response = app.patch_json(RECORD, {}, headers=alice, status=400)
    assert response.json["details"][0]["name"] == "data"
    assert response.json["message"] == "Provide at least one of data or permissions"


def test_missing_object_is_404_errno_110(app, alice, collection):
    for method in ("GET", "DELETE"):
        response = app.request(f"{RECORDS}/nope", method=method, headers=alice, status=404)
        assert response.json["details"] == {"id": "nope", "resource_name": "record"}
        assert response.json["errno"] == 110
    app.patch_json(f"{RECORDS}/nope", {"data": {}}, headers=alice, status=404)


def test_delete_returns_the_tombstone_without_permissions(app, alice, record):
    response = app.delete(RECORD, headers=alice)
    assert set(response.json) == {"data"}
    assert response.json["data"]["deleted"] is True
    assert response.headers["ETag"] == f'"{response.json["data"]["last_modified"]}"'


# PATCH flavours


def test_plain_patch_merges_top_level_keys_and_stores_null(app, alice, collection):
    app.put_json(RECORD, {"data": {"a": 1, "nested": {"x": 1, "y": 2}}}, headers=alice)
    body = {"data": {"a": None, "nested": {"x": 3}}}
    data = app.patch_json(RECORD, body, headers=alice).json["data"]
    assert data["a"] is None
    assert data["nested"] == {"x": 3}


def test_merge_patch_is_recursive_and_null_removes(app, alice, collection):
    app.put_json(RECORD, {"data": {"a": 1, "nested": {"x": 1, "y": 2}}}, headers=alice)
    body = json.dumps({"data": {"a": None, "nested": {"x": None, "z": False}}})
    data = send(app, "PATCH", RECORD, body, alice, content_type=MERGE_PATCH).json["data"]
    assert "a" not in data
    assert data["nested"] == {"y": 2, "z": False}


def test_json_patch_applies_operations_on_data_and_permissions(app, alice, bob_id, collection):
    app.put_json(RECORD, {"data": {"list": [1]}}, headers=alice)
    operations = [
        {"op": "add", "path": "/data/list/-", "value": 2},
        {"op": "add", "path": "/data/title", "value": "t"},
        {"op": "add", "path": f"/permissions/read/{bob_id}"},
    ]
    response = send(app, "PATCH", RECORD, json.dumps(operations), alice, content_type=JSON_PATCH)
    assert response.json["data"]["list"] == [1, 2]
    assert response.json["data"]["title"] == "t"
    assert response.json["permissions"]["read"] == [bob_id]


def test_json_patch_replaces_a_whole_permission(app, alice, bob_id, record):
    operations = [{"op": "add", "path": "/permissions/read", "value": [bob_id]}]
    response = send(app, "PATCH", RECORD, json.dumps(operations), alice, content_type=JSON_PATCH)
    assert response.json["permissions"]["read"] == [bob_id]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "bad", "path": "/data/a"},
        {"op": "add", "path": "data", "value": 1},
        {"op": "add", "path": "/data/a", "value": 1, "extra": 1},
    ],
)
def test_invalid_json_patch_operations_are_400(app, alice, record, operation):
    send(app, "PATCH", RECORD, json.dumps([operation]), alice, content_type=JSON_PATCH, status=400)


def test_failing_json_patch_is_400_without_the_document(app, alice, bob_id, record):
    app.patch_json(RECORD, {"permissions": {"read": [bob_id]}}, headers=alice)
    for operation in (
        {"op": "test", "path": "/data/title", "value": "other"},
        {"op": "add", "path": "/permissions/record:create/x"},
    ):
        response = send(
            app,
            "PATCH",
            RECORD,
            json.dumps([operation]),
            alice,
            content_type=JSON_PATCH,
            status=400,
        )
        description = response.json["details"][0]["description"]
        assert description.startswith("JSON Patch operation failed:")
        assert bob_id not in description


def test_response_behavior_light_returns_changed_fields(app, alice, record):
    headers = {**alice, "Response-Behavior": "light"}
    body = {"data": {"title": "a", "new": 1, "empty": None}}
    data = app.patch_json(RECORD, body, headers=headers).json["data"]
    assert data == {"new": 1, "empty": None}


def test_response_behavior_diff_returns_fields_differing_from_sent(app, alice, collection):
    app.put_json(RECORD, {"data": {"tags": ["a"]}}, headers=alice)
    headers = {**alice, "Response-Behavior": "diff", "Content-Type": MERGE_PATCH}
    body = json.dumps({"data": {"tags": ["b"], "nested": {"x": None, "y": 1}}})
    data = app.patch(RECORD, body, headers=headers).json["data"]
    assert data == {"nested": {"y": 1}}


def test_invalid_response_behavior_is_400(app, alice, record):
    headers = {**alice, "Response-Behavior": "bogus"}
    response = app.patch_json(RECORD, {"data": {}}, headers=headers, status=400)
    assert response.json["details"][0]["name"] == "Response-Behavior"


def test_writer_is_added_to_write(app, alice, alice_id, bob_id, record):
    body = {"permissions": {"write": [bob_id]}}
    response = app.put_json(RECORD, body, headers=alice)
    assert response.json["permissions"]["write"] == sorted([alice_id, bob_id])


def test_writer_is_not_added_without_explicit_permissions(make_app, alice):
    app = make_app(explicit_permissions=False, bucket_write_principals="system.Authenticated")
    assert app.put_json(BUCKET, {}, headers=alice).json["permissions"] == {}


def test_validation_after_patch_names_the_field(app, alice, group):
    response = app.patch_json(GROUP, {"data": {"members": "x"}}, headers=alice, status=400)
    assert response.json["details"][0]["name"] == "data.members"


# §2.3 permissions in responses


def test_permissions_are_shown_only_to_writers(app, alice, bob, bob_id, record):
    app.patch_json(COLLECTION, {"permissions": {"write": [bob_id]}}, headers=alice)
    # Bob may write through the collection but is not in the record's ACL.
    assert app.get(RECORD, headers=bob).json["permissions"] == {}
    assert app.get(RECORD, headers=alice).json["permissions"] != {}


def test_permissions_shown_through_a_group(app, alice, bob, bob_id, record):
    app.put_json(GROUP, {"data": {"members": [bob_id]}}, headers=alice)
    app.patch_json(RECORD, {"permissions": {"write": ["/buckets/b/groups/g"]}}, headers=alice)
    assert "write" in app.get(RECORD, headers=bob).json["permissions"]


def test_empty_permissions_are_omitted(app, alice, alice_id, record):
    response = app.patch_json(RECORD, {"permissions": {"read": []}}, headers=alice)
    assert response.json["permissions"] == {"write": [alice_id]}


@pytest.mark.parametrize(
    "url, name",
    [
        (BUCKET, "record:create"),
        (COLLECTION, "collection:create"),
        (GROUP, "record:create"),
        (RECORD, "record:create"),
    ],
)
def test_unknown_permission_names_are_400(app, alice, record, group, url, name):
    response = app.patch_json(url, {"permissions": {name: []}}, headers=alice, status=400)
    assert response.json["errno"] == 107


# §2.4 Resource-specific rules


def test_records_need_their_collection_before_authorization_on_writes(app, bob, bucket):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        url = RECORDS if method == "POST" else RECORD
        response = app.request(
            url,
            method=method,
            body=b'{"data": {}}',
            headers={**bob, "Content-Type": "application/json"},
            status=404,
        )
        assert response.json["errno"] == 111
        assert response.json["details"] == {"id": "c", "resource_name": "collection"}


def test_records_of_a_missing_collection_on_get_need_read_first(app, alice, bob, bucket):
    app.get(RECORDS, headers=bob, status=403)
    app.get(RECORD, headers=bob, status=403)
    assert app.get(RECORD, headers=alice, status=404).json["errno"] == 111
