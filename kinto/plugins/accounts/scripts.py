"""``kinto create-user``: create an account, or reset its password.

:func:`create_user` is called by :mod:`kinto.__main__` once it checked that
the server is writable and has the plugin, inside a transaction committed
when it returns.
"""

from __future__ import annotations

import getpass

from kinto.plugins.accounts import hashing
from kinto.plugins.accounts.authentication import (
    ACCOUNT_RESOURCE,
    forget_verified,
    get_account,
)
from kinto.plugins.accounts.views import ACCOUNT_ID, account_userid

EXIT_OK = 0
#: End of input while prompting.
EXIT_ABORTED = 53


def prompt_username(username: str | None) -> str:
    """``username`` if valid, else ask until a valid one is typed.
    Raises ``EOFError`` at end of input."""
    while username is None or not ACCOUNT_ID.match(username):
        if username is not None:
            print(
                "Invalid username: use letters, digits and '+.@_-', "
                "starting with a letter or a digit."
            )
        username = input("Username: ").strip()
    return username


def prompt_password(username: str) -> str:
    """Ask for a non-empty password twice until both match. Raises
    ``EOFError`` at end of input."""
    while True:
        password = getpass.getpass(f"Please enter a password for {username}: ")
        if not password:
            print("The password cannot be empty.")
            continue
        confirmation = getpass.getpass("Please confirm the password: ")
        if password == confirmation:
            return password
        print("Sorry, passwords do not match, please try again.")


def create_user(env: dict, username: str | None = None, password: str | None = None) -> int:
    """Create the account ``username`` (or replace its password), owned by
    ``account:<username>``. Missing or invalid values are prompted for;
    returns :data:`EXIT_ABORTED` at end of input, else :data:`EXIT_OK`."""
    try:
        username = prompt_username(username)
        if not password:
            password = prompt_password(username)
    except EOFError:
        print("\nUser creation aborted.")
        return EXIT_ABORTED

    registry = env["registry"]
    storage = registry.storage
    account = get_account(storage, username) or {}
    account = {key: value for key, value in account.items() if key != storage.modified_field}
    account.update(id=username, password=hashing.hash_password(password))
    storage.update(ACCOUNT_RESOURCE, username, username, account)
    registry.permission.add_principal_to_ace(
        f"/accounts/{username}", "write", account_userid(username)
    )
    forget_verified(registry, username)
    print(f"Account {username!r} saved.")
    return EXIT_OK
