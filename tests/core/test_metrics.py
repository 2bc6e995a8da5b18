"""Instrumentation of the application by :mod:`kinto.core.metrics`, observed
through a recording metrics service included as a plugin."""

import pytest

from kinto.core import metrics
from kinto.core.listeners import ListenerBase

MATCHDICT_FIELDS = ("bucket_id", "collection_id", "group_id", "record_id")


class RecordingMetrics(metrics.MetricsService):
    """Keeps every measure as ``(kind, name, value, labels dict)``."""

    def __init__(self):
        self.measures = []

    def count(self, name, value=1, labels=()):
        self.measures.append(("count", name, value, dict(labels)))

    def timing(self, name, seconds, labels=()):
        self.measures.append(("timing", name, seconds, dict(labels)))

    def observe(self, name, value, labels=()):
        self.measures.append(("observe", name, value, dict(labels)))

    def find(self, kind, name, **labels):
        return [
            measure
            for measure in self.measures
            if measure[0] == kind
            and measure[1] == name
            and all(measure[3].get(key) == value for key, value in labels.items())
        ]


def includeme(config):
    """This module is a metrics plugin for the tests below."""
    metrics.add_metrics_service(config, RecordingMetrics())


def second_plugin(config):
    """Another metrics plugin, to include next to this module."""
    metrics.add_metrics_service(config, RecordingMetrics())


class Sleepless(ListenerBase):
    def __init__(self):
        self.calls = 0

    def __call__(self, event):
        self.calls += 1


def load_from_config(config, prefix):
    """This module is also an event listener module."""
    return Sleepless()


@pytest.fixture
def app(make_app):
    return make_app(includes="tests.core.test_metrics")


@pytest.fixture
def recorder(app):
    return app.app.registry.metrics


def request_labels(**values):
    labels = dict.fromkeys(MATCHDICT_FIELDS, "")
    labels.update(values)
    return labels


def test_instrumented_application_has_the_metrics_tween(app):
    from pyramid.interfaces import ITweens

    tweens = app.app.registry.queryUtility(ITweens)
    assert "kinto.core.metrics.metrics_tween_factory" in [name for name, _ in tweens.implicit()]


def test_application_without_metrics_plugin_is_not_instrumented(make_app):
    app = make_app()
    registry = app.app.registry
    assert metrics.get_metrics(registry) is metrics.NOOP
    assert "create" not in vars(registry.storage)
    assert "get" not in vars(registry.cache)
    assert all("authenticate" not in vars(p) for p in registry.authentication_policies)
    from pyramid.interfaces import ITweens

    tweens = registry.queryUtility(ITweens)
    assert "kinto.core.metrics.metrics_tween_factory" not in [
        name for name, _ in tweens.implicit()
    ]


def test_each_request_is_counted_with_method_endpoint_and_status(app, recorder):
    app.get("/v1/")
    [(_, _, value, labels)] = recorder.find("count", "request_summary")
    assert value == 1
    assert labels == {**request_labels(method="get", endpoint="hello"), "status": "200"}


def test_each_request_duration_and_response_size_are_recorded(app, recorder):
    response = app.get("/v1/")
    [(_, _, seconds, labels)] = recorder.find("timing", "request_duration_seconds")
    assert seconds > 0
    assert labels == request_labels(method="get", endpoint="hello")
    [(_, _, size, _)] = recorder.find("observe", "request_size")
    assert size == len(response.body)


def test_matchdict_fields_label_the_objects_of_the_request(app, recorder, auth_headers):
    headers = auth_headers("alice")
    app.put_json("/v1/buckets/b", {}, headers=headers)
    app.put_json("/v1/buckets/b/collections/c", {}, headers=headers)
    app.put_json("/v1/buckets/b/collections/c/records/r", {}, headers=headers)
    [bucket] = recorder.find("count", "request_summary", endpoint="bucket-object")
    assert bucket[3] == {
        **request_labels(method="put", endpoint="bucket-object", bucket_id="b"),
        "status": "201",
    }
    [record] = recorder.find("count", "request_summary", endpoint="record-object")
    assert record[3] == {
        **request_labels(
            method="put",
            endpoint="record-object",
            bucket_id="b",
            collection_id="c",
            record_id="r",
        ),
        "status": "201",
    }


def test_matchdict_fields_are_empty_on_errors(app, recorder, auth_headers):
    app.get("/v1/buckets/missing/collections/c", headers=auth_headers("alice"), status=403)
    [(_, _, _, labels)] = recorder.find("count", "request_summary")
    assert labels == {
        **request_labels(method="get", endpoint="collection-object"),
        "status": "403",
    }


def test_unknown_url_is_counted_under_unknown_endpoint(app, recorder):
    app.get("/v1/nowhere", status=404)
    [(_, _, _, labels)] = recorder.find("count", "request_summary")
    assert labels["endpoint"] == "unknown"
    assert labels["status"] == "404"


def test_matchdict_fields_follow_the_setting(make_app):
    app = make_app(includes="tests.core.test_metrics", metrics_matchdict_fields="id")
    recorder = app.app.registry.metrics
    app.get("/v1/buckets/b", status=401)
    app.get("/v1/")
    labels = [m[3] for m in recorder.find("count", "request_summary")]
    assert labels == [
        {"method": "get", "endpoint": "bucket-object", "id": "", "status": "401"},
        {"method": "get", "endpoint": "hello", "id": "", "status": "200"},
    ]


def test_authenticated_requests_count_authentication_type_and_user(app, recorder, auth_headers):
    app.get("/v1/", headers=auth_headers("alice"))
    userid = app.get("/v1/", headers=auth_headers("alice")).json["user"]["id"]
    auth, _, raw = userid.partition(":")
    assert [m[3] for m in recorder.find("count", "authentication")] == [{"type": "basicauth"}] * 2
    assert recorder.find("count", "users")[0][3] == {"auth": auth, "userid": raw}


def test_anonymous_requests_count_no_user(app, recorder):
    app.get("/v1/")
    assert recorder.find("count", "authentication") == []
    assert recorder.find("count", "users") == []


def test_authentication_policies_are_timed(app, recorder, auth_headers):
    app.get("/v1/", headers=auth_headers("alice"))
    [(_, _, seconds, labels)] = recorder.find("timing", "authentication_basicauth_seconds")
    assert seconds >= 0
    assert labels == {"method": "authenticate"}


def test_storage_and_permission_backend_calls_are_timed_by_method(app, recorder, auth_headers):
    app.put_json("/v1/buckets/b", {}, headers=auth_headers("alice"))
    assert recorder.find("timing", "backend_storage_seconds", method="create")
    from kinto.core.permission import PermissionBase

    timed = recorder.find("timing", "backend_permission_seconds")
    assert timed
    assert {labels["method"] for *_, labels in timed} <= set(
        metrics.public_methods(PermissionBase)
    )


def test_cache_lookups_count_hits_and_misses(app, recorder):
    cache = app.app.registry.cache
    assert cache.get("absent") is None
    cache.set("present", 1, 60)
    assert cache.get("present") == 1
    assert len(recorder.find("count", "cache_misses")) == 1
    assert len(recorder.find("count", "cache_hits")) == 1
    assert len(recorder.find("timing", "backend_cache_seconds", method="get")) == 2


def test_backend_errors_are_timed_and_propagated(app, recorder):
    from kinto.core.storage import ObjectNotFoundError

    storage = app.app.registry.storage
    with pytest.raises(ObjectNotFoundError):
        storage.get("bucket", "", "missing")
    assert recorder.find("timing", "backend_storage_seconds", method="get")


def test_configured_listeners_are_timed_by_name(make_app, auth_headers):
    app = make_app(
        includes="tests.core.test_metrics",
        event_listeners="sleepless",
        **{"event_listeners.sleepless.use": "tests.core.test_metrics"},
    )
    recorder = app.app.registry.metrics
    app.put_json("/v1/buckets/b", {}, headers=auth_headers("alice"))
    [subscriber] = app.app.registry.configured_listeners
    assert subscriber.listener.__wrapped__.calls == 1
    assert len(recorder.find("timing", "listeners_sleepless_seconds")) == 1


def test_history_recorder_is_timed(make_app, auth_headers):
    app = make_app(includes="kinto.plugins.history tests.core.test_metrics")
    recorder = app.app.registry.metrics
    app.put_json("/v1/buckets/b", {}, headers=auth_headers("alice"))
    assert len(recorder.find("timing", "plugins_history_seconds")) == 1
    history = app.get("/v1/buckets/b/history", headers=auth_headers("alice")).json["data"]
    assert [entry["action"] for entry in history] == ["create"]


def test_every_included_service_receives_every_measure(make_app):
    app = make_app(includes="tests.core.test_metrics tests.core.test_metrics.second_plugin")
    registry = app.app.registry
    first, second = registry.metrics_services
    assert isinstance(registry.metrics, metrics.MultiMetrics)
    app.get("/v1/")
    assert first.measures == second.measures
    assert first.find("count", "request_summary")


def test_timed_records_only_when_a_service_exists(make_app):
    calls = []
    plain = make_app().app.registry
    instrumented_app = make_app(includes="tests.core.test_metrics")
    instrumented = instrumented_app.app.registry

    def work(value):
        calls.append(value)
        return value * 2

    assert metrics.timed(plain, "plugins_history_seconds", work)(1) == 2
    assert metrics.timed(instrumented, "plugins_history_seconds", work)(2) == 4
    assert calls == [1, 2]
    assert len(instrumented.metrics.find("timing", "plugins_history_seconds")) == 1


def test_noop_service_accepts_every_measure():
    service = metrics.NOOP
    service.count("x", 1, (("a", "b"),))
    service.timing("x", 0.1)
    service.observe("x", 2)
    service.timer("x")(0.5)
