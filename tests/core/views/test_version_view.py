"""/__version__ (resources.md §3)."""

import json


def test_version_serves_the_configured_file(make_core_app, tmp_path):
    path = tmp_path / "version.json"
    content = {"name": "kinto", "version": "1.0", "commit": "abc", "source": "https://x"}
    path.write_text(json.dumps(content))
    response = make_core_app(version_json_path=str(path)).get("/v1/__version__")
    assert response.status_code == 200
    assert response.json == content


def test_version_is_read_once_and_cached(make_core_app, tmp_path):
    path = tmp_path / "version.json"
    path.write_text('{"version": "1"}')
    app = make_core_app(version_json_path=str(path))
    assert app.get("/v1/__version__").json == {"version": "1"}
    path.write_text('{"version": "2"}')
    assert app.get("/v1/__version__").json == {"version": "1"}


def test_missing_version_file_is_500_errno_999(make_core_app, tmp_path, monkeypatch):
    from kinto.core.views import version

    monkeypatch.setattr(version, "PACKAGE_DIR", str(tmp_path / "pkg"))
    app = make_core_app(version_json_path=str(tmp_path / "missing.json"))
    body = app.get("/v1/__version__", status=500).json
    assert body["code"] == 500
    assert body["errno"] == 999
    assert body["info"] == "https://github.com/Kinto/kinto/issues/"


def test_version_falls_back_to_the_file_beside_the_package(make_core_app, tmp_path, monkeypatch):
    from kinto.core.views import version

    package = tmp_path / "checkout" / "kinto"
    package.mkdir(parents=True)
    (tmp_path / "checkout" / "version.json").write_text('{"version": "from checkout"}')
    monkeypatch.setattr(version, "PACKAGE_DIR", str(package))
    app = make_core_app(version_json_path=str(tmp_path / "missing.json"))
    assert app.get("/v1/__version__").json == {"version": "from checkout"}
