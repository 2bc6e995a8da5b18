"""Start-up checks of the accounts plugin (plugins.md §1)."""

from __future__ import annotations

import logging

import pytest
from pyramid.exceptions import ConfigurationError


def test_plugin_without_an_accounts_policy_does_not_start(make_app):
    with pytest.raises(ConfigurationError, match="AccountsPolicy"):
        make_app(includes="kinto.plugins.accounts")


def test_basicauth_before_accounts_does_not_start(make_accounts_app):
    with pytest.raises(ConfigurationError, match="'basicauth' should not be mentioned before"):
        make_accounts_app(**{"multiauth.policies": "basicauth account"})


def test_accounts_before_basicauth_starts(make_accounts_app):
    app = make_accounts_app(**{"multiauth.policies": "account basicauth"})

    assert {"accounts", "basicauth"} <= set(app.get("/v1/").json["capabilities"])


def test_creators_who_are_not_administrators_do_not_start(make_accounts_app):
    with pytest.raises(ConfigurationError, match="account:alice"):
        make_accounts_app(
            account_create_principals="system.Everyone account:alice",
            account_write_principals="account:admin",
        )


def test_authenticated_creators_must_be_administrators(make_accounts_app):
    with pytest.raises(ConfigurationError, match="system.Authenticated"):
        make_accounts_app(account_create_principals="system.Authenticated")


def test_creators_who_are_administrators_start(make_accounts_app):
    app = make_accounts_app(
        account_create_principals="account:admin", account_write_principals="account:admin"
    )

    assert "accounts" in app.get("/v1/").json["capabilities"]


def test_policy_configured_but_not_listed_starts_with_a_warning(make_app, caplog):
    caplog.set_level(logging.WARNING, logger="kinto.plugins.accounts")

    app = make_app(
        includes="kinto.plugins.accounts",
        **{"multiauth.policy.account.use": "kinto.plugins.accounts.AccountsPolicy"},
    )

    assert "accounts" in app.get("/v1/").json["capabilities"]
    assert "not listed" in caplog.text


def test_no_capability_nor_endpoint_without_the_plugin(make_app):
    app = make_app()

    assert "accounts" not in app.get("/v1/").json["capabilities"]
    app.get("/v1/accounts", status=404)
