"""The ACL written by each kind of write, and the ACL shown in its response
(computed without reading it back when the handler knows it): both must be
what a later ``GET`` shows."""

import json

import pytest
import webtest
from pyramid.config import Configurator

import kinto
import kinto.core
from kinto.core.resource import Resource, register
from tests.conftest import backend_settings

from .conftest import SETTINGS, ToyPolicy, auth

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"


def user_id(app, headers):
    return app.get("/v1/", headers=headers).json["user"]["id"]


@pytest.fixture
def ids(toy_app, alice, bob):
    return user_id(toy_app, alice), user_id(toy_app, bob)


def stored(app, headers, object_id="t"):
    return app.get(f"/v1/toys/{object_id}", headers=headers).json["permissions"]


def assert_shown_as_stored(app, response, headers):
    object_id = response.json["data"]["id"]
    assert response.json["permissions"] == stored(app, headers, object_id)


def test_put_creation_stores_given_permissions_and_the_writer(toy_app, alice, ids):
    alice_id, bob_id = ids
    body = {"permissions": {"read": [bob_id]}}
    response = toy_app.put_json("/v1/toys/t", body, headers=alice, status=201)
    assert response.json["permissions"] == {"read": [bob_id], "write": [alice_id]}
    assert_shown_as_stored(toy_app, response, alice)


def test_post_creation_stores_given_permissions_and_the_writer(toy_app, alice, ids):
    alice_id, bob_id = ids
    body = {"permissions": {"write": [bob_id]}}
    response = toy_app.post_json("/v1/toys", body, headers=alice, status=201)
    assert response.json["permissions"] == {"write": sorted([alice_id, bob_id])}
    assert_shown_as_stored(toy_app, response, alice)


def test_creation_ignores_aces_left_on_the_uri(toy_app, alice, ids):
    _, bob_id = ids
    # An ACE with no object behind it (as an inconsistent store could hold).
    toy_app.app.registry.permission.add_principal_to_ace("/toys/t", "read", bob_id)
    response = toy_app.put_json("/v1/toys/t", {}, headers=alice, status=201)
    assert "read" not in response.json["permissions"]
    assert_shown_as_stored(toy_app, response, alice)


def test_put_replacement_without_permissions_keeps_the_acl(toy_app, alice, bob, ids):
    alice_id, bob_id = ids
    toy_app.put_json("/v1/toys/t", {"permissions": {"write": [bob_id]}}, headers=alice)
    response = toy_app.put_json("/v1/toys/t", {"data": {"x": 1}}, headers=bob)
    assert response.json["permissions"] == {"write": sorted([alice_id, bob_id])}
    assert_shown_as_stored(toy_app, response, bob)


def test_put_replacement_with_permissions_replaces_the_acl(toy_app, alice, ids):
    alice_id, bob_id = ids
    toy_app.put_json("/v1/toys/t", {"permissions": {"read": [bob_id]}}, headers=alice)
    response = toy_app.put_json("/v1/toys/t", {"permissions": {"write": [bob_id]}}, headers=alice)
    assert response.json["permissions"] == {"write": sorted([alice_id, bob_id])}
    assert_shown_as_stored(toy_app, response, alice)


@pytest.mark.parametrize("content_type", ["application/json", MERGE_PATCH])
def test_patch_of_data_keeps_the_acl(toy_app, alice, bob, ids, content_type):
    alice_id, bob_id = ids
    toy_app.put_json("/v1/toys/t", {"permissions": {"read": [bob_id]}}, headers=alice)
    headers = {**alice, "Content-Type": content_type}
    response = toy_app.patch("/v1/toys/t", json.dumps({"data": {"x": 1}}), headers=headers)
    assert response.json["permissions"] == {"read": [bob_id], "write": [alice_id]}
    assert_shown_as_stored(toy_app, response, alice)


def test_patch_of_data_adds_the_writer(make_toy_app, alice, bob):
    app = make_toy_app(toy_write_principals="system.Authenticated")
    alice_id, bob_id = user_id(app, alice), user_id(app, bob)
    app.put_json("/v1/toys/t", {}, headers=alice)
    response = app.patch_json("/v1/toys/t", {"data": {"x": 1}}, headers=bob)
    assert response.json["permissions"] == {"write": sorted([alice_id, bob_id])}
    assert_shown_as_stored(app, response, bob)


def test_plain_patch_replaces_listed_permissions_only(toy_app, alice, ids):
    alice_id, bob_id = ids
    toy_app.put_json("/v1/toys/t", {"permissions": {"read": [bob_id]}}, headers=alice)
    body = {"permissions": {"write": [bob_id], "read": None}}
    response = toy_app.patch_json("/v1/toys/t", body, headers=alice)
    expected = {"read": [bob_id], "write": sorted([alice_id, bob_id])}
    assert response.json["permissions"] == expected
    assert_shown_as_stored(toy_app, response, alice)


def test_merge_patch_null_empties_a_permission(toy_app, alice, ids):
    alice_id, bob_id = ids
    toy_app.put_json("/v1/toys/t", {"permissions": {"read": [bob_id]}}, headers=alice)
    headers = {**alice, "Content-Type": MERGE_PATCH}
    response = toy_app.patch(
        "/v1/toys/t", json.dumps({"permissions": {"read": None}}), headers=headers
    )
    assert response.json["permissions"] == {"write": [alice_id]}
    assert_shown_as_stored(toy_app, response, alice)


def test_json_patch_removing_the_writer_puts_it_back(toy_app, alice, ids):
    alice_id, bob_id = ids
    toy_app.put_json("/v1/toys/t", {}, headers=alice)
    operations = [
        {"op": "remove", "path": f"/permissions/write/{alice_id}"},
        {"op": "add", "path": f"/permissions/read/{bob_id}"},
    ]
    headers = {**alice, "Content-Type": JSON_PATCH}
    response = toy_app.patch("/v1/toys/t", json.dumps(operations), headers=headers)
    assert response.json["permissions"] == {"read": [bob_id], "write": [alice_id]}
    assert_shown_as_stored(toy_app, response, alice)


def test_without_explicit_permissions_only_given_ones_are_stored(make_toy_app, alice):
    app = make_toy_app(
        explicit_permissions="false",
        toy_read_principals="system.Authenticated",
        toy_write_principals="system.Authenticated",
    )
    alice_id = user_id(app, alice)
    created = app.put_json("/v1/toys/t", {}, headers=alice).json
    assert created["permissions"] == {}
    body = {"permissions": {"write": [alice_id]}}
    response = app.patch_json("/v1/toys/t", body, headers=alice)
    assert response.json["permissions"] == {"write": [alice_id]}
    assert_shown_as_stored(app, response, alice)


class OwnedToy(Resource):
    """Overrides the ACL hook without reporting the resulting ACL."""

    name = "toy"
    plural_path = "/toys"
    object_path = "/toys/{id}"

    def store_permissions(self, uri, changes):
        self.permission.add_principal_to_ace(uri, "write", "system.Everyone")


def test_an_acl_hook_override_is_read_back_for_the_response(alice):
    config = Configurator(
        settings={**SETTINGS, **backend_settings(), "multiauth.authorization_policy": ToyPolicy}
    )
    kinto.core.initialize(
        config, version="0.0.1", project_name="kinto", default_settings=kinto.DEFAULT_SETTINGS
    )
    register(config, OwnedToy)
    app = webtest.TestApp(config.make_wsgi_app())
    created = app.put_json("/v1/toys/t", {"permissions": {"read": ["x"]}}, headers=alice).json
    assert created["permissions"] == {"write": ["system.Everyone"]}
    assert app.get("/v1/toys/t", headers=auth("bob")).json == created
