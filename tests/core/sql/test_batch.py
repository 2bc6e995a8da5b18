"""Batch consistency on the SQL backends: a failing subrequest rolls back
its own writes only (a savepoint per writing subrequest), so that no 2xx is
reported for a write that is not committed."""

import pytest

from kinto.core import storage
from kinto.core.events import ResourceChanged, notify_resource_event
from kinto.core.services import Service
from kinto.core.utils import json_body
from tests.conftest import build_core_app

PARENT = "/items"


def create(request):
    """Create ``{"id": ..., "last_modified"?: ...}`` (201)."""
    obj = request.registry.storage.create("item", PARENT, json_body(request))
    notify_resource_event(request, "item", PARENT, obj["last_modified"], [{"new": obj}], "create")
    request.response.status = 201
    return obj


def create_then_fail(request):
    """Write, notify, then fail with a 409."""
    create(request)
    raise storage.IntegrityError(message="conflict after a write")


def configure(config):
    for name, view in (("create", create), ("create-then-fail", create_then_fail)):
        service = Service(name=name, path=f"/{name}")
        service.add_view("POST", view)
        config.add_cornice_service(service)
    changes = config.registry.recorded_changes = []
    config.add_subscriber(lambda event: changes.append(event), ResourceChanged)


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request):
    url = request.getfixturevalue(f"{request.param}_url")
    settings = {
        "storage_backend": f"kinto.core.storage.{request.param}",
        "storage_url": url,
    }
    app = build_core_app(configure, **settings)
    app.app.registry.storage.flush()
    yield app
    app.app.registry.storage.flush()


def run(app, *requests):
    body = {"requests": [{"method": "POST", "path": path, "body": b} for path, b in requests]}
    return app.post_json("/v1/batch", body).json["responses"]


def stored_ids(app):
    return sorted(o["id"] for o in app.app.registry.storage.list_all("item", PARENT))


def test_failed_subrequest_rolls_back_its_writes_and_the_others_commit(app):
    responses = run(
        app,
        ("/create", {"id": "a"}),
        ("/create-then-fail", {"id": "x"}),
        ("/create", {"id": "b"}),
    )
    assert [r["status"] for r in responses] == [201, 409, 201]
    assert stored_ids(app) == ["a", "b"]


def test_events_of_a_rolled_back_subrequest_are_not_sent(app):
    run(app, ("/create", {"id": "a"}), ("/create-then-fail", {"id": "x"}))
    (event,) = app.app.registry.recorded_changes
    assert [change["new"]["id"] for change in event.impacted_objects] == ["a"]


def test_database_integrity_error_does_not_break_the_following_subrequests(app):
    (first,) = run(app, ("/create", {"id": "a"}))
    taken = first["body"]["last_modified"]
    responses = run(
        app,
        ("/create", {"id": "b"}),
        # A forced timestamp already used in the list: the database refuses it.
        ("/create", {"id": "c", "last_modified": taken}),
        ("/create", {"id": "d"}),
    )
    assert [r["status"] for r in responses] == [201, 409, 201]
    assert stored_ids(app) == ["a", "b", "d"]


def test_failure_of_the_first_write_leaves_nothing(app):
    responses = run(app, ("/create-then-fail", {"id": "x"}), ("/create", {"id": "a"}))
    assert [r["status"] for r in responses] == [409, 201]
    assert stored_ids(app) == ["a"]
