"""A database outage seen from the API: 503 with ``Retry-After`` in the
error envelope, the heartbeat names the failing backend, and the server
recovers by itself when the database is back (a TCP proxy plays the
database going away)."""

import pytest

from tests.conftest import basic_auth_headers, build_app
from tests.sql_support import TCPProxy, postgresql_url  # noqa: F401

RECORDS = "/v1/buckets/b/collections/c/records"


@pytest.fixture
def proxy(postgresql_url):  # noqa: F811
    proxy = TCPProxy()
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def app(proxy, postgresql_url):  # noqa: F811
    url = proxy.url(postgresql_url.rsplit("/", 1)[1])
    app = build_app(
        storage_backend="kinto.core.storage.postgresql",
        storage_url=url,
        storage_pool_timeout=2,
    )
    app.app.registry.storage.flush()
    headers = basic_auth_headers("alice")
    app.put_json("/v1/buckets/b", {"data": {}}, headers=headers)
    app.put_json("/v1/buckets/b/collections/c", {"data": {}}, headers=headers)
    yield app
    if not proxy.running:
        proxy.start()
    app.app.registry.storage.flush()


def test_requests_get_503_during_an_outage_and_succeed_after_it(app, proxy):
    headers = basic_auth_headers("alice")
    app.post_json(RECORDS, {"data": {"n": 1}}, headers=headers, status=201)

    proxy.stop()
    for method, body in (("get", None), ("post_json", {"data": {"n": 2}})):
        kwargs = {} if body is None else {"params": body}
        response = getattr(app, method)(RECORDS, headers=headers, status=503, **kwargs)
        assert response.json["errno"] == 201
        assert response.headers["Retry-After"] == "3"
    heartbeat = app.get("/v1/__heartbeat__", status=503).json
    assert heartbeat["storage"] is False

    proxy.start()
    app.post_json(RECORDS, {"data": {"n": 3}}, headers=headers, status=201)
    listed = app.get(RECORDS, headers=headers).json["data"]
    assert sorted(r["n"] for r in listed) == [1, 3]
    assert app.get("/v1/__heartbeat__").json["storage"] is True
