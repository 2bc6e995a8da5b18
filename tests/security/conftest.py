"""Fixtures of the security tests: two Basic Auth users and a private
bucket ``private`` (collection ``c``, record ``r``) owned by Alice."""

from __future__ import annotations

import pytest

PRIVATE = "/v1/buckets/private"
PRIVATE_RECORDS = f"{PRIVATE}/collections/c/records"


@pytest.fixture
def alice(auth_headers):
    return auth_headers("alice")


@pytest.fixture
def mallory(auth_headers):
    return auth_headers("mallory")


def create_private_bucket(app, headers) -> None:
    """Alice's bucket ``private`` with collection ``c`` and record ``r``."""
    app.put_json(PRIVATE, {}, headers=headers, status=201)
    app.put_json(f"{PRIVATE}/collections/c", {}, headers=headers, status=201)
    app.put_json(f"{PRIVATE_RECORDS}/r", {"data": {"secret": 42}}, headers=headers, status=201)
