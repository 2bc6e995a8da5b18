"""Password hashing for accounts: bcrypt (``$2b$...`` hashes).

bcrypt only reads the first 72 bytes of a password. Longer passwords are
cut there explicitly, on hashing and on checking alike, which is what
earlier bcrypt releases did silently: hashes written by other Kinto
servers keep verifying.

:data:`ROUNDS` is the cost of new hashes. :func:`dummy_hash` is a hash of
the same cost that matches no password: checking a password against it
takes as long as checking against a real account's hash, so that an
unknown username cannot be told from a wrong password by timing.
"""

from __future__ import annotations

import secrets

import bcrypt

#: Cost factor (log2 of the iterations) of new hashes.
ROUNDS = 12
#: bcrypt ignores what follows the first 72 bytes of a password.
MAX_PASSWORD_BYTES = 72

_dummy_hashes: dict[int, bytes] = {}


def _password_bytes(password: str) -> bytes:
    return password.encode("utf-8")[:MAX_PASSWORD_BYTES]


def hash_password(password: str) -> str:
    """Return the bcrypt hash (text) of ``password``, salted, of cost
    :data:`ROUNDS`."""
    hashed = bcrypt.hashpw(_password_bytes(password), bcrypt.gensalt(rounds=ROUNDS))
    return hashed.decode("ascii")


def check_password(password: str, hashed: str | bytes) -> bool:
    """True if ``password`` matches the bcrypt hash ``hashed``. A hash that
    is not a valid bcrypt hash matches nothing."""
    if isinstance(hashed, str):
        hashed = hashed.encode("ascii", "replace")
    try:
        return bcrypt.checkpw(_password_bytes(password), hashed)
    except ValueError:
        return False


def dummy_hash() -> bytes:
    """A hash of cost :data:`ROUNDS` of a random password nobody knows,
    computed once per cost."""
    hashed = _dummy_hashes.get(ROUNDS)
    if hashed is None:
        hashed = bcrypt.hashpw(
            secrets.token_hex(32).encode("ascii"), bcrypt.gensalt(rounds=ROUNDS)
        )
        _dummy_hashes[ROUNDS] = hashed
    return hashed
