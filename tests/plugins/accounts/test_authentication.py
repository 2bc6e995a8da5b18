"""The ``account`` policy: Basic credentials against bcrypt hashes, the
same work for unknown users and wrong passwords, the verified-credentials
cache."""

from __future__ import annotations

import pytest

from kinto.core import utils
from kinto.plugins.accounts import hashing
from kinto.plugins.accounts.authentication import verified_cache_key
from tests.conftest import BASE_SETTINGS
from tests.plugins.accounts.conftest import create_account

SECRET = BASE_SETTINGS["userid_hmac_secret"]


@pytest.fixture
def app(make_accounts_app):
    """Accounts only: failed credentials leave the caller anonymous."""
    app = make_accounts_app(**{"multiauth.policies": "account", "account_cache_ttl_seconds": 100})
    create_account(app, "bob", "bob-pw")
    return app


@pytest.fixture
def checks(monkeypatch):
    """Records ``(password, hash)`` of every password check, then runs it."""
    calls = []
    real_check = hashing.check_password

    def counting_check(password, hashed):
        calls.append((password, hashed))
        return real_check(password, hashed)

    monkeypatch.setattr(hashing, "check_password", counting_check)
    return calls


def hello_user(app, headers):
    return app.get("/v1/", headers=headers).json.get("user")


def cache(app):
    return app.app.registry.cache


def bcrypt_cost(hashed) -> str:
    if isinstance(hashed, bytes):
        hashed = hashed.decode("ascii")
    return hashed[:7]  # "$2b$04$"


def test_right_credentials_authenticate_as_account_user(app, bob):
    user = hello_user(app, bob)

    assert user["id"] == "account:bob"
    assert user["principals"][:3] == ["account:bob", "system.Everyone", "system.Authenticated"]


@pytest.mark.parametrize(
    "username, password", [("bob", "wrong"), ("ghost", "bob-pw"), ("", ""), ("bob", "")]
)
def test_wrong_credentials_are_anonymous(app, auth_headers, username, password):
    assert hello_user(app, auth_headers(username, password)) is None


def test_unknown_user_and_wrong_password_do_the_same_hash_check(app, auth_headers, checks):
    hello_user(app, auth_headers("bob", "wrong"))
    wrong_password = list(checks)
    checks.clear()
    hello_user(app, auth_headers("ghost", "wrong"))
    unknown_user = list(checks)

    assert len(wrong_password) == 1
    assert len(unknown_user) == 1
    (_, real_hash), (_, dummy_hash) = wrong_password[0], unknown_user[0]
    # The unknown user is checked against a hash of the same cost.
    assert bcrypt_cost(dummy_hash) == bcrypt_cost(real_hash)
    assert not hashing.check_password("wrong", dummy_hash)


def test_account_without_a_usable_hash_gets_the_dummy_check(app, auth_headers, checks):
    storage = app.app.registry.storage
    storage.update("account", "broken", "broken", {"id": "broken", "password": 12})

    assert hello_user(app, auth_headers("broken", "12")) is None
    assert len(checks) == 1


def test_anonymous_request_checks_no_password(app, checks):
    hello_user(app, {})

    assert checks == []


def test_unauthenticated_answers_invite_basic_auth(app):
    resp = app.get("/v1/accounts/bob", status=401)

    assert resp.headers["WWW-Authenticate"] == 'Basic realm="Realm"'


def test_verified_credentials_are_cached_as_hmac_only(app, bob, checks):
    hello_user(app, bob)
    hello_user(app, bob)

    assert len(checks) == 1
    stored = cache(app).get(verified_cache_key(SECRET, "bob"))
    assert stored == utils.hmac_digest(SECRET, "bob-pw")
    assert verified_cache_key(SECRET, "bob") == utils.hmac_digest(SECRET, "accounts:bob:verified")


def test_cache_entry_lives_account_cache_ttl_seconds_refreshed_on_hit(app, bob):
    key = verified_cache_key(SECRET, "bob")
    hello_user(app, bob)
    assert 0 < cache(app).ttl(key) <= 100

    cache(app).expire(key, 5)
    hello_user(app, bob)

    assert cache(app).ttl(key) > 5


def test_wrong_password_of_a_cached_user_is_checked_and_refused(app, bob, auth_headers, checks):
    hello_user(app, bob)
    checks.clear()

    assert hello_user(app, auth_headers("bob", "wrong")) is None
    assert len(checks) == 1


def test_password_change_drops_the_cached_credentials(app, bob, auth_headers):
    hello_user(app, bob)

    app.patch_json("/v1/accounts/bob", {"data": {"password": "new-pw"}}, headers=bob)

    assert cache(app).get(verified_cache_key(SECRET, "bob")) is None
    assert hello_user(app, bob) is None
    assert hello_user(app, auth_headers("bob", "new-pw"))["id"] == "account:bob"


def test_metadata_change_drops_the_cached_credentials(app, bob):
    hello_user(app, bob)

    app.patch_json("/v1/accounts/bob", {"data": {"name": "Bob"}}, headers=bob)

    assert cache(app).get(verified_cache_key(SECRET, "bob")) is None
    assert hello_user(app, bob)["id"] == "account:bob"


def test_deletion_drops_the_cached_credentials(app, bob):
    hello_user(app, bob)

    app.delete("/v1/accounts/bob", headers=bob)

    assert cache(app).get(verified_cache_key(SECRET, "bob")) is None
    assert hello_user(app, bob) is None


def test_basicauth_after_accounts_takes_credentials_accounts_refuse(
    make_accounts_app, auth_headers
):
    app = make_accounts_app()
    create_account(app, "bob", "bob-pw")

    assert hello_user(app, auth_headers("bob", "bob-pw"))["id"] == "account:bob"
    assert hello_user(app, auth_headers("bob", "nope"))["id"].startswith("basicauth:")


def test_prefix_is_account_whatever_the_policy_name(make_accounts_app, auth_headers):
    settings = {
        "multiauth.policies": "local",
        "multiauth.policy.local.use": "kinto.plugins.accounts.AccountsPolicy",
    }
    app = make_accounts_app(**settings)
    create_account(app, "bob", "bob-pw")

    assert hello_user(app, auth_headers("bob", "bob-pw"))["id"] == "account:bob"


def test_passwords_longer_than_bcrypt_limit_work(app, auth_headers):
    password = "é" * 60  # 120 bytes
    create_account(app, "long", password)

    assert hello_user(app, auth_headers("long", password))["id"] == "account:long"
    assert hello_user(app, auth_headers("long", "e" + password[1:])) is None
