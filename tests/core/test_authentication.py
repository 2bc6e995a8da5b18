"""Authentication policies and the request identity, over the WSGI app."""

import pytest
from pyramid.exceptions import ConfigurationError


def hello_user(app, headers=None):
    return app.get("/v1/", headers=headers or {}).json.get("user")


def test_basicauth_user_id_is_hmac_of_credentials_keyed_with_secret(make_app, auth_headers):
    app = make_app(userid_hmac_secret="")
    user = hello_user(app, auth_headers("joan", "secret"))
    assert user["id"] == (
        "basicauth:64942e918f6481e3101f3a22a87a3206480923ccc0d4387cff9cb1ae0af21217"
    )


def test_principals_list_user_id_first_then_system_principals(app, auth_headers):
    user = hello_user(app, auth_headers("alice"))
    assert user["principals"][0] == user["id"]
    assert "system.Everyone" in user["principals"]
    assert "system.Authenticated" in user["principals"]


def test_different_passwords_are_different_users(app, auth_headers):
    first = hello_user(app, auth_headers("alice", "one"))
    second = hello_user(app, auth_headers("alice", "two"))
    assert first["id"] != second["id"]


def test_empty_username_is_anonymous(app, auth_headers):
    assert hello_user(app, auth_headers("", "secret")) is None


@pytest.mark.parametrize(
    "value",
    ["Basic", "Basic !!notbase64!!", "Basic " + "bm9jb2xvbg==", "Bearer abc", "Basic w6k="],
)
def test_malformed_authorization_header_is_anonymous(app, value):
    assert hello_user(app, {"Authorization": value}) is None


def test_anonymous_denied_gets_401_with_basic_challenge(app):
    response = app.get("/v1/buckets/b", status=401)
    assert response.json["errno"] == 104
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Realm"'


def test_basicauth_capability_is_announced(app):
    capabilities = app.get("/v1/").json["capabilities"]
    assert "basicauth" in capabilities


def test_no_policy_means_everybody_is_anonymous(make_app, auth_headers):
    app = make_app(**{"multiauth.policies": ""})
    assert hello_user(app, auth_headers("alice")) is None
    assert "basicauth" not in app.get("/v1/").json["capabilities"]


def test_policy_without_use_setting_is_a_startup_error(make_app):
    with pytest.raises(ConfigurationError, match="multiauth.policy.nope.use"):
        make_app(**{"multiauth.policies": "nope"})


def test_group_membership_adds_group_uri_to_principals(app, auth_headers):
    alice = auth_headers("alice")
    alice_id = hello_user(app, alice)["id"]
    app.put_json("/v1/buckets/b", {}, headers=alice)
    app.put_json("/v1/buckets/b/groups/g", {"data": {"members": [alice_id]}}, headers=alice)
    assert "/buckets/b/groups/g" in hello_user(app, alice)["principals"]


def test_group_of_authenticated_applies_to_every_user(app, auth_headers):
    alice = auth_headers("alice")
    app.put_json("/v1/buckets/b", {}, headers=alice)
    members = {"data": {"members": ["system.Authenticated"]}}
    app.put_json("/v1/buckets/b/groups/all", members, headers=alice)
    assert "/buckets/b/groups/all" in hello_user(app, auth_headers("bob"))["principals"]
