"""``/permissions``: the caller's permissions, object by object."""

from urllib.parse import urlsplit

import pytest


@pytest.fixture
def app(make_app):
    return make_app(experimental_permissions_endpoint=True)


@pytest.fixture
def tree(app, alice):
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.put_json("/v1/buckets/b/collections/c", {}, headers=alice)
    app.put_json("/v1/buckets/b/groups/g", {"data": {"members": []}}, headers=alice)
    app.put_json("/v1/buckets/b/collections/c/records/r", {}, headers=alice)


def by_uri(response):
    return {entry["uri"]: entry for entry in response.json["data"]}


def test_endpoint_is_absent_unless_enabled(make_app):
    app = make_app()
    app.get("/v1/permissions", status=404)
    assert "permissions_endpoint" not in app.get("/v1/").json["capabilities"]


def test_capability_is_announced_when_enabled(app):
    assert "permissions_endpoint" in app.get("/v1/").json["capabilities"]


def test_lists_every_object_with_an_explicit_ace(app, alice, tree):
    entries = by_uri(app.get("/v1/permissions", headers=alice))
    assert set(entries) == {
        "/",
        "/buckets/b",
        "/buckets/b/collections/c",
        "/buckets/b/groups/g",
        "/buckets/b/collections/c/records/r",
    }


def test_entry_fields_name_the_object_and_its_parents(app, alice, tree):
    record = by_uri(app.get("/v1/permissions", headers=alice))[
        "/buckets/b/collections/c/records/r"
    ]
    assert record["resource_name"] == "record"
    assert record["id"] == record["record_id"] == "r"
    assert record["bucket_id"] == "b"
    assert record["collection_id"] == "c"


def test_write_is_expanded_within_the_same_object(app, alice, tree):
    entries = by_uri(app.get("/v1/permissions", headers=alice))
    assert set(entries["/buckets/b"]["permissions"]) == {
        "write",
        "read",
        "read:attributes",
        "collection:create",
        "group:create",
    }
    assert set(entries["/buckets/b/collections/c"]["permissions"]) == {
        "write",
        "read",
        "read:attributes",
        "record:create",
    }


def test_root_entry_comes_from_bucket_create_setting(app, alice):
    root = by_uri(app.get("/v1/permissions", headers=alice))["/"]
    assert root == {"uri": "/", "resource_name": "root", "permissions": ["bucket:create"]}


def test_inherited_objects_are_not_listed(app, alice, bob, tree):
    app.patch_json(
        "/v1/buckets/b", {"permissions": {"read": ["system.Authenticated"]}}, headers=alice
    )
    entries = by_uri(app.get("/v1/permissions", headers=bob))
    assert set(entries) == {"/", "/buckets/b"}
    assert set(entries["/buckets/b"]["permissions"]) == {"read", "read:attributes"}


def test_other_users_objects_are_not_listed(app, bob, tree):
    assert set(by_uri(app.get("/v1/permissions", headers=bob))) == {"/"}


def test_settings_grants_expand_to_every_existing_object(make_app, alice, bob):
    bob_id = make_app().get("/v1/", headers=bob).json["user"]["id"]
    app = make_app(experimental_permissions_endpoint=True, collection_read_principals=bob_id)
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.put_json("/v1/buckets/b/collections/c", {}, headers=alice)
    entries = by_uri(app.get("/v1/permissions", headers=bob))
    assert set(entries["/buckets/b/collections/c"]["permissions"]) == {"read", "read:attributes"}


def test_filters_on_entry_fields(app, alice, tree):
    response = app.get("/v1/permissions?in_resource_name=bucket,collection", headers=alice)
    assert {e["resource_name"] for e in response.json["data"]} == {"bucket", "collection"}


def test_unknown_filter_field_is_rejected(app, alice):
    response = app.get("/v1/permissions?foo=1", headers=alice, status=400)
    assert response.json["errno"] == 107
    assert response.json["message"] == "Unknown filter field 'foo'"


def test_default_order_is_descending_uri(app, alice, tree):
    uris = [e["uri"] for e in app.get("/v1/permissions", headers=alice).json["data"]]
    assert uris == sorted(uris, reverse=True)


def test_sort_on_entry_fields(app, alice, tree):
    data = app.get("/v1/permissions?_sort=resource_name,uri", headers=alice).json["data"]
    assert [e["resource_name"] for e in data] == sorted(e["resource_name"] for e in data)


def test_pagination_walks_every_entry_once(app, alice, tree):
    seen = []
    url = "/v1/permissions?_limit=2"
    while url:
        response = app.get(url, headers=alice)
        seen.extend(e["uri"] for e in response.json["data"])
        next_page = response.headers.get("Next-Page")
        url = urlsplit(next_page)._replace(scheme="", netloc="").geturl() if next_page else None
    assert len(seen) == len(set(seen)) == 5


def test_fields_selects_entry_keys(app, alice, tree):
    data = app.get("/v1/permissions?_fields=uri", headers=alice).json["data"]
    assert all(set(entry) <= {"id", "uri"} for entry in data)


def test_head_counts_entries(app, alice, tree):
    response = app.head("/v1/permissions", headers=alice)
    assert response.headers["Total-Objects"] == response.headers["Total-Records"] == "5"


def test_preconditions_are_accepted(app, alice):
    app.get("/v1/permissions", headers={**alice, "If-None-Match": '"123"'}, status=200)


def test_read_principals_setting_restricts_access(make_app, alice):
    app = make_app(experimental_permissions_endpoint=True, permissions_read_principals="nobody")
    assert app.get("/v1/permissions", headers=alice, status=403).json["errno"] == 121
    assert app.get("/v1/permissions", status=401).json["errno"] == 104


def test_history_entries_are_never_listed(app, alice, tree):
    backend = app.app.registry.permission
    backend.add_principal_to_ace("/buckets/b/history/h1", "read", "system.Everyone")
    assert "/buckets/b/history/h1" not in by_uri(app.get("/v1/permissions", headers=alice))
