"""Conformance to ``permissions.md`` §3-§4: what each ACE grants
(inheritance), settings-based grants, ownership on write and visibility
(404 vs 403 vs 401, partial lists)."""

from __future__ import annotations

import pytest

from tests.views.conftest import BUCKET, COLLECTION, GROUP, RECORD, RECORDS

URIS = {
    "bucket": "/buckets/b",
    "collection": "/buckets/b/collections/c",
    "group": "/buckets/b/groups/g",
    "record": "/buckets/b/collections/c/records/r",
}

# §3.1: operation -> the (object, permission) ACEs granting it.
GRANTS = {
    "read bucket": {("bucket", p) for p in ("write", "read", "collection:create", "group:create")},
    "write bucket": {("bucket", "write")},
    "list all collections": {("bucket", "write"), ("bucket", "read")},
    "read collection": {
        ("bucket", "write"),
        ("bucket", "read"),
        ("collection", "write"),
        ("collection", "read"),
        ("collection", "record:create"),
    },
    "write collection": {("bucket", "write"), ("collection", "write")},
    "create collection": {("bucket", "write"), ("bucket", "collection:create")},
    "list all groups": {("bucket", "write"), ("bucket", "read")},
    "read group": {("bucket", "write"), ("bucket", "read"), ("group", "write"), ("group", "read")},
    "write group": {("bucket", "write"), ("group", "write")},
    "create group": {("bucket", "write"), ("bucket", "group:create")},
    "list all records": {
        ("bucket", "write"),
        ("bucket", "read"),
        ("collection", "write"),
        ("collection", "read"),
    },
    "read record": {
        ("bucket", "write"),
        ("bucket", "read"),
        ("collection", "write"),
        ("collection", "read"),
        ("record", "write"),
        ("record", "read"),
    },
    "write record": {("bucket", "write"), ("collection", "write"), ("record", "write")},
    "create record": {
        ("bucket", "write"),
        ("collection", "write"),
        ("collection", "record:create"),
    },
}
ACES = [
    ("bucket", "write"),
    ("bucket", "read"),
    ("bucket", "collection:create"),
    ("bucket", "group:create"),
    ("collection", "write"),
    ("collection", "read"),
    ("collection", "record:create"),
    ("group", "write"),
    ("group", "read"),
    ("record", "write"),
    ("record", "read"),
]


@pytest.fixture
def tree(app, alice, record, group):
    """Alice's tree, with siblings nobody else has an ACE on."""
    app.put_json(f"{BUCKET}/collections/other", {}, headers=alice)
    app.put_json(f"{BUCKET}/groups/other", {"data": {}}, headers=alice)
    app.put_json(f"{RECORDS}/other", {}, headers=alice)


def attempt(app, operation, headers):
    """True when ``operation`` succeeds for ``headers``."""
    verb, _, what = operation.partition(" ")
    if verb == "list":
        plural = {"all collections": "collections", "all groups": "groups"}.get(what)
        url = f"{BUCKET}/{plural}" if plural else RECORDS
        response = app.get(url, headers=headers, expect_errors=True)
        return response.status_int == 200 and len(response.json["data"]) == 2
    url = {"bucket": BUCKET, "collection": COLLECTION, "group": GROUP, "record": RECORD}[what]
    if verb == "read":
        status = app.get(url, headers=headers, expect_errors=True).status_int
    elif verb == "write":
        status = app.patch_json(url, {"data": {}}, headers=headers, expect_errors=True).status_int
    else:
        url = url.rsplit("/", 1)[0] + "/new"
        status = app.put_json(url, {"data": {}}, headers=headers, expect_errors=True).status_int
    assert status in (200, 201, 403), status
    return status != 403


@pytest.mark.parametrize("ace", ACES, ids=":".join)
@pytest.mark.parametrize("operation", list(GRANTS))
def test_inheritance_table(app, alice, bob, bob_id, tree, ace, operation):
    resource, permission = ace
    uri = URIS[resource]
    app.patch_json(f"/v1{uri}", {"permissions": {permission: [bob_id]}}, headers=alice)
    assert attempt(app, operation, bob) == (ace in GRANTS[operation])


def test_group_members_get_the_group_grants(app, alice, bob, bob_id, tree):
    app.patch_json(GROUP, {"data": {"members": [bob_id]}}, headers=alice)
    app.patch_json(COLLECTION, {"permissions": {"read": ["/buckets/b/groups/g"]}}, headers=alice)
    assert attempt(app, "list all records", bob)


def test_authenticated_and_everyone_principals(app, alice, bob, tree):
    app.patch_json(RECORD, {"permissions": {"read": ["system.Authenticated"]}}, headers=alice)
    assert attempt(app, "read record", bob)
    app.get(RECORD, status=401)
    app.patch_json(RECORD, {"permissions": {"read": ["system.Everyone"]}}, headers=alice)
    app.get(RECORD, status=200)


# §3.2 Settings-based grants


def test_bucket_create_principals(make_app, alice):
    app = make_app(bucket_create_principals="system.Everyone")
    app.put_json(BUCKET, {}, status=201)
    assert make_app().put_json(BUCKET, {}, status=401).json["errno"] == 104


def test_bucket_read_principals_do_not_cascade(make_app, alice, bob):
    app = make_app(bucket_read_principals="system.Authenticated")
    app.put_json(BUCKET, {}, headers=alice)
    app.put_json(COLLECTION, {}, headers=alice)
    app.get(BUCKET, headers=bob, status=200)
    app.get(COLLECTION, headers=bob, status=403)


@pytest.mark.parametrize(
    "setting, url",
    [
        ("collection_create_principals", f"{BUCKET}/collections/new"),
        ("group_create_principals", f"{BUCKET}/groups/new"),
        ("record_create_principals", f"{RECORDS}/new"),
    ],
)
def test_create_principals_settings(make_app, alice, bob, setting, url):
    app = make_app(**{setting: "system.Authenticated"})
    app.put_json(BUCKET, {}, headers=alice)
    app.put_json(COLLECTION, {}, headers=alice)
    app.put_json(url, {"data": {}}, headers=bob, status=201)


def test_record_read_principals_grant_every_record(make_app, alice, bob):
    app = make_app(record_read_principals="system.Authenticated")
    app.put_json(BUCKET, {}, headers=alice)
    app.put_json(COLLECTION, {}, headers=alice)
    app.put_json(RECORD, {}, headers=alice)
    app.get(RECORD, headers=bob, status=200)
    assert [obj["id"] for obj in app.get(RECORDS, headers=bob).json["data"]] == ["r"]
    app.patch_json(RECORD, {"data": {}}, headers=bob, status=403)


def test_record_write_principals_grant_writing_every_record(make_app, alice, bob):
    app = make_app(record_write_principals="system.Authenticated")
    app.put_json(BUCKET, {}, headers=alice)
    app.put_json(COLLECTION, {}, headers=alice)
    app.put_json(RECORD, {}, headers=alice)
    app.patch_json(RECORD, {"data": {"x": 1}}, headers=bob, status=200)


# §3.3 Ownership on write


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_writer_joins_the_write_acl(app, alice, bob, bob_id, collection, method):
    app.patch_json(COLLECTION, {"permissions": {"write": [bob_id]}}, headers=alice)
    if method == "post":
        response = app.post_json(RECORDS, {"permissions": {"read": ["x"]}}, headers=bob)
    else:
        app.put_json(RECORD, {}, headers=alice)
        response = getattr(app, f"{method}_json")(RECORD, {"data": {}}, headers=bob)
    assert bob_id in response.json["permissions"]["write"]


def test_anonymous_writer_adds_everyone(make_app):
    app = make_app(bucket_create_principals="system.Everyone")
    response = app.put_json(BUCKET, {}, status=201)
    assert response.json["permissions"] == {"write": ["system.Everyone"]}


def test_put_permissions_replace_the_acl_then_add_the_writer(app, alice, alice_id, bob_id, record):
    app.patch_json(RECORD, {"permissions": {"read": [bob_id]}}, headers=alice)
    response = app.put_json(RECORD, {"permissions": {"write": []}}, headers=alice)
    assert response.json["permissions"] == {"write": [alice_id]}


def test_plain_patch_replaces_only_listed_permissions(app, alice, alice_id, bob_id, record):
    app.patch_json(RECORD, {"permissions": {"read": [bob_id]}}, headers=alice)
    response = app.patch_json(RECORD, {"permissions": {"write": [bob_id]}}, headers=alice)
    assert response.json["permissions"] == {
        "read": [bob_id],
        "write": sorted([alice_id, bob_id]),
    }


def test_deleting_an_object_deletes_its_acl(app, alice, bob, bob_id, record):
    app.patch_json(RECORD, {"permissions": {"read": [bob_id]}}, headers=alice)
    app.delete(RECORD, headers=alice)
    app.put_json(RECORD, {}, headers=alice)
    app.get(RECORD, headers=bob, status=403)


def test_plural_delete_deletes_the_acls(app, alice, bob, bob_id, record):
    app.patch_json(RECORD, {"permissions": {"read": [bob_id]}}, headers=alice)
    app.delete(RECORDS, headers=alice)
    app.put_json(RECORD, {}, headers=alice)
    app.get(RECORD, headers=bob, status=403)


# §4 Visibility


def test_partial_list_keeps_the_full_list_etag(app, alice, bob, bob_id, tree):
    app.patch_json(RECORD, {"permissions": {"read": [bob_id]}}, headers=alice)
    full = app.get(RECORDS, headers=alice)
    partial = app.get(RECORDS, headers=bob)
    assert [obj["id"] for obj in partial.json["data"]] == ["r"]
    assert partial.headers["ETag"] == full.headers["ETag"]
    assert app.head(RECORDS, headers=bob).headers["Total-Objects"] == "1"


def test_partial_delete_deletes_only_writable_objects(app, alice, bob, bob_id, tree):
    app.patch_json(RECORD, {"permissions": {"write": [bob_id]}}, headers=alice)
    deleted = app.delete(RECORDS, headers=bob).json["data"]
    assert [obj["id"] for obj in deleted] == ["r"]
    assert [obj["id"] for obj in app.get(RECORDS, headers=alice).json["data"]] == ["other"]


def test_creators_without_objects_get_an_empty_list(app, alice, bob, bob_id, tree):
    app.patch_json(COLLECTION, {"permissions": {"record:create": [bob_id]}}, headers=alice)
    assert app.get(RECORDS, headers=bob).json == {"data": []}
    assert app.delete(RECORDS, headers=bob).json == {"data": []}
    assert [obj["id"] for obj in app.get(RECORDS, headers=alice).json["data"]] == ["other", "r"]


def test_lists_without_any_access_are_403_or_401(app, bob, tree):
    assert app.get(RECORDS, headers=bob, status=403).json["errno"] == 121
    assert app.get(RECORDS, status=401).json["errno"] == 104
    app.delete(RECORDS, headers=bob, status=403)
    app.head(RECORDS, headers=bob, status=403)


def test_buckets_list_for_creators_is_empty_not_forbidden(app, bob, tree):
    assert app.get("/v1/buckets", headers=bob).json == {"data": []}
    app.get("/v1/buckets", status=401)


def test_missing_object_is_404_only_for_who_could_read_it(app, alice, bob, bob_id, tree):
    app.get(f"{RECORDS}/nope", headers=bob, status=403)
    app.get(f"{RECORDS}/nope", status=401)
    app.patch_json(COLLECTION, {"permissions": {"read": [bob_id]}}, headers=alice)
    assert app.get(f"{RECORDS}/nope", headers=bob, status=404).json["errno"] == 110


def test_patch_or_delete_of_missing_object_is_404_for_list_readers(app, alice, bob, bob_id, tree):
    app.patch_json(f"{RECORDS}/nope", {"data": {}}, headers=bob, status=403)
    app.delete(f"{RECORDS}/nope", headers=bob, status=403)
    app.delete(f"{RECORDS}/nope", status=401)
    app.patch_json(COLLECTION, {"permissions": {"read": [bob_id]}}, headers=alice)
    app.patch_json(f"{RECORDS}/nope", {"data": {}}, headers=bob, status=404)
    app.delete(f"{RECORDS}/nope", headers=bob, status=404)


def test_missing_group_and_collection_are_404_for_bucket_readers(app, alice, bob, bob_id, tree):
    app.get(f"{BUCKET}/groups/nope", headers=bob, status=403)
    app.patch_json(BUCKET, {"permissions": {"read": [bob_id]}}, headers=alice)
    app.get(f"{BUCKET}/groups/nope", headers=bob, status=404)
    app.delete(f"{BUCKET}/collections/nope", headers=bob, status=404)


def test_put_on_missing_object_needs_create(app, alice, bob, bob_id, tree):
    app.patch_json(COLLECTION, {"permissions": {"read": [bob_id]}}, headers=alice)
    app.put_json(f"{RECORDS}/new", {}, headers=bob, status=403)


def test_missing_bucket_is_403_unless_readable_by_setting(make_app, alice):
    app = make_app()
    app.get("/v1/buckets/nope", headers=alice, status=403)
    app.get("/v1/buckets/nope", status=401)
    app = make_app(bucket_read_principals="system.Authenticated")
    assert app.get("/v1/buckets/nope", headers=alice, status=404).json["errno"] == 110


def test_records_of_a_missing_collection_are_404_for_bucket_readers(app, alice, bob, bob_id, tree):
    app.patch_json(BUCKET, {"permissions": {"read": [bob_id]}}, headers=alice)
    body = app.get(f"{BUCKET}/collections/nope/records", headers=bob, status=404).json
    assert body["errno"] == 111
    assert body["details"] == {"id": "nope", "resource_name": "collection"}
