"""A toy application: one resource ``toy`` at ``/toys`` on the core alone.

Permissions: object ``read``/``write`` ACEs; list-level read/write only via
the ``toy_read_principals``/``toy_write_principals`` settings; creation via
``toy_create_principals`` (authenticated users by default).
"""

from __future__ import annotations

import base64

import pytest
import webtest
from pyramid.config import Configurator

import kinto
import kinto.core
from kinto.core import events
from kinto.core.authorization import InheritanceTable
from kinto.core.resource import Resource, register
from tests.conftest import backend_settings

SETTINGS = {
    "storage_backend": "kinto.core.storage.memory",
    "permission_backend": "kinto.core.permission.memory",
    "cache_backend": "kinto.core.cache.memory",
    "multiauth.policies": "basicauth",
    "userid_hmac_secret": "toys",
    "includes": "",
    "toy_create_principals": "system.Authenticated",
    "closed_create_principals": "system.Authenticated",
    "toy_id_generator": "kinto.views.NameGenerator",
    "closed_id_generator": "kinto.views.NameGenerator",
}


class ToyPolicy(InheritanceTable):
    plurals = {"toys": "toy", "closed": "closed"}
    tree = {
        "toy": {
            "read": {"toy": ["write", "read"]},
            "write": {"toy": ["write"]},
        },
        "closed": {
            "read": {"closed": ["write", "read"]},
            "write": {"closed": ["write"]},
        },
    }


class Toy(Resource):
    name = "toy"
    plural_path = "/toys"
    object_path = "/toys/{id}"


class ClosedToy(Resource):
    """A closed schema (only ``uri`` besides id/last_modified)."""

    name = "closed"
    plural_path = "/closed"
    object_path = "/closed/{id}"
    known_fields = ("uri",)


class ToyApp(webtest.TestApp):
    """TestApp that records the resource events it delivers."""

    events: list


def build_toy_app(**settings) -> ToyApp:
    config = Configurator(
        settings={
            **SETTINGS,
            **backend_settings(),
            "multiauth.authorization_policy": ToyPolicy,
            **settings,
        }
    )
    kinto.core.initialize(
        config, version="0.0.1", project_name="kinto", default_settings=kinto.DEFAULT_SETTINGS
    )
    register(config, Toy)
    register(config, ClosedToy)
    received: list = []
    config.add_subscriber(received.append, events.ResourceChanged)
    config.add_subscriber(received.append, events.ResourceRead)
    app = ToyApp(config.make_wsgi_app())
    app.events = received
    return app


def auth(user: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:secret".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def make_toy_app():
    return build_toy_app


@pytest.fixture
def toy_app():
    return build_toy_app()


@pytest.fixture
def alice():
    return auth("alice")


@pytest.fixture
def bob():
    return auth("bob")
