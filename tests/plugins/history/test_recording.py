"""What the history recorder writes (plugins.md §3)."""

import datetime
import re

import pytest

from tests.plugins.history.conftest import HISTORY, RECORDS

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
COMMON_FIELDS = {"id", "last_modified", "action", "resource_name", "uri", "user_id", "date"}


def test_bucket_creation_entry_has_every_field(app, alice, alice_id, read_history):
    bucket = app.put_json("/v1/buckets/b", {"data": {"title": "B"}}, headers=alice).json["data"]
    (entry,) = read_history(alice)
    assert set(entry) == COMMON_FIELDS | {"bucket_id", "target"}
    assert UUID4.match(entry["id"])
    assert entry["action"] == "create"
    assert entry["resource_name"] == "bucket"
    assert entry["uri"] == "/buckets/b"
    assert entry["bucket_id"] == "b"
    assert entry["user_id"] == alice_id
    assert entry["target"] == {"data": bucket, "permissions": {"write": [alice_id]}}
    assert isinstance(entry["last_modified"], int)


def test_date_is_iso_8601_utc_with_offset(app, alice, read_history):
    before = datetime.datetime.now(datetime.UTC)
    app.put_json("/v1/buckets/b", {}, headers=alice)
    date = read_history(alice)[0]["date"]
    assert date.endswith("+00:00")
    parsed = datetime.datetime.fromisoformat(date)
    assert parsed >= before - datetime.timedelta(seconds=1)


def test_collection_group_and_record_entries_carry_their_ids_but_no_bucket_id(
    app, alice, collection, read_history
):
    app.put_json("/v1/buckets/b/groups/g", {"data": {"members": []}}, headers=alice)
    app.put_json(f"{RECORDS}/r", {"data": {}}, headers=alice)
    by_name = {entry["resource_name"]: entry for entry in read_history(alice)}

    assert set(by_name["collection"]) == COMMON_FIELDS | {"collection_id", "target"}
    assert by_name["collection"]["collection_id"] == "c"
    assert by_name["collection"]["uri"] == "/buckets/b/collections/c"
    assert set(by_name["group"]) == COMMON_FIELDS | {"group_id", "target"}
    assert by_name["group"]["group_id"] == "g"
    assert by_name["group"]["uri"] == "/buckets/b/groups/g"
    assert set(by_name["record"]) == COMMON_FIELDS | {"collection_id", "record_id", "target"}
    assert (by_name["record"]["collection_id"], by_name["record"]["record_id"]) == ("c", "r")
    assert by_name["record"]["uri"] == "/buckets/b/collections/c/records/r"


def test_plural_post_entries_carry_the_object_uri(app, alice, collection, read_history):
    created = app.post_json(RECORDS, {"data": {"a": 1}}, headers=alice).json["data"]
    entry = read_history(alice, "resource_name=record")[0]
    assert entry["uri"] == f"/buckets/b/collections/c/records/{created['id']}"
    assert entry["record_id"] == created["id"]
    assert entry["target"]["data"] == created


def test_updates_and_deletions_are_recorded_newest_first(app, alice, collection, read_history):
    app.put_json(f"{RECORDS}/r", {"data": {"v": 1}}, headers=alice)
    updated = app.patch_json(f"{RECORDS}/r", {"data": {"v": 2}}, headers=alice).json["data"]
    tombstone = app.delete(f"{RECORDS}/r", headers=alice).json["data"]
    entries = read_history(alice, "resource_name=record")
    assert [entry["action"] for entry in entries] == ["delete", "update", "create"]
    assert entries[1]["target"]["data"] == updated
    assert entries[0]["target"] == {"data": tombstone, "permissions": {}}


def test_patch_with_light_response_records_the_whole_object(app, alice, collection, read_history):
    app.put_json(f"{RECORDS}/r", {"data": {"a": 1}}, headers=alice)
    app.patch_json(
        f"{RECORDS}/r", {"data": {"b": 2}}, headers={**alice, "Response-Behavior": "light"}
    )
    target = read_history(alice, "action=update")[0]["target"]["data"]
    assert (target["id"], target["a"], target["b"]) == ("r", 1, 2)


def test_target_permissions_are_the_object_acl_at_that_time(
    app, alice, alice_id, collection, read_history
):
    app.put_json(
        f"{RECORDS}/r",
        {"data": {}, "permissions": {"read": ["system.Everyone"]}},
        headers=alice,
    )
    app.patch_json(f"{RECORDS}/r", {"permissions": {"read": []}}, headers=alice)
    update, create = read_history(alice, "resource_name=record")
    assert create["target"]["permissions"] == {"read": ["system.Everyone"], "write": [alice_id]}
    assert update["target"]["permissions"] == {"write": [alice_id]}


def test_plural_delete_records_one_entry_per_object(app, alice, collection, read_history):
    for record_id in ("r1", "r2", "r3"):
        app.put_json(f"{RECORDS}/{record_id}", {"data": {}}, headers=alice)
    app.delete(RECORDS, headers=alice)
    deletions = read_history(alice, "action=delete")
    assert sorted(entry["record_id"] for entry in deletions) == ["r1", "r2", "r3"]
    assert all(entry["target"]["data"]["deleted"] for entry in deletions)


def test_cascade_deletions_are_not_recorded(app, alice, collection, read_history):
    app.put_json(f"{RECORDS}/r", {"data": {}}, headers=alice)
    app.delete("/v1/buckets/b/collections/c", headers=alice)
    deletions = read_history(alice, "action=delete")
    assert [entry["resource_name"] for entry in deletions] == ["collection"]


def test_a_batch_records_every_change(app, alice, collection, read_history):
    requests = [
        {"method": "PUT", "path": f"/buckets/b/collections/c/records/r{i}", "body": {"data": {}}}
        for i in range(3)
    ]
    app.post_json("/v1/batch", {"requests": requests}, headers=alice)
    assert len(read_history(alice, "resource_name=record")) == 3


def test_reads_are_not_recorded(app, alice, collection, read_history):
    before = len(read_history(alice))
    app.get(RECORDS, headers=alice)
    app.get("/v1/buckets/b/collections/c", headers=alice)
    assert len(read_history(alice)) == before


def test_anonymous_writes_have_a_null_user_id(app, alice, collection, read_history):
    app.patch_json(
        "/v1/buckets/b/collections/c",
        {"permissions": {"record:create": ["system.Everyone"]}},
        headers=alice,
    )
    app.post_json(RECORDS, {"data": {}}, status=201)
    assert read_history(alice, "resource_name=record")[0]["user_id"] is None


def test_history_changes_are_not_recorded(app, alice, collection, read_history):
    app.delete(f"{HISTORY}?resource_name=collection", headers=alice)
    assert {entry["resource_name"] for entry in read_history(alice)} == {"bucket"}


def test_entries_are_written_inside_the_transaction_before_commit(make_history_app, alice):
    app = make_history_app(includes="kinto.plugins.history tests.plugins.history.probe")
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.put_json("/v1/buckets/b/collections/c", {}, headers=alice)
    assert app.app.registry.history_probe == [(1, "Active"), (2, "Active")]


# Bucket deletion


def test_deleting_a_bucket_deletes_its_history(app, alice, collection):
    app.put_json(f"{RECORDS}/r", {"data": {}}, headers=alice)
    app.put_json("/v1/buckets/other", {}, headers=alice)
    app.delete("/v1/buckets/b", headers=alice)
    storage = app.app.registry.storage
    assert storage.list_all("history", "/buckets/b", include_deleted=True) == []
    assert len(storage.list_all("history", "/buckets/other")) == 1
    acls = app.app.registry.permission.get_accessible_objects(["system.Everyone"])
    assert not [uri for uri in acls if uri.startswith("/buckets/b/history")]

    app.put_json("/v1/buckets/b", {}, headers=alice)
    entries = app.get(HISTORY, headers=alice).json["data"]
    assert [(e["resource_name"], e["action"]) for e in entries] == [("bucket", "create")]


def test_plural_bucket_deletion_deletes_every_history(app, alice):
    app.put_json("/v1/buckets/b1", {}, headers=alice)
    app.put_json("/v1/buckets/b2", {}, headers=alice)
    app.delete("/v1/buckets", headers=alice)
    storage = app.app.registry.storage
    assert storage.count_all("history", "/buckets/*") == 0


# Exclusions


@pytest.mark.parametrize(
    ("excluded", "tracked"),
    [
        ("/buckets/b", []),
        ("/buckets/b/collections/c", ["bucket", "group"]),
        ("/buckets/b/collections/c/records/r", ["bucket", "collection", "group"]),
        ("/buckets/b/groups/g", ["bucket", "collection", "record"]),
        ("/buckets/bb /buckets/b/collections/cc", ["bucket", "collection", "group", "record"]),
    ],
)
def test_excluded_resources_are_not_tracked(make_history_app, alice, excluded, tracked):
    app = make_history_app(**{"history.exclude_resources": excluded})
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.put_json("/v1/buckets/b/collections/c", {}, headers=alice)
    app.put_json("/v1/buckets/b/groups/g", {"data": {"members": []}}, headers=alice)
    app.put_json(f"{RECORDS}/r", {"data": {}}, headers=alice)
    storage = app.app.registry.storage
    names = {entry["resource_name"] for entry in storage.list_all("history", "/buckets/b")}
    assert sorted(names) == tracked


def test_excluded_users_are_not_tracked(make_history_app, alice, bob):
    app = make_history_app()
    alice_id = app.get("/v1/", headers=alice).json["user"]["id"]
    app = make_history_app(**{"history.exclude_user_ids": f"{alice_id} account:other"})
    app.put_json(
        "/v1/buckets/b", {"permissions": {"write": ["system.Authenticated"]}}, headers=bob
    )
    app.put_json("/v1/buckets/b/collections/c", {}, headers=alice)
    app.put_json("/v1/buckets/b/collections/d", {}, headers=bob)
    storage = app.app.registry.storage
    uris = sorted(entry["uri"] for entry in storage.list_all("history", "/buckets/b"))
    assert uris == ["/buckets/b", "/buckets/b/collections/d"]


def test_excluded_users_deleting_a_bucket_still_delete_its_history(make_history_app, alice):
    app = make_history_app()
    alice_id = app.get("/v1/", headers=alice).json["user"]["id"]
    app = make_history_app(**{"history.exclude_user_ids": alice_id})
    storage = app.app.registry.storage
    storage.create("history", "/buckets/b", {"resource_name": "bucket"})
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.delete("/v1/buckets/b", headers=alice)
    assert storage.count_all("history", "/buckets/b") == 0


# Trimming


def write_records(app, headers, count, start=0):
    for i in range(start, start + count):
        app.put_json(f"{RECORDS}/r{i}", {"data": {}}, headers=headers)


def record_entries(app):
    storage = app.app.registry.storage
    return storage.list_all("history", "/buckets/b")


def test_trimming_keeps_the_newest_entries_once_the_threshold_is_passed(make_history_app, alice):
    app = make_history_app(
        **{"history.auto_trim_max_count": "2", "history.auto_trim_threshold": "2"}
    )
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.put_json("/v1/buckets/b/collections/c", {}, headers=alice)
    write_records(app, alice, 4)
    records = [e for e in record_entries(app) if e["resource_name"] == "record"]
    assert len(records) == 4  # 4 <= max + threshold: not trimmed yet
    write_records(app, alice, 1, start=4)
    records = [e for e in record_entries(app) if e["resource_name"] == "record"]
    assert sorted(e["record_id"] for e in records) == ["r3", "r4"]
    # Other resources of the bucket are counted separately.
    names = sorted(e["resource_name"] for e in record_entries(app))
    assert names == ["bucket", "collection", "record", "record"]
    # The ACLs of trimmed entries are gone.
    acls = app.app.registry.permission.get_accessible_objects(
        [app.get("/v1/", headers=alice).json["user"]["id"]]
    )
    history_acls = [uri for uri in acls if "/history/" in uri]
    assert len(history_acls) == 4


def test_trimming_per_user_only_trims_the_listed_users(make_history_app, alice, bob):
    app = make_history_app()
    alice_id = app.get("/v1/", headers=alice).json["user"]["id"]
    app = make_history_app(
        **{
            "history.auto_trim_max_count": "1",
            "history.auto_trim_threshold": "0",
            "history.auto_trim_user_ids": alice_id,
        }
    )
    app.put_json(
        "/v1/buckets/b", {"permissions": {"write": ["system.Authenticated"]}}, headers=bob
    )
    app.put_json("/v1/buckets/b/collections/c", {}, headers=bob)
    write_records(app, bob, 3)
    write_records(app, alice, 3, start=3)
    records = [e for e in record_entries(app) if e["resource_name"] == "record"]
    assert sorted(e["record_id"] for e in records) == ["r0", "r1", "r2", "r5"]


def test_trimming_is_off_by_default(app, alice, collection):
    write_records(app, alice, 5)
    records = [e for e in record_entries(app) if e["resource_name"] == "record"]
    assert len(records) == 5


def test_the_recorder_is_exposed_for_timing(app, alice):
    subscriber = app.app.registry.history_listener
    assert subscriber.name == "history"
    calls = []
    recorder = subscriber.listener

    def timed(event):
        calls.append(event.payload["resource_name"])
        recorder(event)

    subscriber.listener = timed
    app.put_json("/v1/buckets/b", {}, headers=alice)
    assert calls == ["bucket"]
    assert len(app.get(HISTORY, headers=alice).json["data"]) == 1
