"""Fixtures of the accounts plugin tests.

* bcrypt runs at its lowest cost (the hashes are still real bcrypt hashes);
* ``make_accounts_app(**settings)``: an application with the plugin, the
  ``account`` policy first and Basic Auth after it, self sign-up
  (``account_create_principals = system.Everyone``) and ``account:admin``
  as administrator;
* ``app``: that application, with the accounts ``admin`` (password
  ``admin-pw``) and ``bob`` (``bob-pw``) created;
* ``admin``, ``bob``: their Basic Auth headers.
"""

from __future__ import annotations

import pytest

from kinto.plugins.accounts import hashing

ACCOUNTS_SETTINGS = {
    "includes": "kinto.plugins.accounts",
    "multiauth.policies": "account basicauth",
    "multiauth.policy.account.use": "kinto.plugins.accounts.AccountsPolicy",
    "account_create_principals": "system.Everyone",
    "account_write_principals": "account:admin",
}

ADMIN = ("admin", "admin-pw")
BOB = ("bob", "bob-pw")


@pytest.fixture(autouse=True)
def _cheap_bcrypt(monkeypatch):
    monkeypatch.setattr(hashing, "ROUNDS", 4)


@pytest.fixture
def make_accounts_app(make_app):
    def build(**settings):
        return make_app(**{**ACCOUNTS_SETTINGS, **settings})

    return build


def create_account(app, username: str, password: str, **data):
    body = {"data": {"password": password, **data}}
    return app.put_json(f"/v1/accounts/{username}", body, status=201)


@pytest.fixture
def app(make_accounts_app):
    app = make_accounts_app()
    create_account(app, *ADMIN)
    create_account(app, *BOB)
    return app


@pytest.fixture
def admin(auth_headers):
    return auth_headers(*ADMIN)


@pytest.fixture
def bob(auth_headers):
    return auth_headers(*BOB)
