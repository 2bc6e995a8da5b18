"""The id of a user's personal bucket (plugins.md §2)."""

from __future__ import annotations

import uuid

from kinto.core import utils


def default_bucket_id(secret: str, userid: str) -> str:
    """``userid``'s personal bucket id: the first 32 hex digits of
    HMAC-SHA256(``secret``, ``userid``) formatted as a UUID
    (``8-4-4-4-12``, lowercase)."""
    return str(uuid.UUID(utils.hmac_digest(secret, userid)[:32]))
