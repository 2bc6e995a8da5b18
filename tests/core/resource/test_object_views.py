"""Object endpoints of the framework (GET/HEAD/PUT/PATCH/DELETE) on the toy app."""

import pytest

from .conftest import auth

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"


def user_id(app, headers):
    return app.get("/v1/", headers=headers).json["user"]["id"]


@pytest.fixture
def toy(toy_app, alice):
    return toy_app.put_json(
        "/v1/toys/t",
        {"data": {"title": "a", "nested": {"x": 1, "y": 2}, "tags": ["a"]}},
        headers=alice,
    ).json["data"]


def etag_of(obj):
    return f'"{obj["last_modified"]}"'


# GET


def test_get_returns_data_and_permissions_to_writers(toy_app, alice, toy):
    response = toy_app.get("/v1/toys/t", headers=alice)
    assert response.json == {
        "data": toy,
        "permissions": {"write": [user_id(toy_app, alice)]},
    }
    assert response.headers["ETag"] == etag_of(toy)
    assert response.headers["Cache-Control"] == "no-cache, no-store"


def test_get_hides_permissions_from_readers(toy_app, alice, bob, toy):
    toy_app.patch_json(
        "/v1/toys/t", {"permissions": {"read": [user_id(toy_app, bob)]}}, headers=alice
    )
    assert toy_app.get("/v1/toys/t", headers=bob).json["permissions"] == {}


def test_get_without_read_is_forbidden(toy_app, bob, toy):
    assert toy_app.get("/v1/toys/t", headers=bob, status=403).json["errno"] == 121
    assert toy_app.get("/v1/toys/t", status=401).json["errno"] == 104


def test_get_missing_is_403_unless_readable(make_toy_app, alice):
    app = make_toy_app()
    app.get("/v1/toys/nope", headers=alice, status=403)
    app = make_toy_app(toy_read_principals="system.Authenticated")
    response = app.get("/v1/toys/nope", headers=alice, status=404)
    assert response.json == {
        "code": 404,
        "errno": 110,
        "error": "Not Found",
        "details": {"id": "nope", "resource_name": "toy"},
    }


def test_get_invalid_id_is_400(toy_app, alice):
    response = toy_app.get("/v1/toys/a%20b", headers=alice, status=400)
    assert response.json["message"] == "path: Invalid object id"


def test_get_fields_drops_permissions(toy_app, alice, toy):
    body = toy_app.get("/v1/toys/t?_fields=nested.x", headers=alice).json
    assert body == {"data": {"id": "t", "last_modified": toy["last_modified"], "nested": {"x": 1}}}


def test_head_has_headers_but_no_body(toy_app, alice, toy):
    response = toy_app.head("/v1/toys/t", headers=alice)
    assert response.body == b""
    assert response.headers["ETag"] == etag_of(toy)


def test_get_preconditions(toy_app, alice, toy):
    etag = etag_of(toy)
    response = toy_app.get("/v1/toys/t", headers={**alice, "If-None-Match": etag}, status=304)
    assert response.headers["ETag"] == etag
    toy_app.get("/v1/toys/t", headers={**alice, "If-None-Match": '"1"'}, status=200)
    response = toy_app.get("/v1/toys/t", headers={**alice, "If-None-Match": "*"}, status=412)
    assert response.json["details"] == {"existing": toy}
    toy_app.get("/v1/toys/t", headers={**alice, "If-Match": etag}, status=200)
    toy_app.get("/v1/toys/t", headers={**alice, "If-Match": '"1"'}, status=412)
    response = toy_app.get("/v1/toys/t", headers={**alice, "If-Match": "1"}, status=400)
    assert response.json["message"] == (
        "If-Match in header: The value should be integer between double quotes."
    )
    toy_app.get("/v1/toys/t", headers={**alice, "If-Modified-Since": "garbage"}, status=200)


def test_get_missing_with_preconditions_is_404(make_toy_app, alice):
    app = make_toy_app(toy_read_principals="system.Authenticated")
    app.get("/v1/toys/nope", headers={**alice, "If-None-Match": "*"}, status=404)
    app.get("/v1/toys/nope", headers={**alice, "If-Match": '"1"'}, status=404)


def test_get_notifies_read(toy_app, alice, toy):
    toy_app.events.clear()
    toy_app.get("/v1/toys/t", headers=alice)
    (event,) = toy_app.events
    assert event.payload["action"] == "read"
    assert event.payload["toy_id"] == "t"
    assert event.read_objects == [toy]


# PUT


def test_put_creates_then_replaces(toy_app, alice):
    response = toy_app.put_json("/v1/toys/p", {"data": {"a": 1}}, headers=alice, status=201)
    first = response.json["data"]
    assert first == {"id": "p", "a": 1, "last_modified": first["last_modified"]}
    response = toy_app.put_json("/v1/toys/p", {"data": {"b": 2}}, headers=alice, status=200)
    second = response.json["data"]
    assert second == {"id": "p", "b": 2, "last_modified": second["last_modified"]}
    assert second["last_modified"] > first["last_modified"]
    assert response.headers["ETag"] == etag_of(second)


def test_put_same_data_still_bumps_timestamp(toy_app, alice, toy):
    data = {k: v for k, v in toy.items() if k != "last_modified"}
    again = toy_app.put_json("/v1/toys/t", {"data": data}, headers=alice).json["data"]
    assert again["last_modified"] > toy["last_modified"]


def test_put_without_data_keeps_data(toy_app, alice, toy):
    body = toy_app.put_json(
        "/v1/toys/t", {"permissions": {"read": ["system.Everyone"]}}, headers=alice
    ).json
    assert {k: v for k, v in body["data"].items() if k != "last_modified"} == {
        k: v for k, v in toy.items() if k != "last_modified"
    }
    assert body["permissions"]["read"] == ["system.Everyone"]
    body = toy_app.put_json("/v1/toys/new", {}, headers=alice, status=201).json
    assert set(body["data"]) == {"id", "last_modified"}


def test_put_permissions_replace_the_whole_acl(toy_app, alice, toy):
    me = user_id(toy_app, alice)
    toy_app.patch_json("/v1/toys/t", {"permissions": {"read": ["x"]}}, headers=alice)
    body = toy_app.put_json("/v1/toys/t", {"permissions": {"write": ["y"]}}, headers=alice).json
    assert body["permissions"] == {"write": sorted(["y", me])}


def test_put_id_mismatch_is_400(toy_app, alice):
    response = toy_app.put_json("/v1/toys/a", {"data": {"id": "b"}}, headers=alice, status=400)
    assert response.json["message"] == "Object id does not match existing object"
    assert response.json["details"][0]["name"] == "id"
    toy_app.put_json("/v1/toys/a", {"data": {"id": "a"}}, headers=alice, status=201)


def test_put_requires_write_on_existing_and_create_on_missing(make_toy_app, alice, bob):
    app = make_toy_app()
    app.put_json("/v1/toys/t", {"data": {}}, headers=alice, status=201)
    app.put_json("/v1/toys/t", {"data": {}}, headers=bob, status=403)
    app = make_toy_app(toy_create_principals="")
    app.put_json("/v1/toys/t", {"data": {}}, headers=alice, status=403)
    app.put_json("/v1/toys/t", {"data": {}}, status=401)


def test_put_if_none_match_star(toy_app, alice, bob, toy):
    headers = {**alice, "If-None-Match": "*"}
    response = toy_app.put_json("/v1/toys/t", {"data": {}}, headers=headers, status=412)
    assert response.json["details"] == {"existing": toy}
    assert response.headers["ETag"] == etag_of(toy)
    toy_app.put_json("/v1/toys/u", {"data": {}}, headers=headers, status=201)
    # Authorised against create, not write: bob may create.
    toy_app.put_json("/v1/toys/t", {"data": {}}, headers={**bob, "If-None-Match": "*"}, status=412)


def test_put_if_none_match_star_needs_create(make_toy_app, alice, bob):
    app = make_toy_app(toy_create_principals="")
    headers = {**bob, "If-None-Match": "*"}
    app.put_json("/v1/toys/t", {"data": {}}, headers=headers, status=403)


def test_put_if_match(toy_app, alice, toy):
    toy_app.put_json("/v1/toys/t", {"data": {}}, headers={**alice, "If-Match": '"1"'}, status=412)
    for value in ('"1"', "*"):
        response = toy_app.put_json(
            "/v1/toys/new", {"data": {}}, headers={**alice, "If-Match": value}, status=412
        )
        assert "details" not in response.json
    toy_app.put_json("/v1/toys/t", {"data": {}}, headers={**alice, "If-Match": "*"}, status=200)


def test_put_if_match_is_checked_atomically(toy_app, alice, toy):
    etag = etag_of(toy)
    toy_app.put_json("/v1/toys/t", {"data": {"v": 1}}, headers={**alice, "If-Match": etag})
    response = toy_app.put_json(
        "/v1/toys/t", {"data": {"v": 2}}, headers={**alice, "If-Match": etag}, status=412
    )
    assert response.json["details"]["existing"]["v"] == 1


def test_put_notifies_create_then_update(toy_app, alice):
    toy_app.events.clear()
    created = toy_app.put_json("/v1/toys/e", {"data": {}}, headers=alice).json["data"]
    updated = toy_app.put_json("/v1/toys/e", {"data": {"x": 1}}, headers=alice).json["data"]
    first, second = toy_app.events
    assert first.payload["action"] == "create"
    assert first.impacted_objects == [{"new": created}]
    assert second.payload["action"] == "update"
    assert second.impacted_objects == [{"old": created, "new": updated}]


def test_put_unsupported_content_type_is_415(toy_app, alice):
    response = toy_app.put(
        "/v1/toys/t", "{}", headers={**alice, "Content-Type": "text/plain"}, status=415
    )
    assert response.json["errno"] == 107
    assert response.json["error"] == "Invalid parameters"
    assert response.json["details"][0]["name"] == "Content-Type"
    toy_app.put(
        "/v1/toys/t",
        '{"data": {}}',
        headers={**alice, "Content-Type": "application/json; charset=utf-8"},
        status=201,
    )


# PATCH


def test_plain_patch_merges_top_level_keys(toy_app, alice, toy):
    body = toy_app.patch_json(
        "/v1/toys/t", {"data": {"title": None, "nested": {"x": 3}}}, headers=alice
    ).json
    assert body["data"]["title"] is None
    assert body["data"]["nested"] == {"x": 3}
    assert body["data"]["tags"] == ["a"]
    assert body["data"]["last_modified"] > toy["last_modified"]


def test_merge_patch_is_recursive(toy_app, alice, toy):
    body = toy_app.patch(
        "/v1/toys/t",
        '{"data": {"title": null, "nested": {"x": null, "z": 0}}}',
        headers={**alice, "Content-Type": MERGE_PATCH},
    ).json
    assert "title" not in body["data"]
    assert body["data"]["nested"] == {"y": 2, "z": 0}


def test_merge_patch_removes_permissions_with_null(toy_app, alice, toy):
    toy_app.patch_json("/v1/toys/t", {"permissions": {"read": ["x"]}}, headers=alice)
    body = toy_app.patch(
        "/v1/toys/t",
        '{"permissions": {"read": null}}',
        headers={**alice, "Content-Type": MERGE_PATCH},
    ).json
    assert "read" not in body["permissions"]


def test_plain_patch_permissions(toy_app, alice, toy):
    me = user_id(toy_app, alice)
    body = toy_app.patch_json(
        "/v1/toys/t", {"permissions": {"read": ["x"], "write": None}}, headers=alice
    ).json
    assert body["permissions"] == {"read": ["x"], "write": [me]}


def test_json_patch(toy_app, alice, toy):
    operations = [
        {"op": "add", "path": "/data/tags/-", "value": "b"},
        {"op": "remove", "path": "/data/title"},
        {"op": "add", "path": "/permissions/read/system.Everyone"},
    ]
    body = toy_app.patch_json(
        "/v1/toys/t", operations, headers={**alice, "Content-Type": JSON_PATCH}
    ).json
    assert body["data"]["tags"] == ["a", "b"]
    assert "title" not in body["data"]
    assert body["permissions"]["read"] == ["system.Everyone"]


def test_json_patch_failures_are_400(toy_app, alice, toy):
    headers = {**alice, "Content-Type": JSON_PATCH}
    response = toy_app.patch_json(
        "/v1/toys/t",
        [{"op": "test", "path": "/data/title", "value": "z"}],
        headers=headers,
        status=400,
    )
    assert response.json["message"].startswith("JSON Patch operation failed:")
    toy_app.patch_json("/v1/toys/t", {"data": {}}, headers=headers, status=400)
    toy_app.patch_json(
        "/v1/toys/t", [{"op": "add", "path": "/permissions/foo/x"}], headers=headers, status=400
    )
    toy_app.patch_json(
        "/v1/toys/t",
        [{"op": "replace", "path": "/data/id", "value": "other"}],
        headers=headers,
        status=400,
    )


def test_patch_requires_data_or_permissions(toy_app, alice, toy):
    response = toy_app.patch_json("/v1/toys/t", {}, headers=alice, status=400)
    assert response.json["message"] == "Provide at least one of data or permissions"
    assert response.json["details"][0]["name"] == "data"


def test_patch_id_mismatch_is_400(toy_app, alice, toy):
    toy_app.patch_json("/v1/toys/t", {"data": {"id": "x"}}, headers=alice, status=400)


def test_patch_response_behaviors(toy_app, alice, toy):
    headers = {**alice, "Response-Behavior": "light"}
    body = toy_app.patch_json(
        "/v1/toys/t", {"data": {"title": "b", "tags": ["a"], "new": 1}}, headers=headers
    ).json
    assert body["data"] == {"title": "b", "new": 1}
    headers = {**alice, "Response-Behavior": "diff"}
    body = toy_app.patch_json(
        "/v1/toys/t", {"data": {"title": "c", "new": 2}}, headers=headers
    ).json
    assert body["data"] == {}
    headers = {**alice, "Response-Behavior": "other"}
    toy_app.patch_json("/v1/toys/t", {"data": {}}, headers=headers, status=400)


def test_patch_missing_is_404_if_list_readable(make_toy_app, alice):
    app = make_toy_app()
    app.patch_json("/v1/toys/nope", {"data": {}}, headers=alice, status=403)
    app = make_toy_app(toy_read_principals="system.Authenticated")
    response = app.patch_json("/v1/toys/nope", {"data": {}}, headers=alice, status=404)
    assert response.json["errno"] == 110


def test_patch_requires_write(toy_app, bob, toy):
    toy_app.patch_json("/v1/toys/t", {"data": {}}, headers=bob, status=403)


def test_patch_preconditions(toy_app, alice, toy):
    toy_app.patch_json(
        "/v1/toys/t", {"data": {}}, headers={**alice, "If-Match": '"1"'}, status=412
    )
    toy_app.patch_json(
        "/v1/toys/t", {"data": {}}, headers={**alice, "If-None-Match": "*"}, status=412
    )
    toy_app.patch_json(
        "/v1/toys/t", {"data": {}}, headers={**alice, "If-Match": etag_of(toy)}, status=200
    )


def test_patch_unsupported_content_type_is_415(toy_app, alice, toy):
    toy_app.patch("/v1/toys/t", "{}", headers={**alice, "Content-Type": "text/html"}, status=415)


def test_patch_client_timestamp_only_if_greater(toy_app, alice, toy):
    data = toy_app.patch_json(
        "/v1/toys/t", {"data": {"last_modified": toy["last_modified"] - 10}}, headers=alice
    ).json["data"]
    assert data["last_modified"] > toy["last_modified"]
    forced = data["last_modified"] + 1000
    data = toy_app.patch_json(
        "/v1/toys/t", {"data": {"last_modified": forced}}, headers=alice
    ).json["data"]
    assert data["last_modified"] == forced


def test_patch_notifies_full_objects(toy_app, alice, toy):
    toy_app.events.clear()
    toy_app.patch_json(
        "/v1/toys/t", {"data": {"x": 1}}, headers={**alice, "Response-Behavior": "light"}
    )
    (event,) = toy_app.events
    (change,) = event.impacted_objects
    assert change["old"] == toy
    assert change["new"]["id"] == "t" and change["new"]["x"] == 1


# DELETE


def test_delete_returns_tombstone(toy_app, alice, toy):
    response = toy_app.delete("/v1/toys/t", headers=alice)
    data = response.json["data"]
    assert data == {"id": "t", "last_modified": data["last_modified"], "deleted": True}
    assert "permissions" not in response.json
    assert response.headers["ETag"] == etag_of(data)
    toy_app.get("/v1/toys/t", headers=alice, status=403)


def test_delete_removes_the_acl(make_toy_app, alice, bob):
    app = make_toy_app()
    app.put_json("/v1/toys/t", {"permissions": {"read": [user_id(app, bob)]}}, headers=alice)
    app.delete("/v1/toys/t", headers=alice)
    app.put_json("/v1/toys/t", {}, headers=alice)
    app.get("/v1/toys/t", headers=bob, status=403)


def test_delete_with_forced_timestamp(toy_app, alice, toy):
    forced = toy["last_modified"] + 5000
    data = toy_app.delete(f"/v1/toys/t?last_modified={forced}", headers=alice).json["data"]
    assert data["last_modified"] == forced


def test_delete_with_older_forced_timestamp_is_ignored(toy_app, alice, toy):
    data = toy_app.delete("/v1/toys/t?last_modified=10", headers=alice).json["data"]
    assert data["last_modified"] > toy["last_modified"]


def test_delete_with_invalid_forced_timestamp_is_400(toy_app, alice, toy):
    toy_app.delete("/v1/toys/t?last_modified=abc", headers=alice, status=400)


def test_delete_missing(make_toy_app, alice):
    app = make_toy_app()
    app.delete("/v1/toys/nope", headers=alice, status=403)
    app.delete("/v1/toys/nope", status=401)
    app = make_toy_app(toy_read_principals="system.Authenticated")
    app.delete("/v1/toys/nope", headers=alice, status=404)


def test_delete_preconditions(toy_app, alice, toy):
    toy_app.delete("/v1/toys/t", headers={**alice, "If-Match": '"1"'}, status=412)
    toy_app.delete("/v1/toys/t", headers={**alice, "If-None-Match": "*"}, status=412)
    toy_app.delete("/v1/toys/t", headers={**alice, "If-Match": etag_of(toy)}, status=200)


def test_delete_notifies(toy_app, alice, toy):
    toy_app.events.clear()
    tombstone = toy_app.delete("/v1/toys/t", headers=alice).json["data"]
    (event,) = toy_app.events
    assert event.payload["action"] == "delete"
    assert event.impacted_objects == [{"old": toy, "new": tombstone}]


def test_anonymous_writer_is_everyone(make_toy_app):
    app = make_toy_app(toy_create_principals="system.Everyone")
    body = app.put_json("/v1/toys/anon", {"data": {}}).json
    assert body["permissions"] == {"write": ["system.Everyone"]}
    assert auth("x")


def test_delete_with_out_of_range_forced_timestamp_is_400(toy_app, alice, toy):
    toy_app.delete("/v1/toys/t?last_modified=99999999999999999999999", headers=alice, status=400)
