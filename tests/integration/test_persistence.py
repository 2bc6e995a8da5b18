"""What a ``kinto start`` process stored is still there after it stops and
starts again, on SQLite and on PostgreSQL."""

import pytest

pytestmark = pytest.mark.xdist_group("integration")

COLLECTION = "/buckets/b/collections/c"
RECORDS = f"{COLLECTION}/records"


def snapshot(client):
    """Everything a client can see of the tree, to compare before/after."""
    records = client.get(f"{RECORDS}?_sort=last_modified")
    changes = client.get(f"{RECORDS}?_since=0&_sort=last_modified")
    return {
        "bucket": client.get("/buckets/b").json,
        "collection": client.get(COLLECTION).json,
        "records": records.json["data"],
        "etag": records.headers["etag"],
        "changes": changes.json["data"],
        "group": client.get("/buckets/b/groups/g").json,
    }


def test_objects_written_through_a_server_survive_its_restart(make_server, sql_url):
    backend, url = sql_url
    server = make_server(backend, url)
    server.start()
    alice = server.client("alice")
    bob_id = server.client("bob").get("/").json["user"]["id"]

    assert alice.put("/buckets/b", {"data": {"title": "B"}}).status == 201
    assert alice.put(COLLECTION, {"data": {"kind": "notes"}}).status == 201
    group = {"data": {"members": [bob_id]}}
    assert alice.put("/buckets/b/groups/g", group).status == 201
    for i in range(5):
        assert alice.post(RECORDS, {"data": {"n": i}}).status == 201
    body = {"data": {"n": 99}, "permissions": {"read": ["/buckets/b/groups/g"]}}
    assert alice.put(f"{RECORDS}/shared", body).status == 201
    assert alice.put(f"{RECORDS}/gone", {"data": {}}).status == 201
    assert alice.delete(f"{RECORDS}/gone").status == 200
    before = snapshot(alice)
    assert len(before["records"]) == 6

    server.stop()
    server.start()

    alice = server.client("alice")
    assert snapshot(alice) == before
    # Permissions and group memberships were kept: bob reads the shared
    # record through the group, and nothing else.
    bob = server.client("bob")
    assert bob.get(f"{RECORDS}/shared").json["data"]["n"] == 99
    assert [r["id"] for r in bob.get(RECORDS).json["data"]] == ["shared"]
    # The tombstone is served to clients syncing from before the delete.
    tombstones = [r for r in before["changes"] if r.get("deleted")]
    assert [r["id"] for r in tombstones] == ["gone"]
    # New writes go on after the stored timestamps.
    created = alice.post(RECORDS, {"data": {"n": 6}}).json["data"]
    assert created["last_modified"] > max(r["last_modified"] for r in before["changes"])
