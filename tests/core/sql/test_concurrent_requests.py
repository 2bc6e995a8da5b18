"""Concurrent requests through one application on the SQL backends (one
request transaction each): writers never fail with "database is locked"
on SQLite, timestamps are unique and follow commit order, ``If-Match`` lets
exactly one writer win."""

import base64
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import webtest

from tests.conftest import build_app

THREADS = 8
WRITES = 10
RECORDS = "/v1/buckets/race/collections/items/records"
AUTH = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"alice:secret").decode()}


@pytest.fixture(params=["sqlite", "postgresql"])
def wsgi_app(request):
    url = request.getfixturevalue(f"{request.param}_url")
    settings = {"includes": "kinto.plugins.default_bucket"}
    for kind in ("storage", "permission", "cache"):
        settings[f"{kind}_backend"] = f"kinto.core.{kind}.{request.param}"
        settings[f"{kind}_url"] = url
    app = build_app(**settings).app
    registry = app.registry
    for backend in (registry.storage, registry.permission, registry.cache):
        backend.flush()
    setup = webtest.TestApp(app, extra_environ=AUTH)
    setup.put_json("/v1/buckets/race", {"data": {}})
    setup.put_json("/v1/buckets/race/collections/items", {"data": {}})
    yield app
    for backend in (registry.storage, registry.permission, registry.cache):
        backend.flush()


def in_threads(app, work):
    """``work(index, testapp, together)`` in THREADS threads released
    together; results in thread order."""
    barrier = threading.Barrier(THREADS, timeout=60)

    def run(index):
        testapp = webtest.TestApp(app, extra_environ=AUTH)
        try:
            barrier.wait()
            return work(index, testapp, barrier.wait)
        except BaseException:
            barrier.abort()
            raise

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(run, index) for index in range(THREADS)]
    return [future.result() for future in futures]


def test_concurrent_creations_all_succeed_with_unique_ordered_timestamps(wsgi_app):
    def work(index, testapp, together):
        return [
            testapp.post_json(RECORDS, {"data": {"thread": index}}).json["data"]["last_modified"]
            for _ in range(WRITES)
        ]

    results = in_threads(wsgi_app, work)
    stamps = [stamp for result in results for stamp in result]
    assert all(result == sorted(result) for result in results)
    assert len(set(stamps)) == THREADS * WRITES
    listing = webtest.TestApp(wsgi_app, extra_environ=AUTH).get(RECORDS)
    assert listing.headers["ETag"] == f'"{max(stamps)}"'


def test_one_of_concurrent_conditional_updates_wins(wsgi_app):
    testapp = webtest.TestApp(wsgi_app, extra_environ=AUTH)
    record = testapp.post_json(RECORDS, {"data": {"n": 0}}).json["data"]
    etag = f'"{record["last_modified"]}"'

    def work(index, testapp, together):
        response = testapp.patch_json(
            f"{RECORDS}/{record['id']}",
            {"data": {"n": index}},
            headers={"If-Match": etag},
            expect_errors=True,
        )
        return response.status_code

    statuses = in_threads(wsgi_app, work)
    assert sorted(statuses) == [200] + [412] * (THREADS - 1)


def test_reads_that_write_succeed_among_concurrent_writers(wsgi_app):
    # A GET of a default bucket creates it: a write inside a read request.
    def work(index, testapp, together):
        if index % 2:
            return [testapp.post_json(RECORDS, {"data": {}}).status_code for _ in range(WRITES)]
        statuses = []
        for n in range(WRITES):
            user = base64.b64encode(f"user-{index}-{n}:secret".encode()).decode()
            response = testapp.get(
                "/v1/buckets/default/collections/tasks/records",
                extra_environ={"HTTP_AUTHORIZATION": f"Basic {user}"},
                expect_errors=True,
            )
            statuses.append(response.status_code)
        return statuses

    results = in_threads(wsgi_app, work)
    assert {status for result in results for status in result} <= {200, 201}
