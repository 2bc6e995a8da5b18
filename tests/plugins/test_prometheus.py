"""``kinto.plugins.prometheus``: ``/__metrics__`` (plugins.md §8)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pyramid.exceptions import ConfigurationError

from kinto.plugins.prometheus import clean_prefix, parse_buckets

PLUGIN = "kinto.plugins.prometheus"


@pytest.fixture
def app(make_app):
    return make_app(includes=PLUGIN)


def families(app):
    """``{name: family}`` of ``/__metrics__``; fails if a name repeats."""
    response = app.get("/v1/__metrics__")
    parsed = list(text_string_to_metric_families(response.text))
    names = [family.name for family in parsed]
    assert len(names) == len(set(names)), names
    return {family.name: family for family in parsed}


def samples(family, suffix="", **labels):
    return [
        sample
        for sample in family.samples
        if sample.name == family.name + suffix
        and all(sample.labels.get(key) == value for key, value in labels.items())
    ]


def test_metrics_endpoint_serves_prometheus_text_format(app):
    response = app.get("/v1/__metrics__")
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert list(text_string_to_metric_families(response.text))


def test_every_metric_name_appears_once_after_varied_traffic(make_app, auth_headers):
    app = make_app(
        includes=f"kinto.plugins.history {PLUGIN}",
        event_listeners="audit",
        **{"event_listeners.audit.use": "tests.core.test_metrics"},
    )
    headers = auth_headers("alice")
    app.get("/v1/")
    app.put_json("/v1/buckets/b", {}, headers=headers)
    app.put_json("/v1/buckets/b/collections/c/records/r", {}, headers=headers, status=404)
    app.get("/v1/buckets/b", headers=auth_headers("bob"), status=403)
    app.get("/v1/unknown", status=404)
    cache = app.app.registry.cache
    cache.get("missing")
    cache.set("present", True, 10)
    cache.get("present")

    found = families(app)
    expected = {
        "kinto_request_summary": "counter",
        "kinto_request_duration_seconds": "histogram",
        "kinto_request_size": "summary",
        "kinto_users": "counter",
        "kinto_authentication": "counter",
        "kinto_authentication_basicauth_seconds": "histogram",
        "kinto_backend_storage_seconds": "histogram",
        "kinto_backend_permission_seconds": "histogram",
        "kinto_backend_cache_seconds": "histogram",
        "kinto_cache_hits": "counter",
        "kinto_cache_misses": "counter",
        "kinto_listeners_audit_seconds": "histogram",
        "kinto_plugins_history_seconds": "histogram",
    }
    for name, kind in expected.items():
        assert found[name].type == kind, name


def test_requests_are_counted_by_method_endpoint_fields_and_status(app, auth_headers):
    headers = auth_headers("alice")
    app.get("/v1/")
    app.get("/v1/")
    app.put_json("/v1/buckets/b", {}, headers=headers)
    app.get("/v1/buckets/b/collections/c", headers=headers, status=404)

    summary = families(app)["kinto_request_summary"]
    [hello] = samples(summary, "_total", endpoint="hello")
    assert hello.value == 2
    assert hello.labels == {
        "method": "get",
        "endpoint": "hello",
        "status": "200",
        "bucket_id": "",
        "collection_id": "",
        "group_id": "",
        "record_id": "",
    }
    [bucket] = samples(summary, "_total", endpoint="bucket-object")
    assert (bucket.labels["method"], bucket.labels["bucket_id"], bucket.labels["status"]) == (
        "put",
        "b",
        "201",
    )
    [missing] = samples(summary, "_total", endpoint="collection-object")
    assert missing.labels["status"] == "404"
    assert missing.labels["bucket_id"] == ""


def test_request_durations_are_histograms_with_the_configured_buckets(make_app):
    app = make_app(includes=PLUGIN, prometheus_histogram_buckets="0.5 0.1 Inf")
    app.get("/v1/")
    duration = families(app)["kinto_request_duration_seconds"]
    bounds = [s.labels["le"] for s in samples(duration, "_bucket", endpoint="hello")]
    assert bounds == ["0.1", "0.5", "+Inf"]
    [count] = samples(duration, "_count", endpoint="hello")
    assert count.value == 1


def test_response_sizes_are_summed(app):
    body = app.get("/v1/").body
    size = families(app)["kinto_request_size"]
    [total] = samples(size, "_sum", endpoint="hello")
    assert total.value == len(body)


def test_authenticated_users_are_counted(app, auth_headers):
    userid = app.get("/v1/", headers=auth_headers("alice")).json["user"]["id"]
    found = families(app)
    [auth] = samples(found["kinto_authentication"], "_total")
    assert auth.labels == {"type": "basicauth"}
    [user] = samples(found["kinto_users"], "_total")
    assert user.labels == {"auth": "basicauth", "userid": userid.split(":", 1)[1]}


def test_prefix_defaults_to_the_cleaned_project_name(make_app):
    app = make_app(includes=PLUGIN, project_name="My-Kinto.Server")
    app.get("/v1/")
    assert "my_kinto_server_request_summary" in families(app)
    capability = app.get("/v1/").json["capabilities"]["prometheus"]
    assert capability["prefix"] == "my_kinto_server_"


def test_prefix_setting_replaces_the_project_name(make_app):
    app = make_app(includes=PLUGIN, prometheus_prefix="edge")
    app.get("/v1/")
    assert "edge_request_summary" in families(app)


def test_disabled_metrics_are_not_reported(make_app):
    app = make_app(
        includes=PLUGIN, prometheus_disabled_metrics="request_size backend_storage_seconds"
    )
    app.get("/v1/")
    found = families(app)
    assert "kinto_request_size" not in found
    assert "kinto_backend_storage_seconds" not in found
    assert "kinto_request_summary" in found
    capability = app.get("/v1/").json["capabilities"]["prometheus"]
    assert capability["disabled_metrics"] == ["backend_storage_seconds", "request_size"]


def test_capability_is_announced(app):
    capability = app.get("/v1/").json["capabilities"]["prometheus"]
    assert capability["prefix"] == "kinto_"
    assert capability["disabled_metrics"] == []
    assert set(capability) >= {"description", "url"}


def test_created_samples_can_be_disabled(make_app):
    app = make_app(includes=PLUGIN, prometheus_created_metrics_enabled="false")
    try:
        app.get("/v1/")
        text = app.get("/v1/__metrics__").text
        assert "_created" not in text
    finally:
        make_app(includes=PLUGIN)  # back to the default for later tests


def test_created_samples_are_exported_by_default(app):
    app.get("/v1/")
    assert "kinto_request_summary_created" in app.get("/v1/__metrics__").text


def test_applications_in_one_process_keep_separate_metrics(make_app):
    first = make_app(includes=PLUGIN)
    second = make_app(includes=PLUGIN)
    first.get("/v1/")
    first.get("/v1/")
    second.get("/v1/")
    [in_first] = samples(families(first)["kinto_request_summary"], "_total", endpoint="hello")
    [in_second] = samples(families(second)["kinto_request_summary"], "_total", endpoint="hello")
    assert (in_first.value, in_second.value) == (2, 1)


def test_metrics_endpoint_needs_no_authentication(app):
    app.get("/v1/__metrics__", status=200)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("kinto", "kinto_"), ("Kinto Dist", "kinto_dist_"), ("_a-b_", "a_b_"), ("", "")],
)
def test_clean_prefix(value, expected):
    assert clean_prefix(value) == expected


def test_histogram_buckets_accept_lists_and_single_numbers():
    assert parse_buckets([1, "0.5"]) == (0.5, 1.0)
    assert parse_buckets(2.5) == (2.5,)
    assert parse_buckets("0.1 inf") == (0.1, float("inf"))


def test_invalid_histogram_buckets_are_a_configuration_error():
    with pytest.raises(ConfigurationError):
        parse_buckets("0.1 fast")
    with pytest.raises(ConfigurationError):
        parse_buckets("")


MULTIPROCESS_SCRIPT = textwrap.dedent(
    """
    import shutil, sys
    from tests.conftest import build_app

    app = build_app(includes="kinto.plugins.prometheus")
    app.get("/v1/")
    app.get("/v1/")
    print(app.get("/v1/__metrics__").text)
    print("=====")
    shutil.rmtree(sys.argv[1])
    print(app.get("/v1/__metrics__").status_code)
    """
)


def test_multiprocess_directory_is_aggregated_and_its_loss_answers_204(tmp_path):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRIPT, str(directory)],
        env={"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text, status = result.stdout.split("=====")
    parsed = {family.name: family for family in text_string_to_metric_families(text)}
    [hello] = samples(parsed["kinto_request_summary"], "_total", endpoint="hello")
    assert hello.value == 2
    assert status.strip() == "204"
