"""/__heartbeat__ and /__lbheartbeat__ (resources.md §3)."""

import threading

import pytest


def test_heartbeat_reports_every_backend(make_core_app):
    response = make_core_app().get("/v1/__heartbeat__")
    assert response.status_code == 200
    assert response.json == {"storage": True, "permission": True, "cache": True}


@pytest.fixture
def app_with_checks(make_core_app):
    def build(**checks):
        def configure(config):
            config.registry.heartbeats.update(checks)

        return make_core_app(configure=configure, heartbeat_timeout_seconds="0.2")

    return build


def test_heartbeat_is_503_with_the_map_when_a_check_fails(app_with_checks):
    app = app_with_checks(plugin=lambda request: False)
    response = app.get("/v1/__heartbeat__", status=503)
    assert response.json == {"storage": True, "permission": True, "cache": True, "plugin": False}


def test_heartbeat_counts_a_raising_check_as_failed(app_with_checks):
    def broken(request):
        raise RuntimeError("down")

    response = app_with_checks(plugin=broken).get("/v1/__heartbeat__", status=503)
    assert response.json["plugin"] is False


def test_heartbeat_accepts_checks_answering_none(app_with_checks):
    response = app_with_checks(plugin=lambda request: None).get("/v1/__heartbeat__")
    assert response.status_code == 200
    assert response.json["plugin"] is None


def test_heartbeat_counts_a_check_over_the_timeout_as_failed(app_with_checks):
    release = threading.Event()

    def hanging(request):
        release.wait(5)
        return True

    try:
        response = app_with_checks(slow=hanging).get("/v1/__heartbeat__", status=503)
    finally:
        release.set()
    assert response.json["slow"] is False
    assert response.json["storage"] is True


def test_heartbeat_reports_a_failing_backend(make_core_app):
    app = make_core_app()
    storage = app.app.registry.storage

    def failing_heartbeat():
        return False

    storage.heartbeat = failing_heartbeat
    assert app.get("/v1/__heartbeat__", status=503).json["storage"] is False


def test_lbheartbeat_always_answers_an_empty_object(make_core_app):
    response = make_core_app().get("/v1/__lbheartbeat__")
    assert response.status_code == 200
    assert response.json == {}


def test_heartbeats_need_no_authentication(make_core_app):
    app = make_core_app()
    app.get("/v1/__heartbeat__", headers={"Authorization": "Basic bad"}, status=200)
    app.get("/v1/__lbheartbeat__", headers={"Authorization": "Basic bad"}, status=200)
