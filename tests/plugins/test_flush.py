"""``POST /__flush__`` (plugins.md §4)."""

from __future__ import annotations

import pytest
import webtest
from pyramid.config import Configurator

import kinto
from kinto.events import ServerFlushed
from tests.conftest import BASE_SETTINGS

FLUSH = {"includes": "kinto.plugins.flush"}


@pytest.fixture
def flushed():
    return []


@pytest.fixture
def app(flushed):
    config = Configurator(settings={**BASE_SETTINGS, **FLUSH})
    config.add_subscriber(flushed.append, ServerFlushed)
    return webtest.TestApp(kinto.main({}, config=config))


def fill(app, headers):
    app.put_json("/v1/buckets/b", {"permissions": {"read": ["system.Everyone"]}}, headers=headers)
    app.put_json("/v1/buckets/b/collections/c", {}, headers=headers)
    app.post_json("/v1/buckets/b/collections/c/records", {"data": {"x": 1}}, headers=headers)
    app.put_json("/v1/buckets/b/groups/g", {"data": {"members": ["a"]}}, headers=headers)
    app.app.registry.cache.set("key", "value", 60)


def test_flush_wipes_every_backend_and_answers_202(app, auth_headers):
    alice = auth_headers("alice")
    fill(app, alice)
    registry = app.app.registry

    resp = app.post("/v1/__flush__", status=202)

    assert resp.json == {}
    assert registry.storage.count_all("bucket", "") == 0
    assert registry.storage.count_all("record", "*") == 0
    assert registry.permission.get_object_permissions("/buckets/b") == {}
    assert registry.permission.get_user_principals("a") == set()
    assert registry.cache.get("key") is None
    assert app.get("/v1/buckets", headers=alice).json["data"] == []


def test_flush_needs_no_authentication_and_works_for_anyone(app, auth_headers):
    app.post("/v1/__flush__", status=202)
    app.post("/v1/__flush__", headers=auth_headers("mallory"), status=202)


def test_flush_notifies_server_flushed_once_backends_are_empty(app, auth_headers, flushed):
    fill(app, auth_headers("alice"))

    app.post("/v1/__flush__")

    assert len(flushed) == 1
    event = flushed[0]
    assert event.request.path_info == "/v1/__flush__"
    assert event.request.registry.storage.count_all("bucket", "") == 0


def test_capability_is_announced(app):
    capability = app.get("/v1/").json["capabilities"]["flush_endpoint"]

    assert capability["description"]
    assert capability["url"]


def test_other_methods_are_405(app):
    app.get("/v1/__flush__", status=405)
    app.delete("/v1/__flush__", status=405)


def test_read_only_server_refuses_to_flush(make_app, auth_headers):
    app = make_app(readonly=True, **FLUSH)

    resp = app.post("/v1/__flush__", status=405)

    assert resp.json["errno"] == 115


def test_flush_inside_a_batch_wipes_too(app, auth_headers):
    alice = auth_headers("alice")
    fill(app, alice)
    body = {"requests": [{"method": "POST", "path": "/__flush__"}]}

    resp = app.post_json("/v1/batch", body, headers=alice)

    assert resp.json["responses"][0]["status"] == 202
    assert app.app.registry.storage.count_all("bucket", "") == 0


def test_without_the_plugin_there_is_no_flush(make_app):
    app = make_app()

    app.post("/v1/__flush__", status=404)
    assert "flush_endpoint" not in app.get("/v1/").json["capabilities"]
