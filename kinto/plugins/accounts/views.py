"""Accounts: ``/accounts`` and ``/accounts/{id}`` (plugins.md §1).

Each account is stored with its own id as parent id, so that a user's
list only ever holds their own account. Administrators (the
``account_write_principals`` setting; ``account_read_principals`` for
reading) list and delete every account: their plural requests use the
parent id ``*``.

* The owner ``account:<id>`` always gets ``write`` on ``/accounts/<id>``,
  also when an administrator or an anonymous user creates the account
  (whatever ``explicit_permissions`` says: accounts have no parent to
  inherit from).
* A user who is neither anonymous nor an administrator may only create or
  replace the account named after their own user id.
* ``password`` is stored as a bcrypt hash and returned as such. A new
  plain-text value is hashed as soon as the object is validated, and the
  request body is rewritten to carry the hash, so that nothing later in
  the request (events, listeners) sees the plain text.
"""

from __future__ import annotations

import hmac
from typing import Any

from pyramid import httpexceptions
from pyramid_tm import is_tm_active

from kinto.core import errors, jsonutil, utils
from kinto.core.authorization import challenge_headers
from kinto.core.events import ACTIONS
from kinto.core.resource import Resource, register
from kinto.core.storage import Sort
from kinto.core.storage.generators import Generator
from kinto.plugins.accounts import hashing
from kinto.plugins.accounts.authentication import (
    ACCOUNT_PREFIX,
    ACCOUNT_RESOURCE,
    forget_verified,
)

#: Every account, in the plural requests of administrators.
ALL_ACCOUNTS = "*"
PASSWORD_PATCH_PATH = "/data/password"


class AccountIdGenerator(Generator):
    """Validates account ids (usernames). Accounts are always created with
    an explicit id: this generator never generates."""

    regexp = r"^[a-zA-Z0-9][+.@a-zA-Z0-9_-]*$"


ACCOUNT_ID = AccountIdGenerator()


def account_userid(account_id: str) -> str:
    """``bob`` → ``account:bob``."""
    return f"{ACCOUNT_PREFIX}:{account_id}"


def own_username(request) -> str | None:
    """The raw user id of the caller (``account:bob`` → ``bob``), or None
    when anonymous."""
    userid = request.prefixed_userid
    if userid is None:
        return None
    return userid.partition(":")[2]


def posted_account_id(request) -> str:
    """``data.id`` of a ``POST`` body (400 when missing). Returns ``""``
    when the body is malformed, for the envelope validation to report."""
    body = utils.json_body(request)
    if not isinstance(body, dict):
        return ""
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        return ""
    account_id = (data or {}).get("id")
    if account_id is None:
        errors.raise_invalid("body", "data.id", "Required")
    return account_id if isinstance(account_id, str) else ""


def cannot_read_accounts(request) -> httpexceptions.HTTPException:
    error = errors.http_error(httpexceptions.HTTPUnauthorized(), error="Cannot read accounts.")
    for name, value in challenge_headers(request):
        error.headers.add(name, value)
    return error


def scrub_password(request, hashed: str) -> None:
    """Replace the plain-text password of the request body by its hash,
    in the parsed body and in the raw one."""
    body = utils.json_body(request)
    if isinstance(body, dict):
        data = body.get("data")
        if isinstance(data, dict) and "password" in data:
            data["password"] = hashed
    elif isinstance(body, list):
        for operation in body:
            if (
                isinstance(operation, dict)
                and operation.get("path") == PASSWORD_PATCH_PATH
                and "value" in operation
            ):
                operation["value"] = hashed
    request.body = jsonutil.dumps(body)


class Account(Resource):
    name = ACCOUNT_RESOURCE
    plural_path = "/accounts"
    object_path = "/accounts/{id}"

    # Who is calling.

    def get_parent_id(self) -> str:
        object_id = self.matchdict.get("id")
        if object_id is not None:
            return object_id
        request = self.request
        method = request.method
        if method == "POST":
            return posted_account_id(request)
        permission = "write" if method == "DELETE" else "read"
        if self.authorizer.is_allowed(request, permission, self.plural_uri):
            return ALL_ACCOUNTS
        return own_username(request) or ""

    def is_administrator(self) -> bool:
        return self.authorizer.is_allowed(self.request, "write", self.plural_uri)

    def check_own_account(self, account_id) -> None:
        """400 when a user who is neither anonymous nor an administrator
        names another account than their own (401/403 first if they may
        not create accounts at all)."""
        username = own_username(self.request)
        if username is None or account_id == username or self.is_administrator():
            return
        self.authorizer.require(self.request, "create", self.plural_uri)
        errors.raise_invalid("body", "data.id", "Username and account ID do not match.")

    # Resource hooks.

    def validate_object_id(self, object_id) -> None:
        if not ACCOUNT_ID.match(object_id):
            raise errors.json_invalid_error(
                [{"location": "path", "description": "Invalid object id"}]
            )

    def plural_access(self, permission: str, along: Any = None) -> list[str] | None:
        if self.parent_id == ALL_ACCOUNTS:
            return None
        if self.request.prefixed_userid is None:
            raise cannot_read_accounts(self.request)
        return super().plural_access(permission, along)

    def timestamp(self) -> int:
        if self.parent_id != ALL_ACCOUNTS:
            return super().timestamp()
        # Every account is its own list: the timestamp of all of them is
        # that of the latest change (tombstones included).
        latest = self.storage.list_all(
            self.name,
            ALL_ACCOUNTS,
            sorting=[Sort(self.storage.modified_field, -1)],
            limit=1,
            include_deleted=True,
        )
        if latest:
            return latest[0][self.storage.modified_field]
        return super().timestamp()

    def prepare_data(self, data: dict) -> dict:
        self.check_own_account(data.get("id", self.object_id))
        return data

    def process_object(self, new: dict, old: dict | None = None) -> dict:
        self.check_own_account(new.get("id"))
        password = new.get("password")
        if old is not None and _same_secret(password, old.get("password")):
            return new  # The stored hash, untouched.
        if password is None or password == "":
            errors.raise_invalid("body", "data.password", "Required")
        if not isinstance(password, str):
            errors.raise_invalid("body", "data.password", "password should be a string")
        hashed = hashing.hash_password(password)
        scrub_password(self.request, hashed)
        return {**new, "password": hashed}

    def store_permissions(self, uri: str, changes: dict[str, list] | None) -> None:
        if changes:
            self.permission.replace_object_permissions(uri, changes)
        owner = account_userid(uri.rsplit("/", 1)[-1])
        self.permission.add_principal_to_ace(uri, "write", owner)

    def on_changed(self, action: ACTIONS, impacted: list[dict]) -> None:
        if action == ACTIONS.CREATE:
            return
        usernames = [change["old"]["id"] for change in impacted if "old" in change]
        request = self.request
        registry = request.registry
        for username in usernames:
            forget_verified(registry, username)
        if is_tm_active(request):
            # A request checking the old password before the commit could
            # have remembered it again.
            request.tm.get().addAfterCommitHook(_forget_after_commit, args=(registry, usernames))


def _same_secret(given, stored) -> bool:
    """True if ``given`` is the text ``stored``, compared in constant time."""
    if not (isinstance(given, str) and isinstance(stored, str)):
        return False
    return hmac.compare_digest(given.encode("utf-8"), stored.encode("utf-8"))


def _forget_after_commit(success: bool, registry, usernames: list[str]) -> None:
    if success:
        for username in usernames:
            forget_verified(registry, username)


def includeme(config) -> None:
    register(config, Account)
