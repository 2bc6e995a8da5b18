"""Batch subrequests are authorised as requests of their own, with the
identity of the batch request, whatever the payload says."""

from __future__ import annotations

import pytest

from tests.security.conftest import PRIVATE, PRIVATE_RECORDS, create_private_bucket


@pytest.fixture
def app(make_app, alice):
    app = make_app()
    create_private_bucket(app, alice)
    return app


def batch(app, requests, headers=None, defaults=None, status=200):
    body = {"requests": requests}
    if defaults is not None:
        body["defaults"] = defaults
    return app.post_json("/v1/batch", body, headers=headers or {}, status=status)


def test_subrequest_authorization_header_does_not_change_the_identity(app, alice, mallory):
    response = batch(app, [{"path": f"{PRIVATE_RECORDS}/r", "headers": alice}], headers=mallory)
    assert response.json["responses"][0]["status"] == 403


def test_anonymous_batch_cannot_smuggle_credentials_in_a_subrequest(app, alice):
    response = batch(app, [{"path": f"{PRIVATE_RECORDS}/r", "headers": alice}])
    assert response.json["responses"][0]["status"] == 401


def test_defaults_headers_do_not_change_the_identity(app, alice, mallory):
    response = batch(
        app, [{"path": f"{PRIVATE_RECORDS}/r"}], headers=mallory, defaults={"headers": alice}
    )
    assert response.json["responses"][0]["status"] == 403


def test_each_subrequest_is_authorised_on_its_own(app, mallory):
    response = batch(
        app,
        [
            {"method": "PUT", "path": "/buckets/mine"},
            {"method": "DELETE", "path": f"{PRIVATE_RECORDS}/r"},
            {"method": "PATCH", "path": PRIVATE, "body": {"data": {"x": 1}}},
        ],
        headers=mallory,
    )
    assert [r["status"] for r in response.json["responses"]] == [201, 403, 403]


def test_identity_is_that_of_the_batch_even_after_a_subrequest_with_credentials(
    app, alice, mallory
):
    response = batch(
        app,
        [
            {"path": "/", "headers": alice},
            {"path": f"{PRIVATE_RECORDS}/r"},
        ],
        headers=mallory,
    )
    hello, record = response.json["responses"]
    mallory_id = app.get("/v1/", headers=mallory).json["user"]["id"]
    assert hello["body"]["user"]["id"] == mallory_id
    assert record["status"] == 403


@pytest.mark.parametrize(
    "path",
    [
        "/batch",
        "/v1/batch",
        "/BATCH",
        "/buckets/../batch",
        "/v1/../v1/batch",
        "/%62atch",
        "//batch",
        "/batch/",
        "/batch?x=1",
    ],
)
def test_batch_cannot_call_itself(app, alice, path):
    inner = {"requests": [{"method": "PUT", "path": "/buckets/nested"}]}
    response = batch(app, [{"method": "POST", "path": path, "body": inner}], alice, status="*")
    assert response.status_code < 500
    for sub in response.json.get("responses", []):
        assert sub["status"] >= 400
    app.get("/v1/buckets/nested", headers=alice, status=403)


@pytest.mark.parametrize(
    "path",
    [
        "/buckets/public/../private/collections/c/records/r",
        "/v1/../v1/buckets/private/collections/c/records/r",
        "/buckets/private%2Fcollections%2Fc/records/r",
        "/buckets%2Fprivate/collections/c/records/r",
        "/buckets/private/collections/c/records/r/..",
        "/buckets/./private/collections/c/records/r",
    ],
)
def test_path_tricks_never_reach_a_forbidden_object(app, mallory, path):
    app.put_json("/v1/buckets/public", {}, headers=mallory, status=201)
    response = batch(app, [{"path": path}], headers=mallory)
    sub = response.json["responses"][0]
    assert sub["status"] != 200
    assert "42" not in str(sub["body"])


@pytest.mark.parametrize(
    "path",
    [
        "http://evil.example/v1/buckets/private",
        "//evil.example/v1/buckets/private",
        "https://localhost/v1/buckets/private",
    ],
)
def test_absolute_urls_in_path_are_not_followed_elsewhere(app, mallory, path):
    response = batch(app, [{"path": path}], headers=mallory, status="*")
    assert response.status_code < 500
    if response.status_code == 200:
        sub = response.json["responses"][0]
        assert sub["status"] in (400, 401, 403, 404)


def test_subrequest_host_header_does_not_change_anything_dangerous(app, mallory):
    response = batch(
        app,
        [{"path": f"{PRIVATE_RECORDS}/r", "headers": {"Host": "evil.example"}}],
        headers=mallory,
    )
    assert response.json["responses"][0]["status"] == 403


@pytest.mark.parametrize(
    "payload",
    [
        {"requests": [{"path": "/", "headers": {"X": 1}}]},
        {"requests": [{"path": "/", "headers": {"Authorization": ["a"]}}]},
        {"requests": [{"path": 12}]},
        {"requests": [{"path": "/", "method": "CONNECT"}]},
        {"requests": [{"path": "/", "body": "text"}]},
        {"requests": [{"path": "/\u0000"}]},
        {"requests": [{"path": "/" + "a" * 8_000}]},
        {"requests": [{"path": "/buckets/\udcff"}]},
        {"requests": [{"path": "/", "headers": {"X-Bad\n": "v"}}]},
        {"requests": [{"path": "/", "headers": {"X-Bad": "v\r\nInjected: 1"}}]},
        {"requests": [{"path": "/", "headers": {"Content-Length": "5"}}]},
        {"requests": [{"path": "/", "headers": {"": "v"}}]},
        {"requests": [{"path": "/", "headers": {"\u00e9": "\u00e9"}}]},
        {"requests": [{"path": "/", "headers": {"X": "\u2603"}}]},
        {"requests": [{"path": "/buckets/private?_limit=%zz"}]},
        {"requests": [{"path": "/?\u2603=\u2603"}]},
        {"defaults": {"path": 3}, "requests": [{}]},
        {"requests": [[]]},
        {"requests": {}},
        [],
    ],
)
def test_malformed_payloads_never_yield_a_500(app, mallory, payload):
    response = app.post_json("/v1/batch", payload, headers=mallory, status="*")
    assert response.status_code < 500, response.text
    for sub in response.json.get("responses", []) if isinstance(response.json, dict) else []:
        assert sub["status"] < 500, sub
