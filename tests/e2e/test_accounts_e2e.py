"""End to end: the ``kinto_http`` client against ``kinto start`` with the
accounts and flush plugins.

The server is the one of ``conftest.py`` (memory backends) with accounts as
the only authentication policy, self sign-up and ``account:admin`` as
administrator; it is started once for this module. Each test signs up its
own users, so that the flush test leaves nothing the others need.
"""

import secrets
import uuid

import pytest
from kinto_http import Client, KintoException

from tests.e2e.conftest import INI_TEMPLATE, running_server

pytestmark = pytest.mark.xdist_group("e2e")

ACCOUNTS = """\
kinto.includes = kinto.plugins.accounts kinto.plugins.flush
multiauth.policies = account
multiauth.policy.account.use = kinto.plugins.accounts.AccountsPolicy
kinto.account_create_principals = system.Everyone
kinto.account_write_principals = account:admin
"""


@pytest.fixture(scope="module")
def accounts_server_url(tmp_path_factory):
    directory = tmp_path_factory.mktemp("kinto-e2e-accounts")
    base = INI_TEMPLATE.format(secret=secrets.token_hex(32))
    ini_text = base.replace("multiauth.policies = basicauth\n", ACCOUNTS)
    assert ini_text != base
    with running_server(directory, ini_text) as url:
        yield url


@pytest.fixture
def anonymous(accounts_server_url):
    return Client(server_url=accounts_server_url)


@pytest.fixture
def sign_up(anonymous, accounts_server_url):
    """``sign_up(password, name=None)`` → ``(name, account data, client)``."""

    def create(password, name=None):
        name = name or f"user-{uuid.uuid4().hex[:12]}"
        body, _ = anonymous.session.request(
            "put", f"/accounts/{name}", data={"password": password}
        )
        client = Client(server_url=accounts_server_url, auth=(name, password))
        return name, body["data"], client

    return create


def status_of(excinfo) -> int:
    return excinfo.value.response.status_code


def test_accounts_capability_is_announced(anonymous):
    capabilities = anonymous.server_info()["capabilities"]

    assert capabilities["accounts"]["validation_enabled"] is False
    assert "flush_endpoint" in capabilities


def test_an_account_signed_up_anonymously_is_used_to_store_data(sign_up):
    name, account, client = sign_up("correct horse")

    assert account["id"] == name
    assert account["password"].startswith("$2b$")
    user_id = client.server_info()["user"]["id"]
    assert user_id == f"account:{name}"

    bid = f"b{uuid.uuid4().hex[:12]}"
    bucket = client.create_bucket(id=bid)
    client.create_collection(id="notes", bucket=bid)
    record = client.create_record(bucket=bid, collection="notes", data={"text": "hello"})

    assert bucket["permissions"]["write"] == [user_id]
    fetched = client.get_record(bucket=bid, collection="notes", id=record["data"]["id"])
    assert fetched["data"]["text"] == "hello"
    assert fetched["permissions"]["write"] == [user_id]


def test_wrong_password_and_unknown_user_are_anonymous(sign_up, accounts_server_url):
    name, _, client = sign_up("s3cret")
    bid = f"b{uuid.uuid4().hex[:12]}"
    client.create_bucket(id=bid)

    for auth in ((name, "wrong"), (f"ghost-{uuid.uuid4().hex}", "s3cret")):
        stranger = Client(server_url=accounts_server_url, auth=auth)
        assert "user" not in stranger.server_info()
        with pytest.raises(KintoException) as excinfo:
            stranger.get_bucket(id=bid)
        assert status_of(excinfo) == 401


def test_owner_changes_the_password(sign_up, accounts_server_url):
    name, _, client = sign_up("before")

    body, _ = client.session.request("patch", f"/accounts/{name}", data={"password": "after"})

    assert body["data"]["password"].startswith("$2b$")
    assert "user" not in client.server_info()
    renewed = Client(server_url=accounts_server_url, auth=(name, "after"))
    assert renewed.server_info()["user"]["id"] == f"account:{name}"


def test_users_see_their_own_account_and_the_administrator_sees_all(sign_up):
    name, _, client = sign_up("pw")
    _, _, admin = sign_up("admin-pw", name="admin")

    own, _ = client.session.request("get", "/accounts")
    every, _ = admin.session.request("get", "/accounts")

    assert [a["id"] for a in own["data"]] == [name]
    assert {name, "admin"} <= {a["id"] for a in every["data"]}


def test_flush_removes_the_accounts(sign_up, anonymous):
    name, _, client = sign_up("pw")
    before, _ = client.session.request("get", "/")
    assert before["user"]["id"] == f"account:{name}"

    body, _ = anonymous.session.request("post", "/__flush__")

    assert body == {}
    after, _ = client.session.request("get", "/")
    assert "user" not in after
