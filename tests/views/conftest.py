"""Fixtures shared by the tests of Kinto's resources.

* Users: ``alice``, ``bob``, ``carla`` are Basic auth headers (password
  ``secret``); ``alice_id``, ``bob_id``, ``carla_id`` their user ids on apps
  built with the root ``BASE_SETTINGS``.
* ``principals(headers)``: the caller's principals, as the ``app`` sees them.
* ``backend_calls``: the storage and permission calls of ``app``, counted
  (see :class:`CountingBackend`).
* A tree owned by alice on ``app``: ``bucket`` (``/buckets/b``),
  ``collection`` (``/buckets/b/collections/c``), ``group``
  (``/buckets/b/groups/g``, no members) and ``record``
  (``.../records/r``); each fixture is the ``data`` of the stored object.
"""

from __future__ import annotations

import pytest

from kinto.core.utils import hmac_digest
from tests.conftest import BASE_SETTINGS

BUCKET = "/v1/buckets/b"
COLLECTION = f"{BUCKET}/collections/c"
GROUP = f"{BUCKET}/groups/g"
RECORDS = f"{COLLECTION}/records"
RECORD = f"{RECORDS}/r"


def basicauth_id(user: str, password: str = "secret") -> str:
    """The user id of ``user`` under ``BASE_SETTINGS``' HMAC secret."""
    return "basicauth:" + hmac_digest(BASE_SETTINGS["userid_hmac_secret"], f"{user}:{password}")


@pytest.fixture
def alice(auth_headers):
    return auth_headers("alice")


@pytest.fixture
def bob(auth_headers):
    return auth_headers("bob")


@pytest.fixture
def carla(auth_headers):
    return auth_headers("carla")


@pytest.fixture
def alice_id():
    return basicauth_id("alice")


@pytest.fixture
def bob_id():
    return basicauth_id("bob")


@pytest.fixture
def carla_id():
    return basicauth_id("carla")


@pytest.fixture
def principals(app):
    """``principals(headers)`` → the ``user.principals`` of hello."""

    def get(headers):
        return app.get("/v1/", headers=headers).json["user"]["principals"]

    return get


@pytest.fixture
def bucket(app, alice):
    return app.put_json(BUCKET, {"data": {"title": "B"}}, headers=alice).json["data"]


@pytest.fixture
def collection(app, alice, bucket):
    return app.put_json(COLLECTION, {}, headers=alice).json["data"]


@pytest.fixture
def group(app, alice, bucket):
    return app.put_json(GROUP, {"data": {}}, headers=alice).json["data"]


@pytest.fixture
def record(app, alice, collection):
    return app.put_json(RECORD, {"data": {"title": "a"}}, headers=alice).json["data"]


class CountingBackend:
    """Forwards everything to a real backend and records, in ``calls``, the
    name of every method called on it (``"storage.get"``...). Calls a
    backend makes on itself are not seen: this counts the round trips the
    views ask for."""

    def __init__(self, backend, label: str, calls: list[str]):
        self._backend = backend
        self._label = label
        self._calls = calls

    def __getattr__(self, name):
        attribute = getattr(self._backend, name)
        if not callable(attribute):
            return attribute
        label = f"{self._label}.{name}"
        calls = self._calls

        def counted(*args, **kwargs):
            calls.append(label)
            return attribute(*args, **kwargs)

        return counted


@pytest.fixture
def backend_calls(app):
    """Wrap ``app``'s storage and permission backends; return the list of
    calls they receive (clear it before the request to measure)."""
    calls: list[str] = []
    registry = app.app.registry
    registry.storage = CountingBackend(registry.storage, "storage", calls)
    registry.permission = CountingBackend(registry.permission, "permission", calls)
    registry.authorizer.permission = registry.permission
    return calls
