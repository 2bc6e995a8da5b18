"""``/buckets/{bid}/snapshot/collections/{cid}@{timestamp}`` (plugins.md §3)."""

import pytest

from tests.plugins.history.conftest import RECORDS

SNAPSHOT = "/v1/buckets/b/snapshot/collections/c@{}"


def put(app, headers, record_id, **data):
    return app.put_json(f"{RECORDS}/{record_id}", {"data": data}, headers=headers).json["data"]


def snapshot(app, headers, timestamp, status=200):
    return app.get(SNAPSHOT.format(timestamp), headers=headers, status=status)


@pytest.fixture
def timeline(app, alice, collection):
    """Changes around a point in time ``t`` (returned with the records as
    they were then)."""
    kept = put(app, alice, "kept", v=1)
    updated = put(app, alice, "updated", v=1)
    deleted_later = put(app, alice, "deleted_later", v=1)
    deleted_before = put(app, alice, "deleted_before", v=1)
    app.delete(f"{RECORDS}/deleted_before", headers=alice)
    recreated = put(app, alice, "recreated", v=1)
    t = recreated["last_modified"]
    put(app, alice, "updated", v=2)
    put(app, alice, "updated", v=3)
    app.delete(f"{RECORDS}/deleted_later", headers=alice)
    put(app, alice, "created_later", v=1)
    app.delete(f"{RECORDS}/recreated", headers=alice)
    put(app, alice, "recreated", v=2)
    assert deleted_before
    return t, [recreated, deleted_later, updated, kept]


def test_records_are_as_they_were_at_the_timestamp(app, alice, timeline):
    t, expected = timeline
    assert snapshot(app, alice, t).json == {"data": expected}


def test_a_timestamp_before_any_record_is_empty(app, alice, timeline):
    assert snapshot(app, alice, 0).json == {"data": []}


def test_a_timestamp_after_every_change_is_the_current_state(app, alice, timeline):
    current = app.get(RECORDS, headers=alice).json["data"]
    assert snapshot(app, alice, 2**62).json["data"] == current


def test_other_collections_do_not_leak_in(app, alice, collection):
    app.put_json("/v1/buckets/b/collections/d", {}, headers=alice)
    app.put_json("/v1/buckets/b/collections/d/records/x", {"data": {}}, headers=alice)
    record = put(app, alice, "x", v=1)
    put(app, alice, "x", v=2)
    app.put_json("/v1/buckets/b/collections/d/records/x", {"data": {"d": 2}}, headers=alice)
    assert snapshot(app, alice, record["last_modified"]).json["data"] == [record]


@pytest.mark.parametrize("timestamp", ["abc", "-1", "1.5", "%EF%BC%91%EF%BC%92"])
def test_timestamp_must_be_a_non_negative_integer(app, alice, collection, timestamp):
    response = snapshot(app, alice, timestamp, status=400)
    assert response.json["errno"] == 107


def test_readers_of_the_bucket_or_collection_may_read_snapshots(
    app, alice, bob, bob_id, collection
):
    record = put(app, alice, "r", v=1)
    snapshot(app, bob, record["last_modified"], status=403)
    snapshot(app, {}, record["last_modified"], status=401)
    app.patch_json(
        "/v1/buckets/b/collections/c", {"permissions": {"read": [bob_id]}}, headers=alice
    )
    assert snapshot(app, bob, record["last_modified"]).json["data"] == [record]


def test_record_readers_may_not_read_snapshots(app, alice, bob, bob_id, collection):
    app.put_json(f"{RECORDS}/r", {"data": {}, "permissions": {"read": [bob_id]}}, headers=alice)
    snapshot(app, bob, 0, status=403)


def test_only_get(app, alice, collection):
    url = SNAPSHOT.format(0)
    for method in ("post_json", "put_json", "patch_json"):
        getattr(app, method)(url, {}, headers=alice, status=405)
    app.delete(url, headers=alice, status=405)
