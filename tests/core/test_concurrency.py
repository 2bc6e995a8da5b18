"""Concurrent writes through one WSGI application object.

Eight threads share one Kinto application (``make_app``), each with its
own ``webtest.TestApp`` (a TestApp instance is not thread-safe). Threads
are released together by a barrier, and the interpreter's switch interval is
shortened so that they interleave inside the request path instead of running
one request each in turn. With 1e-4 s and 40 rounds per race, each test was
checked to fail on every run against a storage whose ``if_match``, unique-id
or timestamp step was made non-atomic.
"""

import base64
import bisect
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import webtest

THREADS = 8
BARRIER_TIMEOUT = 30
ROUNDS = 40  # races per test: one lucky interleaving must not hide a bug
RECORDS = "/v1/buckets/race/collections/items/records"

AUTH = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"alice:secret").decode()}


@pytest.fixture
def frequent_thread_switches():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(previous)


@pytest.fixture
def wsgi_app(make_app, frequent_thread_switches):
    """One Kinto WSGI application (memory backends, Basic auth) with a collection."""
    app = make_app().app
    setup = webtest.TestApp(app, extra_environ=AUTH)
    setup.put_json("/v1/buckets/race", {"data": {}})
    setup.put_json("/v1/buckets/race/collections/items", {"data": {}})
    return app


def in_threads(app, work):
    """Run ``work(index, testapp, together)`` in THREADS threads.

    Each thread has its own TestApp on ``app``. ``together()`` blocks until
    every thread calls it (threads start together, and ``work`` may call it
    again to release a new round at once). Returns the results in thread
    order; re-raises the exception of a failing thread.
    """
    barrier = threading.Barrier(THREADS, timeout=BARRIER_TIMEOUT)

    def run(index):
        testapp = webtest.TestApp(app, extra_environ=AUTH)
        try:
            barrier.wait()
            return work(index, testapp, barrier.wait)
        except BaseException:
            barrier.abort()  # the other threads stop waiting for this one
            raise

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(run, index) for index in range(THREADS)]
    errors = [future.exception() for future in futures if future.exception()]
    if errors:
        # Report the cause, not the threads it left at a broken barrier.
        raise next(
            (e for e in errors if not isinstance(e, threading.BrokenBarrierError)), errors[0]
        )
    return [future.result() for future in futures]


def create(testapp, data, **kwargs):
    return testapp.post_json(RECORDS, {"data": data}, **kwargs)


def test_concurrent_writes_get_unique_timestamps_ordered_like_the_writes(wsgi_app):
    per_thread = 15

    def work(index, testapp, together):
        writes = []  # (started, finished, record id, last_modified)
        ids = []
        for seq in range(per_thread):
            started = time.perf_counter()
            response = create(testapp, {"thread": index, "seq": seq}, status=201)
            record = response.json["data"]
            writes.append((started, time.perf_counter(), record["id"], record["last_modified"]))
            ids.append((record["id"], response.headers["ETag"]))
        for seq, (record_id, etag) in enumerate(ids):
            started = time.perf_counter()
            response = testapp.patch_json(
                f"{RECORDS}/{record_id}",
                {"data": {"patched": seq}},
                headers={"If-Match": etag},
                status=200,
            )
            timestamp = response.json["data"]["last_modified"]
            writes.append((started, time.perf_counter(), record_id, timestamp))
        return writes

    results = in_threads(wsgi_app, work)
    writes = [write for thread_writes in results for write in thread_writes]
    timestamps = [write[3] for write in writes]

    # Unique across every thread, increasing in each thread's own order.
    assert len(set(timestamps)) == len(writes) == THREADS * per_thread * 2
    for thread_writes in results:
        own = [write[3] for write in thread_writes]
        assert own == sorted(own)

    # A write that finished before another started got a smaller timestamp.
    by_end = sorted(writes, key=lambda write: write[1])
    ends = [write[1] for write in by_end]
    highest_so_far = []
    for write in by_end:
        highest_so_far.append(max(write[3], highest_so_far[-1] if highest_so_far else 0))
    for started, _, _, timestamp in writes:
        done_before = bisect.bisect_left(ends, started)
        if done_before:
            assert highest_so_far[done_before - 1] < timestamp

    # The list holds each record once, at the timestamp of its last write.
    listing = webtest.TestApp(wsgi_app, extra_environ=AUTH).get(RECORDS)
    records = listing.json["data"]
    last_write = {record_id: timestamp for _, _, record_id, timestamp in writes}
    listed = [record["last_modified"] for record in records]
    assert {record["id"]: record["last_modified"] for record in records} == last_write
    assert listed == sorted(listed, reverse=True)
    assert len(set(listed)) == len(listed)
    assert listing.headers["ETag"] == f'"{max(timestamps)}"'


def test_since_after_concurrent_writes_returns_exactly_the_later_ones(wsgi_app):
    def work(index, testapp, together):
        return [
            create(testapp, {"thread": index, "seq": seq}, status=201).json["data"]
            for seq in range(10)
        ]

    created = [record for records in in_threads(wsgi_app, work) for record in records]
    timestamps = sorted(record["last_modified"] for record in created)
    middle = timestamps[len(timestamps) // 2]

    reader = webtest.TestApp(wsgi_app, extra_environ=AUTH)
    changes = reader.get(RECORDS, params={"_since": str(middle)}).json["data"]

    assert sorted(record["last_modified"] for record in changes) == [
        timestamp for timestamp in timestamps if timestamp > middle
    ]


def test_racing_patches_with_the_same_if_match_let_exactly_one_win(wsgi_app):
    owner = webtest.TestApp(wsgi_app, extra_environ=AUTH)
    contested = []  # (url, ETag) per round
    for round_number in range(ROUNDS):
        created = create(owner, {"winner": None, "round": round_number}, status=201)
        contested.append((f"{RECORDS}/{created.json['data']['id']}", created.headers["ETag"]))

    def work(index, testapp, together):
        responses = []
        for url, etag in contested:
            together()
            responses.append(
                testapp.patch_json(
                    url,
                    {"data": {"winner": index}},
                    headers={"If-Match": etag},
                    expect_errors=True,
                )
            )
        return responses

    by_thread = in_threads(wsgi_app, work)

    for round_number, (url, _) in enumerate(contested):
        responses = [thread_responses[round_number] for thread_responses in by_thread]
        statuses = sorted(response.status_int for response in responses)
        assert statuses == [200] + [412] * (THREADS - 1), f"round {round_number}"

        winner = next(index for index, r in enumerate(responses) if r.status_int == 200)
        won = responses[winner].json["data"]
        final = owner.get(url)
        assert final.json["data"] == won
        assert final.json["data"]["winner"] == winner
        assert final.json["data"]["round"] == round_number
        assert final.headers["ETag"] == f'"{won["last_modified"]}"'
        for response in responses:
            if response.status_int == 412:
                assert response.json["errno"] == 114
                assert response.json["details"]["existing"]["winner"] == winner
                assert response.headers["ETag"] == final.headers["ETag"]


def test_racing_creations_of_one_id_with_if_none_match_let_exactly_one_win(wsgi_app):
    urls = [f"{RECORDS}/contested-{round_number}" for round_number in range(ROUNDS)]

    def work(index, testapp, together):
        responses = []
        for url in urls:
            together()
            responses.append(
                testapp.put_json(
                    url,
                    {"data": {"creator": index}},
                    headers={"If-None-Match": "*"},
                    expect_errors=True,
                )
            )
        return responses

    by_thread = in_threads(wsgi_app, work)
    reader = webtest.TestApp(wsgi_app, extra_environ=AUTH)

    for round_number, url in enumerate(urls):
        responses = [thread_responses[round_number] for thread_responses in by_thread]
        statuses = sorted(response.status_int for response in responses)
        assert statuses == [201] + [412] * (THREADS - 1), f"round {round_number}"

        winner = next(index for index, r in enumerate(responses) if r.status_int == 201)
        final = reader.get(url)
        assert final.json["data"]["creator"] == winner
        assert final.json["data"] == responses[winner].json["data"]
