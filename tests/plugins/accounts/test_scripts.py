"""``kinto create-user`` run through the real command line against an
application built from an INI file.

The INI points the storage and permission backends at this module, whose
``load_from_config`` hands the application the memory backends the test
holds, so that the test sees what the command stored. The terminal is
replaced by scripted answers to ``input`` and ``getpass``.
"""

from __future__ import annotations

import builtins
import getpass

import pytest
import webtest
from pyramid.paster import bootstrap

from kinto import __main__ as cli
from kinto.core.permission import memory as memory_permission
from kinto.core.storage import memory as memory_storage
from kinto.plugins.accounts import hashing
from tests.conftest import basic_auth_headers

_backends: dict = {}


def load_from_config(config):
    """Backend loader named by the test INI for storage and permission:
    the storage is loaded first (the registry has none yet), then the
    permission backend."""
    if getattr(config.registry, "storage", None) is None:
        return _backends["storage"]
    return _backends["permission"]


INI = """\
[app:main]
use = egg:kinto
kinto.includes = kinto.plugins.accounts
kinto.storage_backend = {module}
kinto.permission_backend = {module}
kinto.cache_backend = kinto.core.cache.memory
kinto.userid_hmac_secret = cli-secret
multiauth.policies = account
multiauth.policy.account.use = kinto.plugins.accounts.AccountsPolicy
kinto.account_create_principals = system.Everyone
kinto.account_write_principals = account:admin
"""


@pytest.fixture
def ini(tmp_path):
    path = tmp_path / "kinto.ini"
    path.write_text(INI.format(module=__name__))
    return path


@pytest.fixture
def storage():
    _backends["storage"] = memory_storage.Storage()
    _backends["permission"] = memory_permission.Permission()
    yield _backends["storage"]
    _backends.clear()


@pytest.fixture
def terminal(monkeypatch):
    """Scripted answers: ``terminal.lines`` for ``input``,
    ``terminal.secrets`` for ``getpass``; running out is end of input."""

    class Terminal:
        def __init__(self):
            self.lines: list[str] = []
            self.secrets: list[str] = []
            self.prompts: list[str] = []

        def answer(self, queue, prompt):
            self.prompts.append(prompt)
            if not queue:
                raise EOFError
            return queue.pop(0)

    term = Terminal()
    monkeypatch.setattr(builtins, "input", lambda prompt="": term.answer(term.lines, prompt))
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": term.answer(term.secrets, prompt))
    return term


def run(ini, *args):
    return cli.main(["create-user", "--ini", str(ini), *args])


def stored_account(storage, username):
    return storage.get("account", username, username)


def test_creates_the_account_with_a_bcrypt_hash(ini, storage, terminal, capsys):
    assert run(ini, "-u", "alice", "-p", "s3cret") == cli.EXIT_OK

    account = stored_account(storage, "alice")
    assert account["id"] == "alice"
    assert account["password"].startswith("$2b$")
    assert hashing.check_password("s3cret", account["password"])
    assert terminal.prompts == []
    assert "alice" in capsys.readouterr().out


def test_created_account_logs_in_with_its_owner_write_permission(ini, storage, terminal):
    run(ini, "--username", "alice", "--password", "s3cret")

    env = bootstrap(str(ini))
    with env:
        app = webtest.TestApp(env["app"])
        headers = basic_auth_headers("alice", "s3cret")
        resp = app.get("/v1/accounts/alice", headers=headers)

    assert resp.json["permissions"] == {"write": ["account:alice"]}


def test_existing_account_gets_a_new_password_and_keeps_its_data(ini, storage, terminal):
    storage.create("account", "alice", {"id": "alice", "password": "old", "team": "blue"})

    assert run(ini, "-u", "alice", "-p", "n3w") == cli.EXIT_OK

    account = stored_account(storage, "alice")
    assert account["team"] == "blue"
    assert hashing.check_password("n3w", account["password"])


def test_missing_values_are_prompted_password_twice(ini, storage, terminal):
    terminal.lines = ["alice"]
    terminal.secrets = ["s3cret", "s3cret"]

    assert run(ini) == cli.EXIT_OK

    assert hashing.check_password("s3cret", stored_account(storage, "alice")["password"])
    assert len(terminal.prompts) == 3


def test_invalid_username_is_asked_again(ini, storage, terminal, capsys):
    terminal.lines = ["not valid!", "alice"]
    terminal.secrets = ["pw", "pw"]

    assert run(ini, "-u", "b@d!") == cli.EXIT_OK

    assert stored_account(storage, "alice")["id"] == "alice"
    assert capsys.readouterr().out.count("Invalid username") == 2


def test_mismatching_or_empty_passwords_are_asked_again(ini, storage, terminal, capsys):
    terminal.secrets = ["", "one", "two", "good", "good"]

    assert run(ini, "-u", "alice") == cli.EXIT_OK

    assert hashing.check_password("good", stored_account(storage, "alice")["password"])
    assert "do not match" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, lines, secrets",
    [([], [], []), (["-u", "alice"], [], ["only-once"]), (["-u", "a b"], [], [])],
)
def test_end_of_input_aborts_with_53(ini, storage, terminal, capsys, args, lines, secrets):
    terminal.lines, terminal.secrets = lines, secrets

    assert run(ini, *args) == cli.EXIT_ABORTED

    assert storage.count_all("account", "*") == 0
    assert "aborted" in capsys.readouterr().out


def test_password_reset_forgets_cached_credentials(ini, storage, terminal):
    run(ini, "-u", "alice", "-p", "old")
    env = bootstrap(str(ini))
    with env:
        app = webtest.TestApp(env["app"])
        assert app.get("/v1/", headers=basic_auth_headers("alice", "old")).json["user"]

        from kinto.plugins.accounts.scripts import create_user

        assert create_user(env, username="alice", password="new") == cli.EXIT_OK
        assert "user" not in app.get("/v1/", headers=basic_auth_headers("alice", "old")).json
        assert app.get("/v1/", headers=basic_auth_headers("alice", "new")).json["user"]
