"""``/accounts`` and ``/accounts/{id}``: every row of plugins.md §1."""

from __future__ import annotations

import openapi_spec_validator
import pytest

from tests.plugins.accounts.conftest import create_account

NEW = {"data": {"id": "carol", "password": "carol-pw"}}


def user_id(app, headers):
    return app.get("/v1/", headers=headers).json.get("user", {}).get("id")


def acl(app, account_id):
    return app.app.registry.permission.get_object_permissions(f"/accounts/{account_id}")


# POST /accounts


def test_anonymous_sign_up_creates_the_account_owned_by_its_user(app, auth_headers):
    resp = app.post_json("/v1/accounts", NEW, status=201)

    data = resp.json["data"]
    assert data["id"] == "carol"
    assert data["password"].startswith("$2b$")
    assert data["password"] != "carol-pw"
    assert isinstance(data["last_modified"], int)
    assert acl(app, "carol") == {"write": {"account:carol"}}
    assert user_id(app, auth_headers("carol", "carol-pw")) == "account:carol"


def test_post_without_id_is_400_naming_data_id(app):
    resp = app.post_json("/v1/accounts", {"data": {"password": "x"}}, status=400)

    assert resp.json["errno"] == 107
    assert resp.json["details"][0]["name"] == "data.id"


def test_post_without_data_is_400_naming_data_id(app):
    resp = app.post_json("/v1/accounts", {}, status=400)

    assert resp.json["details"][0]["name"] == "data.id"


@pytest.mark.parametrize("password", [None, "", 42])
def test_post_without_a_password_string_is_400(app, password):
    data = {"id": "carol"} if password is None else {"id": "carol", "password": password}
    resp = app.post_json("/v1/accounts", {"data": data}, status=400)

    assert resp.json["details"][0]["name"] == "data.password"
    assert app.app.registry.storage.count_all("account", "*") == 2


@pytest.mark.parametrize("account_id", ["-starts-with-dash", "with space", "slash/ed", "é"])
def test_invalid_account_ids_are_400(app, account_id):
    body = {"data": {"id": account_id, "password": "x"}}

    app.post_json("/v1/accounts", body, status=400)


def test_account_ids_may_hold_email_characters(app, auth_headers):
    body = {"data": {"id": "first.last+tag@example.com", "password": "x"}}

    app.post_json("/v1/accounts", body, status=201)

    headers = auth_headers("first.last+tag@example.com", "x")
    assert user_id(app, headers) == "account:first.last+tag@example.com"


def test_owner_posting_own_existing_id_reads_it_without_changing_the_password(app, bob):
    before = app.get("/v1/accounts/bob", headers=bob).json["data"]
    body = {"data": {"id": "bob", "password": "another"}}

    resp = app.post_json("/v1/accounts", body, headers=bob, status=200)

    assert resp.json["data"] == before
    assert user_id(app, bob) == "account:bob"


def test_anonymous_posting_an_existing_id_is_401(app):
    body = {"data": {"id": "bob", "password": "guess"}}

    app.post_json("/v1/accounts", body, status=401)


@pytest.mark.parametrize("other", ["carol", "admin"])
def test_user_posting_another_id_is_400(app, bob, other):
    body = {"data": {"id": other, "password": "x"}}

    resp = app.post_json("/v1/accounts", body, headers=bob, status=400)

    assert resp.json["details"][0]["name"] == "data.id"
    assert "Username and account ID do not match." in resp.json["message"]


def test_administrator_creates_accounts_owned_by_their_user(app, admin, auth_headers):
    resp = app.post_json("/v1/accounts", NEW, headers=admin, status=201)

    assert resp.json["data"]["id"] == "carol"
    assert acl(app, "carol") == {"write": {"account:carol"}}
    assert user_id(app, auth_headers("carol", "carol-pw")) == "account:carol"


def test_creation_is_refused_outside_account_create_principals(make_accounts_app, auth_headers):
    app = make_accounts_app(account_create_principals="account:admin")
    create = {"data": {"id": "dave", "password": "x"}}

    app.post_json("/v1/accounts", create, status=401)
    app.put_json("/v1/accounts/dave", {"data": {"password": "x"}}, status=401)
    app.post_json("/v1/accounts", create, headers=auth_headers("eve", "basic"), status=403)


# PUT /accounts/{id}


def test_anonymous_put_creates_then_401_on_existing(app, auth_headers):
    resp = app.put_json("/v1/accounts/carol", {"data": {"password": "pw"}}, status=201)
    assert resp.json["data"]["id"] == "carol"

    app.put_json("/v1/accounts/carol", {"data": {"password": "stolen"}}, status=401)
    assert user_id(app, auth_headers("carol", "pw")) == "account:carol"


def test_owner_replaces_the_account_and_its_password(app, bob, auth_headers):
    body = {"data": {"password": "new-pw", "name": "Bob"}}

    resp = app.put_json("/v1/accounts/bob", body, headers=bob, status=200)

    assert resp.json["data"]["name"] == "Bob"
    assert resp.json["permissions"] == {"write": ["account:bob"]}
    assert user_id(app, auth_headers("bob", "new-pw")) == "account:bob"
    assert user_id(app, bob) != "account:bob"


def test_put_without_password_is_400(app, bob):
    resp = app.put_json("/v1/accounts/bob", {"data": {"name": "Bob"}}, headers=bob, status=400)

    assert resp.json["details"][0]["name"] == "data.password"


def test_put_with_another_body_id_is_400(app, bob):
    body = {"data": {"id": "carol", "password": "x"}}

    resp = app.put_json("/v1/accounts/bob", body, headers=bob, status=400)

    assert "does not match" in resp.json["message"]


def test_user_cannot_replace_another_account(app, bob):
    app.put_json("/v1/accounts/admin", {"data": {"password": "x"}}, headers=bob, status=403)


def test_user_cannot_create_an_account_for_someone_else(app, bob):
    resp = app.put_json("/v1/accounts/carol", {"data": {"password": "x"}}, headers=bob, status=400)

    assert "Username and account ID do not match." in resp.json["message"]


def test_administrator_replaces_any_account_keeping_its_owner(app, admin, auth_headers):
    app.put_json("/v1/accounts/bob", {"data": {"password": "reset"}}, headers=admin, status=200)

    assert user_id(app, auth_headers("bob", "reset")) == "account:bob"
    assert acl(app, "bob") == {"write": {"account:bob"}}


def test_put_keeps_the_owner_even_when_permissions_omit_it(app, bob):
    body = {"data": {"password": "bob-pw"}, "permissions": {"read": ["account:admin"]}}

    app.put_json("/v1/accounts/bob", body, headers=bob, status=200)

    assert acl(app, "bob") == {"write": {"account:bob"}, "read": {"account:admin"}}


# PATCH /accounts/{id}


def test_patch_of_metadata_keeps_the_password_hash(app, bob):
    before = app.get("/v1/accounts/bob", headers=bob).json["data"]["password"]

    resp = app.patch_json("/v1/accounts/bob", {"data": {"age": 42}}, headers=bob)

    assert resp.json["data"]["password"] == before
    assert resp.json["data"]["age"] == 42
    assert user_id(app, bob) == "account:bob"


def test_patch_of_the_password_rehashes_it(app, bob, auth_headers):
    before = app.get("/v1/accounts/bob", headers=bob).json["data"]["password"]

    resp = app.patch_json("/v1/accounts/bob", {"data": {"password": "new-pw"}}, headers=bob)

    after = resp.json["data"]["password"]
    assert after.startswith("$2b$")
    assert after not in (before, "new-pw")
    assert user_id(app, auth_headers("bob", "new-pw")) == "account:bob"
    assert user_id(app, bob) != "account:bob"


def test_json_patch_of_the_password_hashes_it(app, bob, auth_headers):
    operations = [{"op": "replace", "path": "/data/password", "value": "patched"}]

    resp = app.patch_json(
        "/v1/accounts/bob",
        operations,
        headers={**bob, "Content-Type": "application/json-patch+json"},
    )

    assert resp.json["data"]["password"].startswith("$2b$")
    assert user_id(app, auth_headers("bob", "patched")) == "account:bob"


def test_merge_patch_removing_the_password_is_400(app, bob):
    headers = {**bob, "Content-Type": "application/merge-patch+json"}

    app.patch_json("/v1/accounts/bob", {"data": {"password": None}}, headers=headers, status=400)

    assert user_id(app, bob) == "account:bob"


def test_user_cannot_patch_another_account(app, bob, admin):
    app.patch_json("/v1/accounts/admin", {"data": {"a": 1}}, headers=bob, status=403)
    app.patch_json("/v1/accounts/ghost", {"data": {"a": 1}}, headers=bob, status=403)


def test_administrator_patches_any_account(app, admin, bob):
    resp = app.patch_json("/v1/accounts/bob", {"data": {"role": "x"}}, headers=admin)

    assert resp.json["data"]["role"] == "x"
    assert user_id(app, bob) == "account:bob"


# GET / DELETE /accounts/{id}


def test_owner_reads_own_account(app, bob):
    resp = app.get("/v1/accounts/bob", headers=bob)

    assert resp.json["data"]["id"] == "bob"
    assert resp.json["permissions"] == {"write": ["account:bob"]}


def test_other_users_get_403_even_for_unknown_ids(app, bob):
    app.get("/v1/accounts/admin", headers=bob, status=403)
    app.get("/v1/accounts/ghost", headers=bob, status=403)
    app.delete("/v1/accounts/admin", headers=bob, status=403)
    app.delete("/v1/accounts/ghost", headers=bob, status=403)


def test_anonymous_gets_401_on_accounts(app):
    app.get("/v1/accounts/bob", status=401)
    app.delete("/v1/accounts/bob", status=401)


def test_administrator_reads_any_account_and_gets_404_for_unknown(app, admin):
    assert app.get("/v1/accounts/bob", headers=admin).json["data"]["id"] == "bob"

    resp = app.get("/v1/accounts/ghost", headers=admin, status=404)
    assert resp.json["errno"] == 110


def test_account_read_principals_may_read_every_account(make_accounts_app, auth_headers):
    app = make_accounts_app(account_read_principals="account:auditor")
    for name in ("auditor", "bob"):
        create_account(app, name, "pw")
    auditor = auth_headers("auditor", "pw")

    assert app.get("/v1/accounts/bob", headers=auditor).json["data"]["id"] == "bob"
    ids = [a["id"] for a in app.get("/v1/accounts", headers=auditor).json["data"]]
    assert sorted(ids) == ["auditor", "bob"]
    app.delete("/v1/accounts/bob", headers=auditor, status=403)


def test_owner_deletes_own_account_which_stops_authenticating(app, bob):
    resp = app.delete("/v1/accounts/bob", headers=bob)

    assert resp.json["data"]["deleted"] is True
    assert user_id(app, bob) != "account:bob"
    assert acl(app, "bob") == {}


def test_administrator_deletes_any_account(app, admin, bob):
    app.delete("/v1/accounts/bob", headers=admin)

    app.get("/v1/accounts/bob", headers=admin, status=404)


# GET / DELETE /accounts


def test_user_lists_only_own_account(app, bob):
    resp = app.get("/v1/accounts", headers=bob)

    assert [a["id"] for a in resp.json["data"]] == ["bob"]


def test_user_granted_read_on_another_account_still_lists_only_own(app, bob, admin):
    body = {"data": {"password": "admin-pw"}, "permissions": {"read": ["account:bob"]}}
    app.put_json("/v1/accounts/admin", body, headers=admin)

    resp = app.get("/v1/accounts", headers=bob)

    assert [a["id"] for a in resp.json["data"]] == ["bob"]


def test_administrator_lists_every_account(app, admin):
    create_account(app, "carol", "x")

    resp = app.get("/v1/accounts", headers=admin)

    assert sorted(a["id"] for a in resp.json["data"]) == ["admin", "bob", "carol"]


def test_administrator_list_etag_follows_changes_of_any_account(app, admin, bob):
    before = app.get("/v1/accounts", headers=admin).headers["ETag"]

    app.patch_json("/v1/accounts/bob", {"data": {"x": 1}}, headers=bob)

    after = app.get("/v1/accounts", headers=admin).headers["ETag"]
    assert after != before
    changed = app.get("/v1/accounts/bob", headers=bob).json["data"]["last_modified"]
    assert after == f'"{changed}"'


def test_administrator_list_paginates_and_filters(app, admin):
    for name in ("carol", "dave", "erin"):
        create_account(app, name, "x", team="blue")

    first = app.get("/v1/accounts?team=blue&_limit=2&_sort=id", headers=admin)
    second = app.get(first.headers["Next-Page"], headers=admin)

    assert [a["id"] for a in first.json["data"]] == ["carol", "dave"]
    assert [a["id"] for a in second.json["data"]] == ["erin"]


def test_anonymous_list_is_401_cannot_read_accounts(app):
    resp = app.get("/v1/accounts", status=401)

    assert resp.json["errno"] == 999
    assert resp.json["error"] == "Cannot read accounts."


def test_anonymous_plural_delete_is_401(app):
    resp = app.delete("/v1/accounts", status=401)

    assert resp.json["error"] == "Cannot read accounts."


def test_user_plural_delete_deletes_only_own_account(app, bob, admin):
    resp = app.delete("/v1/accounts", headers=bob)

    assert [a["id"] for a in resp.json["data"]] == ["bob"]
    ids = [a["id"] for a in app.get("/v1/accounts", headers=admin).json["data"]]
    assert ids == ["admin"]


def test_administrator_plural_delete_deletes_every_account(app, admin):
    resp = app.delete("/v1/accounts", headers=admin)

    assert sorted(a["id"] for a in resp.json["data"]) == ["admin", "bob"]
    assert app.app.registry.storage.count_all("account", "*") == 0


# Facts.


def test_capability_is_announced_without_validation(app):
    capability = app.get("/v1/").json["capabilities"]["accounts"]

    assert capability["validation_enabled"] is False
    assert capability["description"]
    assert capability["url"]


def test_accounts_are_stored_under_their_own_id(app):
    stored = app.app.registry.storage.get("account", "bob", "bob")

    assert stored["password"].startswith("$2b$")


def test_accounts_appear_in_permissions_endpoint(make_accounts_app, auth_headers):
    app = make_accounts_app(experimental_permissions_endpoint=True)
    create_account(app, "bob", "pw")

    entries = app.get("/v1/permissions", headers=auth_headers("bob", "pw")).json["data"]

    account = next(e for e in entries if e["uri"] == "/accounts/bob")
    assert account["resource_name"] == "account"
    assert account["account_id"] == "bob"
    assert sorted(account["permissions"]) == ["read", "write"]


def test_accounts_work_inside_a_batch(app, auth_headers):
    body = {
        "requests": [
            {"method": "PUT", "path": "/accounts/carol", "body": {"data": {"password": "c"}}},
            {"method": "PUT", "path": "/accounts/dave", "body": {"data": {"password": "d"}}},
        ]
    }

    resp = app.post_json("/v1/batch", body)

    assert [r["status"] for r in resp.json["responses"]] == [201, 201]
    assert user_id(app, auth_headers("dave", "d")) == "account:dave"


def test_openapi_document_lists_the_account_operations_and_is_valid(make_accounts_app):
    spec = make_accounts_app(includes="kinto.plugins.accounts kinto.plugins.flush").get(
        "/v1/__api__"
    )

    paths = spec.json["paths"]
    assert paths["/accounts"]["post"]["operationId"] == "create_account"
    assert paths["/accounts/{id}"]["patch"]["operationId"] == "patch_account"
    assert paths["/__flush__"]["post"]["operationId"] == "flush_server"
    assert paths["/__user_data__/{principal}"]["delete"]["operationId"] == "delete_user_data"
    openapi_spec_validator.validate(spec.json)
