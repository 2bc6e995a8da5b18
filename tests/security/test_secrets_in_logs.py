"""Logs never hold credentials: no ``Authorization`` header, password,
access token, OpenID ``code`` or ``state``; the OpenID login flow redirects
only to the callback stored with its state, once."""

from __future__ import annotations

import base64
import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from kinto.core.initialization import loggable_path_qs, safe_querystring
from kinto.core.request import Request
from kinto.plugins.accounts import hashing
from tests.plugins.openid.conftest import (  # noqa: F401 (fixtures)
    _no_proxy_for_loopback,
    oidc,
    openid_settings,
    signing_key,
)

PASSWORD = "correct horse battery staple"
CALLBACK = "https://admin.example.com/#/auth/"


@pytest.fixture
def records(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def logged_text(caplog) -> str:
    """Everything the records say, extra fields included."""
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(vars(record)))
    return "\n".join(parts)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("code", True),
        ("state", True),
        ("password", True),
        ("access_token", True),
        ("client_secret", True),
        ("_token", False),
        ("_since", False),
        ("title", False),
    ],
)
def test_query_string_values_are_masked_by_name(name, masked):
    assert (safe_querystring(f"{name}=v4lue")[name] == "***") is masked


def test_loggable_path_masks_the_openid_code_and_state():
    request = Request.blank("/v1/openid/oidc/token?code=c0de&state=st4te&x=1")
    assert loggable_path_qs(request) == "/v1/openid/oidc/token?code=***&state=***&x=1"


def test_request_summary_never_holds_basic_credentials(make_app, records):
    app = make_app()
    token = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    app.get("/v1/buckets", headers={"Authorization": f"Basic {token}"})
    text = logged_text(records)
    assert "request.summary" in {r.name for r in records.records}
    assert token not in text
    assert PASSWORD not in text


def test_unexpected_error_log_masks_secret_query_values(make_core_app, records):
    def configure(config):
        def boom(request):
            raise RuntimeError("boom")

        config.add_route("boom", "/boom")
        config.add_view(boom, route_name="boom")

    app = make_core_app(configure=configure)
    response = app.get("/v1/boom?code=c0de-s3cret&state=st4te-s3cret", status=500)
    assert "boom" not in response.text
    assert "Traceback" not in response.text
    text = logged_text(records)
    assert "Unexpected error" in text
    assert "c0de-s3cret" not in text
    assert "st4te-s3cret" not in text


def test_accounts_never_log_nor_answer_the_plain_password(make_app, records, monkeypatch):
    monkeypatch.setattr(hashing, "ROUNDS", 4)
    app = make_app(
        **{
            "includes": "kinto.plugins.accounts",
            "multiauth.policies": "account basicauth",
            "multiauth.policy.account.use": "kinto.plugins.accounts.AccountsPolicy",
            "account_create_principals": "system.Everyone",
        }
    )
    seen = []
    response = app.put_json("/v1/accounts/bob", {"data": {"password": PASSWORD}})
    seen.append(response.text)
    headers = {"Authorization": "Basic " + base64.b64encode(f"bob:{PASSWORD}".encode()).decode()}
    seen.append(app.get("/v1/accounts/bob", headers=headers).text)
    seen.append(
        app.patch_json(
            "/v1/accounts/bob", {"data": {"password": PASSWORD + "!"}}, headers=headers
        ).text
    )
    assert all(PASSWORD not in text for text in seen)
    assert PASSWORD not in logged_text(records)


# OpenID ------------------------------------------------------------------------------


@pytest.fixture
def openid_app(make_app, oidc):  # noqa: F811
    return make_app(**openid_settings(oidc.issuer))


def login_state(app, callback=CALLBACK) -> str:
    response = app.get(
        "/v1/openid/oidc/login", params={"callback": callback, "scope": "openid"}, status=307
    )
    return parse_qs(urlsplit(response.location).query)["state"][0]


def test_token_redirects_to_the_callback_stored_with_the_state(openid_app, oidc):  # noqa: F811
    oidc.codes["c0de"] = {"access_token": "at"}
    state = login_state(openid_app)
    response = openid_app.get(
        "/v1/openid/oidc/token",
        params={"code": "c0de", "state": state, "callback": "https://evil.example/"},
        status=307,
    )
    assert response.location.startswith(CALLBACK)


def test_token_state_is_single_use(openid_app, oidc):  # noqa: F811
    oidc.codes["c0de"] = {"access_token": "at"}
    state = login_state(openid_app)
    params = {"code": "c0de", "state": state}
    openid_app.get("/v1/openid/oidc/token", params=params, status=307)
    openid_app.get("/v1/openid/oidc/token", params=params, status=400)


def test_openid_flow_never_logs_code_state_nor_tokens(openid_app, oidc, records):  # noqa: F811
    oidc.codes["c0de-s3cret"] = {"access_token": oidc.give_token("t0ken-s3cret", sub="erin")}
    state = login_state(openid_app)
    openid_app.get(
        "/v1/openid/oidc/token", params={"code": "c0de-s3cret", "state": state}, status=307
    )
    openid_app.get("/v1/", headers={"Authorization": "Bearer t0ken-s3cret"})
    openid_app.get("/v1/", headers={"Authorization": "Bearer wr0ng-s3cret"})
    text = logged_text(records)
    for secret in ("c0de-s3cret", state, "t0ken-s3cret", "wr0ng-s3cret"):
        assert secret not in text


@pytest.mark.parametrize("state", ["", "x" * 10_000, "../../", "st\u00e4te", "*"])
def test_token_with_forged_state_is_a_client_error(openid_app, state):
    response = openid_app.get(
        "/v1/openid/oidc/token", params={"code": "c", "state": state}, status="*"
    )
    assert response.status_code == 400
