"""``/buckets/{bid}/groups`` and ``/buckets/{bid}/groups/{id}``: members
become principals."""

import pytest

GROUP = "/buckets/b/groups/g"


def test_members_default_to_empty_list(app, alice, bucket):
    data = app.put_json("/v1/buckets/b/groups/g", {"data": {}}, headers=alice).json["data"]
    assert data["members"] == []
    data = app.post_json("/v1/buckets/b/groups", {"data": {"a": 1}}, headers=alice).json["data"]
    assert data["members"] == []


def test_no_data_stores_no_members(app, alice, bucket):
    data = app.put_json("/v1/buckets/b/groups/g", {}, headers=alice).json["data"]
    assert "members" not in data
    data = app.put_json(
        "/v1/buckets/b/groups/h", {"permissions": {"read": ["x"]}}, headers=alice
    ).json["data"]
    assert "members" not in data


@pytest.mark.parametrize(
    "members, message",
    [
        (["/buckets/b/groups/other"], "'/buckets/b/groups/other' is not a valid user ID."),
        (["system.Everyone"], "'system.Everyone' is not a valid user ID."),
    ],
)
def test_invalid_members_are_400(app, alice, bucket, members, message):
    response = app.put_json(
        "/v1/buckets/b/groups/g", {"data": {"members": members}}, headers=alice, status=400
    )
    assert response.json["details"][0]["name"] == "data.members"
    assert response.json["details"][0]["description"] == message


@pytest.mark.parametrize("members", ["alice", [1], {"a": 1}])
def test_members_must_be_a_list_of_strings(app, alice, bucket, members):
    app.put_json(
        "/v1/buckets/b/groups/g", {"data": {"members": members}}, headers=alice, status=400
    )


def test_members_validated_after_patch(app, alice, bucket):
    app.put_json("/v1/buckets/b/groups/g", {"data": {}}, headers=alice)
    response = app.patch_json(
        "/v1/buckets/b/groups/g", {"data": {"members": "x"}}, headers=alice, status=400
    )
    assert response.json["details"][0]["name"] == "data.members"


def test_members_get_the_group_principal(app, alice, bob, bob_id, carla, principals, bucket):
    app.put_json("/v1/buckets/b/groups/g", {"data": {"members": [bob_id]}}, headers=alice)
    assert GROUP in principals(bob)
    assert GROUP not in principals(carla)


def test_authenticated_member_applies_to_every_user(app, alice, carla, principals, bucket):
    members = {"data": {"members": ["system.Authenticated"]}}
    app.put_json("/v1/buckets/b/groups/g", members, headers=alice, status=201)
    assert GROUP in principals(carla)


def test_group_membership_grants_permissions(app, alice, bob, bob_id, bucket):
    app.put_json("/v1/buckets/b/groups/g", {"data": {"members": [bob_id]}}, headers=alice)
    app.put_json("/v1/buckets/b/collections/c", {"permissions": {"read": [GROUP]}}, headers=alice)
    app.get("/v1/buckets/b/collections/c", headers=bob, status=200)


def test_updates_sync_principals(app, alice, bob, bob_id, carla, carla_id, principals, bucket):
    app.put_json("/v1/buckets/b/groups/g", {"data": {"members": [bob_id]}}, headers=alice)
    app.patch_json("/v1/buckets/b/groups/g", {"data": {"members": [carla_id]}}, headers=alice)
    assert GROUP not in principals(bob)
    assert GROUP in principals(carla)
    app.patch(
        "/v1/buckets/b/groups/g",
        f'[{{"op": "add", "path": "/data/members/-", "value": "{bob_id}"}}]',
        headers={**alice, "Content-Type": "application/json-patch+json"},
    )
    assert GROUP in principals(bob)
    app.put_json("/v1/buckets/b/groups/g", {"data": {}}, headers=alice)
    assert GROUP not in principals(bob)
    assert GROUP not in principals(carla)


def test_deleting_a_group_removes_principal_and_aces(app, alice, bob, bob_id, principals, bucket):
    app.put_json("/v1/buckets/b/groups/g", {"data": {"members": [bob_id]}}, headers=alice)
    app.put_json("/v1/buckets/b/collections/c", {"permissions": {"read": [GROUP]}}, headers=alice)
    app.delete("/v1/buckets/b/groups/g", headers=alice)
    assert GROUP not in principals(bob)
    body = app.get("/v1/buckets/b/collections/c", headers=alice).json
    assert "read" not in body["permissions"]
    # Re-creating the group does not restore old memberships or grants.
    app.put_json("/v1/buckets/b/groups/g", {"data": {}}, headers=alice)
    app.get("/v1/buckets/b/collections/c", headers=bob, status=403)


def test_deleting_all_groups_removes_principals(app, alice, bob, bob_id, principals, bucket):
    app.put_json("/v1/buckets/b/groups/g", {"data": {"members": [bob_id]}}, headers=alice)
    app.put_json("/v1/buckets/b/groups/h", {"data": {"members": [bob_id]}}, headers=alice)
    data = app.delete("/v1/buckets/b/groups", headers=alice).json["data"]
    assert {obj["id"] for obj in data} == {"g", "h"}
    assert [p for p in principals(bob) if p.startswith("/buckets/")] == []


def test_group_permissions(app, alice, bob, bob_id, bucket):
    app.put_json("/v1/buckets/b/groups/g", {"data": {}}, headers=alice)
    app.get("/v1/buckets/b/groups/g", headers=bob, status=403)
    app.get("/v1/buckets/b/groups", headers=bob, status=403)
    app.patch_json("/v1/buckets/b", {"permissions": {"group:create": [bob_id]}}, headers=alice)
    assert app.get("/v1/buckets/b/groups", headers=bob).json["data"] == []
    app.put_json("/v1/buckets/b/groups/own", {"data": {}}, headers=bob, status=201)
    data = app.get("/v1/buckets/b/groups", headers=bob).json["data"]
    assert [obj["id"] for obj in data] == ["own"]
    app.put_json(
        "/v1/buckets/b/groups/g", {"permissions": {"record:create": []}}, headers=alice, status=400
    )


def test_missing_group(app, alice, bucket):
    response = app.get("/v1/buckets/b/groups/nope", headers=alice, status=404)
    assert response.json["details"] == {"id": "nope", "resource_name": "group"}
