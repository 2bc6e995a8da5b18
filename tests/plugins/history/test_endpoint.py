"""``/buckets/{bid}/history`` (plugins.md §3)."""

import pytest

from tests.plugins.history.conftest import HISTORY, RECORDS


@pytest.fixture
def changes(app, alice, collection):
    """Records ``1`` (created, updated) and ``r2`` (created, deleted)."""
    app.put_json(f"{RECORDS}/1", {"data": {"title": "one"}}, headers=alice)
    app.patch_json(f"{RECORDS}/1", {"data": {"title": "uno"}}, headers=alice)
    app.put_json(f"{RECORDS}/r2", {"data": {"title": "two"}}, headers=alice)
    app.delete(f"{RECORDS}/r2", headers=alice)


def actions(entries):
    return [(entry["resource_name"], entry["action"]) for entry in entries]


# Methods


def test_only_the_plural_endpoint_exists(app, alice, collection):
    for method in ("post_json", "put_json", "patch_json"):
        response = getattr(app, method)(HISTORY, {}, headers=alice, status=405)
        assert response.json["errno"] == 115
    entry_id = app.get(HISTORY, headers=alice).json["data"][0]["id"]
    app.get(f"{HISTORY}/{entry_id}", headers=alice, status=404)
    app.delete(f"{HISTORY}/{entry_id}", headers=alice, status=404)


def test_readonly_mode_lists_but_does_not_delete(make_history_app, alice):
    app = make_history_app(readonly="true")
    app.get(HISTORY, headers=alice, status=403)
    app.delete(HISTORY, headers=alice, status=405)


def test_head_is_like_get_without_body_nor_total(app, alice, changes):
    get = app.get(HISTORY, headers=alice)
    head = app.head(HISTORY, headers=alice)
    assert head.body == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert "Total-Objects" not in head.headers
    assert "Total-Records" not in head.headers


# Listing


def test_default_sort_is_newest_first(app, alice, changes, read_history):
    entries = read_history(alice)
    assert actions(entries) == [
        ("record", "delete"),
        ("record", "create"),
        ("record", "update"),
        ("record", "create"),
        ("collection", "create"),
        ("bucket", "create"),
    ]
    stamps = [entry["last_modified"] for entry in entries]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("resource_name=collection", [("collection", "create")]),
        ("action=delete", [("record", "delete")]),
        ("uri=/buckets/b/collections/c/records/1", [("record", "update"), ("record", "create")]),
        ("record_id=1", [("record", "update"), ("record", "create")]),
        (
            "in_record_id=1,r2",
            [
                ("record", "delete"),
                ("record", "create"),
                ("record", "update"),
                ("record", "create"),
            ],
        ),
        ("collection_id=c&action=create", [("record", "create")] * 2 + [("collection", "create")]),
        ("target.data.title=uno", [("record", "update")]),
        ("bucket_id=b", [("bucket", "create")]),
        ("_sort=last_modified&resource_name=record&_limit=1", [("record", "create")]),
    ],
)
def test_filters(app, alice, changes, read_history, query, expected):
    assert actions(read_history(alice, query)) == expected


def test_numeric_looking_id_filters_compare_as_strings(app, alice, collection, read_history):
    app.put_json("/v1/buckets/b/collections/2", {}, headers=alice)
    app.put_json("/v1/buckets/b/collections/2/records/3", {"data": {}}, headers=alice)
    assert len(read_history(alice, "collection_id=2")) == 2
    assert len(read_history(alice, "record_id=3")) == 1
    assert len(read_history(alice, "in_record_id=3,4")) == 1
    assert len(read_history(alice, "not_collection_id=2")) == 2
    assert len(read_history(alice, 'collection_id="2"')) == 2


def test_schema_is_closed(app, alice, collection):
    for query in ("unknown=1", "gt_foo=2", "_sort=foo", "_fields=foo"):
        response = app.get(f"{HISTORY}?{query}", headers=alice, status=400)
        assert response.json["errno"] == 107
    fields = app.get(f"{HISTORY}?_fields=uri", headers=alice).json["data"][0]
    assert set(fields) == {"id", "last_modified", "uri"}


def test_pagination(app, alice, changes):
    response = app.get(f"{HISTORY}?_limit=4", headers=alice)
    assert len(response.json["data"]) == 4
    next_page = response.headers["Next-Page"]
    rest = app.get(next_page.split(":80", 1)[-1], headers=alice).json["data"]
    assert actions(rest) == [("collection", "create"), ("bucket", "create")]


def test_since_lists_entries_after_a_timestamp(app, alice, changes, read_history):
    entries = read_history(alice)
    since = entries[2]["last_modified"]
    assert [e["id"] for e in read_history(alice, f"_since={since}")] == [
        entries[0]["id"],
        entries[1]["id"],
    ]


# Visibility


def test_bucket_readers_see_every_entry(app, alice, bob, bob_id, changes, read_history):
    app.patch_json("/v1/buckets/b", {"permissions": {"read": [bob_id]}}, headers=alice)
    assert len(read_history(bob)) == len(read_history(alice))


def test_object_readers_see_only_entries_they_could_read(
    app, alice, bob, bob_id, collection, read_history
):
    app.put_json("/v1/buckets/b/collections/other", {}, headers=alice)
    app.put_json(f"{RECORDS}/before", {"data": {}}, headers=alice)
    app.patch_json(
        "/v1/buckets/b/collections/c", {"permissions": {"read": [bob_id]}}, headers=alice
    )
    app.put_json(f"{RECORDS}/after", {"data": {}}, headers=alice)
    app.put_json(
        "/v1/buckets/b/collections/other/records/shared",
        {"data": {}, "permissions": {"read": [bob_id]}},
        headers=alice,
    )
    uris = {entry["uri"] for entry in read_history(bob)}
    # The ACL of an entry is computed when it is written.
    assert uris == {
        "/buckets/b/collections/c",
        "/buckets/b/collections/c/records/after",
        "/buckets/b/collections/other/records/shared",
    }


def test_others_without_any_readable_entry_are_forbidden(app, alice, bob, collection):
    assert app.get(HISTORY, headers=bob, status=403).json["errno"] == 121
    assert app.get(HISTORY, status=401).json["errno"] == 104


def test_anonymous_sees_entries_readable_by_everyone(app, alice, collection, read_history):
    app.put_json(f"{RECORDS}/private", {"data": {}}, headers=alice)
    app.put_json(
        f"{RECORDS}/public",
        {"data": {}, "permissions": {"read": ["system.Everyone"]}},
        headers=alice,
    )
    assert [entry["uri"] for entry in read_history({})] == [
        "/buckets/b/collections/c/records/public"
    ]


def test_group_members_see_entries_shared_with_the_group(
    app, alice, bob, bob_id, collection, read_history
):
    app.put_json("/v1/buckets/b/groups/friends", {"data": {"members": [bob_id]}}, headers=alice)
    app.put_json(
        f"{RECORDS}/r",
        {"data": {}, "permissions": {"read": ["/buckets/b/groups/friends"]}},
        headers=alice,
    )
    assert [entry["uri"] for entry in read_history(bob)] == ["/buckets/b/collections/c/records/r"]


def test_history_read_principals_see_everything(make_history_app, alice, bob):
    app = make_history_app(history_read_principals="system.Authenticated")
    app.put_json("/v1/buckets/b", {}, headers=alice)
    assert len(app.get(HISTORY, headers=bob).json["data"]) == 1


def test_entries_have_no_acl_without_explicit_permissions(make_history_app, alice):
    app = make_history_app(
        explicit_permissions="false", bucket_write_principals="system.Authenticated"
    )
    app.put_json("/v1/buckets/b", {"permissions": {"read": ["system.Everyone"]}}, headers=alice)
    entry = app.get(HISTORY, headers=alice).json["data"][0]
    permission = app.app.registry.permission
    assert permission.get_object_permissions(f"/buckets/b/history/{entry['id']}") == {}


def test_history_is_not_listed_by_the_permissions_endpoint(make_history_app, alice):
    app = make_history_app(experimental_permissions_endpoint="true")
    app.put_json("/v1/buckets/b", {}, headers=alice)
    entries = app.get("/v1/permissions", headers=alice).json["data"]
    assert [entry["uri"] for entry in entries if entry["resource_name"] != "root"] == [
        "/buckets/b"
    ]


# Deletion


def test_bucket_writers_delete_matching_entries(app, alice, changes, read_history):
    response = app.delete(f"{HISTORY}?resource_name=record", headers=alice)
    tombstones = response.json["data"]
    assert len(tombstones) == 4
    assert all(tombstone["deleted"] for tombstone in tombstones)
    assert actions(read_history(alice)) == [("collection", "create"), ("bucket", "create")]
    since = min(tombstone["last_modified"] for tombstone in tombstones) - 1
    listed = read_history(alice, f"_since={since}")
    assert {entry["id"] for entry in listed} == {tombstone["id"] for tombstone in tombstones}
    acls = app.app.registry.permission.get_accessible_objects(["system.Everyone"])
    assert [uri for uri in acls if "/history/" in uri] == []


def test_readers_cannot_delete_entries(app, alice, bob, bob_id, changes, read_history):
    app.patch_json("/v1/buckets/b", {"permissions": {"read": [bob_id]}}, headers=alice)
    app.delete(HISTORY, headers=bob, status=403)
    app.delete(HISTORY, status=401)
    assert len(read_history(alice)) == 7  # with the bucket update


# Default bucket


def test_history_of_the_default_bucket(make_history_app, alice):
    app = make_history_app(includes="kinto.plugins.default_bucket kinto.plugins.history")
    app.post_json("/v1/buckets/default/collections/c/records", {"data": {}}, headers=alice)
    entries = app.get("/v1/buckets/default/history", headers=alice).json["data"]
    bucket_id = app.get("/v1/", headers=alice).json["user"]["bucket"]
    assert actions(entries) == [
        ("record", "create"),
        ("collection", "create"),
        ("bucket", "create"),
    ]
    assert entries[2]["uri"] == f"/buckets/{bucket_id}"
    assert entries[1]["uri"] == f"/buckets/{bucket_id}/collections/c"
    assert entries[0]["uri"].startswith(f"/buckets/{bucket_id}/collections/c/records/")


# Capability


def test_capability_without_settings(app):
    capability = app.get("/v1/").json["capabilities"]["history"]
    assert set(capability) == {"description", "url"}


def test_capability_announces_trimming_and_exclusions(make_history_app):
    app = make_history_app(
        **{
            "history.auto_trim_max_count": "10",
            "history.auto_trim_user_ids": "account:a account:b",
            "history.exclude_resources": (
                "/buckets/a /buckets/b/collections/c /buckets/b/groups/g "
                "/buckets/b/collections/c/records/r"
            ),
        }
    )
    capability = app.get("/v1/").json["capabilities"]["history"]
    assert capability["auto_trim_max_count"] == 10
    assert capability["auto_trim_user_ids"] == ["account:a", "account:b"]
    assert capability["excluded_resources"] == [
        {"bucket": "a"},
        {"bucket": "b", "collection": "c"},
        {"bucket": "b", "group": "g"},
        {"bucket": "b", "collection": "c", "record": "r"},
    ]
