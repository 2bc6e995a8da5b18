"""Events: payload, merging, delivery before/after commit, cascades and
subscriber predicates, on a small Pyramid app whose views write to a real
transaction participant."""

import logging

import pytest
import webtest
from pyramid import httpexceptions
from pyramid.config import Configurator
from pyramid.response import Response
from pyramid_tm import is_tm_active

from kinto.core import errors
from kinto.core.events import (
    ACTIONS,
    EVENTS_KEY,
    AfterResourceChanged,
    AfterResourceRead,
    ResourceChanged,
    ResourceRead,
    notify_resource_event,
)
from kinto.core.request import Request


class Journal:
    """Transaction participant: writes become visible in ``committed`` only
    when the request transaction commits."""

    def __init__(self):
        self.committed = []

    def write(self, request, item):
        txn = request.tm.get()
        try:
            manager = txn.data(self)
        except KeyError:
            manager = _JournalWrites(self, request.tm)
            txn.set_data(self, manager)
            txn.join(manager)
        manager.items.append(item)


class _JournalWrites:
    def __init__(self, journal, transaction_manager):
        self.journal = journal
        self.transaction_manager = transaction_manager
        self.items = []

    def abort(self, txn):
        self.items = []

    def tpc_begin(self, txn):
        pass

    def commit(self, txn):
        pass

    def tpc_vote(self, txn):
        pass

    def tpc_finish(self, txn):
        self.journal.committed.extend(self.items)

    def tpc_abort(self, txn):
        self.items = []

    def sortKey(self):
        return "journal"


class Recorder:
    """Subscriber keeping the events it receives, with what the journal had
    committed at that time."""

    def __init__(self, journal=None):
        self.journal = journal
        self.events = []
        self.committed_then = []

    def __call__(self, event):
        self.events.append(event)
        if self.journal is not None:
            self.committed_then.append(list(self.journal.committed))


def _write_view(request):
    """POST /v1/things: write and notify ``create`` events.

    Query parameters: ``n`` objects, ``parent`` id, ``status`` of the
    response (returned, not raised), ``fail`` to raise an HTTP 400.
    """
    params = request.params
    parent = params.get("parent", "/p")
    for i in range(int(params.get("n", 1))):
        obj = {"id": f"t{i}", "last_modified": 10 + i}
        request.registry.journal.write(request, obj["id"])
        notify_resource_event(request, "thing", parent, 10 + i, [{"new": obj}], ACTIONS.CREATE)
    if "fail" in params:
        raise errors.http_error(httpexceptions.HTTPBadRequest(), errno=107)
    if "status" in params:
        return Response(status=int(params["status"]), json_body={})
    return {"ok": True}


def _put_view(request):
    obj = {"id": request.matchdict["id"], "last_modified": 42}
    request.registry.journal.write(request, obj["id"])
    notify_resource_event(request, "thing", "/p", 42, [{"new": obj}], "create")
    return obj


def _read_view(request):
    objs = [{"id": "a", "last_modified": 1}, {"id": "b", "last_modified": 2}]
    notify_resource_event(request, "thing", "/p", 2, objs, ACTIONS.READ)
    return {"data": objs, "pending": list(request.bound_data.get(EVENTS_KEY, {}))}


def _implicit_view(request):
    obj = {"id": "b1", "last_modified": 5}
    notify_resource_event(
        request,
        "bucket",
        "",
        5,
        [{"new": obj}],
        ACTIONS.CREATE,
        uri="/buckets/b1",
        matchdict={"id": "b1"},
    )
    return {}


def _mixed_view(request):
    """Several writes of different kinds in one request."""
    one = {"id": "1", "last_modified": 1}
    notify_resource_event(request, "thing", "/p", 1, [{"new": one}], ACTIONS.CREATE)
    notify_resource_event(request, "thing", "/q", 2, [{"new": one}], ACTIONS.CREATE)
    notify_resource_event(request, "thing", "/p", 3, [{"old": one, "new": one}], ACTIONS.UPDATE)
    notify_resource_event(request, "thing", "/p", 4, [{"new": one}], ACTIONS.CREATE)
    notify_resource_event(request, "other", "/p", 5, [{"new": one}], ACTIONS.DELETE)
    return {}


def _doom_view(request):
    notify_resource_event(request, "thing", "/p", 1, [{"new": {"id": "x"}}], ACTIONS.CREATE)
    request.tm.doom()
    return {}


def _transaction_view(request):
    return {"active": is_tm_active(request)}


def _crash_view(request):
    raise RuntimeError("boom")


def _error_view(exc, request):
    request.response.status = 500
    return {"code": 500, "errno": 999, "error": "Internal Server Error"}


def make_app(subscribers=(), settings=None, with_userid=None):
    """Build the test app; ``subscribers`` is a list of
    ``(callable, event class, predicates dict)``."""
    config = Configurator(settings=dict(settings or {}), request_factory=Request)
    config.include("kinto.core.events")
    config.registry.journal = Journal()
    config.route_prefix = "v1"
    if with_userid is not None:
        config.add_request_method(lambda r: with_userid, "prefixed_userid", reify=True)
    routes = {
        "things": ("/things", _write_view),
        "thing": ("/things/{id}", _put_view),
        "read": ("/read", _read_view),
        "implicit": ("/buckets/{id}/implicit", _implicit_view),
        "mixed": ("/mixed", _mixed_view),
        "doom": ("/doom", _doom_view),
        "transaction": ("/transaction", _transaction_view),
        "crash": ("/crash", _crash_view),
    }
    for name, (pattern, view) in routes.items():
        config.add_route(name, pattern)
        config.add_view(view, route_name=name, renderer="json")
    config.add_view(_error_view, context=Exception, renderer="json")
    for subscriber, event_class, predicates in subscribers:
        config.add_subscriber(subscriber, event_class, **predicates)
    app = webtest.TestApp(config.make_wsgi_app())
    app.journal = config.registry.journal
    return app


class TestPayload:
    def test_plural_write_payload_has_uri_without_prefix_and_no_object_id(self):
        rec = Recorder()
        app = make_app([(rec, ResourceChanged, {})])
        app.post("/v1/things")
        (event,) = rec.events
        assert event.payload == {
            "timestamp": 10,
            "action": "create",
            "uri": "/things",
            "user_id": None,
            "resource_name": "thing",
        }

    def test_object_url_id_is_renamed_after_the_resource(self):
        rec = Recorder()
        app = make_app([(rec, ResourceChanged, {})])
        app.put("/v1/things/abc")
        payload = rec.events[0].payload
        assert payload["thing_id"] == "abc"
        assert "id" not in payload
        assert payload["uri"] == "/things/abc"
        assert payload["timestamp"] == 42

    def test_user_id_is_the_prefixed_userid(self):
        rec = Recorder()
        app = make_app([(rec, ResourceChanged, {})], with_userid="basicauth:abc")
        app.post("/v1/things")
        assert rec.events[0].payload["user_id"] == "basicauth:abc"

    def test_uri_and_matchdict_override_the_request_for_implicit_creations(self):
        rec = Recorder()
        app = make_app([(rec, ResourceChanged, {})])
        app.get("/v1/buckets/zzz/implicit")
        payload = rec.events[0].payload
        assert payload["uri"] == "/buckets/b1"
        assert payload["bucket_id"] == "b1"

    def test_event_carries_the_request_and_impacted_objects(self):
        rec = Recorder()
        app = make_app([(rec, ResourceChanged, {})])
        app.post("/v1/things")
        event = rec.events[0]
        assert event.impacted_objects == [{"new": {"id": "t0", "last_modified": 10}}]
        assert event.request.path == "/v1/things"

    def test_read_events_carry_read_objects(self):
        rec = Recorder()
        app = make_app([(rec, ResourceRead, {})])
        app.get("/v1/read")
        (event,) = rec.events
        assert event.payload["action"] == "read"
        assert [o["id"] for o in event.read_objects] == ["a", "b"]

    def test_deprecated_aliases_warn_and_return_the_objects(self):
        changed = Recorder()
        read = Recorder()
        app = make_app([(changed, ResourceChanged, {}), (read, ResourceRead, {})])
        app.post("/v1/things")
        app.get("/v1/read")
        with pytest.warns(DeprecationWarning):
            assert changed.events[0].impacted_records is changed.events[0].impacted_objects
        with pytest.warns(DeprecationWarning):
            assert read.events[0].read_records is read.events[0].read_objects


class TestMerging:
    def test_events_of_the_same_list_and_action_are_merged_with_first_payload(self):
        rec = Recorder()
        app = make_app([(rec, ResourceChanged, {})])
        app.post("/v1/things?n=3")
        (event,) = rec.events
        assert [c["new"]["id"] for c in event.impacted_objects] == ["t0", "t1", "t2"]
        assert event.payload["timestamp"] == 10

    def test_different_parents_actions_or_resources_are_separate_events(self):
        rec = Recorder()
        app = make_app([(rec, ResourceChanged, {})])
        app.get("/v1/mixed")
        summary = [
            (e.payload["resource_name"], e.payload["action"], len(e.impacted_objects))
            for e in rec.events
        ]
        assert summary == [
            ("thing", "create", 2),
            ("thing", "create", 1),
            ("thing", "update", 1),
            ("other", "delete", 1),
        ]

    def test_nothing_is_accumulated_when_nobody_listens(self):
        app = make_app([(Recorder(), ResourceChanged, {})])
        resp = app.get("/v1/read")
        assert resp.json["pending"] == []

    def test_reads_are_accumulated_for_after_commit_listeners_only(self):
        rec = Recorder()
        app = make_app([(rec, AfterResourceRead, {})])
        app.get("/v1/read")
        assert [type(e) for e in rec.events] == [AfterResourceRead]


class TestTransaction:
    def test_resource_changed_is_sent_before_commit_and_after_event_after(self):
        before = Recorder()
        after = Recorder()
        app = make_app([(before, ResourceChanged, {}), (after, AfterResourceChanged, {})])
        before.journal = after.journal = app.journal
        app.post("/v1/things")
        assert before.committed_then == [[]]
        assert after.committed_then == [["t0"]]
        assert app.journal.committed == ["t0"]

    def test_listener_http_error_becomes_the_response_and_aborts(self):
        after = Recorder()

        def refuse(event):
            raise errors.http_error(httpexceptions.HTTPForbidden(), errno=121, message="No")

        app = make_app([(refuse, ResourceChanged, {}), (after, AfterResourceChanged, {})])
        resp = app.post("/v1/things", status=403)
        assert resp.json["errno"] == 121
        assert resp.json["message"] == "No"
        assert app.journal.committed == []
        assert after.events == []

    def test_listener_crash_becomes_a_500_and_aborts(self):
        after = Recorder()

        def crash(event):
            raise ValueError("listener bug")

        app = make_app([(crash, ResourceChanged, {}), (after, AfterResourceChanged, {})])
        resp = app.post("/v1/things", status=500)
        assert resp.json["errno"] == 999
        assert app.journal.committed == []
        assert after.events == []

    def test_read_listener_error_aborts_the_request(self):
        def refuse(event):
            raise httpexceptions.HTTPForbidden()

        app = make_app([(refuse, ResourceRead, {})])
        app.get("/v1/read", status=403)

    def test_after_listener_errors_are_logged_and_other_events_still_sent(self, caplog):
        received = []

        def crash(event):
            received.append(event.payload["resource_name"])
            raise ValueError("after bug")

        app = make_app([(crash, AfterResourceChanged, {})])
        with caplog.at_level(logging.ERROR, logger="kinto.core.events"):
            app.get("/v1/mixed", status=200)
        assert received == ["thing", "thing", "thing", "other"]
        assert app.journal.committed == []  # the view wrote nothing
        assert "after bug" in caplog.text

    def test_error_response_returned_by_view_aborts_and_sends_nothing(self):
        before = Recorder()
        after = Recorder()
        app = make_app([(before, ResourceChanged, {}), (after, AfterResourceChanged, {})])
        app.post("/v1/things?status=412", status=412)
        assert app.journal.committed == []
        assert before.events == after.events == []

    def test_error_raised_by_view_aborts_and_sends_nothing(self):
        before = Recorder()
        app = make_app([(before, ResourceChanged, {})])
        app.post("/v1/things?fail", status=400)
        assert app.journal.committed == []
        assert before.events == []

    def test_unhandled_view_error_is_rendered_and_aborts(self):
        app = make_app()
        assert app.get("/v1/crash", status=500).json["errno"] == 999

    def test_doomed_transaction_sends_nothing(self):
        before = Recorder()
        app = make_app([(before, ResourceChanged, {})])
        app.post("/v1/doom")
        assert before.events == []

    def test_read_requests_run_without_a_transaction(self):
        app = make_app()
        assert app.get("/v1/transaction").json == {"active": False}
        assert app.head("/v1/transaction").status_code == 200

    def test_write_requests_run_in_a_transaction(self):
        app = make_app()
        for method in ("post", "put", "patch", "delete"):
            assert getattr(app, method)("/v1/transaction").json == {"active": True}

    def test_successful_response_commits(self):
        app = make_app()
        app.post("/v1/things?n=2")
        assert app.journal.committed == ["t0", "t1"]

    def test_explicit_commit_veto_setting_is_kept(self):
        app = make_app(settings={"tm.commit_veto": None})
        app.post("/v1/things?status=400", status=400)
        # Without a veto, pyramid_tm commits a returned 4xx response.
        assert app.journal.committed == ["t0"]


class TestCascades:
    def test_events_notified_by_listeners_are_delivered_in_the_same_request(self):
        seen = []

        def log_creations(event):
            for change in event.impacted_objects:
                notify_resource_event(event.request, "log", "/logs", 99, [change], "create")

        def record(event):
            seen.append((event.payload["resource_name"], len(event.impacted_objects)))

        after = Recorder()
        app = make_app(
            [
                (log_creations, ResourceChanged, {"for_resources": "thing"}),
                (record, ResourceChanged, {}),
                (after, AfterResourceChanged, {}),
            ]
        )
        app.post("/v1/things?n=2")
        assert seen == [("thing", 2), ("log", 2)]
        assert [e.payload["resource_name"] for e in after.events] == ["thing", "log"]

    def test_cascaded_events_are_not_merged_into_upstream_events(self):
        seen = []

        def renotify_once(event):
            seen.append(len(event.impacted_objects))
            if len(seen) == 1:
                notify_resource_event(
                    event.request, "thing", "/p", 99, [{"new": {"id": "z"}}], "create"
                )

        app = make_app([(renotify_once, ResourceChanged, {})])
        app.post("/v1/things?n=2")
        assert seen == [2, 1]


class TestPredicates:
    def test_for_resources_and_for_actions_filter_events(self):
        things = Recorder()
        deletes = Recorder()
        both = Recorder()
        app = make_app(
            [
                (things, ResourceChanged, {"for_resources": ("thing",)}),
                (deletes, ResourceChanged, {"for_actions": (ACTIONS.DELETE,)}),
                (
                    both,
                    AfterResourceChanged,
                    {"for_resources": "thing", "for_actions": ("update", ACTIONS.CREATE)},
                ),
            ]
        )
        app.get("/v1/mixed")
        assert {e.payload["resource_name"] for e in things.events} == {"thing"}
        assert len(things.events) == 3
        assert [e.payload["resource_name"] for e in deletes.events] == ["other"]
        assert [e.payload["action"] for e in both.events] == ["create", "create", "update"]

    def test_predicates_ignore_events_without_payload(self):
        rec = Recorder()
        config = Configurator()
        config.include("kinto.core.events")
        config.add_subscriber(rec, None, for_resources="thing")
        config.add_subscriber(rec, None, for_actions="create")
        config.commit()

        class Other:
            pass

        config.registry.notify(Other())
        assert rec.events == []

    def test_unknown_action_in_predicate_is_a_configuration_error(self):
        config = Configurator()
        config.include("kinto.core.events")
        config.add_subscriber(Recorder(), ResourceChanged, for_actions="explode")
        with pytest.raises(Exception, match="explode"):
            config.commit()


def test_actions_parse_from_strings():
    assert ACTIONS.from_string_list(["create", "read"]) == (ACTIONS.CREATE, ACTIONS.READ)
    assert ACTIONS.UPDATE == "update"
    with pytest.raises(ValueError):
        ACTIONS.from_string_list(["nope"])
