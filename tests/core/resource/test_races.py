"""Writes that lose a race against another request: the object changes or
disappears between the handler's read and its write. The race is staged
by a resource whose ``process_object`` hook (run between the two) writes
to the storage itself."""

import pytest
import webtest
from pyramid.config import Configurator

import kinto
import kinto.core
from kinto.core.resource import Resource, register
from tests.conftest import backend_settings

from .conftest import SETTINGS, ToyPolicy


class RacedToy(Resource):
    """``?race=delete`` deletes the object, ``?race=create`` creates it,
    just before the handler writes."""

    name = "toy"
    plural_path = "/toys"
    object_path = "/toys/{id}"

    def process_object(self, new, old=None):
        race = self.request.GET.get("race")
        if race == "delete":
            self.storage.delete(self.name, self.parent_id, new["id"])
            # What the list timestamp became (a transactional backend rolls
            # the deletion back with the failed request afterwards).
            timestamp = self.storage.resource_timestamp(self.name, self.parent_id)
            self.request.registry.raced_timestamp = timestamp
        elif race == "create":
            self.storage.create(self.name, self.parent_id, {"id": new["id"], "by": "other"})
        return new


@pytest.fixture
def app():
    config = Configurator(
        settings={**SETTINGS, **backend_settings(), "multiauth.authorization_policy": ToyPolicy}
    )
    kinto.core.initialize(
        config, version="0.0.1", project_name="kinto", default_settings=kinto.DEFAULT_SETTINGS
    )
    register(config, RacedToy)
    return webtest.TestApp(config.make_wsgi_app())


def list_etag(app, headers):
    return app.get("/v1/toys", headers=headers).headers["ETag"]


def test_if_match_on_an_object_deleted_meanwhile_is_412_with_the_list_timestamp(app, alice):
    created = app.put_json("/v1/toys/t", {}, headers=alice).json["data"]
    headers = {**alice, "If-Match": f'"{created["last_modified"]}"'}
    response = app.patch_json("/v1/toys/t?race=delete", {"data": {}}, headers=headers, status=412)
    assert "details" not in response.json
    assert response.headers["ETag"] == f'"{app.app.registry.raced_timestamp}"'


def test_safe_creation_of_an_object_created_meanwhile_is_412_with_it(app, alice):
    headers = {**alice, "If-None-Match": "*"}
    response = app.put_json("/v1/toys/t?race=create", {}, headers=headers, status=412)
    existing = response.json["details"]["existing"]
    assert existing["by"] == "other"
    assert response.headers["ETag"] == f'"{existing["last_modified"]}"'


def test_plain_creation_racing_another_creation_needs_write_on_it(app, alice):
    # Alice may create but holds no ACE on the object the other request made.
    response = app.put_json("/v1/toys/t?race=create", {}, headers=alice, status=403)
    assert response.json["errno"] == 121
