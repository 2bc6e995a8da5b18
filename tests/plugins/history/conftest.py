"""Fixtures of the history plugin tests: an application with the plugin,
Alice owning bucket ``b`` with collection ``c``, and helpers."""

import pytest

PLUGIN = "kinto.plugins.history"
HISTORY = "/v1/buckets/b/history"
RECORDS = "/v1/buckets/b/collections/c/records"


@pytest.fixture
def make_history_app(make_app):
    def make(**settings):
        settings.setdefault("includes", PLUGIN)
        return make_app(**settings)

    return make


@pytest.fixture
def app(make_history_app):
    return make_history_app()


@pytest.fixture
def alice(auth_headers):
    return auth_headers("alice")


@pytest.fixture
def bob(auth_headers):
    return auth_headers("bob")


@pytest.fixture
def alice_id(app, alice):
    return app.get("/v1/", headers=alice).json["user"]["id"]


@pytest.fixture
def bob_id(app, bob):
    return app.get("/v1/", headers=bob).json["user"]["id"]


@pytest.fixture
def collection(app, alice):
    app.put_json("/v1/buckets/b", {}, headers=alice)
    return app.put_json("/v1/buckets/b/collections/c", {}, headers=alice).json["data"]


@pytest.fixture
def read_history(app):
    """``read_history(headers, query="")``: the entries of bucket ``b``
    (``query`` without ``?``) seen by the owner of ``headers``."""

    def read(headers, query="", status=200):
        url = f"{HISTORY}?{query}" if query else HISTORY
        return app.get(url, headers=headers, status=status).json["data"]

    return read
