"""OpenID Connect authentication against the local provider
(plugins.md §7, permissions.md §1)."""

import socket

import pytest
from pyramid.exceptions import ConfigurationError

from .conftest import CLIENT_ID, openid_settings


def bearer(token, scheme="Bearer"):
    return {"Authorization": f"{scheme} {token}"}


def test_valid_token_authenticates_the_userinfo_subject(make_openid_app, oidc):
    app = make_openid_app()
    token = oidc.give_token("token-alice", sub="alice", email="alice@example.com")
    user = app.get("/v1/", headers=bearer(token)).json["user"]
    assert user["id"] == "oidc:alice"
    assert user["principals"][:3] == ["oidc:alice", "system.Everyone", "system.Authenticated"]


def test_hello_exposes_the_userinfo_as_profile(make_openid_app, oidc):
    app = make_openid_app()
    token = oidc.give_token("token-alice", sub="alice", name="Alice")
    user = app.get("/v1/", headers=bearer(token)).json["user"]
    assert user["profile"] == {"sub": "alice", "name": "Alice"}


def test_other_policies_get_no_profile(make_openid_app, auth_headers):
    user = make_openid_app().get("/v1/", headers=auth_headers("bob")).json["user"]
    assert user["id"].startswith("basicauth:")
    assert "profile" not in user


def test_invalid_token_is_anonymous(make_openid_app):
    app = make_openid_app()
    assert "user" not in app.get("/v1/", headers=bearer("forged")).json


def test_anonymous_denial_challenges_with_the_header_type(make_openid_app):
    app = make_openid_app()
    response = app.put_json("/v1/buckets/b", {}, headers=bearer("forged"), status=401)
    assert response.json["errno"] == 104
    challenges = response.headers.getall("WWW-Authenticate")
    assert 'Bearer realm="Realm"' in challenges
    assert 'Basic realm="Realm"' in challenges


def test_authenticated_user_can_write(make_openid_app, oidc):
    app = make_openid_app()
    token = oidc.give_token("token-alice", sub="alice")
    response = app.put_json("/v1/buckets/b", {}, headers=bearer(token), status=201)
    assert response.json["permissions"]["write"] == ["oidc:alice"]


def test_userid_field_selects_the_userinfo_field(make_openid_app, oidc):
    app = make_openid_app(userid_field="email")
    token = oidc.give_token("token-alice", sub="123", email="alice@example.com")
    assert app.get("/v1/", headers=bearer(token)).json["user"]["id"] == "oidc:alice@example.com"


def test_userinfo_without_the_userid_field_is_anonymous(make_openid_app, oidc):
    app = make_openid_app(userid_field="email")
    token = oidc.give_token("token-alice", sub="123")
    assert "user" not in app.get("/v1/", headers=bearer(token)).json


def test_header_type_is_the_expected_authorization_scheme(make_openid_app, oidc):
    app = make_openid_app(header_type="Token")
    token = oidc.give_token("token-alice", sub="alice")
    assert "user" not in app.get("/v1/", headers=bearer(token)).json
    user = app.get("/v1/", headers=bearer(token, scheme="Token")).json["user"]
    assert user["id"] == "oidc:alice"
    response = app.put_json("/v1/buckets/b", {}, status=401)
    assert 'Token realm="Realm"' in response.headers.getall("WWW-Authenticate")


def test_scheme_is_case_insensitive(make_openid_app, oidc):
    app = make_openid_app()
    token = oidc.give_token("token-alice", sub="alice")
    assert app.get("/v1/", headers=bearer(token, "bearer")).json["user"]["id"] == "oidc:alice"


def test_verified_tokens_are_cached(make_openid_app, oidc):
    app = make_openid_app()
    token = oidc.give_token("token-alice", sub="alice")
    for _ in range(3):
        app.get("/v1/", headers=bearer(token))
    assert oidc.calls_to("/userinfo") == 1
    other = oidc.give_token("token-bob", sub="bob")
    assert app.get("/v1/", headers=bearer(other)).json["user"]["id"] == "oidc:bob"
    assert oidc.calls_to("/userinfo") == 2


def test_rejected_tokens_are_not_cached(make_openid_app, oidc):
    app = make_openid_app()
    app.get("/v1/", headers=bearer("late"))
    oidc.give_token("late", sub="alice")
    assert app.get("/v1/", headers=bearer("late")).json["user"]["id"] == "oidc:alice"


def test_cache_keys_do_not_contain_the_token(make_openid_app, oidc):
    app = make_openid_app()
    cache = app.app.registry.cache
    keys = []
    original_set = cache.set

    def recording_set(key, value, ttl):
        keys.append((key, ttl))
        original_set(key, value, ttl)

    cache.set = recording_set
    token = oidc.give_token("very-secret-token", sub="alice")
    app.get("/v1/", headers=bearer(token))
    [(key, ttl)] = keys
    assert token not in key
    assert key.startswith("openid:")
    assert ttl == 86400


def test_verification_ttl_is_configurable(make_openid_app, oidc):
    app = make_openid_app(verification_ttl_seconds="60")
    token = oidc.give_token("token-alice", sub="alice")
    app.get("/v1/", headers=bearer(token))
    policy = app.app.registry.openid_policies["oidc"]
    assert 0 < app.app.registry.cache.ttl(policy.verification_cache_key(token)) <= 60


def test_provider_down_after_start_up_means_anonymous(make_openid_app, oidc):
    app = make_openid_app()
    oidc.give_token("token-alice", sub="alice")
    oidc.server.shutdown()
    oidc.server.server_close()
    assert "user" not in app.get("/v1/", headers=bearer("token-alice")).json


# Audience validation of JWT access tokens ----------------------------------------------------


def test_jwt_for_the_audience_is_accepted(make_openid_app, oidc):
    app = make_openid_app(audience="kinto-api")
    token = oidc.jwt_access_token(sub="carol", aud="kinto-api")
    assert app.get("/v1/", headers=bearer(token)).json["user"]["id"] == "oidc:carol"


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "another-api"},
        {},  # no audience at all
        {"aud": "kinto-api", "iss": "https://evil.example.com"},
        {"aud": "kinto-api", "exp": 1000},
    ],
)
def test_jwt_with_wrong_claims_is_rejected_before_userinfo(make_openid_app, oidc, claims):
    app = make_openid_app(audience="kinto-api")
    token = oidc.jwt_access_token(**claims)
    assert "user" not in app.get("/v1/", headers=bearer(token)).json
    assert oidc.calls_to("/userinfo") == 0


def test_jwt_signed_by_an_unknown_key_is_rejected(make_openid_app, oidc, foreign_key):
    app = make_openid_app(audience="kinto-api")
    token = oidc.jwt_access_token(key=foreign_key, aud="kinto-api")
    assert "user" not in app.get("/v1/", headers=bearer(token)).json
    other_kid = oidc.jwt_access_token(key=foreign_key, kid="other", aud="kinto-api")
    assert "user" not in app.get("/v1/", headers=bearer(other_kid)).json
    assert oidc.calls_to("/userinfo") == 0


def test_unsigned_jwt_is_rejected(make_openid_app, oidc):
    import jwt

    app = make_openid_app(audience="kinto-api")
    token = jwt.encode(
        {"sub": "x", "aud": "kinto-api", "iss": oidc.issuer}, None, algorithm="none"
    )
    oidc.give_token(token, sub="x")
    assert "user" not in app.get("/v1/", headers=bearer(token)).json


def test_opaque_token_is_rejected_when_an_audience_is_required(make_openid_app, oidc):
    app = make_openid_app(audience="kinto-api")
    token = oidc.give_token("opaque", sub="alice")
    assert "user" not in app.get("/v1/", headers=bearer(token)).json


def test_without_audience_userinfo_alone_decides(make_openid_app, oidc):
    app = make_openid_app()
    token = oidc.jwt_access_token(sub="dave", aud="whatever")
    assert app.get("/v1/", headers=bearer(token)).json["user"]["id"] == "oidc:dave"
    assert oidc.calls_to("/jwks") == 0


# Start-up -------------------------------------------------------------------------------------


def test_discovery_document_is_fetched_once_at_start_up(make_openid_app, oidc):
    make_openid_app()
    assert oidc.calls == ["/.well-known/openid-configuration"]


def test_unreachable_issuer_is_a_configuration_error(make_app):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConfigurationError, match="oidc"):
        make_app(**openid_settings(f"http://127.0.0.1:{port}"))


def test_issuer_is_required(make_app):
    settings = openid_settings("")
    with pytest.raises(ConfigurationError, match="issuer"):
        make_app(**settings)


def test_issuer_without_discovery_document_is_a_configuration_error(make_app, oidc):
    with pytest.raises(ConfigurationError, match="discovery"):
        make_app(**openid_settings(oidc.issuer + "/nowhere"))


def test_invalid_integer_option_is_a_configuration_error(make_openid_app):
    with pytest.raises(ConfigurationError, match="state_ttl_seconds"):
        make_openid_app(state_ttl_seconds="soon")


def test_policy_attributes_come_from_options(make_openid_app, oidc):
    app = make_openid_app(audience="kinto-api", realm="Kinto")
    policy = app.app.registry.openid_policies["oidc"]
    assert policy.client_id == CLIENT_ID
    assert policy.userinfo_endpoint == f"{oidc.issuer}/userinfo"
    assert policy.challenge(None) == [("WWW-Authenticate", 'Bearer realm="Kinto"')]
