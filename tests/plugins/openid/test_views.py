"""The OpenID login flow: ``/openid/{provider}/login`` and
``/openid/{provider}/token`` (plugins.md §7)."""

import base64
import json
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from .conftest import CLIENT_ID, CLIENT_SECRET

CALLBACK = "http://admin.example.com/#/auth/"
TOKEN_URL = "http://localhost/v1/openid/oidc/token"


def login(app, status=307, **params):
    query = {"callback": CALLBACK, "scope": "openid email", **params}
    return app.get("/v1/openid/oidc/login", params=query, status=status)


def redirect_query(response):
    return {key: values[0] for key, values in parse_qs(urlsplit(response.location).query).items()}


def test_login_redirects_to_the_authorization_endpoint(make_openid_app, oidc):
    response = login(make_openid_app())
    assert response.location.startswith(f"{oidc.issuer}/authorize?")
    query = redirect_query(response)
    state = query.pop("state")
    assert query == {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "scope": "openid email",
        "redirect_uri": TOKEN_URL,
    }
    assert re.fullmatch(r"[0-9a-f]{32}", state)


def test_login_passes_prompt_and_audience(make_openid_app):
    response = login(make_openid_app(audience="kinto-api"), prompt="none")
    query = redirect_query(response)
    assert (query["prompt"], query["audience"]) == ("none", "kinto-api")


def test_login_states_are_random_and_have_the_configured_length(make_openid_app):
    app = make_openid_app(state_length="10")
    states = {redirect_query(login(app))["state"] for _ in range(5)}
    assert len(states) == 5
    assert all(re.fullmatch(r"[0-9a-f]{10}", state) for state in states)


def test_login_remembers_the_callback_for_the_state_ttl(make_openid_app):
    app = make_openid_app(state_ttl_seconds="120")
    state = redirect_query(login(app))["state"]
    policy = app.app.registry.openid_policies["oidc"]
    cache = app.app.registry.cache
    assert cache.get(policy.state_cache_key(state)) == CALLBACK
    assert 0 < cache.ttl(policy.state_cache_key(state)) <= 120


def test_redirect_uri_follows_http_scheme_and_host_settings(make_openid_app):
    app = make_openid_app({"http_scheme": "https", "http_host": "kinto.example.com"})
    query = redirect_query(login(app))
    assert query["redirect_uri"] == "https://kinto.example.com/v1/openid/oidc/token"


def test_login_with_unknown_provider_is_400(make_openid_app):
    response = make_openid_app().get(
        "/v1/openid/nobody/login", params={"callback": CALLBACK, "scope": "openid"}, status=400
    )
    assert response.json["errno"] == 107
    assert response.json["details"][0]["name"] == "provider"


def test_login_requires_callback_and_scope(make_openid_app):
    response = make_openid_app().get("/v1/openid/oidc/login", status=400)
    body = response.json
    assert body["errno"] == 107
    assert body["error"] == "Invalid parameters"
    assert [(d["location"], d["name"]) for d in body["details"]] == [
        ("querystring", "callback"),
        ("querystring", "scope"),
    ]


@pytest.mark.parametrize("callback", ["not a url", "javascript:alert(1)", "/relative/path"])
def test_login_callback_must_be_an_absolute_url(make_openid_app, callback):
    response = login(make_openid_app(), status=400, callback=callback)
    assert response.json["details"][0]["name"] == "callback"


def test_login_prompt_can_only_be_none(make_openid_app):
    response = login(make_openid_app(), status=400, prompt="login")
    assert response.json["details"][0]["name"] == "prompt"


def test_login_requires_email_scope_when_users_are_identified_by_email(make_openid_app):
    app = make_openid_app(userid_field="email")
    response = login(app, status=400, scope="openid profile")
    assert response.json["details"][0]["name"] == "scope"
    login(app, scope="openid email")


def test_login_needs_no_authentication(make_openid_app):
    login(make_openid_app())


# Token exchange -------------------------------------------------------------------------------


def test_token_exchanges_the_code_and_redirects_to_the_callback(make_openid_app, oidc):
    app = make_openid_app()
    oidc.codes["good-code"] = {"access_token": "at", "id_token": "it", "token_type": "Bearer"}
    state = redirect_query(login(app))["state"]

    response = app.get(
        "/v1/openid/oidc/token", params={"code": "good-code", "state": state}, status=307
    )

    assert response.location.startswith(CALLBACK)
    encoded = unquote(response.location[len(CALLBACK) :])
    assert json.loads(base64.b64decode(encoded)) == oidc.codes["good-code"]
    assert oidc.token_requests == [
        {
            "grant_type": "authorization_code",
            "code": "good-code",
            "redirect_uri": TOKEN_URL,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }
    ]


def test_token_then_authenticates_with_the_access_token(make_openid_app, oidc):
    app = make_openid_app()
    oidc.codes["good-code"] = {"access_token": oidc.give_token("fresh", sub="erin")}
    state = redirect_query(login(app))["state"]
    response = app.get("/v1/openid/oidc/token", params={"code": "good-code", "state": state})
    answer = json.loads(base64.b64decode(unquote(response.location[len(CALLBACK) :])))
    headers = {"Authorization": f"Bearer {answer['access_token']}"}
    assert app.get("/v1/", headers=headers).json["user"]["id"] == "oidc:erin"


def test_token_state_can_be_used_once(make_openid_app, oidc):
    app = make_openid_app()
    oidc.codes["good-code"] = {"access_token": "at"}
    state = redirect_query(login(app))["state"]
    params = {"code": "good-code", "state": state}
    app.get("/v1/openid/oidc/token", params=params, status=307)
    response = app.get("/v1/openid/oidc/token", params=params, status=400)
    assert response.json["details"][0]["name"] == "state"


def test_token_with_unknown_state_is_400_with_invalid_token_errno_in_details(
    make_openid_app, oidc
):
    app = make_openid_app()
    response = app.get(
        "/v1/openid/oidc/token", params={"code": "good-code", "state": "made-up"}, status=400
    )
    body = response.json
    assert body["errno"] == 107
    [detail] = body["details"]
    assert (detail["location"], detail["name"], detail["errno"]) == ("querystring", "state", 105)
    assert oidc.token_requests == []


def test_token_state_of_another_provider_is_rejected(make_app, oidc):
    from .conftest import openid_settings

    settings = openid_settings(oidc.issuer)
    second = openid_settings(oidc.issuer, name="other")
    settings.update({k: v for k, v in second.items() if k.startswith("multiauth.policy.")})
    settings["multiauth.policies"] = "oidc other"
    app = make_app(**settings)
    state = redirect_query(login(app))["state"]
    app.get("/v1/openid/other/token", params={"code": "c", "state": state}, status=400)


def test_token_requires_code_and_state(make_openid_app):
    response = make_openid_app().get("/v1/openid/oidc/token", status=400)
    assert [d["name"] for d in response.json["details"]] == ["code", "state"]


def test_token_with_a_refused_code_is_400(make_openid_app, oidc):
    app = make_openid_app()
    state = redirect_query(login(app))["state"]
    response = app.get(
        "/v1/openid/oidc/token", params={"code": "bad-code", "state": state}, status=400
    )
    assert response.json["details"][0]["name"] == "code"


def test_token_with_unreachable_provider_is_503(make_openid_app, oidc):
    app = make_openid_app()
    state = redirect_query(login(app))["state"]
    oidc.server.shutdown()
    oidc.server.server_close()
    response = app.get("/v1/openid/oidc/token", params={"code": "c", "state": state}, status=503)
    assert response.json["errno"] == 201


def test_token_with_unknown_provider_is_400(make_openid_app):
    make_openid_app().get(
        "/v1/openid/nobody/token", params={"code": "c", "state": "s"}, status=400
    )
