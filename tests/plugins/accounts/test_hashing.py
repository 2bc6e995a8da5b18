"""Password hashing: bcrypt hashes of the configured cost."""

from __future__ import annotations

import bcrypt
import pytest

from kinto.plugins.accounts import hashing


def test_hash_is_a_salted_bcrypt_hash_of_the_configured_cost():
    first = hashing.hash_password("secret")
    second = hashing.hash_password("secret")

    assert first.startswith("$2b$04$")
    assert first != second
    assert hashing.check_password("secret", first)
    assert hashing.check_password("secret", second.encode("ascii"))
    assert not hashing.check_password("Secret", first)


def test_hashes_of_other_bcrypt_servers_verify():
    foreign = bcrypt.hashpw(b"secret", bcrypt.gensalt(rounds=5)).decode("ascii")

    assert hashing.check_password("secret", foreign)


@pytest.mark.parametrize("hashed", ["", "secret", "$2b$04$short", "ünïcode"])
def test_something_that_is_not_a_bcrypt_hash_matches_nothing(hashed):
    assert not hashing.check_password("secret", hashed)


def test_only_the_first_72_bytes_count_as_bcrypt_defines():
    hashed = hashing.hash_password("a" * 72 + "tail")

    assert hashing.check_password("a" * 72, hashed)
    assert hashing.check_password("a" * 72 + "other tail", hashed)
    assert not hashing.check_password("a" * 71, hashed)


def test_dummy_hash_has_the_configured_cost_and_is_computed_once(monkeypatch):
    dummy = hashing.dummy_hash()

    assert dummy.startswith(b"$2b$04$")
    assert hashing.dummy_hash() is dummy
    assert not hashing.check_password("", dummy)

    monkeypatch.setattr(hashing, "ROUNDS", 5)
    assert hashing.dummy_hash().startswith(b"$2b$05$")
