"""Kinto's resources (buckets, collections, groups, records) declared on the
generic framework of :mod:`kinto.core.resource`, and their id generators."""

from __future__ import annotations

import secrets
import string
import uuid

from kinto.core.storage.generators import Generator
from kinto.views.schemas import validation_enabled

_FIRST = string.ascii_letters + string.digits
_OTHERS = _FIRST + "_-"


class NameGenerator(Generator):
    """Short readable names: 8 characters, the first alphanumeric, the
    others alphanumeric, ``_`` or ``-`` (cryptographic RNG)."""

    regexp = r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$"

    def __call__(self) -> str:
        return secrets.choice(_FIRST) + "".join(secrets.choice(_OTHERS) for _ in range(7))


class RelaxedUUID(Generator):
    """Generates UUID4 ids but accepts any name matching
    :attr:`NameGenerator.regexp` (clients may pick their own record ids)."""

    regexp = NameGenerator.regexp

    def __call__(self) -> str:
        return str(uuid.uuid4())


def includeme(config) -> None:
    """Register the four resources (and the ``schema`` capability when
    ``experimental_collection_schema_validation`` is on)."""
    config.include("kinto.views.buckets")
    config.include("kinto.views.collections")
    config.include("kinto.views.groups")
    config.include("kinto.views.records")
    config.include("kinto.views.permissions")
    config.include("kinto.views.user_data")
    if validation_enabled(config.get_settings()):
        config.add_api_capability(
            "schema",
            description="Validates collection records with JSON schemas.",
            url="https://kinto.readthedocs.io/en/latest/api/1.x/collections.html#collection-json-schema",
        )
