"""End to end: the ``kinto_http`` client from PyPI against ``kinto start``.

Each test works in its own bucket of one shared server (see conftest.py).
"""

import uuid

import pytest
from kinto_http import Client, KintoException

pytestmark = pytest.mark.xdist_group("e2e")

ALICE = ("alice", "alice-secret")
BOB = ("bob", "bob-secret")


@pytest.fixture
def alice(server_url):
    return Client(server_url=server_url, auth=ALICE)


@pytest.fixture
def bob(server_url):
    return Client(server_url=server_url, auth=BOB)


@pytest.fixture
def bob_id(bob):
    return bob.server_info()["user"]["id"]


@pytest.fixture
def bucket_id(alice):
    bid = f"b{uuid.uuid4().hex[:12]}"
    alice.create_bucket(id=bid)
    return bid


@pytest.fixture
def tasks(alice, bucket_id):
    """Alice's client bound to a fresh ``tasks`` collection of her bucket."""
    alice.create_collection(id="tasks", bucket=bucket_id)
    return alice.clone(bucket=bucket_id, collection="tasks")


def status_of(excinfo) -> int:
    return excinfo.value.response.status_code


def test_hello_reports_api_version_and_the_basicauth_user(alice):
    info = alice.server_info()

    assert info["http_api_version"] == "1.23"
    assert info["user"]["id"].startswith("basicauth:")
    assert "system.Authenticated" in info["user"]["principals"]
    assert info["settings"]["batch_max_requests"] == 25


def test_bucket_collection_and_record_created_by_the_client_read_back(alice):
    bid = f"b{uuid.uuid4().hex[:12]}"
    alice_id = alice.server_info()["user"]["id"]

    bucket = alice.create_bucket(id=bid, data={"title": "Groceries"})
    collection = alice.create_collection(id="list", bucket=bid)
    record = alice.create_record(
        bucket=bid, collection="list", data={"title": "milk", "done": False}
    )

    assert bucket["data"]["id"] == bid
    assert alice_id in bucket["permissions"]["write"]
    assert collection["data"]["id"] == "list"
    assert alice.get_bucket(id=bid)["data"]["title"] == "Groceries"
    fetched = alice.get_record(bucket=bid, collection="list", id=record["data"]["id"])
    assert fetched["data"] == record["data"]
    assert fetched["data"]["title"] == "milk"
    assert isinstance(fetched["data"]["last_modified"], int)
    assert alice_id in fetched["permissions"]["write"]


def test_creating_an_existing_record_safely_is_refused(tasks):
    tasks.create_record(id="only-once", data={"n": 1})

    with pytest.raises(KintoException) as excinfo:
        tasks.create_record(id="only-once", data={"n": 2})

    assert status_of(excinfo) == 412
    assert tasks.get_record(id="only-once")["data"]["n"] == 1


@pytest.fixture
def numbered(tasks):
    """Twelve records ``n`` = 0..11 with ``even`` set; return the client."""
    with tasks.batch() as batch:
        for n in range(12):
            batch.create_record(data={"n": n, "even": n % 2 == 0})
    return tasks


def test_list_applies_filters_and_sort(numbered):
    even_desc = numbered.get_records(even=True, _sort="-n")
    window = numbered.get_records(min_n=3, lt_n=7, _sort="n")

    assert [r["n"] for r in even_desc] == [10, 8, 6, 4, 2, 0]
    assert [r["n"] for r in window] == [3, 4, 5, 6]


def test_client_follows_next_page_keeping_filters_and_sort(numbered):
    everything = numbered.get_records(min_n=3, _sort="n", _limit=4, pages=float("inf"))
    pages = list(numbered.get_paginated_records(min_n=3, _sort="n", _limit=4))
    first_page_only = numbered.get_records(min_n=3, _sort="n", _limit=4)

    assert [r["n"] for r in everything] == list(range(3, 12))
    assert [len(page["data"]) for page in pages] == [4, 4, 1]
    assert [r["n"] for page in pages for r in page["data"]] == list(range(3, 12))
    assert [r["n"] for r in first_page_only] == [3, 4, 5, 6]


def test_since_returns_only_changes_and_tombstones_after_the_timestamp(tasks):
    for name in ("kept", "changed", "deleted"):
        tasks.create_record(id=name, data={"name": name})
    since = tasks.clone().get_records_timestamp()

    tasks.patch_record(id="changed", data={"name": "changed again"})
    tasks.delete_record(id="deleted")
    tasks.create_record(id="added", data={"name": "added"})
    changes = {r["id"]: r for r in tasks.get_records(_since=since)}
    now = tasks.clone().get_records_timestamp()

    assert sorted(changes) == ["added", "changed", "deleted"]
    assert changes["deleted"]["deleted"] is True
    assert changes["changed"]["name"] == "changed again"
    assert all(r["last_modified"] > int(since) for r in changes.values())
    assert int(now) == max(r["last_modified"] for r in changes.values())
    assert tasks.get_records(_since=now) == []
    assert sorted(r["id"] for r in tasks.get_records()) == ["added", "changed", "kept"]


def test_batch_larger_than_the_server_limit_is_sent_in_chunks(tasks):
    with tasks.batch() as batch:
        for n in range(30):
            batch.create_record(data={"n": n})
    results = batch.results()

    assert len(results) == 30
    assert sorted(body["data"]["n"] for body in results) == list(range(30))
    assert sorted(r["n"] for r in tasks.get_records()) == list(range(30))


def test_batch_subrequests_see_the_writes_of_earlier_ones(alice, bucket_id):
    with alice.batch(bucket=bucket_id) as batch:
        batch.create_collection(id="inbox")
        batch.create_record(collection="inbox", id="first", data={"title": "hi"})
        batch.patch_record(collection="inbox", id="first", data={"read": True})

    record = alice.get_record(bucket=bucket_id, collection="inbox", id="first")
    assert record["data"]["title"] == "hi"
    assert record["data"]["read"] is True


def test_record_shared_with_bob_is_the_only_one_he_can_read(tasks, bob, bob_id):
    tasks.create_record(id="shared", data={"title": "shared"}, permissions={"read": [bob_id]})
    tasks.create_record(id="private", data={"title": "private"})
    as_bob = bob.clone(bucket=tasks.bucket_name, collection="tasks")

    shared = as_bob.get_record(id="shared")
    with pytest.raises(KintoException) as excinfo:
        as_bob.get_record(id="private")

    assert shared["data"]["title"] == "shared"
    assert shared["permissions"] == {}
    assert status_of(excinfo) == 403
    assert [r["id"] for r in as_bob.get_records()] == ["shared"]


def test_bob_cannot_write_a_record_he_may_only_read(tasks, bob, bob_id):
    tasks.create_record(id="shared", data={"title": "shared"}, permissions={"read": [bob_id]})
    as_bob = bob.clone(bucket=tasks.bucket_name, collection="tasks")

    attempts = [
        lambda: as_bob.patch_record(id="shared", data={"title": "mine"}),
        lambda: as_bob.update_record(id="shared", data={"title": "mine"}),
        lambda: as_bob.delete_record(id="shared"),
        lambda: as_bob.create_record(id="new", data={"title": "mine"}),
    ]
    statuses = []
    for attempt in attempts:
        with pytest.raises(KintoException) as excinfo:
            attempt()
        statuses.append(status_of(excinfo))

    assert statuses == [403, 403, 403, 403]
    assert tasks.get_record(id="shared")["data"]["title"] == "shared"
    assert [r["id"] for r in tasks.get_records()] == ["shared"]


def test_collection_shared_with_bob_lets_him_read_every_record_and_write_none(tasks, bob, bob_id):
    for name in ("a", "b", "c"):
        tasks.create_record(id=name, data={"name": name})
    tasks.patch_collection(id="tasks", permissions={"read": [bob_id]})
    as_bob = bob.clone(bucket=tasks.bucket_name, collection="tasks")

    collection = as_bob.get_collection()
    records = as_bob.get_records(_sort="id")
    one = as_bob.get_record(id="b")
    with pytest.raises(KintoException) as create_error:
        as_bob.create_record(id="d", data={"name": "d"})
    with pytest.raises(KintoException) as delete_error:
        as_bob.delete_records()
    with pytest.raises(KintoException) as collection_error:
        as_bob.patch_collection(id="tasks", data={"title": "mine"})

    assert collection["data"]["id"] == "tasks"
    assert [r["id"] for r in records] == ["a", "b", "c"]
    assert one["data"]["name"] == "b"
    assert status_of(create_error) == 403
    assert status_of(delete_error) == 403
    assert status_of(collection_error) == 403
    assert len(tasks.get_records()) == 3


def test_bob_sees_nothing_of_a_bucket_not_shared_with_him(tasks, bob):
    as_bob = bob.clone(bucket=tasks.bucket_name, collection="tasks")

    with pytest.raises(KintoException) as records_error:
        as_bob.get_records()
    with pytest.raises(KintoException) as bucket_error:
        as_bob.get_bucket()

    assert status_of(records_error) == 403
    assert status_of(bucket_error) == 403
