"""GET /v1/: the hello document (resources.md §3.1)."""

import hashlib


def test_hello_answers_json_with_project_information(app):
    response = app.get("/v1/")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = response.json
    assert body["project_name"] == "kinto"
    assert body["project_docs"] == "https://kinto.readthedocs.io/"
    assert body["http_api_version"] == "1.23"
    assert isinstance(body["project_version"], str)


def test_hello_url_is_absolute_with_trailing_slash(app):
    assert app.get("/v1/").json["url"] == "http://localhost/v1/"


def test_hello_url_honours_http_scheme_and_host(make_app):
    app = make_app(http_scheme="https", http_host="kinto.example.com:8443")
    assert app.get("/v1/").json["url"] == "https://kinto.example.com:8443/v1/"


def test_hello_exposes_public_settings(app):
    assert app.get("/v1/").json["settings"] == {
        "batch_max_requests": 25,
        "explicit_permissions": True,
        "readonly": False,
    }


def test_hello_public_settings_follow_configuration(make_app):
    app = make_app(batch_max_requests="10", readonly="true", explicit_permissions="false")
    assert app.get("/v1/").json["settings"] == {
        "batch_max_requests": 10,
        "explicit_permissions": False,
        "readonly": True,
    }


def test_hello_lists_basicauth_capability(app):
    capabilities = app.get("/v1/").json["capabilities"]
    assert set(capabilities["basicauth"]) >= {"description", "url"}


def test_hello_has_no_user_when_anonymous(app):
    assert "user" not in app.get("/v1/").json


def test_hello_shows_user_id_and_principals_when_authenticated(app, auth_headers):
    user = app.get("/v1/", headers=auth_headers("alice")).json["user"]
    assert user["id"].startswith("basicauth:")
    assert user["principals"][0] == user["id"]
    assert "system.Everyone" in user["principals"]
    assert "system.Authenticated" in user["principals"]


def test_hello_ignores_malformed_credentials(app):
    response = app.get("/v1/", headers={"Authorization": "Basic @@@"})
    assert response.status_code == 200
    assert "user" not in response.json


def test_hello_shows_eos_only_when_set(app, make_app):
    assert "eos" not in app.get("/v1/").json
    app = make_app(eos="2069-02-21")
    assert app.get("/v1/").json["eos"] == "2069-02-21"


def test_hello_config_describes_the_ini_file(make_app, monkeypatch, tmp_path):
    ini = tmp_path / "kinto.ini"
    ini.write_bytes(b"[app:main]\nuse = egg:kinto\n")
    monkeypatch.setenv("KINTO_INI", str(ini))
    config = make_app().get("/v1/").json["config"]
    assert config["path"] == str(ini)
    assert config["hash"] == hashlib.sha256(ini.read_bytes()).hexdigest()
    assert config["modified"].startswith("20")


def test_hello_config_is_null_when_the_ini_file_is_missing(make_app, monkeypatch, tmp_path):
    monkeypatch.setenv("KINTO_INI", str(tmp_path / "missing.ini"))
    assert make_app().get("/v1/").json["config"] is None


def test_hello_is_cacheable_only_in_readonly_mode(app, make_app):
    assert "Cache-Control" not in app.get("/v1/").headers
    readonly = make_app(readonly="true", root_cache_expires_seconds="60")
    assert readonly.get("/v1/").headers["Cache-Control"] == "max-age=60"


def test_hello_answers_head(app):
    response = app.head("/v1/")
    assert response.status_code == 200
