"""A ``kinto start`` process whose PostgreSQL database goes away: requests
get a 503 in the error envelope with ``Retry-After`` (never a traceback),
the heartbeat names the failing backends, and the server serves again as
soon as the database is back, by itself.

The outage is played by a TCP proxy in the test process between the server
and PostgreSQL (stopping the real server would hurt the other tests)."""

import json
import threading
import time

import pytest

from tests.sql_support import TCPProxy

pytestmark = pytest.mark.xdist_group("integration")

RECORDS = "/buckets/b/collections/c/records"


@pytest.fixture
def proxy():
    proxy = TCPProxy()
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def server(make_server, postgresql_empty_url, proxy):
    """A started server reaching its database through ``proxy``."""
    url = proxy.url(postgresql_empty_url.rsplit("/", 1)[1])
    server = make_server("postgresql", url, storage_pool_timeout=2)
    server.start()
    return server


def assert_unavailable(response):
    assert response.status == 503, response
    assert "traceback" not in response.body.decode().lower()
    body = response.json
    assert body["code"] == 503
    assert body["errno"] == 201
    assert body["error"] == "Service Unavailable"
    assert response.headers["retry-after"] == "3"


def test_requests_get_503_during_an_outage_and_succeed_after_it(server, proxy):
    alice = server.client("alice")
    assert alice.put("/buckets/b", {"data": {}}).status == 201
    assert alice.put("/buckets/b/collections/c", {"data": {}}).status == 201
    assert alice.put(f"{RECORDS}/before", {"data": {"n": 1}}).status == 201

    proxy.stop()
    for _ in range(2):  # the pool's broken connections, then new ones refused
        assert_unavailable(alice.get(RECORDS))
        assert_unavailable(alice.get(f"{RECORDS}/before"))
        assert_unavailable(alice.post(RECORDS, {"data": {"n": 2}}))
        assert_unavailable(alice.put("/buckets/other", {"data": {}}))
        assert_unavailable(alice.delete(f"{RECORDS}/before"))
    heartbeat = alice.get("/__heartbeat__")
    assert heartbeat.status == 503
    assert heartbeat.json["storage"] is False
    assert heartbeat.json["permission"] is False

    proxy.start()
    created = alice.post(RECORDS, {"data": {"n": 3}})
    assert created.status == 201, created
    listed = alice.get(RECORDS).json["data"]
    assert sorted(r["n"] for r in listed) == [1, 3]
    assert alice.get("/__heartbeat__").json == {
        "storage": True,
        "permission": True,
        "cache": True,
    }


def test_a_batch_during_an_outage_is_a_503_as_a_whole(server, proxy):
    alice = server.client("alice")
    assert alice.put("/buckets/b", {"data": {}}).status == 201

    proxy.stop()
    batch = {
        "requests": [
            {"method": "PUT", "path": "/buckets/b/collections/x", "body": {"data": {}}},
            {"method": "GET", "path": "/buckets/b"},
        ]
    }
    assert_unavailable(alice.post("/batch", batch))

    proxy.start()
    response = alice.post("/batch", batch)
    assert response.status == 200, response
    assert [r["status"] for r in response.json["responses"]] == [201, 200]
    assert json.loads(response.body)["responses"][1]["body"]["data"]["id"] == "b"


def test_writers_in_flight_when_the_database_goes_away_get_201_or_503(server, proxy):
    alice = server.client("alice")
    assert alice.put("/buckets/b", {"data": {}}).status == 201
    assert alice.put("/buckets/b/collections/c", {"data": {}}).status == 201
    # Each answer: (sent after the database came back, status, Retry-After).
    answers: list[tuple[bool, int, str | None]] = []
    restored = threading.Event()
    stop = threading.Event()

    def write(client):
        while not stop.is_set():
            after_restore = restored.is_set()
            response = client.post(RECORDS, {"data": {}})
            answers.append((after_restore, response.status, response.headers.get("retry-after")))

    writers = [threading.Thread(target=write, args=(server.client("alice"),)) for _ in range(4)]
    for writer in writers:
        writer.start()
    try:
        wait_for(lambda: len(answers) >= 20)
        proxy.stop()
        wait_for(lambda: sum(status == 503 for _, status, _ in answers) >= 20)
        proxy.start()
        restored.set()
        wait_for(lambda: sum(after for after, _, _ in answers) >= 20)
    finally:
        stop.set()
        for writer in writers:
            writer.join(timeout=30)
    assert not any(writer.is_alive() for writer in writers)

    assert {status for _, status, _ in answers} == {201, 503}
    assert {retry for _, status, retry in answers if status == 503} == {"3"}
    assert [status for after, status, _ in answers if after and status != 201] == []
    created = sum(status == 201 for _, status, _ in answers)
    listed = alice.get(f"{RECORDS}?_limit=10000").json["data"]
    # Every acknowledged write is stored; a write cut at its commit may be
    # stored though its writer got a 503 (at most one per writer).
    assert created <= len(listed) <= created + len(writers)


def wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
