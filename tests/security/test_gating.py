"""Administrative endpoints are gated, read-only mode refuses every write
(plugins included), accounts show hashes only to who may read them, and
errors never leak internals."""

from __future__ import annotations

import pytest

from kinto.plugins.accounts import hashing

ACCOUNTS = {
    "multiauth.policies": "account basicauth",
    "multiauth.policy.account.use": "kinto.plugins.accounts.AccountsPolicy",
    "account_create_principals": "system.Everyone",
    "account_write_principals": "account:admin",
}


@pytest.fixture(autouse=True)
def _cheap_bcrypt(monkeypatch):
    monkeypatch.setattr(hashing, "ROUNDS", 4)


@pytest.fixture
def accounts_app(make_app, auth_headers):
    app = make_app(includes="kinto.plugins.accounts", **ACCOUNTS)
    for name in ("admin", "bob", "eve"):
        app.put_json(f"/v1/accounts/{name}", {"data": {"password": f"{name}-pw"}}, status=201)
    return app


def account(auth_headers, name):
    return auth_headers(name, f"{name}-pw")


def test_account_hash_is_only_shown_to_its_owner_and_admins(accounts_app, auth_headers):
    app = accounts_app
    eve = account(auth_headers, "eve")
    app.get("/v1/accounts/bob", headers=eve, status=403)
    app.get("/v1/accounts/bob", status=401)
    listing = app.get("/v1/accounts", headers=eve).json["data"]
    assert [a["id"] for a in listing] == ["eve"]
    own = app.get("/v1/accounts/bob", headers=account(auth_headers, "bob")).json["data"]
    assert own["password"].startswith("$2b$")
    admin = app.get("/v1/accounts/bob", headers=account(auth_headers, "admin")).json["data"]
    assert admin["password"] == own["password"]


def test_unknown_and_existing_accounts_look_alike_to_others(accounts_app, auth_headers):
    eve = account(auth_headers, "eve")
    existing = accounts_app.get("/v1/accounts/bob", headers=eve, status=403).json
    unknown = accounts_app.get("/v1/accounts/nobody", headers=eve, status=403).json
    assert existing == unknown


def test_users_cannot_change_or_delete_other_accounts(accounts_app, auth_headers):
    app = accounts_app
    eve = account(auth_headers, "eve")
    app.put_json("/v1/accounts/bob", {"data": {"password": "x"}}, headers=eve, status=403)
    app.patch_json("/v1/accounts/bob", {"data": {"password": "x"}}, headers=eve, status=403)
    app.delete("/v1/accounts/bob", headers=eve, status=403)
    app.post_json(
        "/v1/accounts", {"data": {"id": "bob", "password": "x"}}, headers=eve, status=400
    )
    app.get("/v1/accounts/bob", headers=account(auth_headers, "bob"), status=200)


def test_plural_delete_of_a_user_only_deletes_their_account(accounts_app, auth_headers):
    app = accounts_app
    app.delete("/v1/accounts", headers=account(auth_headers, "eve"))
    app.get("/v1/accounts/bob", headers=account(auth_headers, "bob"), status=200)


def test_account_permissions_cannot_grant_the_account_to_someone_else(accounts_app, auth_headers):
    app = accounts_app
    eve = account(auth_headers, "eve")
    app.patch_json(
        "/v1/accounts/eve",
        {"permissions": {"write": ["account:bob"]}},
        headers=eve,
        status="*",
    )
    # Whatever Eve shares, Bob does not become an administrator.
    listing = app.get("/v1/accounts", headers=account(auth_headers, "bob")).json["data"]
    assert {a["id"] for a in listing} <= {"bob", "eve"}


def test_user_data_deletion_is_refused_by_default(make_app, auth_headers):
    app = make_app()
    app.delete("/v1/__user_data__/basicauth:abc", status=401)
    app.delete("/v1/__user_data__/basicauth:abc", headers=auth_headers("eve"), status=403)


def test_user_data_deletion_of_everyone_is_refused_to_others(make_app, auth_headers):
    app = make_app(**{"user-data_delete_principals": "nobody"})
    app.put_json("/v1/buckets/b", {}, headers=auth_headers("alice"), status=201)
    app.delete("/v1/__user_data__/system.Everyone", headers=auth_headers("eve"), status=403)
    app.get("/v1/buckets/b", headers=auth_headers("alice"), status=200)


def test_flush_endpoint_does_not_exist_without_the_plugin(make_app):
    make_app().post("/v1/__flush__", status=404)


READONLY_WRITES = [
    ("put_json", "/v1/buckets/b", {}),
    ("post_json", "/v1/buckets", {"data": {"id": "b"}}),
    ("patch_json", "/v1/buckets/b", {"data": {}}),
    ("delete", "/v1/buckets/b", None),
    ("delete", "/v1/buckets", None),
    ("put_json", "/v1/accounts/zed", {"data": {"password": "x"}}),
    ("post_json", "/v1/accounts", {"data": {"id": "zed", "password": "x"}}),
    ("delete", "/v1/accounts/bob", None),
    ("post", "/v1/__flush__", None),
    ("delete", "/v1/__user_data__/system.Everyone", None),
    ("delete", "/v1/buckets/b/history", None),
    ("put_json", "/v1/buckets/default", {}),
    ("get", "/v1/buckets/default/collections/c/records", None),
]


@pytest.mark.parametrize(("method", "path", "body"), READONLY_WRITES)
def test_readonly_mode_refuses_every_write(make_app, auth_headers, method, path, body):
    app = make_app(
        readonly="true",
        includes="kinto.plugins.accounts kinto.plugins.flush kinto.plugins.history "
        "kinto.plugins.default_bucket",
        **{**ACCOUNTS, "user-data_delete_principals": "system.Everyone"},
    )
    kwargs = {"headers": auth_headers("bob"), "status": "*"}
    if body is not None:
        kwargs["params"] = body
    response = getattr(app, method)(path, **kwargs)
    assert response.status_code in (401, 403, 405), response.text


def test_readonly_batch_writes_are_refused(make_app, auth_headers):
    app = make_app(readonly="true")
    response = app.post_json(
        "/v1/batch",
        {"requests": [{"method": "PUT", "path": "/buckets/b"}]},
        headers=auth_headers("bob"),
        status="*",
    )
    statuses = [r["status"] for r in response.json.get("responses", [])]
    assert response.status_code == 405 or statuses == [405]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/buckets/%ff",
        "/v1/buckets/b/collections/%00",
        "/v1/buckets/" + "x" * 5000,
        "/v1/buckets?_sort=%ff",
        "/v1/buckets?_limit=-1",
        "/v1/buckets?_limit=abc",
        "/v1/buckets?_since=1e400",
        "/v1/buckets?_fields=",
        "/v1/buckets?in_id=",
        "/v1/buckets?like_id=%25%25%25",
        "/v1/buckets?has_id=maybe",
        "/v1/buckets?_token=" + "A" * 5000,
        "/v1/buckets?_before=-1",
        "/v1/buckets?_expected=x",
    ],
)
def test_client_mistakes_in_urls_never_yield_a_500(make_app, auth_headers, path):
    response = make_app().get(path, headers=auth_headers("bob"), status="*")
    assert response.status_code < 500, response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"If-Match": '"abc"'},
        {"If-None-Match": "garbage"},
        {"If-Match": '"' + "9" * 40 + '"'},
        {"Accept": "text/html"},
        {"Content-Type": "application/json-patch+json"},
        {"Content-Type": "application/merge-patch+json"},
        {"Response-Behavior": "bogus"},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic " + "QUFB" * 3000},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic Og=="},
    ],
)
def test_client_mistakes_in_headers_never_yield_a_500(make_app, auth_headers, headers):
    app = make_app()
    app.put_json("/v1/buckets/b", {}, headers=auth_headers("bob"))
    merged = {**auth_headers("bob"), **headers}
    for method in ("get", "patch_json", "delete"):
        kwargs = {"headers": merged, "status": "*"}
        if method == "patch_json":
            kwargs["params"] = {"data": {"x": 1}}
        response = getattr(app, method)("/v1/buckets/b", **kwargs)
        assert response.status_code < 500, response.text


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b'{"data": []}',
        b'{"data": {"id": 1}}',
        b'{"permissions": {"write": "x"}}',
        b'{"permissions": {"write": [1]}}',
        b'{"permissions": {"bogus": ["x"]}}',
        b'{"data": {"last_modified": "x"}}',
        b'{"data": {"last_modified": 1e400}}',
        b'{"data": {"x": "\\ud800"}}',
        b"\xff\xfe",
    ],
)
def test_malformed_bodies_never_yield_a_500(make_app, auth_headers, body):
    app = make_app()
    headers = {**auth_headers("bob"), "Content-Type": "application/json"}
    for method in ("PUT", "PATCH", "POST"):
        path = "/v1/buckets" if method == "POST" else "/v1/buckets/b"
        response = app.request(path, method=method, body=body, headers=headers, expect_errors=True)
        assert response.status_code < 500, response.text


def test_deeply_nested_bodies_are_client_errors(make_app, auth_headers):
    app = make_app()
    body = b'{"data": {"a": ' + b'{"a": ' * 300 + b"1" + b"}" * 302
    headers = {**auth_headers("bob"), "Content-Type": "application/json"}
    response = app.request(
        "/v1/buckets/b", method="PUT", body=body, headers=headers, expect_errors=True
    )
    assert response.status_code == 400, response.text


def test_account_written_back_with_its_stored_hash_keeps_its_password(accounts_app, auth_headers):
    bob = account(auth_headers, "bob")
    stored = accounts_app.get("/v1/accounts/bob", headers=bob).json["data"]["password"]
    accounts_app.put_json("/v1/accounts/bob", {"data": {"password": stored}}, headers=bob)
    accounts_app.get("/v1/accounts/bob", headers=bob, status=200)
