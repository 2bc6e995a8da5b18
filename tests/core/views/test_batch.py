"""POST /v1/batch (batch.md) on the core application with small test
services: validation, subrequest construction, responses, errors,
transaction and events."""

import base64
import sys
import types

import pytest
import webtest
from pyramid import httpexceptions
from pyramid.config import Configurator
from pyramid.response import Response

import kinto.core
from kinto.core import errors, storage
from kinto.core.events import (
    ACTIONS,
    AfterResourceChanged,
    ResourceChanged,
    ResourceRead,
    notify_resource_event,
)
from kinto.core.services import Service
from kinto.core.utils import json_body
from kinto.core.views.batch import merge_defaults
from tests.conftest import TEST_BACKEND, backend_settings

BASE_SETTINGS = {
    "storage_backend": "kinto.core.storage.memory",
    "permission_backend": "kinto.core.permission.memory",
    "cache_backend": "kinto.core.cache.memory",
    "multiauth.policies": "basicauth",
    "userid_hmac_secret": "batch tests",
    "multiauth.authorization_policy": "kinto.authorization.AuthorizationPolicy",
}


def auth(user):
    token = base64.b64encode(f"{user}:secret".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


class Journal:
    """Transaction participant: items become ``committed`` on commit."""

    def __init__(self):
        self.committed = []

    def write(self, request, item):
        txn = request.tm.get()
        try:
            writes = txn.data(self)
        except KeyError:
            writes = _Writes(self, request.tm)
            txn.set_data(self, writes)
            txn.join(writes)
        writes.items.append(item)


class _Writes:
    def __init__(self, journal, transaction_manager):
        self.journal = journal
        self.transaction_manager = transaction_manager
        self.items = []

    def abort(self, txn):
        self.items = []

    tpc_abort = abort

    def tpc_begin(self, txn):
        pass

    def commit(self, txn):
        pass

    def tpc_vote(self, txn):
        pass

    def tpc_finish(self, txn):
        self.journal.committed.extend(self.items)

    def sortKey(self):
        return "journal"


# Test services -----------------------------------------------------------------


def echo(request):
    return {
        "method": request.method,
        "path": request.path_info,
        "query": dict(request.GET),
        "headers": dict(request.headers),
        "body": json_body(request) if request.body else None,
        "userid": request.prefixed_userid,
        "principals": request.prefixed_principals,
        "bound_data_is_shared": "shared" in request.bound_data,
    }


def create_item(request):
    """Write an item; ``{"data": {"id": ...}}``."""
    body = json_body(request)
    if "data" not in body:
        errors.raise_invalid(name="data", description="Required")
    data = body["data"]
    request.registry.journal.write(request, data["id"])
    notify_resource_event(request, "item", "/items", 1, [{"new": data}], ACTIONS.CREATE)
    request.response.status = 201
    return {"data": data}


def read_items(request):
    items = [{"id": i} for i in request.registry.journal.committed]
    notify_resource_event(request, "item", "/items", 1, items, ACTIONS.READ)
    return {"data": items}


def get_item(request):
    item_id = request.matchdict["id"]
    if item_id not in request.registry.journal.committed:
        raise errors.http_error(
            httpexceptions.HTTPNotFound(),
            errno=errors.ERRORS.INVALID_RESOURCE_ID,
            details={"id": item_id, "resource_name": "item"},
        )
    return {"data": {"id": item_id}}


def join_group(request):
    """Make the caller a member of ``/groups/g`` (for later requests)."""
    request.registry.permission.add_user_principal(request.prefixed_userid, "/groups/g")
    request.bound_data["shared"] = True
    return {}


def fail(request):
    kind = request.matchdict["kind"]
    request.registry.journal.write(request, f"before-{kind}")
    if kind == "crash":
        raise RuntimeError("boom")
    if kind == "backend":
        raise storage.BackendError(message="down")
    if kind == "conflict":
        raise storage.IntegrityError(message="conflict")
    if kind == "forbidden":
        raise httpexceptions.HTTPForbidden()
    if kind == "teapot":
        return Response(status=418, body=b"I'm a teapot", content_type="text/plain")
    if kind == "gateway":
        return Response(status=502, body=b"bad gateway", content_type="text/plain")
    return {}


def text(request):
    return Response(body="héllo".encode(), content_type="text/plain", charset="utf-8")


def includeme(config):
    services = [
        ("echo", "/echo", dict.fromkeys(("GET", "POST", "PUT", "PATCH", "DELETE"), echo)),
        ("items", "/items", {"GET": read_items, "POST": create_item}),
        ("item", "/items/{id}", {"GET": get_item}),
        ("join", "/join", {"POST": join_group}),
        ("fail", "/fail/{kind}", {"POST": fail}),
        ("text", "/text", {"GET": text}),
    ]
    for name, path, views in services:
        service = Service(name=name, path=path)
        for method, view in views.items():
            service.add_view(method, view)
        config.add_cornice_service(service)


def make_test_app(subscribers=(), **settings):
    config = Configurator(settings={**BASE_SETTINGS, **backend_settings(), **settings})
    kinto.core.initialize(config, version="0.0", project_name="batch-tests")
    config.registry.journal = Journal()
    config.include(includeme)
    for subscriber, event_class in subscribers:
        config.add_subscriber(subscriber, event_class)
    app = webtest.TestApp(config.make_wsgi_app())
    app.registry = config.registry
    return app


@pytest.fixture
def app():
    return make_test_app()


def batch(app, requests, defaults=None, status=200, **kw):
    payload = {"requests": requests}
    if defaults is not None:
        payload["defaults"] = defaults
    return app.post_json("/v1/batch", payload, status=status, **kw)


# Validation ---------------------------------------------------------------------


class TestValidation:
    def _error(self, app, payload, **kw):
        resp = app.post_json("/v1/batch", payload, status=400, **kw)
        assert resp.json["errno"] == 107
        assert resp.json["error"] == "Invalid parameters"
        return resp.json

    def test_empty_request_list_gives_empty_responses(self, app):
        assert batch(app, []).json == {"responses": []}

    def test_requests_are_required(self, app):
        body = self._error(app, {})
        assert body["message"] == "requests in body: Required"

    def test_requests_must_be_a_list(self, app):
        self._error(app, {"requests": {"path": "/"}})

    def test_payload_must_be_an_object(self, app):
        self._error(app, [])

    def test_unknown_top_level_field(self, app):
        body = self._error(app, {"requests": [], "foo": 1})
        assert body["details"][0]["name"] == "foo"

    def test_unknown_request_field(self, app):
        body = self._error(app, {"requests": [{"path": "/", "tada": 1}]})
        assert body["details"][0]["name"] == "requests.0.tada"

    def test_request_must_be_an_object(self, app):
        self._error(app, {"requests": ["/"]})

    @pytest.mark.parametrize("method", ["get", "OPTIONS", "FOO", 1])
    def test_invalid_method(self, app, method):
        body = self._error(app, {"requests": [{"method": method, "path": "/"}]})
        assert body["details"][0]["name"] == "requests.0.method"

    @pytest.mark.parametrize("path", ["", "echo", 42])
    def test_path_must_start_with_slash(self, app, path):
        self._error(app, {"requests": [{"path": path}]})

    def test_path_is_required_in_request_or_defaults(self, app):
        body = self._error(app, {"requests": [{"method": "GET"}]})
        assert body["message"] == "requests.0.path in body: Required"
        batch(app, [{"method": "GET"}], defaults={"path": "/echo"})

    def test_header_values_must_be_strings(self, app):
        self._error(app, {"requests": [{"path": "/", "headers": {"X-A": 1}}]})
        self._error(app, {"requests": [{"path": "/", "headers": ["X-A"]}]})

    def test_body_must_be_an_object(self, app):
        self._error(app, {"requests": [{"path": "/", "body": [{"op": "add"}]}]})

    def test_defaults_are_validated(self, app):
        body = self._error(app, {"defaults": {"method": "NOPE"}, "requests": []})
        assert body["details"][0]["name"] == "defaults.method"

    @pytest.mark.parametrize("path", ["/batch", "/v1/batch", "/echo?next=/batch"])
    def test_recursive_batch_is_forbidden(self, app, path):
        body = self._error(app, {"requests": [{"path": "/echo"}, {"path": path}]})
        assert body["message"] == "path in body: Recursive call on /batch endpoint is forbidden."

    def test_nothing_runs_when_one_request_is_invalid(self, app):
        self._error(
            app,
            {
                "requests": [
                    {"method": "POST", "path": "/items", "body": {"data": {"id": "a"}}},
                    {"method": "BAD", "path": "/items"},
                ]
            },
        )
        assert app.registry.journal.committed == []

    def test_number_of_requests_is_limited(self, app):
        body = self._error(app, {"requests": [{"path": "/echo"}] * 26})
        assert body["message"] == "requests in body: Number of requests is limited to 25"
        assert len(batch(app, [{"path": "/echo"}] * 25).json["responses"]) == 25

    def test_limit_comes_from_settings(self):
        app = make_test_app(batch_max_requests=2)
        body = self._error(app, {"requests": [{"path": "/echo"}] * 3})
        assert body["message"].endswith("limited to 2")

    @pytest.mark.parametrize("limit", [0, None])
    def test_zero_or_null_limit_means_unlimited(self, limit):
        app = make_test_app(batch_max_requests=limit)
        assert len(batch(app, [{"path": "/echo"}] * 30).json["responses"]) == 30

    def test_invalid_json_is_rejected(self, app):
        resp = app.post("/v1/batch", "{", headers={"Content-Type": "application/json"}, status=400)
        assert resp.json["errno"] == 107

    def test_other_content_type_is_rejected(self, app):
        resp = app.post(
            "/v1/batch", '{"requests": []}', headers={"Content-Type": "text/plain"}, status=415
        )
        assert resp.json["errno"] == 107
        assert resp.json["error"] == "Invalid parameters"

    def test_no_content_type_is_accepted(self, app):
        request = webtest.TestRequest.blank("/v1/batch", method="POST", body=b'{"requests": []}')
        assert "CONTENT_TYPE" not in request.environ
        resp = app.do_request(request)
        assert resp.json == {"responses": []}

    def test_readonly_server_refuses_batch(self):
        app = make_test_app(readonly=True)
        resp = app.post_json("/v1/batch", {"requests": []}, status=405)
        assert resp.json["errno"] == 115


def test_defaults_merge_deeply_without_overriding():
    defaults = {
        "method": "POST",
        "headers": {"X-A": "1", "X-B": "2"},
        "body": {"data": {"a": 1, "b": 2}, "permissions": {"read": ["x"]}},
    }
    spec = {"path": "/p", "headers": {"X-B": "3"}, "body": {"data": {"b": 20, "c": 30}}}
    assert merge_defaults(defaults, spec) == {
        "method": "POST",
        "path": "/p",
        "headers": {"X-A": "1", "X-B": "3"},
        "body": {"data": {"a": 1, "b": 20, "c": 30}, "permissions": {"read": ["x"]}},
    }
    assert spec["headers"] == {"X-B": "3"}
    assert defaults["body"]["data"] == {"a": 1, "b": 2}


# Subrequests and responses --------------------------------------------------------


class TestSubrequests:
    def test_response_shape(self, app):
        (resp,) = batch(app, [{"path": "/echo?a=1"}]).json["responses"]
        assert resp["status"] == 200
        assert resp["path"] == "/v1/echo"
        assert resp["headers"]["Content-Type"] == "application/json"
        assert resp["body"]["method"] == "GET"
        assert resp["body"]["query"] == {"a": "1"}

    def test_responses_are_in_request_order(self, app):
        resp = batch(
            app,
            [
                {"method": "POST", "path": "/items", "body": {"data": {"id": "a"}}},
                {"path": "/echo"},
                {"method": "DELETE", "path": "/echo"},
            ],
        )
        assert [(r["status"], r["body"].get("method")) for r in resp.json["responses"]] == [
            (201, None),
            (200, "GET"),
            (200, "DELETE"),
        ]

    def test_v1_prefix_is_optional(self, app):
        responses = batch(app, [{"path": "/v1/echo"}, {"path": "/echo"}]).json["responses"]
        assert [r["path"] for r in responses] == ["/v1/echo", "/v1/echo"]

    def test_batch_headers_are_inherited_and_overridden(self, app):
        (resp,) = batch(
            app,
            [{"path": "/echo", "headers": {"X-Two": "sub", "x-three": "3"}}],
            headers={"X-One": "1", "X-Two": "batch", "Origin": "http://o"},
        ).json["responses"]
        headers = resp["body"]["headers"]
        assert headers["X-One"] == "1"
        assert headers["X-Two"] == "sub"
        assert headers["X-Three"] == "3"
        assert headers["Origin"] == "http://o"

    def test_body_is_sent_as_json_and_content_type_forced(self, app):
        (resp,) = batch(
            app,
            [
                {
                    "method": "PATCH",
                    "path": "/echo",
                    "headers": {"Content-Type": "application/merge-patch+json"},
                    "body": {"data": {"a": "é"}},
                }
            ],
        ).json["responses"]
        assert resp["body"]["body"] == {"data": {"a": "é"}}
        assert resp["body"]["headers"]["Content-Type"] == "application/json; charset=utf-8"

    def test_defaults_apply_to_every_request(self, app):
        resp = batch(
            app,
            [{"body": {"data": {"id": "a"}}}, {"body": {"data": {"id": "b"}}}],
            defaults={"method": "POST", "path": "/items"},
        )
        assert [r["status"] for r in resp.json["responses"]] == [201, 201]
        assert app.registry.journal.committed == ["a", "b"]

    def test_subrequests_authenticate_with_batch_headers(self, app):
        (resp,) = batch(app, [{"path": "/echo"}], headers=auth("alice")).json["responses"]
        assert resp["body"]["userid"].startswith("basicauth:")

    def test_principals_are_computed_once_per_batch(self, app):
        headers = auth("alice")
        responses = batch(
            app, [{"method": "POST", "path": "/join"}, {"path": "/echo"}], headers=headers
        ).json["responses"]
        assert "/groups/g" not in responses[1]["body"]["principals"]
        (later,) = batch(app, [{"path": "/echo"}], headers=headers).json["responses"]
        assert "/groups/g" in later["body"]["principals"]

    def test_bound_data_is_shared_by_subrequests(self, app):
        responses = batch(
            app, [{"method": "POST", "path": "/join"}, {"path": "/echo"}], headers=auth("bob")
        ).json["responses"]
        assert responses[1]["body"]["bound_data_is_shared"] is True

    def test_non_ascii_paths_are_percent_encoded(self, app):
        (resp,) = batch(app, [{"path": "/echo?q=héhé"}]).json["responses"]
        assert resp["body"]["query"] == {"q": "héhé"}

    def test_head_body_is_an_empty_string(self, app):
        (resp,) = batch(app, [{"method": "HEAD", "path": "/echo"}]).json["responses"]
        assert resp["status"] == 200
        assert resp["body"] == ""

    def test_non_json_body_is_a_string(self, app):
        (resp,) = batch(app, [{"path": "/text"}]).json["responses"]
        assert resp["body"] == "héllo"

    def test_trailing_slash_redirect_is_followed(self, app):
        (resp,) = batch(app, [{"path": "/echo/?a=1"}]).json["responses"]
        assert resp["status"] == 200
        assert resp["path"] == "/v1/echo"
        assert resp["body"]["query"] == {"a": "1"}

    def test_redirect_keeps_method_and_body(self, app):
        (resp,) = batch(
            app, [{"method": "POST", "path": "/items/", "body": {"data": {"id": "r"}}}]
        ).json["responses"]
        assert resp["status"] == 201
        assert app.registry.journal.committed == ["r"]

    def test_hello_is_reachable(self, app):
        (resp,) = batch(app, [{"path": "/"}]).json["responses"]
        assert resp["status"] == 200
        assert resp["path"] == "/v1/"
        assert resp["body"]["http_api_version"] == "1.23"


# Errors and transactions ----------------------------------------------------------


class TestErrors:
    def test_client_errors_are_embedded_and_other_writes_commit(self, app):
        responses = batch(
            app,
            [
                {"method": "POST", "path": "/items", "body": {"data": {"id": "a"}}},
                {"path": "/items/unknown"},
                {"path": "/nowhere"},
                {"method": "PUT", "path": "/items"},
            ],
        ).json["responses"]
        assert [r["status"] for r in responses] == [201, 404, 404, 405]
        assert responses[1]["body"]["errno"] == 110
        assert responses[1]["body"]["details"] == {"id": "unknown", "resource_name": "item"}
        assert responses[2]["body"]["errno"] == 111
        assert responses[3]["body"]["errno"] == 115
        assert app.registry.journal.committed == ["a"]

    def test_forbidden_is_rendered_like_outside_a_batch(self, app):
        (anonymous,) = batch(app, [{"method": "POST", "path": "/fail/forbidden"}]).json[
            "responses"
        ]
        assert anonymous["status"] == 401
        assert anonymous["body"]["errno"] == 104
        assert "WWW-Authenticate" in anonymous["headers"]
        (known,) = batch(
            app, [{"method": "POST", "path": "/fail/forbidden"}], headers=auth("al")
        ).json["responses"]
        assert known["status"] == 403
        assert known["body"]["errno"] == 121

    def test_non_json_error_gets_the_envelope(self, app):
        (resp,) = batch(app, [{"method": "POST", "path": "/fail/teapot"}]).json["responses"]
        assert resp["status"] == 418
        assert resp["body"]["code"] == 418
        assert resp["body"]["errno"] == 999

    def test_validation_errors_are_embedded(self, app):
        responses = batch(
            app,
            [
                {"method": "POST", "path": "/items", "body": {"nodata": {}}},
                {"method": "POST", "path": "/items", "body": {"data": {"id": "ok"}}},
            ],
        ).json["responses"]
        assert [r["status"] for r in responses] == [400, 201]
        assert responses[0]["body"]["errno"] == 107
        assert responses[0]["body"]["message"] == "data in body: Required"
        assert app.registry.journal.committed == ["ok"]

    def test_unhandled_error_fails_the_whole_batch_and_rolls_back(self, app):
        resp = batch(
            app,
            [
                {"method": "POST", "path": "/items", "body": {"data": {"id": "a"}}},
                {"method": "POST", "path": "/fail/crash"},
                {"method": "POST", "path": "/items", "body": {"data": {"id": "b"}}},
            ],
            status=500,
        )
        assert resp.json["errno"] == 999
        assert app.registry.journal.committed == []

    def test_backend_error_fails_the_batch_with_503(self, app):
        resp = batch(app, [{"method": "POST", "path": "/fail/backend"}], status=503)
        assert resp.json["errno"] == 201
        assert resp.headers["Retry-After"] == "3"
        assert app.registry.journal.committed == []

    def test_returned_5xx_fails_the_batch(self, app):
        resp = batch(app, [{"method": "POST", "path": "/fail/gateway"}], status=502)
        assert resp.json["errno"] == 999

    def test_conflict_that_cannot_be_rolled_back_alone_fails_the_batch(self, app):
        # The journal cannot roll back to a savepoint: rather than answering
        # 201 for a write that would not be committed, the batch answers 409.
        resp = batch(
            app,
            [
                {"method": "POST", "path": "/items", "body": {"data": {"id": "a"}}},
                {"method": "POST", "path": "/fail/conflict"},
                {"path": "/echo"},
            ],
            status=409,
        )
        assert resp.json["errno"] == 122
        assert app.registry.journal.committed == []


# Events ---------------------------------------------------------------------------


class Recorder:
    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append(event)


class TestEvents:
    def test_events_of_the_batch_are_merged_and_sent_once(self):
        changed, after, read = Recorder(), Recorder(), Recorder()
        app = make_test_app(
            [(changed, ResourceChanged), (after, AfterResourceChanged), (read, ResourceRead)]
        )
        batch(
            app,
            [{"body": {"data": {"id": i}}} for i in "abc"] + [{"method": "GET"}],
            defaults={"method": "POST", "path": "/items"},
        )
        (event,) = changed.events
        assert [c["new"]["id"] for c in event.impacted_objects] == ["a", "b", "c"]
        assert event.payload["uri"] == "/items"
        assert len(after.events) == 1
        assert len(read.events) == 1

    def test_listener_error_fails_the_batch_and_rolls_back(self):
        def refuse(event):
            raise errors.http_error(httpexceptions.HTTPForbidden(), errno=121)

        after = Recorder()
        app = make_test_app([(refuse, ResourceChanged), (after, AfterResourceChanged)])
        resp = batch(
            app,
            [{"method": "POST", "path": "/items", "body": {"data": {"id": "a"}}}],
            status=403,
        )
        assert resp.json["errno"] == 121
        assert app.registry.journal.committed == []
        assert after.events == []

    def test_failed_batch_sends_no_event(self):
        changed = Recorder()
        app = make_test_app([(changed, ResourceChanged)])
        batch(
            app,
            [
                {"method": "POST", "path": "/items", "body": {"data": {"id": "a"}}},
                {"method": "POST", "path": "/fail/crash"},
            ],
            status=500,
        )
        assert changed.events == []

    def test_embedded_client_error_keeps_events_of_other_subrequests(self):
        changed = Recorder()
        app = make_test_app([(changed, ResourceChanged)])
        batch(
            app,
            [
                {"method": "POST", "path": "/items", "body": {"data": {"id": "a"}}},
                {"path": "/items/unknown"},
            ],
        )
        assert len(changed.events) == 1


# With the Kinto resources -----------------------------------------------------------


class Collector:
    """A configured listener (events.md §5) keeping the events it gets."""

    instances = []

    def __init__(self):
        self.events = []
        Collector.instances.append(self)

    def __call__(self, event):
        self.events.append(event)


@pytest.fixture
def kinto_app(make_app, monkeypatch):
    module = types.ModuleType("batch_test_listener")
    module.load_from_config = lambda config, prefix: Collector()
    monkeypatch.setitem(sys.modules, "batch_test_listener", module)
    monkeypatch.setattr(Collector, "instances", [])
    app = make_app(
        event_listeners="collect",
        **{"event_listeners.collect.use": "batch_test_listener"},
    )
    app.collector = Collector.instances[0]
    return app


def user_id(app, headers):
    return app.get("/v1/", headers=headers).json["user"]["id"]


class TestWithKintoResources:
    RECORDS = "/buckets/b/collections/c/records"

    def test_objects_created_earlier_in_the_batch_are_visible_later(self, kinto_app):
        headers = auth("alice")
        responses = batch(
            kinto_app,
            [
                {"path": "/buckets/b"},
                {"path": "/buckets/b/collections/c"},
                {"method": "POST", "path": self.RECORDS, "body": {"data": {"n": 1}}},
                {"path": self.RECORDS + "/r1", "body": {"data": {"n": 2}}},
                {"method": "GET", "path": self.RECORDS + "?_sort=n"},
                {"method": "HEAD", "path": self.RECORDS},
            ],
            defaults={"method": "PUT"},
            headers=headers,
        ).json["responses"]
        assert [r["status"] for r in responses] == [201, 201, 201, 201, 200, 200]
        assert responses[3]["path"] == "/v1/buckets/b/collections/c/records/r1"
        assert [r["n"] for r in responses[4]["body"]["data"]] == [1, 2]
        assert responses[5]["body"] == ""
        assert responses[5]["headers"]["Total-Records"] == "2"
        listed = kinto_app.get("/v1" + self.RECORDS, headers=headers).json["data"]
        assert len(listed) == 2

    def test_client_errors_are_embedded_with_their_envelope(self, kinto_app):
        headers = auth("alice")
        kinto_app.put_json("/v1/buckets/b", {}, headers=headers)
        kinto_app.put_json("/v1/buckets/b/collections/c", {}, headers=headers)
        created = kinto_app.put_json(
            "/v1" + self.RECORDS + "/r1", {"data": {"n": 1}}, headers=headers
        ).json["data"]
        responses = batch(
            kinto_app,
            [
                {
                    "method": "PUT",
                    "path": self.RECORDS + "/r1",
                    "headers": {"If-Match": '"1"'},
                    "body": {"data": {"n": 2}},
                },
                {"path": self.RECORDS + "/unknown"},
                {"path": "/buckets/b/collections/c/records/"},
                {"method": "DELETE", "path": self.RECORDS + "/r1"},
            ],
            headers=headers,
        ).json["responses"]
        assert [r["status"] for r in responses] == [412, 404, 200, 200]
        assert responses[0]["body"]["errno"] == 114
        assert responses[0]["body"]["details"]["existing"] == created
        assert responses[1]["body"]["errno"] == 110
        assert responses[2]["path"] == "/v1/buckets/b/collections/c/records"
        assert responses[3]["body"]["data"]["deleted"] is True

    def test_anonymous_subrequest_is_challenged(self, kinto_app):
        (resp,) = batch(kinto_app, [{"path": "/buckets/private"}]).json["responses"]
        assert resp["status"] == 401
        assert resp["body"]["errno"] == 104

    def test_group_membership_changes_apply_after_the_batch(self, kinto_app):
        alice, bob = auth("alice"), auth("bob")
        group = "/buckets/alices/groups/friends"
        kinto_app.put_json("/v1/buckets/alices", {}, headers=alice)
        kinto_app.put_json("/v1/buckets/shared", {"permissions": {"read": [group]}}, headers=bob)
        responses = batch(
            kinto_app,
            [
                {
                    "method": "PUT",
                    "path": group,
                    "body": {"data": {"members": [user_id(kinto_app, alice)]}},
                },
                {"path": "/buckets/shared"},
            ],
            headers=alice,
        ).json["responses"]
        assert [r["status"] for r in responses] == [201, 403]
        kinto_app.get("/v1/buckets/shared", headers=alice, status=200)

    def test_events_of_a_batch_are_merged_per_collection(self, kinto_app):
        headers = auth("alice")
        kinto_app.put_json("/v1/buckets/b", {}, headers=headers)
        kinto_app.put_json("/v1/buckets/b/collections/c", {}, headers=headers)
        kinto_app.collector.events.clear()
        batch(
            kinto_app,
            [{"body": {"data": {"n": i}}} for i in range(3)]
            + [{"method": "PUT", "path": self.RECORDS + "/r9", "body": {"data": {}}}],
            defaults={"method": "POST", "path": self.RECORDS},
            headers=headers,
        )
        (event,) = kinto_app.collector.events
        assert isinstance(event, ResourceChanged)
        assert len(event.impacted_objects) == 4
        payload = event.payload
        assert payload["action"] == "create"
        assert payload["resource_name"] == "record"
        assert payload["uri"] == self.RECORDS
        assert payload["bucket_id"] == "b"
        assert payload["collection_id"] == "c"
        assert payload["user_id"] == user_id(kinto_app, headers)
        assert "record_id" not in payload

    def test_collections_created_in_one_batch_make_one_event(self, kinto_app):
        headers = auth("alice")
        kinto_app.put_json("/v1/buckets/b", {}, headers=headers)
        kinto_app.collector.events.clear()
        responses = batch(
            kinto_app,
            [
                {"method": "PUT", "path": "/buckets/b/collections/c"},
                {"method": "PUT", "path": "/buckets/b/collections/d"},
            ],
            headers=headers,
        ).json["responses"]
        assert [r["status"] for r in responses] == [201, 201]
        assert len(kinto_app.collector.events) == 1
        assert len(kinto_app.collector.events[0].impacted_objects) == 2


# The batch memo (kinto.core.batch_memo) -----------------------------------------------


class BackendSpy:
    """Stands for a real backend: every call goes through to it and is noted
    as ``(method name, args, result)`` in ``calls``."""

    def __init__(self, backend, calls: list):
        self._backend = backend
        self._calls = calls

    def __getattr__(self, name):
        value = getattr(self._backend, name)
        if not callable(value):
            return value

        def spied(*args, **kwargs):
            result = value(*args, **kwargs)
            self._calls.append((name, args, result))
            return result

        return spied


def spy_backends(app) -> list:
    """Put spies in front of ``app``'s storage and permission backends
    (the authorizer's included); return their shared list of calls."""
    calls: list = []
    registry = app.app.registry
    registry.storage = BackendSpy(registry.storage, calls)
    registry.permission = BackendSpy(registry.permission, calls)
    registry.authorizer.permission = registry.permission
    return calls


def collection_reads(calls) -> int:
    """Reads of a collection: alone (``get``) or offered along another
    backend's statement (a ``read_along`` that the backend provides)."""
    return sum(
        1
        for name, args, result in calls
        if args[:1] == ("collection",)
        and (name == "get" or (name == "read_along" and result is not None))
    )


def questions(calls, object_uri, permission) -> int:
    """Authorization questions sent to the permission backend whose bound
    ACEs include ``permission`` on ``object_uri``."""
    count = 0
    for name, args, _ in calls:
        if name == "check_permission":
            count += (object_uri, permission) in args[1]
        elif name == "get_principals_and_permissions":
            count += object_uri in args[1] and permission in args[2]
    return count


class TestBatchMemo:
    COLLECTION = "/buckets/b/collections/c"
    RECORDS = COLLECTION + "/records"

    @pytest.fixture
    def owned(self, make_app):
        """An app where alice owns the bucket ``b`` and its collection ``c``."""
        app = make_app()
        alice = auth("alice")
        app.put_json("/v1/buckets/b", {}, headers=alice)
        app.put_json("/v1/buckets/b/collections/c", {}, headers=alice)
        return app

    def test_record_creates_read_the_collection_and_ask_create_once(self, owned):
        calls = spy_backends(owned)
        responses = batch(
            owned,
            [{"body": {"data": {"n": i}}} for i in range(5)],
            defaults={"method": "POST", "path": self.RECORDS},
            headers=auth("alice"),
        ).json["responses"]
        assert [r["status"] for r in responses] == [201] * 5
        assert collection_reads(calls) == 1
        assert questions(calls, self.COLLECTION, "record:create") == 1

    def test_requests_outside_a_batch_remember_nothing(self, owned):
        calls = spy_backends(owned)
        for i in range(2):
            owned.post_json("/v1" + self.RECORDS, {"data": {"n": i}}, headers=auth("alice"))
        assert collection_reads(calls) == 2
        assert questions(calls, self.COLLECTION, "record:create") == 2

    def test_questions_on_a_record_are_asked_again(self, owned):
        bob = auth("bob")
        record = self.RECORDS + "/r"
        owned.put_json(
            "/v1" + record,
            {"permissions": {"write": [user_id(owned, bob)]}},
            headers=auth("alice"),
        )
        calls = spy_backends(owned)
        body = {"data": {}, "permissions": {"read": []}}
        responses = batch(
            owned,
            [{"body": body}, {"body": body}],
            defaults={"method": "PUT", "path": record},
            headers=bob,
        ).json["responses"]
        assert [r["status"] for r in responses] == [200, 200]
        assert questions(calls, record, "write") == 2

    def test_memo_is_forgotten_after_a_subrequest_outside_the_records(self, owned):
        calls = spy_backends(owned)
        responses = batch(
            owned,
            [
                {"method": "POST", "path": self.RECORDS, "body": {"data": {}}},
                {"method": "GET", "path": "/buckets/b"},
                {"method": "POST", "path": self.RECORDS, "body": {"data": {}}},
            ],
            headers=auth("alice"),
        ).json["responses"]
        assert [r["status"] for r in responses] == [201, 200, 201]
        assert collection_reads(calls) == 2
        assert questions(calls, self.COLLECTION, "record:create") == 2

    def test_memo_is_forgotten_after_a_failed_record_write(self, owned):
        calls = spy_backends(owned)
        responses = batch(
            owned,
            [
                {"method": "POST", "path": self.RECORDS, "body": {"data": {}}},
                {"method": "POST", "path": self.RECORDS, "body": {"data": {"id": "!"}}},
                {"method": "POST", "path": self.RECORDS, "body": {"data": {}}},
            ],
            headers=auth("alice"),
        ).json["responses"]
        assert [r["status"] for r in responses] == [201, 400, 201]
        assert collection_reads(calls) == 2

    def test_collection_deleted_by_a_subrequest_is_missing_for_the_next(self, owned):
        responses = batch(
            owned,
            [
                {"method": "POST", "path": self.RECORDS, "body": {"data": {}}},
                {"method": "DELETE", "path": "/buckets/b/collections/c"},
                {"method": "POST", "path": self.RECORDS, "body": {"data": {}}},
            ],
            headers=auth("alice"),
        ).json["responses"]
        assert [r["status"] for r in responses] == [201, 200, 404]
        assert responses[2]["body"]["errno"] == 111
        owned.get("/v1/buckets/b/collections/c", headers=auth("alice"), status=404)

    def test_create_permission_removed_by_a_subrequest_is_refused_to_the_next(self, make_app):
        app = make_app()
        alice, bob = auth("alice"), auth("bob")
        group = "/buckets/b/groups/writers"
        app.put_json("/v1/buckets/b", {}, headers=bob)
        app.put_json(
            "/v1" + group,
            {"data": {"members": [user_id(app, alice)]}, "permissions": {"write": ["account:x"]}},
            headers=bob,
        )
        app.patch_json(
            "/v1" + group,
            {"permissions": {"write": [user_id(app, alice)]}},
            headers=bob,
        )
        app.put_json(
            "/v1/buckets/b/collections/c",
            {"permissions": {"record:create": [group]}},
            headers=bob,
        )
        responses = batch(
            app,
            [
                {"method": "POST", "path": self.RECORDS, "body": {"data": {}}},
                # Deleting the group removes it from every ACL.
                {"method": "DELETE", "path": group},
                {"method": "POST", "path": self.RECORDS, "body": {"data": {}}},
            ],
            headers=alice,
        ).json["responses"]
        assert [r["status"] for r in responses] == [201, 200, 403]
        assert responses[2]["body"]["errno"] == 121

    @pytest.mark.skipif(
        TEST_BACKEND == "memory", reason="the memory backends have no transactions to roll back"
    )
    def test_collection_created_by_a_failed_subrequest_is_not_seen_by_the_next(self, make_app):
        app = make_app(includes="kinto.plugins.default_bucket")
        alice = auth("alice")
        bucket_id = app.get("/v1/", headers=alice).json["user"]["bucket"]
        records = f"/buckets/{bucket_id}/collections/tasks/records"
        responses = batch(
            app,
            [
                # Creates the personal bucket and its collection, then fails
                # on the record id: all rolled back.
                {
                    "method": "POST",
                    "path": "/buckets/default/collections/tasks/records",
                    "body": {"data": {"id": "!"}},
                },
                {"method": "POST", "path": records, "body": {"data": {}}},
            ],
            headers=alice,
        ).json["responses"]
        assert [r["status"] for r in responses] == [400, 404]
        assert responses[1]["body"]["errno"] == 111
