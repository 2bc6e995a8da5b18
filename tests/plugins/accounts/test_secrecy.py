"""Plain-text passwords appear in no response, no log line and no event
(not even in the request an event carries)."""

from __future__ import annotations

import logging

import pytest
import webtest
from pyramid.config import Configurator

import kinto
from kinto.core import utils
from kinto.core.events import AfterResourceChanged, ResourceChanged
from tests.conftest import BASE_SETTINGS
from tests.plugins.accounts.conftest import ACCOUNTS_SETTINGS

PLAIN = "pl41n-t3xt-s3cret"


@pytest.fixture
def events():
    return []


@pytest.fixture
def app(events):
    config = Configurator(settings={**BASE_SETTINGS, **ACCOUNTS_SETTINGS})
    config.add_subscriber(events.append, ResourceChanged)
    config.add_subscriber(events.append, AfterResourceChanged)
    return webtest.TestApp(kinto.main({}, config=config))


def writes(app, auth_headers):
    """Every way of sending a password; yields the responses."""
    yield app.post_json("/v1/accounts", {"data": {"id": "bob", "password": PLAIN}})
    yield app.put_json("/v1/accounts/carol", {"data": {"password": PLAIN}})
    carol = auth_headers("carol", PLAIN)
    yield app.get("/v1/accounts/carol", headers=carol)
    yield app.patch_json("/v1/accounts/carol", {"data": {"password": PLAIN + "2"}}, headers=carol)
    carol = auth_headers("carol", PLAIN + "2")
    yield app.patch_json(
        "/v1/accounts/carol",
        {"data": {"password": PLAIN + "3"}},
        headers={**carol, "Content-Type": "application/merge-patch+json"},
    )
    carol = auth_headers("carol", PLAIN + "3")
    yield app.patch_json(
        "/v1/accounts/carol",
        [{"op": "replace", "path": "/data/password", "value": PLAIN + "4"}],
        headers={**carol, "Content-Type": "application/json-patch+json"},
    )
    yield app.post_json(
        "/v1/batch",
        {
            "requests": [
                {"method": "PUT", "path": "/accounts/dave", "body": {"data": {"password": PLAIN}}}
            ]
        },
    )


def test_responses_carry_hashes_only(app, auth_headers):
    for response in writes(app, auth_headers):
        assert PLAIN.encode() not in response.body


def test_logs_never_show_the_password(app, auth_headers, caplog):
    caplog.set_level(logging.DEBUG)

    for _ in writes(app, auth_headers):
        pass

    assert caplog.records
    assert PLAIN not in caplog.text


def test_events_and_their_requests_never_show_the_password(app, auth_headers, events):
    for _ in writes(app, auth_headers):
        pass

    assert {e.payload["action"] for e in events} == {"create", "update"}
    for event in events:
        assert PLAIN not in repr(event.impacted_objects)
        assert PLAIN.encode() not in event.request.body
        assert PLAIN not in repr(utils.json_body(event.request))
        for change in event.impacted_objects:
            assert change["new"]["password"].startswith("$2b$")
