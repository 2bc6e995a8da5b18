"""Core set-up: backends, renderer, capabilities, tweens (security headers,
Backoff, end of service, read-only mode, request summary) and kinto.main."""

import gc
import json
import logging
import sys
import textwrap

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.response import Response

import kinto
import kinto.core
from kinto.core.cache import CacheBase
from kinto.core.permission import PermissionBase
from kinto.core.services import Service
from kinto.core.storage import StorageBase

CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "


def add_service(config, name, path, method, view, **kwargs):
    service = Service(name=name, path=path)
    service.add_view(method, view, **kwargs)
    config.add_cornice_service(service)


# Backends ---------------------------------------------------------------------------


def test_backends_are_loaded_into_the_registry(make_core_app):
    registry = make_core_app().app.registry
    assert isinstance(registry.storage, StorageBase)
    assert isinstance(registry.permission, PermissionBase)
    assert isinstance(registry.cache, CacheBase)
    assert set(registry.heartbeats) >= {"storage", "permission", "cache"}


def test_unknown_backend_module_is_a_configuration_error_naming_the_setting(make_core_app):
    with pytest.raises(ConfigurationError, match="storage_backend"):
        make_core_app(storage_backend="kinto.core.storage.doesnotexist")


def test_backend_module_without_factory_is_a_configuration_error(make_core_app):
    with pytest.raises(ConfigurationError, match="cache_backend.*load_from_config"):
        make_core_app(cache_backend="kinto.core.utils")


def test_empty_backend_setting_is_a_configuration_error(make_core_app):
    with pytest.raises(ConfigurationError, match="permission_backend"):
        make_core_app(permission_backend="")


def test_registry_settings_hold_unprefixed_coerced_values(make_core_app):
    settings = make_core_app(**{"kinto.batch_max_requests": "12"}).app.registry.settings
    assert settings["batch_max_requests"] == 12
    assert "kinto.batch_max_requests" not in settings
    assert settings["project_name"] == "kinto"
    assert settings["project_version"] == "0.0.1"


def test_environment_overrides_apply_to_the_application(make_core_app, monkeypatch):
    monkeypatch.setenv("KINTO_BATCH_MAX_REQUESTS", "4")
    assert make_core_app().get("/v1/").json["settings"]["batch_max_requests"] == 4


def test_conflicting_settings_prevent_start_up(make_core_app):
    with pytest.raises(ConfigurationError, match="in conflict"):
        make_core_app(**{"kinto.readonly": "true", "readonly": "false"})


def test_routes_are_prefixed_with_the_api_major_version(make_core_app):
    app = make_core_app(http_api_version="2.0")
    assert app.get("/v2/").json["http_api_version"] == "2.0"
    assert app.get("/v1/", status=404).json["errno"] == 116


def test_custom_initialization_sequence_is_honoured(make_core_app):
    with pytest.raises(ConfigurationError, match="storage_backend"):
        make_core_app(
            initialization_sequence="kinto.core.initialization.setup_backends",
            storage_backend="nope.nope",
        )


# Renderer --------------------------------------------------------------------------


def test_json_renderer_does_not_escape_slashes(make_core_app):
    def configure(config):
        add_service(config, "slash", "/slash", "GET", lambda request: {"uri": "/buckets/a"})

    response = make_core_app(configure=configure).get("/v1/slash")
    assert response.body == b'{"uri":"/buckets/a"}'
    assert response.headers["Content-Type"] == "application/json"


def test_json_renderer_sends_no_body_on_204(make_core_app):
    def empty(request):
        request.response.status_code = 204
        return {"ignored": True}

    app = make_core_app(configure=lambda config: add_service(config, "e", "/e", "GET", empty))
    response = app.get("/v1/e", status=204)
    assert response.body == b""


def test_plain_cornice_services_render_validation_errors_as_envelope(make_core_app):
    import cornice

    def configure(config):
        service = cornice.Service(name="plain", path="/plain")
        service.add_view("GET", lambda request: {"ok": 1}, accept="application/json")
        config.add_cornice_service(service)

    app = make_core_app(configure=configure)
    assert app.get("/v1/plain").body == b'{"ok":1}'
    body = app.get("/v1/plain", headers={"Accept": "text/html"}, status=406).json
    assert body["errno"] == 107
    assert body["error"] == "Invalid parameters"


# Capabilities -----------------------------------------------------------------------


def test_capabilities_added_by_plugins_appear_in_hello(make_core_app):
    def configure(config):
        config.add_api_capability("thing", description="A thing", url="https://t", size=3)

    capabilities = make_core_app(configure=configure).get("/v1/").json["capabilities"]
    assert capabilities["thing"] == {"description": "A thing", "url": "https://t", "size": 3}


def test_registering_a_capability_twice_is_a_configuration_error(make_core_app):
    def configure(config):
        config.add_api_capability("thing", description="A", url="https://a")
        config.add_api_capability("thing", description="B", url="https://b")

    with pytest.raises(ConfigurationError, match="thing"):
        make_core_app(configure=configure)


def test_public_settings_added_by_plugins_appear_in_hello(make_core_app):
    def configure(config):
        config.registry.public_settings.add("paginate_by")

    settings = make_core_app(configure=configure, paginate_by="5").get("/v1/").json["settings"]
    assert settings["paginate_by"] == 5


# Response headers ---------------------------------------------------------------------


def test_security_headers_are_on_every_response(app_and_paths):
    app, paths = app_and_paths
    for path, status in paths:
        response = app.get(path, status=status)
        assert response.headers["Content-Security-Policy"] == CSP
        assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture
def app_and_paths(make_core_app):
    return make_core_app(), [("/v1/", 200), ("/v1/nowhere", 404), ("/nowhere", 307)]


def test_view_chosen_content_security_policy_is_kept(make_core_app):
    def own_csp(request):
        return Response(b"<html></html>", headers={"Content-Security-Policy": "default-src *"})

    app = make_core_app(configure=lambda c: add_service(c, "csp", "/csp", "GET", own_csp))
    assert app.get("/v1/csp").headers["Content-Security-Policy"] == "default-src *"


def test_no_backoff_header_by_default(make_core_app):
    assert "Backoff" not in make_core_app().get("/v1/").headers


def test_backoff_header_on_success_and_errors(make_core_app):
    app = make_core_app(backoff="10")
    assert app.get("/v1/").headers["Backoff"] == "10"
    assert app.get("/v1/nowhere", status=404).headers["Backoff"] == "10"


@pytest.mark.parametrize(("percentage", "expected"), [("0", False), ("100", True)])
def test_backoff_percentage_controls_how_often_backoff_is_sent(
    make_core_app, percentage, expected
):
    app = make_core_app(backoff="10", backoff_percentage=percentage)
    assert all(("Backoff" in app.get("/v1/").headers) is expected for _ in range(20))


def test_future_end_of_service_sends_soft_eol_alert(make_core_app):
    app = make_core_app(eos="2999-01-01", eos_message="Bye soon", eos_url="https://eos")
    response = app.get("/v1/")
    assert json.loads(response.headers["Alert"]) == {
        "code": "soft-eol",
        "message": "Bye soon",
        "url": "https://eos",
    }


def test_soft_eol_alert_defaults_to_project_docs(make_core_app):
    alert = json.loads(make_core_app(eos="2999-01-01").get("/v1/").headers["Alert"])
    assert alert == {"code": "soft-eol", "message": None, "url": "https://kinto.readthedocs.io/"}


def test_past_end_of_service_is_410_errno_202_everywhere(make_core_app):
    app = make_core_app(eos="2000-01-01", eos_message="Gone")
    for path in ("/v1/", "/v1/__heartbeat__", "/v1/unknown"):
        response = app.get(path, status=410)
        body = response.json
        assert body["errno"] == 202
        assert body["error"] == "Gone"
        assert body["message"] == (
            "The service you are trying to connect no longer exists at this location."
        )
        assert json.loads(response.headers["Alert"])["code"] == "hard-eol"


def test_invalid_eos_date_is_a_configuration_error(make_core_app):
    with pytest.raises(ConfigurationError, match="eos"):
        make_core_app(eos="not a date")


def test_readonly_mode_rejects_writes_with_405(make_core_app):
    app = make_core_app(readonly="true")
    for method in ("post", "put", "patch", "delete"):
        response = getattr(app, method)("/v1/whatever", status=405)
        assert response.json["errno"] == 115
        assert response.json["message"] == "Method not allowed on this endpoint."
        assert set(response.headers["Allow"].replace(" ", "").split(",")) == {
            "GET",
            "HEAD",
            "OPTIONS",
        }
    app.get("/v1/", status=200)
    app.head("/v1/", status=200)


def test_retry_after_is_not_sent_on_success(make_core_app):
    assert "Retry-After" not in make_core_app().get("/v1/").headers


def test_cors_preflight_on_a_service(make_core_app):
    response = make_core_app().options(
        "/v1/",
        headers={"Origin": "https://a.example.com", "Access-Control-Request-Method": "GET"},
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Max-Age"] == "3600"


def test_cors_preflight_max_age_follows_the_setting(make_core_app):
    headers = {"Origin": "https://a.example.com", "Access-Control-Request-Method": "GET"}
    response = make_core_app(cors_max_age_seconds="42").options("/v1/", headers=headers)
    assert response.headers["Access-Control-Max-Age"] == "42"
    response = make_core_app(cors_max_age_seconds="").options("/v1/", headers=headers)
    assert "Access-Control-Max-Age" not in response.headers


def test_cors_origins_are_per_application(make_core_app):
    strict = make_core_app(cors_origins="https://good.com")
    lax = make_core_app()
    evil = {"Origin": "https://evil.com"}
    rejected = strict.get("/v1/", headers=evil, status=400)
    assert rejected.json["errno"] == 107
    assert "Access-Control-Allow-Origin" not in rejected.headers
    assert lax.get("/v1/", headers=evil).headers["Access-Control-Allow-Origin"] == "*"
    good = strict.get("/v1/", headers={"Origin": "https://good.com"})
    assert good.headers["Access-Control-Allow-Origin"] == "https://good.com"


def test_successful_responses_expose_default_headers(make_core_app):
    response = make_core_app().get("/v1/", headers={"Origin": "https://a.example.com"})
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed >= {"Backoff", "Retry-After", "Alert", "Content-Length", "Content-Type"}


# Request summary ------------------------------------------------------------------------


def test_one_summary_line_is_logged_per_request(make_core_app, caplog, auth_headers):
    app = make_core_app()
    with caplog.at_level(logging.INFO, logger="request.summary"):
        app.get(
            "/v1/?password=hunter2&_limit=2",
            headers={**auth_headers("alice", "s3cr3t"), "X-Request-Id": "abc", "User-Agent": "t"},
        )
    records = [r for r in caplog.records if r.name == "request.summary"]
    assert len(records) == 1
    summary = records[0].summary
    assert summary["path"] == "/v1/"
    assert summary["method"] == "GET"
    assert summary["code"] == 200
    assert summary["rid"] == "abc"
    assert summary["agent"] == "t"
    assert summary["uid"].startswith("basicauth:")
    assert summary["authn_type"] == "basicauth"
    assert summary["querystring"] == {"password": "***", "_limit": "2"}
    assert summary["errno"] is None
    assert isinstance(summary["t"], int)
    logged = caplog.text
    assert "s3cr3t" not in logged and "hunter2" not in logged and "Basic " not in logged


def test_summary_of_an_error_has_its_errno(make_core_app, caplog):
    with caplog.at_level(logging.INFO, logger="request.summary"):
        make_core_app().get("/v1/nowhere", status=404)
    (record,) = [r for r in caplog.records if r.name == "request.summary"]
    assert record.summary["errno"] == 111
    assert record.summary["code"] == 404
    assert record.summary["rid"]


# kinto.main -------------------------------------------------------------------------------


def test_main_builds_an_app_from_string_settings():
    settings = {
        "kinto.storage_backend": "kinto.core.storage.memory",
        "kinto.permission_backend": "kinto.core.permission.memory",
        "kinto.cache_backend": "kinto.core.cache.memory",
        "multiauth.policies": "basicauth",
        "kinto.userid_hmac_secret": "secret",
    }
    app = webtest.TestApp(kinto.main({}, **settings))
    body = app.get("/v1/").json
    assert body["project_name"] == "kinto"
    assert body["project_version"] == kinto.__version__


def test_main_includes_the_plugins_listed_in_includes(make_app, tmp_path, monkeypatch):
    (tmp_path / "toy_plugin_for_main.py").write_text(
        textwrap.dedent(
            """
            def includeme(config):
                config.add_api_capability("toy", description="Toy", url="https://toy")
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        app = make_app(includes="toy_plugin_for_main")
        assert "toy" in app.get("/v1/").json["capabilities"]
    finally:
        sys.modules.pop("toy_plugin_for_main", None)


def test_main_accepts_a_ready_configurator():
    config = Configurator(settings={"multiauth.policies": "basicauth", "userid_hmac_secret": "s"})
    app = webtest.TestApp(kinto.main({}, config=config, project_docs="https://docs"))
    assert app.get("/v1/").json["project_docs"] == "https://docs"


def test_kinto_defaults_are_applied():
    settings = kinto.DEFAULT_SETTINGS
    assert settings["record_id_generator"] == "kinto.views.RelaxedUUID"
    assert settings["bucket_id_generator"] == "kinto.views.NameGenerator"
    assert settings["bucket_create_principals"] == "system.Authenticated"
    assert isinstance(kinto.__version__, str)


def test_core_initialize_fills_project_name_and_version():
    config = Configurator(settings={"userid_hmac_secret": "s"})
    kinto.core.initialize(config, version="9.9", project_name="myproject")
    settings = config.registry.settings
    assert settings["project_name"] == "myproject"
    assert settings["project_version"] == "9.9"


# Logging classes -----------------------------------------------------------------------


def test_json_log_formatter_writes_mozlog_documents():
    from kinto.core import JsonLogFormatter

    record = logging.makeLogRecord(
        {
            "name": "request.summary",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "hello %s",
            "args": ("world",),
            "summary": {"code": 200, "path": "/v1/"},
            "obj": object(),
        }
    )
    document = json.loads(JsonLogFormatter().format(record))
    assert document["Type"] == "request.summary"
    assert document["EnvVersion"] == "2.0"
    assert document["Severity"] == 6
    assert isinstance(document["Timestamp"], int)
    assert document["Fields"]["msg"] == "hello world"
    assert document["Fields"]["code"] == 200
    assert isinstance(document["Fields"]["obj"], str)


def test_stream_handler_adds_the_request_id(make_core_app):
    import io

    from kinto.core import StreamHandlerWithRequestID

    stream = io.StringIO()
    handler = StreamHandlerWithRequestID(stream)
    handler.setFormatter(logging.Formatter("%(rid)s %(message)s"))
    logger = logging.getLogger("request.summary")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        make_core_app().get("/v1/", headers={"X-Request-Id": "rid-42"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert stream.getvalue().startswith("rid-42 ")


def failing_tween_factory(handler, registry):
    """A tween between the response tween and the exception views that
    fails, like a transaction commit could."""
    from kinto.core import storage

    def failing_tween(request):
        handler(request)
        raise storage.BackendError(message="commit failed")

    return failing_tween


def test_errors_raised_outside_the_exception_views_still_get_the_envelope(make_core_app):
    def configure(config):
        config.add_tween(
            "tests.core.test_initialization.failing_tween_factory",
            under="kinto.core.initialization.response_tween_factory",
            over="pyramid_tm.tm_tween_factory",
        )

    response = make_core_app(configure=configure).get("/v1/", status=503)
    assert response.json["errno"] == 201
    assert response.headers["Retry-After"] == "3"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_objects_alive_after_the_first_application_are_frozen_once():
    kinto.main({}, userid_hmac_secret="secret")
    frozen = gc.get_freeze_count()
    assert frozen > 0
    kinto.main({}, userid_hmac_secret="secret")
    assert gc.get_freeze_count() == frozen
